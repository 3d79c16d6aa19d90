import { basename } from 'node:path';
import { rasterError } from '../errors.js';
import type { ColorInterpretation, SceneDescription } from '../scene.js';

/** Width, height and channel count from a PNG IHDR chunk or a JPEG start-of-frame marker. */
function dimensions(file: string, head: Buffer, kind: 'jpeg' | 'png'): { width: number; height: number; bands: number; bits: number } {
  if (kind === 'png') {
    if (head.length < 29 || head.toString('latin1', 12, 16) !== 'IHDR') throw rasterError('truncated', file, `${file} is a PNG without a readable header.`);
    const colorType = head[25]!;
    const bands = ({ 0: 1, 2: 3, 3: 3, 4: 2, 6: 4 } as Record<number, number>)[colorType] ?? 0;
    return { width: head.readUInt32BE(16), height: head.readUInt32BE(20), bands, bits: head[24]! };
  }
  let i = 2;
  while (i + 9 < head.length) {
    if (head[i] !== 0xff) { i++; continue; }
    const marker = head[i + 1]!;
    const len = head.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { bits: head[i + 4]!, height: head.readUInt16BE(i + 5), width: head.readUInt16BE(i + 7), bands: head[i + 9]! };
    }
    i += 2 + len;
  }
  throw rasterError('truncated', file, `${file} is a JPEG without a readable frame header in its first ${head.length} bytes.`);
}

/** A plain JPEG/PNG photo: a pixel-space scene (chips and a viewer, no map position). */
export function describeWebImage(file: string, head: Buffer, kind: 'jpeg' | 'png', size: number): SceneDescription {
  const { width, height, bands, bits } = dimensions(file, head, kind);
  if (!(width >= 1 && height >= 1 && bands >= 1) || width * height > 2 ** 31) {
    throw rasterError('absurd_dimensions', file, `${file} declares an impossible image size (${width} × ${height}, ${bands} channels).`);
  }
  const colors: ColorInterpretation[] = bands >= 3 ? ['red', 'green', 'blue'] : ['gray'];
  if (bands === 4 || bands === 2) colors.push('alpha');
  return {
    file, name: basename(file), format: kind, fileSize: size, width, height, bands,
    dtype: bits === 16 ? 'uint16' : 'uint8', colorInterpretation: colors, nodata: null,
    mask: bands === 4 || bands === 2 ? 'alpha' : 'none', alphaBand: bands === 4 ? 3 : bands === 2 ? 1 : null,
    overviews: [], tiling: { tiled: false, blockWidth: width, blockHeight: height }, cog: false,
    compression: kind === 'jpeg' ? 'JPEG' : 'deflate (PNG)', interleave: 'pixel', crs: null,
    georeferenced: false, georeference: null, footprint: null,
    notes: ['No georeferencing: a pixel-space scene (searchable, no map position).'],
  };
}

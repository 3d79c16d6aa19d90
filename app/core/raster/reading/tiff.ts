import { open, stat } from 'node:fs/promises';
import { fromFile, type GeoTIFF, type GeoTIFFImage } from 'geotiff';
import { rasterError, RasterError } from '../errors.js';

/** What a file's first bytes say it is. */
export type Signature = 'tiff' | 'bigtiff' | 'jpeg' | 'png' | 'unknown';

export function sniff(head: Uint8Array): Signature {
  const b = (i: number): number => head[i] ?? -1;
  if (b(0) === 0x49 && b(1) === 0x49 && b(2) === 42 && b(3) === 0) return 'tiff';
  if (b(0) === 0x4d && b(1) === 0x4d && b(2) === 0 && b(3) === 42) return 'tiff';
  if (b(0) === 0x49 && b(1) === 0x49 && b(2) === 43 && b(3) === 0) return 'bigtiff';
  if (b(0) === 0x4d && b(1) === 0x4d && b(2) === 0 && b(3) === 43) return 'bigtiff';
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return 'jpeg';
  if (b(0) === 0x89 && b(1) === 0x50 && b(2) === 0x4e && b(3) === 0x47) return 'png';
  return 'unknown';
}

/** Reads the first bytes of a file: typed errors for missing, unreadable and empty files. */
export async function readHead(file: string, length = 64 * 1024): Promise<{ head: Buffer; size: number }> {
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw rasterError('unreadable', file, `${file} is not a regular file.`);
    size = s.size;
  } catch (err) {
    if (err instanceof RasterError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw rasterError('unreadable', file, code === 'ENOENT' ? `${file} does not exist.` : `Cannot read ${file} (${code ?? String(err)}).`);
  }
  try {
    const fh = await open(file, 'r');
    try {
      const head = Buffer.alloc(Math.min(length, size));
      await fh.read(head, 0, head.length, 0);
      return { head, size };
    } finally {
      await fh.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw rasterError('unreadable', file, `Cannot read ${file} (${code ?? String(err)}).`);
  }
}

/** Compression codes geotiff.js decodes in Node (WebP needs a browser's image decoder). */
export const COMPRESSIONS: Record<number, { name: string; supported: boolean }> = {
  1: { name: 'none', supported: true },
  2: { name: 'CCITT RLE', supported: false },
  3: { name: 'CCITT Group 3', supported: false },
  4: { name: 'CCITT Group 4', supported: false },
  5: { name: 'LZW', supported: true },
  6: { name: 'old-style JPEG', supported: false },
  7: { name: 'JPEG', supported: true },
  8: { name: 'deflate', supported: true },
  32773: { name: 'PackBits', supported: true },
  32946: { name: 'deflate', supported: true },
  34887: { name: 'LERC', supported: true },
  34712: { name: 'JPEG 2000', supported: false },
  50000: { name: 'zstd', supported: true },
  50001: { name: 'WebP', supported: false },
};

export interface TiffIfd {
  index: number;
  image: GeoTIFFImage;
  width: number;
  height: number;
  subfileType: number;
  /** Byte offset of this IFD in the file. */
  offset: number;
  /** Lowest byte offset of this IFD's image data. */
  firstDataOffset: number;
}

export interface OpenedTiff {
  tiff: GeoTIFF;
  ifds: TiffIfd[];
  size: number;
}

/** More IFDs than this is a broken chain, not a pyramid. */
const MAX_IFDS = 512;
/** Sample counts beyond this (2^45, ~35 trillion) are not a real scene but a damaged header. */
const MAX_SAMPLES = 2 ** 45;

async function arrayValue(image: GeoTIFFImage, tag: 'TileOffsets' | 'TileByteCounts' | 'StripOffsets' | 'StripByteCounts'): Promise<number[]> {
  const v = (await image.fileDirectory.loadValue(tag)) as ArrayLike<number | bigint> | number | undefined;
  if (v === undefined) return [];
  if (typeof v === 'number') return [v];
  return Array.from(v as ArrayLike<number | bigint>, Number);
}

/** Checks one IFD: dimensions, compression, and that every block lies inside the file. */
async function checkIfd(file: string, image: GeoTIFFImage, index: number, size: number): Promise<number> {
  const fd = image.fileDirectory;
  const width = image.getWidth();
  const height = image.getHeight();
  const spp = image.getSamplesPerPixel();
  if (!(width >= 1 && height >= 1 && spp >= 1) || width * height * spp > MAX_SAMPLES || width > 2 ** 31 || height > 2 ** 31) {
    throw rasterError('absurd_dimensions', file, `${file} declares an impossible image size (${width} × ${height} pixels, ${spp} bands) in image ${index}.`);
  }
  const compression = Number(fd.getValue('Compression') ?? 1);
  const c = COMPRESSIONS[compression];
  if (!c?.supported) {
    throw rasterError('unsupported_compression', file, `${file} uses ${c ? c.name : `compression code ${compression}`}, which Kestrel cannot decode.`);
  }
  const tiled = fd.hasTag('TileOffsets');
  const offsets = await arrayValue(image, tiled ? 'TileOffsets' : 'StripOffsets');
  const counts = await arrayValue(image, tiled ? 'TileByteCounts' : 'StripByteCounts');
  const bw = tiled ? image.getTileWidth() : width;
  const bh = tiled ? image.getTileHeight() : Math.min(Number(fd.getValue('RowsPerStrip') ?? height) || height, height);
  const planes = Number(fd.getValue('PlanarConfiguration') ?? 1) === 2 ? spp : 1;
  const expected = Math.ceil(width / bw) * Math.ceil(height / bh) * planes;
  if (offsets.length !== expected || counts.length !== expected) {
    throw rasterError('corrupt_ifd', file, `${file} declares ${width} × ${height} pixels in ${expected} blocks but its directory lists ${offsets.length} block offsets and ${counts.length} sizes (image ${index}).`);
  }
  let end = 0;
  let first = Infinity;
  for (let i = 0; i < offsets.length; i++) {
    const o = offsets[i]!;
    const n = counts[i]!;
    if (n === 0) continue; // sparse block (GDAL writes none for empty tiles)
    end = Math.max(end, o + n);
    first = Math.min(first, o);
  }
  if (end > size) {
    throw rasterError('truncated', file, `${file} is truncated: image data runs to byte ${end} but the file has ${size} bytes.`);
  }
  return first;
}

/**
 * Opens a TIFF with geotiff.js (ranged reads, never the whole file) and validates its structure,
 * so that damaged files fail here with a typed error instead of deep inside a tile render.
 */
export async function openTiff(file: string, size: number): Promise<OpenedTiff> {
  let tiff: GeoTIFF;
  try {
    tiff = await fromFile(file);
  } catch (err) {
    throw rasterError('corrupt_ifd', file, `${file} has a damaged TIFF header (${(err as Error).message}).`);
  }
  try {
    if (tiff.firstIFDOffset < 8 || tiff.firstIFDOffset >= size) {
      throw rasterError('corrupt_ifd', file, `${file}: the first image directory offset (${tiff.firstIFDOffset}) lies outside the file (${size} bytes): the file is truncated or its header is damaged.`);
    }
    const ifds: TiffIfd[] = [];
    const seen = new Set<number>();
    let offset = tiff.firstIFDOffset;
    for (let index = 0; ; index++) {
      if (index >= MAX_IFDS) throw rasterError('corrupt_ifd', file, `${file} has more than ${MAX_IFDS} image directories: the chain is damaged.`);
      seen.add(offset);
      let image: GeoTIFFImage;
      try {
        image = await tiff.getImage(index);
      } catch (err) {
        throw rasterError('corrupt_ifd', file, `${file}: image directory ${index} at byte ${offset} cannot be read (${(err as Error).message}).`);
      }
      let firstDataOffset: number;
      try {
        firstDataOffset = await checkIfd(file, image, index, size);
      } catch (err) {
        if (err instanceof RasterError) throw err;
        throw rasterError('corrupt_ifd', file, `${file}: image directory ${index} is damaged (${(err as Error).message}).`);
      }
      ifds.push({
        index,
        image,
        width: image.getWidth(),
        height: image.getHeight(),
        subfileType: Number(image.fileDirectory.getValue('NewSubfileType') ?? 0),
        offset,
        firstDataOffset,
      });
      const next = image.fileDirectory.nextIFDByteOffset;
      if (!next) break;
      if (next >= size || seen.has(next)) {
        throw rasterError('corrupt_ifd', file, `${file}: image directory ${index} points to a next directory at byte ${next}, ${next >= size ? 'beyond the end of the file' : 'which loops back'}.`);
      }
      offset = next;
    }
    return { tiff, ifds, size };
  } catch (err) {
    await Promise.resolve(tiff.close()).catch(() => undefined);
    throw err;
  }
}

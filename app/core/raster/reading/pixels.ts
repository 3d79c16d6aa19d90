import { BlockReader, blockCache, blockReads, type PixelRect, type Samples } from './blocks.js';
import type { Scene, SceneLevel } from '../scene.js';

export interface PixelWindow {
  /** Level pixels: the window's top-left corner and size. */
  x: number;
  y: number;
  width: number;
  height: number;
  level: number;
  /** 0-based band indexes read, in order. */
  bandIndexes: number[];
  bands: Samples[];
  /** 1 where the pixel holds data; 0 for nodata, alpha = 0, masked, NaN, or outside the image. */
  valid: Uint8Array;
}

interface LevelReaders {
  data: BlockReader;
  mask: BlockReader | null;
}

const readers = new WeakMap<SceneLevel, LevelReaders>();

/** Levels that come from a tile pyramid (pyramid.ts): their reads are counted apart from the scene file's. */
export const pyramidLevels = new WeakSet<SceneLevel>();

function levelReaders(scene: Scene, level: SceneLevel): LevelReaders {
  let r = readers.get(level);
  if (!r) {
    const origin = pyramidLevels.has(level) ? 'pyramid' : 'file';
    r = { data: new BlockReader(level.image, scene.description.dtype, origin), mask: level.mask ? new BlockReader(level.mask, 'uint8', origin) : null };
    readers.set(level, r);
  }
  return r;
}

/** Forgets the scene's decoded blocks (called when a scene is closed). */
export function evictScene(scene: Scene): void {
  for (const level of scene.levels) {
    const r = readers.get(level);
    r?.data.evict();
    r?.mask?.evict();
  }
}

/** Which window of which level readWindow reads: level pixels, 0-based band indexes (default all). */
export interface WindowRequest extends PixelRect {
  level: number;
  bandIndexes?: number[];
}

/**
 * Reads a window of one level with its validity mask. Invalid: the nodata value (all read bands
 * equal to it, as GDAL's warper treats multi-band nodata), alpha 0, the internal mask 0, NaN, and
 * anything outside the image.
 */
export async function readWindow(scene: Scene, request: WindowRequest): Promise<PixelWindow> {
  const { level: levelIndex, x, y, width, height } = request;
  const d = scene.description;
  const level = scene.levels[levelIndex];
  if (!level) throw new RangeError(`${d.file} has no level ${levelIndex}`);
  const bands = request.bandIndexes ?? Array.from({ length: d.bands }, (_, i) => i);
  const r = levelReaders(scene, level);
  const wantAlpha = d.alphaBand !== null && !bands.includes(d.alphaBand);
  const rect = { x, y, width, height };
  const read = await r.data.read(rect, wantAlpha ? [...bands, d.alphaBand!] : bands);
  const valid = new Uint8Array(width * height);
  // Inside the image.
  for (let row = Math.max(0, -y); row < Math.min(height, level.height - y); row++) {
    valid.fill(1, row * width + Math.max(0, -x), row * width + Math.min(width, level.width - x));
  }
  const data = read.slice(0, bands.length);
  const alpha = d.alphaBand !== null ? read[wantAlpha ? bands.length : bands.indexOf(d.alphaBand)] : undefined;
  const mask = r.mask ? (await r.mask.read(rect, [0]))[0]! : undefined;
  applyMasks(scene, { bandIndexes: bands, data, alpha, mask }, valid);
  return { x, y, width, height, level: levelIndex, bandIndexes: bands, bands: data, valid };
}

/** What a read returned: the requested bands' samples, and the alpha band and internal mask under them. */
interface ReadSamples {
  bandIndexes: number[];
  data: Samples[];
  alpha: Samples | undefined;
  mask: Samples | undefined;
}

/** Clears `valid` where alpha is 0, the internal mask is 0, a float is NaN, or every band is nodata. */
function applyMasks(scene: Scene, read: ReadSamples, valid: Uint8Array): void {
  const { bandIndexes: bands, data, alpha, mask } = read;
  const d = scene.description;
  if (alpha) for (let i = 0; i < valid.length; i++) if (alpha[i] === 0) valid[i] = 0;
  if (mask) for (let i = 0; i < valid.length; i++) if (mask[i] === 0) valid[i] = 0;
  const isFloat = d.dtype === 'float32' || d.dtype === 'float64';
  const nodata = d.nodata === null ? null : d.dtype === 'float32' ? Math.fround(d.nodata) : d.nodata;
  const colorBands = data.filter((_, i) => bands[i] !== d.alphaBand);
  if ((nodata === null && !isFloat) || colorBands.length === 0) return;
  for (let i = 0; i < valid.length; i++) {
    if (!valid[i]) continue;
    let allNodata = nodata !== null;
    for (const b of colorBands) {
      const v = b[i]!;
      if (isFloat && Number.isNaN(v)) {
        valid[i] = 0;
        break;
      }
      if (v !== nodata) allNodata = false;
    }
    if (allNodata) valid[i] = 0;
  }
}

/** Which scattered pixels of which level samplePixels reads: level pixels, -1 for none. */
export interface SampleRequest {
  level: number;
  cols: Int32Array;
  rows: Int32Array;
  bandIndexes: number[];
}

/**
 * Nearest-neighbour samples of one level at scattered pixels (cols/rows in level pixels, -1 for
 * none), with the same validity rules as readWindow.
 */
export async function samplePixels(scene: Scene, request: SampleRequest): Promise<{ bands: Samples[]; valid: Uint8Array }> {
  const { level: levelIndex, cols, rows, bandIndexes } = request;
  const d = scene.description;
  const level = scene.levels[levelIndex];
  if (!level) throw new RangeError(`${d.file} has no level ${levelIndex}`);
  const r = levelReaders(scene, level);
  const wantAlpha = d.alphaBand !== null && !bandIndexes.includes(d.alphaBand);
  const read = await r.data.sample(cols, rows, wantAlpha ? [...bandIndexes, d.alphaBand!] : bandIndexes);
  const valid = new Uint8Array(cols.length);
  for (let i = 0; i < valid.length; i++) {
    const c = cols[i]!;
    const rr = rows[i]!;
    valid[i] = c >= 0 && rr >= 0 && c < level.width && rr < level.height ? 1 : 0;
  }
  const data = read.slice(0, bandIndexes.length);
  const alpha = d.alphaBand !== null ? read[wantAlpha ? bandIndexes.length : bandIndexes.indexOf(d.alphaBand)] : undefined;
  const mask = r.mask ? (await r.mask.sample(cols, rows, [0]))[0]! : undefined;
  applyMasks(scene, { bandIndexes, data, alpha, mask }, valid);
  return { bands: data, valid };
}

/** What this thread's readers have fetched and decoded (block-cache misses), by origin. */
export interface RasterReadCounts {
  /** Blocks (tiles or strips) read from scene files, and their stored (compressed) bytes. */
  fileBlocks: number;
  fileBytes: number;
  /** Blocks read from tile pyramids (pyramid.ts), in memory or in the cache folder. */
  pyramidBlocks: number;
  pyramidBytes: number;
}

/** The decoded-block cache of this thread: entries, bytes, hits and misses; and the blocks read so far. */
export function rasterCacheStats(): { entries: number; bytes: number; hits: number; misses: number; reads: RasterReadCounts } {
  return { entries: blockCache.entries, bytes: blockCache.size, hits: blockCache.hits, misses: blockCache.misses, reads: { ...blockReads } };
}

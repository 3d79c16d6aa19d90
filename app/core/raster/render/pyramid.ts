import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fromArrayBuffer, fromFile, type GeoTIFF, type GeoTIFFImage } from 'geotiff';
import { allocate, type Samples } from '../reading/blocks.js';
import { evictScene, pyramidLevels, readWindow } from '../reading/pixels.js';
import type { SampleType, Scene, SceneLevel } from '../scene.js';

/**
 * Tile pyramid for rasters without overviews (typically stripped files: at low zoom every strip
 * would be read for every tile). On first need the tile worker reads the full-resolution image once,
 * strip by strip, and box-averages it into reduced levels (2×, 4×, … until the longer side is
 * ≤ 512 px, the same size ratios as GDAL overviews: a level pixel covers full-resolution pixels
 * [⌊i·w/lw⌋, ⌊(i+1)·w/lw⌋)). The levels are uncompressed stripped TIFFs, kept in memory for small
 * pyramids or written to a cache folder (keyed by the scene's fingerprint) for large ones, and
 * appended to the scene's levels, so tiles choose them exactly like overviews.
 */

/** Levels are built until the longer side is at most this (as statistics and overviews). */
export const PYRAMID_MIN_SIDE = 512;
const FORMAT_VERSION = 1;
const ROWS_PER_STRIP = 64;

export interface PyramidOptions {
  /** Folder for pyramids larger than `memoryBytes` (one sub-folder per scene fingerprint). */
  cacheDir?: string;
  /** Pyramids up to this many bytes stay in memory (default 64 MiB). */
  memoryBytes?: number;
  /** The most bytes of levels built at all (default 512 MiB): the finest levels are left out beyond it. */
  buildBytes?: number;
  /** Identifies the file's content (default: sha-256 of path, size and modification time). */
  fingerprint?: string;
}

export interface PyramidInfo {
  /** Reduction factors of the levels built (2, 4, …), finest first. */
  factors: number[];
  where: 'memory' | 'disk';
  /** The cache folder of this scene, when on disk. */
  dir?: string;
  /** Whether a pyramid already on disk was reused (nothing was read from the scene's file). */
  reused: boolean;
}

/** A scene whose levels include pyramid levels after its own. */
export interface PyramidScene extends Scene {
  pyramid: PyramidInfo;
}

/** Whether a scene gets a pyramid: georeferenced, no overviews, and larger than one level needs. */
export function wantsPyramid(scene: Scene): boolean {
  const d = scene.description;
  return d.georeferenced && scene.levels.length === 1 && Math.max(d.width, d.height) > PYRAMID_MIN_SIDE;
}

/** The reduction factors: 2, 4, … up to the first whose level's longer side is ≤ PYRAMID_MIN_SIDE. */
export function pyramidFactors(width: number, height: number): number[] {
  const out: number[] = [];
  for (let f = 2; ; f *= 2) {
    out.push(f);
    if (Math.ceil(Math.max(width, height) / f) <= PYRAMID_MIN_SIDE) return out;
  }
}

const BYTES: Record<SampleType, number> = { uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, float64: 8 };
const RANGE: Record<SampleType, [number, number]> = {
  uint8: [0, 255], int8: [-128, 127], uint16: [0, 65535], int16: [-32768, 32767], uint32: [0, 4294967295], int32: [-2147483648, 2147483647],
  float32: [-Infinity, Infinity], float64: [-Infinity, Infinity],
};
const SAMPLE_FORMAT: Record<SampleType, number> = { uint8: 1, uint16: 1, uint32: 1, int8: 2, int16: 2, int32: 2, float32: 3, float64: 3 };

/** The pixels writeStrippedTiff writes: chunky samples, row-major, `samplesPerPixel` per pixel. */
export interface StrippedRaster {
  values: Samples;
  width: number;
  height: number;
  samplesPerPixel: number;
  dtype: SampleType;
}

/**
 * An uncompressed, chunky, little-endian classic TIFF with strips of ROWS_PER_STRIP rows, so ranged
 * reads fetch only the strips a tile touches. (geotiff.js's writer writes a single strip.)
 */
export function writeStrippedTiff(raster: StrippedRaster): Uint8Array {
  const { values, width, height, samplesPerPixel: spp, dtype } = raster;
  const bytes = BYTES[dtype];
  const rowBytes = width * spp * bytes;
  const strips = Math.ceil(height / ROWS_PER_STRIP);
  type Entry = [tag: number, type: 3 | 4, values: number[]];
  const entries: Entry[] = [
    [256, 4, [width]],
    [257, 4, [height]],
    [258, 3, new Array<number>(spp).fill(bytes * 8)],
    [259, 3, [1]],
    [262, 3, [1]],
    [273, 4, new Array<number>(strips).fill(0)],
    [277, 3, [spp]],
    [278, 4, [ROWS_PER_STRIP]],
    [279, 4, Array.from({ length: strips }, (_, s) => Math.min(ROWS_PER_STRIP, height - s * ROWS_PER_STRIP) * rowBytes)],
    [284, 3, [1]],
    ...(spp > 1 ? [[338, 3, new Array<number>(spp - 1).fill(0)] as Entry] : []),
    [339, 3, new Array<number>(spp).fill(SAMPLE_FORMAT[dtype])],
  ];
  const ifdSize = 2 + entries.length * 12 + 4;
  let extra = 8 + ifdSize;
  const outOfLine = entries.map(([, type, v]) => {
    const size = v.length * (type === 3 ? 2 : 4);
    if (size <= 4) return -1;
    const at = extra;
    extra += size + (size % 2);
    return at;
  });
  const dataStart = Math.ceil(extra / 8) * 8;
  const stripOffsets = entries.find((e) => e[0] === 273)![2];
  for (let s = 0; s < strips; s++) stripOffsets[s] = dataStart + s * ROWS_PER_STRIP * rowBytes;
  const out = new Uint8Array(dataStart + height * rowBytes);
  const dv = new DataView(out.buffer);
  out.set([0x49, 0x49, 42, 0]);
  dv.setUint32(4, 8, true);
  dv.setUint16(8, entries.length, true);
  entries.forEach(([tag, type, v], i) => {
    const p = 10 + i * 12;
    dv.setUint16(p, tag, true);
    dv.setUint16(p + 2, type, true);
    dv.setUint32(p + 4, v.length, true);
    const at = outOfLine[i]! >= 0 ? outOfLine[i]! : p + 8;
    if (outOfLine[i]! >= 0) dv.setUint32(p + 8, at, true);
    v.forEach((x, k) => (type === 3 ? dv.setUint16(at + k * 2, x, true) : dv.setUint32(at + k * 4, x, true)));
  });
  dv.setUint32(10 + entries.length * 12, 0, true);
  out.set(new Uint8Array(values.buffer, values.byteOffset, height * rowBytes), dataStart);
  return out;
}

interface LevelData {
  factor: number;
  width: number;
  height: number;
  /** Chunky samples, all bands. */
  values: Samples;
  /** 255 valid, 0 invalid; null when every source pixel is valid. */
  valid: Uint8Array | null;
}

function levelBytes(d: Scene['description'], f: number, withMask: boolean): number {
  const w = Math.ceil(d.width / f);
  const h = Math.ceil(d.height / f);
  return w * h * (d.bands * BYTES[d.dtype] + (withMask ? 1 : 0));
}

/** Pixel ranges of a box average: output i covers source [⌊i·n/m⌋, ⌊(i+1)·n/m⌋), as overviews do. */
function boxMap(n: number, m: number): Int32Array {
  const map = new Int32Array(n);
  const s = n / m;
  for (let i = 0; i < m; i++) map.fill(i, Math.floor(i * s), i === m - 1 ? n : Math.floor((i + 1) * s));
  return map;
}

/**
 * Reads the full-resolution image once, strip by strip, and box-averages it into every level.
 * A level pixel is valid when at least half the pixels under it are (as chips); its value is the
 * mean of those valid pixels (rounded for integer types). Invalid pixels hold nodata (or 0/NaN) and
 * are marked in the level's mask.
 */
async function computeLevels(scene: Scene, factors: number[]): Promise<LevelData[]> {
  const d = scene.description;
  const spp = d.bands;
  const all = Array.from({ length: spp }, (_, i) => i);
  const isFloat = d.dtype === 'float32' || d.dtype === 'float64';
  const needMask = d.mask !== 'none' || isFloat;
  const colour = all.filter((b) => b !== d.alphaBand);
  const fill = d.nodata ?? (isFloat ? NaN : 0);
  const [lo, hi] = RANGE[d.dtype];
  const levels = factors.map((factor) => {
    const width = Math.ceil(d.width / factor);
    const height = Math.ceil(d.height / factor);
    return {
      factor, width, height,
      values: allocate(d.dtype, width * height * spp),
      valid: needMask ? new Uint8Array(width * height) : null,
      cols: boxMap(d.width, width),
      rows: boxMap(d.height, height),
      sums: new Float64Array(width * spp),
      counts: new Float64Array(width),
      totals: new Float64Array(width),
    };
  });
  const finish = (l: (typeof levels)[number], row: number): void => {
    for (let i = 0; i < l.width; i++) {
      const o = row * l.width + i;
      const n = l.counts[i]!;
      const ok = n > 0 && n * 2 >= l.totals[i]!;
      if (l.valid) l.valid[o] = ok ? 255 : 0;
      for (let b = 0; b < spp; b++) {
        const mean = l.sums[i * spp + b]! / n;
        l.values[o * spp + b] = !ok ? (b === d.alphaBand ? 0 : fill) : isFloat ? mean : Math.min(hi, Math.max(lo, Math.round(mean)));
      }
      // An average that lands on the nodata value in every band would read as nodata: nudge it by one.
      if (ok && d.nodata !== null && !isFloat && colour.length > 0 && colour.every((b) => l.values[o * spp + b] === d.nodata)) {
        const b0 = colour[0]!;
        l.values[o * spp + b0] = d.nodata < hi ? d.nodata + 1 : d.nodata - 1;
      }
    }
    l.sums.fill(0);
    l.counts.fill(0);
    l.totals.fill(0);
  };
  const chunk = Math.max(1, Math.min(d.height, Math.ceil((4 * 1024 * 1024) / (d.width * spp * BYTES[d.dtype]))));
  for (let y0 = 0; y0 < d.height; y0 += chunk) {
    const rows = Math.min(chunk, d.height - y0);
    const win = await readWindow(scene, { level: 0, x: 0, y: y0, width: d.width, height: rows, bandIndexes: all });
    for (let r = 0; r < rows; r++) {
      const y = y0 + r;
      for (const l of levels) {
        const { cols, sums, counts, totals } = l;
        for (let x = 0; x < d.width; x++) {
          const i = cols[x]!;
          totals[i]!++;
          const p = r * d.width + x;
          if (!win.valid[p]) continue;
          counts[i]!++;
          for (let b = 0; b < spp; b++) sums[i * spp + b]! += win.bands[b]![p]!;
        }
        const row = l.rows[y]!;
        if (y === d.height - 1 || l.rows[y + 1] !== row) finish(l, row);
      }
    }
  }
  // The whole file just went through the decoded-block LRU: drop it again rather than push out other scenes' blocks.
  evictScene(scene);
  return levels.map(({ factor, width, height, values, valid }) => ({ factor, width, height, values, valid }));
}

/** sha-256 of the path, size and modification time: a new file content gets a new pyramid. */
export function sceneFingerprint(file: string): string {
  const s = statSync(file);
  return createHash('sha256').update(`${resolve(file)}\0${s.size}\0${s.mtimeMs}`).digest('hex').slice(0, 32);
}

interface Manifest {
  version: number;
  file: string;
  width: number;
  height: number;
  bands: number;
  dtype: SampleType;
  levels: { factor: number; width: number; height: number; mask: boolean }[];
}

async function imageOf(tiff: GeoTIFF): Promise<GeoTIFFImage> {
  return tiff.getImage(0);
}

/** A pyramid level as a scene level: its scale from the scene's full-resolution size. */
function asLevel(d: Scene['description'], level: Omit<SceneLevel, 'scaleX' | 'scaleY'>): SceneLevel {
  return { ...level, scaleX: d.width / level.width, scaleY: d.height / level.height };
}

/** The level's values and (when it has one) its mask, as stripped TIFFs. */
function levelTiffs(d: Scene['description'], l: LevelData): { values: Uint8Array; mask: Uint8Array | null } {
  return {
    values: writeStrippedTiff({ values: l.values, width: l.width, height: l.height, samplesPerPixel: d.bands, dtype: d.dtype }),
    mask: l.valid ? writeStrippedTiff({ values: l.valid, width: l.width, height: l.height, samplesPerPixel: 1, dtype: 'uint8' }) : null,
  };
}

interface PyramidPlan {
  /** Reduction factors to build (or reuse), finest first. */
  factors: number[];
  /** Whether the levels go to the cache folder rather than stay in memory. */
  onDisk: boolean;
}

/** Which levels to build and where: on disk when too large for memory and a cache folder is given. */
function planPyramid(d: Scene['description'], options: PyramidOptions): PyramidPlan {
  const memoryBytes = options.memoryBytes ?? 64 * 1024 * 1024;
  const buildBytes = options.buildBytes ?? 512 * 1024 * 1024;
  const needMask = d.mask !== 'none' || d.dtype === 'float32' || d.dtype === 'float64';
  let factors = pyramidFactors(d.width, d.height);
  const total = (fs: number[]): number => fs.reduce((s, f) => s + levelBytes(d, f, needMask), 0);
  const onDisk = options.cacheDir !== undefined && total(factors) > memoryBytes;
  // The finest levels matter least (the full-resolution strips under a tile are few there): drop them first.
  const budget = onDisk ? buildBytes : memoryBytes;
  while (factors.length > 1 && total(factors) > budget) factors = factors.slice(1);
  return { factors, onDisk };
}

/** The pyramid levels after the scene's own, the TIFFs they hold open, and where they came from. */
interface BuiltLevels {
  levels: SceneLevel[];
  opened: GeoTIFF[];
  info: PyramidInfo;
}

/** The manifest in `dir`, when it describes a pyramid of this scene in the current format. */
function usableManifest(dir: string, d: Scene['description']): Manifest | null {
  const manifestPath = join(dir, 'pyramid.json');
  if (!existsSync(manifestPath)) return null;
  try {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    const same = m.version === FORMAT_VERSION && m.width === d.width && m.height === d.height && m.bands === d.bands && m.dtype === d.dtype;
    return same && m.levels.length > 0 ? m : null;
  } catch {
    return null;
  }
}

/** Computes the levels and writes them to `dir` (through a temporary folder renamed into place). */
async function writeDiskPyramid(scene: Scene, factors: number[], cacheDir: string, dir: string): Promise<Manifest> {
  const d = scene.description;
  const data = await computeLevels(scene, factors);
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  mkdirSync(tmp, { recursive: true });
  for (const l of data) {
    const tiffs = levelTiffs(d, l);
    writeFileSync(join(tmp, `x${l.factor}.tif`), tiffs.values);
    if (tiffs.mask) writeFileSync(join(tmp, `x${l.factor}.mask.tif`), tiffs.mask);
  }
  const manifest: Manifest = {
    version: FORMAT_VERSION, file: d.file, width: d.width, height: d.height, bands: d.bands, dtype: d.dtype,
    levels: data.map((l) => ({ factor: l.factor, width: l.width, height: l.height, mask: l.valid !== null })),
  };
  writeFileSync(join(tmp, 'pyramid.json'), JSON.stringify(manifest));
  try {
    // Atomic: another worker may have finished the same pyramid first; then use that one.
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true });
  }
  return usableManifest(dir, d) ?? manifest;
}

/** The pyramid in the cache folder: reused when its manifest matches, else built and written first. */
async function diskPyramid(scene: Scene, factors: number[], options: PyramidOptions): Promise<BuiltLevels> {
  const d = scene.description;
  const fingerprint = options.fingerprint ?? sceneFingerprint(d.file);
  const dir = join(options.cacheDir!, fingerprint);
  let manifest = usableManifest(dir, d);
  const reused = manifest !== null;
  manifest ??= await writeDiskPyramid(scene, factors, options.cacheDir!, dir);
  const opened: GeoTIFF[] = [];
  const levels: SceneLevel[] = [];
  for (const l of manifest.levels) {
    const t = await fromFile(join(dir, `x${l.factor}.tif`));
    opened.push(t);
    let mask: GeoTIFFImage | null = null;
    if (l.mask) {
      const m = await fromFile(join(dir, `x${l.factor}.mask.tif`));
      opened.push(m);
      mask = await imageOf(m);
    }
    levels.push(asLevel(d, { level: scene.levels.length + levels.length, width: l.width, height: l.height, image: await imageOf(t), mask }));
  }
  return { levels, opened, info: { factors: manifest.levels.map((l) => l.factor), where: 'disk', dir, reused } };
}

/** The pyramid built into in-memory TIFFs. */
async function memoryPyramid(scene: Scene, factors: number[]): Promise<BuiltLevels> {
  const d = scene.description;
  const data = await computeLevels(scene, factors);
  const levels: SceneLevel[] = [];
  for (const l of data) {
    const tiffs = levelTiffs(d, l);
    const image = await imageOf(await fromArrayBuffer(tiffs.values.buffer as ArrayBuffer));
    const mask = tiffs.mask ? await imageOf(await fromArrayBuffer(tiffs.mask.buffer as ArrayBuffer)) : null;
    levels.push(asLevel(d, { level: scene.levels.length + levels.length, width: l.width, height: l.height, image, mask }));
  }
  return { levels, opened: [], info: { factors: data.map((l) => l.factor), where: 'memory', reused: false } };
}

/**
 * The scene with its pyramid levels appended (built now, or reused from the cache folder), or the
 * scene itself when it needs none. Reading happens here: call it in the tile worker, once per scene.
 */
export async function buildPyramid(scene: Scene, options: PyramidOptions = {}): Promise<PyramidScene | Scene> {
  if (!wantsPyramid(scene)) return scene;
  const { factors, onDisk } = planPyramid(scene.description, options);
  const built = onDisk ? await diskPyramid(scene, factors, options) : await memoryPyramid(scene, factors);
  for (const l of built.levels) pyramidLevels.add(l);
  const derived: PyramidScene = {
    ...scene,
    levels: [...scene.levels, ...built.levels],
    pyramid: built.info,
    close: async () => {
      evictScene({ ...scene, levels: built.levels });
      for (const t of built.opened) await Promise.resolve(t.close()).catch(() => undefined);
    },
  };
  return derived;
}

export function hasPyramid(scene: Scene): scene is PyramidScene {
  return (scene as Partial<PyramidScene>).pyramid !== undefined;
}

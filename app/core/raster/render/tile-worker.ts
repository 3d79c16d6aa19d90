import sharp from 'sharp';
import { KestrelError, type KestrelErrorData } from '../../../contract/index.js';
import type { BandMapping } from '../reading/bands.js';
import { LruCache } from '../lru.js';
import { evictScene } from '../reading/pixels.js';
import { buildPyramid, wantsPyramid, type PyramidOptions } from './pyramid.js';
import { TILE_SIZE, stretchTile, tilePixelRatio, warpTile } from './warp.js';
import { openScene, type Scene } from '../scene.js';
import { sceneStatistics, type SceneStatistics } from '../analysis/stats.js';
import { chipAt, chipToRgb } from '../analysis/chips.js';
import type { PixelRect } from '../reading/blocks.js';

export type TileFormat = 'webp' | 'png';

/** Messages to a tile worker. */
export type TileRequest =
  | { id: number; kind: 'stats'; file: string }
  | {
    id: number;
    kind: 'render';
    file: string;
    z: number;
    x: number;
    y: number;
    mapping: BandMapping;
    stats: SceneStatistics;
    format: TileFormat;
    /** Tile pyramid for scenes without overviews (default: built in memory); false: never. */
    pyramid?: PyramidOptions | false;
  }
  | { id: number; kind: 'thumb'; file: string; window: PixelRect; size: number; mapping: BandMapping; stats: SceneStatistics; format: TileFormat };

/** Its answers: an encoded tile (null when the tile holds no data), statistics, or a typed error. */
export type TileResponse =
  | { id: number; ok: true; kind: 'stats'; stats: SceneStatistics }
  | { id: number; ok: true; kind: 'render' | 'thumb'; body: Uint8Array | null; type: string }
  | { id: number; ok: false; error: KestrelErrorData };

/** Per open scene: the same scene with its tile pyramid levels (pyramid.ts), once built. */
const pyramids = new WeakMap<Scene, Promise<Scene>>();

async function release(s: Promise<Scene>): Promise<void> {
  const opened = await s.catch(() => undefined);
  if (!opened) return;
  const withPyramid = await pyramids.get(opened);
  if (withPyramid && withPyramid !== opened) await withPyramid.close();
  evictScene(opened);
  await opened.close();
}

/**
 * Open scenes of this worker (each keeps a file descriptor and its parsed directories). An evicted
 * scene is closed a little later, once reads already in flight on it have finished.
 */
const scenes = new LruCache<Promise<Scene>>(16, (_file, s) => {
  setTimeout(() => void release(s), 30_000).unref();
});

function scene(file: string): Promise<Scene> {
  let s = scenes.get(file);
  if (!s) {
    s = openScene(file);
    s.catch(() => scenes.dropPrefix(file));
    scenes.set(file, s, 1);
  }
  return s;
}

/**
 * The scene a tile renders from: for a scene without overviews at a zoom that a 2× reduced level
 * would serve, the scene with its tile pyramid, built on this first need (once per scene and worker;
 * a failed build falls back to the full-resolution image).
 */
function sceneForZoom(s: Scene, z: number, options: PyramidOptions | false | undefined): Promise<Scene> | Scene {
  if (options === false || !wantsPyramid(s) || tilePixelRatio(s, z) < 2) return s;
  let p = pyramids.get(s);
  if (!p) {
    p = buildPyramid(s, options).catch(() => s);
    pyramids.set(s, p);
  }
  return p;
}

export async function encodeTile(rgba: Uint8Array, format: TileFormat, side = TILE_SIZE): Promise<{ body: Uint8Array; type: string }> {
  const img = sharp(rgba, { raw: { width: side, height: side, channels: 4 } });
  if (format === 'webp') {
    try {
      return { body: await img.webp({ quality: 90, alphaQuality: 100, effort: 2 }).toBuffer(), type: 'image/webp' };
    } catch {
      // This sharp build cannot write WebP: fall through to PNG.
    }
  }
  return { body: await img.png({ compressionLevel: 3 }).toBuffer(), type: 'image/png' };
}

/** Handles one request in the worker: statistics of a scene, or one rendered, encoded tile. */
export async function handleTileRequest(req: TileRequest): Promise<TileResponse> {
  try {
    const s = await scene(req.file);
    if (req.kind === 'stats') return { id: req.id, ok: true, kind: 'stats', stats: await sceneStatistics(s) };
    if (req.kind === 'thumb') {
      // A chip as the model saw it: its window, band mapping and stretch, at thumbnail size.
      const rgb = await chipToRgb(s, chipAt(s, req.window, req.size), { mapping: req.mapping, stats: req.stats, size: req.size });
      const rgba = new Uint8Array(req.size * req.size * 4);
      for (let i = 0; i < req.size * req.size; i++) {
        rgba[4 * i] = rgb.data[3 * i]!;
        rgba[4 * i + 1] = rgb.data[3 * i + 1]!;
        rgba[4 * i + 2] = rgb.data[3 * i + 2]!;
        rgba[4 * i + 3] = 255;
      }
      const { body, type } = await encodeTile(rgba, req.format, req.size);
      return { id: req.id, ok: true, kind: 'thumb', body: new Uint8Array(body), type };
    }
    const warped = await warpTile(await sceneForZoom(s, req.z, req.pyramid), { z: req.z, x: req.x, y: req.y, bandIndexes: req.mapping.bands });
    if (!warped.valid.some((v) => v === 1)) return { id: req.id, ok: true, kind: 'render', body: null, type: '' };
    const { body, type } = await encodeTile(stretchTile(warped, req.mapping, req.stats), req.format);
    // A copy with its own ArrayBuffer, so the worker can transfer it without detaching a shared pool.
    return { id: req.id, ok: true, kind: 'render', body: new Uint8Array(body), type };
  } catch (err) {
    return { id: req.id, ok: false, error: KestrelError.from(err).toJSON() };
  }
}

/** Closes every scene this worker holds. */
export async function closeTileWorkerScenes(): Promise<void> {
  for (const file of scenes.keys()) {
    const s = scenes.get(file);
    scenes.dropPrefix(file);
    if (s) await release(s);
  }
}

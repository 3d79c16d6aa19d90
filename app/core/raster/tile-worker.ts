import sharp from 'sharp';
import { KestrelError, type KestrelErrorData } from '../../contract/index.js';
import type { BandMapping } from './bands.js';
import { LruCache } from './lru.js';
import { evictScene } from './pixels.js';
import { TILE_SIZE, stretchTile, warpTile } from './render.js';
import { openScene, type Scene } from './scene.js';
import { sceneStatistics, type SceneStatistics } from './stats.js';

export type TileFormat = 'webp' | 'png';

/** Messages to a tile worker. */
export type TileRequest =
  | { id: number; kind: 'stats'; file: string }
  | { id: number; kind: 'render'; file: string; z: number; x: number; y: number; mapping: BandMapping; stats: SceneStatistics; format: TileFormat };

/** Its answers: an encoded tile (null when the tile holds no data), statistics, or a typed error. */
export type TileResponse =
  | { id: number; ok: true; kind: 'stats'; stats: SceneStatistics }
  | { id: number; ok: true; kind: 'render'; body: Uint8Array | null; type: string }
  | { id: number; ok: false; error: KestrelErrorData };

async function release(s: Promise<Scene>): Promise<void> {
  const opened = await s.catch(() => undefined);
  if (!opened) return;
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

export async function encodeTile(rgba: Uint8Array, format: TileFormat): Promise<{ body: Uint8Array; type: string }> {
  const img = sharp(rgba, { raw: { width: TILE_SIZE, height: TILE_SIZE, channels: 4 } });
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
    const warped = await warpTile(s, req.z, req.x, req.y, req.mapping.bands);
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

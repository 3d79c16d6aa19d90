import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { KestrelError } from '../../../contract/index.js';
import { bandMapping, type BandMapping } from '../reading/bands.js';
import { LruCache } from '../lru.js';
import { WorkerPool } from './pool.js';
import { tileBounds } from './warp.js';
import { describeScene, type SceneDescription } from '../scene.js';
import type { SceneStatistics } from '../analysis/stats.js';
import type { TileFormat, TileRequest, TileResponse } from './tile-worker.js';

export interface TileServiceOptions {
  /** Tile workers (default: CPU cores − 1, at least 1, at most 4). */
  workers?: number;
  /** Bytes of encoded tiles kept (default 64 MiB). */
  tileCacheBytes?: number;
  /** WebP by default; PNG where the client or platform needs it. */
  format?: TileFormat;
  /**
   * Tile pyramids for scenes without overviews (pyramid.ts): kept in memory up to `memoryBytes`
   * (default 64 MiB), larger ones written under `cacheDir` (one folder per scene fingerprint) when
   * given. false: never build one (every strip is read at low zoom).
   */
  pyramid?: false | { cacheDir?: string; memoryBytes?: number };
}

interface RegisteredScene {
  id: string;
  file: string;
  description: SceneDescription;
  mapping: BandMapping;
  stats?: Promise<SceneStatistics>;
  /** Web Mercator bounding box(es) of the footprint, for a cheap "no data here" answer. */
  boxes: [number, number, number, number][];
}

export interface Tile {
  body: Buffer;
  type: string;
}

const MAX_ZOOM = 24;

function mercatorBoxes(d: SceneDescription): [number, number, number, number][] {
  const fp = d.footprint;
  if (!fp) return [];
  const R = 6378137;
  const polys = fp.type === 'Polygon' ? [fp.coordinates] : fp.coordinates;
  return polys.map((poly) => {
    const pts = poly[0]!.map(([lon, lat]) => {
      const l = Math.max(-85.0511287798, Math.min(85.0511287798, lat));
      return [(lon * Math.PI * R) / 180, R * Math.log(Math.tan(Math.PI / 4 + (l * Math.PI) / 360))] as const;
    });
    // A little margin: densified edges bulge between vertices.
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    const mx = (Math.max(...xs) - Math.min(...xs)) * 0.02;
    const my = (Math.max(...ys) - Math.min(...ys)) * 0.02;
    return [Math.min(...xs) - mx, Math.min(...ys) - my, Math.max(...xs) + mx, Math.max(...ys) + my];
  });
}

/**
 * Map tiles by scene id: scenes are registered by file and addressed by an opaque id (never a
 * path); tiles are rendered in the tile worker pool and kept in an LRU of encoded tiles. The
 * server's `tiles` option and Electron's tiles:// protocol call `tile()`.
 */
export class TileService {
  private readonly scenes = new Map<string, RegisteredScene>();
  private readonly tiles: LruCache<Promise<Tile | undefined>>;
  private readonly pool: WorkerPool<TileRequest, TileResponse>;
  private readonly format: TileFormat;
  private readonly pyramid: TileServiceOptions['pyramid'];

  constructor(options: TileServiceOptions = {}) {
    this.pool = new WorkerPool<TileRequest, TileResponse>('tiles', options.workers);
    this.tiles = new LruCache(options.tileCacheBytes ?? 64 * 1024 * 1024);
    this.format = options.format ?? 'webp';
    this.pyramid = options.pyramid;
  }

  /**
   * Makes a scene servable and returns its id (stable for the same file and modification time).
   * `bands` overrides the default band mapping (one grey band or three for red, green, blue); `id`
   * keeps an id the catalog already gave the scene (lowercase letters, digits, _ and -, at most 128).
   */
  async register(file: string, options: { bands?: number[]; id?: string } = {}): Promise<string> {
    const path = resolve(file);
    const s = await stat(path).catch(() => undefined);
    const description = await describeScene(path);
    if (!description.georeferenced) {
      throw new KestrelError({ code: 'invalid_input', message: `${path} has no map position, so it has no map tiles.`, file: path, hint: 'Pixel-space scenes are shown in the image viewer instead.' });
    }
    if (options.id !== undefined && !/^[a-z0-9_-]{1,128}$/.test(options.id)) {
      throw new KestrelError({ code: 'invalid_input', message: `A scene id is lowercase letters, digits, _ and - (at most 128; tiles:// hosts are lowercase); got "${options.id}".` });
    }
    const id = options.id ?? createHash('sha256').update(`${path}\0${s?.mtimeMs ?? 0}\0${(options.bands ?? []).join(',')}`).digest('hex').slice(0, 24);
    this.tiles.dropPrefix(`${id}/`);
    this.scenes.set(id, { id, file: path, description, mapping: bandMapping(description, options.bands), boxes: mercatorBoxes(description) });
    return id;
  }

  unregister(id: string): void {
    this.scenes.delete(id);
    this.tiles.dropPrefix(`${id}/`);
  }

  /** The scene a registered id stands for (its description), if any. */
  scene(id: string): SceneDescription | undefined {
    return this.scenes.get(id)?.description;
  }

  /** Per-band statistics of a registered scene, computed once in a worker. */
  statistics(id: string): Promise<SceneStatistics> {
    const s = this.scenes.get(id);
    if (!s) return Promise.reject(new KestrelError({ code: 'not_found', message: `No scene with id ${id}.` }));
    s.stats ??= this.pool.request({ kind: 'stats', file: s.file }).then((res) => {
      if (!res.ok) throw new KestrelError(res.error);
      if (res.kind !== 'stats') throw new KestrelError({ code: 'internal', message: 'The tile worker answered a statistics request with a tile.' });
      return res.stats;
    });
    s.stats.catch(() => {
      s.stats = undefined;
    });
    return s.stats;
  }

  /** Tile z/x/y of a scene: undefined when the scene is unknown or the tile lies outside its footprint. */
  tile(id: string, z: number, x: number, y: number): Promise<Tile | undefined> {
    const s = this.scenes.get(id);
    if (!s || !Number.isInteger(z) || z < 0 || z > MAX_ZOOM || x < 0 || y < 0 || x >= 2 ** z || y >= 2 ** z) return Promise.resolve(undefined);
    const [minX, minY, maxX, maxY] = tileBounds(z, x, y);
    if (!s.boxes.some((b) => b[0] <= maxX && b[2] >= minX && b[1] <= maxY && b[3] >= minY)) return Promise.resolve(undefined);
    const key = `${id}/${z}/${x}/${y}`;
    const cached = this.tiles.get(key);
    if (cached) return cached;
    const rendered = this.render(s, z, x, y);
    this.tiles.set(key, rendered, 16 * 1024);
    rendered.then(
      (t) => {
        if (!t) this.tiles.dropPrefix(key);
        else if (this.tiles.get(key) === rendered) this.tiles.set(key, rendered, t.body.length + 256);
      },
      () => this.tiles.dropPrefix(key),
    );
    return rendered;
  }

  private async render(s: RegisteredScene, z: number, x: number, y: number): Promise<Tile | undefined> {
    const stats = await this.statistics(s.id);
    const res = await this.pool.request({ kind: 'render', file: s.file, z, x, y, mapping: s.mapping, stats, format: this.format, ...(this.pyramid !== undefined ? { pyramid: this.pyramid } : {}) });
    if (!res.ok) throw new KestrelError(res.error);
    if (res.kind !== 'render') throw new KestrelError({ code: 'internal', message: 'The tile worker answered a tile request with something else.' });
    if (!res.body) return undefined;
    return { body: Buffer.from(res.body.buffer, res.body.byteOffset, res.body.byteLength), type: res.type };
  }

  /**
   * A chip's thumbnail: the full-resolution `window` of a registered scene, through its band mapping
   * and stretch, at `size` pixels, rendered in the worker pool. Undefined for an unknown scene.
   */
  async thumbnail(id: string, window: { x: number; y: number; width: number; height: number }, size = 128): Promise<Tile | undefined> {
    const s = this.scenes.get(id);
    if (!s) return undefined;
    const key = `thumb/${id}/${window.x}/${window.y}/${window.width}/${window.height}/${size}`;
    const cached = this.tiles.get(key);
    if (cached) return cached;
    const rendered = (async (): Promise<Tile | undefined> => {
      const stats = await this.statistics(id);
      const res = await this.pool.request({ kind: 'thumb', file: s.file, window, size, mapping: s.mapping, stats, format: this.format });
      if (!res.ok) throw new KestrelError(res.error);
      if (res.kind !== 'thumb' || !res.body) throw new KestrelError({ code: 'internal', message: 'The tile worker answered a thumbnail request with something else.' });
      return { body: Buffer.from(res.body.buffer, res.body.byteOffset, res.body.byteLength), type: res.type };
    })();
    this.tiles.set(key, rendered, 8 * 1024);
    rendered.catch(() => this.tiles.dropPrefix(key));
    return rendered;
  }

  async close(): Promise<void> {
    this.scenes.clear();
    await this.pool.close();
  }
}

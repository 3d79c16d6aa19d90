/**
 * Search: a query embedding against the vector stores of the chosen archives (one model), filtered
 * by area, folder and level, calibrated per archive (a z-score against the query's similarity
 * distribution over the archive), overlapping hits merged by footprint and grouped by scene.
 * Also chip → similar chips and chip → suggested captions. Stores are opened read-only, so search
 * runs safely beside an indexing job (in this engine or another process).
 */
import { readdir, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { basename, dirname, join, sep } from 'node:path';
import { KestrelError, type SearchHit, type SearchResult } from '../../contract/index.js';
import type { Catalog, SceneRecord } from '../catalog/index.js';
import { isIndexMeta, liveSlots, modelKey, storeDirOf, type IndexMeta } from '../jobs/index.js';
import { bandMapping, chipAt, chipToRgb, LruCache, openScene, sceneStatistics, type Scene } from '../raster/index.js';
import { calibrate, dotScorer, exactTopK, VectorStore, zScore } from '../vectors/index.js';

export { searchHandlers, type SearchHandlerDeps } from './handlers.js';

export interface SearchFilter {
  topK?: number | undefined;
  bbox?: [number, number, number, number] | undefined;
  polygon?: { type: 'Polygon'; coordinates: [number, number][][] } | undefined;
  archiveIds?: string[] | undefined;
  folder?: string | undefined;
  levels?: number[] | undefined;
  minScore?: number | undefined;
}

/** Rows sampled per store to estimate a query's similarity distribution. */
const CALIBRATION_SAMPLE = 2048;
/** Two hits of one scene are merged when they share at least this fraction of the smaller one. */
const MERGE_OVERLAP = 0.2;

/** An opened store with everything search needs per row, reloaded when its commit changes. */
interface Handle {
  archiveId: string;
  modelId: string;
  dir: string;
  commitMtime: number;
  store: VectorStore;
  meta: IndexMeta;
  slotOf: Uint32Array;
  levelOf: Uint8Array;
  windows: Uint32Array;
  /** Chip centres in WGS84 (NaN for pixel-space scenes), computed on the first area filter. */
  centres?: Float64Array;
  sample: { rows: Uint32Array; vectors: Float32Array };
}

export interface ChipRef {
  archiveId: string;
  modelId: string;
  row: number;
}

export function chipIdOf(archiveId: string, modelId: string, row: number): string {
  return `${archiveId}-${modelKey(modelId)}-${row.toString(36)}`;
}

function parseChipId(chipId: string): { archiveId: string; key: string; row: number } | undefined {
  const m = /^([a-z0-9_]+)-([0-9a-f]{8})-([0-9a-z]+)$/.exec(chipId);
  if (!m) return undefined;
  return { archiveId: m[1]!, key: m[2]!, row: parseInt(m[3]!, 36) };
}

function pointInRing(x: number, y: number, ring: [number, number][]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function inPolygon(x: number, y: number, poly: [number, number][][]): boolean {
  if (!pointInRing(x, y, poly[0]!)) return false;
  return !poly.slice(1).some((hole) => pointInRing(x, y, hole));
}

function inBbox(lon: number, lat: number, [w, s, e, n]: [number, number, number, number]): boolean {
  if (lat < s || lat > n) return false;
  return w <= e ? lon >= w && lon <= e : lon >= w || lon <= e;
}

/**
 * An adapter's image side for re-scoring: the stored base vectors stay as they are; the adapted
 * ones are computed once per (store commit, adapter) and kept in memory, and the store is then
 * searched exactly (brute force) over them, since its HNSW graph is built on the base vectors.
 */
export interface ImageAdapter {
  id: string;
  /** Adapts `rows` L2-normalised base vectors (rows × dim) to the adapted space. */
  apply(x: Float32Array, rows: number): Promise<Float32Array>;
}

/** What a search adds to its filter: a chip to leave out (chip → similar chips), an adapter to score through. */
export interface QueryOptions {
  exclude?: ChipRef | undefined;
  adapter?: ImageAdapter | undefined;
}

type Candidate = { h: Handle; row: number; rec: SceneRecord; similarity: number; score: number };

/**
 * Non-maximum suppression per scene over candidates best first: a hit overlapping a better one of
 * the same scene by at least MERGE_OVERLAP of the smaller window is folded into it; topK are kept.
 */
function mergeOverlapping(candidates: Candidate[], topK: number): (Candidate & { merged: number })[] {
  const kept: (Candidate & { merged: number })[] = [];
  const byScene = new Map<string, (Candidate & { merged: number })[]>();
  for (const c of candidates) {
    const w = c.h.windows.subarray(4 * c.row, 4 * c.row + 4);
    const same = byScene.get(c.rec.id) ?? [];
    const over = same.find((k) => {
      const v = k.h.windows.subarray(4 * k.row, 4 * k.row + 4);
      const ix = Math.max(0, Math.min(w[0]! + w[2]!, v[0]! + v[2]!) - Math.max(w[0]!, v[0]!));
      const iy = Math.max(0, Math.min(w[1]! + w[3]!, v[1]! + v[3]!) - Math.max(w[1]!, v[1]!));
      return ix * iy >= MERGE_OVERLAP * Math.min(w[2]! * w[3]!, v[2]! * v[3]!);
    });
    if (over) {
      over.merged++;
      continue;
    }
    if (kept.length >= topK) continue;
    const k = { ...c, merged: 0 };
    kept.push(k);
    same.push(k);
    byScene.set(c.rec.id, same);
  }
  return kept;
}

export class SearchService {
  private readonly handles = new Map<string, Promise<Handle>>();
  private readonly adapted = new Map<string, Promise<Float32Array>>();
  private readonly scenes = new LruCache<Promise<Scene>>(32, (_k, s) => void s.then((x) => x.close()).catch(() => {}));

  constructor(
    private readonly dataDir: string,
    private readonly catalog: Catalog,
    /** Rows below which search is brute force (default: the store's threshold). */
    private readonly options: { exactThreshold?: number } = {},
  ) {}

  /** The store of (archive, model), opened read-only; undefined when that archive has none yet. */
  private async handle(archiveId: string, modelId: string): Promise<Handle | undefined> {
    const dir = storeDirOf(this.dataDir, archiveId, modelId);
    const mtime = await stat(join(dir, 'commit.json')).then(
      (s) => s.mtimeMs,
      () => undefined,
    );
    const key = dir;
    if (mtime === undefined) {
      this.drop(key);
      return undefined;
    }
    const cached = this.handles.get(key);
    if (cached) {
      const h = await cached.catch(() => undefined);
      if (h && h.commitMtime === mtime) return h;
      this.drop(key);
    }
    const opening = this.open(archiveId, modelId, dir, mtime);
    this.handles.set(key, opening);
    opening.catch(() => this.handles.delete(key));
    return opening;
  }

  private drop(key: string): void {
    const h = this.handles.get(key);
    this.handles.delete(key);
    void h?.then((x) => x.store.close()).catch(() => {});
  }

  private async open(archiveId: string, modelId: string, dir: string, commitMtime: number): Promise<Handle> {
    const store = await VectorStore.open(dir, 0, { readOnly: true, ...(this.options.exactThreshold !== undefined ? { exactThreshold: this.options.exactThreshold } : {}) });
    const meta = store.meta;
    if (!isIndexMeta(meta)) {
      await store.close();
      throw new KestrelError({ code: 'corrupt_file', message: 'The vector store has no index record.', file: dir, hint: 'Re-index the archive (index.start with reindex).' });
    }
    const n = store.count;
    const slotOf = new Uint32Array(n);
    const levelOf = new Uint8Array(n);
    const windows = new Uint32Array(4 * n);
    for (let r = 0; r < n; r++) {
      const c = await store.chip(r);
      slotOf[r] = c.scene;
      levelOf[r] = c.level;
      windows.set([c.x, c.y, c.width, c.height], 4 * r);
    }
    // An evenly spaced sample of rows: the query's similarity distribution over the archive.
    const m = Math.min(n, CALIBRATION_SAMPLE);
    const rows = new Uint32Array(m);
    const vectors = new Float32Array(m * store.dim);
    for (let i = 0; i < m; i++) {
      rows[i] = Math.floor((i * n) / m);
      vectors.set(await store.vector(rows[i]!), i * store.dim);
    }
    return { archiveId, modelId, dir, commitMtime, store, meta, slotOf, levelOf, windows, sample: { rows, vectors } };
  }

  private scene(path: string): Promise<Scene> {
    let s = this.scenes.get(path);
    if (!s) {
      s = openScene(path);
      s.catch(() => this.scenes.dropPrefix(path));
      this.scenes.set(path, s, 1);
    }
    return s;
  }

  private async centres(h: Handle, live: Map<number, SceneRecord>): Promise<Float64Array> {
    if (h.centres) return h.centres;
    const out = new Float64Array(2 * h.slotOf.length).fill(NaN);
    const transforms = new Map<number, ((c: number, r: number) => [number, number]) | null>();
    for (let r = 0; r < h.slotOf.length; r++) {
      const slot = h.slotOf[r]!;
      if (!transforms.has(slot)) {
        const rec = live.get(slot);
        const t = rec?.summary?.georeferenced ? await this.scene(rec.path).then((s) => s.toLonLat, () => null) : null;
        transforms.set(slot, t);
      }
      const t = transforms.get(slot);
      if (!t) continue;
      const [lon, lat] = t(h.windows[4 * r]! + h.windows[4 * r + 2]! / 2, h.windows[4 * r + 1]! + h.windows[4 * r + 3]! / 2);
      out[2 * r] = lon;
      out[2 * r + 1] = lat;
    }
    h.centres = out;
    return out;
  }

  private async polygonOf(rec: SceneRecord, window: SearchHit['window']): Promise<SearchHit['polygon']> {
    if (!rec.summary?.georeferenced) return null;
    const s = await this.scene(rec.path).catch(() => undefined);
    const t = s?.toLonLat;
    if (!t) return null;
    const { x, y, width: w, height: hgt } = window;
    const ring = [t(x, y), t(x, y + hgt), t(x + w, y + hgt), t(x + w, y), t(x, y)];
    return { type: 'Polygon', coordinates: [ring] };
  }

  /** Stores to search: the chosen archives (default all) that have vectors of this model. */
  private async stores(modelId: string, archiveIds: string[] | undefined): Promise<Handle[]> {
    const ids = archiveIds ?? this.catalog.archives().map((a) => a.id);
    for (const id of ids) if (!this.catalog.archive(id)) throw new KestrelError({ code: 'not_found', message: `There is no archive ${id}.` });
    const out: Handle[] = [];
    for (const id of ids) {
      const h = await this.handle(id, modelId);
      if (h) out.push(h);
    }
    return out;
  }

  /** A store's vectors through an adapter's image side (computed once per commit and adapter). */
  private adaptedVectors(h: Handle, adapter: ImageAdapter): Promise<Float32Array> {
    const key = `${h.dir}\0${h.commitMtime}\0${adapter.id}`;
    let p = this.adapted.get(key);
    if (!p) {
      for (const k of this.adapted.keys()) if (k.startsWith(`${h.dir}\0`)) this.adapted.delete(k);
      p = (async () => {
        const n = h.slotOf.length;
        const dim = h.store.dim;
        const base = new Float32Array(n * dim);
        for (let r = 0; r < n; r++) base.set(await h.store.vector(r), r * dim);
        return adapter.apply(base, n);
      })();
      p.catch(() => this.adapted.delete(key));
      this.adapted.set(key, p);
    }
    return p;
  }

  /**
   * Text (already embedded) or chip → ranked, merged, grouped hits. With an adapter, `query` is
   * already in the adapted space and the chips are scored through the adapter's image side.
   */
  async search(modelId: string, query: Float32Array, filter: SearchFilter, options: QueryOptions = {}): Promise<SearchResult> {
    const t0 = performance.now();
    const topK = filter.topK ?? 50;
    const candidates: Candidate[] = [];
    const calibration: SearchResult['calibration'] = [];
    for (const h of await this.stores(modelId, filter.archiveIds)) {
      const found = await this.rank(h, query, { filter, topK, ...options });
      calibration.push(found.calibration);
      candidates.push(...found.candidates);
    }
    candidates.sort((a, b) => b.score - a.score);
    const kept = mergeOverlapping(candidates, topK);
    const hits: SearchHit[] = [];
    for (const [i, k] of kept.entries()) hits.push(await this.hitAt(k.h, k.rec, k.row, { rank: i + 1, score: k.score, similarity: k.similarity, merged: k.merged }));
    const groups = new Map<string, SearchResult['scenes'][number]>();
    for (const hit of hits) {
      const g = groups.get(hit.sceneId) ?? { sceneId: hit.sceneId, archiveId: hit.archiveId, path: hit.path, bestScore: hit.score, hits: [] };
      g.hits.push(hit.rank);
      groups.set(hit.sceneId, g);
    }
    return { model: modelId, adapter: options.adapter?.id ?? null, hits, scenes: [...groups.values()], calibration, tookMs: performance.now() - t0 };
  }

  /** Which rows of a store a search may return: live chips that pass the filter (and are not the excluded chip). */
  private async rowFilter(h: Handle, live: Map<number, SceneRecord>, filter: SearchFilter, exclude: ChipRef | undefined): Promise<(row: number) => boolean> {
    const levels = filter.levels ? new Set(filter.levels) : undefined;
    const folder = filter.folder ? (filter.folder.endsWith(sep) ? filter.folder : filter.folder + sep) : undefined;
    const area = filter.bbox || filter.polygon ? await this.centres(h, live) : undefined;
    return (row: number): boolean => {
      const slot = h.slotOf[row]!;
      const rec = live.get(slot);
      if (!rec) return false;
      if (exclude && exclude.archiveId === h.archiveId && exclude.row === row) return false;
      if (levels && !levels.has(h.levelOf[row]!)) return false;
      if (folder && !rec.path.startsWith(folder)) return false;
      if (area) {
        const lon = area[2 * row]!;
        const lat = area[2 * row + 1]!;
        if (Number.isNaN(lon)) return false;
        if (filter.bbox && !inBbox(lon, lat, filter.bbox)) return false;
        if (filter.polygon && !inPolygon(lon, lat, filter.polygon.coordinates)) return false;
      }
      return true;
    };
  }

  /** One store's calibration for the query and its candidates (calibrated, over the score cut-off). */
  private async rank(h: Handle, query: Float32Array, o: QueryOptions & { filter: SearchFilter; topK: number }): Promise<{ calibration: SearchResult['calibration'][number]; candidates: Candidate[] }> {
    const live = liveSlots(h.meta, await this.catalog.scenes(h.archiveId));
    const allow = await this.rowFilter(h, live, o.filter, o.exclude);
    // Calibration: this query's similarity to a fixed sample of the archive's live chips.
    const dim = h.store.dim;
    const adaptedRows = o.adapter ? await this.adaptedVectors(h, o.adapter) : undefined;
    // Through an adapter, a sampled row is read in place among the adapted rows, by its row number.
    const sampleScore = dotScorer(query, adaptedRows ?? h.sample.vectors, dim);
    const sims: number[] = [];
    for (let i = 0; i < h.sample.rows.length; i++) {
      const row = h.sample.rows[i]!;
      if (live.has(h.slotOf[row]!)) sims.push(sampleScore(adaptedRows ? row : i));
    }
    const { mean, std, sample } = calibrate(sims);
    // Over-fetch: merging overlapping chips folds several candidates into one hit.
    const want = Math.min(4000, o.topK * 8);
    const found = adaptedRows ? exactTopK({ k: want, to: adaptedRows.length / dim, allow, score: dotScorer(query, adaptedRows, dim) }) : await h.store.search(query, want, { allow });
    const candidates: Candidate[] = [];
    for (const f of found) {
      const score = zScore(f.score, { mean, std });
      if (o.filter.minScore !== undefined && score < o.filter.minScore) continue;
      candidates.push({ h, row: f.row, rec: live.get(h.slotOf[f.row]!)!, similarity: f.score, score });
    }
    return { calibration: { archiveId: h.archiveId, mean, std, sample }, candidates };
  }

  /** An archive's live chips under a model, in row order, optionally of some levels only: what annotation walks. */
  async chipRows(archiveId: string, modelId: string, levels?: number[]): Promise<{ row: number; chipId: string; level: number }[]> {
    const h = await this.handle(archiveId, modelId);
    if (!h) return [];
    const live = liveSlots(h.meta, await this.catalog.scenes(archiveId));
    const want = levels ? new Set(levels) : undefined;
    const out: { row: number; chipId: string; level: number }[] = [];
    for (let r = 0; r < h.slotOf.length; r++) {
      if (!live.has(h.slotOf[r]!) || (want && !want.has(h.levelOf[r]!))) continue;
      out.push({ row: r, chipId: chipIdOf(archiveId, modelId, r), level: h.levelOf[r]! });
    }
    return out;
  }

  /** One row of a store as a hit. */
  private async hitAt(h: Handle, rec: SceneRecord, row: number, ranked: Pick<SearchHit, 'rank' | 'score' | 'similarity' | 'merged'>): Promise<SearchHit> {
    const w = h.windows.subarray(4 * row, 4 * row + 4);
    const window = { x: w[0]!, y: w[1]!, width: w[2]!, height: w[3]! };
    return {
      ...ranked,
      chipId: chipIdOf(h.archiveId, h.modelId, row),
      sceneId: rec.id,
      archiveId: h.archiveId,
      path: rec.path,
      level: h.levelOf[row]!,
      window,
      polygon: await this.polygonOf(rec, window),
    };
  }

  /** Rows of a store as hits, ranked in the order given (the caller scored them); rows whose scene is gone are left out. */
  async hitsOf(archiveId: string, modelId: string, ranked: { row: number; score: number; similarity: number }[]): Promise<SearchHit[]> {
    const h = await this.handle(archiveId, modelId);
    if (!h) return [];
    const live = liveSlots(h.meta, await this.catalog.scenes(archiveId));
    const hits: SearchHit[] = [];
    for (const r of ranked) {
      const rec = r.row < h.slotOf.length ? live.get(h.slotOf[r.row]!) : undefined;
      if (rec) hits.push(await this.hitAt(h, rec, r.row, { rank: hits.length + 1, score: r.score, similarity: r.similarity, merged: 0 }));
    }
    return hits;
  }

  /** Stored (base) embeddings of rows of a store; undefined for a row it does not hold. */
  async rowVectors(archiveId: string, modelId: string, rows: number[]): Promise<(Float32Array | undefined)[]> {
    const h = await this.handle(archiveId, modelId);
    const out: (Float32Array | undefined)[] = [];
    for (const row of rows) out.push(h && row < h.store.count ? await h.store.vector(row) : undefined);
    return out;
  }

  /** Resolves a chip id to its store and row; the model must be the one the chip was made with. */
  async chip(chipId: string, modelId: string): Promise<{ ref: ChipRef; vector: Float32Array }> {
    const p = parseChipId(chipId);
    if (!p || p.key !== modelKey(modelId)) {
      throw new KestrelError({ code: 'not_found', message: `There is no chip ${chipId} for the model ${modelId}.`, hint: 'Chip ids come from search results of the active model.' });
    }
    const h = await this.handle(p.archiveId, modelId);
    if (!h || p.row >= h.store.count) throw new KestrelError({ code: 'not_found', message: `There is no chip ${chipId}.` });
    return { ref: { archiveId: p.archiveId, modelId, row: p.row }, vector: await h.store.vector(p.row) };
  }

  /**
   * The cached base image embeddings of caption targets (what tuning learns from), from the
   * (archive, model) store; undefined for a target that has no vectors (not indexed, or stale).
   * A chip's is its row. A whole scene's is the mean of its chips at its coarsest level,
   * L2-normalised: the planner's top level covers the scene in the fewest chips (one, once the
   * scene fits a chip), so this is the embedding closest to "the whole scene" the index holds.
   */
  async targetVectors(archiveId: string, modelId: string, targets: { sceneId: string; chipId?: string }[]): Promise<(Float32Array | undefined)[]> {
    const h = await this.handle(archiveId, modelId);
    if (!h) return targets.map(() => undefined);
    const live = liveSlots(h.meta, await this.catalog.scenes(archiveId));
    const slotOfScene = new Map<string, number>();
    for (const [slot, rec] of live) slotOfScene.set(rec.id, slot);
    const dim = h.store.dim;
    const normalise = (v: Float32Array): Float32Array => {
      let n = 0;
      for (const x of v) n += x * x;
      n = Math.sqrt(n);
      if (n > 0) for (let d = 0; d < dim; d++) v[d]! /= n;
      return v;
    };
    const wanted = new Set(targets.filter((t) => t.chipId === undefined).map((t) => slotOfScene.get(t.sceneId)).filter((s) => s !== undefined));
    const rowsOf = new Map<number, number[]>();
    for (let r = 0; r < h.slotOf.length; r++) {
      const slot = h.slotOf[r]!;
      if (!wanted.has(slot)) continue;
      const rows = rowsOf.get(slot) ?? [];
      rows.push(r);
      rowsOf.set(slot, rows);
    }
    const sceneVector = new Map<number, Float32Array>();
    for (const [slot, rows] of rowsOf) {
      const top = Math.max(...rows.map((r) => h.levelOf[r]!));
      const v = new Float32Array(dim);
      for (const r of rows) {
        if (h.levelOf[r] !== top) continue;
        const x = await h.store.vector(r);
        for (let d = 0; d < dim; d++) v[d]! += x[d]!;
      }
      sceneVector.set(slot, normalise(v));
    }
    const out: (Float32Array | undefined)[] = [];
    for (const t of targets) {
      if (t.chipId === undefined) {
        const slot = slotOfScene.get(t.sceneId);
        out.push(slot === undefined ? undefined : sceneVector.get(slot));
        continue;
      }
      const p = parseChipId(t.chipId);
      if (!p || p.archiveId !== archiveId || p.key !== modelKey(modelId) || p.row >= h.slotOf.length || !live.has(h.slotOf[p.row]!)) {
        out.push(undefined);
        continue;
      }
      out.push(normalise(Float32Array.from(await h.store.vector(p.row))));
    }
    return out;
  }

  /**
   * The model of an archive whose key a chip id carries: a store already opened (a handle's folder
   * is named by its model) spares the look in the archive's vectors folder at every thumbnail.
   */
  private async modelOfKey(archiveId: string, key: string): Promise<string | undefined> {
    const archiveDir = join(this.dataDir, 'vectors', archiveId);
    const withKey = (models: string[]): string | undefined => models.find((m) => modelKey(m) === key);
    const opened = [...this.handles.keys()].filter((dir) => dirname(dir) === archiveDir).map((dir) => basename(dir));
    return withKey(opened) ?? withKey(await readdir(archiveDir).catch(() => [] as string[]));
  }

  /** Where a chip id points: its scene (live in the catalog) and full-resolution window; undefined if nowhere. */
  async locate(chipId: string): Promise<{ scene: SceneRecord; window: { x: number; y: number; width: number; height: number } } | undefined> {
    const p = parseChipId(chipId);
    if (!p || !this.catalog.archive(p.archiveId)) return undefined;
    const modelId = await this.modelOfKey(p.archiveId, p.key);
    if (!modelId) return undefined;
    const h = await this.handle(p.archiveId, modelId);
    if (!h || p.row >= h.slotOf.length) return undefined;
    const slot = h.meta.slots[h.slotOf[p.row]!];
    const scene = slot && (await this.catalog.scenes(p.archiveId)).find((x) => x.id === slot.sceneId && x.fingerprint.hash === slot.hash && x.status === 'ok');
    if (!scene) return undefined;
    const w = h.windows.subarray(4 * p.row, 4 * p.row + 4);
    return { scene, window: { x: w[0]!, y: w[1]!, width: w[2]!, height: w[3]! } };
  }

  /**
   * A thumbnail rendered here, for scenes the tile service does not serve (pixel-space scenes: no map
   * position, so no tiles); georeferenced scenes' thumbnails come from the tile worker pool.
   */
  async renderThumbnail(file: string, window: { x: number; y: number; width: number; height: number }, size: number): Promise<{ body: Uint8Array; type: string }> {
    const scene = await this.scene(file);
    const stats = await sceneStatistics(scene);
    const rgb = await chipToRgb(scene, chipAt(scene, window, size), { mapping: bandMapping(scene.description), stats, size });
    const body = await sharp(rgb.data, { raw: { width: size, height: size, channels: 3 } }).webp({ quality: 85 }).toBuffer();
    return { body: new Uint8Array(body), type: 'image/webp' };
  }

  async close(): Promise<void> {
    this.adapted.clear();
    for (const key of [...this.handles.keys()]) this.drop(key);
    for (const k of this.scenes.keys()) {
      const s = this.scenes.get(k);
      this.scenes.dropPrefix(k);
      void s?.then((x) => x.close()).catch(() => {});
    }
  }
}

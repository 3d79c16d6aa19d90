import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { AppInfo, Handlers, Notice, SceneInfo } from '../contract/index.js';
import { KestrelError } from '../contract/index.js';
import { newArchiveId, readArchive, ScanRegistry, validateRoots, type ScanOptions } from './archives/index.js';
import { CaptionStore, Catalog } from './catalog/index.js';
import { captionTuning } from './caption-tuning.js';
import { AdapterRegistry, type TuningOptions } from './tune/index.js';
import { IndexJobs, type IndexJobsOptions, type IndexModel } from './jobs/index.js';
import { CaptionBank, chipIdOf, SearchService } from './search/index.js';
import { EventBus } from './events.js';
import { packageInfo } from './platform/paths.js';
import { listExecutionProviders } from './platform/providers.js';
import { SettingsStore, ViewStore } from './settings/index.js';
import { firstRun } from './first-run.js';
import { ModelImports, ModelLibrary, type ModelRuntime, type ModelRuntimeOptions } from './model/index.js';
import { TileService } from './raster/index.js';
import { SceneTiles } from './scene-tiles.js';
import { BasemapService, openBasemap, validAddress } from './basemap/index.js';
import type { Asset } from './host-protocol.js';

/** Chip thumbnails' side in pixels. */
const THUMB_SIZE = 160;

/** Chips ranked per call of the least-confident annotation walk (each is compared with the whole caption bank). */
const QUEUE_SCAN = 2000;

/** A chip's similarity to every caption of the bank, with their mean and standard deviation (to calibrate). */
function bankSimilarities(vector: Float32Array, bank: Float32Array, dim: number): { sims: Float64Array; mean: number; std: number } {
  const n = bank.length / dim;
  const sims = new Float64Array(n);
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += vector[d]! * bank[i * dim + d]!;
    sims[i] = dot;
    sum += dot;
    sq += dot * dot;
  }
  const mean = sum / n;
  const std = n > 1 ? Math.sqrt(Math.max(1e-12, (sq - n * mean * mean) / (n - 1))) : 1;
  return { sims, mean, std };
}

export interface EngineOptions {
  /** The data folder (catalog, settings, vectors, adapters). Created if missing. */
  dataDir: string;
  /** How the engine is reached, reported by app.info. */
  runtime: AppInfo['runtime'];
  /** How the inference worker is started; defaults to a Node child process. */
  spawnInference?: ModelRuntimeOptions['spawn'];
  /** Load the active model pack at start (default true; one-shot CLI commands that need no model say false). */
  loadModel?: boolean;
  /** On a new data folder, activate the starter model and add and index the demo archive (the app's entry points ask for it). */
  firstRun?: boolean;
  /** Resume the indexing jobs that were running when the engine last stopped (default: with loadModel). */
  resumeJobs?: boolean;
  /** Tuning of indexing jobs (tests, benchmarks). */
  indexJobOptions?: IndexJobsOptions['jobOptions'];
  /** Rows below which search is brute force rather than through the HNSW graph (tests; default the store's). */
  searchExactThreshold?: number;
  /** Tuning options for tune.start (tests: fewer threads, a smaller adapter). */
  tuningOptions?: Partial<TuningOptions>;
  /** Archive scans: least time between progress events (default 200 ms); a hook awaited before each file (tests pace a scan with it). */
  scanOptions?: { progressIntervalMs?: number; beforeFile?: ScanOptions['beforeFile'] };
}

/** The model a search or an index job uses, with its runtime. */
export interface ActiveModel extends IndexModel {
  runtime: ModelRuntime;
}

/** The engine: every contract method implemented once, plus its event bus. */
export interface Engine {
  readonly handlers: Handlers;
  readonly events: EventBus;
  readonly dataDir: string;
  /** A map tile by opaque scene id (tiles:// and /tiles/); undefined when there is no such scene or tile. */
  tile(sceneId: string, z: number, x: number, y: number): Promise<Asset | undefined>;
  /** A chip thumbnail by opaque chip id (thumbs://); undefined when there is no such chip. */
  thumb(chipId: string): Promise<Asset | undefined>;
  /** A tile of the basemap in the settings (basemap:// and /basemap/); undefined when there is none or the address is off the grid. */
  basemap(z: number, x: number, y: number): Promise<Asset | undefined>;
  /** Installed model packs and the active one's runtime (embeddings for indexing and search). */
  readonly models: ModelLibrary;
  readonly catalog: Catalog;
  /** Indexing jobs (the CLI drives them directly to index with a pack folder). */
  readonly jobs: IndexJobs;
  readonly search: SearchService;
  /** Captions in the catalog (one journal per archive). */
  readonly captions: CaptionStore;
  /** Tuned adapter versions and the active one. */
  readonly adapters: AdapterRegistry;
  /** The model for an index job or a search: the active pack (a named one must be the active one). */
  activeModel(requested?: string): Promise<ActiveModel>;
  close(): Promise<void>;
}

/** A transparent 256 × 256 PNG. */
const EMPTY_TILE: Asset = {
  type: 'image/png',
  body: Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAQAAAAEACAYAAABccqhmAAAACXBIWXMAAAPoAAAD6AG1e1JrAAABFUlEQVR42u3BMQEAAADCoPVP7WsIoAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAeAMBPAAB2ClDBAAAAABJRU5ErkJggg==',
    'base64',
  ),
};

export async function openEngine(options: EngineOptions): Promise<Engine> {
  const { dataDir, runtime } = options;
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (err) {
    throw new KestrelError({
      code: 'io_error',
      message: `Cannot create the data folder: ${(err as Error).message}`,
      file: dataDir,
      hint: 'Choose a writable folder with --data or KESTREL_DATA.',
    });
  }
  const events = new EventBus();
  const [settings, view, catalog] = await Promise.all([SettingsStore.open(dataDir), ViewStore.open(dataDir), Catalog.open(dataDir)]);
  const notices: Notice[] = [...settings.notices, ...view.notices, ...catalog.notices];
  const { name, version } = packageInfo();
  const models = new ModelLibrary({
    dataDir,
    preference: () => settings.get().executionProvider,
    onStatus: (status) => events.emit('models.statusChanged', status),
    ...(options.spawnInference ? { spawn: options.spawnInference } : {}),
  });
  const imports = new ModelImports({ dataDir, takenIds: () => models.ids(), onProgress: (status) => events.emit('models.importProgressed', status) });
  // Warm the active model up now, in the background, so the first query does not wait for it.
  const active = settings.get().activeModel;
  let warming: Promise<unknown> = Promise.resolve();
  if (active && options.loadModel !== false) {
    warming = models.activate(active).catch((err: unknown) => {
      notices.push({ level: 'warning', message: `The active model pack "${active}" could not be loaded: ${(err as Error).message}` });
    });
  }
  const tiles = new TileService();
  const basemap = new BasemapService(settings.get().basemap);
  const jobs = new IndexJobs({ dataDir, catalog, onProgress: (st) => events.emit('index.progressed', st), ...(options.indexJobOptions ? { jobOptions: options.indexJobOptions } : {}) });
  const search = new SearchService(dataDir, catalog, options.searchExactThreshold !== undefined ? { exactThreshold: options.searchExactThreshold } : {});
  const captions = new CaptionBank(dataDir);
  const captionStore = new CaptionStore(dataDir);
  const adapters = await AdapterRegistry.open(dataDir);
  const scans = new ScanRegistry({
    emit: (p) => events.emit('archives.scanProgressed', p),
    ...(options.scanOptions?.progressIntervalMs !== undefined ? { intervalMs: options.scanOptions.progressIntervalMs } : {}),
    ...(options.scanOptions?.beforeFile ? { beforeFile: options.scanOptions.beforeFile } : {}),
  });

  const sceneTiles = new SceneTiles(tiles, catalog);

  async function activeModel(requested?: string): Promise<ActiveModel> {
    const active = settings.get().activeModel;
    if (requested !== undefined && requested !== active) {
      throw new KestrelError({ code: 'invalid_input', message: `The model pack "${requested}" is not the active one${active ? ` ("${active}")` : ''}.`, hint: 'Activate it first (models.activate).' });
    }
    const runtime = await models.ready();
    const status = runtime.status().model;
    if (!active || !status) throw new KestrelError({ code: 'unavailable', message: 'No model pack is active.', hint: 'Activate a model pack first.' });
    const manifest = models.manifestOf(status.pack.dir);
    return { id: active, runtime, embedder: runtime, spec: manifest.image, dim: manifest.embeddingSize };
  }

  const knownArchive = (id: string): string => {
    if (!catalog.archive(id)) throw new KestrelError({ code: 'not_found', message: `There is no archive ${id}.`, hint: 'archives.list shows the archives.' });
    return id;
  };

  async function chipVector(chipId: string, model?: string): Promise<{ m: ActiveModel; ref: Awaited<ReturnType<SearchService['chip']>> }> {
    const m = await activeModel(model);
    return { m, ref: await search.chip(chipId, m.id) };
  }

  const tuning = captionTuning({
    dataDir,
    catalog,
    search,
    events,
    store: captionStore,
    registry: adapters,
    activeModel: () => activeModel(),
    ...(options.tuningOptions ? { tuningOptions: options.tuningOptions } : {}),
  });

  const handlers: Handlers = {
    'app.info': () => ({
      name,
      version,
      platform: process.platform,
      arch: process.arch,
      node: process.versions.node,
      runtime,
      dataDir,
      executionProviders: listExecutionProviders(),
      notices,
    }),
    'settings.get': () => settings.get(),
    'settings.set': async (patch) => {
      const before = settings.get();
      // A basemap is opened before it is saved: one that cannot serve tiles is refused, naming the file.
      const opened = patch.basemap ? await openBasemap(patch.basemap) : undefined;
      let next;
      try {
        next = await settings.set(patch);
      } catch (err) {
        opened?.close();
        throw err;
      }
      if (patch.basemap !== undefined) basemap.replace(next.basemap, opened);
      events.emit('settings.changed', next);
      // A new provider preference applies to the loaded model at once.
      if (next.executionProvider !== before.executionProvider && next.activeModel) await models.activate(next.activeModel);
      return next;
    },
    'view.get': () => view.get(),
    'view.set': (patch) => view.set(patch),
    'archives.list': () => catalog.listArchives(),
    'models.list': () => models.list(),
    'models.status': () => models.status(),
    'models.activate': async ({ id }) => {
      const status = await models.activate(id);
      events.emit('settings.changed', await settings.set({ activeModel: id }));
      return status;
    },
    'models.import': (input) => imports.start(input),
    'models.importCancel': ({ jobId }) => imports.cancel(jobId),
    'models.imports': () => imports.list(),
    'archives.add': async ({ roots, excludes, name }) => {
      const valid = await validateRoots(roots);
      // The id exists from the start (progress events carry it, archives.cancelScan takes it); the
      // archive enters the catalog only with its scenes, so a cancelled add leaves nothing.
      const archive = { id: newArchiveId(valid), name: name ?? basename(valid[0]!), roots: valid, excludes: excludes ?? [], addedAt: new Date().toISOString() };
      const scan = await scans.run(
        archive,
        (opts) => readArchive(archive, [], opts),
        async ({ scenes, summary, problems }) => {
          await catalog.setScenes(archive.id, scenes);
          await catalog.addArchive({ ...archive, sceneCount: scenes.filter((s) => s.status === 'ok').length, lastScan: summary });
          return { archiveId: archive.id, ...summary, problems };
        },
      );
      events.emit('archives.scanned', scan);
      return { archive: catalog.listArchives().find((a) => a.id === archive.id)!, scan };
    },
    'archives.scan': async ({ id }) => {
      const archive = catalog.archive(knownArchive(id))!;
      // Read first, write once: a cancelled rescan leaves the catalog as it was.
      const scan = await scans.run(
        archive,
        async (opts) => readArchive(archive, await catalog.scenes(id), opts),
        async ({ scenes, summary, problems }) => {
          await catalog.setScenes(id, scenes);
          await catalog.updateArchive(id, { lastScan: summary });
          return { archiveId: id, ...summary, problems };
        },
      );
      await sceneTiles.forgetChanged(id);
      events.emit('archives.scanned', scan);
      return scan;
    },
    'archives.cancelScan': ({ id }) => ({ cancelled: scans.cancel(id) }),
    'archives.pauseScan': ({ id }) => ({ paused: scans.pause(id) }),
    'archives.resumeScan': ({ id }) => ({ resumed: scans.resume(id) }),
    'archives.remove': async ({ id }) => {
      if (!catalog.archive(id)) return { removed: false };
      scans.cancel(id);
      await scans.settled(id);
      if (jobs.isRunning(id)) await jobs.cancel(id);
      await tuning.cancel(id);
      for (const scene of await catalog.scenes(id)) sceneTiles.forget(scene.id);
      await catalog.removeArchive(id);
      await rm(join(dataDir, 'vectors', id), { recursive: true, force: true });
      await captionStore.remove(id);
      return { removed: true };
    },
    'archives.scenes': async ({ id }) => {
      if (!catalog.archive(id)) throw new KestrelError({ code: 'not_found', message: `There is no archive ${id}.` });
      return (await catalog.scenes(id)).map(
        (s): SceneInfo => ({
          id: s.id,
          archiveId: s.archiveId,
          path: s.path,
          status: s.status,
          error: s.error,
          width: s.summary?.width ?? null,
          height: s.summary?.height ?? null,
          bands: s.summary?.bands ?? null,
          epsg: s.summary?.epsg ?? null,
          footprint: s.summary?.footprint ?? null,
        }),
      );
    },
    'index.start': async ({ archiveId, model, reindex }) => (await jobs.start(knownArchive(archiveId), await activeModel(model), { reindex: reindex === true })).status,
    'index.resume': async ({ archiveId, model }) => (await jobs.start(knownArchive(archiveId), await activeModel(model))).status,
    'index.pause': ({ archiveId, model }) => jobs.pause(archiveId, model),
    'index.cancel': ({ archiveId, model }) => jobs.cancel(archiveId, model),
    'index.status': ({ archiveId }) => jobs.list(archiveId),
    'search.query': async ({ text, model, ...filter }) => {
      const m = await activeModel(model);
      const [q] = await m.runtime.embedTexts([text]);
      if (q!.every((v) => v === 0)) {
        // A query the model has no word for (the starter model knows a fixed vocabulary).
        const manifest = models.activeManifest();
        const vocabulary = (manifest?.provenance as { vocabulary?: string[] } | undefined)?.vocabulary;
        throw new KestrelError({
          code: 'invalid_input',
          message: `None of the words in “${text}” mean anything to the model “${manifest?.name ?? m.id}”.`,
          hint: vocabulary ? `It knows these words: ${vocabulary.join(', ')}. Import a CLIP-family model for free text.` : 'Try other words.',
        });
      }
      // The active adapter, when it was tuned on this model: the query through its text side, the chips through its image side.
      const adapted = await tuning.adapterFor(m.id, m.dim);
      if (!adapted) return search.search(m.id, q!, { topK: settings.get().searchTopK, ...filter });
      return search.search(m.id, await adapted.text(q!), { topK: settings.get().searchTopK, ...filter }, undefined, adapted.image);
    },
    'search.similar': async ({ chipId, model, ...filter }) => {
      const { m, ref } = await chipVector(chipId, model);
      return search.search(m.id, ref.vector, { topK: settings.get().searchTopK, ...filter }, ref.ref);
    },
    'search.suggestCaptions': async ({ chipId, topK }) => {
      const { m, ref } = await chipVector(chipId);
      const texts = await captions.captions();
      if (texts.length === 0) return { captions: [], bankSize: 0 };
      const bank = await captions.embeddings(m.id, m.dim, (t) => m.runtime.embedTexts(t));
      const { sims, mean, std } = bankSimilarities(ref.vector, bank, m.dim);
      const order = [...sims.keys()].sort((a, b) => sims[b]! - sims[a]!).slice(0, topK ?? 5);
      return { captions: order.map((i) => ({ text: texts[i]!, similarity: sims[i]!, score: (sims[i]! - mean) / std })), bankSize: texts.length };
    },
    'captions.queue': async ({ archiveId, mode, levels, limit, after }) => {
      knownArchive(archiveId);
      const m = await activeModel();
      const texts = await captions.captions();
      if (mode === 'uncertain' && texts.length === 0) {
        throw new KestrelError({
          code: 'invalid_input',
          message: 'The least-confident walk ranks chips by how well the caption bank describes them, and the caption bank is empty.',
          hint: 'Import a caption bank first (Captions panel), or walk the uncaptioned chips.',
        });
      }
      // Chips already described are left out: any caption in the uncaptioned walk, one written by a person in the other.
      const done = new Set<string>();
      for (const c of await captionStore.list(archiveId)) {
        if ('chipId' in c.target && (mode === 'uncaptioned' || c.provenance === 'person')) done.add(c.target.chipId);
      }
      const rows = (await search.chipRows(archiveId, m.id, levels)).filter((r) => r.row > (after ?? -1) && !done.has(r.chipId));
      const want = limit ?? 50;
      if (mode === 'uncaptioned') {
        const page = rows.slice(0, want);
        const hits = await search.hitsOf(archiveId, m.id, page.map((r) => ({ row: r.row, score: 0, similarity: 0 })));
        const items = hits.map((hit) => ({ ...hit, confidence: null, suggestion: null }));
        return { model: m.id, mode, items, remaining: rows.length - page.length, scanned: page.length, next: page.length < rows.length ? page.at(-1)!.row : null, bankSize: texts.length };
      }
      // Least confident first, among the next QUEUE_SCAN chips: confidence is the calibrated score of the
      // bank caption that fits a chip best (how far it stands out from the rest of the bank).
      const bank = await captions.embeddings(m.id, m.dim, (t) => m.runtime.embedTexts(t));
      const scanned = rows.slice(0, QUEUE_SCAN);
      const vectors = await search.rowVectors(archiveId, m.id, scanned.map((r) => r.row));
      const rated: { row: number; score: number; similarity: number; best: number }[] = [];
      for (const [i, r] of scanned.entries()) {
        const v = vectors[i];
        if (!v) continue;
        const { sims, mean, std } = bankSimilarities(v, bank, m.dim);
        let best = 0;
        for (let j = 1; j < sims.length; j++) if (sims[j]! > sims[best]!) best = j;
        rated.push({ row: r.row, score: (sims[best]! - mean) / std, similarity: sims[best]!, best });
      }
      rated.sort((a, b) => a.score - b.score);
      const page = rated.slice(0, want);
      const bestOf = new Map(page.map((r) => [chipIdOf(archiveId, m.id, r.row), r.best]));
      const hits = await search.hitsOf(archiveId, m.id, page);
      const items = hits.map((hit) => ({ ...hit, confidence: hit.score, suggestion: texts[bestOf.get(hit.chipId)!]! }));
      return {
        model: m.id,
        mode,
        items,
        remaining: rows.length - scanned.length,
        scanned: scanned.length,
        next: scanned.length < rows.length ? scanned.at(-1)!.row : null,
        bankSize: texts.length,
      };
    },
    'captions.importBank': ({ file }) => captions.import(file),
    // Only the desktop app's main process has a native picker; it answers dialog.pick before the engine is asked.
    'dialog.pick': () => {
      throw new KestrelError({ code: 'unsupported', message: 'The file picker exists only in the desktop app: type the path instead.' });
    },
    'basemap.info': () => basemap.info(),
    ...tuning.handlers,
  };

  // A new data folder opens on the demo archive with the starter model (app/core/first-run.ts).
  if (settings.created && options.firstRun === true) {
    void firstRun(handlers, notices).catch((err: unknown) => notices.push({ level: 'warning', message: `First-run setup failed: ${(err as Error).message}` }));
  }

  // Jobs that were running when the engine last stopped (a crash, a quit) resume once the model is warm.
  if (options.resumeJobs ?? options.loadModel !== false) {
    for (const j of jobs.interrupted()) {
      if (j.modelId !== active) continue;
      warming
        .then(() => activeModel(j.modelId))
        .then((m) => jobs.start(j.archiveId, m))
        .catch((err: unknown) => notices.push({ level: 'warning', message: `Indexing could not resume: ${(err as Error).message}` }));
    }
  }

  return {
    handlers,
    events,
    dataDir,
    tile: async (sceneId, z, x, y) => {
      await sceneTiles.ensureId(sceneId);
      // A known scene without data under this tile answers with a transparent tile, not a 404: the
      // map asks for every tile in the scene's bounding box, and a 404 is an error to the browser.
      return (await tiles.tile(sceneId, z, x, y)) ?? (tiles.scene(sceneId) ? EMPTY_TILE : undefined);
    },
    // Chip thumbnails by chip id (from search results): rendered in the tile worker pool.
    thumb: async (chipId) => {
      const at = await search.locate(chipId);
      if (!at) return undefined;
      if (at.scene.summary?.georeferenced) {
        await sceneTiles.ensure(at.scene);
        const t = await tiles.thumbnail(at.scene.id, at.window, THUMB_SIZE);
        if (t) return t;
      }
      return search.renderThumbnail(at.scene.path, at.window, THUMB_SIZE);
    },
    // Any address on the grid of a set basemap answers with an image (a transparent one where the
    // basemap has no tile): a 404 is an error to the browser, logged for every tile of an edge.
    basemap: async (z, x, y) => {
      const tile = await basemap.tile(z, x, y);
      if (tile) return tile;
      return basemap.configured && validAddress(z, x, y) ? EMPTY_TILE : undefined;
    },
    models,
    catalog,
    jobs,
    search,
    captions: captionStore,
    adapters,
    activeModel,
    async close() {
      await tuning.cancel();
      await imports.close();
      await scans.close();
      await jobs.close();
      await sceneTiles.settled();
      basemap.close();
      await Promise.allSettled([models.close(), tiles.close(), search.close()]);
    },
  };
}

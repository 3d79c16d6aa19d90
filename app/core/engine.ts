/**
 * The engine: opens every capability, wires their contract handlers into one map (each noun's
 * handlers live with its capability, in its handlers.ts), and owns their lifetimes: what starts at
 * open (the model warm-up, resumed jobs, the first run) and the order things close in.
 */
import { mkdir } from 'node:fs/promises';
import type { AppInfo, Handlers, Notice } from '../contract/index.js';
import { KestrelError } from '../contract/index.js';
import { archiveHandlers, ScanRegistry, type ScanOptions } from './archives/index.js';
import { Catalog } from './catalog/index.js';
import { bestCaptions, CaptionBank, captionHandlers, CaptionJournal } from './captions/index.js';
import { adaptersHandlers, AdapterRegistry, tuneHandlers, type TuningOptions } from './tune/index.js';
import { indexHandlers, IndexJobs, type IndexJobsOptions } from './jobs/index.js';
import { searchHandlers, SearchService } from './search/index.js';
import { EventBus } from './events.js';
import { listExecutionProviders, packageInfo } from './platform/index.js';
import { SettingsStore, settingsHandlers, ViewStore } from './settings/index.js';
import { firstRun } from './first-run.js';
import { activeModelOf, ModelImports, ModelLibrary, modelHandlers, type ActiveModel, type ModelRuntimeOptions } from './model/index.js';
import { TileService } from './raster/index.js';
import { SceneTiles } from './scene-tiles.js';
import { basemapHandlers, BasemapService, validAddress } from './basemap/index.js';
import type { Asset } from './host-protocol.js';

export type { ActiveModel } from './model/index.js';

/** Chip thumbnails' side in pixels. */
const THUMB_SIZE = 160;

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
  /** The caption journal: captions in the catalog (one journal per archive). */
  readonly captions: CaptionJournal;
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


/** Everything the engine opens, in the order it opens it. */
interface Capabilities {
  events: EventBus;
  settings: SettingsStore;
  view: ViewStore;
  catalog: Catalog;
  notices: Notice[];
  models: ModelLibrary;
  imports: ModelImports;
  /** The active model's warm-up (settled; a failure is a notice). */
  warming: Promise<unknown>;
  tiles: TileService;
  basemap: BasemapService;
  jobs: IndexJobs;
  search: SearchService;
  bank: CaptionBank;
  journal: CaptionJournal;
  adapters: AdapterRegistry;
  scans: ScanRegistry;
  sceneTiles: SceneTiles;
}

async function openCapabilities(options: EngineOptions): Promise<Capabilities> {
  const { dataDir } = options;
  const events = new EventBus();
  const [settings, view, catalog] = await Promise.all([SettingsStore.open(dataDir), ViewStore.open(dataDir), Catalog.open(dataDir)]);
  const notices: Notice[] = [...settings.notices, ...view.notices, ...catalog.notices];
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
  const bank = new CaptionBank(dataDir);
  const journal = new CaptionJournal(dataDir);
  const adapters = await AdapterRegistry.open(dataDir);
  const scans = new ScanRegistry({
    emit: (p) => events.emit('archives.scanProgressed', p),
    ...(options.scanOptions?.progressIntervalMs !== undefined ? { intervalMs: options.scanOptions.progressIntervalMs } : {}),
    ...(options.scanOptions?.beforeFile ? { beforeFile: options.scanOptions.beforeFile } : {}),
  });
  const sceneTiles = new SceneTiles(tiles, catalog);
  return { events, settings, view, catalog, notices, models, imports, warming, tiles, basemap, jobs, search, bank, journal, adapters, scans, sceneTiles };
}

/** The engine's own methods: what it is (app.info), and what only a desktop host answers (dialog.pick). */
function appHandlers(options: EngineOptions, notices: Notice[]): Pick<Handlers, 'app.info' | 'dialog.pick'> {
  const { name, version } = packageInfo();
  return {
    'app.info': () => ({
      name,
      version,
      platform: process.platform,
      arch: process.arch,
      node: process.versions.node,
      runtime: options.runtime,
      dataDir: options.dataDir,
      executionProviders: listExecutionProviders(),
      notices,
    }),
    // Only the desktop app's main process has a native picker; it answers dialog.pick before the engine is asked.
    'dialog.pick': () => {
      throw new KestrelError({ code: 'unsupported', message: 'The file picker exists only in the desktop app: type the path instead.' });
    },
  };
}

/** Starts what runs in the background once the engine is open: the first run, and the jobs a stop interrupted. */
function startBackground(c: Capabilities, options: EngineOptions, handlers: Handlers, activeModel: (requested?: string) => Promise<ActiveModel>): void {
  const { notices, jobs } = c;
  // A new data folder opens on the demo archive with the starter model (app/core/first-run.ts).
  if (c.settings.created && options.firstRun === true) {
    void firstRun(handlers, notices).catch((err: unknown) => notices.push({ level: 'warning', message: `First-run setup failed: ${(err as Error).message}` }));
  }
  // Jobs that were running when the engine last stopped (a crash, a quit) resume once the model is warm.
  const active = c.settings.get().activeModel;
  if (options.resumeJobs ?? options.loadModel !== false) {
    for (const j of jobs.interrupted()) {
      if (j.modelId !== active) continue;
      c.warming
        .then(() => activeModel(j.modelId))
        .then((m) => jobs.start(j.archiveId, m))
        .catch((err: unknown) => notices.push({ level: 'warning', message: `Indexing could not resume: ${(err as Error).message}` }));
    }
  }
}

export async function openEngine(options: EngineOptions): Promise<Engine> {
  const { dataDir } = options;
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
  const c = await openCapabilities(options);
  const { events, settings, catalog, models, jobs, search, bank, journal, adapters, tiles, basemap, sceneTiles } = c;
  const activeModel = activeModelOf({ models, settings });
  const tuning = tuneHandlers({
    catalog,
    search,
    events,
    journal,
    registry: adapters,
    activeModel: () => activeModel(),
    ...(options.tuningOptions ? { tuningOptions: options.tuningOptions } : {}),
  });
  const handlers: Handlers = {
    ...appHandlers(options, c.notices),
    ...settingsHandlers({ settings, view: c.view, events, basemap, models }),
    ...modelHandlers({ models, imports: c.imports, events, settings }),
    ...archiveHandlers({ dataDir, catalog, scans: c.scans, events, sceneTiles, jobs, tuning, journal }),
    ...indexHandlers({ catalog, jobs, activeModel }),
    ...searchHandlers({ search, settings, activeManifest: () => models.activeManifest(), activeModel, adapterFor: (id, dim) => tuning.adapterFor(id, dim), bank, bestCaptions }),
    ...captionHandlers({ catalog, search, events, journal, bank, activeModel: () => activeModel() }),
    ...tuning.handlers,
    ...adaptersHandlers({ registry: adapters }),
    ...basemapHandlers({ basemap }),
  };
  startBackground(c, options, handlers, activeModel);

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
    captions: journal,
    adapters,
    activeModel,
    async close() {
      await tuning.cancel();
      await c.imports.close();
      await c.scans.close();
      await jobs.close();
      await sceneTiles.settled();
      basemap.close();
      await Promise.allSettled([models.close(), tiles.close(), search.close()]);
    },
  };
}

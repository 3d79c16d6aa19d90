/**
 * The contract: one typed map of methods and events. Every transport validates inputs against these
 * schemas at its boundary; app/core implements the handlers once.
 *
 * Naming: methods are `noun.verb` in the user's words; events are `noun.pastTense`.
 */
import { z } from 'zod';
import { IMPORT_ACTIVATIONS, IMPORT_ARCHITECTURES, IMPORT_LAYOUTS, IMPORT_PRECISIONS } from './choices.js';
import { EVENT_NAMES, METHOD_NAMES } from './names.js';

export const Theme = z.enum(['system', 'light', 'dark']);
export const ExecutionProviderName = z.enum(['cpu', 'webgpu', 'cuda', 'tensorrt', 'dml', 'coreml']);

/** A folder or file path typed by the user: absolute, no NUL, not absurdly long. */
const FolderPath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\0'), 'must not contain NUL')
  .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\'), 'must be an absolute path');

/**
 * A local basemap under the scenes: a folder of XYZ tiles (`<z>/<x>/<y>.png|jpg|jpeg|webp`, y from the
 * top) or an MBTiles file (raster tiles). Kestrel has none by default: it works offline.
 */
export const BasemapSetting = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('xyz'), folder: FolderPath }).strict(),
  z.object({ kind: z.literal('mbtiles'), file: FolderPath }).strict(),
]);
export type BasemapSetting = z.infer<typeof BasemapSetting>;

/** What the map needs to show the basemap. */
export const BasemapInfo = z.object({
  kind: z.enum(['xyz', 'mbtiles']),
  /** The MBTiles metadata's name, else the file or folder name. */
  name: z.string(),
  format: z.enum(['png', 'jpg', 'webp']),
  minZoom: z.number().int().min(0).max(30),
  maxZoom: z.number().int().min(0).max(30),
  /** [west, south, east, north] in degrees, when the basemap says. */
  bounds: z.tuple([z.number(), z.number(), z.number(), z.number()]).nullable(),
  /** Plain text (markup removed), when the basemap has one. */
  attribution: z.string().nullable(),
  /** Opaque; changes whenever the basemap is (re)opened. Tile URLs carry it so no cache mixes two basemaps. */
  version: z.string().regex(/^[a-z0-9]{1,32}$/),
});
export type BasemapInfo = z.infer<typeof BasemapInfo>;

export const Settings = z
  .object({
    /** UI theme; `system` follows the OS. */
    theme: Theme,
    /** Default number of hits a search returns. */
    searchTopK: z.number().int().min(1).max(1000),
    /** Preferred execution provider; `auto` picks the fastest that works on this machine. */
    executionProvider: z.union([z.literal('auto'), ExecutionProviderName]),
    /** Whether the first-run explanation was dismissed. */
    welcomeDismissed: z.boolean(),
    /** The id of the active model pack (changed through models.activate, which also loads it). */
    activeModel: z.string().nullable(),
    /** The local basemap, or null for none (checked when set: the folder or file must hold tiles). */
    basemap: BasemapSetting.nullable(),
  })
  .strict();
export type Settings = z.infer<typeof Settings>;

export const SettingsPatch = Settings.omit({ activeModel: true }).partial().strict();
export type SettingsPatch = z.infer<typeof SettingsPatch>;

export const ExecutionProviderInfo = z.object({
  name: z.string(),
  /** Shipped inside onnxruntime-node for this platform (as opposed to needing extra libraries). */
  bundled: z.boolean(),
});

export const Notice = z.object({
  level: z.enum(['info', 'warning']),
  message: z.string(),
  file: z.string().optional(),
});
export type Notice = z.infer<typeof Notice>;

export const AppInfo = z.object({
  name: z.string(),
  version: z.string(),
  platform: z.string(),
  arch: z.string(),
  node: z.string(),
  /** How this engine is being reached: desktop (Electron), server (HTTP) or in-process (tests, CLI). */
  runtime: z.enum(['desktop', 'server', 'in-process']),
  dataDir: z.string(),
  executionProviders: z.array(ExecutionProviderInfo),
  /** Things the user should know about that did not stop the engine (e.g. a settings file set aside). */
  notices: z.array(Notice),
});
export type AppInfo = z.infer<typeof AppInfo>;

export const ScanSummary = z.object({
  at: z.string(),
  added: z.number().int().nonnegative(),
  changed: z.number().int().nonnegative(),
  removed: z.number().int().nonnegative(),
  unchanged: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
});

export const ArchiveSummary = z.object({
  id: z.string(),
  name: z.string(),
  /** The first root (kept for front ends written when an archive had one folder). */
  root: z.string(),
  roots: z.array(z.string()),
  /** Glob patterns (`*`, `**`, `?`) of files and folders left out, relative to each root. */
  excludes: z.array(z.string()),
  /** Readable scenes. */
  sceneCount: z.number().int().nonnegative(),
  addedAt: z.string(),
  lastScan: ScanSummary.nullable(),
});
export type ArchiveSummary = z.infer<typeof ArchiveSummary>;

/** An opaque id (archive, scene, chip): lowercase letters, digits, _ and -; never a path. */
export const OpaqueId = z.string().regex(/^[a-z0-9_-]{1,128}$/, 'must be an id (lowercase letters, digits, _ and -)');

/** A file the user should know about: what failed on it and what to do. */
export const FileProblem = z.object({ file: z.string(), message: z.string(), hint: z.string().optional() });

export const ScanReport = ScanSummary.extend({
  archiveId: OpaqueId,
  /** One entry per file that could not be read; the scan went on past each. */
  problems: z.array(FileProblem),
});
export type ScanReport = z.infer<typeof ScanReport>;

const Glob = z.string().min(1).max(256);

/**
 * What a native picker is for; it decides the dialog (folder or file, which file types) and which
 * input fields a grant may fill (app/main/pickers.ts).
 */
export const PickPurpose = z.enum(['archive-folder', 'caption-file', 'checkpoint', 'basemap-folder', 'basemap-mbtiles']);
export type PickPurpose = z.infer<typeof PickPurpose>;

export const PickResult = z.union([
  z.object({
    /** Opaque, single use, short lived: pass it where the method takes a path; main puts the path in. */
    grant: z.string(),
    /** The chosen folder's or file's name, for the UI to show (never the full path). */
    label: z.string(),
  }),
  z.object({ cancelled: z.literal(true) }),
]);
export type PickResult = z.infer<typeof PickResult>;

/** How far an archive scan is (archives.add, archives.scan); `done`, `cancelled` and `failed` end it. */
export const ScanProgress = z.object({
  archiveId: OpaqueId,
  /** The archive's name (for an add, the name it will have). */
  name: z.string(),
  phase: z.enum(['listing', 'reading', 'done', 'cancelled', 'failed']),
  /** Held by archives.pauseScan before its next folder or file, until archives.resumeScan (or a cancel). */
  paused: z.boolean(),
  /** Raster files found so far (listing) or in all (reading). */
  filesSeen: z.number().int().nonnegative(),
  /** Files fingerprinted and described so far. */
  filesRead: z.number().int().nonnegative(),
  /** Files to read, once the listing is complete. */
  total: z.number().int().nonnegative().nullable(),
  /** The folder being listed or the file being read. */
  currentFile: z.string().nullable(),
  etaSeconds: z.number().nonnegative().nullable(),
});
export type ScanProgress = z.infer<typeof ScanProgress>;

/** GeoJSON polygon in WGS84 (lon, lat). */
export const GeoPolygon = z.object({
  type: z.literal('Polygon'),
  coordinates: z.array(z.array(z.tuple([z.number(), z.number()])).min(4)).min(1),
});
export const GeoMultiPolygon = z.object({
  type: z.literal('MultiPolygon'),
  coordinates: z.array(z.array(z.array(z.tuple([z.number(), z.number()])).min(4)).min(1)),
});

export const SceneInfo = z.object({
  id: OpaqueId,
  archiveId: OpaqueId,
  path: z.string(),
  status: z.enum(['ok', 'error']),
  error: z.object({ message: z.string(), hint: z.string().optional() }).nullable(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  bands: z.number().int().nullable(),
  epsg: z.number().int().nullable(),
  footprint: z.union([GeoPolygon, GeoMultiPolygon]).nullable(),
});
export type SceneInfo = z.infer<typeof SceneInfo>;

export const IndexState = z.enum(['idle', 'running', 'pausing', 'paused', 'cancelled', 'done', 'failed']);

/** An indexing job's progress; the same shape in index.status and the index.progressed event. */
export const IndexStatus = z.object({
  archiveId: OpaqueId,
  model: z.string(),
  state: IndexState,
  scenes: z.object({ total: z.number().int(), done: z.number().int(), failed: z.number().int() }),
  chips: z.object({ done: z.number().int(), estimatedTotal: z.number().int().nullable() }),
  chipsPerSecond: z.number(),
  etaSeconds: z.number().nullable(),
  currentFile: z.string().nullable(),
  /** Committed rows in the vector store (searchable). */
  rows: z.number().int(),
  /** Files skipped because they could not be read. */
  problems: z.array(FileProblem),
  /** Why the job stopped, when it failed (a full disk, a damaged store: the hint says what to do). */
  error: z.object({ code: z.string(), message: z.string(), file: z.string().optional(), hint: z.string().optional() }).nullable(),
});
export type IndexStatus = z.infer<typeof IndexStatus>;

const JobTarget = z.object({ archiveId: OpaqueId, model: z.string().max(64).optional() }).strict();

export const PixelWindowOut = z.object({ x: z.number().int(), y: z.number().int(), width: z.number().int(), height: z.number().int() });

export const SearchHit = z.object({
  rank: z.number().int().min(1),
  /** Opaque chip id: search.similar, search.suggestCaptions, thumbs://. */
  chipId: OpaqueId,
  sceneId: OpaqueId,
  archiveId: OpaqueId,
  path: z.string(),
  /** Chip scale: 0 = native resolution, 1 = 2× ground per pixel, 2 = 4×, … */
  level: z.number().int().nonnegative(),
  /** The chip's window in full-resolution pixels of the scene. */
  window: PixelWindowOut,
  /** Calibrated score: standard deviations above this query's mean similarity over the archive (see docs/index.md). */
  score: z.number(),
  /** Raw cosine similarity of chip and query embeddings. */
  similarity: z.number(),
  /** WGS84 outline of the chip; null for pixel-space scenes. */
  polygon: GeoPolygon.nullable(),
  /** Overlapping hits of lower score folded into this one. */
  merged: z.number().int().nonnegative(),
});
export type SearchHit = z.infer<typeof SearchHit>;

export const SearchResult = z.object({
  model: z.string(),
  /** The adapter version the query and the chips went through (search.query with an active adapter of this model); null: the base model. */
  adapter: z.string().nullable(),
  hits: z.array(SearchHit),
  /** The hits grouped by scene, best scene first; `hits` are ranks into the list above. */
  scenes: z.array(z.object({ sceneId: OpaqueId, archiveId: OpaqueId, path: z.string(), bestScore: z.number(), hits: z.array(z.number().int()) })),
  /** Per archive: the query's similarity distribution the scores are calibrated against. */
  calibration: z.array(z.object({ archiveId: OpaqueId, mean: z.number(), std: z.number(), sample: z.number().int() })),
  tookMs: z.number(),
});
export type SearchResult = z.infer<typeof SearchResult>;

const SearchFilters = {
  topK: z.number().int().min(1).max(1000).optional(),
  /** [west, south, east, north] in degrees; west > east crosses the antimeridian. A chip matches when its centre is inside. */
  bbox: z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90), z.number().min(-180).max(180), z.number().min(-90).max(90)]).optional(),
  /** A chip matches when its centre is inside the polygon. */
  polygon: GeoPolygon.optional(),
  archiveIds: z.array(OpaqueId).max(256).optional(),
  /** Only scenes under this folder (absolute path). */
  folder: FolderPath.optional(),
  levels: z.array(z.number().int().min(0).max(30)).max(31).optional(),
  /** Calibrated score cut-off (see docs/index.md): 3 keeps clear outliers only. */
  minScore: z.number().optional(),
  /** The model pack (default: the active one). */
  model: z.string().max(64).optional(),
};

/** A model pack's id: its folder name. Never a path. */
export const ModelId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be a model pack id (letters, digits, . _ -)');

export const ModelPackSummary = z.object({
  id: ModelId,
  name: z.string(),
  licence: z.string(),
  /** Where the weights came from, in the pack's words. */
  provenance: z.string(),
  architecture: z.string(),
  activation: z.string(),
  embeddingSize: z.number().int(),
  /** installed: in the data folder (imported by the user); bundled: shipped with Kestrel. */
  source: z.enum(['installed', 'bundled']),
  /** Set when the pack cannot be used, with what is wrong and what to do. */
  problem: z.object({ message: z.string(), file: z.string().optional(), hint: z.string().optional() }).optional(),
});
export type ModelPackSummary = z.infer<typeof ModelPackSummary>;

export const ProviderAttempt = z.object({
  provider: z.string(),
  outcome: z.enum(['used', 'failed', 'skipped']),
  reason: z.string().optional(),
});

export const ModelsStatus = z.object({
  active: z.string().nullable(),
  /** The execution provider preference from the settings. */
  preference: z.string(),
  /** Providers that will be tried, in order, and those skipped on this machine with the reason. */
  plan: z.object({ candidates: z.array(z.string()), skipped: z.array(ProviderAttempt) }),
  /** The inference worker, once a pack is active: state, provider in use and why, warm-up time. */
  runtime: z
    .object({
      state: z.enum(['starting', 'ready', 'restarting', 'failed', 'closed']),
      provider: z.string().nullable(),
      providers: z.array(ProviderAttempt),
      loadMs: z.number().nullable(),
      warmUpMs: z.number().nullable(),
      restarts: z.number().int(),
      lastCrash: z.object({ at: z.string(), reason: z.string() }).nullable(),
      error: z.object({ message: z.string(), file: z.string().optional(), hint: z.string().optional() }).nullable(),
    })
    .nullable(),
});
export type ModelsStatus = z.infer<typeof ModelsStatus>;

/** The checkpoint importer's phases, in the order a run goes through them (`hash` runs beside the others and is reported at the start and the end). */
export const ImportPhase = z.enum(['hash', 'check', 'image', 'text', 'verify', 'done']);

export const ImportState = z.enum(['running', 'done', 'cancelled', 'failed']);

/** A checkpoint import's progress; the same shape in models.import's answer, models.imports and the models.importProgressed event. */
export const ImportStatus = z.object({
  jobId: OpaqueId,
  /** The checkpoint file being imported (absolute path on the machine running the engine). */
  file: z.string(),
  state: ImportState,
  /** Where the importer is: hashing, checking the weights, writing image.onnx / text.onnx, loading the pack once, done. */
  phase: ImportPhase,
  /** Bytes (or steps) done and in all for the phase. */
  done: z.number().nonnegative(),
  total: z.number().nonnegative(),
  /** The whole import, 0 … 1; never goes down. */
  fraction: z.number().min(0).max(1),
  /** Seconds left, estimated from the rate so far; null until there is a rate to go by. */
  etaSeconds: z.number().nonnegative().nullable(),
  /** The new pack's id (models.list, models.activate) once done; it is not activated. */
  packId: ModelId.nullable(),
  /** What the importer chose or noticed (layout, architecture, activation, tensors ignored). */
  notes: z.array(z.string()),
  /** Why the import failed: what, on which file, what to do. */
  error: z.object({ code: z.string(), message: z.string(), file: z.string().optional(), hint: z.string().optional() }).nullable(),
});
export type ImportStatus = z.infer<typeof ImportStatus>;

const Empty = z.object({}).strict();

/** A caption's text: one line of words, trimmed; never empty. */
const CaptionText = z.string().trim().min(1).max(2000);

/** A caption in the catalog: of a whole scene (chipId null) or of one chip. `text` is null once deleted. */
export const CaptionInfo = z.object({
  id: OpaqueId,
  archiveId: OpaqueId,
  sceneId: OpaqueId,
  chipId: OpaqueId.nullable(),
  text: z.string().nullable(),
  provenance: z.enum(['imported', 'suggested', 'person']),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Changes recorded so far (captions.history lists them). */
  changes: z.number().int().min(1),
});
export type CaptionInfo = z.infer<typeof CaptionInfo>;

/** One change in a caption's history: who (a person, an import, a suggestion), when, the text before and after. */
export const CaptionChangeInfo = z.object({
  seq: z.number().int(),
  op: z.enum(['add', 'edit', 'delete', 'undo']),
  who: z.enum(['person', 'imported', 'suggested']),
  at: z.string(),
  before: z.string().nullable(),
  after: z.string().nullable(),
});

const CaptionId = z.object({ id: OpaqueId }).strict();

export const TuneState = z.enum(['running', 'done', 'cancelled', 'failed']);

/** A tuning run's progress; the same shape in tune.start's answer and the tune.progressed event. */
export const TuneStatus = z.object({
  archiveId: OpaqueId,
  state: TuneState,
  model: z.string(),
  /** Captioned images (scenes and chips) and captions trained on. */
  images: z.number().int(),
  captions: z.number().int(),
  epoch: z.number().int(),
  epochs: z.number().int(),
  /** Mean training loss of the last epoch (null before the first). */
  loss: z.number().nullable(),
  /** Validation mean recall of the last epoch and the best so far (fractions, 0 … 1). */
  valMR: z.number().nullable(),
  bestMR: z.number().nullable(),
  /** The adapter version registered when the run finished. */
  adapterId: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }).nullable(),
});
export type TuneStatus = z.infer<typeof TuneStatus>;

const Recalls = z.object({ r1: z.number(), r5: z.number(), r10: z.number() });
/** Retrieval recalls (fractions, 0 … 1) as HarMA reports them: image → text and text → image. */
export const RetrievalRecalls = z.object({ imageToText: Recalls, textToImage: Recalls, mR: z.number() });

export const AdapterSummary = z.object({
  id: OpaqueId,
  createdAt: z.string(),
  archiveId: OpaqueId,
  /** The model pack whose embeddings it was tuned on; it applies to that model only. */
  baseModel: z.object({ name: z.string(), sha256: z.string().optional() }),
  dataHash: z.string(),
  images: z.number().int(),
  captions: z.number().int(),
  metrics: z.object({
    baselineMR: z.number(),
    validationMR: z.number(),
    /** Recall at 1, 5 and 10 in both directions on the held-out captions, before (base model) and after the adapter; mR is their mean. */
    baseline: RetrievalRecalls,
    validation: RetrievalRecalls,
    bestEpoch: z.number().int(),
    epochsRun: z.number().int(),
    stopReason: z.string(),
  }),
  active: z.boolean(),
});
export type AdapterSummary = z.infer<typeof AdapterSummary>;

/** A chip in an annotation walk: where it is, and (least-confident walk) the bank caption that fits it best. */
export const AnnotationItem = SearchHit.extend({
  /** Calibrated score of the best-fitting bank caption: low means no caption stands out (the model is unsure); null in the uncaptioned walk. */
  confidence: z.number().nullable(),
  /** The bank caption that fits the chip best (least-confident walk), offered to accept. */
  suggestion: z.string().nullable(),
});
export type AnnotationItem = z.infer<typeof AnnotationItem>;

export const AnnotationQueue = z.object({
  model: z.string(),
  mode: z.enum(['uncaptioned', 'uncertain']),
  /** The next chips to caption, in walking order (rank = position in this page). */
  items: z.array(AnnotationItem),
  /** Chips of the walk left after the ones looked at for this page. */
  remaining: z.number().int().nonnegative(),
  /** Chips looked at for this page (the least-confident walk ranks at most 2,000 per page). */
  scanned: z.number().int().nonnegative(),
  /** Pass as `after` for the next page; null at the end. */
  next: z.number().int().nullable(),
  bankSize: z.number().int(),
});
export type AnnotationQueue = z.infer<typeof AnnotationQueue>;


/** A search area as the window draws it: a box, or a polygon whose ring is closed (first point repeated last). */
export const SearchArea = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('box'), box: SearchFilters.bbox.unwrap() }).strict(),
  z
    .object({
      kind: z.literal('polygon'),
      ring: z
        .array(z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)]))
        .min(4)
        .max(10_000)
        .refine((r) => r[0]![0] === r.at(-1)![0] && r[0]![1] === r.at(-1)![1], 'must be closed: its last point repeats the first'),
    })
    .strict(),
]);
export type SearchArea = z.infer<typeof SearchArea>;

/**
 * What the window was showing, kept in the data folder (view.json) so that a reload or a restart puts
 * the analyst back where they were: recent queries, the last text search and its filters.
 */
export const ViewState = z
  .object({
    /** Recent text queries, newest first. */
    searchHistory: z.array(z.string().min(1).max(2000)).max(20),
    /** The last text search, run again when the window opens; null for none. */
    lastQuery: z.string().min(1).max(2000).nullable(),
    /** The filter bar: area, one archive (null for all), chip scale, and the number of hits (null: the setting's default). */
    filters: z
      .object({
        area: SearchArea.nullable(),
        archiveId: OpaqueId.nullable(),
        scale: z.enum(['any', '0', '1', '2', '3+']),
        topK: z.number().int().min(1).max(1000).nullable(),
      })
      .strict(),
  })
  .strict();
export type ViewState = z.infer<typeof ViewState>;
export const ViewStatePatch = ViewState.partial().strict();
export type ViewStatePatch = z.infer<typeof ViewStatePatch>;

export const methods = {
  'app.info': { input: Empty, output: AppInfo },
  'settings.get': { input: Empty, output: Settings },
  'settings.set': { input: SettingsPatch, output: Settings },
  /** What the window was showing (view.json): history, last query, filters. */
  'view.get': { input: Empty, output: ViewState },
  'view.set': { input: ViewStatePatch, output: ViewState },
  'archives.list': { input: Empty, output: z.array(ArchiveSummary) },
  'models.list': { input: Empty, output: z.array(ModelPackSummary) },
  'models.status': { input: Empty, output: ModelsStatus },
  /** Makes a pack the active one and loads it (warm-up included); null unloads. */
  'models.activate': { input: z.object({ id: ModelId.nullable() }).strict(), output: ModelsStatus },
  /**
   * Imports a checkpoint (open_clip, Hugging Face CLIPModel, HarMA; .pt/.pth/.bin/.safetensors) into a
   * new model pack in the background; models.importProgressed reports it. The pack's id comes from
   * `name` or the file name (a suffix when taken: nothing is overwritten); it is not activated.
   */
  'models.import': {
    input: z
      .object({
        file: FolderPath,
        name: z.string().trim().min(1).max(200).optional(),
        /** fp32 (default): exact; fp16: half the size, same speed on CPU; int8: a quarter of the size, ≈ 2× faster on CPU, embeddings within ≈ 0.999 cosine. */
        precision: z.enum(IMPORT_PRECISIONS).optional(),
        licence: z.string().trim().min(1).max(2000).optional(),
        /** A built-in architecture (open_clip's config of that name); inferred from the weights when absent. */
        arch: z.enum(IMPORT_ARCHITECTURES).optional(),
        /** How the tensors are named; recognised from the names when absent. */
        layout: z.enum(IMPORT_LAYOUTS).optional(),
        /** The towers' activation; from the architecture or a recognised file name when absent, else quick_gelu (said in the notes). */
        activation: z.enum(IMPORT_ACTIVATIONS).optional(),
        /** Tensors the layout does not know are left out (and listed in the notes) instead of failing the import. */
        ignoreUnknown: z.boolean().optional(),
        /** Objects of unknown classes beside the weights (training state, configs) are skipped, never run, instead of failing the import. */
        skipForeignObjects: z.boolean().optional(),
      })
      .strict(),
    output: ImportStatus,
  },
  /** Stops a running import; nothing of it is left behind. A finished import is answered as it is. */
  'models.importCancel': { input: z.object({ jobId: OpaqueId }).strict(), output: ImportStatus },
  /** Running and recent imports, newest first (a reloaded page finds a running one here). */
  'models.imports': { input: Empty, output: z.array(ImportStatus) },
  /**
   * Adds an archive (one or more folders, searched recursively, minus the exclude globs) and scans it.
   * The archive's id is known from the first archives.scanProgressed event; it is in the catalog
   * only once the scan finished (a cancelled add leaves nothing).
   */
  'archives.add': {
    // From the desktop app's renderer each root is a grant of dialog.pick (purpose archive-folder), never a path.
    input: z.object({ roots: z.array(FolderPath).min(1).max(64), excludes: z.array(Glob).max(256).optional(), name: z.string().min(1).max(200).optional() }).strict(),
    output: z.object({ archive: ArchiveSummary, scan: ScanReport }),
  },
  /** Finds added, changed and removed files; the next index.start re-indexes only those. */
  'archives.scan': { input: z.object({ id: OpaqueId }).strict(), output: ScanReport },
  /** Holds a running scan (an add or a rescan) before its next folder or file; false when none was running, it was paused already, or it was writing. */
  'archives.pauseScan': { input: z.object({ id: OpaqueId }).strict(), output: z.object({ paused: z.boolean() }) },
  /** Lets a paused scan go on; false when none was paused. */
  'archives.resumeScan': { input: z.object({ id: OpaqueId }).strict(), output: z.object({ resumed: z.boolean() }) },
  /** Stops a running scan (an add or a rescan) before it writes anything; false when none was running or it was already writing. */
  'archives.cancelScan': { input: z.object({ id: OpaqueId }).strict(), output: z.object({ cancelled: z.boolean() }) },
  /** Forgets an archive, its scenes and its vectors (never the image files). */
  'archives.remove': { input: z.object({ id: OpaqueId }).strict(), output: z.object({ removed: z.boolean() }) },
  'archives.scenes': { input: z.object({ id: OpaqueId }).strict(), output: z.array(SceneInfo) },
  /** Starts (or resumes) indexing an archive with a model; `reindex` discards its vectors first (a damaged store). */
  'index.start': { input: JobTarget.extend({ reindex: z.boolean().optional() }).strict(), output: IndexStatus },
  'index.pause': { input: JobTarget, output: IndexStatus },
  'index.resume': { input: JobTarget, output: IndexStatus },
  'index.cancel': { input: JobTarget, output: IndexStatus },
  'index.status': { input: z.object({ archiveId: OpaqueId.optional() }).strict(), output: z.array(IndexStatus) },
  /** Text → ranked chips. */
  'search.query': { input: z.object({ text: z.string().min(1).max(2000), ...SearchFilters }).strict(), output: SearchResult },
  /** Chip → similar chips (the chip itself excluded). */
  'search.similar': { input: z.object({ chipId: OpaqueId, ...SearchFilters }).strict(), output: SearchResult },
  /** Chip → captions from the caption bank, best first (image → text retrieval). */
  'search.suggestCaptions': {
    input: z.object({ chipId: OpaqueId, topK: z.number().int().min(1).max(100).optional() }).strict(),
    output: z.object({ captions: z.array(z.object({ text: z.string(), similarity: z.number(), score: z.number() })), bankSize: z.number().int() }),
  },
  /**
   * Imports captions into the caption bank from a file (JSON/JSONL in the HarMA, RSICD, Karpathy or COCO layouts, or one caption per line).
   * From the desktop app's renderer `file` is a grant of dialog.pick (purpose caption-file), never a path.
   */
  'captions.importBank': {
    input: z.object({ file: FolderPath }).strict(),
    output: z.object({ added: z.number().int(), bankSize: z.number().int() }),
  },
  /** Captions in the catalog: of one scene or chip, of one archive, or of all archives (deleted ones left out). */
  'captions.list': {
    input: z.object({ archiveId: OpaqueId.optional(), sceneId: OpaqueId.optional(), chipId: OpaqueId.optional() }).strict(),
    output: z.array(CaptionInfo),
  },
  /** Adds a caption to a scene or a chip (written by a person, or a suggestion the person accepted). */
  'captions.add': {
    input: z
      .object({
        target: z.union([z.object({ sceneId: OpaqueId, archiveId: OpaqueId.optional() }).strict(), z.object({ chipId: OpaqueId }).strict()]),
        text: CaptionText,
        provenance: z.enum(['person', 'suggested']).optional(),
      })
      .strict(),
    output: CaptionInfo,
  },
  'captions.edit': { input: z.object({ id: OpaqueId, text: CaptionText }).strict(), output: CaptionInfo },
  'captions.delete': { input: CaptionId, output: CaptionInfo },
  /** Reverts the caption's last change still in effect; the undo is itself a change in the history. */
  'captions.undo': { input: CaptionId, output: CaptionInfo },
  'captions.history': { input: CaptionId, output: z.object({ caption: CaptionInfo, changes: z.array(CaptionChangeInfo) }) },
  /**
   * Chips to caption next, for the annotation mode: those with no caption yet (in archive order), or
   * those the model is least sure how to describe (no caption written by a person; least confident first).
   */
  'captions.queue': {
    input: z
      .object({
        archiveId: OpaqueId,
        mode: z.enum(['uncaptioned', 'uncertain']),
        levels: z.array(z.number().int().min(0).max(30)).max(31).optional(),
        limit: z.number().int().min(1).max(200).optional(),
        after: z.number().int().min(0).optional(),
      })
      .strict(),
    output: AnnotationQueue,
  },
  /** Tunes an adapter on the archive's captions (active model), in the background; tune.progressed reports each epoch. */
  'tune.start': {
    input: z.object({ archiveId: OpaqueId, epochs: z.number().int().min(1).max(200).optional() }).strict(),
    output: TuneStatus,
  },
  'tune.cancel': { input: z.object({ archiveId: OpaqueId }).strict(), output: z.object({ cancelled: z.boolean() }) },
  /** Adapter versions, newest first. */
  'adapters.list': { input: Empty, output: z.array(AdapterSummary) },
  /** Makes an adapter version the active one (an older one: a roll back); null: none, the base model alone. */
  'adapters.activate': { input: z.object({ id: OpaqueId.nullable() }).strict(), output: z.object({ active: OpaqueId.nullable() }) },
  /**
   * A native file or folder picker: only the desktop app has one (its main process answers; the
   * engine answers `unsupported`). The grant stands in for the path in the methods that take one.
   */
  'dialog.pick': { input: z.object({ purpose: PickPurpose }).strict(), output: PickResult },
  /** The basemap in the settings, opened; null when there is none. Fails (naming the file) when it can no longer be read. */
  'basemap.info': { input: Empty, output: BasemapInfo.nullable() },
} as const;

export const EngineRestarted = z.object({
  /** What happened, in the user's words. */
  reason: z.string(),
  /** Restarts so far in this session. */
  restarts: z.number().int().nonnegative(),
  /** True when the engine kept crashing and Kestrel stopped restarting it. */
  gaveUp: z.boolean(),
});
export type EngineRestarted = z.infer<typeof EngineRestarted>;

export const events = {
  'settings.changed': Settings,
  /** The desktop app's engine process died and was restarted; in-flight calls failed. */
  'engine.restarted': EngineRestarted,
  /** The active model or its runtime changed state (loading, ready, crashed, restarted, failed). */
  'models.statusChanged': ModelsStatus,
  /** A checkpoint import moved on (a phase, progress, at most five times a second; done, cancelled, failed). */
  'models.importProgressed': ImportStatus,
  /** An indexing job moved on (progress, paused, cancelled, finished, failed). */
  'index.progressed': IndexStatus,
  /** An archive was scanned (added, changed, removed files). */
  'archives.scanned': ScanReport,
  /** A scan moved on (at most five a second), or ended (done, cancelled, failed). */
  'archives.scanProgressed': ScanProgress,
  /** A caption was added, edited, deleted or undone (imports send one event per archive with the count). */
  'captions.changed': z.object({ archiveId: OpaqueId, op: z.enum(['add', 'edit', 'delete', 'undo', 'import']), caption: CaptionInfo.nullable(), count: z.number().int() }),
  /** A tuning run moved on (an epoch, finished, cancelled, failed). */
  'tune.progressed': TuneStatus,
} as const;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export type MethodInput<M extends MethodName> = z.input<Methods[M]['input']>;
export type MethodOutput<M extends MethodName> = z.output<Methods[M]['output']>;

export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<E extends EventName> = z.output<Events[E]>;

export const methodNames: readonly MethodName[] = METHOD_NAMES;
export const eventNames: readonly EventName[] = EVENT_NAMES;

// Compile-time proof that names.ts lists exactly the schema map's keys (both directions).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const namesAgree: [Same<(typeof METHOD_NAMES)[number], MethodName>, Same<(typeof EVENT_NAMES)[number], EventName>] = [
  true,
  true,
];
void namesAgree;

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(methods, name);
}
export function isEventName(name: string): name is EventName {
  return Object.hasOwn(events, name);
}

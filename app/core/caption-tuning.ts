/**
 * Captions in the catalog and adapter tuning, wired to the contract: the captions.* methods (list,
 * add, edit, delete, undo, history), caption file import and export (the CLI's `captions` command),
 * tune.start / tune.cancel (the tuning worker on the archive's cached embeddings), and the adapter
 * registry (adapters.list / adapters.activate). See docs/tuning.md, "Wired".
 */
import { readFile, writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { KestrelError, type CaptionInfo, type Handlers, type TuneStatus } from '../contract/index.js';
import { matchCaptions, parseCaptions, writeCaptions, type CaptionFormat, type CaptionMatchReport, type CaptionSet } from './captions/index.js';
import { CaptionStore, type Catalog, type CaptionState, type CaptionTarget, type SceneRecord } from './catalog/index.js';
import type { EventBus } from './events.js';
import type { ImageAdapter, SearchService } from './search/index.js';
import { adapterRecord, applyAdapter, DEFAULT_TUNING, newAdapterId, runTuningInWorker, serializeAdapter, tsMatMul, type AdapterRegistry, type RetrievalMetrics, type TuningData, type TuningOptions } from './tune/index.js';
import type { ModelRuntime } from './model/index.js';

/** Fewest captioned images a tune starts with (one in ten is held out for validation). */
export const MIN_TUNING_IMAGES = 10;

export interface CaptionTuningDeps {
  dataDir: string;
  catalog: Catalog;
  search: SearchService;
  events: EventBus;
  store: CaptionStore;
  registry: AdapterRegistry;
  activeModel(): Promise<{ id: string; runtime: ModelRuntime; dim: number }>;
  /** Tuning options the engine was opened with (tests: the back end, fewer threads). */
  tuningOptions?: Partial<TuningOptions>;
}

export function captionInfo(s: CaptionState): CaptionInfo {
  return {
    id: s.id,
    archiveId: s.archiveId,
    sceneId: s.target.sceneId,
    chipId: 'chipId' in s.target ? s.target.chipId : null,
    text: s.text,
    provenance: s.provenance,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    changes: s.history.length,
  };
}

function knownArchive(catalog: Catalog, id: string): string {
  if (!catalog.archive(id)) throw new KestrelError({ code: 'not_found', message: `There is no archive ${id}.`, hint: 'archives.list shows the archives.' });
  return id;
}

async function sceneArchive(catalog: Catalog, sceneId: string, archiveId?: string): Promise<{ archiveId: string; scene: SceneRecord }> {
  const ids = archiveId !== undefined ? [knownArchive(catalog, archiveId)] : catalog.archives().map((a) => a.id);
  for (const id of ids) {
    const scene = (await catalog.scenes(id)).find((s) => s.id === sceneId);
    if (scene) return { archiveId: id, scene };
  }
  throw new KestrelError({ code: 'not_found', message: `There is no scene ${sceneId}.`, hint: 'archives.scenes lists an archive’s scenes.' });
}

/** The archive a caption id names, which must still exist. */
function captionArchive(catalog: Catalog, id: string): string {
  const archiveId = CaptionStore.archiveOf(id);
  if (!archiveId || !catalog.archive(archiveId)) throw new KestrelError({ code: 'not_found', message: `There is no caption ${id}.` });
  return archiveId;
}

/** An archive by id, or by one of its folders. */
export function resolveArchive(catalog: Catalog, ref: string): string | undefined {
  return catalog.archive(ref)?.id ?? catalog.archives().find((a) => a.roots.some((r) => r === ref || r.replace(/[\\/]+$/, '') === ref.replace(/[\\/]+$/, '')))?.id;
}

export interface CaptionImportReport {
  archiveId: string;
  file: string;
  format: CaptionFormat;
  counts: CaptionMatchReport['counts'];
  /** Captions stored (provenance imported), and those left out because the scene already had them (a re-import). */
  added: number;
  duplicates: number;
  unmatchedImages: CaptionMatchReport['unmatchedImages'];
  ambiguousImages: CaptionMatchReport['ambiguousImages'];
  unmatchedArchiveFiles: string[];
}

/** Reads a caption file, matches it to the archive's scenes by file name, and stores the matched captions. */
export async function importCaptionFile(deps: Pick<CaptionTuningDeps, 'catalog' | 'store' | 'events'>, archiveId: string, file: string): Promise<CaptionImportReport> {
  knownArchive(deps.catalog, archiveId);
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new KestrelError({ code: err.code === 'ENOENT' ? 'not_found' : 'io_error', message: `Cannot read the caption file: ${err.message}`, file });
  });
  const set = parseCaptions(text, file);
  const scenes = await deps.catalog.scenes(archiveId);
  const byPath = new Map(scenes.map((s) => [s.path, s]));
  const report = matchCaptions(set, scenes.map((s) => s.path));
  // What the scene already holds, as counts: a re-import adds nothing, while a caption repeated in
  // the file (the RSICD releases repeat captions, and the metrics count them) is kept as often as it is there.
  const existing = new Map<string, number>();
  for (const c of await deps.store.list(archiveId)) {
    if ('chipId' in c.target) continue;
    const key = `${c.target.sceneId}\0${c.text}`;
    existing.set(key, (existing.get(key) ?? 0) + 1);
  }
  const items: { target: CaptionTarget; text: string; provenance: 'imported'; who: 'imported' }[] = [];
  let duplicates = 0;
  for (const m of report.matched) {
    const scene = byPath.get(m.archiveFile)!;
    for (const c of set.images[m.image]!.captions) {
      const key = `${scene.id}\0${c.text}`;
      const left = existing.get(key) ?? 0;
      if (left > 0) {
        existing.set(key, left - 1);
        duplicates++;
        continue;
      }
      items.push({ target: { sceneId: scene.id }, text: c.text, provenance: 'imported', who: 'imported' });
    }
  }
  await deps.store.add(archiveId, items);
  if (items.length > 0) deps.events.emit('captions.changed', { archiveId, op: 'import', caption: null, count: items.length });
  return {
    archiveId,
    file,
    format: set.format,
    counts: report.counts,
    added: items.length,
    duplicates,
    unmatchedImages: report.unmatchedImages,
    ambiguousImages: report.ambiguousImages,
    unmatchedArchiveFiles: report.unmatchedArchiveFiles,
  };
}

/**
 * Writes an archive's scene captions as a caption file: one image per captioned scene, named by its
 * path relative to the archive folder that holds it. Chip captions have no file of their own in
 * these formats and are counted, not written.
 */
export async function exportCaptionFile(deps: Pick<CaptionTuningDeps, 'catalog' | 'store'>, archiveId: string, format: CaptionFormat, out: string): Promise<{ archiveId: string; out: string; format: CaptionFormat; images: number; captions: number; chipCaptionsLeftOut: number }> {
  const archive = deps.catalog.archive(knownArchive(deps.catalog, archiveId))!;
  const scenes = new Map((await deps.catalog.scenes(archiveId)).map((s) => [s.id, s]));
  const bySceneId = new Map<string, CaptionState[]>();
  let chip = 0;
  for (const c of await deps.store.list(archiveId)) {
    if ('chipId' in c.target) {
      chip++;
      continue;
    }
    const list = bySceneId.get(c.target.sceneId) ?? [];
    list.push(c);
    bySceneId.set(c.target.sceneId, list);
  }
  const set: CaptionSet = { format, images: [] };
  let captions = 0;
  for (const [sceneId, list] of bySceneId) {
    const scene = scenes.get(sceneId);
    if (!scene) continue;
    const root = archive.roots.filter((r) => scene.path.startsWith(r)).sort((a, b) => b.length - a.length)[0];
    const file = root ? relative(root, scene.path).split(/[\\/]/).join('/') : scene.path;
    set.images.push({ file, captions: list.map((c) => ({ text: c.text!, provenance: c.provenance })) });
    captions += list.length;
  }
  set.images.sort((a, b) => a.file.localeCompare(b.file));
  await writeFile(out, writeCaptions(set, format));
  return { archiveId, out, format, images: set.images.length, captions, chipCaptionsLeftOut: chip };
}

type CaptionTuneHandlers = Pick<
  Handlers,
  'captions.list' | 'captions.add' | 'captions.edit' | 'captions.delete' | 'captions.undo' | 'captions.history' | 'tune.start' | 'tune.cancel' | 'adapters.list' | 'adapters.activate'
>;

export interface CaptionTuning {
  handlers: CaptionTuneHandlers;
  /** The active adapter when it was tuned on this model: its text side for queries, its image side for the index. */
  adapterFor(modelId: string, dim: number): Promise<{ text(q: Float32Array): Promise<Float32Array>; image: ImageAdapter } | undefined>;
  /** Cancels running tunes and waits for them (engine close, archive removal). */
  cancel(archiveId?: string): Promise<void>;
}

const recalls = (m: RetrievalMetrics): { imageToText: RetrievalMetrics['imageToText']; textToImage: RetrievalMetrics['textToImage']; mR: number } => ({
  imageToText: { r1: m.imageToText.r1, r5: m.imageToText.r5, r10: m.imageToText.r10 },
  textToImage: { r1: m.textToImage.r1, r5: m.textToImage.r5, r10: m.textToImage.r10 },
  mR: m.mR,
});

export function captionTuning(deps: CaptionTuningDeps): CaptionTuning {
  const { catalog, store, events, registry, search } = deps;
  const runs = new Map<string, { status: TuneStatus; controller: AbortController; done: Promise<void> }>();
  const changed = (archiveId: string, op: 'add' | 'edit' | 'delete' | 'undo', s: CaptionState): CaptionInfo => {
    const info = captionInfo(s);
    events.emit('captions.changed', { archiveId, op, caption: info, count: 1 });
    return info;
  };

  async function tuningData(archiveId: string, m: { id: string; runtime: ModelRuntime; dim: number }): Promise<{ data: TuningData; images: number; captions: number }> {
    const caps = await store.list(archiveId);
    const keyOf = (t: CaptionTarget): string => ('chipId' in t ? `chip:${t.chipId}` : `scene:${t.sceneId}`);
    const targets = new Map<string, { target: CaptionTarget; texts: string[] }>();
    for (const c of caps) {
      const k = keyOf(c.target);
      const e = targets.get(k) ?? { target: c.target, texts: [] };
      e.texts.push(c.text!);
      targets.set(k, e);
    }
    const list = [...targets.values()];
    const vectors = await search.targetVectors(archiveId, m.id, list.map((e) => e.target));
    const kept = list.flatMap((e, i) => (vectors[i] ? [{ ...e, vector: vectors[i] }] : []));
    if (kept.length < MIN_TUNING_IMAGES) {
      throw new KestrelError({
        code: 'invalid_input',
        message: `Tuning needs at least ${MIN_TUNING_IMAGES} captioned, indexed images; archive ${archiveId} has ${kept.length} with the model ${m.id}${list.length > kept.length ? ` (${list.length - kept.length} captioned but not indexed)` : ''}.`,
        hint: 'Caption more scenes or chips, and index the archive with the active model (index.start).',
      });
    }
    const dim = m.dim;
    const images = new Float32Array(kept.length * dim);
    const textList: string[] = [];
    const textImage: number[] = [];
    kept.forEach((e, i) => {
      images.set(e.vector, i * dim);
      for (const t of e.texts) {
        textList.push(t);
        textImage.push(i);
      }
    });
    const texts = new Float32Array(textList.length * dim);
    for (let start = 0; start < textList.length; start += 64) {
      const batch = await m.runtime.embedTexts(textList.slice(start, start + 64));
      batch.forEach((v, k) => {
        let n = 0;
        for (const x of v) n += x * x;
        n = Math.sqrt(n) || 1;
        for (let d = 0; d < dim; d++) texts[(start + k) * dim + d] = v[d]! / n;
      });
    }
    return { data: { dim, images, texts, textImage: Int32Array.from(textImage) }, images: kept.length, captions: textList.length };
  }

  const handlers: CaptionTuneHandlers = {
    'captions.list': async ({ archiveId, sceneId, chipId }) => {
      if (chipId !== undefined) {
        const a = chipId.split('-')[0]!;
        if (!catalog.archive(a) || (archiveId !== undefined && archiveId !== a)) return [];
        return (await store.list(a, { chipId })).map(captionInfo);
      }
      if (sceneId !== undefined) {
        const at = await sceneArchive(catalog, sceneId, archiveId);
        return (await store.list(at.archiveId, { sceneId })).map(captionInfo);
      }
      const ids = archiveId !== undefined ? [knownArchive(catalog, archiveId)] : catalog.archives().map((a) => a.id);
      const out: CaptionInfo[] = [];
      for (const id of ids) out.push(...(await store.list(id)).map(captionInfo));
      return out;
    },
    'captions.add': async ({ target, text, provenance }) => {
      let archiveId: string;
      let t: CaptionTarget;
      if ('chipId' in target) {
        const at = await search.locate(target.chipId);
        if (!at) throw new KestrelError({ code: 'not_found', message: `There is no chip ${target.chipId}.`, hint: 'Chip ids come from search results.' });
        archiveId = at.scene.archiveId;
        t = { chipId: target.chipId, sceneId: at.scene.id };
      } else {
        const at = await sceneArchive(catalog, target.sceneId, target.archiveId);
        archiveId = at.archiveId;
        t = { sceneId: target.sceneId };
      }
      const [s] = await store.add(archiveId, [{ target: t, text, provenance: provenance ?? 'person', who: 'person' }]);
      return changed(archiveId, 'add', s!);
    },
    'captions.edit': async ({ id, text }) => {
      const a = captionArchive(catalog, id);
      return changed(a, 'edit', await store.edit(a, id, text));
    },
    'captions.delete': async ({ id }) => {
      const a = captionArchive(catalog, id);
      return changed(a, 'delete', await store.delete(a, id));
    },
    'captions.undo': async ({ id }) => {
      const a = captionArchive(catalog, id);
      return changed(a, 'undo', await store.undo(a, id));
    },
    'captions.history': async ({ id }) => {
      const a = captionArchive(catalog, id);
      const s = await store.get(a, id);
      if (!s) throw new KestrelError({ code: 'not_found', message: `There is no caption ${id}.` });
      return { caption: captionInfo(s), changes: s.history.map(({ seq, op, who, at, before, after }) => ({ seq, op, who, at, before, after })) };
    },
    'tune.start': async ({ archiveId, epochs }) => {
      knownArchive(catalog, archiveId);
      const running = runs.get(archiveId);
      if (running?.status.state === 'running') return running.status;
      const m = await deps.activeModel();
      const { data, images, captions } = await tuningData(archiveId, m);
      const options: TuningOptions = { ...DEFAULT_TUNING, ...deps.tuningOptions, ...(epochs !== undefined ? { epochs } : {}) };
      const status: TuneStatus = { archiveId, state: 'running', model: m.id, images, captions, epoch: 0, epochs: options.epochs, loss: null, valMR: null, bestMR: null, adapterId: null, error: null };
      const controller = new AbortController();
      const emit = (): void => events.emit('tune.progressed', { ...status });
      const done = runTuningInWorker(data, options, {
        signal: controller.signal,
        onProgress: (p) => {
          Object.assign(status, { epoch: p.epoch, epochs: p.epochs, loss: p.loss, valMR: p.val.mR, bestMR: p.bestMR });
          emit();
        },
      })
        .then(async (result) => {
          if (result.stopReason === 'cancelled') {
            status.state = 'cancelled';
            return;
          }
          const id = newAdapterId();
          // The record keeps the tuning choices; the thread count is this machine's, not one of them.
          const { threads: _threads, ...used } = options;
          const record = adapterRecord({ id, baseModel: { name: m.id }, data, options: used, result });
          await registry.save({ ...record, archiveId, images, captions }, serializeAdapter(result.config, result.params));
          Object.assign(status, { state: 'done', adapterId: id, bestMR: result.best.mR });
        })
        .catch((err: unknown) => {
          const e = KestrelError.from(err);
          status.state = 'failed';
          status.error = { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
        })
        .finally(emit);
      runs.set(archiveId, { status, controller, done });
      return { ...status };
    },
    'tune.cancel': async ({ archiveId }) => {
      const run = runs.get(archiveId);
      if (!run || run.status.state !== 'running') return { cancelled: false };
      run.controller.abort();
      await run.done;
      return { cancelled: true };
    },
    'adapters.list': () =>
      registry.list().map((r) => ({
        id: r.id,
        createdAt: r.createdAt,
        archiveId: r.archiveId,
        baseModel: r.baseModel,
        dataHash: r.dataHash,
        images: r.images,
        captions: r.captions,
        metrics: {
          baselineMR: r.metrics.baseline.mR,
          validationMR: r.metrics.validation.mR,
          baseline: recalls(r.metrics.baseline),
          validation: recalls(r.metrics.validation),
          bestEpoch: r.metrics.bestEpoch,
          epochsRun: r.metrics.epochsRun,
          stopReason: r.metrics.stopReason,
        },
        active: registry.active === r.id,
      })),
    'adapters.activate': async ({ id }) => ({ active: await registry.activate(id) }),
  };

  return {
    handlers,
    async adapterFor(modelId, dim) {
      const id = registry.active;
      const rec = id ? registry.record(id) : undefined;
      if (!rec || rec.baseModel.name !== modelId || rec.config.dim !== dim) return undefined;
      const { config, params } = await registry.weights(rec.id);
      const through = async (tower: 'text' | 'image', x: Float32Array, rows: number): Promise<Float32Array> => Float32Array.from(await applyAdapter({ params, config, mm: tsMatMul }, tower, x, rows));
      return { text: (q) => through('text', q, 1), image: { id: rec.id, apply: (x, rows) => through('image', x, rows) } };
    },
    async cancel(archiveId) {
      for (const [a, run] of runs) {
        if (archiveId !== undefined && a !== archiveId) continue;
        if (run.status.state === 'running') run.controller.abort();
        await run.done;
      }
    },
  };
}

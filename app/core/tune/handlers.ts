/**
 * The tune.* methods of the contract: a tune runs in the tuning worker on the archive's cached
 * embeddings and captions, and saves an adapter version in the registry. The runs kept here also
 * give search its active adapter (adapterFor). See docs/tuning.md, "Wired".
 */
import { KestrelError, type Handlers, type TuneStatus } from '../../contract/index.js';
import { knownArchive, type Catalog } from '../catalog/index.js';
import type { CaptionJournal, CaptionTarget } from '../captions/index.js';
import type { EventBus } from '../events.js';
import type { ModelRuntime } from '../model/index.js';
import type { ImageAdapter, SearchService } from '../search/index.js';
import { applyAdapter } from './adapter.js';
import { tsMatMul } from './matmul.js';
import type { AdapterRegistry } from './registry.js';
import { newAdapterId } from './registry.js';
import { adapterRecord, serializeAdapter } from './serialize.js';
import { DEFAULT_TUNING, type TuningData, type TuningOptions } from './train.js';
import { runTuningInWorker } from './worker.js';

/** Fewest captioned images a tune starts with (one in ten is held out for validation). */
export const MIN_TUNING_IMAGES = 10;

type ActiveModel = { id: string; runtime: ModelRuntime; dim: number };

export interface TuneHandlerDeps {
  catalog: Catalog;
  search: Pick<SearchService, 'targetVectors'>;
  events: EventBus;
  journal: CaptionJournal;
  registry: AdapterRegistry;
  activeModel(): Promise<ActiveModel>;
  /** Tuning options the engine was opened with (tests: the back end, fewer threads). */
  tuningOptions?: Partial<TuningOptions>;
}

export interface Tuning {
  handlers: Pick<Handlers, 'tune.start' | 'tune.cancel'>;
  /** The active adapter when it was tuned on this model: its text side for queries, its image side for the index. */
  adapterFor(modelId: string, dim: number): Promise<{ text(q: Float32Array): Promise<Float32Array>; image: ImageAdapter } | undefined>;
  /** Cancels running tunes and waits for them (engine close, archive removal). */
  cancel(archiveId?: string): Promise<void>;
}

/** An archive's captions with their targets' cached image embeddings, and the texts embedded: what a tune learns from. */
async function tuningData(deps: Pick<TuneHandlerDeps, 'journal' | 'search'>, archiveId: string, m: ActiveModel): Promise<{ data: TuningData; images: number; captions: number }> {
  const { journal: store, search } = deps;
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

type Run = { status: TuneStatus; controller: AbortController; done: Promise<void> };

/** Starts one tuning run in a worker; `status` follows it, each change emitted as tune.progressed. */
async function startRun(deps: TuneHandlerDeps, archiveId: string, epochs: number | undefined): Promise<Run> {
  const m = await deps.activeModel();
  const { data, images, captions } = await tuningData(deps, archiveId, m);
  const options: TuningOptions = { ...DEFAULT_TUNING, ...deps.tuningOptions, ...(epochs !== undefined ? { epochs } : {}) };
  const status: TuneStatus = { archiveId, state: 'running', model: m.id, images, captions, epoch: 0, epochs: options.epochs, loss: null, valMR: null, bestMR: null, adapterId: null, error: null };
  const controller = new AbortController();
  const emit = (): void => deps.events.emit('tune.progressed', { ...status });
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
      await deps.registry.save({ ...record, archiveId, images, captions }, serializeAdapter(result.config, result.params));
      Object.assign(status, { state: 'done', adapterId: id, bestMR: result.best.mR });
    })
    .catch((err: unknown) => {
      const e = KestrelError.from(err);
      status.state = 'failed';
      status.error = { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
    })
    .finally(emit);
  return { status, controller, done };
}

export function tuneHandlers(deps: TuneHandlerDeps): Tuning {
  const { catalog, registry } = deps;
  const runs = new Map<string, Run>();
  const handlers: Tuning['handlers'] = {
    'tune.start': async ({ archiveId, epochs }) => {
      knownArchive(catalog, archiveId);
      const running = runs.get(archiveId);
      if (running?.status.state === 'running') return running.status;
      const run = await startRun(deps, archiveId, epochs);
      runs.set(archiveId, run);
      return { ...run.status };
    },
    'tune.cancel': async ({ archiveId }) => {
      const run = runs.get(archiveId);
      if (!run || run.status.state !== 'running') return { cancelled: false };
      run.controller.abort();
      await run.done;
      return { cancelled: true };
    },
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

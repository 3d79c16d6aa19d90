/**
 * The indexing job of one (archive, model): scenes → chips → image tower → vector store.
 *
 * Pipeline: a worker thread cuts and preprocesses chips (chip-producer.ts) into a bounded queue of
 * batches; this side takes a batch, has the inference process embed it, appends the vectors and
 * commits every `commitEveryMs`. Reading and preprocessing the next batches overlap inference.
 *
 * Crash safety: the store's commit record carries, atomically with the rows, the job's cursor (per
 * scene slot: fingerprint, state, next chip of the plan). On restart the uncommitted tail is cut
 * off by the store and the job continues every partial scene from its committed cursor, so no chip
 * is stored twice and none is missing.
 */
import { dirname } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { KestrelError, type IndexStatus } from '../../contract/index.js';
import type { Catalog, SceneRecord } from '../catalog/index.js';
import type { PreprocessSpec } from '../model/index.js';
import { startWorker } from '../platform/index.js';
import { EXACT_THRESHOLD, StoreLock, VectorStore, type ChipRow } from '../vectors/index.js';
import type { FromProducer, ProducerScene, ToProducer } from './chip-producer.js';

/** One scene's place in the store: rows of the store carry the slot number. */
export interface Slot {
  sceneId: string;
  /** The fingerprint hash the rows were made from; a changed file gets a new slot. */
  hash: string;
  state: 'partial' | 'complete' | 'removed' | 'failed';
  /** Next chip of the scene's plan to process. */
  next: number;
  /** Chips in the plan (known once the scene was opened). */
  planned: number | null;
  rows: number;
  error?: string;
}

/** What the store's commit record carries for the job (`VectorStore.meta`). */
export interface IndexMeta {
  format: 'kestrel-index';
  version: 1;
  model: string;
  chipSize: number;
  slots: Slot[];
}

export interface Embedder {
  embedPixels(pixels: Float32Array, count: number): Promise<Float32Array[]>;
}

export interface IndexJobOptions {
  catalog: Catalog;
  archiveId: string;
  modelId: string;
  storeDir: string;
  embedder: Embedder;
  spec: PreprocessSpec;
  dim: number;
  /** Chip side in pixels (default 224). */
  chipSize?: number;
  /** Chips per inference batch (default 32). */
  batch?: number;
  /** Batches prepared ahead of inference (default 3). */
  queueDepth?: number;
  /** Commit at most this often (default 2000 ms; 0 commits every batch). */
  commitEveryMs?: number;
  /** Discard the store's vectors first (a damaged store, a fresh start). */
  reindex?: boolean;
  /** Build the approximate index at the end when the store has at least this many rows (default the store's exact threshold). */
  hnswFrom?: number;
  onProgress?: (status: IndexStatus) => void;
}

export function emptyMeta(model: string, chipSize: number): IndexMeta {
  return { format: 'kestrel-index', version: 1, model, chipSize, slots: [] };
}

export function isIndexMeta(m: unknown): m is IndexMeta {
  return typeof m === 'object' && m !== null && (m as IndexMeta).format === 'kestrel-index' && Array.isArray((m as IndexMeta).slots);
}

/** Slots whose rows are live for these catalog scenes: same scene, same fingerprint, not removed or failed. */
export function liveSlots(meta: IndexMeta, scenes: SceneRecord[]): Map<number, SceneRecord> {
  const byId = new Map(scenes.map((s) => [s.id, s]));
  const out = new Map<number, SceneRecord>();
  meta.slots.forEach((slot, i) => {
    const scene = byId.get(slot.sceneId);
    if ((slot.state === 'complete' || slot.state === 'partial') && scene && scene.status === 'ok' && scene.fingerprint.hash === slot.hash) out.set(i, scene);
  });
  return out;
}

type Control = 'run' | 'pause' | 'cancel';

/** The status of a job that has not run (yet, or in this process). */
export function idleStatus(archiveId: string, model: string): IndexStatus {
  return {
    archiveId,
    model,
    state: 'idle',
    scenes: { total: 0, done: 0, failed: 0 },
    chips: { done: 0, estimatedTotal: null },
    chipsPerSecond: 0,
    etaSeconds: null,
    currentFile: null,
    rows: 0,
    problems: [],
    error: null,
  };
}

type Todo = ProducerScene & { scene: SceneRecord };

/** One run over the scenes to do: the counters behind progress and the commit clock. */
interface Run {
  store: VectorStore;
  meta: IndexMeta;
  todo: Todo[];
  bySlot: Map<number, Todo>;
  totalPx: number;
  t0: number;
  chipsThisRun: number;
  pxDone: number;
  lastCommit: number;
  commitEvery: number;
  current: SceneRecord | undefined;
}

const pixelsOf = (s: SceneRecord): number => (s.summary ? s.summary.width * s.summary.height : 1);

/**
 * Reconciles the store with the catalog: removed or changed files lose their rows (tombstoned),
 * new and changed ones get a slot, partial ones resume at their cursor.
 */
function reconcile(meta: IndexMeta, scenes: SceneRecord[]): { todo: Todo[]; ok: SceneRecord[]; changed: boolean } {
  const live = liveSlots(meta, scenes);
  const liveIds = new Set([...live.values()].map((s) => s.id));
  let changed = false;
  meta.slots.forEach((slot, i) => {
    if ((slot.state === 'complete' || slot.state === 'partial') && !live.has(i)) {
      slot.state = 'removed';
      changed = true;
    }
  });
  const todo: Todo[] = [];
  const ok = scenes.filter((s) => s.status === 'ok');
  const slotOfScene = new Map([...live.entries()].map(([i, s]) => [s.id, i]));
  for (const scene of ok) {
    if (liveIds.has(scene.id)) {
      const i = slotOfScene.get(scene.id)!;
      const slot = meta.slots[i]!;
      if (slot.state === 'partial') todo.push({ slot: i, file: scene.path, from: slot.next, scene });
      continue;
    }
    meta.slots.push({ sceneId: scene.id, hash: scene.fingerprint.hash, state: 'partial', next: 0, planned: null, rows: 0 });
    todo.push({ slot: meta.slots.length - 1, file: scene.path, from: 0, scene });
    changed = true;
  }
  return { todo, ok, changed };
}

/** The chip worker with its messages queued: `next` waits for the next one, or throws the worker's error. */
function startChipFeed(start: ToProducer, depth: number): { worker: Worker; next(): Promise<FromProducer> } {
  const queue: FromProducer[] = [];
  let wake: (() => void) | undefined;
  let workerError: Error | undefined;
  const worker = startWorker('chips');
  worker.on('message', (m: FromProducer) => {
    queue.push(m);
    wake?.();
  });
  worker.on('error', (err) => {
    workerError = err;
    wake?.();
  });
  worker.postMessage(start);
  worker.postMessage({ type: 'credit', n: depth } satisfies ToProducer);
  return {
    worker,
    async next() {
      while (queue.length === 0 && !workerError) await new Promise<void>((r) => (wake = r));
      if (workerError) throw new KestrelError({ code: 'internal', message: `The chip worker failed: ${workerError.message}` });
      return queue.shift()!;
    },
  };
}

export class IndexJob {
  private control: Control = 'run';
  private worker: Worker | undefined;
  private readonly state: IndexStatus;
  private lastEmit = 0;

  constructor(private readonly o: IndexJobOptions) {
    this.state = idleStatus(o.archiveId, o.modelId);
  }

  status(): IndexStatus {
    return structuredClone(this.state);
  }

  /** Stops after the batch in flight, commits, and leaves the job resumable. */
  pause(): void {
    if (this.control === 'run') this.control = 'pause';
    if (this.state.state === 'running') this.set({ state: 'pausing' });
  }

  cancel(): void {
    this.control = 'cancel';
    if (this.state.state === 'running') this.set({ state: 'pausing' });
  }

  private set(patch: Partial<IndexStatus>, force = true): void {
    Object.assign(this.state, patch);
    const now = Date.now();
    if (force || now - this.lastEmit > 250) {
      this.lastEmit = now;
      this.o.onProgress?.(this.status());
    }
  }

  private lock: StoreLock | undefined;
  private store: VectorStore | undefined;
  private meta: IndexMeta | undefined;

  /**
   * Takes the archive's store lock and opens the store, so that what stops a job from starting (another
   * job on the archive, a damaged store, another model's vectors) is an error for the caller, not a
   * failed job later.
   */
  async open(): Promise<void> {
    const o = this.o;
    const archive = o.catalog.archive(o.archiveId);
    if (!archive) throw new KestrelError({ code: 'not_found', message: `There is no archive ${o.archiveId}.` });
    // One lock per archive (not per store): two jobs never index one archive at once, whatever their models.
    const lock = await StoreLock.acquire(dirname(o.storeDir), `indexing "${archive.name}" with ${o.modelId}`);
    try {
      if (o.reindex) await VectorStore.destroy(o.storeDir);
      const store = await VectorStore.open(o.storeDir, o.dim).catch((err: unknown) => {
        const e = KestrelError.from(err);
        if (e.code !== 'corrupt_file') throw e;
        throw new KestrelError({ ...e.toJSON(), hint: `Re-index the archive: index.start with reindex: true (kestrel index <folder> --reindex). ${e.hint ?? ''}`.trim() });
      });
      const chipSize = o.chipSize ?? 224;
      let meta: IndexMeta;
      if (store.meta === null && store.count === 0) meta = emptyMeta(o.modelId, chipSize);
      else if (isIndexMeta(store.meta)) meta = structuredClone(store.meta);
      else {
        await store.close();
        throw new KestrelError({ code: 'corrupt_file', message: 'The vector store has rows but no index record.', file: o.storeDir, hint: 'Re-index the archive (index.start with reindex: true).' });
      }
      if (meta.chipSize !== chipSize || meta.model !== o.modelId) {
        await store.close();
        throw new KestrelError({ code: 'invalid_input', message: `This archive's vectors were made with ${meta.model} at ${meta.chipSize} px chips.`, file: o.storeDir, hint: 'Re-index the archive (reindex: true) to change them.' });
      }
      this.store = store;
      this.meta = meta;
      this.lock = lock;
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /** Runs (after open()) until done, paused, cancelled or failed; never rejects (the outcome is in the status). */
  async run(): Promise<IndexStatus> {
    const o = this.o;
    const store = this.store;
    this.set({ state: 'running' });
    try {
      if (!store || !this.meta) throw new KestrelError({ code: 'internal', message: 'The index job was run before it was opened.' });
      await this.index(store, this.meta, await o.catalog.scenes(o.archiveId));
      // Checkpoint of the approximate index (at the end, and when paused or cancelled): below the
      // store's exact threshold search is brute force and needs none.
      if (store.count - store.indexedRows > 0 && store.count >= (o.hnswFrom ?? EXACT_THRESHOLD)) await store.updateIndex();
      if (this.control === 'run') {
        this.set({ state: 'done', currentFile: null, etaSeconds: 0, rows: store.count });
      } else this.set({ state: this.control === 'pause' ? 'paused' : 'cancelled', currentFile: null, etaSeconds: null, rows: store.count });
    } catch (err) {
      const e = KestrelError.from(err);
      this.set({ state: 'failed', currentFile: null, etaSeconds: null, error: e.toJSON(), ...(store ? { rows: store.count } : {}) });
    } finally {
      await this.worker?.terminate();
      this.worker = undefined;
      await store?.close();
      await this.lock?.release();
    }
    return this.status();
  }

  private async index(store: VectorStore, meta: IndexMeta, scenes: SceneRecord[]): Promise<void> {
    const o = this.o;
    const { todo, ok, changed } = reconcile(meta, scenes);
    if (changed) await store.commit(meta);

    const skipped = scenes.filter((s) => s.status === 'error');
    this.set({
      scenes: { total: ok.length + skipped.length, done: ok.length - todo.length, failed: skipped.length },
      problems: skipped.map((s) => ({ file: s.path, message: s.error?.message ?? 'unreadable', ...(s.error?.hint ? { hint: s.error.hint } : {}) })),
      rows: store.count,
    });
    if (todo.length === 0 || this.control !== 'run') return;

    const start: ToProducer = { type: 'start', scenes: todo.map(({ slot, file, from }) => ({ slot, file, from })), chipSize: meta.chipSize, spec: o.spec, batch: o.batch ?? 32 };
    const feed = startChipFeed(start, o.queueDepth ?? 3);
    this.worker = feed.worker;
    const now = Date.now();
    const run: Run = {
      store,
      meta,
      todo,
      bySlot: new Map(todo.map((t) => [t.slot, t])),
      totalPx: todo.reduce((a, t) => a + pixelsOf(t.scene), 0),
      t0: now,
      chipsThisRun: 0,
      pxDone: 0,
      lastCommit: now,
      commitEvery: o.commitEveryMs ?? 2000,
      current: undefined,
    };
    for (;;) {
      if (this.control !== 'run') break;
      const m = await feed.next();
      if (m.type === 'end') break;
      await this.take(run, m, feed.worker);
    }
    await this.commit(run);
    this.progress(run, true, undefined);
  }

  /** One message of the chip worker: a scene opened, a batch of chips, a scene done or unreadable. */
  private async take(run: Run, m: Exclude<FromProducer, { type: 'end' }>, worker: Worker): Promise<void> {
    const o = this.o;
    const t = run.bySlot.get(m.slot);
    const slot = run.meta.slots[m.slot]!;
    if (m.type === 'scene') {
      run.current = t?.scene;
      slot.planned = m.planned;
    } else if (m.type === 'chips') {
      worker.postMessage({ type: 'credit', n: 1 } satisfies ToProducer);
      const vectors = await this.embed(m.pixels, m.chips.length);
      const flat = new Float32Array(m.chips.length * o.dim);
      vectors.forEach((v, i) => flat.set(v, i * o.dim));
      const rows: ChipRow[] = m.chips.map((c) => ({ scene: m.slot, level: c.level, x: c.x, y: c.y, width: c.width, height: c.height }));
      run.store.append(flat, rows);
      slot.next = m.next;
      slot.rows += rows.length;
      run.chipsThisRun += rows.length;
      if (Date.now() - run.lastCommit >= run.commitEvery) await this.commit(run);
      this.progress(run, false, run.current);
    } else if (m.type === 'sceneDone') {
      slot.state = 'complete';
      slot.next = slot.planned ?? slot.next;
      if (t) run.pxDone += pixelsOf(t.scene);
      run.current = undefined;
      this.state.scenes.done++;
      if (Date.now() - run.lastCommit >= run.commitEvery) await this.commit(run);
      this.progress(run, true, undefined);
    } else {
      // Unreadable mid-archive: reported, skipped, never fatal. Rows it already had stay out of search.
      slot.state = 'failed';
      slot.error = m.error.message;
      if (t) {
        run.pxDone += pixelsOf(t.scene);
        await o.catalog.markSceneError(o.archiveId, t.scene.id, { message: m.error.message, ...(m.error.hint ? { hint: m.error.hint } : {}) });
        this.state.problems.push({ file: t.scene.path, message: m.error.message, ...(m.error.hint ? { hint: m.error.hint } : {}) });
      }
      run.current = undefined;
      this.state.scenes.failed++;
      await this.commit(run);
      this.progress(run, true, undefined);
    }
  }

  private async commit(run: Run): Promise<void> {
    await run.store.commit(run.meta);
    run.lastCommit = Date.now();
  }

  /** Chips, rate and time left, from the pixels done (the scene in progress counted by its plan). */
  private progress(run: Run, force: boolean, current: SceneRecord | undefined): void {
    const { store, meta } = run;
    const secs = (Date.now() - run.t0) / 1000;
    const rate = secs > 0 ? run.chipsThisRun / secs : 0;
    let partialPx = 0;
    if (current) {
      const slot = meta.slots[run.todo.find((t) => t.scene === current)!.slot]!;
      if (slot.planned) partialPx = (pixelsOf(current) * slot.next) / slot.planned;
    }
    const fracDone = run.totalPx > 0 ? (run.pxDone + partialPx) / run.totalPx : 0;
    const estimatedRemaining = fracDone > 0.02 ? (run.chipsThisRun / fracDone) * (1 - fracDone) : null;
    this.set(
      {
        chips: { done: store.count + store.pending, estimatedTotal: estimatedRemaining === null ? null : Math.round(store.count + store.pending + estimatedRemaining) },
        chipsPerSecond: rate,
        etaSeconds: estimatedRemaining !== null && rate > 0 ? estimatedRemaining / rate : null,
        currentFile: current?.path ?? null,
        rows: store.count,
      },
      force,
    );
  }

  /** One batch through the image tower; one retry if the inference worker crashed and restarted. */
  private async embed(pixels: Float32Array, count: number): Promise<Float32Array[]> {
    try {
      return await this.o.embedder.embedPixels(pixels, count);
    } catch (err) {
      if (KestrelError.from(err).code !== 'unavailable') throw err;
      return this.o.embedder.embedPixels(pixels, count);
    }
  }
}

/**
 * Long work with progress, pause, cancel and resume: the indexing jobs of the engine. One job per
 * archive at a time (and one writer per store across processes, through the store lock). Job state
 * is persisted in the catalog; an engine that starts after a crash resumes the jobs that were running.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { KestrelError, type IndexStatus } from '../../contract/index.js';
import type { Catalog, JobRecord } from '../catalog/index.js';
import type { PreprocessSpec } from '../model/index.js';
import { IndexJob, idleStatus, type Embedder, type IndexJobOptions } from './index-job.js';

export { serveChips, type ChipItem, type FromProducer, type ProducerScene, type ToProducer } from './chip-producer.js';
export { IndexJob, emptyMeta, isIndexMeta, liveSlots, type IndexMeta, type Slot, type Embedder, type IndexJobOptions } from './index-job.js';

/** The model an index job embeds with: its id (the store's key), the embedder and the pack's preprocessing. */
export interface IndexModel {
  id: string;
  embedder: Embedder;
  spec: PreprocessSpec;
  dim: number;
}

/** Where the vectors of (archive, model) live. */
export function storeDirOf(dataDir: string, archiveId: string, modelId: string): string {
  return join(dataDir, 'vectors', archiveId, modelId);
}

/** A short lowercase key for a model id (chip ids are lowercase). */
export function modelKey(modelId: string): string {
  return createHash('sha256').update(modelId).digest('hex').slice(0, 8);
}

export interface IndexJobsOptions {
  dataDir: string;
  catalog: Catalog;
  onProgress: (status: IndexStatus) => void;
  /** Per-job tuning (tests and benchmarks). */
  jobOptions?: Partial<Pick<IndexJobOptions, 'chipSize' | 'batch' | 'queueDepth' | 'commitEveryMs' | 'hnswFrom'>>;
}

interface Running {
  job: IndexJob;
  done: Promise<IndexStatus>;
}

export class IndexJobs {
  private readonly running = new Map<string, Running>();
  private readonly last = new Map<string, IndexStatus>();
  private closing = false;

  constructor(private readonly o: IndexJobsOptions) {}

  private key(archiveId: string, modelId: string): string {
    return `${archiveId}\0${modelId}`;
  }

  /** Starts (or resumes) a job; resolves once it runs, with its first status. `done` resolves when it stops. */
  async start(archiveId: string, model: IndexModel, options: { reindex?: boolean } = {}): Promise<{ status: IndexStatus; done: Promise<IndexStatus> }> {
    const archive = this.o.catalog.archive(archiveId);
    if (!archive) throw new KestrelError({ code: 'not_found', message: `There is no archive ${archiveId}.`, hint: 'archives.list shows the archives.' });
    for (const [k, r] of this.running) {
      if (k.startsWith(`${archiveId}\0`)) {
        throw new KestrelError({
          code: 'unavailable',
          message: `"${archive.name}" is already being indexed (${r.job.status().model}).`,
          hint: 'Wait for that job, or pause or cancel it first; two jobs cannot index one archive at once.',
        });
      }
    }
    const storeDir = storeDirOf(this.o.dataDir, archiveId, model.id);
    const key = this.key(archiveId, model.id);
    const job = new IndexJob({
      catalog: this.o.catalog,
      archiveId,
      modelId: model.id,
      storeDir,
      embedder: model.embedder,
      spec: model.spec,
      dim: model.dim,
      reindex: options.reindex === true,
      ...this.o.jobOptions,
      onProgress: (s) => {
        this.last.set(key, s);
        this.o.onProgress(s);
      },
    });
    await job.open();
    const now = new Date().toISOString();
    const record = this.o.catalog.job(archiveId, model.id);
    await this.o.catalog.saveJob({ archiveId, modelId: model.id, state: 'running', startedAt: record?.state === 'running' || record?.state === 'paused' ? record.startedAt : now, updatedAt: now, error: null });
    const done = job.run().then(async (s) => {
      this.running.delete(key);
      this.last.set(key, s);
      let state: JobRecord['state'] = s.state === 'done' || s.state === 'paused' || s.state === 'cancelled' || s.state === 'failed' ? s.state : 'failed';
      // Paused because the engine is closing: the next engine resumes it.
      if (this.closing && state === 'paused') state = 'running';
      if (this.o.catalog.archive(archiveId)) {
        await this.o.catalog.saveJob({ archiveId, modelId: model.id, state, startedAt: this.o.catalog.job(archiveId, model.id)?.startedAt ?? now, updatedAt: new Date().toISOString(), error: s.error });
      }
      return s;
    });
    this.running.set(key, { job, done });
    return { status: job.status(), done };
  }

  private find(archiveId: string, modelId: string | undefined): Running | undefined {
    for (const [k, r] of this.running) if (k.startsWith(`${archiveId}\0`) && (modelId === undefined || k === this.key(archiveId, modelId))) return r;
    return undefined;
  }

  async pause(archiveId: string, modelId?: string): Promise<IndexStatus> {
    const r = this.find(archiveId, modelId);
    if (!r) return this.statusOf(archiveId, modelId);
    r.job.pause();
    return r.done;
  }

  async cancel(archiveId: string, modelId?: string): Promise<IndexStatus> {
    const r = this.find(archiveId, modelId);
    if (r) {
      r.job.cancel();
      return r.done;
    }
    const s = this.statusOf(archiveId, modelId);
    if (s.state === 'paused' || s.state === 'running') {
      const record = this.o.catalog.job(archiveId, s.model);
      if (record) await this.o.catalog.saveJob({ ...record, state: 'cancelled', updatedAt: new Date().toISOString() });
      return { ...s, state: 'cancelled' };
    }
    return s;
  }

  /** Waits for a running job of the archive to stop. */
  async wait(archiveId: string): Promise<IndexStatus | undefined> {
    return this.find(archiveId, undefined)?.done;
  }

  isRunning(archiveId: string): boolean {
    return this.find(archiveId, undefined) !== undefined;
  }

  statusOf(archiveId: string, modelId: string | undefined): IndexStatus {
    const r = this.find(archiveId, modelId);
    if (r) return r.job.status();
    const record = this.o.catalog.jobs().find((j) => j.archiveId === archiveId && (modelId === undefined || j.modelId === modelId));
    const model = modelId ?? record?.modelId ?? '';
    const last = this.last.get(this.key(archiveId, model));
    if (last) return last;
    return {
      ...idleStatus(archiveId, model),
      state: record?.state ?? 'idle',
      error: record?.error ? { code: 'io_error', ...record.error } : null,
    };
  }

  list(archiveId?: string): IndexStatus[] {
    const keys = new Set<string>();
    for (const j of this.o.catalog.jobs()) keys.add(this.key(j.archiveId, j.modelId));
    for (const k of this.running.keys()) keys.add(k);
    return [...keys]
      .map((k) => k.split('\0') as [string, string])
      .filter(([a]) => archiveId === undefined || a === archiveId)
      .map(([a, m]) => this.statusOf(a, m));
  }

  /** Jobs that were running when the engine last stopped (a crash or a quit). */
  interrupted(): { archiveId: string; modelId: string }[] {
    return this.o.catalog.jobs().filter((j) => j.state === 'running').map((j) => ({ archiveId: j.archiveId, modelId: j.modelId }));
  }

  /** Pauses every running job (the engine is closing) and waits for them to commit. */
  async close(): Promise<void> {
    this.closing = true;
    const all = [...this.running.values()];
    for (const r of all) r.job.pause();
    await Promise.allSettled(all.map((r) => r.done));
  }
}
export { indexHandlers, type IndexHandlerDeps } from './handlers.js';

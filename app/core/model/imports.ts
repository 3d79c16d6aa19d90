/**
 * Checkpoint imports started from a front end (models.import): each runs importModel in a worker
 * thread and writes a new pack into `<data>/models/<id>/`, where the id comes from the name the user
 * gave or the file's name, with a suffix when taken (an import never replaces a pack). Progress is
 * reported at most five times a second; cancelling stops the worker and leaves nothing behind; a
 * finished pack is listed by models.list and not activated.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { KestrelError, ModelId, type ImportStatus } from '../../contract/index.js';
import { runImportInWorker, type ImportProgress, type Layout, type Precision } from './import/index.js';

export interface ModelImportsOptions {
  dataDir: string;
  /** Ids taken by packs already installed or shipped (an imported pack must not hide one). */
  takenIds: () => Iterable<string>;
  onProgress: (status: ImportStatus) => void;
  /** Shortest time between two progress events of one import (ms, default 200: five a second). */
  minIntervalMs?: number;
}

export interface ImportRequest {
  file: string;
  name?: string | undefined;
  precision?: Precision | undefined;
  licence?: string | undefined;
  arch?: string | undefined;
  layout?: Layout | undefined;
  activation?: 'quick_gelu' | 'gelu' | undefined;
  ignoreUnknown?: boolean | undefined;
  skipForeignObjects?: boolean | undefined;
}

interface Job {
  status: ImportStatus;
  packId: string;
  controller: AbortController;
  finished: Promise<void>;
  lastSent: number;
  timer: NodeJS.Timeout | undefined;
  started: number;
  /** Bytes of the image tower (known when its phase starts), for the overall fraction. */
  imageTotal: number;
  fileBytes: number;
}

/** Finished imports kept for models.imports. */
const RECENT = 10;

/** Share of the whole import: checking before 5 %, the two towers to 90 %, loading the pack once after. */
const CHECKED = 0.05;
const WRITTEN = 0.9;

/** A pack id from a name or a file name: letters, digits, . _ - (ModelId), at most 56 characters so a suffix fits. */
export function packIdFor(nameOrFile: string): string {
  const stem = nameOrFile.replace(/\.(pt|pth|bin|safetensors|ckpt)$/i, '');
  const id = stem
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/-+$/, '')
    .slice(0, 56);
  return id || 'model';
}

export class ModelImports {
  private readonly jobs = new Map<string, Job>();
  private next = 1;

  constructor(private readonly options: ModelImportsOptions) {}

  private get modelsDir(): string {
    return join(this.options.dataDir, 'models');
  }

  /** Running and recent imports, newest first. */
  list(): ImportStatus[] {
    return [...this.jobs.values()].reverse().map((j) => ({ ...j.status, notes: [...j.status.notes] }));
  }

  private uniqueId(base: string): string {
    const taken = new Set<string>(this.options.takenIds());
    for (const j of this.jobs.values()) if (j.status.state === 'running') taken.add(j.packId);
    const dirEntries = existsSync(this.modelsDir) ? readdirSync(this.modelsDir) : [];
    for (const e of dirEntries) taken.add(e);
    const free = (id: string): boolean => !taken.has(id) && !dirEntries.some((e) => e.startsWith(`.${id}.importing-`));
    if (free(base)) return base;
    for (let n = 2; ; n++) if (free(`${base}-${n}`)) return `${base}-${n}`;
  }

  start(req: ImportRequest): ImportStatus {
    let stat;
    try {
      stat = statSync(req.file);
    } catch {
      throw new KestrelError({ code: 'not_found', message: `There is no file ${req.file}.`, file: req.file, hint: 'Give the full path of a checkpoint file on the machine running Kestrel.' });
    }
    if (!stat.isFile()) throw new KestrelError({ code: 'invalid_input', message: `${req.file} is not a file.`, file: req.file, hint: 'Give the checkpoint file itself (.pt, .pth, .bin, .safetensors), not a folder.' });
    const packId = this.uniqueId(packIdFor(req.name ?? basename(req.file)));
    if (!ModelId.safeParse(packId).success) throw new KestrelError({ code: 'invalid_input', message: `Cannot make a pack id from "${req.name ?? req.file}".`, hint: 'Give a name made of letters and digits.' });
    const jobId = `import-${Date.now().toString(36)}-${this.next++}`;
    const controller = new AbortController();
    const job: Job = {
      status: { jobId, file: req.file, state: 'running', phase: 'hash', done: 0, total: stat.size, fraction: 0, etaSeconds: null, packId: null, notes: [], error: null },
      packId,
      controller,
      finished: Promise.resolve(),
      lastSent: 0,
      timer: undefined,
      started: performance.now(),
      imageTotal: 0,
      fileBytes: stat.size,
    };
    this.jobs.set(jobId, job);
    this.prune();
    const out = join(this.modelsDir, packId);
    job.finished = runImportInWorker(
      {
        checkpoint: req.file,
        out,
        precision: req.precision ?? 'fp32',
        ...(req.name ? { name: req.name } : {}),
        ...(req.licence ? { licence: req.licence } : {}),
        ...(req.arch ? { arch: req.arch } : {}),
        ...(req.layout ? { layout: req.layout } : {}),
        ...(req.activation ? { activation: req.activation } : {}),
        ignoreUnknown: req.ignoreUnknown === true,
        skipForeignObjects: req.skipForeignObjects === true,
      },
      { signal: controller.signal, onProgress: (p) => this.progress(job, p), onNote: (m) => job.status.notes.push(m) },
    ).then(
      (outcome) => {
        if (outcome.state === 'done') this.settle(job, { state: 'done', phase: 'done', fraction: 1, etaSeconds: 0, packId });
        else {
          // The importer removes its temporary folder itself; a worker stopped mid-write could not.
          this.removeLeftovers(packId, outcome.terminated);
          this.settle(job, { state: 'cancelled', etaSeconds: null });
        }
      },
      (err: unknown) => {
        const e = KestrelError.from(err);
        this.removeLeftovers(packId, false);
        this.settle(job, { state: 'failed', etaSeconds: null, error: { code: e.code, message: e.message, ...(e.file ? { file: e.file } : {}), ...(e.hint ? { hint: e.hint } : {}) } });
      },
    );
    return { ...job.status };
  }

  cancel(jobId: string): Promise<ImportStatus> {
    const job = this.jobs.get(jobId);
    if (!job) throw new KestrelError({ code: 'not_found', message: `There is no import ${jobId}.`, hint: 'models.imports lists the imports.' });
    if (job.status.state === 'running') job.controller.abort();
    return job.finished.then(() => ({ ...job.status }));
  }

  /** Cancels every running import (the engine is closing). */
  async close(): Promise<void> {
    for (const j of this.jobs.values()) if (j.status.state === 'running') j.controller.abort();
    await Promise.allSettled([...this.jobs.values()].map((j) => j.finished));
  }

  private progress(job: Job, p: ImportProgress): void {
    if (job.status.state !== 'running' || p.phase === 'done') return;
    const s = job.status;
    if (p.phase === 'hash' && p.done === 0) job.fileBytes = p.total;
    if (p.phase === 'image') job.imageTotal = p.total;
    let f = s.fraction;
    const frac = (d: number, t: number): number => (t > 0 ? Math.min(1, d / t) : 1);
    if (p.phase === 'check') f = CHECKED * frac(p.done, p.total);
    else if (p.phase === 'image') f = CHECKED + (WRITTEN - CHECKED) * frac(p.done, Math.max(job.fileBytes, p.total));
    else if (p.phase === 'text') f = CHECKED + (WRITTEN - CHECKED) * frac(job.imageTotal + p.done, job.imageTotal + p.total);
    else if (p.phase === 'verify') f = WRITTEN + (1 - WRITTEN) * frac(p.done, p.total) * 0.99;
    // The source hash finishing is reported as a 'hash' step between the towers and verify: it moves nothing.
    s.fraction = Math.max(s.fraction, Math.min(0.99, f));
    s.phase = p.phase;
    s.done = p.done;
    s.total = p.total;
    const elapsed = (performance.now() - job.started) / 1000;
    s.etaSeconds = s.fraction > CHECKED && elapsed > 0.5 ? Math.round((elapsed * (1 - s.fraction)) / s.fraction) : null;
    this.emitThrottled(job);
  }

  private emitThrottled(job: Job): void {
    const gap = this.options.minIntervalMs ?? 200;
    const wait = job.lastSent + gap - performance.now();
    if (wait <= 0) {
      clearTimeout(job.timer);
      job.timer = undefined;
      this.emit(job);
    } else if (!job.timer) {
      // The latest state goes out when the interval is up, so a quiet phase never hides its progress.
      job.timer = setTimeout(() => {
        job.timer = undefined;
        if (job.status.state === 'running') this.emit(job);
      }, wait);
    }
  }

  private emit(job: Job): void {
    job.lastSent = performance.now();
    this.options.onProgress({ ...job.status, notes: [...job.status.notes] });
  }

  private settle(job: Job, patch: Partial<ImportStatus>): void {
    clearTimeout(job.timer);
    job.timer = undefined;
    Object.assign(job.status, patch);
    this.emit(job);
  }

  /** The import's temporary folders (`.<id>.importing-…`), and its pack folder when the worker was stopped before it could say whether it finished. */
  private removeLeftovers(packId: string, packToo: boolean): void {
    if (!existsSync(this.modelsDir)) return;
    for (const e of readdirSync(this.modelsDir)) {
      if (e.startsWith(`.${packId}.importing-`) || (packToo && e === packId)) rmSync(join(this.modelsDir, e), { recursive: true, force: true });
    }
  }

  private prune(): void {
    const finished = [...this.jobs.values()].filter((j) => j.status.state !== 'running');
    for (const j of finished.slice(0, Math.max(0, finished.length - RECENT))) this.jobs.delete(j.status.jobId);
  }
}

/**
 * Scans in flight (archives.add and archives.scan): one per archive, each pausable and cancellable
 * until it starts writing (a paused scan holds before its next folder or file), each reporting its progress at most every `intervalMs` (a folder of tens of
 * thousands of files must not flood the event stream) and always once at its end.
 */
import { KestrelError, type ScanProgress } from '../../contract/index.js';
import type { ScanOptions, ScanStep } from './index.js';

/** The archive a scan is for (for an add, the archive it will become). */
export interface ScanRun {
  readonly id: string;
  readonly name: string;
}

export interface ScanRegistryOptions {
  emit(progress: ScanProgress): void;
  /** Least time between two progress events of a scan (default 200 ms: five a second). */
  intervalMs?: number;
  /** Awaited before each file (tests pace a scan with it). */
  beforeFile?: ScanOptions['beforeFile'];
  now?: () => number;
}

interface Running {
  controller: AbortController;
  writing: boolean;
  done: Promise<unknown>;
  reporter: ProgressReporter;
  /** Set while paused: the scan waits on it; resuming or cancelling releases it. */
  paused: { held: Promise<void>; release: () => void } | null;
}

export class ScanRegistry {
  private readonly running = new Map<string, Running>();
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(private readonly options: ScanRegistryOptions) {
    this.intervalMs = options.intervalMs ?? 200;
    this.now = options.now ?? (() => performance.now());
  }

  isRunning(archiveId: string): boolean {
    return this.running.has(archiveId);
  }

  /**
   * Runs `read` (which must write nothing) with a signal and a progress reporter, then `write` with
   * its result. A cancel during `read` rejects with a `cancelled` error; once `write` has begun the
   * scan finishes.
   */
  async run<R, T>(run: ScanRun, read: (options: ScanOptions) => Promise<R>, write: (result: R) => Promise<T>): Promise<T> {
    if (this.running.has(run.id)) {
      throw new KestrelError({ code: 'unavailable', message: `The archive "${run.name}" is being scanned already.`, hint: 'Wait for that scan to finish, or cancel it.' });
    }
    const controller = new AbortController();
    const reporter = new ProgressReporter(run, this.options.emit, this.intervalMs, this.now);
    const entry: Running = { controller, writing: false, done: Promise.resolve(), reporter, paused: null };
    const work = (async () => {
      const result = await read({
        signal: controller.signal,
        onProgress: (step) => reporter.report(step),
        pause: async () => entry.paused?.held,
        ...(this.options.beforeFile ? { beforeFile: this.options.beforeFile } : {}),
      });
      entry.writing = true;
      return write(result);
    })();
    entry.done = work.catch(() => undefined);
    this.running.set(run.id, entry);
    try {
      const out = await work;
      reporter.end('done');
      return out;
    } catch (err) {
      reporter.end(err instanceof KestrelError && err.code === 'cancelled' ? 'cancelled' : 'failed');
      throw err;
    } finally {
      this.running.delete(run.id);
    }
  }

  /** Asks a running scan to stop; false when none runs or it is already writing its result. */
  cancel(archiveId: string): boolean {
    const entry = this.running.get(archiveId);
    if (!entry || entry.writing) return false;
    entry.controller.abort();
    this.release(entry);
    return true;
  }

  /** Holds a running scan before its next folder or file; false when none runs, it is paused already, or it is writing. */
  pause(archiveId: string): boolean {
    const entry = this.running.get(archiveId);
    if (!entry || entry.writing || entry.paused) return false;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    entry.paused = { held, release };
    entry.reporter.setPaused(true);
    return true;
  }

  /** Lets a paused scan go on; false when none is paused. */
  resume(archiveId: string): boolean {
    const entry = this.running.get(archiveId);
    if (!entry?.paused) return false;
    this.release(entry);
    entry.reporter.setPaused(false);
    return true;
  }

  private release(entry: Running): void {
    entry.paused?.release();
    entry.paused = null;
  }

  /** Resolves when the archive's scan (if any) has ended, however it ended. */
  async settled(archiveId: string): Promise<void> {
    await this.running.get(archiveId)?.done;
  }

  /** Cancels every scan and waits for them (engine shutdown). */
  async close(): Promise<void> {
    for (const id of this.running.keys()) this.cancel(id);
    await Promise.all([...this.running.values()].map((r) => r.done));
  }
}

/** Turns a scan's steps into at most one event per interval (the latest step wins), plus the last one. */
class ProgressReporter {
  private last: ScanStep = { phase: 'listing', filesSeen: 0, filesRead: 0, total: null, currentFile: null };
  private pending = false;
  private lastEmit = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When reading began (or last resumed) and how many files were read then, for the ETA. */
  private readingFrom: { at: number; filesRead: number } | undefined;
  private paused = false;

  constructor(
    private readonly run: ScanRun,
    private readonly emit: (p: ScanProgress) => void,
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  report(step: ScanStep): void {
    if (step.phase === 'reading' && !this.readingFrom) this.readingFrom = { at: this.now(), filesRead: step.filesRead };
    this.last = step;
    this.pending = true;
    const wait = this.lastEmit + this.intervalMs - this.now();
    if (wait <= 0) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), wait);
  }

  /** Said at once: a paused scan has no ETA, and a resumed one measures its rate afresh. */
  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused && this.readingFrom) this.readingFrom = { at: this.now(), filesRead: this.last.filesRead };
    this.pending = true;
    this.flush();
  }

  end(phase: 'done' | 'cancelled' | 'failed'): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.emit(this.event(phase, null));
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending) return;
    this.pending = false;
    this.lastEmit = this.now();
    this.emit(this.event(this.last.phase, this.eta()));
  }

  private eta(): number | null {
    const { total, filesRead, phase } = this.last;
    if (phase !== 'reading' || total === null || !this.readingFrom || this.paused) return null;
    const read = filesRead - this.readingFrom.filesRead;
    const elapsed = (this.now() - this.readingFrom.at) / 1000;
    if (read <= 0 || elapsed <= 0) return null;
    return ((total - filesRead) * elapsed) / read;
  }

  private event(phase: ScanProgress['phase'], etaSeconds: number | null): ScanProgress {
    const { filesSeen, filesRead, total } = this.last;
    const ended = phase === 'done' || phase === 'cancelled' || phase === 'failed';
    return {
      archiveId: this.run.id,
      name: this.run.name,
      phase,
      paused: !ended && this.paused,
      filesSeen,
      filesRead,
      total,
      currentFile: ended ? null : this.last.currentFile,
      etaSeconds: ended ? null : etaSeconds,
    };
  }
}

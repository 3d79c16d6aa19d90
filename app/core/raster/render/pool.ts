import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { KestrelError } from '../../../contract/index.js';
import { startWorker } from '../../platform/index.js';

/** Omit over each member of a union (a plain Omit collapses the union). */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

interface Pending {
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

interface Slot {
  worker: Worker;
  busy: number;
  pending: Map<number, Pending>;
}

/**
 * A fixed pool of worker_threads running one app/workers entry. Requests carry an `id`; answers come
 * back with the same id. Each request goes to the least busy worker; a crashed worker fails its
 * pending requests with a typed error and is replaced.
 */
export class WorkerPool<Req extends { id: number }, Res extends { id: number }> {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  /** Workers that died before answering anything, in a row: a broken entry is not respawned forever. */
  private earlyDeaths = 0;
  private started = false;

  /** Workers start with the first request: an engine that never renders a tile never pays for them. */
  constructor(
    private readonly entry: string,
    readonly size = Math.max(1, Math.min(4, availableParallelism() - 1)),
  ) {}

  private spawn(): Slot {
    const worker = startWorker(this.entry);
    const slot: Slot = { worker, busy: 0, pending: new Map() };
    let answered = false;
    worker.unref();
    worker.on('message', (res: Res) => {
      const p = slot.pending.get(res.id);
      if (!p) return;
      answered = true;
      this.earlyDeaths = 0;
      slot.pending.delete(res.id);
      slot.busy--;
      if (slot.busy === 0) worker.unref();
      p.resolve(res);
    });
    const fail = (why: string): void => {
      for (const p of slot.pending.values()) p.reject(new KestrelError({ code: 'internal', message: `The ${this.entry} worker stopped (${why}).` }));
      slot.pending.clear();
      if (!answered) this.earlyDeaths++;
      const i = this.slots.indexOf(slot);
      if (i >= 0 && !this.closed && this.earlyDeaths < 3 * this.size) this.slots[i] = this.spawn();
      else if (i >= 0) this.slots.splice(i, 1);
    };
    worker.on('error', (err) => fail(err.message));
    worker.on('exit', (code) => {
      if (!this.closed) fail(`exit code ${code}`);
    });
    return slot;
  }

  /** Sends one request (its id is assigned here) and resolves with the worker's answer. */
  request(req: WithoutId<Req>, transfer: ArrayBuffer[] = []): Promise<Res> {
    if (this.closed) return Promise.reject(new KestrelError({ code: 'unavailable', message: `The ${this.entry} worker pool is closed.` }));
    if (!this.started) {
      this.started = true;
      for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
    }
    if (this.slots.length === 0) {
      return Promise.reject(new KestrelError({ code: 'unavailable', message: `The ${this.entry} workers cannot start.`, hint: 'Reinstall Kestrel; the worker script may be missing.' }));
    }
    const id = this.nextId++;
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    return new Promise<Res>((resolve, reject) => {
      slot.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      if (slot.busy === 0) slot.worker.ref();
      slot.busy++;
      slot.worker.postMessage({ ...req, id }, transfer);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

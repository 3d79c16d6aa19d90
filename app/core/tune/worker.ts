/**
 * Tuning off the engine's thread: the worker side (`serveTuning`, run by app/workers/tune.ts) and
 * the host side (`runTuningInWorker`). Messages: start (embeddings and options) and cancel in;
 * progress per epoch, then done or error, out. Typed arrays cross by structured clone.
 */
import { parentPort, type Worker } from 'node:worker_threads';
import { KestrelError, type KestrelErrorData } from '../../contract/index.js';
import { startWorker } from '../platform/index.js';
import { trainAdapter, type TrainCallbacks, type TuningData, type TuningOptions, type TuningProgress, type TuningResult } from './train.js';

export type TuneWorkerRequest = { type: 'start'; data: TuningData; options: Partial<TuningOptions> } | { type: 'cancel' };
export type TuneWorkerMessage = { type: 'progress'; progress: TuningProgress } | { type: 'done'; result: TuningResult } | { type: 'error'; error: KestrelErrorData };

/** The worker's side: one tuning job per worker. */
export function serveTuning(): void {
  const port = parentPort;
  if (!port) throw new Error('serveTuning() runs in a worker thread.');
  const controller = new AbortController();
  let started = false;
  port.on('message', (msg: TuneWorkerRequest) => {
    if (msg.type === 'cancel') {
      controller.abort();
      return;
    }
    if (started) return;
    started = true;
    trainAdapter(msg.data, msg.options, { signal: controller.signal, onProgress: (progress) => port.postMessage({ type: 'progress', progress } satisfies TuneWorkerMessage) })
      .then((result) => port.postMessage({ type: 'done', result } satisfies TuneWorkerMessage))
      .catch((e: unknown) => port.postMessage({ type: 'error', error: KestrelError.from(e).toJSON() } satisfies TuneWorkerMessage));
  });
}

/**
 * Runs a tuning job in a worker thread. Aborting `signal` stops it after the current step; the
 * promise then resolves with `stopReason: 'cancelled'` and the best weights so far.
 */
export function runTuningInWorker(data: TuningData, options: Partial<TuningOptions>, cb: TrainCallbacks = {}): Promise<TuningResult> {
  const worker: Worker = startWorker('tune');
  return new Promise<TuningResult>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      cb.signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      fn();
    };
    const onAbort = (): void => worker.postMessage({ type: 'cancel' } satisfies TuneWorkerRequest);
    cb.signal?.addEventListener('abort', onAbort);
    worker.on('message', (msg: TuneWorkerMessage) => {
      if (msg.type === 'progress') cb.onProgress?.(msg.progress);
      else if (msg.type === 'done') finish(() => resolve(msg.result));
      else finish(() => reject(new KestrelError(msg.error)));
    });
    worker.on('error', (e) => finish(() => reject(KestrelError.from(e))));
    worker.on('exit', (code) => finish(() => reject(new KestrelError({ code: 'internal', message: `The tuning worker stopped unexpectedly (exit code ${code}).` }))));
    worker.postMessage({ type: 'start', data, options } satisfies TuneWorkerRequest);
    if (cb.signal?.aborted) onAbort();
  });
}

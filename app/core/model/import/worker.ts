/**
 * Importing off the engine's thread: the worker side (`serveImport`, run by app/workers/import.ts)
 * and the host side (`runImportInWorker`). Reading, converting, quantising and writing the towers are
 * synchronous CPU work; in a worker thread they never hold up the engine's answers. Messages: start
 * (the options, without callbacks) and cancel in; progress and notes, then done, cancelled or error,
 * out.
 */
import { parentPort, type Worker } from 'node:worker_threads';
import { KestrelError, type KestrelErrorData } from '../../../contract/index.js';
import { startWorker } from '../../platform/index.js';
import { importModel, isImportCancelled, type ImportOptions, type ImportProgress } from './importer.js';

export type ImportWorkerOptions = Omit<ImportOptions, 'onProgress' | 'onNote' | 'signal'>;
export type ImportWorkerRequest = { type: 'start'; options: ImportWorkerOptions } | { type: 'cancel' };
export type ImportWorkerMessage =
  | { type: 'progress'; progress: ImportProgress }
  | { type: 'note'; message: string }
  | { type: 'done'; dir: string; name: string }
  | { type: 'cancelled' }
  | { type: 'error'; error: KestrelErrorData };

/** The worker's side: one import per worker. */
export function serveImport(): void {
  const port = parentPort;
  if (!port) throw new Error('serveImport() runs in a worker thread.');
  const controller = new AbortController();
  let started = false;
  const post = (m: ImportWorkerMessage): void => port.postMessage(m);
  port.on('message', (msg: ImportWorkerRequest) => {
    if (msg.type === 'cancel') {
      controller.abort();
      return;
    }
    if (started) return;
    started = true;
    importModel({ ...msg.options, signal: controller.signal, onProgress: (progress) => post({ type: 'progress', progress }), onNote: (message) => post({ type: 'note', message }) })
      .then((result) => post({ type: 'done', dir: result.dir, name: result.manifest.name }))
      .catch((e: unknown) => post(isImportCancelled(e) ? { type: 'cancelled' } : { type: 'error', error: KestrelError.from(e).toJSON() }));
  });
}

export interface ImportCallbacks {
  onProgress?: (p: ImportProgress) => void;
  onNote?: (message: string) => void;
  signal?: AbortSignal;
  /** How long a cancelled import may take to clean up after itself before its thread is stopped (ms). */
  cancelGraceMs?: number;
}

export type ImportOutcome = { state: 'done'; dir: string; name: string } | { state: 'cancelled'; terminated: boolean };

/**
 * Runs importModel in a worker thread. Aborting `signal` asks the importer to stop at the next tensor
 * (it then removes its temporary folder itself); a worker that has not answered within the grace period
 * (a long ONNX Runtime load in the verify phase) is terminated, and `terminated` tells the caller that
 * the cleanup is its job. Failures reject with the importer's KestrelError.
 */
export function runImportInWorker(options: ImportWorkerOptions, cb: ImportCallbacks = {}): Promise<ImportOutcome> {
  const worker: Worker = startWorker('import');
  return new Promise<ImportOutcome>((resolve, reject) => {
    let settled = false;
    let grace: NodeJS.Timeout | undefined;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(grace);
      cb.signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      fn();
    };
    const onAbort = (): void => {
      worker.postMessage({ type: 'cancel' } satisfies ImportWorkerRequest);
      grace = setTimeout(() => finish(() => resolve({ state: 'cancelled', terminated: true })), cb.cancelGraceMs ?? 3000);
    };
    cb.signal?.addEventListener('abort', onAbort);
    worker.on('message', (msg: ImportWorkerMessage) => {
      if (msg.type === 'progress') cb.onProgress?.(msg.progress);
      else if (msg.type === 'note') cb.onNote?.(msg.message);
      else if (msg.type === 'done') finish(() => resolve({ state: 'done', dir: msg.dir, name: msg.name }));
      else if (msg.type === 'cancelled') finish(() => resolve({ state: 'cancelled', terminated: false }));
      else finish(() => reject(new KestrelError(msg.error)));
    });
    worker.on('error', (e) => finish(() => reject(KestrelError.from(e))));
    worker.on('exit', (code) =>
      finish(() => (cb.signal?.aborted ? resolve({ state: 'cancelled', terminated: true }) : reject(new KestrelError({ code: 'internal', message: `The import worker stopped unexpectedly (exit code ${code}).` })))),
    );
    worker.postMessage({ type: 'start', options } satisfies ImportWorkerRequest);
    if (cb.signal?.aborted) onAbort();
  });
}

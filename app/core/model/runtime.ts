/**
 * The model runtime as the engine sees it: a model pack loaded in the inference worker process.
 * Calls never block the caller's thread. If the worker dies (a native crash in ONNX Runtime, the OOM
 * killer, a kill), every call in flight fails at once with an error the user can read, the worker
 * is restarted with the same pack, and later calls wait for it; a crash loop stops the restarts.
 */
import { fork } from 'node:child_process';
import { KestrelError, type KestrelErrorData } from '../../contract/index.js';
import { workerEntry } from '../platform/index.js';
import { RESOURCES_ENV, resourcesDir } from './resources.js';
import type { FromInference, InferenceOp, InferenceResult, ToInference } from './protocol.js';
import type { ModelSessionOptions, ModelStatus } from './session.js';

/** What the runtime needs of a worker process (child_process here; an Electron utility process could adapt). */
export interface InferenceChild {
  readonly pid: number | undefined;
  postMessage(message: ToInference): void;
  onMessage(listener: (message: FromInference) => void): void;
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  kill(signal?: NodeJS.Signals): void;
}

export interface ModelRuntimeOptions extends ModelSessionOptions {
  /** The model pack folder. */
  pack: string;
  /** Starts a worker process; defaults to forking app/workers/inference. */
  spawn?: () => InferenceChild;
  /** A call that takes longer than this kills the worker (which restarts) and fails; default 5 minutes. */
  callTimeoutMs?: number;
  /** The same for loading and warming up the pack; default 10 minutes (TensorRT builds engines at first load). */
  loadTimeoutMs?: number;
  /** Restarts allowed within restartWindowMs before giving up. */
  maxRestarts?: number;
  restartWindowMs?: number;
}

/** The runtime's state, for the contract (app.info / a models.status method) and the UI. */
export interface ModelRuntimeStatus {
  state: 'starting' | 'ready' | 'restarting' | 'failed' | 'closed';
  /** What is loaded and on which execution provider, with the reason for each one not used. */
  model: ModelStatus | null;
  /** The worker's process id (null while none runs). */
  workerPid: number | null;
  restarts: number;
  /** The last time the worker died unexpectedly, and how. */
  lastCrash: { at: string; reason: string } | null;
  /** Why the runtime gave up (state 'failed'). */
  error: KestrelErrorData | null;
}

/**
 * Forks app/workers/inference as a Node child process with an IPC channel (structured-clone
 * serialisation, so typed arrays travel as such). A process, not a worker thread: a native crash in
 * ONNX Runtime would take a worker thread's whole process with it. Inside Electron (the engine's
 * utility process) the child must run as plain Node.
 */
export function forkInferenceWorker(): InferenceChild {
  const { file, fromSource } = workerEntry('inference');
  const cp = fork(file, [], {
    // From sources (tests, `tsx app/cli/index.ts`) the child loads the TypeScript entry through tsx.
    execArgv: fromSource ? ['--import', import.meta.resolve('tsx')] : [],
    env: {
      ...process.env,
      // The child of an Electron process has no process.resourcesPath: tell it where resources are.
      [RESOURCES_ENV]: resourcesDir(),
      ...(process.versions.electron !== undefined ? { ELECTRON_RUN_AS_NODE: '1' } : {}),
    },
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return {
    get pid() {
      return cp.pid;
    },
    // A message to a child that has just died fails with EPIPE; the callback keeps that from becoming an
    // unhandled 'error' event, and the exit listener fails the pending calls with a readable message.
    postMessage: (m) => void cp.send(m, (err) => void err),
    onMessage: (fn) => cp.on('message', (m) => fn(m as FromInference)),
    onExit: (fn) => cp.on('exit', (code, signal) => fn(code, signal)),
    kill: (signal) => cp.kill(signal),
  };
}

type Pending = { resolve: (value: unknown) => void; reject: (err: KestrelError) => void; what: string; timer: NodeJS.Timeout | undefined };

export class ModelRuntime {
  private child: InferenceChild | undefined;
  private ready: Promise<void> = Promise.resolve();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private crashTimes: number[] = [];
  private readonly state: ModelRuntimeStatus = { state: 'starting', model: null, workerPid: null, restarts: 0, lastCrash: null, error: null };
  private readonly listeners = new Set<(status: ModelRuntimeStatus) => void>();

  private constructor(private readonly options: ModelRuntimeOptions) {}

  /** Forks the worker, loads and warms up the pack; rejects with the pack's problem if it cannot load. */
  static async start(options: ModelRuntimeOptions): Promise<ModelRuntime> {
    const runtime = new ModelRuntime(options);
    try {
      await runtime.launch();
    } catch (err) {
      await runtime.close();
      throw err;
    }
    return runtime;
  }

  status(): ModelRuntimeStatus {
    return structuredClone(this.state);
  }

  /** Called with the new status whenever it changes (ready, crashed, restarted, gave up). */
  onStatus(listener: (status: ModelRuntimeStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  tokenize(texts: string[]): Promise<Int32Array[]> {
    return this.call({ op: 'tokenize', texts }, 'tokenizing');
  }

  /** L2-normalised text embeddings. */
  embedTexts(texts: string[]): Promise<Float32Array[]> {
    return this.call({ op: 'embedTexts', texts }, `embedding ${texts.length} text(s)`);
  }

  /** L2-normalised image embeddings of image files (decoded and preprocessed in the worker). */
  embedImages(files: string[]): Promise<Float32Array[]> {
    return this.call({ op: 'embedImages', files }, `embedding ${files.length} image(s)`);
  }

  /**
   * L2-normalised image embeddings of tensors already preprocessed for this pack (count × 3 × size ×
   * size, CHW): the indexing job cuts and preprocesses chips itself, off this process.
   */
  embedPixels(pixels: Float32Array, count: number): Promise<Float32Array[]> {
    return this.call({ op: 'embedPixels', pixels, count }, `embedding ${count} chip(s)`);
  }

  async close(): Promise<void> {
    this.setState({ state: 'closed' });
    const child = this.child;
    this.child = undefined;
    this.failAll(() => new KestrelError({ code: 'unavailable', message: 'The model runtime was closed.' }));
    if (child) {
      const exited = new Promise<void>((resolve) => child.onExit(() => resolve()));
      child.kill();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000).unref())]);
    }
  }

  private setState(patch: Partial<ModelRuntimeStatus>): void {
    Object.assign(this.state, patch);
    const snapshot = this.status();
    for (const l of this.listeners) l(snapshot);
  }

  /** Starts a worker and loads the pack in it; `ready` settles when the model is warm. */
  private launch(): Promise<void> {
    const child = (this.options.spawn ?? forkInferenceWorker)();
    this.child = child;
    this.setState({ workerPid: child.pid ?? null });
    child.onMessage((message) => {
      if (message.type !== 'result') return;
      const p = this.pending.get(message.id);
      if (!p) return;
      this.pending.delete(message.id);
      clearTimeout(p.timer);
      if (message.ok) p.resolve(message.value);
      else p.reject(new KestrelError(message.error));
    });
    child.onExit((code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.onCrash(code, signal);
    });
    const { pack, spawn: _spawn, callTimeoutMs: _t, loadTimeoutMs, maxRestarts: _m, restartWindowMs: _w, ...sessionOptions } = this.options;
    this.ready = this.send(child, { op: 'load', pack, options: sessionOptions }, 'loading the model', loadTimeoutMs ?? 600_000).then(
      (status) => this.setState({ state: 'ready', model: status as ModelStatus }),
    );
    this.ready.catch(() => {});
    return this.ready;
  }

  private async call<K extends InferenceOp['op']>(op: Extract<InferenceOp, { op: K }>, what: string): Promise<InferenceResult[K]> {
    if (this.state.state === 'failed' && this.state.error) throw new KestrelError(this.state.error);
    await this.ready;
    const child = this.child;
    if (!child || this.state.state === 'closed') {
      throw new KestrelError({ code: 'unavailable', message: 'The model runtime is not running.', hint: 'Restart Kestrel.' });
    }
    return (await this.send(child, op, what, this.options.callTimeoutMs ?? 300_000)) as InferenceResult[K];
  }

  private send(child: InferenceChild, op: InferenceOp, what: string, timeoutMs: number): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        p.reject(
          new KestrelError({
            code: 'unavailable',
            message: `The inference worker did not finish ${what} within ${Math.round(timeoutMs / 1000)} s; it was stopped and is being restarted.`,
            hint: 'Try again; if it keeps happening, choose the CPU execution provider in Settings.',
          }),
        );
        child.kill('SIGKILL');
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, what, timer });
      try {
        child.postMessage({ ...op, id } as ToInference);
      } catch (err) {
        this.pending.delete(id);
        clearTimeout(timer);
        reject(KestrelError.from(err));
      }
    });
  }

  private failAll(error: (p: Pending) => KestrelError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(error(p));
    }
  }

  private onCrash(code: number | null, signal: string | null): void {
    const how = signal ? `signal ${signal}` : `exit code ${code ?? 'none'}`;
    const wasLoading = this.state.state === 'starting' || this.state.state === 'restarting';
    this.failAll(
      (p) =>
        new KestrelError({
          code: 'unavailable',
          message: `The inference worker stopped unexpectedly (${how}) while ${p.what}.`,
          hint: 'It is being restarted; try again in a moment. If it keeps happening, choose the CPU execution provider in Settings.',
        }),
    );
    if (this.state.state === 'closed') return;
    const now = Date.now();
    const windowMs = this.options.restartWindowMs ?? 60_000;
    this.crashTimes = this.crashTimes.filter((t) => now - t < windowMs);
    this.crashTimes.push(now);
    const lastCrash = { at: new Date(now).toISOString(), reason: `the inference worker stopped (${how})` };
    // A worker that dies while loading the pack on first start is not restarted: start() reports it.
    if (this.state.state === 'starting' || this.crashTimes.length > (this.options.maxRestarts ?? 5)) {
      const error = new KestrelError({
        code: 'unavailable',
        message: wasLoading && this.state.restarts === 0
          ? `The inference worker stopped (${how}) while loading the model.`
          : `The inference worker crashed ${this.crashTimes.length} times within ${Math.round(windowMs / 1000)} s; Kestrel stopped restarting it.`,
        hint: 'Choose the CPU execution provider in Settings, or check the model pack with `kestrel tokenize --model <pack> test`.',
      });
      this.setState({ state: 'failed', lastCrash, error: error.toJSON(), workerPid: null });
      return;
    }
    this.setState({ state: 'restarting', lastCrash, restarts: this.state.restarts + 1, workerPid: null });
    void this.launch().catch((err: unknown) => {
      if (this.state.state !== 'closed') this.setState({ state: 'failed', error: KestrelError.from(err).toJSON() });
    });
  }
}

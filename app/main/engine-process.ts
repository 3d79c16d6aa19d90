/**
 * The engine in its own process, seen from Electron main: a DispatchTarget whose handlers forward
 * to the child. When the child dies, every in-flight call fails at once with an error the user can
 * read (never a hang), the child is restarted, and `engine.restarted` tells the window.
 */
import { KestrelError, methodNames, type DispatchTarget, type Handlers } from '../contract/index.js';
import { EventBus, type Asset, type FromEngine, type ToEngine } from '../core/index.js';

/** What main needs of a child process (Electron's UtilityProcess, or child_process in tests). */
export interface EngineChild {
  postMessage(message: ToEngine): void;
  onMessage(listener: (message: FromEngine) => void): void;
  onExit(listener: (code: number | null) => void): void;
  kill(): void;
}

/** An inference worker process started for the engine (Electron: a utility process). */
export interface InferenceProcess {
  readonly pid: number | undefined;
  postMessage(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  kill(): void;
}

export interface EngineProcessOptions {
  fork: () => EngineChild;
  /** Starts an inference worker when the engine asks for one (it cannot start processes itself). */
  forkInference?: () => InferenceProcess;
  /** Restarts allowed within `restartWindowMs` before giving up (a crash loop helps nobody). */
  maxRestarts?: number;
  restartWindowMs?: number;
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type Pending = { resolve: (value: unknown) => void; reject: (err: KestrelError) => void; what: string };
type AssetRequest =
  | { kind: 'tile'; sceneId: string; z: number; x: number; y: number }
  | { kind: 'thumb'; chipId: string }
  | { kind: 'basemap'; z: number; x: number; y: number };

export class EngineProcess implements DispatchTarget {
  readonly events = new EventBus();
  readonly handlers: Handlers;
  private child: EngineChild | undefined;
  private ready: Promise<void> = Promise.resolve();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private restarts = 0;
  private crashTimes: number[] = [];
  private stopped = false;
  private failure: KestrelError | undefined;
  private readonly maxRestarts: number;
  /** Inference workers started for the current engine, by the engine's worker number. */
  private readonly inference = new Map<number, InferenceProcess>();
  private readonly windowMs: number;

  constructor(private readonly options: EngineProcessOptions) {
    this.maxRestarts = options.maxRestarts ?? 5;
    this.windowMs = options.restartWindowMs ?? 60_000;
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const method of methodNames) {
      handlers[method] = (input) => this.send({ type: 'call', method, input }, method);
    }
    this.handlers = handlers as unknown as Handlers;
  }

  /** Starts the child; resolves once the engine inside has opened its data folder. */
  start(): Promise<void> {
    const child = this.options.fork();
    this.child = child;
    this.ready = new Promise<void>((resolve, reject) => {
      child.onMessage((message) => {
        if (message.type === 'inference') this.relayInference(child, message);
        else if (message.type === 'ready') resolve();
        else if (message.type === 'fatal') {
          // The engine cannot open at all (e.g. an unwritable data folder): restarting would fail the same way.
          this.failure = new KestrelError(message.error);
          reject(this.failure);
        } else if (message.type === 'event') this.events.emit(message.event as never, message.payload as never);
        else {
          const p = this.pending.get(message.id);
          if (!p) return;
          this.pending.delete(message.id);
          if (message.ok) p.resolve(message.value);
          else p.reject(new KestrelError(message.error));
        }
      });
      child.onExit((code) => {
        this.killInference();
        if (this.child !== child) return;
        this.child = undefined;
        reject(this.failure ?? this.died(code, 'while starting'));
        this.onCrash(code);
      });
    });
    this.ready.catch(() => {});
    return this.ready;
  }

  tile(sceneId: string, z: number, x: number, y: number): Promise<Asset | undefined> {
    return this.asset({ kind: 'tile', sceneId, z, x, y }, `tile ${sceneId}/${z}/${x}/${y}`);
  }

  thumb(chipId: string): Promise<Asset | undefined> {
    return this.asset({ kind: 'thumb', chipId }, `thumbnail ${chipId}`);
  }

  basemap(z: number, x: number, y: number): Promise<Asset | undefined> {
    return this.asset({ kind: 'basemap', z, x, y }, `basemap tile ${z}/${x}/${y}`);
  }

  async close(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    this.child = undefined;
    this.failAll(new KestrelError({ code: 'unavailable', message: 'Kestrel is shutting down.' }));
    this.killInference();
    child?.kill();
  }

  private relayInference(child: EngineChild, message: Extract<FromEngine, { type: 'inference' }>): void {
    const { worker } = message;
    if (message.op === 'send') return this.inference.get(worker)?.postMessage(message.message);
    if (message.op === 'kill') return this.inference.get(worker)?.kill();
    const exit = (code: number | null, signal: string | null): void => {
      if (this.child !== child) return; // that engine is gone; its workers with it
      try {
        child.postMessage({ type: 'inference', worker, event: 'exit', code, signal });
      } catch {
        // the engine is exiting too; its own exit is handled in start()
      }
    };
    if (!this.options.forkInference) return exit(null, null);
    let proc: InferenceProcess;
    try {
      proc = this.options.forkInference();
    } catch {
      return exit(null, null);
    }
    this.inference.set(worker, proc);
    proc.onMessage((m) => child.postMessage({ type: 'inference', worker, event: 'message', message: m }));
    proc.onExit((code, signal) => {
      this.inference.delete(worker);
      exit(code, signal);
    });
    child.postMessage({ type: 'inference', worker, event: 'spawned', pid: proc.pid });
  }

  private killInference(): void {
    for (const proc of this.inference.values()) proc.kill();
    this.inference.clear();
  }

  private async asset(request: AssetRequest, what: string): Promise<Asset | undefined> {
    const value = (await this.send({ type: 'asset', ...request }, what)) as Asset | null;
    return value ?? undefined;
  }

  private async send(message: WithoutId<ToEngine>, what: string): Promise<unknown> {
    if (this.failure) throw this.failure;
    await this.ready;
    const child = this.child;
    if (!child || this.stopped) {
      throw new KestrelError({ code: 'unavailable', message: 'The Kestrel engine is not running.', hint: 'Restart Kestrel.' });
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, what });
      try {
        child.postMessage({ ...message, id } as ToEngine);
      } catch (err) {
        this.pending.delete(id);
        reject(KestrelError.from(err));
      }
    });
  }

  private died(code: number | null, during: string): KestrelError {
    return new KestrelError({
      code: 'unavailable',
      message: `The Kestrel engine stopped unexpectedly (exit code ${code ?? 'none'}) ${during}.`,
      hint: 'It is being restarted; try again in a moment. Nothing already saved was lost.',
    });
  }

  private failAll(error: KestrelError | ((p: Pending) => KestrelError)): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(typeof error === 'function' ? error(p) : error);
  }

  private onCrash(code: number | null): void {
    this.failAll((p) => this.died(code, `while answering ${p.what}`));
    if (this.stopped || this.failure) return;
    const now = Date.now();
    this.crashTimes = this.crashTimes.filter((t) => now - t < this.windowMs);
    this.crashTimes.push(now);
    const gaveUp = this.crashTimes.length > this.maxRestarts;
    const reason = gaveUp
      ? `The engine crashed ${this.crashTimes.length} times within ${Math.round(this.windowMs / 1000)} s; Kestrel stopped restarting it. Restart the app.`
      : `The engine stopped unexpectedly (exit code ${code ?? 'none'}) and was restarted.`;
    if (gaveUp) {
      this.failure = new KestrelError({ code: 'unavailable', message: reason, hint: 'Restart Kestrel; if it keeps happening, run `kestrel info` for details.' });
    } else {
      this.restarts += 1;
      void this.start().catch(() => {});
    }
    this.events.emit('engine.restarted', { reason, restarts: this.restarts, gaveUp });
  }
}

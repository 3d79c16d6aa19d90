/**
 * The engine in a process of its own: Electron's utility process in the desktop app (so the main
 * process only routes), or any Node child process with an IPC channel (tests). Speaks the messages
 * of app/core/host-protocol.ts; the data folder comes from $KESTREL_DATA. Inference workers are
 * started by the parent and relayed (a utility process cannot start processes itself).
 */
import { dispatch, KestrelError } from '../contract/index.js';
import { openEngine, resolveDataDir, type Engine } from '../core/index.js';
import type { FromEngine, InferenceToEngine, ToEngine } from '../core/host-protocol.js';
import type { FromInference, InferenceChild, ToInference } from '../core/model/index.js';
import { parentPort, type ParentPort } from '../core/platform/index.js';

/** Inference workers living in the parent's care, seen from the engine as ordinary children. */
class InferenceRelay {
  private next = 1;
  private readonly children = new Map<number, { pid: number | undefined; message: Set<(m: FromInference) => void>; exit: Set<(code: number | null, signal: string | null) => void> }>();

  constructor(private readonly port: ParentPort<ToEngine, FromEngine>) {}

  spawn(): InferenceChild {
    const worker = this.next++;
    const entry = { pid: undefined as number | undefined, message: new Set<(m: FromInference) => void>(), exit: new Set<(code: number | null, signal: string | null) => void>() };
    this.children.set(worker, entry);
    this.port.post({ type: 'inference', worker, op: 'spawn' });
    return {
      get pid() {
        return entry.pid;
      },
      postMessage: (message: ToInference) => this.port.post({ type: 'inference', worker, op: 'send', message }),
      onMessage: (fn) => void entry.message.add(fn),
      onExit: (fn) => void entry.exit.add(fn),
      kill: () => this.port.post({ type: 'inference', worker, op: 'kill' }),
    };
  }

  deliver(message: InferenceToEngine): void {
    const entry = this.children.get(message.worker);
    if (!entry) return;
    if (message.event === 'spawned') entry.pid = message.pid;
    else if (message.event === 'message') for (const fn of entry.message) fn(message.message as FromInference);
    else {
      this.children.delete(message.worker);
      for (const fn of entry.exit) fn(message.code, message.signal);
    }
  }
}

async function answer(engine: Engine, message: Exclude<ToEngine, InferenceToEngine>): Promise<FromEngine> {
  try {
    if (message.type === 'call') {
      return { type: 'result', id: message.id, ok: true, value: await dispatch(engine.handlers, message.method, message.input) };
    }
    const asset =
      message.kind === 'tile'
        ? await engine.tile(message.sceneId, message.z, message.x, message.y)
        : message.kind === 'basemap'
          ? await engine.basemap(message.z, message.x, message.y)
          : await engine.thumb(message.chipId);
    return { type: 'result', id: message.id, ok: true, value: asset ?? null };
  } catch (err) {
    return { type: 'result', id: message.id, ok: false, error: KestrelError.from(err).toJSON() };
  }
}

async function main(): Promise<void> {
  const port = parentPort<ToEngine, FromEngine>('app/workers/engine.ts');
  const relay = new InferenceRelay(port);
  let engine: Engine | undefined;
  const early: ToEngine[] = [];
  port.listen((message) => {
    if (message.type === 'inference') relay.deliver(message);
    else if (!engine) early.push(message);
    else void answer(engine, message).then((reply) => port.post(reply));
  });
  try {
    engine = await openEngine({ dataDir: resolveDataDir(), runtime: 'desktop', firstRun: true, spawnInference: () => relay.spawn() });
  } catch (err) {
    port.post({ type: 'fatal', error: KestrelError.from(err).toJSON() });
    process.exit(1);
  }
  engine.events.onAny((event, payload) => port.post({ type: 'event', event, payload }));
  for (const message of early.splice(0)) if (message.type !== 'inference') void answer(engine, message).then((reply) => port.post(reply));
  port.post({ type: 'ready' });
}

void main();

/**
 * The engine in a process of its own: Electron's utility process in the desktop app (so the main
 * process only routes), or any Node child process with an IPC channel (tests). Speaks the messages
 * of app/core/host-protocol.ts; the data folder comes from $KESTREL_DATA.
 */
import { dispatch, KestrelError } from '../contract/index.js';
import { openEngine, resolveDataDir, type Engine } from '../core/index.js';
import type { FromEngine, ToEngine } from '../core/host-protocol.js';
import { parentPort } from '../core/platform/parent-port.js';

async function answer(engine: Engine, message: ToEngine): Promise<FromEngine> {
  try {
    if (message.type === 'call') {
      return { type: 'result', id: message.id, ok: true, value: await dispatch(engine.handlers, message.method, message.input) };
    }
    const asset = message.kind === 'tile' ? await engine.tile(message.sceneId, message.z, message.x, message.y) : await engine.thumb(message.chipId);
    return { type: 'result', id: message.id, ok: true, value: asset ?? null };
  } catch (err) {
    return { type: 'result', id: message.id, ok: false, error: KestrelError.from(err).toJSON() };
  }
}

async function main(): Promise<void> {
  const port = parentPort<ToEngine, FromEngine>('app/workers/engine.ts');
  let engine: Engine;
  try {
    engine = await openEngine({ dataDir: resolveDataDir(), runtime: 'desktop' });
  } catch (err) {
    port.post({ type: 'fatal', error: KestrelError.from(err).toJSON() });
    process.exit(1);
  }
  engine.events.onAny((event, payload) => port.post({ type: 'event', event, payload }));
  port.listen((message) => {
    void answer(engine, message).then((reply) => port.post(reply));
  });
  port.post({ type: 'ready' });
}

void main();

/**
 * The inside of the inference worker: one ModelSession, requests answered in order. Runs in its
 * own process so that a native crash in ONNX Runtime takes down only this process.
 */
import { KestrelError } from '../../contract/index.js';
import type { FromInference, ToInference } from './protocol.js';
import { ModelSession } from './session.js';
import { parentPort } from '../platform/index.js';

export function serveInference(): void {
  const port = parentPort<ToInference, FromInference>('The inference worker');
  const post = (message: FromInference): void => port.post(message);
  let session: ModelSession | undefined;
  let queue = Promise.resolve();

  async function answer(message: ToInference): Promise<unknown> {
    if (message.op === 'load') {
      await session?.close();
      session = undefined;
      session = await ModelSession.open(message.pack, message.options);
      return session.status;
    }
    const loaded = session;
    if (!loaded) throw new KestrelError({ code: 'unavailable', message: 'No model is loaded in the inference worker.' });
    if (message.op === 'tokenize') return message.texts.map((t) => loaded.tokenize(t));
    if (message.op === 'embedTexts') return loaded.embedTexts(message.texts);
    if (message.op === 'embedPixels') return loaded.embedPixels(message.pixels, message.count);
    return loaded.embedImageFiles(message.files);
  }

  port.listen((message) => {
    // One request at a time: ONNX Runtime already uses every core for one batch.
    queue = queue.then(async () => {
      try {
        post({ type: 'result', id: message.id, ok: true, value: await answer(message) });
      } catch (err) {
        post({ type: 'result', id: message.id, ok: false, error: KestrelError.from(err).toJSON() });
      }
    });
  });
  post({ type: 'ready', pid: process.pid });
}

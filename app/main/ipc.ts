import { dispatch, EVENT_CHANNEL, KestrelError, methodChannel, methodNames, type DispatchTarget, type Handlers } from '../contract/index.js';
import type { Pickers } from './pickers.js';
import { isTrustedSender } from './security.js';

/** The parts of Electron's ipcMain and its events the bridge uses (injected, so it is testable without Electron). */
export interface IpcMainLike {
  handle(channel: string, listener: (event: { senderFrame: { url: string } | null }, input: unknown) => unknown): void;
  removeHandler(channel: string): void;
}
export interface WebContentsLike {
  send(channel: string, message: unknown): void;
  isDestroyed(): boolean;
}

export type IpcReply = { ok: true; value: unknown } | { ok: false; error: ReturnType<KestrelError['toJSON']> };

/**
 * One ipcMain handler per contract method (no generic invoke): each checks that the sender is our
 * app:// page, puts the paths of picker grants in where a method takes paths (refusing raw paths:
 * the renderer never names a file), validates the input against the contract and answers with a
 * plain result object (Electron would otherwise strip the error's fields down to its message).
 * dialog.pick is answered here, by main's native dialog; everything else by the engine.
 */
export function registerIpc(ipcMain: IpcMainLike, target: DispatchTarget, webContents: () => WebContentsLike | undefined, pickers: Pickers): () => void {
  const handlers: Handlers = { ...target.handlers, 'dialog.pick': ({ purpose }) => pickers.pick(purpose) };
  for (const method of methodNames) {
    ipcMain.handle(methodChannel(method), async (event, input): Promise<IpcReply> => {
      if (!isTrustedSender(event.senderFrame?.url)) {
        return { ok: false, error: { code: 'unauthorized', message: 'IPC refused: the caller is not the Kestrel window.' } };
      }
      try {
        return { ok: true, value: await dispatch(handlers, method, pickers.resolve(method, input)) };
      } catch (err) {
        return { ok: false, error: KestrelError.from(err).toJSON() };
      }
    });
  }
  const stop = target.events.onAny((event, payload) => {
    const wc = webContents();
    if (wc && !wc.isDestroyed()) wc.send(EVENT_CHANNEL, { event, payload });
  });
  return () => {
    stop();
    for (const method of methodNames) ipcMain.removeHandler(methodChannel(method));
  };
}

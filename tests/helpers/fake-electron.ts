/**
 * The smallest stand-ins for Electron's ipcMain and dialog, for tests of the main process's own
 * code (registerIpc, Pickers) without Electron: they record what our code does and answer what the
 * test queued.
 */
import type { OpenDialogOptions } from 'electron';
import type { IpcMainLike, IpcReply } from '../../app/main/ipc.js';
import type { DialogLike } from '../../app/main/pickers.js';

type Listener = Parameters<IpcMainLike['handle']>[1];

/** ipcMain: keeps one handler per channel; `invoke` calls it as a renderer frame at `frameUrl` would. */
export class FakeIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, Listener>();
  handle(channel: string, listener: Listener): void {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  invoke(channel: string, frameUrl: string | null, input: unknown): Promise<IpcReply> {
    const h = this.handlers.get(channel);
    if (!h) throw new Error(`no handler for ${channel}`);
    return Promise.resolve(h({ senderFrame: frameUrl === null ? null : { url: frameUrl } }, input)) as Promise<IpcReply>;
  }
}

/** A dialog that answers what the test queued (a path, or null for a cancel) and records how it was opened. */
export class FakeDialog implements DialogLike {
  readonly opened: { window: unknown; options: OpenDialogOptions }[] = [];
  readonly answers: (string | null)[] = [];
  async showOpenDialog(window: unknown, options: OpenDialogOptions): Promise<{ canceled: boolean; filePaths: string[] }> {
    this.opened.push({ window, options });
    const path = this.answers.shift();
    if (path === undefined) throw new Error('the test queued no answer');
    return path === null ? { canceled: true, filePaths: [] } : { canceled: false, filePaths: [path] };
  }
}

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

type RendererListener = (event: unknown, message: unknown) => void;

/**
 * The renderer's half of Electron IPC for the real preload (app/preload/index.ts): `invoke` and `on`
 * as ipcRenderer has them, wired to a FakeIpcMain as a page at `frameUrl` would be. Values cross as
 * Electron sends them, by structured clone, both ways. `main` is swapped when the app restarts.
 */
export class FakeIpcRenderer {
  main: FakeIpcMain | undefined;
  private readonly listeners = new Map<string, Set<RendererListener>>();
  constructor(private readonly frameUrl: string) {}
  async invoke(channel: string, input: unknown): Promise<unknown> {
    if (!this.main) throw new Error('no main process is listening');
    return structuredClone(await this.main.invoke(channel, this.frameUrl, structuredClone(input)));
  }
  on(channel: string, listener: RendererListener): void {
    let set = this.listeners.get(channel);
    if (!set) this.listeners.set(channel, (set = new Set()));
    set.add(listener);
  }
  /** main's webContents for this page: `send` reaches the listeners registered with `on`. */
  webContents(): { send(channel: string, message: unknown): void; isDestroyed(): boolean } {
    return {
      send: (channel, message) => {
        for (const fn of this.listeners.get(channel) ?? []) fn({}, structuredClone(message));
      },
      isDestroyed: () => false,
    };
  }
}

/** contextBridge: keeps what the preload exposes, by world key, as the page would see it. */
export class FakeContextBridge {
  readonly exposed = new Map<string, unknown>();
  exposeInMainWorld(key: string, api: unknown): void {
    if (this.exposed.has(key)) throw new Error(`${key} is exposed twice`);
    this.exposed.set(key, api);
  }
}

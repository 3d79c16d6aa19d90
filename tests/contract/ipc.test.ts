/**
 * The shared contract suite over Electron IPC: the real preload (app/preload) exposes window.kestrel
 * through a fake contextBridge, its ipcRenderer reaches the real registerIpc (app/main/ipc.ts) through
 * the fake ipcMain, and dialog.pick is main's Pickers over a fake dialog. Only Electron's own modules
 * are stand-ins. The renderer never names a file: where the suite passes a path, this transport's
 * client does what the renderer does, choosing it in the (fake) native dialog and sending the grant.
 */
import { describe, expect, it, vi } from 'vitest';
import { methodChannel, type KestrelClient, type MethodName } from '../../app/contract/index.js';
import { openEngine } from '../../app/core/index.js';
import { registerIpc } from '../../app/main/ipc.js';
import { PATH_FIELDS, Pickers } from '../../app/main/pickers.js';
import { FakeContextBridge, FakeDialog, FakeIpcMain, FakeIpcRenderer } from '../helpers/fake-electron.js';
import { tempDir } from '../helpers/tmp.js';
import { describeContract } from './suite.js';

const electron = vi.hoisted(() => ({ ipcRenderer: undefined as unknown, contextBridge: undefined as unknown }));
vi.mock('electron', () => electron);

const renderer = new FakeIpcRenderer('app://kestrel/index.html');
const bridge = new FakeContextBridge();
electron.ipcRenderer = renderer;
electron.contextBridge = bridge;
await import('../../app/preload/index.js');
const kestrel = bridge.exposed.get('kestrel') as KestrelClient;

type Input = Record<string, unknown>;

/** The renderer's way with a path: choose it in the native dialog, send the grant in its place. */
async function withGrants(method: MethodName, input: unknown, dialog: FakeDialog): Promise<unknown> {
  const fields = PATH_FIELDS[method];
  if (!fields || input === null || typeof input !== 'object') return input;
  let out = input as Input;
  for (const field of fields) {
    const values = field.get(out);
    if (values === undefined) continue;
    const grants: string[] = [];
    for (const value of values) {
      if (typeof value !== 'string') return input; // not a path: let main refuse it as it would
      dialog.answers.push(value);
      const picked = await kestrel.call('dialog.pick', { purpose: field.purposes[0]! });
      if (!('grant' in picked)) throw new Error('the fake dialog was cancelled');
      grants.push(picked.grant);
    }
    out = field.set(out, grants);
  }
  return out;
}

describeContract(
  'Electron IPC (the preload and main’s handlers)',
  async (dataDir, options) => {
    const engine = await openEngine({ dataDir, runtime: 'desktop', ...options });
    const dialog = new FakeDialog();
    const ipcMain = new FakeIpcMain();
    const stop = registerIpc(ipcMain, engine, () => renderer.webContents(), new Pickers({ dialog, window: () => 'the window' }));
    renderer.main = ipcMain;
    const client: KestrelClient = {
      call: async (method, input) => kestrel.call(method, (await withGrants(method, input, dialog)) as never),
      on: (event, listener) => kestrel.on(event, listener),
    };
    return {
      client,
      eventsReady: async () => {},
      picker: { choose: (path) => void dialog.answers.push(path) },
      async close() {
        stop();
        renderer.main = undefined;
        expect(dialog.answers, 'every queued dialog answer was used').toEqual([]);
        await engine.close();
      },
    };
  },
  tempDir,
);

describe('contract over Electron IPC: what only the desktop transport does', () => {
  it('refuses a raw path from the page, and any call from a frame that is not the Kestrel window', async () => {
    const dir = await tempDir();
    const engine = await openEngine({ dataDir: dir.path, runtime: 'desktop' });
    const ipcMain = new FakeIpcMain();
    const stop = registerIpc(ipcMain, engine, () => renderer.webContents(), new Pickers({ dialog: new FakeDialog(), window: () => null }));
    renderer.main = ipcMain;
    try {
      await expect(kestrel.call('archives.add', { roots: [dir.path] })).rejects.toMatchObject({ code: 'forbidden', message: 'In the desktop app, choose files with the picker.' });
      await expect(kestrel.call('nope.nope' as never, {} as never)).rejects.toMatchObject({ code: 'unknown_method' });
      const foreign = await ipcMain.invoke(methodChannel('app.info'), 'https://example.com/', {});
      expect(foreign).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    } finally {
      stop();
      renderer.main = undefined;
      await engine.close();
      await dir.remove();
    }
  });
});

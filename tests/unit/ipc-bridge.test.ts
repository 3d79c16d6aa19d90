/**
 * The Electron side of the contract, with Electron's APIs replaced by the smallest fakes that
 * record what our code does; the logic under test (channels, sender checks, validation) is ours.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EVENT_CHANNEL, methodChannel, methodNames } from '../../app/contract/index.js';
import { openEngine, type Engine } from '../../app/core/index.js';
import { registerIpc, type IpcMainLike, type IpcReply } from '../../app/main/ipc.js';
import { isTrustedSender, windowOptions } from '../../app/main/security.js';
import { tempDir } from '../helpers/tmp.js';

type Listener = Parameters<IpcMainLike['handle']>[1];

class FakeIpcMain implements IpcMainLike {
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

describe('IPC bridge', () => {
  let dir: { path: string; remove(): Promise<void> };
  let engine: Engine;
  let ipc: FakeIpcMain;
  let sent: { channel: string; message: unknown }[];
  let unregister: () => void;
  const page = 'app://kestrel/index.html';

  beforeEach(async () => {
    dir = await tempDir();
    engine = await openEngine({ dataDir: dir.path, runtime: 'desktop' });
    ipc = new FakeIpcMain();
    sent = [];
    unregister = registerIpc(ipc, engine, () => ({ send: (channel, message) => sent.push({ channel, message }), isDestroyed: () => false }));
  });
  afterEach(async () => {
    await engine.close();
    await dir.remove();
  });

  it('registers exactly one channel per contract method and no generic one', () => {
    expect([...ipc.handlers.keys()].sort()).toEqual(methodNames.map(methodChannel).sort());
  });

  it('answers our own page', async () => {
    const reply = await ipc.invoke(methodChannel('settings.set'), page, { theme: 'dark' });
    expect(reply).toMatchObject({ ok: true, value: { theme: 'dark' } });
  });

  it('refuses any other sender: another origin, file://, a missing frame', async () => {
    for (const url of ['https://evil.example/', 'file:///etc/passwd', 'app://other/index.html', null]) {
      const reply = await ipc.invoke(methodChannel('settings.set'), url, { theme: 'dark' });
      expect(reply, String(url)).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    }
    expect((await engine.handlers['settings.get']({})).theme).toBe('system');
  });

  it('validates every input against the contract', async () => {
    const reply = await ipc.invoke(methodChannel('settings.set'), page, { searchTopK: 'many' });
    expect(reply).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });

  it('forwards engine events to the window and stops when unregistered', async () => {
    await ipc.invoke(methodChannel('settings.set'), page, { theme: 'light' });
    expect(sent).toEqual([{ channel: EVENT_CHANNEL, message: { event: 'settings.changed', payload: expect.objectContaining({ theme: 'light' }) } }]);
    unregister();
    expect(ipc.handlers.size).toBe(0);
    await engine.handlers['settings.set']({ theme: 'dark' });
    expect(sent).toHaveLength(1);
  });
});

describe('window security', () => {
  it('isolates the renderer: context isolation, sandbox, no Node, web security on', () => {
    const prefs = windowOptions('/x/preload.cjs').webPreferences!;
    expect(prefs).toMatchObject({
      preload: '/x/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });

  it('trusts only the app:// origin', () => {
    expect(isTrustedSender('app://kestrel/index.html')).toBe(true);
    expect(isTrustedSender('app://kestrel.evil/index.html')).toBe(false);
    expect(isTrustedSender('http://127.0.0.1:7733/')).toBe(false);
    expect(isTrustedSender(undefined)).toBe(false);
    expect(isTrustedSender('not a url')).toBe(false);
  });
});

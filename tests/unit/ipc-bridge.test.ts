/**
 * The Electron side of the contract, with Electron's APIs replaced by the smallest fakes that
 * record what our code does; the logic under test (channels, sender checks, validation) is ours.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EVENT_CHANNEL, methodChannel, methodNames } from '../../app/contract/index.js';
import { openEngine, type Engine } from '../../app/core/index.js';
import { registerIpc, type IpcReply } from '../../app/main/ipc.js';
import { PATH_FIELDS, PICK_DIALOGS, Pickers } from '../../app/main/pickers.js';
import { isTrustedSender, windowOptions } from '../../app/main/security.js';
import { FakeDialog, FakeIpcMain } from '../helpers/fake-electron.js';
import { tempDir } from '../helpers/tmp.js';

describe('IPC bridge', () => {
  let dir: { path: string; remove(): Promise<void> };
  let engine: Engine;
  let ipc: FakeIpcMain;
  let sent: { channel: string; message: unknown }[];
  let unregister: () => void;
  let dialog: FakeDialog;
  let clock: number;
  const theWindow = { title: 'Kestrel' };
  const page = 'app://kestrel/index.html';

  beforeEach(async () => {
    dir = await tempDir();
    engine = await openEngine({ dataDir: dir.path, runtime: 'desktop' });
    ipc = new FakeIpcMain();
    sent = [];
    dialog = new FakeDialog();
    clock = 1_000_000;
    const pickers = new Pickers({ dialog, window: () => theWindow, now: () => clock });
    unregister = registerIpc(ipc, engine, () => ({ send: (channel, message) => sent.push({ channel, message }), isDestroyed: () => false }), pickers);
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

describe('native pickers and the grant rule over IPC', () => {
  let dir: { path: string; remove(): Promise<void> };
  let engine: Engine;
  let ipc: FakeIpcMain;
  let dialog: FakeDialog;
  let clock: number;
  const theWindow = { title: 'Kestrel' };
  const page = 'app://kestrel/index.html';
  let folder: string;
  let captionFile: string;

  const pick = async (purpose: string, answer: string | null): Promise<IpcReply> => {
    dialog.answers.push(answer);
    return ipc.invoke(methodChannel('dialog.pick'), page, { purpose });
  };
  const grantOf = (reply: IpcReply): string => {
    if (!reply.ok) throw new Error(reply.error.message);
    return (reply.value as { grant: string }).grant;
  };

  beforeEach(async () => {
    dir = await tempDir();
    engine = await openEngine({ dataDir: join(dir.path, 'data'), runtime: 'desktop' });
    ipc = new FakeIpcMain();
    dialog = new FakeDialog();
    clock = 1_000_000;
    registerIpc(ipc, engine, () => undefined, new Pickers({ dialog, window: () => theWindow, now: () => clock }));
    folder = join(dir.path, 'Survey 2024');
    await mkdir(folder);
    captionFile = join(dir.path, 'captions.txt');
    await writeFile(captionFile, 'a harbour with boats\na runway next to a field\n');
  });
  afterEach(async () => {
    await engine.close();
    await dir.remove();
  });

  it('opens the purpose’s dialog parented to the window and answers an opaque grant with the base name only', async () => {
    const reply = await pick('archive-folder', folder);
    expect(reply).toEqual({ ok: true, value: { grant: expect.stringMatching(/^grant-[0-9a-f]{32}$/), label: 'Survey 2024' } });
    expect(JSON.stringify(reply)).not.toContain(dir.path);
    expect(dialog.opened[0]).toEqual({ window: theWindow, options: PICK_DIALOGS['archive-folder'] });
    expect(dialog.opened[0]!.options.properties).toEqual(['openDirectory']);
    await pick('caption-file', captionFile);
    expect(dialog.opened[1]!.options.properties).toEqual(['openFile']);
    expect(dialog.opened[1]!.options.filters?.[0]?.extensions).toEqual(['json', 'jsonl', 'txt']);
    // Two picks of the same folder are two different grants.
    expect(grantOf(await pick('archive-folder', folder))).not.toBe(grantOf(reply));
  });

  it('answers a cancelled dialog with {cancelled: true} and no grant', async () => {
    expect(await pick('checkpoint', null)).toEqual({ ok: true, value: { cancelled: true } });
    expect(dialog.opened[0]!.options.filters?.[0]?.extensions).toContain('safetensors');
  });

  it('refuses an unknown purpose before any dialog opens', async () => {
    expect(await ipc.invoke(methodChannel('dialog.pick'), page, { purpose: 'anything' })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(dialog.opened).toEqual([]);
  });

  it('puts the chosen folder’s path in for its grant: archives.add adds that folder', async () => {
    const a = grantOf(await pick('archive-folder', folder));
    const other = join(dir.path, 'Survey 2025');
    await mkdir(other);
    const b = grantOf(await pick('archive-folder', other));
    const reply = await ipc.invoke(methodChannel('archives.add'), page, { roots: [a, b], name: 'Surveys' });
    expect(reply).toMatchObject({ ok: true, value: { archive: { name: 'Surveys', roots: [folder, other] } } });
    expect((await engine.handlers['archives.list']({})).map((x) => x.roots)).toEqual([[folder, other]]);
  });

  it('puts the chosen file’s path in for captions.importBank', async () => {
    const g = grantOf(await pick('caption-file', captionFile));
    expect(await ipc.invoke(methodChannel('captions.importBank'), page, { file: g })).toEqual({ ok: true, value: { added: 2, bankSize: 2 } });
  });

  it('refuses a raw path where a method takes files, saying to use the picker', async () => {
    const add = await ipc.invoke(methodChannel('archives.add'), page, { roots: [folder] });
    expect(add).toMatchObject({ ok: false, error: { code: 'forbidden', message: 'In the desktop app, choose files with the picker.', hint: expect.stringContaining('roots.0') } });
    const bank = await ipc.invoke(methodChannel('captions.importBank'), page, { file: captionFile });
    expect(bank).toMatchObject({ ok: false, error: { code: 'forbidden', hint: expect.stringContaining('caption-file') } });
    // A good grant next to a raw path does not let the path through.
    const g = grantOf(await pick('archive-folder', folder));
    expect(await ipc.invoke(methodChannel('archives.add'), page, { roots: [g, dir.path] })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await engine.handlers['archives.list']({})).toEqual([]);
    // Made-up grants and non-strings are refused the same way.
    expect(await ipc.invoke(methodChannel('archives.add'), page, { roots: [`grant-${'0'.repeat(32)}`] })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await ipc.invoke(methodChannel('captions.importBank'), page, { file: 7 })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('takes grants for the checkpoint of models.import and the basemap paths of settings.set, and refuses raw paths there', async () => {
    // models.import: the grant's file reaches the engine (which then refuses it as no checkpoint, naming it).
    const ckpt = grantOf(await pick('checkpoint', captionFile));
    const imported = await ipc.invoke(methodChannel('models.import'), page, { file: ckpt });
    expect(JSON.stringify(imported)).not.toContain('forbidden');
    expect(await ipc.invoke(methodChannel('models.import'), page, { file: captionFile })).toMatchObject({ ok: false, error: { code: 'forbidden', hint: expect.stringContaining('checkpoint') } });
    // settings.set: basemap.folder needs a basemap-folder grant, basemap.file a basemap-mbtiles one.
    const raw = await ipc.invoke(methodChannel('settings.set'), page, { basemap: { kind: 'xyz', folder } });
    expect(raw).toMatchObject({ ok: false, error: { code: 'forbidden', hint: expect.stringContaining('basemap.folder') } });
    const wrong = grantOf(await pick('basemap-mbtiles', folder));
    expect(await ipc.invoke(methodChannel('settings.set'), page, { basemap: { kind: 'xyz', folder: wrong } })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const g = grantOf(await pick('basemap-folder', folder));
    // The engine gets the real folder: it has no tiles, and the engine's refusal names it.
    const reply = await ipc.invoke(methodChannel('settings.set'), page, { basemap: { kind: 'xyz', folder: g } });
    expect(reply).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(JSON.stringify(reply)).toContain('Survey 2024');
    // Settings without a basemap path pass untouched.
    expect(await ipc.invoke(methodChannel('settings.set'), page, { theme: 'dark' })).toMatchObject({ ok: true, value: { theme: 'dark' } });
    expect(await ipc.invoke(methodChannel('settings.set'), page, { basemap: null })).toMatchObject({ ok: true, value: { basemap: null } });
  });

  it('refuses a grant of another purpose', async () => {
    const g = grantOf(await pick('caption-file', captionFile));
    expect(await ipc.invoke(methodChannel('archives.add'), page, { roots: [g] })).toMatchObject({
      ok: false,
      error: { code: 'forbidden', message: expect.stringMatching(/caption-file.*archive-folder/) },
    });
    const f = grantOf(await pick('archive-folder', folder));
    expect(await ipc.invoke(methodChannel('captions.importBank'), page, { file: f })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await engine.handlers['archives.list']({})).toEqual([]);
  });

  it('uses a grant once: the second call with it is refused, as is the same grant twice in one call', async () => {
    const g = grantOf(await pick('caption-file', captionFile));
    expect(await ipc.invoke(methodChannel('captions.importBank'), page, { file: g })).toMatchObject({ ok: true });
    expect(await ipc.invoke(methodChannel('captions.importBank'), page, { file: g })).toMatchObject({ ok: false, error: { code: 'forbidden', message: expect.stringMatching(/used already/) } });
    const r = grantOf(await pick('archive-folder', folder));
    expect(await ipc.invoke(methodChannel('archives.add'), page, { roots: [r, r] })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('refuses a grant older than ten minutes', async () => {
    const g = grantOf(await pick('archive-folder', folder));
    clock += 10 * 60_000;
    expect(await ipc.invoke(methodChannel('archives.add'), page, { roots: [g] })).toMatchObject({ ok: false, error: { code: 'forbidden', message: expect.stringMatching(/expired/) } });
    const fresh = grantOf(await pick('archive-folder', folder));
    clock += 10 * 60_000 - 1;
    expect(await ipc.invoke(methodChannel('archives.add'), page, { roots: [fresh] })).toMatchObject({ ok: true });
  });

  it('still refuses an untrusted sender, for the picker and with a good grant, without opening a dialog or using the grant', async () => {
    expect(await ipc.invoke(methodChannel('dialog.pick'), 'https://evil.example/', { purpose: 'archive-folder' })).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect(dialog.opened).toEqual([]);
    const g = grantOf(await pick('archive-folder', folder));
    expect(await ipc.invoke(methodChannel('archives.add'), 'app://other/index.html', { roots: [g] })).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect(await ipc.invoke(methodChannel('archives.add'), page, { roots: [g] })).toMatchObject({ ok: true });
  });

  it('leaves methods without paths alone', async () => {
    expect(PATH_FIELDS['search.query']).toBeUndefined();
    expect(await ipc.invoke(methodChannel('search.query'), page, { text: '/etc/passwd' })).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(await ipc.invoke(methodChannel('archives.list'), page, {})).toEqual({ ok: true, value: [] });
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

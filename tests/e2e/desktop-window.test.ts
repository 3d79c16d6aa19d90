/**
 * The desktop app's window, short of Electron itself. Electron's binary cannot run on these machines
 * (tests/e2e/electron.test.ts skips itself), so the renderer's Electron code path (native pickers,
 * grants where paths would be) runs in Chromium, with Electron replaced by the thinnest fakes:
 *
 * Fake, and why:
 * - `require('electron')` in the preload: contextBridge.exposeInMainWorld sets window[key] directly
 *   (no isolated world to bridge from); ipcRenderer.invoke goes to a function exposed with
 *   page.exposeFunction, and ipcRenderer.on keeps the listener for webContents.send to call through
 *   page.evaluate. Both travel through the debugging protocol, which the page's CSP does not govern.
 * - ipcMain and dialog (tests/helpers/fake-electron.ts): ipcMain calls our handlers as the app://
 *   page (the sender every handler checks; the page really comes from http://127.0.0.1 here), and the
 *   dialog answers what each test queued instead of asking a person.
 * - The window the dialog is parented to is an empty object.
 *
 * Real: the built preload (out/preload/index.cjs, run as is), registerIpc and Pickers from
 * app/main, an engine opened in this process with runtime 'desktop', and the built renderer, served
 * by startServer over that engine only to get the files into the page. Every contract call the page
 * makes goes preload → fake ipcMain → registerIpc → Pickers → engine; none goes over HTTP.
 *
 * Scene tiles, thumbnails and basemap tiles use the tiles://, thumbs:// and basemap:// schemes under
 * Electron, which Chromium does not know: those load errors, and only those, are expected.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, symlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MethodName } from '../../app/contract/index.js';
import { openEngine, type Engine } from '../../app/core/index.js';
import { registerIpc } from '../../app/main/ipc.js';
import { PATH_FIELDS, PICK_DIALOGS, Pickers } from '../../app/main/pickers.js';
import { startServer, type RunningServer } from '../../app/server/index.js';
import { worldTiles, writeMbtiles } from '../helpers/basemap.js';
import { FakeDialog, FakeIpcMain } from '../helpers/fake-electron.js';
import { tempDir } from '../helpers/tmp.js';
import { artifacts, launchChromium, requireBuild, root } from './helpers.js';

/** The shared real data, read in place (never copied). */
const sharedData = resolve(root, '..', 'shared', 'data');
const sharedGeotiff = join(sharedData, 'geotiff');
const captionBank = join(sharedData, 'captions', 'sydney.karpathy.json');
const fixtures = join(root, 'tests', 'fixtures');
const checkpoint = join(fixtures, 'importer', 'openclip-tiny-gelu-nested.pt');
/** The page as Electron loads it: the only sender registerIpc answers. */
const APP_PAGE = 'app://kestrel/index.html';
const INVOKE = '__fakeElectronInvoke';
const EMIT = '__fakeElectronEmit';
const GRANT = /^grant-[0-9a-f]{32}$/;

/** The built preload, run in the page with `require('electron')` answered by the fakes above. */
function preloadScript(): string {
  const preload = readFileSync(join(root, 'out', 'preload', 'index.cjs'), 'utf8');
  return `(() => {
  const listeners = new Map();
  const electron = {
    contextBridge: { exposeInMainWorld(key, api) { window[key] = api; } },
    ipcRenderer: {
      invoke: (channel, input) => window.${INVOKE}(channel, input),
      on(channel, fn) {
        if (!listeners.has(channel)) listeners.set(channel, []);
        listeners.get(channel).push(fn);
      },
    },
  };
  Object.defineProperty(window, '${EMIT}', { value: (channel, message) => { for (const fn of listeners.get(channel) ?? []) fn({}, message); } });
  const require = (name) => {
    if (name === 'electron') return electron;
    throw new Error('The sandboxed preload may require only electron, not ' + name);
  };
  const module = { exports: {} };
  (function (require, module, exports) {
${preload}
  })(require, module, module.exports);
})();`;
}

const haveData = existsSync(join(sharedGeotiff, 'cogeo.tif')) && existsSync(captionBank);
if (!haveData) console.log('Desktop window test skipped: ../shared/data is absent.');

describe.skipIf(!haveData)("the desktop app's window, short of Electron itself", () => {
  let dir: { path: string; remove(): Promise<void> };
  let engine: Engine;
  let server: RunningServer;
  let browser: Browser;
  let page: Page | undefined;
  const ipc = new FakeIpcMain();
  const dialog = new FakeDialog();
  /** Every contract call the page made, as the page sent it (before main put paths in for grants). */
  const sent: { method: string; input: unknown }[] = [];
  const apiRequests: string[] = [];
  const problems: string[] = [];
  let folder: string;
  let mbtiles: string;
  let stopIpc: () => void;

  /** Opens the side panel's tab. */
  const tab = (name: string): Promise<void> => page!.getByRole('tab', { name }).click();
  const sentFor = (method: MethodName): unknown[] => sent.filter((s) => s.method === method).map((s) => s.input);

  beforeAll(async () => {
    requireBuild();
    await mkdir(artifacts, { recursive: true });
    dir = await tempDir('kestrel-desktop-');
    const dataDir = join(dir.path, 'data');
    // A tiny model pack, installed and active, as the contract suite does.
    await mkdir(join(dataDir, 'models'), { recursive: true });
    await cp(join(fixtures, 'model', 'packs', 'tiny-gelu'), join(dataDir, 'models', 'tiny-g'), { recursive: true });
    engine = await openEngine({ dataDir, runtime: 'desktop' });
    await engine.handlers['models.activate']({ id: 'tiny-g' });
    await engine.handlers['settings.set']({ welcomeDismissed: true });
    // The folder the archive picker chooses: links to two small real GeoTIFFs (read in place).
    folder = join(dir.path, 'Harbour survey');
    await mkdir(folder);
    await symlink(join(sharedGeotiff, 'rio-tiler', 'cog_rgb.tif'), join(folder, 'cog_rgb.tif'));
    await symlink(join(sharedGeotiff, 'cogeo.tif'), join(folder, 'cogeo.tif'));
    mbtiles = join(dir.path, 'grid-world.mbtiles');
    writeMbtiles(mbtiles, await worldTiles(1), { name: 'Grid world', format: 'png', minzoom: '0', maxzoom: '1', bounds: '-180,-85.0511,180,85.0511' });

    stopIpc = registerIpc(
      ipc,
      engine,
      () =>
        page && {
          isDestroyed: () => page!.isClosed(),
          send: (channel, message) => {
            void page!
              .evaluate(([name, c, m]) => (window as unknown as Record<string, (c: string, m: unknown) => void>)[name]?.(c, m), [EMIT, channel, message] as const)
              .catch((err: Error) => {
                // A page that is navigating drops the message, as Electron's webContents.send does while a
                // new document loads; anything else is a failure of the step it happened in.
                if (/Execution context was destroyed|navigation/i.test(err.message)) return;
                problems.push(`event ${channel} not delivered: ${err.message}`);
              });
          },
        },
      new Pickers({ dialog, window: () => ({}) }),
    );
    server = await startServer({ target: engine, port: 0, staticDir: join(root, 'out', 'renderer') });

    browser = await launchChromium();
    const p = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await p.exposeFunction(INVOKE, (channel: string, input: unknown) => {
      sent.push({ method: channel.replace(/^kestrel:call:/, ''), input });
      return ipc.invoke(channel, APP_PAGE, input);
    });
    await p.addInitScript(preloadScript());
    p.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/api/')) apiRequests.push(r.url());
    });
    p.on('websocket', (ws) => apiRequests.push(ws.url()));
    p.on('console', (m) => {
      if (m.type() !== 'error' && m.type() !== 'warning') return;
      if (m.text().includes('net::ERR_UNKNOWN_URL_SCHEME') && /^(tiles|thumbs|basemap):\/\//.test(m.location().url)) return;
      problems.push(`${m.type()}: ${m.text()} (${m.location().url})`);
    });
    p.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page = p;
  });

  afterAll(async () => {
    await browser?.close();
    stopIpc?.();
    await server?.close();
    await engine?.close();
    await dir?.remove();
  });

  // A page error, a console error other than the unknown schemes, or an event that could not be delivered fails the step it happened in.
  afterEach(() => {
    expect(problems.splice(0)).toEqual([]);
  });

  it('talks to main over IPC, not HTTP: no request to /api/, and app.info says desktop', async () => {
    await page!.goto(server.url);
    await page!.waitForSelector('main[data-ready="true"]');
    expect(await page!.evaluate(() => Object.keys((window as unknown as { kestrel: object }).kestrel).sort())).toEqual(['call', 'on']);
    const info = await page!.evaluate(() => (window as unknown as { kestrel: { call(m: string, i: object): Promise<{ runtime: string }> } }).kestrel.call('app.info', {}));
    expect(info.runtime).toBe('desktop');
    expect(sentFor('settings.get').length).toBeGreaterThan(0);
    expect(apiRequests).toEqual([]);
    // Events come back through webContents.send: a settings change made by the engine shows in the page.
    await engine.handlers['settings.set']({ theme: 'dark' });
    await expect.poll(() => page!.locator('html').getAttribute('data-theme')).toBe('dark');
  });

  it('Archives: a folder chosen in the picker, shown by name, added and indexed; a cancelled picker changes nothing', async () => {
    await tab('Archives');
    expect(await page!.getByLabel('Folder to add').count()).toBe(0);
    const chooseFirst = page!.getByRole('button', { name: 'Choose folder…' });
    const addButton = page!.getByRole('button', { name: 'Add and index' });
    const toAdd = page!.getByRole('list', { name: 'Folders to add' });
    // Cancelled: nothing picked, nothing to add.
    dialog.answers.push(null);
    await chooseFirst.click();
    await expect.poll(() => dialog.opened.length).toBe(1);
    expect(dialog.opened[0]!.options).toEqual(PICK_DIALOGS['archive-folder']);
    expect(await toAdd.count()).toBe(0);
    expect(await addButton.isDisabled()).toBe(true);
    // Chosen: the folder's name, not its path.
    dialog.answers.push(folder);
    await chooseFirst.click();
    await expect.poll(() => toAdd.getByRole('listitem').allInnerTexts()).toEqual([expect.stringMatching(/^Harbour survey\s*×?$/)]);
    expect(await page!.locator('form.add').innerText()).not.toContain(dir.path);
    // Cancelled again: the folder already chosen stays, alone.
    dialog.answers.push(null);
    await page!.getByRole('button', { name: 'Choose another folder…' }).click();
    await expect.poll(() => dialog.opened.length).toBe(3);
    expect(await toAdd.getByRole('listitem').count()).toBe(1);
    await page!.screenshot({ path: join(artifacts, 'desktop-archives-picked.png') });

    await addButton.click();
    const archive = page!.getByRole('list', { name: 'Archives' }).getByRole('listitem').filter({ hasText: 'Harbour survey' });
    await archive.waitFor({ timeout: 30_000 });
    await expect.poll(() => archive.locator('.job').getAttribute('data-state'), { timeout: 60_000 }).toBe('done');
    expect(await archive.innerText()).toMatch(/2 scenes[\s\S]*2\/2 scenes/);
    // Main put the real folder in for the grant.
    expect((await engine.handlers['archives.list']({})).map((a) => ({ name: a.name, roots: a.roots }))).toEqual([{ name: 'Harbour survey', roots: [folder] }]);
    expect(sentFor('archives.add')).toEqual([{ roots: [expect.stringMatching(GRANT)] }]);
  });

  it('Models: a checkpoint chosen in the picker, shown read-only by name, imported as a pack', async () => {
    await tab('Models');
    const field = page!.getByRole('textbox', { name: 'Checkpoint file' });
    expect(await field.getAttribute('readonly')).not.toBeNull();
    dialog.answers.push(checkpoint);
    await page!.getByRole('button', { name: 'Choose…' }).click();
    await expect.poll(() => field.inputValue()).toBe('openclip-tiny-gelu-nested.pt');
    expect(dialog.opened.at(-1)!.options).toEqual(PICK_DIALOGS.checkpoint);
    await page!.getByRole('textbox', { name: 'Pack name' }).fill('Picked tiny');
    await page!.screenshot({ path: join(artifacts, 'desktop-models-picked.png') });
    await page!.getByRole('button', { name: 'Import', exact: true }).click();
    await expect.poll(() => page!.locator('.import-job').getAttribute('data-state'), { timeout: 60_000 }).toBe('done');
    expect(await page!.locator('.import-job').innerText()).toMatch(/Imported as Picked tiny/);
    const pack = page!.getByRole('list', { name: 'Model packs' }).getByRole('listitem').filter({ hasText: 'Picked tiny' });
    await expect.poll(() => pack.count()).toBe(1);
    expect(await pack.innerText()).toMatch(/openclip-tiny-gelu-nested\.pt/);
    expect(sentFor('models.import')).toEqual([expect.objectContaining({ file: expect.stringMatching(GRANT), name: 'Picked tiny' })]);
    // The grant is used up: importing again takes a new choice (the name alone would go to main as a path).
    expect(await page!.getByRole('button', { name: 'Import', exact: true }).isDisabled()).toBe(true);
  });

  it('Captions: a caption bank chosen in the picker is imported; the count and bank size are shown', async () => {
    await tab('Captions');
    const bank = page!.getByRole('region', { name: 'Import caption bank' });
    expect(await bank.getByRole('textbox').count()).toBe(0);
    dialog.answers.push(captionBank);
    await bank.getByRole('button', { name: 'Choose caption file…' }).click();
    const status = bank.getByRole('status');
    await expect.poll(() => status.innerText().catch(() => ''), { timeout: 30_000 }).toMatch(/^Added \d+ captions from sydney\.karpathy\.json; the bank holds \d+\.$/);
    const [, added, size] = /Added (\d+) .* holds (\d+)/.exec(await status.innerText())!;
    expect(Number(added)).toBeGreaterThan(100);
    expect(Number(size)).toBe(Number(added));
    expect(dialog.opened.at(-1)!.options).toEqual(PICK_DIALOGS['caption-file']);
    expect(sentFor('captions.importBank')).toEqual([{ file: expect.stringMatching(GRANT) }]);
  });

  it('Settings: an MBTiles basemap chosen in the picker becomes the current basemap', async () => {
    await tab('Settings');
    await page!.getByLabel('Basemap source').selectOption('mbtiles');
    const field = page!.getByLabel('Basemap MBTiles file');
    expect(await field.getAttribute('readonly')).not.toBeNull();
    dialog.answers.push(mbtiles);
    await page!.getByRole('form', { name: 'Basemap' }).getByRole('button', { name: 'Choose…' }).click();
    await expect.poll(() => field.inputValue()).toBe('grid-world.mbtiles');
    expect(dialog.opened.at(-1)!.options).toEqual(PICK_DIALOGS['basemap-mbtiles']);
    await page!.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page!.getByLabel('Current basemap').textContent().catch(() => '')).toMatch(/Grid world.*MBTiles.*PNG.*zoom 0–1/s);
    expect((await engine.handlers['settings.get']({})).basemap).toEqual({ kind: 'mbtiles', file: mbtiles });
    // Another source needs its own choice: the MBTiles file in the field is not sent as a tile folder.
    await page!.getByLabel('Basemap source').selectOption('xyz');
    expect(await page!.getByLabel('Basemap tile folder').inputValue()).toBe('');
    expect(await page!.getByRole('button', { name: 'Apply' }).isDisabled()).toBe(true);
    await page!.getByLabel('Basemap source').selectOption('mbtiles');
    expect(await field.inputValue()).toBe(mbtiles);
    expect(await page!.getByRole('button', { name: 'Apply' }).isDisabled()).toBe(true);
  });

  it('the grant rule held: no chosen path crossed from the page, every path field carried a grant, and a raw path is refused', async () => {
    // Nothing the page sent names a chosen file or folder, or the folders they are in.
    for (const { method, input } of sent) {
      const text = JSON.stringify(input) ?? '';
      for (const secret of [dir.path, basename(dir.path), fixtures, sharedData]) expect(text, `${method} ${text}`).not.toContain(secret);
    }
    expect(apiRequests).toEqual([]);
    // Six pickers opened (three of them cancelled or answered in the Archives step), each answered.
    expect(dialog.opened).toHaveLength(6);
    expect(dialog.answers).toEqual([]);
    const carried: string[] = [];
    for (const { method, input } of sent) {
      for (const field of PATH_FIELDS[method as MethodName] ?? []) carried.push(...((field.get(input as Record<string, unknown>) ?? []) as string[]));
    }
    // archives.add, models.import, captions.importBank and settings.set's basemap.file: four grants, each its own.
    expect(carried).toHaveLength(4);
    for (const value of carried) expect(value).toMatch(GRANT);
    expect(new Set(carried).size).toBe(4);

    const refused = await page!.evaluate(() =>
      (window as unknown as { kestrel: { call(m: string, i: object): Promise<unknown> } }).kestrel.call('archives.add', { roots: ['/tmp'] }).then(
        () => null,
        (err: { code: string; message: string }) => ({ code: err.code, message: err.message }),
      ),
    );
    expect(refused).toEqual({ code: 'forbidden', message: 'In the desktop app, choose files with the picker.' });
    expect(await engine.handlers['archives.list']({})).toHaveLength(1);
    expect(apiRequests).toEqual([]);
  });
});

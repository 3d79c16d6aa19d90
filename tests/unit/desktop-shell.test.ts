/**
 * The desktop security checklist, item by item, on what the shell actually does: Electron's APIs
 * are minimal recording fakes; the engine is the real one in a real child process.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { BrowserWindowConstructorOptions } from 'electron';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { methodChannel } from '../../app/contract/index.js';
import { prepareDesktop, startDesktop, type ElectronLike, type WebContentsLike } from '../../app/main/desktop.js';
import { EngineProcess } from '../../app/main/engine-process.js';
import type { IpcReply } from '../../app/main/ipc.js';
import { engineForker } from '../helpers/engine-child.js';
import { tempDir } from '../helpers/tmp.js';

type Nav = (event: { preventDefault(): void }, url: string) => void;

class FakeContents implements WebContentsLike {
  openHandler?: (d: { url: string }) => { action: 'deny' } | { action: 'allow' };
  nav = new Map<string, Nav>();
  sent: unknown[] = [];
  send(_channel: string, message: unknown): void {
    this.sent.push(message);
  }
  isDestroyed(): boolean {
    return false;
  }
  setWindowOpenHandler(h: NonNullable<FakeContents['openHandler']>): void {
    this.openHandler = h;
  }
  on(event: string, fn: Nav): void {
    this.nav.set(event, fn);
  }
  /** Returns whether navigation to `url` was prevented. */
  navigate(url: string, event = 'will-navigate'): boolean {
    let prevented = false;
    this.nav.get(event)!({ preventDefault: () => (prevented = true) }, url);
    return prevented;
  }
}

function fakeElectron(userData: string) {
  const record = {
    windows: [] as { options: BrowserWindowConstructorOptions; contents: FakeContents; loaded?: string }[],
    schemes: [] as string[],
    privileged: [] as { scheme: string; privileges: object }[],
    handlers: new Map<string, (request: Request) => Promise<Response>>(),
    ipc: new Map<string, (event: { senderFrame: { url: string } | null }, input: unknown) => unknown>(),
    external: [] as string[],
    lockRequested: 0,
    permissionHandler: undefined as undefined | ((wc: unknown, permission: string, cb: (granted: boolean) => void) => void),
    permissionCheck: undefined as undefined | ((...args: unknown[]) => boolean),
    appListeners: new Map<string, (...args: unknown[]) => void>(),
    dialogs: [] as { window: unknown; options: { properties?: string[] } }[],
  };
  const electron: ElectronLike = {
    app: {
      requestSingleInstanceLock: () => (record.lockRequested++, true),
      whenReady: async () => {},
      getPath: () => userData,
      on: (event: string, fn: (...args: never[]) => void) => void record.appListeners.set(event, fn as (...args: unknown[]) => void),
      quit: () => {},
      exit: () => {},
    },
    BrowserWindow: class {
      webContents = new FakeContents();
      constructor(options: BrowserWindowConstructorOptions) {
        record.windows.push({ options, contents: this.webContents });
      }
      async loadURL(url: string): Promise<void> {
        record.windows.at(-1)!.loaded = url;
      }
      once(): void {}
      show(): void {}
      focus(): void {}
      restore(): void {}
      isMinimized(): boolean {
        return false;
      }
    },
    ipcMain: { handle: (channel, fn) => void record.ipc.set(channel, fn), removeHandler: (c) => void record.ipc.delete(c) },
    protocol: {
      registerSchemesAsPrivileged: (s) => void record.privileged.push(...s),
      handle: (scheme, fn) => void record.handlers.set(scheme, fn),
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (h) => void (record.permissionHandler = h),
        setPermissionCheckHandler: (h) => void (record.permissionCheck = h),
      },
    },
    shell: { openExternal: async (url) => void record.external.push(url) },
    dialog: {
      showErrorBox: () => {},
      showOpenDialog: async (window, options) => {
        record.dialogs.push({ window, options });
        return { canceled: false, filePaths: [userData] };
      },
    },
  };
  return { electron, record };
}

describe('desktop shell security checklist', () => {
  let dir: { path: string; remove(): Promise<void> };
  let children: ChildProcess[];
  let engine: EngineProcess;
  let record: ReturnType<typeof fakeElectron>['record'];

  beforeAll(async () => {
    dir = await tempDir();
    children = [];
    const fake = fakeElectron(join(dir.path, 'userData'));
    record = fake.record;
    expect(prepareDesktop(fake.electron)).toBe(true);
    await startDesktop(fake.electron, {
      preloadPath: '/app/out/preload/index.cjs',
      env: {},
      createEngine: (dataDir) => (engine = new EngineProcess({ fork: engineForker(dataDir, children) })),
    });
  });
  afterAll(async () => {
    await engine?.close();
    for (const c of children) c.kill('SIGKILL');
    await dir.remove();
  });

  const win = () => record.windows[0]!;

  it('opens exactly one window', () => {
    expect(record.windows).toHaveLength(1);
  });

  it('isolates the renderer: contextIsolation, sandbox, no nodeIntegration, our preload', () => {
    expect(win().options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      webviewTag: false,
      preload: '/app/out/preload/index.cjs',
    });
  });

  it('loads the renderer from app://, never file://', () => {
    expect(win().loaded).toBe('app://kestrel/index.html');
  });

  it('registers app://, tiles://, thumbs:// and basemap:// as privileged schemes with handlers', () => {
    expect(record.privileged.map((s) => s.scheme).sort()).toEqual(['app', 'basemap', 'thumbs', 'tiles']);
    expect([...record.handlers.keys()].sort()).toEqual(['app', 'basemap', 'thumbs', 'tiles']);
    expect(record.privileged.find((s) => s.scheme === 'basemap')?.privileges).toEqual(record.privileged.find((s) => s.scheme === 'tiles')?.privileges);
  });

  it('serves app:// pages with a strict CSP', async () => {
    const res = await record.handlers.get('app')!(new Request('app://kestrel/index.html'));
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe');
    // Images from our own schemes only: the scenes' tiles, the thumbnails and the local basemap.
    expect(csp).toContain("img-src 'self' data: blob: tiles: thumbs: basemap:");
  });

  it('resolves tiles:// through the engine by id (no scene exists yet: 404), and refuses paths', async () => {
    expect((await record.handlers.get('tiles')!(new Request('tiles://abc/1/0/0'))).status).toBe(404);
    expect((await record.handlers.get('tiles')!(new Request('tiles://abc/../../etc/passwd'))).status).toBe(400);
  });

  it('resolves basemap:// through the engine process (no basemap set: 404), and refuses paths', async () => {
    expect((await record.handlers.get('basemap')!(new Request('basemap://tile/1/0/0'))).status).toBe(404);
    expect((await record.handlers.get('basemap')!(new Request('basemap://tile/../../etc/passwd'))).status).toBe(400);
  });

  it('denies every permission request and check', () => {
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) {
      let granted: boolean | undefined;
      record.permissionHandler!({}, permission, (g) => (granted = g));
      expect(granted, permission).toBe(false);
    }
    expect(record.permissionCheck!({}, 'media')).toBe(false);
  });

  it('blocks navigation away from app:// and every window.open; opens allowlisted links externally only', () => {
    const c = win().contents;
    expect(c.navigate('https://evil.example/')).toBe(true);
    expect(c.navigate('file:///etc/passwd')).toBe(true);
    expect(c.navigate('https://evil.example/', 'will-redirect')).toBe(true);
    expect(c.navigate('app://kestrel/index.html')).toBe(false);
    expect(c.openHandler!({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    expect(c.openHandler!({ url: 'https://arxiv.org/abs/2404.18253' })).toEqual({ action: 'deny' });
    expect(record.external).toEqual(['https://arxiv.org/abs/2404.18253']);
  });

  it('guards any other web contents created later too', () => {
    const other = new FakeContents();
    record.appListeners.get('web-contents-created')!({}, other);
    expect(other.navigate('https://evil.example/')).toBe(true);
    expect(other.openHandler!({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
  });

  it('takes the single-instance lock', () => {
    expect(record.lockRequested).toBe(1);
  });

  it("keeps the data folder under the OS's user data path", async () => {
    const reply = (await record.ipc.get(methodChannel('app.info'))!({ senderFrame: { url: 'app://kestrel/index.html' } }, {})) as IpcReply;
    expect(reply.ok && (reply.value as { dataDir: string }).dataDir).toBe(join(dir.path, 'userData', 'data'));
  });

  it('answers dialog.pick with a folder dialog parented to the window, and takes grants, not paths, for archives.add', async () => {
    const page = { senderFrame: { url: 'app://kestrel/index.html' } };
    const picked = (await record.ipc.get(methodChannel('dialog.pick'))!(page, { purpose: 'archive-folder' })) as IpcReply;
    expect(picked).toMatchObject({ ok: true, value: { grant: expect.stringMatching(/^grant-[0-9a-f]{32}$/), label: 'userData' } });
    expect(record.dialogs).toHaveLength(1);
    expect((record.dialogs[0]!.window as { webContents: unknown }).webContents).toBe(record.windows[0]!.contents);
    expect(record.dialogs[0]!.options.properties).toEqual(['openDirectory']);
    const raw = (await record.ipc.get(methodChannel('archives.add'))!(page, { roots: [join(dir.path, 'userData')] })) as IpcReply;
    expect(raw).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('answers IPC only from our page, on one channel per method', async () => {
    const reply = (await record.ipc.get(methodChannel('settings.get'))!({ senderFrame: { url: 'https://evil.example/' } }, {})) as IpcReply;
    expect(reply).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect([...record.ipc.keys()].every((c) => c.startsWith('kestrel:call:'))).toBe(true);
  });
});

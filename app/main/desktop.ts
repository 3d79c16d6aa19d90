/**
 * The desktop shell's wiring, with Electron's APIs passed in (index.ts passes the real module;
 * tests pass minimal fakes and inspect what was done). Main only routes: the engine runs in a
 * utility process (EngineProcess), the renderer is sandboxed and sees only the contract.
 */
import { join } from 'node:path';
import type { BrowserWindowConstructorOptions, Privileges, WebContents } from 'electron';
import { DATA_DIR_ENV, rendererDir } from '../core/index.js';
import type { DispatchTarget } from '../contract/index.js';
import { registerIpc, type IpcMainLike } from './ipc.js';
import { Pickers, type DialogLike } from './pickers.js';
import { appProtocol, basemapProtocol, thumbsProtocol, tilesProtocol, type AssetSource } from './protocols.js';
import { APP_ORIGIN, isAllowedExternal, windowOptions } from './security.js';

export interface WindowLike {
  webContents: WebContentsLike;
  loadURL(url: string): Promise<void>;
  once(event: 'ready-to-show', fn: () => void): void;
  show(): void;
  focus(): void;
  restore(): void;
  isMinimized(): boolean;
}

export interface WebContentsLike {
  send(channel: string, message: unknown): void;
  isDestroyed(): boolean;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' } | { action: 'allow' }): void;
  on(event: 'will-navigate' | 'will-redirect', fn: (event: { preventDefault(): void }, url: string) => void): void;
}

/** The subset of Electron the shell uses. */
export interface ElectronLike {
  app: {
    requestSingleInstanceLock(): boolean;
    whenReady(): Promise<void>;
    getPath(name: 'userData'): string;
    on(event: 'second-instance' | 'window-all-closed', fn: () => void): void;
    on(event: 'web-contents-created', fn: (event: unknown, contents: WebContentsLike) => void): void;
    quit(): void;
    exit(code: number): void;
  };
  BrowserWindow: new (options: BrowserWindowConstructorOptions) => WindowLike;
  ipcMain: IpcMainLike;
  protocol: {
    registerSchemesAsPrivileged(schemes: { scheme: string; privileges: Privileges }[]): void;
    handle(scheme: string, handler: (request: Request) => Promise<Response>): void;
  };
  session: {
    defaultSession: {
      setPermissionRequestHandler(handler: (wc: unknown, permission: string, callback: (granted: boolean) => void) => void): void;
      setPermissionCheckHandler(handler: (...args: unknown[]) => boolean): void;
    };
  };
  shell: { openExternal(url: string): Promise<void> };
  dialog: { showErrorBox(title: string, content: string): void } & DialogLike;
}

/** What main needs of the engine: the contract, the assets by id, and a way to stop it. */
export type EngineTarget = DispatchTarget & AssetSource & { start(): Promise<void>; close(): Promise<void> };

export interface DesktopOptions {
  /** Creates the engine (a utility process in production) for the given data folder. */
  createEngine(dataDir: string): EngineTarget;
  /** The built preload script. */
  preloadPath: string;
  env?: NodeJS.ProcessEnv;
}

export const SCHEMES: { scheme: string; privileges: Privileges }[] = [
  { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
  { scheme: 'tiles', privileges: { standard: true, secure: true } },
  { scheme: 'thumbs', privileges: { standard: true, secure: true } },
  { scheme: 'basemap', privileges: { standard: true, secure: true } },
];

/** Must run before the app is ready (Electron's rule for privileged schemes). Returns false for a second instance. */
export function prepareDesktop(electron: ElectronLike): boolean {
  electron.protocol.registerSchemesAsPrivileged(SCHEMES);
  if (!electron.app.requestSingleInstanceLock()) {
    electron.app.quit();
    return false;
  }
  return true;
}

/** Guards every web contents, the window's and any other: no navigation away, no new windows. */
function guard(electron: ElectronLike, contents: WebContentsLike): void {
  contents.setWindowOpenHandler(({ url }) => {
    if (isAllowedExternal(url)) void electron.shell.openExternal(url);
    return { action: 'deny' };
  });
  const stay = (event: { preventDefault(): void }, url: string): void => {
    if (!url.startsWith(APP_ORIGIN + '/')) event.preventDefault();
  };
  contents.on('will-navigate', stay);
  contents.on('will-redirect', stay);
}

export async function startDesktop(electron: ElectronLike, options: DesktopOptions): Promise<WindowLike> {
  const { app } = electron;
  app.on('web-contents-created', (_event, contents) => guard(electron, contents));
  await app.whenReady();

  const env = options.env ?? process.env;
  // `kestrel start --data DIR` passes the folder through KESTREL_DATA; otherwise the OS's user data path.
  const dataDir = env[DATA_DIR_ENV] || join(app.getPath('userData'), 'data');
  const engine = options.createEngine(dataDir);
  try {
    await engine.start();
  } catch (err) {
    electron.dialog.showErrorBox('Kestrel could not start its engine', err instanceof Error ? err.message : String(err));
    app.exit(1);
    throw err;
  }

  electron.protocol.handle('app', appProtocol(rendererDir()));
  electron.protocol.handle('tiles', tilesProtocol(engine));
  electron.protocol.handle('thumbs', thumbsProtocol(engine));
  electron.protocol.handle('basemap', basemapProtocol(engine));

  const { defaultSession } = electron.session;
  defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  defaultSession.setPermissionCheckHandler(() => false);

  const win = new electron.BrowserWindow(windowOptions(options.preloadPath));
  guard(electron, win.webContents);
  const pickers = new Pickers({ dialog: electron.dialog, window: () => win });
  registerIpc(electron.ipcMain, engine, () => win.webContents as unknown as Pick<WebContents, 'send' | 'isDestroyed'>, pickers);
  win.once('ready-to-show', () => win.show());

  app.on('second-instance', () => {
    if (win.isMinimized()) win.restore();
    win.focus();
  });
  app.on('window-all-closed', () => {
    void engine.close().finally(() => app.quit());
  });
  await win.loadURL(`${APP_ORIGIN}/index.html`);
  return win;
}

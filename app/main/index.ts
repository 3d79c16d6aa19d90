/**
 * Electron main: one window, the renderer from app://, the contract over IPC. It stays thin: the
 * engine does the work. (The engine moves to a utility process with the desktop-shell issue.)
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, ipcMain, protocol, session } from 'electron';
import { DATA_DIR_ENV, openEngine, rendererDir, resolveDataDir } from '../core/index.js';
import { readStatic } from '../server/static.js';
import { CSP } from '../server/index.js';
import { registerIpc } from './ipc.js';
import { APP_ORIGIN, windowOptions } from './security.js';

protocol.registerSchemesAsPrivileged([
  { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

if (!app.requestSingleInstanceLock()) app.quit();

let win: BrowserWindow | undefined;

async function main(): Promise<void> {
  await app.whenReady();
  // `kestrel start --data DIR` passes the folder through KESTREL_DATA; otherwise the OS's user data path.
  const dataDir = process.env[DATA_DIR_ENV] ? resolveDataDir() : join(app.getPath('userData'), 'data');
  const engine = await openEngine({ dataDir, runtime: 'desktop' });

  const root = rendererDir();
  protocol.handle('app', async (request) => {
    const url = new URL(request.url);
    const file = url.host === 'kestrel' ? await readStatic(root, url.pathname) : undefined;
    if (!file) return new Response('Not found', { status: 404 });
    return new Response(new Uint8Array(file.body), { headers: { 'content-type': file.type, 'content-security-policy': CSP } });
  });

  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);

  const preload = join(fileURLToPath(new URL('.', import.meta.url)), '../preload/index.cjs');
  win = new BrowserWindow(windowOptions(preload));
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.webContents.on('will-navigate', (event, url) => {
    if (!url.startsWith(APP_ORIGIN + '/')) event.preventDefault();
  });
  registerIpc(ipcMain, engine, () => win?.webContents);
  win.once('ready-to-show', () => win?.show());
  await win.loadURL(`${APP_ORIGIN}/index.html`);

  app.on('second-instance', () => {
    if (win?.isMinimized()) win.restore();
    win?.focus();
  });
  app.on('window-all-closed', () => {
    void engine.close().finally(() => app.quit());
  });
}

main().catch((err: unknown) => {
  console.error('Kestrel failed to start:', err);
  app.exit(1);
});

import type { BrowserWindowConstructorOptions } from 'electron';

/** The only origin the renderer is ever loaded from. */
export const APP_ORIGIN = 'app://kestrel';

/** BrowserWindow options: the renderer gets no Node, no Electron, only the preload's contract. */
export function windowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1440,
    height: 900,
    minWidth: 1024,
    minHeight: 640,
    show: false,
    title: 'Kestrel',
    backgroundColor: '#101418',
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  };
}

/** IPC is answered only for our own top-level page, never for a frame from anywhere else. */
export function isTrustedSender(frameUrl: string | undefined): boolean {
  if (!frameUrl) return false;
  try {
    const url = new URL(frameUrl);
    return url.protocol === 'app:' && url.host === 'kestrel';
  } catch {
    return false;
  }
}

/**
 * The only pages Kestrel opens in the user's browser (shell.openExternal); anything else a link
 * asks for is refused. Kestrel works offline: these are documentation, never needed to run.
 */
export const EXTERNAL_ALLOWLIST: readonly string[] = ['https://arxiv.org/abs/2404.18253'];

export function isAllowedExternal(url: string): boolean {
  return EXTERNAL_ALLOWLIST.includes(url);
}

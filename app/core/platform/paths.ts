import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PRODUCT_NAME = 'Kestrel';
export const DATA_DIR_ENV = 'KESTREL_DATA';

/**
 * The folder Electron's app.getPath('userData') resolves to for this product, computed without
 * Electron so the CLI and server default to the same place as the desktop app.
 */
export function userDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const home = homedir();
  if (platform === 'win32') return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), PRODUCT_NAME);
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', PRODUCT_NAME);
  return join(env.XDG_CONFIG_HOME ?? join(home, '.config'), PRODUCT_NAME);
}

/** Where the catalog, settings, vectors and adapters live: --data flag, then $KESTREL_DATA, then the user data folder. */
export function resolveDataDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return resolve(flag);
  if (env[DATA_DIR_ENV]) return resolve(env[DATA_DIR_ENV]);
  return join(userDataDir(env), 'data');
}

export interface PackageInfo {
  root: string;
  name: string;
  version: string;
}

let pkg: PackageInfo | undefined;

/** The Kestrel package root (where package.json lives), found from this module's location, built or not. */
export function packageInfo(): PackageInfo {
  if (pkg) return pkg;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const json = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (json.name === 'kestrel') return (pkg = { root: dir, name: json.name, version: json.version ?? '0.0.0' });
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('Cannot find Kestrel\'s package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** The built renderer (Vite output), served by the headless server and by app:// in Electron. */
export function rendererDir(): string {
  return join(packageInfo().root, 'out', 'renderer');
}

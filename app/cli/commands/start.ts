import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DATA_DIR_ENV, packageInfo } from '../../core/index.js';
import type { Command } from '../command.js';
import { DEFAULT_PORT, parsePort, serveUntilStopped } from './serve.js';
import { UsageError } from '../errors.js';

export type Desktop = { available: true; electron: string } | { available: false; reason: string };

/**
 * Can the desktop window open here? Electron's binary must have been downloaded (setup tries; it
 * fails on machines that cannot reach Electron's release host) and, on Linux, a display must exist.
 */
export function desktopAvailability(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  resolveElectron: () => string = () => createRequire(import.meta.url)('electron') as string,
): Desktop {
  if (env.KESTREL_NO_DESKTOP) return { available: false, reason: 'KESTREL_NO_DESKTOP is set' };
  let electron: string;
  try {
    electron = resolveElectron();
  } catch {
    electron = '';
  }
  if (!electron || !existsSync(electron)) {
    return {
      available: false,
      reason:
        "Electron's binary is not installed (its download needs Electron's release host, which this machine cannot reach); " +
        'run `npm run setup` again where it is reachable',
    };
  }
  if (platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) {
    return { available: false, reason: 'there is no display ($DISPLAY and $WAYLAND_DISPLAY are unset)' };
  }
  return { available: true, electron };
}

export const start: Command = {
  name: 'start',
  summary: 'Open the desktop app, or serve the same UI in a browser where no desktop window can open',
  usage: 'kestrel start [--data DIR] [--port N]',
  options: { port: { type: 'string' } },
  async run(ctx) {
    const desktop = desktopAvailability();
    if (desktop.available) {
      const child = spawn(desktop.electron, [packageInfo().root], {
        stdio: 'inherit',
        env: { ...process.env, [DATA_DIR_ENV]: ctx.dataDir },
      });
      return new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
    }
    const reason = `Kestrel: no desktop window: ${desktop.reason}. Serving the same UI to your browser instead.`;
    const explicit = ctx.values.port !== undefined;
    const port = parsePort(ctx.values.port, DEFAULT_PORT);
    try {
      return await serveUntilStopped(ctx, { port, host: '127.0.0.1', reason });
    } catch (err) {
      // The default port being taken (another Kestrel, say) is no reason to fail: take a free one.
      if (explicit || !(err instanceof UsageError)) throw err;
      return serveUntilStopped(ctx, { port: 0, host: '127.0.0.1', reason });
    }
  },
};

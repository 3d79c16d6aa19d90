import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openEngine, rendererDir } from '../../core/index.js';
import { startServer, type RunningServer } from '../../server/index.js';
import { printJson, type Command, type CommandContext } from '../command.js';
import { UsageError } from '../errors.js';

export interface ServeOptions {
  port: number;
  host: string;
  /** Printed before the URL: why this is a browser UI and not a desktop window (start's fallback). */
  reason?: string;
}

export const DEFAULT_PORT = 7733;

export function parsePort(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port must be an integer from 0 to 65535, got "${String(value)}".`);
  return n;
}

/** Runs the headless server until SIGINT/SIGTERM. */
export async function serveUntilStopped(ctx: CommandContext, opts: ServeOptions): Promise<number> {
  const staticDir = rendererDir();
  if (!existsSync(join(staticDir, 'index.html'))) {
    ctx.stderr.write(`kestrel: the UI is not built (${staticDir} is missing); run \`npm run build\`. Serving the API only.\n`);
  }
  const engine = await openEngine({ dataDir: ctx.dataDir, runtime: 'server', firstRun: true });
  let server: RunningServer;
  try {
    server = await startServer({ target: engine, host: opts.host, port: opts.port, staticDir, tiles: (id, z, x, y) => engine.tile(id, z, x, y), thumbs: (id) => engine.thumb(id), basemap: (z, x, y) => engine.basemap(z, x, y) });
  } catch (err) {
    await engine.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new UsageError(`Port ${opts.port} on ${opts.host} is in use; choose another with --port (0 picks a free one).`);
    }
    throw err;
  }
  if (opts.reason) ctx.stderr.write(`${opts.reason}\n`);
  if (ctx.json) {
    printJson(ctx, { url: server.url, origin: server.origin, port: server.port, token: server.token, dataDir: ctx.dataDir });
  } else {
    ctx.stdout.write(`Kestrel is running at ${server.url}\n`);
    ctx.stderr.write(`data folder: ${ctx.dataDir}\nPress Ctrl+C to stop.\n`);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  await engine.close();
  return 0;
}

export const serve: Command = {
  name: 'serve',
  summary: 'Serve the UI and the API on this machine (loopback, with a per-start token)',
  usage: 'kestrel serve [--port N] [--host ADDRESS] [--data DIR] [--json]',
  options: { port: { type: 'string' }, host: { type: 'string' } },
  run(ctx) {
    const host = (ctx.values.host as string | undefined) ?? '127.0.0.1';
    return serveUntilStopped(ctx, { port: parsePort(ctx.values.port, DEFAULT_PORT), host });
  },
};

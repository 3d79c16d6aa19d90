import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { dispatch, KestrelError, type DispatchTarget, type ErrorCode } from '../contract/index.js';
import { authenticate, cookieName, hostAllowed, isLoopback, newToken } from './auth.js';
import { readStatic } from './static.js';

export interface ServerOptions {
  /** The engine's handlers and events (the server depends on the contract, not on app/core). */
  target: DispatchTarget;
  /** Interface to bind; loopback unless the user asks otherwise. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Folder of the built renderer to serve at /. Without it only the API is served. */
  staticDir?: string;
  /** Fixed token (tests); by default a new random one per start. */
  token?: string;
  /**
   * Map tiles for GET /tiles/{sceneId}/{z}/{x}/{y}: resolves a scene id (never a path) to an
   * encoded tile, or undefined when the scene or tile does not exist. Rendering must happen off
   * the request thread (the raster engine's worker pool).
   */
  tiles?: (sceneId: string, z: number, x: number, y: number) => Promise<{ body: Uint8Array; type: string } | undefined>;
  /** Chip thumbnails for GET /thumbs/{chipId}, by opaque chip id. */
  thumbs?: (chipId: string) => Promise<{ body: Uint8Array; type: string } | undefined>;
  /** Tiles of the basemap in the settings for GET /basemap/{z}/{x}/{y} (three numbers, never a path). */
  basemap?: (z: number, x: number, y: number) => Promise<{ body: Uint8Array; type: string } | undefined>;
}

export interface RunningServer {
  /** Origin, e.g. http://127.0.0.1:7733 */
  origin: string;
  /** The URL to open in a browser: origin plus the token. */
  url: string;
  token: string;
  port: number;
  host: string;
  close(): Promise<void>;
}

/** Content-Security-Policy for every page we serve: nothing but our own origin. */
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob: tiles: thumbs: basemap:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const MAX_BODY = 1 << 20;

const STATUS: Record<ErrorCode, number> = {
  invalid_input: 400,
  unknown_method: 404,
  not_found: 404,
  unauthorized: 401,
  unavailable: 503,
  unsupported: 501,
  forbidden: 403,
  cancelled: 409,
  io_error: 500,
  corrupt_file: 500,
  internal: 500,
};

/** One response: status, body and content type, plus any extra headers. */
interface Reply {
  status: number;
  body: string | Uint8Array;
  type: string;
  extra?: Record<string, string>;
}

function send(res: ServerResponse, { status, body, type, extra = {} }: Reply): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(body);
}

/** A plain-text reply (errors outside the API, 404s). */
const text = (status: number, body: string, type = 'text/plain'): Reply => ({ status, body, type });

function sendError(res: ServerResponse, err: KestrelError): void {
  send(res, { status: STATUS[err.code], body: JSON.stringify({ error: err.toJSON() }), type: 'application/json; charset=utf-8' });
}

const UNAUTHORIZED = new KestrelError({
  code: 'unauthorized',
  message: 'Missing or wrong access token.',
  hint: 'Open the URL that `kestrel serve` printed, token included; a restarted server has a new token.',
});

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new KestrelError({ code: 'invalid_input', message: 'Request body larger than 1 MiB.' });
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new KestrelError({ code: 'invalid_input', message: 'Request body is not valid JSON.' });
  }
}

/** What a request is checked and answered against; `port` is known once the server listens. */
interface ServerContext {
  options: ServerOptions;
  host: string;
  token: string;
  port: number;
}

const CACHED = { 'cache-control': 'private, max-age=3600' };

/** POST /api/<method>: the contract's dispatcher, JSON in and out. */
async function handleApi(ctx: ServerContext, req: IncomingMessage, url: URL, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') {
    return sendError(res, new KestrelError({ code: 'invalid_input', message: 'API methods are called with POST.' }));
  }
  const method = decodeURIComponent(url.pathname.slice('/api/'.length));
  const input = await readBody(req);
  try {
    const output = await dispatch(ctx.options.target.handlers, method, input);
    return send(res, { status: 200, body: JSON.stringify(output ?? null), type: 'application/json; charset=utf-8' });
  } catch (err) {
    return sendError(res, KestrelError.from(err));
  }
}

/** Basemap tiles, chip thumbnails and scene tiles; undefined when the path is none of them. */
async function mediaReply(options: ServerOptions, pathname: string): Promise<Reply | undefined> {
  const tile = /^\/tiles\/([A-Za-z0-9_-]{1,128})\/(\d{1,2})\/(\d{1,8})\/(\d{1,8})(?:\.\w+)?$/.exec(pathname);
  const thumb = /^\/thumbs\/([a-z0-9_-]{1,128})$/.exec(pathname);
  const base = /^\/basemap\/(\d{1,2})\/(\d{1,10})\/(\d{1,10})$/.exec(pathname);
  if (base && options.basemap) {
    const out = await options.basemap(Number(base[1]), Number(base[2]), Number(base[3]));
    if (!out) return text(404, 'No basemap tile here\n');
    return { status: 200, body: out.body, type: out.type, extra: CACHED };
  }
  if (thumb && options.thumbs) {
    const out = await options.thumbs(thumb[1]!);
    if (!out) return text(404, 'No such chip\n');
    return { status: 200, body: out.body, type: out.type, extra: CACHED };
  }
  if (tile && options.tiles) {
    const [, sceneId, z, x, y] = tile as unknown as [string, string, string, string, string];
    const out = await options.tiles(sceneId, Number(z), Number(x), Number(y));
    if (!out) return text(404, 'No such tile\n');
    return { status: 200, body: out.body, type: out.type, extra: CACHED };
  }
  return undefined;
}

/** The renderer's files, with the CSP; a first visit with ?token= also sets the session cookie. */
async function staticReply(ctx: ServerContext, pathname: string, via: string): Promise<Reply> {
  const { staticDir } = ctx.options;
  if (!staticDir) return text(404, 'Not found\n');
  const file = await readStatic(staticDir, pathname);
  if (!file) return text(404, 'Not found\n');
  const extra: Record<string, string> = { 'content-security-policy': CSP };
  // Opened with ?token=: remember it for this origin's assets, API calls and socket, for this
  // browser session only, never readable by scripts, never sent by other sites.
  if (via === 'query') extra['set-cookie'] = `${cookieName(ctx.port)}=${ctx.token}; Path=/; HttpOnly; SameSite=Strict`;
  return { status: 200, body: file.body, type: file.type, extra };
}

async function handle(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
  if (!hostAllowed(req, ctx.host)) return sendError(res, UNAUTHORIZED);
  const via = authenticate(req, url, ctx.token, ctx.port);
  if (!via) {
    if (url.pathname.startsWith('/api/')) return sendError(res, UNAUTHORIZED);
    return send(res, text(401, `Kestrel: ${UNAUTHORIZED.message} ${UNAUTHORIZED.hint}\n`, 'text/plain; charset=utf-8'));
  }
  if (url.pathname.startsWith('/api/')) return handleApi(ctx, req, url, res);
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, text(405, 'Method not allowed\n'));
  const media = await mediaReply(ctx.options, url.pathname);
  return send(res, media ?? (await staticReply(ctx, url.pathname, via)));
}

/** The event socket at /events (token checked on upgrade): every engine event goes out to each socket. */
function serveEvents(ctx: ServerContext, server: ReturnType<typeof createServer>): { stop(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
    if (url.pathname !== '/events' || !hostAllowed(req, ctx.host) || !authenticate(req, url, ctx.token, ctx.port)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      // The socket only carries events out; anything sent in is ignored.
      ws.on('message', () => {});
    });
  });
  const stopForwarding = ctx.options.target.events.onAny((event, payload) => {
    const message = JSON.stringify({ event, payload });
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(message);
  });
  return {
    stop() {
      stopForwarding();
      for (const ws of sockets) ws.terminate();
      wss.close();
    },
  };
}

/**
 * The contract over HTTP + WebSocket: POST /api/<method>, events on one socket at /events, the
 * renderer at /. Every request and socket must carry the per-start token; anything else gets 401.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const ctx: ServerContext = { options, host: options.host ?? '127.0.0.1', token: options.token ?? newToken(), port: 0 };
  const { host, token } = ctx;

  const server = createServer((req, res) => {
    handle(ctx, req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, KestrelError.from(err));
      else res.destroy();
    });
  });
  const events = serveEvents(ctx, server);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (ctx.port = (server.address() as AddressInfo).port);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const origin = `http://${shownHost}:${port}`;

  return {
    origin,
    url: `${origin}/?token=${token}`,
    token,
    port,
    host,
    async close() {
      events.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export { isLoopback };
export { readStatic, type StaticFile } from './static.js';

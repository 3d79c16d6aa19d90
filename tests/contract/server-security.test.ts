/** The headless server's doors: loopback by default, a per-start token on every request and socket. */
import { request } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../../app/core/index.js';
import { startServer, type RunningServer } from '../../app/server/index.js';
import { flatTile, writeMbtiles } from '../helpers/basemap.js';
import { tempDir } from '../helpers/tmp.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function raw(server: RunningServer, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: init.method ?? 'GET', headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

function socketStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(-1));
  });
}

describe('server security', () => {
  let dir: { path: string; remove(): Promise<void> };
  let engine: Engine;
  let server: RunningServer;
  const post = (path: string, headers: Record<string, string>, body = '{}'): Promise<Reply> =>
    raw(server, path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  beforeAll(async () => {
    dir = await tempDir();
    const staticDir = join(dir.path, 'ui');
    await mkdir(join(staticDir, 'assets'), { recursive: true });
    await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>Kestrel</title>');
    await writeFile(join(staticDir, 'assets', 'app.js'), 'console.log(1)');
    await writeFile(join(dir.path, 'secret.txt'), 'TOP-SECRET');
    engine = await openEngine({ dataDir: join(dir.path, 'data'), runtime: 'server' });
    server = await startServer({ target: engine, port: 0, staticDir });
  });
  afterAll(async () => {
    await server.close();
    await engine.close();
    await dir.remove();
  });

  it('binds to loopback by default', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.origin).toBe(`http://127.0.0.1:${server.port}`);
  });

  it('makes a new random token at every start', async () => {
    const other = await startServer({ target: engine, port: 0 });
    expect(other.token).not.toBe(server.token);
    expect(server.token.length).toBeGreaterThanOrEqual(40);
    await other.close();
  });

  it('answers 401 to an API call without a token or with a wrong one', async () => {
    const none = await post('/api/app.info', {});
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.code).toBe('unauthorized');
    expect((await post('/api/app.info', { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await post('/api/app.info', { authorization: `Bearer ${server.token}x` })).status).toBe(401);
    expect((await post('/api/settings.set', {}, '{"theme":"dark"}')).status).toBe(401);
    expect((await engine.handlers['settings.get']({})).theme).toBe('system');
  });

  it('answers 401 to the UI and its assets without a token', async () => {
    expect((await raw(server, '/')).status).toBe(401);
    expect((await raw(server, '/assets/app.js')).status).toBe(401);
    expect((await raw(server, '/?token=wrong')).status).toBe(401);
  });

  it('accepts the token as a bearer header', async () => {
    const ok = await post('/api/app.info', { authorization: `Bearer ${server.token}` });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).name).toBe('kestrel');
  });

  it('serves the page opened with ?token= and sets an HttpOnly, same-site cookie that then opens the assets', async () => {
    const page = await raw(server, `/?token=${server.token}`);
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    const cookie = String(page.headers['set-cookie']);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const pair = cookie.split(';')[0]!;
    expect((await raw(server, '/assets/app.js', { headers: { cookie: pair } })).status).toBe(200);
    expect((await post('/api/archives.list', { cookie: pair })).status).toBe(200);
    expect((await raw(server, '/assets/app.js', { headers: { cookie: pair.replace(/=.*/, '=forged') } })).status).toBe(401);
  });

  it('refuses a request whose Host is not loopback, token or not (DNS rebinding)', async () => {
    const r = await post('/api/app.info', { authorization: `Bearer ${server.token}`, host: `evil.example:${server.port}` });
    expect(r.status).toBe(401);
  });

  it('refuses event sockets without the token', async () => {
    const ws = `ws://127.0.0.1:${server.port}/events`;
    expect(await socketStatus(ws)).toBe(401);
    expect(await socketStatus(`${ws}?token=wrong`)).toBe(401);
    expect(await socketStatus(`${ws}?token=${server.token}`)).toBe(101);
    expect(await socketStatus(`ws://127.0.0.1:${server.port}/other?token=${server.token}`)).toBe(401);
  });

  it('never serves files outside the UI folder', async () => {
    const auth = { authorization: `Bearer ${server.token}` };
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/assets/..%5c..%5csecret.txt']) {
      const r = await raw(server, path, { headers: auth });
      expect(r.body, path).not.toContain('TOP-SECRET');
    }
  });

  it('calls methods with POST only and answers clearly to a malformed body', async () => {
    const auth = { authorization: `Bearer ${server.token}` };
    expect((await raw(server, '/api/app.info', { headers: auth })).status).toBe(400);
    const bad = await post('/api/settings.set', auth, '{not json');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.message).toMatch(/not valid JSON/);
    const unknown = await post('/api/nope', auth);
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body).error.code).toBe('unknown_method');
  });

  it('serves tiles and thumbnails by id only, with the token', async () => {
    const calls: string[] = [];
    const assets = await startServer({
      target: engine,
      port: 0,
      tiles: async (id, z, x, y) => (calls.push(`tile ${id} ${z} ${x} ${y}`), id === 'scene-1' ? { body: new Uint8Array([1, 2]), type: 'image/webp' } : undefined),
      thumbs: async (id) => (calls.push(`thumb ${id}`), id === 'chip-1' ? { body: new Uint8Array([3]), type: 'image/png' } : undefined),
    });
    const get = (path: string, auth = true): Promise<Reply> => raw(assets, path, { headers: auth ? { authorization: `Bearer ${assets.token}` } : {} });
    try {
      expect((await get('/tiles/scene-1/3/1/2', false)).status).toBe(401);
      expect((await get('/thumbs/chip-1', false)).status).toBe(401);
      expect(calls).toEqual([]);
      const tile = await get('/tiles/scene-1/3/1/2');
      expect(tile.status).toBe(200);
      expect(tile.headers['content-type']).toBe('image/webp');
      expect((await get('/tiles/nope/3/1/2')).status).toBe(404);
      expect((await get('/thumbs/chip-1')).status).toBe(200);
      expect((await get('/thumbs/nope')).status).toBe(404);
      const before = calls.length;
      for (const path of ['/tiles/..%2f..%2fetc/1/2/3', '/thumbs/..%2fsecret', '/thumbs/Chip-1/x', '/tiles/scene-1/3/1']) {
        expect((await get(path)).status, path).not.toBe(200);
      }
      expect(calls.length).toBe(before);
    } finally {
      await assets.close();
    }
  });

  it('serves the basemap by tile address only, with the token', async () => {
    const file = join(dir.path, 'basemap.mbtiles');
    writeMbtiles(file, [{ z: 1, x: 1, y: 0, data: await flatTile([10, 120, 200]) }], { name: 'b', format: 'png', minzoom: '1', maxzoom: '1' });
    await engine.handlers['settings.set']({ basemap: { kind: 'mbtiles', file } });
    const assets = await startServer({ target: engine, port: 0, basemap: (z, x, y) => engine.basemap(z, x, y) });
    const get = (path: string, auth = true): Promise<Reply> => raw(assets, path, { headers: auth ? { authorization: `Bearer ${assets.token}` } : {} });
    try {
      expect((await get('/basemap/1/1/0', false)).status).toBe(401);
      expect((await get('/basemap/1/1/0?token=wrong', false)).status).toBe(401);
      const tile = await get('/basemap/1/1/0?v=abc123');
      expect(tile.status).toBe(200);
      expect(tile.headers['content-type']).toBe('image/png');
      // On the grid without a tile: a transparent tile, not an error the browser would log.
      expect((await get('/basemap/1/0/0')).status).toBe(200);
      expect((await get('/basemap/1/2/0')).status).toBe(404);
      for (const path of ['/basemap/..%2f..%2fsecret.txt', '/basemap/1/1/0/../../../secret.txt', '/basemap/1/1/%2e%2e', '/basemap/1/1', `/basemap/${encodeURIComponent(file)}`]) {
        const res = await get(path);
        expect(res.status, path).not.toBe(200);
        expect(res.body).not.toContain('TOP-SECRET');
      }
      await engine.handlers['settings.set']({ basemap: null });
      expect((await get('/basemap/1/1/0')).status).toBe(404);
    } finally {
      await assets.close();
      await engine.handlers['settings.set']({ basemap: null });
    }
  });
});

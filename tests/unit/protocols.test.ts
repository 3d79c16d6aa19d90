/** tiles:// and thumbs:// take opaque ids only, basemap:// three numbers; app:// serves the renderer folder and nothing else. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appProtocol, basemapProtocol, thumbsProtocol, tilesProtocol, type AssetSource } from '../../app/main/protocols.js';
import { tempDir } from '../helpers/tmp.js';

function recordingSource(): AssetSource & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    tile: async (...args) => {
      calls.push(['tile', ...args]);
      return args[0] === 'scene-1' ? { body: new Uint8Array([1, 2, 3]), type: 'image/webp' } : undefined;
    },
    basemap: async (...args) => {
      calls.push(['basemap', ...args]);
      return args[0] === 2 ? { body: new Uint8Array([7]), type: 'image/jpeg' } : undefined;
    },
    thumb: async (id) => {
      calls.push(['thumb', id]);
      if (id === 'boom') throw new Error('decoder failed on chip boom');
      return id === 'chip-9' ? { body: new Uint8Array([9]), type: 'image/png' } : undefined;
    },
  };
}

describe('tiles://', () => {
  it('hands the scene id and tile address to the engine and returns its image', async () => {
    const source = recordingSource();
    const res = await tilesProtocol(source)(new Request('tiles://scene-1/12/2048/1361.webp'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
    expect(source.calls).toEqual([['tile', 'scene-1', 12, 2048, 1361]]);
  });

  it('answers 404 for an id the engine does not know', async () => {
    expect((await tilesProtocol(recordingSource())(new Request('tiles://nope/1/0/0'))).status).toBe(404);
  });

  it('refuses anything that is not an id and a tile address, without asking the engine', async () => {
    const source = recordingSource();
    const handler = tilesProtocol(source);
    for (const url of [
      'tiles://scene-1/../../etc/passwd',
      'tiles://scene-1/%2e%2e/%2e%2e/etc/passwd',
      'tiles://scene-1/1/0/0/../../../secret',
      'tiles://%2e%2e/1/0/0',
      'tiles://scene.1/1/0/0',
      'tiles://scene-1/1/2/0',
      'tiles://scene-1/31/0/0',
      'tiles://scene-1/a/b/c',
      'tiles://scene-1/1/0/0.exe',
    ]) {
      expect((await handler(new Request(url))).status, url).toBe(400);
    }
    expect(source.calls).toEqual([]);
  });
});

describe('basemap://', () => {
  it('hands the tile address to the engine (the version only keeps caches apart) and returns its image', async () => {
    const source = recordingSource();
    const res = await basemapProtocol(source)(new Request('basemap://tile/2/3/1?v=ab12'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(await basemapProtocol(source)(new Request('basemap://tile/2/0/0'))).toHaveProperty('status', 200);
    expect(source.calls).toEqual([
      ['basemap', 2, 3, 1],
      ['basemap', 2, 0, 0],
    ]);
  });

  it('answers 404 where the engine has no basemap tile', async () => {
    expect((await basemapProtocol(recordingSource())(new Request('basemap://tile/1/0/0'))).status).toBe(404);
  });

  it('refuses anything but basemap://tile/<z>/<x>/<y>, without asking the engine', async () => {
    const source = recordingSource();
    const handler = basemapProtocol(source);
    for (const url of [
      'basemap://tile/../../etc/passwd',
      'basemap://tile/%2e%2e/%2e%2e/etc/passwd',
      'basemap://tile/1/0/0/../../../secret',
      'basemap://tile/1/0/0.png',
      'basemap://other/1/0/0',
      'basemap://tile/1/2/0',
      'basemap://tile/31/0/0',
      'basemap://tile/a/b/c',
      'basemap://tile/1/0/0?file=/etc/passwd',
      'basemap://tile/1/0/0?v=../x',
    ]) {
      expect((await handler(new Request(url))).status, url).toBe(400);
    }
    expect(source.calls).toEqual([]);
  });
});

describe('thumbs://', () => {
  it('returns the chip thumbnail by id', async () => {
    const res = await thumbsProtocol(recordingSource())(new Request('thumbs://chip-9'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
  });

  it('refuses paths and odd ids', async () => {
    const source = recordingSource();
    for (const url of ['thumbs://chip-9/../../etc/passwd', 'thumbs://chip-9/x', 'thumbs://..', 'thumbs://chip-9?path=/etc/passwd']) {
      expect((await thumbsProtocol(source)(new Request(url))).status, url).toBe(400);
    }
    expect(source.calls).toEqual([]);
  });

  it('turns an engine failure into a 500 with its message', async () => {
    const res = await thumbsProtocol(recordingSource())(new Request('thumbs://boom'));
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/decoder failed on chip boom/);
  });
});

describe('app://', () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeAll(async () => {
    dir = await tempDir();
    await mkdir(join(dir.path, 'ui'));
    await writeFile(join(dir.path, 'ui', 'index.html'), '<!doctype html>');
    await writeFile(join(dir.path, 'secret.txt'), 'TOP-SECRET');
  });
  afterAll(() => dir.remove());

  it('serves the renderer with the CSP', async () => {
    const res = await appProtocol(join(dir.path, 'ui'))(new Request('app://kestrel/index.html'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('never serves a file outside the renderer folder, nor another host', async () => {
    const handler = appProtocol(join(dir.path, 'ui'));
    for (const url of ['app://kestrel/../secret.txt', 'app://kestrel/%2e%2e/secret.txt', 'app://kestrel/..%2fsecret.txt', 'app://other/index.html']) {
      const res = await handler(new Request(url));
      expect(await res.text(), url).not.toContain('TOP-SECRET');
    }
    expect((await handler(new Request('app://other/index.html'))).status).toBe(404);
  });
});

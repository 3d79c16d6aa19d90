/**
 * The desktop app's custom protocols. app:// serves the built renderer; tiles:// and thumbs://
 * resolve an opaque scene or chip id through the engine, never a path, so nothing a page asks for
 * can name a file; basemap:// takes three numbers (the basemap itself is chosen in the settings).
 */
import { CSP } from '../server/index.js';
import { readStatic } from '../server/index.js';
import type { Asset } from '../core/index.js';

export interface AssetSource {
  tile(sceneId: string, z: number, x: number, y: number): Promise<Asset | undefined>;
  thumb(chipId: string): Promise<Asset | undefined>;
  basemap(z: number, x: number, y: number): Promise<Asset | undefined>;
}

type Handler = (request: Request) => Promise<Response>;

/** Scene and chip ids are lowercase by construction: standard schemes lowercase the host part. */
const ID = /^[a-z0-9_-]{1,128}$/;

const text = (status: number, body: string): Response => new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });

function image(asset: Asset | undefined): Response {
  if (!asset) return text(404, 'No such image');
  return new Response(new Uint8Array(asset.body), {
    headers: { 'content-type': asset.type, 'cache-control': 'private, max-age=3600', 'x-content-type-options': 'nosniff' },
  });
}

async function guarded(fn: () => Promise<Response>): Promise<Response> {
  try {
    return await fn();
  } catch (err) {
    return text(500, err instanceof Error ? err.message : String(err));
  }
}

/** app://kestrel/<path>: files of the built renderer, with the CSP; any other host is refused. */
export function appProtocol(rendererDir: string): Handler {
  return async (request) => {
    const url = new URL(request.url);
    if (url.host !== 'kestrel') return text(404, 'Not found');
    const file = await readStatic(rendererDir, url.pathname);
    if (!file) return text(404, 'Not found');
    return new Response(new Uint8Array(file.body), { headers: { 'content-type': file.type, 'content-security-policy': CSP } });
  };
}

/** tiles://<sceneId>/<z>/<x>/<y>[.ext]: a Web-Mercator XYZ tile of one scene. */
export function tilesProtocol(source: AssetSource): Handler {
  return (request) =>
    guarded(async () => {
      const url = new URL(request.url);
      const m = /^\/(\d{1,2})\/(\d{1,10})\/(\d{1,10})(?:\.(?:webp|png))?$/.exec(url.pathname);
      if (!ID.test(url.host) || !m) return text(400, 'Bad tile address: expected tiles://<scene id>/<z>/<x>/<y>');
      const [z, x, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
      if (z > 30 || x >= 2 ** z || y >= 2 ** z) return text(400, 'Tile outside the XYZ grid');
      return image(await source.tile(url.host, z, x, y));
    });
}

/**
 * basemap://tile/<z>/<x>/<y>[?v=<version>]: a tile of the basemap in the settings. The version (from
 * basemap.info) only keeps caches of two basemaps apart; the engine ignores it.
 */
export function basemapProtocol(source: AssetSource): Handler {
  return (request) =>
    guarded(async () => {
      const url = new URL(request.url);
      const m = /^\/(\d{1,2})\/(\d{1,10})\/(\d{1,10})$/.exec(url.pathname);
      if (url.host !== 'tile' || !m || (url.search && !/^\?v=[a-z0-9]{1,32}$/.test(url.search))) {
        return text(400, 'Bad basemap address: expected basemap://tile/<z>/<x>/<y>');
      }
      const [z, x, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
      if (z > 30 || x >= 2 ** z || y >= 2 ** z) return text(400, 'Tile outside the XYZ grid');
      return image(await source.basemap(z, x, y));
    });
}

/** thumbs://<chipId>: a chip's thumbnail. */
export function thumbsProtocol(source: AssetSource): Handler {
  return (request) =>
    guarded(async () => {
      const url = new URL(request.url);
      if (!ID.test(url.host) || (url.pathname !== '' && url.pathname !== '/') || url.search) {
        return text(400, 'Bad thumbnail address: expected thumbs://<chip id>');
      }
      return image(await source.thumb(url.host));
    });
}

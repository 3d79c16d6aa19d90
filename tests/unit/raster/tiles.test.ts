import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LruCache,
  TileService,
  bandMapping,
  openScene,
  rasterCacheStats,
  sceneStatistics,
  stretchTile,
  tileLevel,
  tileResolution,
  tileSourceCoordinates,
  warpTile,
  type Scene,
} from '../../../app/core/raster/index.js';
import { openEngine } from '../../../app/core/index.js';
import { startServer } from '../../../app/server/index.js';
import { HAVE_DATA, SKIP_REASON, fixture, geotiff } from './data.js';

interface WarpBand {
  dtype: 'Byte' | 'UInt16' | 'Float32';
  zlibBase64: string;
}
interface WarpFixture {
  file: string;
  z: number;
  x: number;
  y: number;
  bands: WarpBand[];
  alpha: WarpBand;
}

function unpack(b: WarpBand): ArrayLike<number> {
  const buf = inflateSync(Buffer.from(b.zlibBase64, 'base64'));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
  return b.dtype === 'Byte' ? new Uint8Array(ab) : b.dtype === 'UInt16' ? new Uint16Array(ab) : new Float32Array(ab);
}

const warps = HAVE_DATA ? fixture<{ tiles: WarpFixture[] }>('gdalwarp-tiles.json').tiles : [];
const N = 256 * 256;

/** The tile containing (lon, lat) at zoom z. */
function tileAt(lon: number, lat: number, z: number): [number, number] {
  const n = 2 ** z;
  const x = Math.floor(((lon + 180) / 360) * n);
  const y = Math.floor(((1 - Math.asinh(Math.tan((lat * Math.PI) / 180)) / Math.PI) / 2) * n);
  return [Math.min(n - 1, Math.max(0, x)), Math.min(n - 1, Math.max(0, y))];
}

function centre(scene: Scene): [number, number] {
  return scene.toLonLat!(scene.description.width / 2, scene.description.height / 2);
}

describe.skipIf(!HAVE_DATA)(`map tiles ${HAVE_DATA ? '' : SKIP_REASON}`, () => {
  /**
   * Against gdalwarp -r near -ovr NONE for the same Web Mercator bounds (tools/raster_fixtures.py),
   * scenes in UTM 18N (stripped, nodata), EPSG:4326, EPSG:3031 (float32 COG) and a rotated UTM 59S grid.
   * Nearest-neighbour sampling differs only where a pixel centre falls within a hair of a source pixel
   * edge (the approximate transform, proj4 vs PROJ rounding). Allowed: mean absolute difference ≤ 1 % of
   * the band's 2–98 % range (measured ≤ 0.2 %), ≥ 95 % of data pixels identical (measured ≥ 96.5 %),
   * ≥ 99.5 % agreement on which pixels are transparent (measured ≥ 99.99 %).
   */
  it.each(warps.map((w) => [`${w.file} ${w.z}/${w.x}/${w.y}`, w] as [string, WarpFixture]))('%s agrees with gdalwarp', async (_n, g) => {
    const scene = await openScene(geotiff(g.file));
    try {
      expect(tileLevel(scene, g.z)).toBe(0); // gdalwarp read full resolution too
      const bands = g.bands.map((_, i) => i);
      const ours = await warpTile(scene, { z: g.z, x: g.x, y: g.y, bandIndexes: bands });
      const stats = await sceneStatistics(scene);
      const alpha = unpack(g.alpha);
      const gdal = g.bands.map(unpack);
      let agree = 0;
      let both = 0;
      let identical = 0;
      const sad = bands.map(() => 0);
      for (let i = 0; i < N; i++) {
        const a = alpha[i]! > 0 ? 1 : 0;
        if (a === ours.valid[i]) agree++;
        if (!a || !ours.valid[i]) continue;
        both++;
        let same = true;
        for (const b of bands) {
          const d = Math.abs(gdal[b]![i]! - ours.bands[b]![i]!);
          if (d !== 0) same = false;
          sad[b]! += d;
        }
        if (same) identical++;
      }
      expect(agree / N).toBeGreaterThanOrEqual(0.995);
      expect(both).toBeGreaterThan(1000);
      expect(identical / both).toBeGreaterThanOrEqual(0.95);
      for (const b of bands) {
        const s = stats.bands.find((x) => x.band === b)!;
        expect(sad[b]! / both / (s.p98 - s.p2)).toBeLessThanOrEqual(0.01);
      }
    } finally {
      await scene.close();
    }
  });

  const transformCases: [string, number[]][] = [
    ['RGB.byte.tif', [5, 8, 11]],
    ['geotiff-test-data/GA4886_VanderfordGlacier_2022_EGM2008_64m-epsg3031.cog', [4, 9, 12]],
    ['rio-tiler/cog_dateline.tif', [5, 9, 12]],
    ['geotiff-test-data/umbra_mount_yasur.tiff', [12, 17, 19]],
    ['debian/cbers_rgb342_crop1.tif', [8, 12, 15]],
    ['geotiff-test-data/wildfires.tiff', [3, 8, 11]],
  ];
  it.each(transformCases)('%s: the approximate transform grid is within 0.5 px of the exact transform', async (file, zooms) => {
    const scene = await openScene(geotiff(file));
    try {
      const [lon, lat] = centre(scene);
      for (const z of zooms) {
        const [x, y] = tileAt(lon, lat, z);
        const level = tileLevel(scene, z);
        const exact = tileSourceCoordinates(scene, { z, x, y, level, exact: true });
        const approx = tileSourceCoordinates(scene, { z, x, y, level });
        let worst = 0;
        let compared = 0;
        for (let i = 0; i < N; i++) {
          if (!Number.isFinite(exact.cols[i]!)) continue;
          compared++;
          worst = Math.max(worst, Math.abs(exact.cols[i]! - approx.cols[i]!), Math.abs(exact.rows[i]! - approx.rows[i]!));
        }
        expect(compared, `z${z}`).toBe(N);
        expect(worst, `${file} z${z} grid ${approx.grid}`).toBeLessThan(0.5);
      }
    } finally {
      await scene.close();
    }
  });

  it('chooses one level per (scene, zoom): the coarsest that is still as fine as the tile', async () => {
    const scene = await openScene(geotiff('cogeo.tif'));
    try {
      const native = 0.597164034843445; // EPSG:3857 metres per pixel, from the geotransform
      for (let z = 10; z <= 20; z++) {
        const level = tileLevel(scene, z);
        const l = scene.levels[level]!;
        if (level > 0) expect(native * l.scaleX).toBeLessThanOrEqual(tileResolution(z) * 1.0001);
        const coarser = scene.levels[level + 1];
        if (coarser) expect(native * coarser.scaleX).toBeGreaterThan(tileResolution(z));
        const [lon, lat] = centre(scene);
        const [x, y] = tileAt(lon, lat, z);
        const a = await warpTile(scene, { z, x, y, bandIndexes: [0, 1, 2] });
        const b = await warpTile(scene, { z, x: x + 1, y, bandIndexes: [0, 1, 2] });
        expect([a.level, b.level]).toEqual([level, level]);
      }
    } finally {
      await scene.close();
    }
  });

  it('is transparent outside the data and at nodata', async () => {
    const scene = await openScene(geotiff('RGB.byte.tif'));
    try {
      const d = scene.description;
      const stats = await sceneStatistics(scene);
      const [lon, lat] = centre(scene);
      const [x, y] = tileAt(lon, lat, 7); // larger than the scene: data, its nodata frame, and outside
      const warped = await warpTile(scene, { z: 7, x, y, bandIndexes: [0, 1, 2] });
      const rgba = stretchTile(warped, bandMapping(d), stats);
      const src = tileSourceCoordinates(scene, { z: 7, x, y, level: 0 });
      let outside = 0;
      let nodata = 0;
      let opaque = 0;
      for (let i = 0; i < N; i++) {
        const c = src.cols[i]!;
        const r = src.rows[i]!;
        const inImage = c >= 0 && r >= 0 && c < d.width && r < d.height;
        const allZero = [0, 1, 2].every((b) => warped.bands[b]![i] === 0);
        if (!inImage) {
          outside++;
          expect(rgba[i * 4 + 3]).toBe(0);
        } else if (allZero) {
          nodata++;
          expect(rgba[i * 4 + 3]).toBe(0);
        } else {
          opaque++;
          expect(rgba[i * 4 + 3]).toBe(255);
        }
      }
      expect(Math.min(outside, nodata, opaque)).toBeGreaterThan(1000);
    } finally {
      await scene.close();
    }
  });
});

describe('LRU cache', () => {
  it('evicts the least recently used entries beyond its size and tells who was evicted', () => {
    const evicted: string[] = [];
    const lru = new LruCache<number>(10, (k) => evicted.push(k));
    lru.set('a', 1, 4);
    lru.set('b', 2, 4);
    expect(lru.get('a')).toBe(1); // a is now the most recent
    lru.set('c', 3, 4); // 12 > 10: b goes
    expect(evicted).toEqual(['b']);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.size).toBe(8);
    lru.set('huge', 4, 11); // larger than the whole cache: not kept
    expect(lru.get('huge')).toBeUndefined();
    lru.dropPrefix('a');
    expect(lru.keys()).toEqual(['c']);
  });
});

describe.skipIf(!HAVE_DATA)('tile service (worker pool) and the server route', () => {
  let service: TileService;
  beforeAll(() => {
    service = new TileService({ workers: 2, format: 'png' });
  });
  afterAll(async () => {
    await service.close();
  });

  it('renders in the worker pool exactly what the in-process renderer gives, and caches it', async () => {
    const file = geotiff('rio-tiler/cog_dateline.tif');
    const id = await service.register(file);
    expect(id).toMatch(/^[0-9a-f]{24}$/);
    const scene = await openScene(file);
    try {
      const [lon, lat] = centre(scene);
      const [x, y] = tileAt(lon, lat, 8);
      const before = rasterCacheStats().misses;
      const tile = await service.tile(id, 8, x, y);
      expect(tile?.type).toBe('image/png');
      // Nothing was decoded on this thread: the worker did it.
      expect(rasterCacheStats().misses).toBe(before);
      const { data, info } = await sharp(tile!.body).raw().ensureAlpha().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([256, 256, 4]);
      const stats = await sceneStatistics(scene);
      const expected = stretchTile(await warpTile(scene, { z: 8, x, y, bandIndexes: [0] }), bandMapping(scene.description), stats);
      expect(Buffer.compare(Buffer.from(data), Buffer.from(expected))).toBe(0);
      expect(await service.tile(id, 8, x, y)).toBe(tile); // the rendered-tile LRU
      expect(await service.tile(id, 8, 0, 0)).toBeUndefined(); // outside the footprint
      expect(await service.tile('0123456789abcdef01234567', 8, x, y)).toBeUndefined();
    } finally {
      await scene.close();
    }
  });

  it('encodes WebP by default', async () => {
    const webp = new TileService({ workers: 1 });
    try {
      const id = await webp.register(geotiff('geotiff-test-data/wildfires.tiff'));
      const [x, y] = tileAt(-122, 40, 8);
      const tile = await webp.tile(id, 8, x, y);
      expect(tile?.type).toBe('image/webp');
      expect((await sharp(tile!.body).metadata()).format).toBe('webp');
    } finally {
      await webp.close();
    }
  });

  it('serves /tiles/{sceneId}/{z}/{x}/{y} by scene id', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kestrel-tiles-'));
    const engine = await openEngine({ dataDir, runtime: 'server' });
    const server = await startServer({ target: engine, token: 'test-token', tiles: (id, z, x, y) => service.tile(id, z, x, y) });
    try {
      const id = await service.register(geotiff('RGB.byte.tif'));
      const [x, y] = tileAt(-77.5, 24.5, 8);
      const ok = await fetch(`${server.origin}/tiles/${id}/8/${x}/${y}?token=test-token`);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe('image/png');
      expect((await sharp(Buffer.from(await ok.arrayBuffer())).metadata()).width).toBe(256);
      const missing = await fetch(`${server.origin}/tiles/${id}/8/0/0?token=test-token`);
      expect(missing.status).toBe(404);
      const byPath = await fetch(`${server.origin}/tiles/..%2Fshared/8/${x}/${y}?token=test-token`);
      expect(byPath.status).toBe(404);
      // An id the catalog chose serves the same tile; ids that are not plain lowercase tokens are refused.
      const named = await service.register(geotiff('RGB.byte.tif'), { id: 'scene-42' });
      expect(named).toBe('scene-42');
      expect((await fetch(`${server.origin}/tiles/scene-42/8/${x}/${y}?token=test-token`)).status).toBe(200);
      await expect(service.register(geotiff('RGB.byte.tif'), { id: '../RGB.byte.tif' })).rejects.toMatchObject({ code: 'invalid_input' });
    } finally {
      await server.close();
      await engine.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});


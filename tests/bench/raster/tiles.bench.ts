/**
 * Tile latency: p50/p95 of rendering one 256 px Web Mercator tile (warp, stretch, WebP) for a COG and
 * a stripped file, against gdalwarp producing the same tile (same bounds, size, nearest neighbour)
 * in the same run. gdalwarp runs as one process per tile, so its figure includes process start-up
 * (measured separately as `gdalwarp --version`) — the ratio is against what a tile costs through GDAL's CLI.
 *
 *   npx tsx tests/bench/raster/tiles.bench.ts [--runs 3]
 *
 * Scenes without overviews are also rendered from their tile pyramid (pyramid.ts): `pyramidBuild`
 * is the one-time build (every strip read once and averaged), `kestrelPyramid*` the tiles after it,
 * and the tile service is measured with its default (pyramid on first need) and with `pyramid: false`.
 *
 * Prints a table; writes tests/artifacts/bench/raster-tiles.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  TileService,
  bandMapping,
  buildPyramid,
  wantsPyramid,
  encodeTile,
  openScene,
  sceneStatistics,
  stretchTile,
  tileBounds,
  tileResolution,
  warpTile,
  type Scene,
} from '../../../app/core/raster/index.js';

const root = resolve(import.meta.dirname, '..', '..', '..');
const data = resolve(root, '..', 'shared', 'data', 'geotiff');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Number(values.runs);

const SCENES = [
  { label: 'COG (deflate, 512² tiles, overviews)', file: 'rio-tiler/cog_dateline.tif' },
  { label: 'stripped (1-row strips, no overviews)', file: 'debian/cbers2b_hrc_crop.tif' },
];

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

function tilesAround(scene: Scene): { z: number; x: number; y: number }[] {
  const t = scene.toLonLat!;
  const d = scene.description;
  const [a, b] = [t(d.width / 2, d.height / 2), t(d.width / 2 + 1, d.height / 2 + 1)];
  // Zoom whose tile pixels match the native pixels (in metres along a meridian, ×1/cos(lat) for Mercator).
  const metres = Math.hypot((b[0] - a[0]) * 111320 * Math.cos((a[1] * Math.PI) / 180), (b[1] - a[1]) * 110540) / Math.SQRT2;
  const mercator = metres / Math.cos((a[1] * Math.PI) / 180);
  const native = Math.round(Math.log2(tileResolution(0) / mercator));
  const out: { z: number; x: number; y: number }[] = [];
  for (const z of [native, native - 2, native - 4]) {
    const n = 2 ** z;
    const cx = Math.floor(((a[0] + 180) / 360) * n);
    const cy = Math.floor(((1 - Math.asinh(Math.tan((a[1] * Math.PI) / 180)) / Math.PI) / 2) * n);
    for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]]) out.push({ z, x: cx + dx!, y: cy + dy! });
  }
  return out;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const tmp = mkdtempSync(join(tmpdir(), 'kestrel-bench-'));
const rows: Record<string, unknown>[] = [];
const startup: number[] = [];
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  execFileSync('gdalwarp', ['--version'], { stdio: 'ignore' });
  startup.push(performance.now() - t0);
}

for (const { label, file } of SCENES) {
  const path = join(data, file);
  const probe = await openScene(path);
  const tiles = tilesAround(probe);
  const stats = await sceneStatistics(probe);
  const mapping = bandMapping(probe.description);
  await probe.close();
  const cold: number[] = [];
  const warm: number[] = [];
  const gdal: number[] = [];
  const pyramidTiles: number[] = [];
  const pyramidBuild: number[] = [];
  for (let r = 0; r < runs; r++) {
    for (const t of tiles) {
      // Cold: a freshly opened scene, so every block is read and decoded.
      const scene = await openScene(path);
      const render = async (): Promise<void> => {
        const warped = await warpTile(scene, { z: t.z, x: t.x, y: t.y, bandIndexes: mapping.bands });
        await encodeTile(stretchTile(warped, mapping, stats), 'webp');
      };
      cold.push(await time(render));
      // Warm: the same tile again, its blocks in the decoded-block LRU.
      warm.push(await time(render));
      await scene.close();
      const [minX, minY, maxX, maxY] = tileBounds(t.z, t.x, t.y);
      const out = join(tmp, 'tile.tif');
      gdal.push(
        await time(async () =>
          execFileSync('gdalwarp', ['-q', '-overwrite', '-t_srs', 'EPSG:3857', '-te', String(minX), String(minY), String(maxX), String(maxY), '-ts', '256', '256', '-r', 'near', '-dstalpha', '-of', 'GTiff', path, out], { stdio: 'ignore' }),
        ),
      );
    }
  }
  const pyramid = await openScene(path);
  if (wantsPyramid(pyramid)) {
    for (let r = 0; r < runs; r++) {
      // A fresh build each run, so the pyramid's blocks are cold for the first tile that reads them.
      let withPyramid: Scene = pyramid;
      pyramidBuild.push(await time(async () => { withPyramid = await buildPyramid(pyramid); }));
      for (const t of tiles) {
        pyramidTiles.push(await time(async () => {
          const warped = await warpTile(withPyramid, { z: t.z, x: t.x, y: t.y, bandIndexes: mapping.bands });
          await encodeTile(stretchTile(warped, mapping, stats), 'webp');
        }));
      }
      await withPyramid.close();
    }
  }
  await pyramid.close();
  // Through the service: worker pool, message passing, WebP; each tile once (the tile LRU would answer repeats).
  // Tiles in order of zoom, nearest first: the first low-zoom tile of a scene without overviews builds its pyramid.
  const pooledRun = async (options: ConstructorParameters<typeof TileService>[0]): Promise<number[]> => {
    const service = new TileService(options);
    const id = await service.register(path);
    await service.statistics(id);
    const out: number[] = [];
    for (const t of tiles) out.push(await time(() => service.tile(id, t.z, t.x, t.y)));
    await service.close();
    return out;
  };
  const pooled = await pooledRun({});
  const pooledNoPyramid = pyramidBuild.length > 0 ? await pooledRun({ pyramid: false }) : [];
  rows.push({
    scene: label,
    file,
    tiles: tiles.length,
    zooms: [...new Set(tiles.map((t) => t.z))],
    kestrelColdP50: pct(cold, 50),
    kestrelColdP95: pct(cold, 95),
    kestrelWarmP50: pct(warm, 50),
    kestrelWarmP95: pct(warm, 95),
    tileServiceP50: pct(pooled, 50),
    tileServiceP95: pct(pooled, 95),
    tileServiceNoPyramidP50: pct(pooledNoPyramid, 50),
    tileServiceNoPyramidP95: pct(pooledNoPyramid, 95),
    pyramidBuildP50: pct(pyramidBuild, 50),
    kestrelPyramidP50: pct(pyramidTiles, 50),
    kestrelPyramidP95: pct(pyramidTiles, 95),
    byZoom: Object.fromEntries([...new Set(tiles.map((t) => t.z))].map((z) => {
      const at = (xs: number[]): number[] => xs.filter((_, i) => tiles[i % tiles.length]!.z === z);
      return [z, { coldP50: pct(at(cold), 50), pyramidP50: pct(at(pyramidTiles), 50), serviceP50: pct(at(pooled), 50), serviceNoPyramidP50: pct(at(pooledNoPyramid), 50) }];
    })),
    gdalwarpP50: pct(gdal, 50),
    gdalwarpP95: pct(gdal, 95),
    ratioColdP50: pct(cold, 50) / pct(gdal, 50),
    ratioColdP95: pct(cold, 95) / pct(gdal, 95),
  });
}
rmSync(tmp, { recursive: true, force: true });

const f = (v: unknown): string => (typeof v === 'number' ? v.toFixed(v < 10 ? 2 : 0) : String(v));
console.log(`tile latency, ms (${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}; gdalwarp process start-up p50 ${f(pct(startup, 50))} ms)`);
const cols = ['scene', 'kestrelColdP50', 'kestrelColdP95', 'kestrelWarmP50', 'tileServiceP50', 'tileServiceP95', 'gdalwarpP50', 'gdalwarpP95', 'ratioColdP50', 'ratioColdP95'];
console.log(cols.join(' | '));
for (const r of rows) console.log(cols.map((c) => f(r[c])).join(' | '));
const pcols = ['scene', 'pyramidBuildP50', 'kestrelPyramidP50', 'kestrelPyramidP95', 'tileServiceNoPyramidP50', 'tileServiceNoPyramidP95'];
console.log(pcols.join(' | '));
for (const r of rows) if (Number.isFinite(r.pyramidBuildP50)) console.log(pcols.map((c) => f(r[c])).join(' | '));
for (const r of rows) console.log(String(r.scene), 'p50 by zoom:', JSON.stringify(r.byZoom, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v)));
mkdirSync(join(root, 'tests', 'artifacts', 'bench'), { recursive: true });
writeFileSync(join(root, 'tests', 'artifacts', 'bench', 'raster-tiles.json'), JSON.stringify({ date: new Date().toISOString(), cpus: cpus().length, gdalwarpStartupP50: pct(startup, 50), rows }, null, 2));

/**
 * Chip extraction throughput (plan → read → stretch → 224² RGB, every scale) against raw block
 * decode throughput (geotiff.js decoding every block of the full-resolution image) in the same run.
 * `ratio` = scene megapixels per second through chip extraction ÷ through raw decode, i.e. the time
 * to decode the image once over the time to cut all of its chips (overlap and coarser scales re-read
 * pixels; the decoded-block LRU absorbs most of that). chipSourceMpx counts every pixel chips read.
 *
 *   npx tsx tests/bench/raster/chips.bench.ts
 *
 * Prints a table; writes tests/artifacts/bench/raster-chips.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fromFile, getDecoder } from 'geotiff';
import { bandMapping, extractChips, openScene, planChips, sceneStatistics } from '../../../app/core/raster/index.js';

const root = resolve(import.meta.dirname, '..', '..', '..');
const data = resolve(root, '..', 'shared', 'data', 'geotiff');
const SCENES = ['rio-tiler/cog_dateline.tif', 'debian/cbers2b_hrc_crop.tif', 'geotiff-test-data/umbra_mount_yasur.tiff', 'RGB.byte.tif'];

/** Decodes every block of the full-resolution image once, straight through geotiff.js. */
async function rawDecode(file: string): Promise<{ ms: number; pixels: number }> {
  const tiff = await fromFile(file);
  const image = await tiff.getImage(0);
  const fd = image.fileDirectory;
  const compression = Number(fd.getValue('Compression') ?? 1);
  const params: Record<string, unknown> = {
    tileWidth: image.getTileWidth(),
    tileHeight: image.getTileHeight(),
    planarConfiguration: image.planarConfiguration,
    bitsPerSample: fd.getValue('BitsPerSample'),
    predictor: Number((await fd.loadValue('Predictor')) ?? 1) || 1,
  };
  if (compression === 7) params.JPEGTables = await fd.loadValue('JPEGTables');
  const decoder = await getDecoder(compression, params as never);
  const across = Math.ceil(image.getWidth() / image.getTileWidth());
  const down = Math.ceil(image.getHeight() / image.getTileHeight());
  const planes = image.planarConfiguration === 2 ? image.getSamplesPerPixel() : 1;
  const t0 = performance.now();
  for (let p = 0; p < planes; p++) for (let y = 0; y < down; y++) for (let x = 0; x < across; x++) await image.getTileOrStrip(x, y, p, decoder);
  const ms = performance.now() - t0;
  await tiff.close();
  return { ms, pixels: image.getWidth() * image.getHeight() };
}

const rows: Record<string, number | string>[] = [];
for (const rel of SCENES) {
  const file = join(data, rel);
  const raw = await rawDecode(file);
  const scene = await openScene(file);
  const stats = await sceneStatistics(scene);
  const mapping = bandMapping(scene.description);
  const plan = planChips(scene, { size: 224 });
  const t0 = performance.now();
  let kept = 0;
  let chipPixels = 0;
  for await (const { chip } of extractChips(scene, plan, { mapping, stats, size: 224 })) {
    kept++;
    chipPixels += chip.levelWindow.width * chip.levelWindow.height;
  }
  const ms = performance.now() - t0;
  await scene.close();
  const rawMpx = raw.pixels / 1e6 / (raw.ms / 1000);
  const chipMpx = chipPixels / 1e6 / (ms / 1000);
  rows.push({
    scene: rel,
    planned: plan.length,
    kept,
    chipsPerSecond: kept / (ms / 1000),
    chipSourceMpxPerSecond: chipMpx,
    sceneMpxPerSecond: raw.pixels / 1e6 / (ms / 1000),
    rawDecodeMpxPerSecond: rawMpx,
    ratio: raw.ms / ms,
  });
}
const f = (v: number | string | undefined): string => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : String(v));
console.log(`chip extraction vs raw block decode (${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, one thread)`);
const cols = ['scene', 'planned', 'kept', 'chipsPerSecond', 'chipSourceMpxPerSecond', 'sceneMpxPerSecond', 'rawDecodeMpxPerSecond', 'ratio'];
console.log(cols.join(' | '));
for (const r of rows) console.log(cols.map((c) => f(r[c])).join(' | '));
mkdirSync(join(root, 'tests', 'artifacts', 'bench'), { recursive: true });
writeFileSync(join(root, 'tests', 'artifacts', 'bench', 'raster-chips.json'), JSON.stringify({ date: new Date().toISOString(), cpus: cpus().length, rows }, null, 2));

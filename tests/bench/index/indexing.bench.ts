/**
 * End-to-end indexing throughput: real GeoTIFFs → chips (cut and preprocessed in the chip worker) →
 * the image tower in the inference worker process → the vector store, against bare ONNX Runtime
 * throughput of the same model on ready-made tensors (one in-process session, batch 32, same
 * threads), interleaved in the same run: bare, end to end, bare. The ratio says whether the model is
 * the bottleneck (target ≥ 0.9) or our plumbing is.
 *
 *   npx tsx tests/bench/index/indexing.bench.ts [--pack DIR] [--seconds 8] [--threads N] [--scenes a.tif,b.tif]
 *
 * Default pack: the full-size random ViT-B/32 (tests/artifacts/model/vit-b-32-random; see
 * docs/model.md), else the tiny fixture pack. Scenes are read in place from ../shared/data.
 * Prints a table; writes tests/artifacts/bench/index-e2e.json.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, symlink, mkdir } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openEngine, type ActiveModel } from '../../../app/core/index.js';
import { ModelRuntime, ModelSession, readModelPack } from '../../../app/core/model/index.js';

const root = resolve(import.meta.dirname, '..', '..', '..');
const shared = resolve(root, '..', 'shared', 'data');
const { values } = parseArgs({
  options: { pack: { type: 'string' }, seconds: { type: 'string', default: '8' }, threads: { type: 'string' }, scenes: { type: 'string' } },
});
const full = join(root, 'tests', 'artifacts', 'model', 'vit-b-32-random');
const pack = resolve(values.pack ?? (existsSync(join(full, 'manifest.json')) ? full : join(root, 'tests', 'fixtures', 'model', 'packs', 'tiny-gelu')));
const threads = values.threads ? Number(values.threads) : availableParallelism();
const seconds = Number(values.seconds);
const scenes = (values.scenes ?? 'geotiff/rio-tiler/cog_dateline.tif,geotiff/cogeo.tif,geotiff/RGB.byte.tif,geotiff/debian/cbers_rgb342_crop1.tif').split(',');
if (!existsSync(shared)) {
  console.error(`skipped: ${shared} is missing (the shared rasters live in ../shared/data)`);
  process.exit(0);
}
const { manifest } = readModelPack(pack);
const spec = manifest.image;

/** Bare ONNX Runtime: one session in this process, batches of 32 ready-made tensors, for `seconds`. */
async function bare(): Promise<number> {
  const session = await ModelSession.open(pack, { provider: 'cpu', threads });
  const batch = 32;
  const pixels = new Float32Array(batch * 3 * spec.size * spec.size);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i) * 1.5;
  await session.embedPixels(pixels, batch);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await session.embedPixels(pixels, batch);
    n += batch;
  }
  const rate = n / ((performance.now() - t0) / 1000);
  await session.close();
  return rate;
}

interface EndToEnd {
  chips: number;
  seconds: number;
  chipsPerSecond: number;
  /** From the first embedded chip to the end: the steady state, without the chip worker's start. */
  steadyChipsPerSecond: number;
  peakRssMiB: number;
}

async function endToEnd(): Promise<EndToEnd> {
  const tmp = await mkdtemp(join(tmpdir(), 'kestrel-bench-index-'));
  try {
    const imagery = join(tmp, 'imagery');
    await mkdir(imagery);
    for (const rel of scenes) await symlink(join(shared, rel), join(imagery, rel.replace(/\//g, '_')));
    const engine = await openEngine({ dataDir: join(tmp, 'data'), runtime: 'in-process', loadModel: false, resumeJobs: false });
    const runtime = await ModelRuntime.start({ pack, provider: 'cpu', threads });
    const model: ActiveModel = { id: basename(pack), runtime, embedder: runtime, spec, dim: manifest.embeddingSize };
    try {
      const { archive } = await engine.handlers['archives.add']({ roots: [imagery] });
      let first: { t: number; chips: number } | undefined;
      let peak = 0;
      engine.events.on('index.progressed', (s) => {
        peak = Math.max(peak, process.memoryUsage().rss);
        if (!first && s.chips.done > 0) first = { t: performance.now(), chips: s.chips.done };
      });
      const t0 = performance.now();
      const { done } = await engine.jobs.start(archive.id, model);
      const final = await done;
      const t1 = performance.now();
      if (final.state !== 'done') throw new Error(`the job ended ${final.state}: ${final.error?.message ?? ''}`);
      const f = first ?? { t: t0, chips: 0 };
      return {
        chips: final.rows,
        seconds: (t1 - t0) / 1000,
        chipsPerSecond: final.rows / ((t1 - t0) / 1000),
        steadyChipsPerSecond: (final.rows - f.chips) / ((t1 - f.t) / 1000),
        peakRssMiB: peak / 2 ** 20,
      };
    } finally {
      await runtime.close();
      await engine.close();
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

console.error(`pack ${manifest.name} (${spec.size}² input, ${manifest.embeddingSize}-d), ${threads} threads, scenes: ${scenes.join(', ')}`);
const bare1 = await bare();
const e2e = await endToEnd();
const bare2 = await bare();
const bareRate = Math.max(bare1, bare2);
const rows = [
  { what: 'bare ONNX Runtime, ready tensors (best of 2)', chipsPerSecond: bareRate, ratio: 1 },
  { what: 'end to end, whole job (incl. worker start)', chipsPerSecond: e2e.chipsPerSecond, ratio: e2e.chipsPerSecond / bareRate },
  { what: 'end to end, steady (first chip → done)', chipsPerSecond: e2e.steadyChipsPerSecond, ratio: e2e.steadyChipsPerSecond / bareRate },
];
console.log(`indexing throughput (${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}; ${e2e.chips} chips from ${scenes.length} scenes in ${e2e.seconds.toFixed(1)} s; peak RSS of this process ${e2e.peakRssMiB.toFixed(0)} MiB)`);
console.log('what | chips/s | ratio to bare');
for (const r of rows) console.log(`${r.what} | ${r.chipsPerSecond.toFixed(2)} | ${r.ratio.toFixed(3)}`);
mkdirSync(join(root, 'tests', 'artifacts', 'bench'), { recursive: true });
writeFileSync(
  join(root, 'tests', 'artifacts', 'bench', 'index-e2e.json'),
  JSON.stringify({ date: new Date().toISOString(), cpus: cpus().length, threads, pack: manifest.name, scenes, bare: [bare1, bare2], e2e, rows }, null, 2),
);

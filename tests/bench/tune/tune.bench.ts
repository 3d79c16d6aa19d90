/**
 * Adapter tuning benchmark on RSITMD-sized data: 3,435 images × 5 captions, 512-d embeddings
 * (synthetic, with structure: 33 classes, per-modality noise, the text side rotated in 256 of its
 * 512 coordinates plus a bias, so the base model starts near RSITMD zero-shot levels). Measures:
 *
 *   1. one training step (batch 256) on each back end, same batch, same run: the whole step as an
 *      ONNX graph, the TypeScript step with ONNX Runtime matrix products, and plain TypeScript;
 *   2. 20 epochs of tuning on the default back end (early stopping off so all 20 run), with
 *      validation mR before and after.
 *
 *   npx tsx tests/bench/tune/tune.bench.ts [epochs]        default: 20
 *
 * Prints tables; writes tests/artifacts/bench/tune.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { initParams } from '../../../app/core/tune/adapter.js';
import { createTuningBackend, type TuningBackendKind } from '../../../app/core/tune/backend.js';
import { DEFAULT_LOSS } from '../../../app/core/tune/losses.js';
import { DEFAULT_TUNING, permutation, trainAdapter } from '../../../app/core/tune/train.js';
import { syntheticTuningData } from '../../helpers/tune-data.js';

const epochs = Number(process.argv[2] ?? 20);
const loadBefore = loadavg()[0]!;
const IMAGES = 3435;
const CAPTIONS = 5;
const DIM = 512;
const B = DEFAULT_TUNING.batchSize;

const data = syntheticTuningData({ images: IMAGES, captionsPerImage: CAPTIONS, dim: DIM, classes: 33, imageNoise: 2, textNoise: 3, rotateDims: 256, bias: 0.5, seed: 7 });
const config = { dim: DIM, bottleneck: DEFAULT_TUNING.bottleneck, shared: DEFAULT_TUNING.shared };

// 1. One step per back end on the same batch.
const idx = permutation(IMAGES * CAPTIONS, 3).subarray(0, B);
const groups = Int32Array.from(idx, (j) => data.textImage[j]!);
const xi = new Float32Array(B * DIM);
const xt = new Float32Array(B * DIM);
idx.forEach((j, i) => {
  xi.set(data.images.subarray(groups[i]! * DIM, (groups[i]! + 1) * DIM), i * DIM);
  xt.set(data.texts.subarray(j * DIM, (j + 1) * DIM), i * DIM);
});
const params = initParams(config, 5, { random: true });
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const stepRows: { backend: TuningBackendKind; ms: number; loss: number }[] = [];
for (const [kind, reps] of [['onnxruntime', 15], ['onnxruntime-matmul', 9], ['typescript', 2]] as const) {
  const be = await createTuningBackend(kind, config, DEFAULT_LOSS);
  await be.step(params, xi, xt, groups); // warm-up
  const times: number[] = [];
  let loss = 0;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    loss = (await be.step(params, xi, xt, groups)).loss;
    times.push(performance.now() - t0);
  }
  await be.close();
  stepRows.push({ backend: kind, ms: median(times), loss });
}
const ts = stepRows.find((r) => r.backend === 'typescript')!.ms;
console.log(`\nOne training step, batch ${B}, ${DIM}-d, bottleneck ${config.bottleneck}, shared ${config.shared} (median):`);
console.log('| back end | ms / step | vs plain TypeScript | loss |');
console.log('| --- | ---: | ---: | ---: |');
for (const r of stepRows) console.log(`| ${r.backend} | ${r.ms.toFixed(1)} | ${(ts / r.ms).toFixed(1)}× | ${r.loss.toFixed(5)} |`);

// 2. Full tuning.
const history: { epoch: number; seconds: number; loss: number; valMR: number; timing: { batchMs: number; stepMs: number; updateMs: number; validationMs: number } }[] = [];
const t0 = performance.now();
const result = await trainAdapter(data, { epochs, patience: epochs }, {
  onProgress: (p) => history.push({ epoch: p.epoch, seconds: p.elapsedMs / 1000, loss: p.loss, valMR: p.val.mR, timing: p.timing }),
});
const seconds = (performance.now() - t0) / 1000;
const pairs = result.split.trainImages.length * CAPTIONS;
const loadAfter = loadavg()[0]!;
console.log(`\nTuning ${IMAGES} images × ${CAPTIONS} captions (${pairs} training pairs, ${result.split.valImages.length} validation images), ${DIM}-d, back end ${DEFAULT_TUNING.backend}, ${availableParallelism()} cores, 1-min load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after (other work on the machine slows every figure):`);
console.log('| epochs | seconds | s / epoch | val mR before | val mR after (best epoch) | target |');
console.log('| ---: | ---: | ---: | ---: | ---: | --- |');
console.log(`| ${result.epochsRun} | ${seconds.toFixed(1)} | ${(seconds / result.epochsRun).toFixed(2)} | ${(100 * result.baseline.mR).toFixed(1)} | ${(100 * result.best.mR).toFixed(1)} (${result.bestEpoch}) | ≤ 30 s for 20 epochs: ${seconds <= 30 ? 'met' : 'missed'} |`);
console.log('\n| epoch | seconds | loss | val mR | batches ms | steps ms | AdamW ms | validation ms |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const h of history) {
  const t = h.timing;
  console.log(`| ${h.epoch} | ${h.seconds.toFixed(1)} | ${h.loss.toFixed(4)} | ${(100 * h.valMR).toFixed(1)} | ${t.batchMs.toFixed(0)} | ${t.stepMs.toFixed(0)} | ${t.updateMs.toFixed(0)} | ${t.validationMs.toFixed(0)} |`);
}

const out = join(new URL('../../..', import.meta.url).pathname, 'tests', 'artifacts', 'bench');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'tune.json'),
  JSON.stringify(
    {
      machine: { cpu: cpus()[0]?.model, cores: availableParallelism(), loadAverage: { before: loadBefore, after: loadAfter } },
      data: { images: IMAGES, captionsPerImage: CAPTIONS, dim: DIM, synthetic: 'classes 33, imageNoise 2, textNoise 3, rotateDims 256, bias 0.5, seed 7' },
      config,
      batch: B,
      step: stepRows.map((r) => ({ ...r, speedupVsTypeScript: ts / r.ms })),
      tuning: { epochs: result.epochsRun, seconds, secondsPerEpoch: seconds / result.epochsRun, valMRBefore: result.baseline.mR, valMRAfter: result.best.mR, bestEpoch: result.bestEpoch, history },
    },
    null,
    2,
  ),
);
console.log(`\nwrote ${join(out, 'tune.json')}`);

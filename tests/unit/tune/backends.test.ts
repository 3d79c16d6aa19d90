/**
 * The ONNX Runtime back ends (the whole step as a graph; TypeScript with ORT matrix products) give
 * the loss and gradients of the TypeScript reference, which is checked against finite differences
 * in gradients.test.ts. Float32 against float64: relative error < 1e-4 per tensor.
 */
import { describe, expect, it } from 'vitest';
import { initParams, PARAM_NAMES, type AdapterConfig } from '../../../app/core/tune/adapter.js';
import { createTuningBackend, type TuningBackendKind } from '../../../app/core/tune/backend.js';
import { createOrtMatMul, matmulSync } from '../../../app/core/tune/matmul.js';
import { deserializeAdapter, serializeAdapter } from '../../../app/core/tune/serialize.js';
import { trainAdapter } from '../../../app/core/tune/train.js';
import { syntheticTuningData } from '../../helpers/tune-data.js';

function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(na), Math.sqrt(nb), 1e-12);
}

describe('ONNX Runtime back ends', () => {
  it('ORT matrix products equal the plain loop for every transpose combination', async () => {
    const mm = await createOrtMatMul(1);
    const a = Float32Array.from({ length: 37 * 23 }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: 23 * 19 }, (_, i) => Math.cos(i * 0.7));
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      expect(relError(await mm.mm(a, b, { m: 37, k: 23, n: 19, ta, tb }), matmulSync(a, b, { m: 37, k: 23, n: 19, ta, tb }))).toBeLessThan(1e-6);
    }
    // Row windows of a larger array (subarray views) are read from their offset.
    expect(relError(await mm.mm(a.subarray(46, 115), b, { m: 3, k: 23, n: 19 }), matmulSync(a.subarray(46, 115), b, { m: 3, k: 23, n: 19 }))).toBeLessThan(1e-6);
    await mm.close();
  });

  const config: AdapterConfig = { dim: 24, bottleneck: 12, shared: 6 };
  const data = syntheticTuningData({ images: 12, dim: 24, captionsPerImage: 2, seed: 8 });
  const groups = Int32Array.from([0, 0, 1, 2, 2, 2, 3, 5, 7, 7]);
  const B = groups.length;
  const xi = new Float64Array(B * 24);
  const xt = new Float64Array(B * 24);
  groups.forEach((g, i) => {
    xi.set(data.images.subarray(g * 24, (g + 1) * 24), i * 24);
    xt.set(data.texts.subarray((2 * g + (i % 2)) * 24, (2 * g + (i % 2) + 1) * 24), i * 24);
  });

  it.each(['onnxruntime', 'onnxruntime-matmul'] as TuningBackendKind[])('%s: loss, both terms and every gradient equal the reference', async (kind) => {
    const loss = { margin: 0.2, gamma: 2, tripletWeight: 1 };
    const p64 = initParams(config, 13, { float64: true, random: true });
    const ref = await (await createTuningBackend('typescript', config, loss)).step(p64, xi, xt, groups);
    const p32 = initParams(config, 13, { random: true });
    const be = await createTuningBackend(kind, config, loss, 1);
    const got = await be.step(p32, Float32Array.from(xi), Float32Array.from(xt), groups);
    expect(got.loss).toBeCloseTo(ref.loss, 4);
    expect(got.nce).toBeCloseTo(ref.nce, 4);
    expect(got.triplet).toBeCloseTo(ref.triplet, 4);
    expect(ref.triplet).toBeGreaterThan(0);
    for (const name of PARAM_NAMES) expect(relError(got.grads[name], ref.grads[name]), name).toBeLessThan(1e-4);
    // The forward graph gives the reference's adapted embeddings.
    const zRef = await (await createTuningBackend('typescript', config, loss)).forward(p64, 'text', xt, B);
    expect(relError(await be.forward(p32, 'text', Float32Array.from(xt), B), zRef)).toBeLessThan(1e-5);
    await be.close();
  });

  it('the graph back end restores alignment on the synthetic task too', async () => {
    const d = syntheticTuningData({ images: 300, dim: 32, rotateDims: 32, bias: 0.5, seed: 10 });
    const r = await trainAdapter(d, { batchSize: 64, bottleneck: 32, shared: 16, lr: 3e-3, valFraction: 0.2, epochs: 8, patience: 8, backend: 'onnxruntime', threads: 1 });
    expect(r.baseline.textToImage.r1).toBeLessThan(0.1);
    expect(r.best.imageToText.r1).toBeGreaterThan(0.9);
    expect(r.best.textToImage.r1).toBeGreaterThan(0.9);
    // Adapter files round-trip exactly.
    const back = deserializeAdapter(JSON.parse(JSON.stringify(serializeAdapter(r.config, r.params))));
    expect(back.config).toEqual(r.config);
    for (const name of PARAM_NAMES) expect(Array.from(back.params[name])).toEqual(Array.from(r.params[name]));
    expect(() => deserializeAdapter({ format: 'kestrel-adapter', version: 1, config: r.config, tensors: {} }, 'a.json')).toThrow(/a\.json.*missing/);
  });
});

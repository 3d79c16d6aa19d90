import { describe, expect, it } from 'vitest';
import { chanceMR } from '../../../app/core/tune/metrics.js';
import { learningRate } from '../../../app/core/tune/optim.js';
import { evaluateAdapter, splitByImage, subset, trainAdapter, type TuningProgress } from '../../../app/core/tune/train.js';
import { createTuningBackend } from '../../../app/core/tune/backend.js';
import { DEFAULT_LOSS } from '../../../app/core/tune/losses.js';
import { syntheticTuningData } from '../../helpers/tune-data.js';

// Small problems on the plain TypeScript back end: seconds on 2 cores.
const small = { batchSize: 64, bottleneck: 32, shared: 16, lr: 3e-3, valFraction: 0.2, backend: 'typescript' as const };

function captionsPerImage(textImage: Int32Array, images: number): number[] {
  const c = new Array<number>(images).fill(0);
  for (const i of textImage) c[i]!++;
  return c;
}

describe('adapter tuning', () => {
  it('restores alignment after a known cross-modal distortion (random rotation + bias of the text side)', async () => {
    const data = syntheticTuningData({ images: 400, dim: 32, rotateDims: 32, bias: 0.5, seed: 3 });
    const progress: TuningProgress[] = [];
    const r = await trainAdapter(data, { ...small, epochs: 8, patience: 8 }, { onProgress: (p) => progress.push(p) });
    const val = subset(data, r.split.valImages);
    const chance = chanceMR(captionsPerImage(val.textImage, r.split.valImages.length));
    // Before: near chance (R@1 chance is 1/80 for text→image, ~5/400 per caption for image→text).
    expect(r.baseline.mR).toBeLessThan(2 * chance);
    expect(r.baseline.textToImage.r1).toBeLessThan(0.05);
    expect(r.baseline.imageToText.r1).toBeLessThan(0.1);
    // After: validation R@1 above 0.9 in both directions.
    expect(r.best.imageToText.r1).toBeGreaterThan(0.9);
    expect(r.best.textToImage.r1).toBeGreaterThan(0.9);
    // Progress every epoch, with loss going down, and the stored best is what evaluation gives.
    expect(progress.map((p) => p.epoch)).toEqual(Array.from({ length: r.epochsRun }, (_, i) => i + 1));
    expect(progress[progress.length - 1]!.loss).toBeLessThan(progress[0]!.loss);
    const be = await createTuningBackend('typescript', r.config, DEFAULT_LOSS);
    expect((await evaluateAdapter(r.params, val, be)).mR).toBeCloseTo(r.best.mR, 6);
    // The temperature is learned (it moved from 0.07) and stays within CLIP's bounds.
    expect(progress[progress.length - 1]!.temperature).not.toBeCloseTo(0.07, 4);
    expect(progress[progress.length - 1]!.temperature).toBeGreaterThanOrEqual(0.01);
  });

  it('on shuffled pairs validation mR stays at chance (no leakage between the splits)', async () => {
    // Enough capacity to memorise training pairs (64-d, bottleneck 64, 240 training images).
    const data = syntheticTuningData({ images: 300, dim: 64, rotateDims: 0, seed: 4, shufflePairs: true });
    const r = await trainAdapter(data, { ...small, bottleneck: 64, epochs: 8, patience: 8, keep: 'last' });
    // No image (and so no caption) on both sides of the split.
    const train = new Set(r.split.trainImages);
    expect(Array.from(r.split.valImages).some((i) => train.has(i))).toBe(false);
    expect(r.split.trainImages.length + r.split.valImages.length).toBe(300);
    const val = subset(data, r.split.valImages);
    const chance = chanceMR(captionsPerImage(val.textImage, r.split.valImages.length));
    expect(r.epochsRun).toBe(8);
    // Every epoch's validation mR (60 images, 300 captions) within about three standard deviations of chance.
    for (const h of r.history) expect(Math.abs(h.val.mR - chance)).toBeLessThan(0.05);
    // Yet the adapter did fit its training pairs: had validation pairs leaked into training, they would show.
    const trainSet = subset(data, r.split.trainImages);
    const be = await createTuningBackend('typescript', r.config, DEFAULT_LOSS);
    const last = r.history[r.history.length - 1]!;
    expect(last.loss).toBeLessThan(r.history[0]!.loss);
    const fitted = await evaluateAdapter(r.params, trainSet, be);
    expect(fitted.mR).toBeGreaterThan(2 * chanceMR(captionsPerImage(trainSet.textImage, r.split.trainImages.length)));
  });

  it('stops early when validation mR stops improving and keeps the best epoch', async () => {
    // Pure noise pairs: nothing to learn, so patience runs out.
    const data = syntheticTuningData({ images: 200, dim: 16, seed: 5, shufflePairs: true });
    const r = await trainAdapter(data, { ...small, bottleneck: 8, shared: 4, epochs: 30, patience: 2 });
    expect(r.stopReason).toBe('early-stopped');
    expect(r.epochsRun).toBeLessThan(30);
    expect(r.epochsRun - r.bestEpoch).toBe(2);
    expect(r.best.mR).toBe(Math.max(r.baseline.mR, ...r.history.map((h) => h.val.mR)));
  });

  it('cancels between steps', async () => {
    const data = syntheticTuningData({ images: 200, dim: 16, seed: 6 });
    const controller = new AbortController();
    const r = await trainAdapter(data, { ...small, bottleneck: 8, shared: 4, epochs: 50, patience: 50 }, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.epoch === 2) controller.abort();
      },
    });
    expect(r.stopReason).toBe('cancelled');
    expect(r.epochsRun).toBe(2);
  });

  it('splits by image, reproducibly', () => {
    const a = splitByImage(100, 0.2, 9);
    expect(a.valImages.length).toBe(20);
    expect(splitByImage(100, 0.2, 9)).toEqual(a);
    expect([...a.trainImages, ...a.valImages].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('warms up linearly, then decays linearly to zero', () => {
    const o = { lr: 1, warmupSteps: 4, totalSteps: 12 };
    expect([0, 1, 2, 3].map((t) => learningRate(t, o))).toEqual([0.25, 0.5, 0.75, 1]);
    expect(learningRate(4, o)).toBe(1);
    expect(learningRate(8, o)).toBe(0.5);
    expect(learningRate(12, o)).toBe(0);
  });

  it('refuses inconsistent data with an actionable error', async () => {
    const data = syntheticTuningData({ images: 10, dim: 8 });
    await expect(trainAdapter({ ...data, textImage: data.textImage.map((i) => i + 5) }, small)).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

import { describe, expect, it } from 'vitest';
import { runTuningInWorker } from '../../../app/core/tune/worker.js';
import type { TuningProgress } from '../../../app/core/tune/train.js';
import { syntheticTuningData } from '../../helpers/tune-data.js';

describe('tuning in a worker thread', () => {
  const opts = { batchSize: 64, bottleneck: 16, shared: 8, lr: 3e-3, valFraction: 0.2, threads: 1 };

  it('reports progress per epoch and returns the adapter', async () => {
    const data = syntheticTuningData({ images: 200, dim: 16, rotateDims: 16, bias: 0.5, seed: 12 });
    const progress: TuningProgress[] = [];
    const r = await runTuningInWorker(data, { ...opts, epochs: 3, patience: 3 }, { onProgress: (p) => progress.push(p) });
    expect(progress.map((p) => p.epoch)).toEqual([1, 2, 3]);
    expect(r.stopReason).toBe('completed');
    expect(r.params['image.up.w']).toBeInstanceOf(Float32Array);
    expect(r.best.mR).toBeGreaterThan(r.baseline.mR);
  });

  it('cancels a running job', async () => {
    const data = syntheticTuningData({ images: 200, dim: 16, seed: 13 });
    const controller = new AbortController();
    const r = await runTuningInWorker(data, { ...opts, epochs: 500, patience: 500 }, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.epoch === 1) controller.abort();
      },
    });
    expect(r.stopReason).toBe('cancelled');
    expect(r.epochsRun).toBeLessThan(500);
  });

  it('reports a bad job as an error', async () => {
    const data = syntheticTuningData({ images: 10, dim: 8 });
    await expect(runTuningInWorker({ ...data, dim: 7 }, opts)).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

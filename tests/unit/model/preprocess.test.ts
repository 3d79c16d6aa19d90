import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { centerCrop, decodeImageFile, preprocess, resizeBicubic, type RgbImage } from '../../../app/core/model/index.js';
import { FIXTURES, SHARED_DATA, hasSharedData, readJson } from './helpers.js';

/** open_clip.image_transform(224, is_train=False) outputs on ../shared/data/rs-captioned, recorded by tools/make_model_fixtures.py. */
interface Stats {
  sum: number;
  absSum: number;
  sample: number[];
}
const ref = readJson<{
  mean: [number, number, number];
  std: [number, number, number];
  size: number;
  sampleIndex: number[];
  images: { file: string; shortest: Stats; squash: Stats }[];
}>(join(FIXTURES, 'preprocess.json'));

/**
 * Tolerances. Sampled values: 1e-6, the rounding of the recorded values (6 decimals); Kestrel's tensor
 * is expected to be bit-identical (same decoded pixels, PIL's fixed-point bicubic, float32 maths).
 * Whole-tensor sums (150,528 values): 1e-3 absolute, far below one grey level on one pixel (≈ 0.015).
 */
const SAMPLE_TOLERANCE = 1e-6;
const SUM_TOLERANCE = 1e-3;

describe.skipIf(!hasSharedData)("preprocessing agrees with open_clip's transform on real images", () => {
  for (const mode of ['shortest', 'squash'] as const) {
    it(`${mode === 'shortest' ? 'shortest-side bicubic resize + centre crop' : 'direct resize (tiles)'} on all ${ref.images.length} images`, async () => {
      let worst = 0;
      for (const image of ref.images) {
        const rgb = await decodeImageFile(join(SHARED_DATA, 'rs-captioned', image.file));
        const x = preprocess(rgb, { size: ref.size, mean: ref.mean, std: ref.std, resize: mode === 'shortest' ? 'shortest-side-center-crop' : 'direct' });
        expect(x.length).toBe(3 * 224 * 224);
        let sum = 0;
        let absSum = 0;
        for (const v of x) {
          sum += v;
          absSum += Math.abs(v);
        }
        const want = image[mode];
        expect(Math.abs(sum - want.sum), image.file).toBeLessThanOrEqual(SUM_TOLERANCE);
        expect(Math.abs(absSum - want.absSum), image.file).toBeLessThanOrEqual(SUM_TOLERANCE);
        ref.sampleIndex.forEach((idx, i) => {
          worst = Math.max(worst, Math.abs((x[idx] ?? NaN) - (want.sample[i] ?? NaN)));
        });
      }
      expect(worst).toBeLessThanOrEqual(SAMPLE_TOLERANCE);
    });
  }
});

describe('resampling rules', () => {
  const ramp = (w: number, h: number): RgbImage => {
    const data = new Uint8Array(w * h * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 256;
    return { width: w, height: h, data };
  };

  it('keeps a constant image constant at any scale (weights sum to one in fixed point)', () => {
    const flat: RgbImage = { width: 37, height: 23, data: new Uint8Array(37 * 23 * 3).fill(200) };
    for (const [w, h] of [[10, 7], [64, 64], [5, 40]] as const) {
      const out = resizeBicubic(flat, w, h);
      expect(out.width).toBe(w);
      expect(out.height).toBe(h);
      expect(out.data.every((v) => v === 200)).toBe(true);
    }
  });

  it('returns an identical copy when the size does not change', () => {
    const img = ramp(9, 9);
    const out = resizeBicubic(img, 9, 9);
    expect(out.data).toEqual(img.data);
    expect(out.data).not.toBe(img.data);
  });

  it("crops the centre with Python's round-half-to-even offsets", () => {
    const img = ramp(7, 6);
    const out = centerCrop(img, 4);
    // (7 - 4) / 2 = 1.5 → 2; (6 - 4) / 2 = 1 → 1
    expect(Array.from(out.data.subarray(0, 3))).toEqual(Array.from(img.data.subarray((1 * 7 + 2) * 3, (1 * 7 + 2) * 3 + 3)));
  });

  it('refuses files that are not images, with the file named', async () => {
    await expect(decodeImageFile(join(FIXTURES, 'references.json'))).rejects.toMatchObject({ code: 'invalid_input', file: join(FIXTURES, 'references.json') });
  });
});

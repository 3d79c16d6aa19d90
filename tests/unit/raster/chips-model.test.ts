import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { preprocess, readModelPack, resizeBicubic, type PreprocessSpec, type RgbImage } from '../../../app/core/model/index.js';
import {
  bandMapping, chipModelInput, chipToRgb, openScene, planChips, readChipPixels, sceneStatistics,
  type Chip, type Scene, type SceneStatistics, type BandMapping,
} from '../../../app/core/raster/index.js';
import { HAVE_DATA, REPO, SKIP_REASON, geotiff } from './data.js';

/** The tiny-gelu fixture pack's own preprocessing spec (64 px, CLIP mean/std, bicubic). */
const pack = readModelPack(join(REPO, 'tests', 'fixtures', 'model', 'packs', 'tiny-gelu'));
const spec: PreprocessSpec = pack.manifest.image;

/**
 * Float32 tolerance: the tensor is computed in float32 step by step (as torch does); the reference
 * below divides, subtracts and divides in float64 and rounds once. Values are within ±2.2, where a
 * float32 ulp is 2.4e-7: 1e-6 allows a few ulps, far below one grey level (1/255/0.27 ≈ 0.015).
 */
const TOLERANCE = 1e-6;

/** Independent: the chip's stored pixels, stretched by hand from each band's 2 % to its 98 %. */
async function handRgb(scene: Scene, chip: Chip, mapping: BandMapping, stats: SceneStatistics): Promise<RgbImage> {
  const raw = await readChipPixels(scene, chip);
  const { width, height } = chip.levelWindow;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    expect(raw.valid[i], 'the chosen chips hold data everywhere').toBe(1);
    for (let c = 0; c < 3; c++) {
      const band = mapping.bands[c]!;
      const s = stats.bands.find((b) => b.band === band)!;
      data[i * 3 + c] = Math.max(0, Math.min(255, Math.round(((raw.bands[band]![i]! - s.p2) / (s.p98 - s.p2)) * 255)));
    }
  }
  return { width, height, data };
}

/** Independent: ToTensor + Normalize, CHW. */
function handNormalise(img: RgbImage): Float64Array {
  const plane = img.width * img.height;
  const out = new Float64Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) out[c * plane + p] = (img.data[p * 3 + c]! / 255 - spec.mean[c]!) / spec.std[c]!;
  }
  return out;
}

function maxDiff(a: Float32Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Chips of the plan that lie wholly inside the data (no nodata, no edge). */
async function fullChips(scene: Scene, plan: Chip[], n: number): Promise<Chip[]> {
  const out: Chip[] = [];
  const { width, height } = scene.description;
  for (const c of plan) {
    if (c.window.x + c.window.width > width || c.window.y + c.window.height > height) continue;
    const px = await readChipPixels(scene, c);
    if (px.valid.every((v) => v === 1)) out.push(c);
    if (out.length === n) break;
  }
  return out;
}

describe.skipIf(!HAVE_DATA)(`chips → model input with the model pack's own preprocessing ${HAVE_DATA ? '' : SKIP_REASON}`, () => {
  it('the fixture pack asks for what these tests exercise', () => {
    expect(spec.size).toBe(64);
    expect(spec.resize).toBe('shortest-side-center-crop');
    expect(spec.mean).toHaveLength(3);
  });

  // No resampling anywhere: a chip of `size` pixels read at its level's resolution (scale 1 of an
  // 8-bit file with nodata; scale 2 of a 16-bit file, read from its 2× overview).
  it.each([
    ['RGB.byte.tif', 1],
    ['rio-tiler/mosaic_cog1.tif', 2],
  ] as const)('%s, scale %i: the tensor is [3, size, size], the chip\'s stretched RGB normalised by mean/std', async (file, scale) => {
    const scene = await openScene(geotiff(file));
    try {
      const stats = await sceneStatistics(scene);
      const mapping = bandMapping(scene.description);
      const plan = planChips(scene, { size: spec.size, scales: [scale] });
      const chips = await fullChips(scene, plan, 3);
      expect(chips).toHaveLength(3);
      for (const chip of chips) {
        expect([chip.levelWindow.width, chip.levelWindow.height]).toEqual([spec.size, spec.size]);
        if (scale > 1) expect(chip.level).toBeGreaterThan(0);
        const rgb = await chipToRgb(scene, chip, { mapping, stats, size: spec.size });
        const tensor = chipModelInput(rgb, spec, preprocess);
        expect(tensor).toBeInstanceOf(Float32Array);
        expect(tensor.length).toBe(3 * spec.size * spec.size);
        const want = handNormalise(await handRgb(scene, chip, mapping, stats));
        expect(maxDiff(tensor, want)).toBeLessThanOrEqual(TOLERANCE);
        // Not a constant image: the comparison above is meaningful.
        expect(Math.max(...tensor) - Math.min(...tensor)).toBeGreaterThan(0.5);
      }
    } finally {
      await scene.close();
    }
  });

  // Resampling in the model's preprocessing: a 96 px RGB chip squashed to 64 × 64 ('direct', as for
  // tiles) and resized shortest-side + centre-cropped (same result for a square chip). The reference
  // resizes the hand-stretched chip with the model module's PIL-exact bicubic, then normalises by hand.
  it.each(['direct', 'shortest-side-center-crop'] as const)('RGB.byte.tif, 96 px chip, resize %s: bicubic to [3, 64, 64] as resizeBicubic then normalise', async (resize) => {
    const scene = await openScene(geotiff('RGB.byte.tif'));
    try {
      const stats = await sceneStatistics(scene);
      const mapping = bandMapping(scene.description);
      const [chip] = await fullChips(scene, planChips(scene, { size: 96, scales: [1] }), 1);
      const rgb = await chipToRgb(scene, chip!, { mapping, stats, size: 96 });
      const s: PreprocessSpec = { ...spec, resize };
      const tensor = chipModelInput(rgb, s, preprocess);
      expect(tensor.length).toBe(3 * 64 * 64);
      const want = handNormalise(resizeBicubic(await handRgb(scene, chip!, mapping, stats), 64, 64));
      expect(maxDiff(tensor, want)).toBeLessThanOrEqual(TOLERANCE);
      // …and resampling did happen: a nearest-neighbour pick of the 96 px chip is not the same tensor.
      const hand = await handRgb(scene, chip!, mapping, stats);
      const nearest = new Uint8Array(64 * 64 * 3);
      for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) for (let c = 0; c < 3; c++) nearest[(y * 64 + x) * 3 + c] = hand.data[(Math.floor(y * 1.5) * 96 + Math.floor(x * 1.5)) * 3 + c]!;
      expect(maxDiff(tensor, handNormalise({ width: 64, height: 64, data: nearest }))).toBeGreaterThan(0.05);
    } finally {
      await scene.close();
    }
  });

  it('refuses a preprocessing result that is not [3, size, size]', async () => {
    const rgb = { width: 4, height: 4, data: new Uint8Array(48), validFraction: 1 };
    expect(() => chipModelInput(rgb, { ...spec, size: 4 }, () => new Float32Array(10))).toThrow(/3 × 4 × 4/);
    expect(chipModelInput(rgb, { ...spec, size: 4 }, preprocess)).toHaveLength(48);
  });
});

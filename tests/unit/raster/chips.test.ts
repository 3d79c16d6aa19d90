import { describe, expect, it } from 'vitest';
import { bandMapping, chipToRgb, extractChips, openScene, planChips, readChipPixels, sceneStatistics, type Chip } from '../../../app/core/raster/index.js';
import { HAVE_DATA, SKIP_REASON, fixture, gdalRasters, geotiff } from './data.js';

interface GdalChip {
  file: string;
  window: [number, number, number, number];
  bands: number[][];
}

const chips = HAVE_DATA ? fixture<{ chips: GdalChip[] }>('gdal-chips.json').chips : [];

describe.skipIf(!HAVE_DATA)(`model chips ${HAVE_DATA ? '' : SKIP_REASON}`, () => {
  /**
   * The plan's own native-resolution chips (16 px, 25 % overlap) against gdal_translate -srcwin of the
   * same window: identical, except YCbCr JPEG tiles where geotiff.js upsamples chroma by nearest
   * neighbour and libjpeg smoothly: there a pixel may differ by up to 16 grey levels (measured ≤ 10 at
   * colour edges) and the window's mean absolute difference must stay ≤ 4 (measured ≤ 2.8).
   */
  it.each(chips.map((c) => [`${c.file} ${c.window.join(',')}`, c] as [string, GdalChip]))('%s: chip pixels equal gdal_translate -srcwin', async (_n, g) => {
    const scene = await openScene(geotiff(g.file));
    try {
      const [x, y, w, h] = g.window;
      const chip = planChips(scene, { size: 16, overlap: 0.25, scales: [1] }).find((c) => c.window.x === x && c.window.y === y);
      expect(chip, 'the fixture window is one of the plan\'s chips').toBeDefined();
      expect(chip!.window).toEqual({ x, y, width: w, height: h });
      const px = await readChipPixels(scene, chip!);
      expect(px.bands).toHaveLength(g.bands.length);
      const ycbcr = scene.description.compression === 'JPEG (YCbCr)';
      g.bands.forEach((band, b) => {
        const ours = Array.from(px.bands[b]!);
        if (!ycbcr) return expect(ours).toEqual(band);
        const diffs = band.map((v, i) => Math.abs(ours[i]! - v));
        expect(Math.max(...diffs)).toBeLessThanOrEqual(16);
        expect(diffs.reduce((a, v) => a + v, 0) / diffs.length).toBeLessThanOrEqual(4);
      });
    } finally {
      await scene.close();
    }
  });

  it('plans every scale so that the chips cover the scene, with overlap, from the right level', async () => {
    const scene = await openScene(geotiff('cogeo.tif'));
    try {
      const plan = planChips(scene, { size: 224, overlap: 0.25 });
      const scales = [...new Set(plan.map((c) => c.scale))];
      expect(scales).toEqual([1, 2, 4, 8]);
      for (const s of scales) {
        const at = plan.filter((c) => c.scale === s);
        const covered = new Uint8Array(1024 * 1024);
        for (const c of at) {
          expect([c.window.width, c.window.height]).toEqual([224 * s, 224 * s]);
          // cogeo.tif has exact 2× overviews: scale s reads the level with the same scale.
          expect(scene.levels[c.level]!.scaleX).toBe(Math.min(s, 64));
          expect([c.levelWindow.width, c.levelWindow.height]).toEqual([224, 224]);
          for (let y = c.window.y; y < Math.min(1024, c.window.y + c.window.height); y++) covered.fill(1, y * 1024 + c.window.x, y * 1024 + Math.min(1024, c.window.x + c.window.width));
        }
        expect(covered.every((v) => v === 1)).toBe(true);
        // Steps of the stride (25 % overlap); only the last window, flush with the edge, may step less.
        const xs = [...new Set(at.map((c) => c.window.x))].sort((a, b) => a - b);
        const steps = xs.slice(1).map((x, i) => x - xs[i]!);
        steps.slice(0, -1).forEach((step) => expect(step).toBe(Math.round(224 * s * 0.75)));
        if (steps.length > 0) expect(steps[steps.length - 1]!).toBeLessThanOrEqual(Math.round(224 * s * 0.75));
      }
    } finally {
      await scene.close();
    }
  });

  it('every chip knows its WGS84 polygon; the first chip starts at the scene\'s upper-left corner', async () => {
    const scene = await openScene(geotiff('rio-tiler/mosaic_cog1.tif'));
    try {
      const ul = gdalRasters().find((r) => r.file === 'rio-tiler/mosaic_cog1.tif')!.wgs84!.upperLeft!.lonlat;
      const plan = planChips(scene, { size: 128 });
      for (const c of plan) expect(c.polygon?.coordinates[0]).toHaveLength(5);
      const first = plan[0]!.polygon!.coordinates[0]![0]!;
      expect(Math.abs(first[0] - ul[0])).toBeLessThanOrEqual(1e-5);
      expect(Math.abs(first[1] - ul[1])).toBeLessThanOrEqual(1e-5);
    } finally {
      await scene.close();
    }
  });

  it('skips chips that are mostly nodata, and only those', async () => {
    const scene = await openScene(geotiff('RGB.byte.tif')); // a rotated Landsat footprint in a nodata frame
    try {
      const d = scene.description;
      const plan = planChips(scene, { size: 64, scales: [1] });
      const stats = await sceneStatistics(scene);
      const kept = new Set<number>();
      for await (const { chip, rgb } of extractChips(scene, plan, { mapping: bandMapping(d), stats, size: 64 })) {
        kept.add(chip.index);
        expect(rgb.validFraction).toBeGreaterThanOrEqual(0.5);
      }
      let expectedSkips = 0;
      for (const c of plan) {
        const px = await readChipPixels(scene, c);
        const validFraction = px.valid.reduce((s, v) => s + v, 0) / px.valid.length;
        if (validFraction < 0.5) expectedSkips++;
        expect(kept.has(c.index)).toBe(validFraction >= 0.5);
      }
      expect(expectedSkips).toBeGreaterThan(0);
      expect(kept.size).toBeGreaterThan(0);
    } finally {
      await scene.close();
    }
  });

  it('chip → RGB follows the band mapping (here overridden to B, G, R) and the 2–98 % stretch', async () => {
    const scene = await openScene(geotiff('RGB.byte.tif'));
    try {
      const mapping = bandMapping(scene.description, [2, 1, 0]);
      const stats = await sceneStatistics(scene);
      const { width, height } = scene.description;
      const chip: Chip = planChips(scene, { size: 32, scales: [1] }).find((c) => c.window.x + 32 >= width / 2 && c.window.y + 32 >= height / 2)!;
      const rgb = await chipToRgb(scene, chip, { mapping, stats, size: 32 });
      const raw = await readChipPixels(scene, chip);
      let checked = 0;
      for (let i = 0; i < 32 * 32; i++) {
        if (!raw.valid[i]) continue;
        for (let c = 0; c < 3; c++) {
          const band = mapping.bands[c]!;
          const s = stats.bands.find((b) => b.band === band)!;
          expect(s.p98).toBeGreaterThan(s.p2);
          const want = Math.max(0, Math.min(255, Math.round(((raw.bands[band]![i]! - s.p2) / (s.p98 - s.p2)) * 255)));
          expect(rgb.data[i * 3 + c]).toBe(want);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(100);
    } finally {
      await scene.close();
    }
  });
});

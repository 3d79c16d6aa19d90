import { describe, expect, it } from 'vitest';
import { bandMapping, describeScene, openScene, sceneStatistics, type BandStatistics } from '../../../app/core/raster/index.js';
import { HAVE_DATA, SKIP_REASON, fixture, geotiff } from './data.js';

interface GdalStats {
  file: string;
  level: number;
  bands: BandStatistics[];
}

const stats = HAVE_DATA ? fixture<{ stats: GdalStats[] }>('gdal-stats.json').stats : [];
const describeIf = describe.skipIf(!HAVE_DATA);

/**
 * Reference: GDAL-decoded pixels of the same level, masked by GDAL's per-band mask band (nodata,
 * alpha, internal mask), nearest-rank percentiles (tools/raster_fixtures.py). Identical decoders give
 * identical numbers; JPEG tiles decode slightly differently (geotiff.js upsamples chroma by nearest
 * neighbour, libjpeg smoothly), so JPEG-compressed scenes get 3 grey levels of slack on the percentiles.
 */
describeIf(`statistics and stretch ${HAVE_DATA ? '' : SKIP_REASON}`, () => {
  it.each(stats.map((s) => [s.file, s] as [string, GdalStats]))('%s: per-band 2–98 %% from the chosen level equal GDAL\'s', async (_f, gdal) => {
    const scene = await openScene(geotiff(gdal.file));
    try {
      const s = await sceneStatistics(scene);
      expect(s.level).toBe(gdal.level);
      expect(s.sampled).toBe(false);
      expect(s.bands.map((b) => b.band)).toEqual(gdal.bands.map((b) => b.band));
      const jpeg = scene.description.compression.startsWith('JPEG');
      s.bands.forEach((b, i) => {
        const g = gdal.bands[i]!;
        if (jpeg) {
          expect(b.validCount).toBe(g.validCount);
          expect(Math.abs(b.p2 - g.p2)).toBeLessThanOrEqual(3);
          expect(Math.abs(b.p98 - g.p98)).toBeLessThanOrEqual(3);
          expect(Math.abs(b.mean - g.mean)).toBeLessThanOrEqual(1);
        } else {
          expect(b).toMatchObject({ validCount: g.validCount, min: g.min, max: g.max, p2: g.p2, p98: g.p98 });
          expect(b.mean).toBeCloseTo(g.mean, 6);
        }
      });
    } finally {
      await scene.close();
    }
  });

  it('a sampled read of a large level lands close to the full statistics', async () => {
    const scene = await openScene(geotiff('debian/cbers2b_hrc_crop.tif'));
    try {
      const full = await sceneStatistics(scene);
      const sampled = await sceneStatistics(scene, { maxPixels: 1024 * 1024 });
      expect(sampled.sampled).toBe(true);
      expect(sampled.bands[0]!.validCount).toBeLessThan(full.bands[0]!.validCount / 4);
      expect(Math.abs(sampled.bands[0]!.p2 - full.bands[0]!.p2)).toBeLessThanOrEqual(8);
      expect(Math.abs(sampled.bands[0]!.p98 - full.bands[0]!.p98)).toBeLessThanOrEqual(8);
    } finally {
      await scene.close();
    }
  });

  it('picks the smallest overview that is still at least 512 px on its longer side', async () => {
    const d = await describeScene(geotiff('cogeo.tif'));
    const scene = await openScene(geotiff('cogeo.tif'));
    try {
      const s = await sceneStatistics(scene);
      expect(d.overviews.find((o) => o.level === s.level)).toMatchObject({ width: 512, height: 512 });
    } finally {
      await scene.close();
    }
  });
});

describeIf('default band mapping', () => {
  it('RGB by colour interpretation, even in BGRA order', async () => {
    expect(bandMapping(await describeScene(geotiff('RGBA.uint16.tif')))).toEqual({ kind: 'rgb', bands: [2, 1, 0] });
    expect(bandMapping(await describeScene(geotiff('RGB.byte.tif')))).toEqual({ kind: 'rgb', bands: [0, 1, 2] });
  });

  it('the first three bands of a multiband scene without colours', async () => {
    expect(bandMapping(await describeScene(geotiff('debian/L7_ETMs.tif')))).toEqual({ kind: 'rgb', bands: [0, 1, 2] });
  });

  it('a single band as grey', async () => {
    expect(bandMapping(await describeScene(geotiff('rio-tiler/cog_dateline.tif')))).toEqual({ kind: 'gray', bands: [0] });
  });

  it('overridable per scene, and a wrong override is an invalid_input error', async () => {
    const d = await describeScene(geotiff('debian/L7_ETMs.tif'));
    expect(bandMapping(d, [3, 2, 1])).toEqual({ kind: 'rgb', bands: [3, 2, 1] });
    expect(bandMapping(d, [4])).toEqual({ kind: 'gray', bands: [4] });
    expect(() => bandMapping(d, [0, 6, 1])).toThrow(/between 0 and 5/);
    expect(() => bandMapping(d, [0, 1])).toThrow(/one \(grey\) or three/);
  });
});

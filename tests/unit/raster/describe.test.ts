import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { describeScene, openScene, planChips, readChipPixels, sceneStatistics, type Footprint, type SceneDescription } from '../../../app/core/raster/index.js';
import { CAPTIONED_DIR, GEOTIFF_DIR, HAVE_DATA, SKIP_REASON, gdalRasters, geotiff, type GdalRaster } from './data.js';

const GDAL_TYPES: Record<string, string> = { Byte: 'uint8', Int8: 'int8', UInt16: 'uint16', Int16: 'int16', UInt32: 'uint32', Int32: 'int32', Float32: 'float32', Float64: 'float64' };

/**
 * Agreement with gdalinfo/gdaltransform (tools/raster_fixtures.py), in degrees:
 * - 1e-5 where the datum is WGS84 or one EPSG relates to WGS84 by a zero shift (NAD83, SIRGAS 2000):
 *   both sides do the same projection maths, observed differences are < 1e-11°.
 * - 1e-4 (≈ 11 m) for SAD69: GDAL/PROJ choose the Brazil-specific EPSG:5882 transformation
 *   (-67.35, 3.88, -38.22; 5 m), epsg-index defines SAD69 with the continental towgs84=-57,1,-41; the
 *   two EPSG transformations differ by ≈ 7 m (6.6e-5°) here. Kestrel states the datum accuracy in the
 *   scene's notes instead of pretending to a precision the datum shift does not have.
 */
function tolerance(d: SceneDescription): number {
  return d.crs?.datum.shift === 'none' ? 1e-5 : 1e-4;
}

function vertices(fp: Footprint): [number, number][] {
  return (fp.type === 'Polygon' ? fp.coordinates.flat() : fp.coordinates.flat(2)) as [number, number][];
}

function lonDistance(a: number, b: number): number {
  const d = Math.abs(a - b) % 360;
  return Math.min(d, 360 - d);
}

function nearestVertex(fp: Footprint, p: [number, number]): number {
  let best = Infinity;
  for (const v of vertices(fp)) best = Math.min(best, Math.max(lonDistance(v[0], p[0]), Math.abs(v[1] - p[1])));
  return best;
}

function maskKind(flags: string[], nodata: unknown): SceneDescription['mask'] {
  if (flags.includes('ALPHA')) return 'alpha';
  if (flags.includes('PER_DATASET')) return 'internal';
  if (flags.includes('NODATA') || nodata !== undefined && nodata !== null) return 'nodata';
  return 'none';
}

function listRasters(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listRasters(p));
    else if (/\.(tif|tiff|cog)$/i.test(name)) out.push(relative(GEOTIFF_DIR, p).split('\\').join('/'));
  }
  return out.sort();
}

describe.skipIf(!HAVE_DATA)(`open and describe every raster in ../shared/data/geotiff ${HAVE_DATA ? '' : SKIP_REASON}`, () => {
  const rasters = HAVE_DATA ? gdalRasters() : [];

  it('the gdalinfo fixture covers every raster in the folder (rerun tools/raster_fixtures.py when it changes)', () => {
    expect(rasters.map((r) => r.file).sort()).toEqual(listRasters(GEOTIFF_DIR));
  });

  describe.each(rasters.map((r) => [r.file, r] as [string, GdalRaster]))('%s', (_name, gdal) => {
    let d: SceneDescription;
    it('describes size, bands, type, nodata, colours, overviews and mask as gdalinfo does', async () => {
      d = await describeScene(geotiff(gdal.file));
      expect([d.width, d.height, d.bands]).toEqual([gdal.width, gdal.height, gdal.bands]);
      expect(d.dtype).toBe(GDAL_TYPES[gdal.types[0]!]);
      if (gdal.nodata === null || gdal.nodata === undefined) expect(d.nodata).toBeNull();
      else expect(Math.abs(d.nodata! - Number(gdal.nodata))).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(Number(gdal.nodata))));
      expect(d.colorInterpretation).toEqual(gdal.colorInterpretation.map((c) => c.toLowerCase()));
      expect(d.overviews.map((o) => [o.width, o.height])).toEqual(gdal.overviews);
      expect(d.mask).toBe(maskKind(gdal.maskFlags, gdal.nodata));
      if (gdal.compression?.includes('JPEG')) expect(d.compression).toMatch(/JPEG/);
      else if (gdal.compression) expect(d.compression.toLowerCase()).toBe(gdal.compression.toLowerCase());
      else expect(d.compression).toBe('none');
    });

    it('reads the CRS and the full affine geotransform (rotation terms included)', async () => {
      d ??= await describeScene(geotiff(gdal.file));
      if (gdal.epsg) expect(d.crs?.epsg).toBe(gdal.epsg);
      if (gdal.geoTransform) {
        expect(d.georeference?.kind).toBe('geotransform');
        const gt = d.georeference!.geoTransform;
        gdal.geoTransform.forEach((v, i) => expect(Math.abs(gt[i]! - v)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(v))));
      } else if (gdal.gcpCount > 0) {
        expect(d.georeference?.kind).toBe('gcps');
        expect(d.georeference?.gcps?.count).toBe(gdal.gcpCount);
      }
    });

    it('has a WGS84 footprint whose vertices include the corners and edge midpoints gdaltransform computes', async () => {
      d ??= await describeScene(geotiff(gdal.file));
      expect(gdal.wgs84).toBeDefined();
      const fp = d.footprint!;
      expect(['Polygon', 'MultiPolygon']).toContain(fp.type);
      const tol = tolerance(d);
      for (const [corner, p] of Object.entries(gdal.wgs84!)) {
        expect(nearestVertex(fp, p.lonlat), `${corner} of ${gdal.file}`).toBeLessThanOrEqual(tol);
      }
      for (const ring of fp.type === 'Polygon' ? fp.coordinates : fp.coordinates.flat()) {
        expect(ring[0]).toEqual(ring[ring.length - 1]);
        expect(ring.length).toBeGreaterThan(16); // densified, not just the four corners
        for (const [lon, lat] of ring) {
          expect(lon).toBeGreaterThanOrEqual(-180);
          expect(lon).toBeLessThanOrEqual(180);
          expect(Math.abs(lat)).toBeLessThanOrEqual(90);
        }
      }
    });
  });

  it('splits the scene that crosses the antimeridian into a MultiPolygon', async () => {
    const d = await describeScene(geotiff('rio-tiler/cog_dateline.tif'));
    expect(d.footprint?.type).toBe('MultiPolygon');
    const fp = d.footprint as Extract<Footprint, { type: 'MultiPolygon' }>;
    const lons = fp.coordinates.map((poly) => poly[0]!.map((p) => p[0]));
    expect(lons.some((l) => Math.max(...l) === 180)).toBe(true);
    expect(lons.some((l) => Math.min(...l) === -180)).toBe(true);
  });

  it('reports the rotated Umbra SAR grid with its rotation terms', async () => {
    const d = await describeScene(geotiff('geotiff-test-data/umbra_mount_yasur.tiff'));
    expect(Math.abs(d.georeference!.geoTransform[2])).toBeGreaterThan(0.1);
    expect(Math.abs(d.georeference!.geoTransform[4])).toBeGreaterThan(0.1);
  });

  it('resolves a deprecated EPSG code through the EPSG deprecation table and states the datum accuracy', async () => {
    const d = await describeScene(geotiff('debian/cbers2b_hrc_crop.tif'));
    expect(d.crs).toMatchObject({ epsg: 29191, declaredEpsg: 29181, datum: { shift: 'helmert' } });
    expect(d.notes.join(' ')).toMatch(/accuracy/);
  });

  it('fits GCP-only rasters with a first-order transform and says so', async () => {
    const d = await describeScene(geotiff('rio-tiler/cog_gcps.tif'));
    expect(d.georeference?.kind).toBe('gcps');
    expect(d.notes.join(' ')).toMatch(/ground control points/);
  });

  it('recognises COGs and stripped files', async () => {
    expect((await describeScene(geotiff('rio-tiler/cog_dateline.tif'))).cog).toBe(true);
    const stripped = await describeScene(geotiff('RGB.byte.tif'));
    expect(stripped.cog).toBe(false);
    expect(stripped.tiling.tiled).toBe(false);
  });
});

describe.skipIf(!HAVE_DATA)('pixel-space scenes', () => {
  it('a plain JPEG gets statistics and chips (pixels as libjpeg decodes them), without polygons', async () => {
    const files = readdirSync(CAPTIONED_DIR, { recursive: true }).map(String);
    const jpg = join(CAPTIONED_DIR, files.find((f) => /\.jpe?g$/i.test(f))!);
    const scene = await openScene(jpg);
    try {
      const stats = await sceneStatistics(scene);
      expect(stats.bands).toHaveLength(3);
      expect(stats.bands[0]!.validCount).toBe(scene.description.width * scene.description.height);
      const plan = planChips(scene, { size: 64 });
      expect(plan.length).toBeGreaterThan(0);
      expect(plan.every((c) => c.polygon === null)).toBe(true);
      const px = await readChipPixels(scene, plan[0]!);
      const { data } = await sharp(jpg).raw().toBuffer({ resolveWithObject: true });
      for (let i = 0; i < 64; i++) expect(px.bands[1]![i]).toBe(data[i * 3 + 1]);
    } finally {
      await scene.close();
    }
  });

  it('a plain TIFF and a plain JPEG without georeferencing are pixel-space scenes', async () => {
    const files = readdirSync(CAPTIONED_DIR, { recursive: true }).map(String);
    const tif = files.find((f) => /\.tif$/i.test(f));
    const jpg = files.find((f) => /\.jpe?g$/i.test(f));
    expect(tif && jpg).toBeTruthy();
    for (const f of [tif!, jpg!]) {
      const d = await describeScene(join(CAPTIONED_DIR, f));
      expect(d.georeferenced).toBe(false);
      expect(d.footprint).toBeNull();
      expect(d.width).toBeGreaterThan(0);
      expect(d.notes.join(' ')).toMatch(/pixel-space/);
    }
  });
});

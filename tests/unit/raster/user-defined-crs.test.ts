import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openScene, type Footprint } from '../../../app/core/raster/index.js';
import { fixture } from './data.js';

interface UserDefined {
  name: string;
  file: string;
  proj4: string;
  width: number;
  height: number;
  geoKeys: Record<string, number | null>;
  corners: Record<string, { pixel: [number, number]; crs: [number, number]; lonlat: [number, number] }>;
}

/**
 * Tiny GeoTIFFs in user-defined projections (ProjectedCSTypeGeoKey = 32767, the projection spelled
 * out in parameter GeoKeys), written by gdal_translate -a_srs '+proj=…' in tools/raster_fixtures.py
 * and committed under fixtures/user-defined/. The reference is gdalinfo's corner coordinates and
 * gdaltransform's WGS84 positions of them. Same datum (WGS84) on both sides, so only the projection
 * maths differs: the tests require 1e-5° (≈ 1 m).
 */
const rasters = fixture<{ rasters: UserDefined[] }>('user-defined-crs.json').rasters;
const fixtureFile = (rel: string): string => join(__dirname, 'fixtures', rel);
const TOLERANCE_DEG = 1e-5;

function vertices(fp: Footprint): [number, number][] {
  return (fp.type === 'Polygon' ? fp.coordinates.flat() : fp.coordinates.flat(2)) as [number, number][];
}

describe('user-defined projections from GeoKeys', () => {
  it('covers every coordinate transformation Kestrel reads: TM, Mercator, LCC 2SP and 1SP, LAEA, Albers, stereographic, polar stereographic (both variants), oblique stereographic, equirectangular', () => {
    expect(rasters.map((r) => r.geoKeys.ProjCoordTransGeoKey).sort((a, b) => a! - b!)).toEqual([1, 7, 8, 9, 10, 11, 14, 15, 15, 16, 17]);
  });

  describe.each(rasters.map((r) => [r.name, r] as [string, UserDefined]))('%s', (_n, r) => {
    it('the file really is user-defined (ProjectedCSTypeGeoKey 32767), and the description says so', async () => {
      const scene = await openScene(fixtureFile(r.file));
      try {
        const keys = scene.levels[0]!.image.getGeoKeys() as Record<string, unknown>;
        expect(keys.ProjectedCSTypeGeoKey).toBe(32767);
        expect(keys.ProjCoordTransGeoKey).toBe(r.geoKeys.ProjCoordTransGeoKey);
        const crs = scene.description.crs!;
        expect(crs.epsg).toBeNull();
        expect(crs.source).toBe('geokeys');
        expect(crs.kind).toBe('projected');
        expect(crs.name).toMatch(/^user-defined /);
        expect(crs.datum.shift).toBe('none');
        expect(scene.description.georeferenced).toBe(true);
      } finally {
        await scene.close();
      }
    });

    it(`footprint corners and centre agree with gdalinfo/gdaltransform within ${TOLERANCE_DEG}°`, async () => {
      const scene = await openScene(fixtureFile(r.file));
      try {
        const d = scene.description;
        expect([d.width, d.height]).toEqual([r.width, r.height]);
        // gdalinfo's corner coordinates in the CRS: the geotransform is read as GDAL reads it.
        const gt = d.georeference!.geoTransform;
        for (const c of Object.values(r.corners)) {
          const [px, py] = c.pixel;
          expect(Math.abs(gt[0] + px * gt[1] + py * gt[2] - c.crs[0])).toBeLessThanOrEqual(1e-6);
          expect(Math.abs(gt[3] + px * gt[4] + py * gt[5] - c.crs[1])).toBeLessThanOrEqual(1e-6);
        }
        for (const c of Object.values(r.corners)) {
          const [lon, lat] = scene.toLonLat!(c.pixel[0], c.pixel[1]);
          expect(Math.abs(lon - c.lonlat[0]), `${r.name} ${c.pixel.join(',')} lon`).toBeLessThanOrEqual(TOLERANCE_DEG);
          expect(Math.abs(lat - c.lonlat[1]), `${r.name} ${c.pixel.join(',')} lat`).toBeLessThanOrEqual(TOLERANCE_DEG);
        }
        // The footprint's four corners are vertices of its outline.
        const verts = vertices(d.footprint!);
        for (const name of ['upperLeft', 'upperRight', 'lowerRight', 'lowerLeft']) {
          const g = r.corners[name]!.lonlat;
          const nearest = Math.min(...verts.map((v) => Math.max(Math.abs(v[0] - g[0]), Math.abs(v[1] - g[1]))));
          expect(nearest, `${r.name} ${name}`).toBeLessThanOrEqual(TOLERANCE_DEG);
        }
      } finally {
        await scene.close();
      }
    });
  });
});

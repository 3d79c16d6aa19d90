import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeArrayBuffer } from 'geotiff';
import { afterAll, describe, expect, it } from 'vitest';
import { describeScene, type Footprint } from '../../../app/core/raster/index.js';
import { fixture } from './data.js';

interface Synthetic {
  name: string;
  epsg: number;
  width: number;
  height: number;
  ul: [number, number];
  pixel: [number, number];
  corners: { pixel: [number, number]; lonlat: [number, number] }[];
}

const synthetic = fixture<{ synthetic: Synthetic[] }>('gdal-describe.json').synthetic;
const dir = mkdtempSync(join(tmpdir(), 'kestrel-datum-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function nearest(fp: Footprint, p: [number, number]): number {
  const verts = (fp.type === 'Polygon' ? fp.coordinates.flat() : fp.coordinates.flat(2)) as [number, number][];
  return Math.min(...verts.map((v) => Math.max(Math.abs(v[0] - p[0]), Math.abs(v[1] - p[1]))));
}

/**
 * NAD27's EPSG definitions name the NTv2_0.gsb grid, which Kestrel does not ship. Like PROJ without
 * its grids, Kestrel then uses the most accurate EPSG Helmert transformation for the scene's area.
 * GDAL (same fallback, no grid installed) is the reference; 1e-5° ≈ 1 m, well inside the
 * transformations' stated 5–10 m. Dropping the shift altogether would be off by ≈ 5e-4° (≈ 50 m).
 */
describe('datums whose EPSG definition needs a shift grid', () => {
  it.each(synthetic.map((s) => [s.name, s] as [string, Synthetic]))('%s: footprint corners agree with GDAL within 1e-5°', async (_n, s) => {
    const geographic = s.epsg === 4267;
    const data = writeArrayBuffer(new Uint8Array(s.width * s.height).fill(9), {
      width: s.width,
      height: s.height,
      GTModelTypeGeoKey: geographic ? 2 : 1,
      ...(geographic ? { GeographicTypeGeoKey: s.epsg } : { ProjectedCSTypeGeoKey: s.epsg }),
      ModelPixelScale: [s.pixel[0], s.pixel[1], 0],
      ModelTiepoint: [0, 0, 0, s.ul[0], s.ul[1], 0],
    });
    const file = join(dir, `${s.name}.tif`);
    writeFileSync(file, Buffer.from(data));
    const d = await describeScene(file);
    expect(d.crs?.epsg).toBe(s.epsg);
    expect(d.crs?.datum.shift).toBe('helmert-instead-of-grid');
    expect(d.notes.join(' ')).toMatch(/stated accuracy \d+ m/);
    for (const c of s.corners) expect(nearest(d.footprint!, c.lonlat)).toBeLessThanOrEqual(1e-5);
  });
});

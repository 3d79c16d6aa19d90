import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAVE_DATA, SKIP_REASON, gdalRasters, geotiff } from './data.js';
import { kestrel } from '../../helpers/cli.js';



describe.skipIf(!HAVE_DATA)(`kestrel inspect ${HAVE_DATA ? '' : SKIP_REASON}`, () => {
  it('prints the description as JSON with crs, bands, dtype, overviews and the GeoJSON footprint', async () => {
    const data = mkdtempSync(join(tmpdir(), 'kestrel-data-'));
    try {
      const file = geotiff('rio-tiler/cog_dateline.tif');
      const { code, stdout } = await kestrel(['inspect', file, '--json', '--data', data]);
      expect(code).toBe(0);
      const out = JSON.parse(stdout) as Record<string, unknown>;
      const gdal = gdalRasters().find((r) => r.file === 'rio-tiler/cog_dateline.tif')!;
      expect(out).toMatchObject({ bands: gdal.bands, dtype: 'uint16', crs: { epsg: gdal.epsg } });
      expect((out.overviews as { width: number; height: number }[]).map((o) => [o.width, o.height])).toEqual(gdal.overviews);
      const fp = out.footprint as { type: string; coordinates: unknown[] };
      expect(fp.type).toBe('MultiPolygon');
      expect(fp.coordinates).toHaveLength(2);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('fails with exit code 1 and a JSON error naming the file for a non-TIFF', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kestrel-inspect-'));
    try {
      const bad = join(dir, 'notes.tif');
      writeFileSync(bad, 'not an image');
      const { code, stdout, stderr } = await kestrel(['inspect', bad, '--json']);
      expect(code).toBe(1);
      const out = JSON.parse(stdout) as { error: { code: string; file: string; message: string } };
      expect(out.error).toMatchObject({ code: 'corrupt_file', file: bad });
      expect(stderr).toContain(bad);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

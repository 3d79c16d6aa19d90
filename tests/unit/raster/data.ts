import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, '..', '..', '..');
/** The shared test rasters, read in place (never copied into the repository). */
export const GEOTIFF_DIR = resolve(REPO, '..', 'shared', 'data', 'geotiff');
export const CAPTIONED_DIR = resolve(REPO, '..', 'shared', 'data', 'rs-captioned');
export const HAVE_DATA = existsSync(GEOTIFF_DIR);
export const SKIP_REASON = `skipped: ${GEOTIFF_DIR} is missing (the shared test rasters live in ../shared/data)`;
if (!HAVE_DATA) console.warn(`raster tests ${SKIP_REASON}`);

export function geotiff(rel: string): string {
  return join(GEOTIFF_DIR, rel);
}

export interface GdalPoint {
  pixel: [number, number];
  lonlat: [number, number];
}

export interface GdalRaster {
  file: string;
  width: number;
  height: number;
  bands: number;
  types: string[];
  nodata: number | string | null;
  colorInterpretation: string[];
  overviews: [number, number][];
  maskFlags: string[];
  compression: string | null;
  epsg: number | null;
  geoTransform?: number[];
  gcpCount: number;
  wgs84?: Record<string, GdalPoint>;
}

export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(here, 'fixtures', name), 'utf8')) as T;
}

export const gdalRasters = (): GdalRaster[] => fixture<{ rasters: GdalRaster[] }>('gdal-describe.json').rasters;

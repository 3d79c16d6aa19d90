import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import proj4 from 'proj4';
import deprecated from './epsg-deprecated.json' with { type: 'json' };
import gridFallback from './epsg-grid-fallback.json' with { type: 'json' };
import { rasterError } from '../errors.js';

/**
 * How a scene's coordinates relate to WGS84. `datum.shift` is what Kestrel applies:
 * - 'none': the datum is WGS84 (or a WGS84-compatible realisation such as NAD83/SIRGAS 2000, which
 *   EPSG relates to WGS84 by a zero shift): positions are as exact as the projection maths;
 * - 'helmert': a 3/7-parameter EPSG transformation (e.g. SAD69, towgs84=-57,1,-41): metre-level;
 * - 'helmert-instead-of-grid': the EPSG definition needs a datum-shift grid (e.g. NAD27 → NTv2_0.gsb)
 *   that Kestrel does not ship; like PROJ without its grids, Kestrel uses the most accurate EPSG
 *   Helmert transformation whose area of use contains the scene (metres to ~10 m; the note says which);
 * - 'grid-unavailable': as above but no EPSG Helmert transformation covers the scene: the shift is
 *   dropped (ellipsoid change only), which may misplace the scene by up to ~100-200 m.
 * The note says which applies, and the description carries it to the UI.
 */
export interface CrsInfo {
  /** EPSG code in use (after resolving a deprecated code); null for user-defined CRSs. */
  epsg: number | null;
  /** The deprecated EPSG code the file declared, when it was replaced (e.g. 29181 → 29191). */
  declaredEpsg?: number;
  /** The EPSG geographic CRS underneath (e.g. 4267 for NAD27 / UTM 13N), when known. */
  geographicEpsg?: number;
  name: string;
  kind: 'projected' | 'geographic';
  /** The proj4 definition Kestrel transforms with (grid terms removed when unavailable). */
  proj4: string;
  source: 'epsg-index' | 'geokeys';
  datum: {
    name: string;
    shift: 'none' | 'helmert' | 'helmert-instead-of-grid' | 'grid-unavailable';
    /** Accuracy in metres the EPSG dataset states for this CRS's transformation to WGS84, when known. */
    epsgAccuracyM: number | null;
    note?: string;
  };
}

interface EpsgEntry {
  code: string;
  kind: string;
  name: string;
  wkt: string;
  proj4: string;
  accuracy: number | null;
}

const replacedBy = (deprecated as { replacedBy: Record<string, number> }).replacedBy;
let epsgDir: string | undefined;

function epsgEntry(code: number): EpsgEntry | undefined {
  epsgDir ??= join(dirname(createRequire(import.meta.url).resolve('epsg-index/package.json')), 's');
  try {
    return JSON.parse(readFileSync(join(epsgDir, `${code}.json`), 'utf8')) as EpsgEntry;
  } catch {
    return undefined;
  }
}

const USER_DEFINED = 32767;

/** GeoKeys as geotiff.js parses them: names → numbers, arrays or strings. */
export type GeoKeys = Partial<Record<string, unknown>>;

function num(keys: GeoKeys, name: string): number | undefined {
  const v = keys[name];
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  return undefined;
}

function datumName(wkt: string): string {
  return /DATUM\["([^"]+)"/.exec(wkt)?.[1] ?? 'unknown';
}

/** Datums EPSG relates to WGS84 by a null transformation (towgs84=0,0,0 or WGS84 itself). */
function isZeroShift(def: string): boolean {
  return /\+datum=WGS84\b/.test(def) || /\+towgs84=0,0,0(,0,0,0,0)?(\s|$)/.test(def) || /\+nadgrids=@null\b/.test(def);
}

function fromEpsg(code: number, file: string): CrsInfo {
  const declared = code;
  let entry = epsgEntry(code);
  if (!entry && replacedBy[String(code)] !== undefined) {
    code = replacedBy[String(code)] as number;
    entry = epsgEntry(code);
  }
  if (!entry || !entry.proj4) {
    throw rasterError('unknown_crs', file, `EPSG:${declared} is not a coordinate system Kestrel knows (not in the EPSG index).`);
  }
  let def = entry.proj4.replace(/\s*\+type=crs\b/, '');
  let shift: CrsInfo['datum']['shift'] = isZeroShift(def) ? 'none' : 'helmert';
  let note: string | undefined;
  const grid = /\+nadgrids=([^\s]+)/.exec(def);
  if (grid && grid[1] !== '@null') {
    def = def.replace(/\s*\+nadgrids=[^\s]+/, '');
    shift = 'grid-unavailable';
    note =
      `The EPSG definition shifts ${datumName(entry.wkt)} to WGS84 with the grid ${grid[1]}, which Kestrel does not ship; ` +
      'the shift is left out, so map positions may be off by up to ~200 m.';
  } else if (shift === 'helmert') {
    note = `${datumName(entry.wkt)} → WGS84 by the EPSG Helmert transformation (${/\+towgs84=([^\s]+)/.exec(def)?.[1] ?? 'ellipsoid only'})` +
      (entry.accuracy !== null ? `, stated accuracy ${entry.accuracy} m.` : '.');
  }
  const info: CrsInfo = {
    epsg: code,
    name: entry.name,
    kind: entry.kind.includes('PROJCRS') ? 'projected' : 'geographic',
    proj4: def,
    source: 'epsg-index',
    datum: { name: datumName(entry.wkt), shift, epsgAccuracyM: entry.accuracy },
  };
  if (declared !== code) info.declaredEpsg = declared;
  const geog = entry.kind.includes('GEOGCRS') ? code : Number(/\]\],AUTHORITY\["EPSG","(\d+)"\]\],PROJECTION/.exec(entry.wkt)?.[1]);
  if (Number.isFinite(geog)) info.geographicEpsg = geog;
  if (note) info.datum.note = note;
  return info;
}

/**
 * GeoTIFF coordinate transformation codes (ProjCoordTransGeoKey) → proj4 projection and parameters.
 * Each parameter lists the keys to try in order: GDAL writes e.g. Albers' origin as ProjNatOrigin*,
 * other writers as ProjFalseOrigin*. Codes as in the GeoTIFF spec and libgeotiff: 8 is LCC 2SP,
 * 9 LCC 1SP (tests/unit/raster/user-defined-crs.test.ts checks each against GDAL).
 */
const TRANSFORMS: Record<number, { proj: string; params: [string, ...string[]][] }> = {
  1: { proj: 'tmerc', params: [['lat_0', 'ProjNatOriginLatGeoKey'], ['lon_0', 'ProjNatOriginLongGeoKey'], ['k_0', 'ProjScaleAtNatOriginGeoKey']] },
  7: { proj: 'merc', params: [['lat_ts', 'ProjStdParallel1GeoKey'], ['lon_0', 'ProjNatOriginLongGeoKey'], ['k_0', 'ProjScaleAtNatOriginGeoKey']] },
  8: {
    proj: 'lcc',
    params: [
      ['lat_1', 'ProjStdParallel1GeoKey'], ['lat_2', 'ProjStdParallel2GeoKey'],
      ['lat_0', 'ProjFalseOriginLatGeoKey', 'ProjNatOriginLatGeoKey'], ['lon_0', 'ProjFalseOriginLongGeoKey', 'ProjNatOriginLongGeoKey'],
    ],
  },
  9: { proj: 'lcc', params: [['lat_1', 'ProjNatOriginLatGeoKey'], ['lat_0', 'ProjNatOriginLatGeoKey'], ['lon_0', 'ProjNatOriginLongGeoKey'], ['k_0', 'ProjScaleAtNatOriginGeoKey']] },
  10: { proj: 'laea', params: [['lat_0', 'ProjCenterLatGeoKey', 'ProjNatOriginLatGeoKey'], ['lon_0', 'ProjCenterLongGeoKey', 'ProjNatOriginLongGeoKey']] },
  11: {
    proj: 'aea',
    params: [
      ['lat_1', 'ProjStdParallel1GeoKey'], ['lat_2', 'ProjStdParallel2GeoKey'],
      ['lat_0', 'ProjNatOriginLatGeoKey', 'ProjFalseOriginLatGeoKey'], ['lon_0', 'ProjNatOriginLongGeoKey', 'ProjFalseOriginLongGeoKey'],
    ],
  },
  14: { proj: 'stere', params: [['lat_0', 'ProjCenterLatGeoKey', 'ProjNatOriginLatGeoKey'], ['lon_0', 'ProjCenterLongGeoKey', 'ProjNatOriginLongGeoKey'], ['k_0', 'ProjScaleAtNatOriginGeoKey']] },
  15: { proj: 'stere', params: [['lat_ts', 'ProjNatOriginLatGeoKey'], ['lon_0', 'ProjStraightVertPoleLongGeoKey'], ['k_0', 'ProjScaleAtNatOriginGeoKey']] },
  16: { proj: 'sterea', params: [['lat_0', 'ProjNatOriginLatGeoKey'], ['lon_0', 'ProjNatOriginLongGeoKey'], ['k_0', 'ProjScaleAtNatOriginGeoKey']] },
  17: {
    proj: 'eqc',
    params: [['lat_ts', 'ProjStdParallel1GeoKey'], ['lat_0', 'ProjCenterLatGeoKey', 'ProjNatOriginLatGeoKey'], ['lon_0', 'ProjCenterLongGeoKey', 'ProjNatOriginLongGeoKey']],
  },
};

const LINEAR_UNITS: Record<number, string> = { 9001: '+units=m', 9002: '+units=ft', 9003: '+units=us-ft' };

/** The geographic part of a user-defined CRS: an EPSG geographic code, or an ellipsoid from the keys. */
function geographicDef(keys: GeoKeys, file: string): { def: string; datum: string; shift: CrsInfo['datum']['shift'] } {
  const geog = num(keys, 'GeographicTypeGeoKey');
  if (geog !== undefined && geog !== USER_DEFINED) {
    const base = fromEpsg(geog, file);
    return { def: base.proj4.replace(/\+proj=longlat\s*/, '').replace(/\s*\+no_defs\b/, ''), datum: base.datum.name, shift: base.datum.shift };
  }
  const a = num(keys, 'GeogSemiMajorAxisGeoKey');
  const rf = num(keys, 'GeogInvFlatteningGeoKey');
  const b = num(keys, 'GeogSemiMinorAxisGeoKey');
  if (a !== undefined && (rf !== undefined || b !== undefined)) {
    // An ellipsoid without a datum: treated as WGS84-aligned (no shift), as GDAL does.
    return { def: rf !== undefined ? `+a=${a} +rf=${rf}` : `+a=${a} +b=${b}`, datum: 'user-defined', shift: 'none' };
  }
  return { def: '+datum=WGS84', datum: 'WGS_1984 (assumed)', shift: 'none' };
}

/**
 * The scene's CRS from its GeoKeys: EPSG codes through epsg-index (deprecated codes through the
 * EPSG deprecation table that tools/raster_fixtures.py extracts from PROJ's database), user-defined
 * projections from their parameter keys. null when the file declares no CRS.
 */
export function crsFromGeoKeys(keys: GeoKeys | null, file: string): CrsInfo | null {
  if (!keys) return null;
  const model = num(keys, 'GTModelTypeGeoKey');
  const projected = num(keys, 'ProjectedCSTypeGeoKey');
  const geographic = num(keys, 'GeographicTypeGeoKey');
  if (model === 3) throw rasterError('unknown_crs', file, 'The file declares a geocentric coordinate system, which is not a map projection.');
  if (projected !== undefined && projected !== USER_DEFINED) return fromEpsg(projected, file);
  if (model === 2 || (model === undefined && projected === undefined)) {
    if (geographic !== undefined && geographic !== USER_DEFINED) return fromEpsg(geographic, file);
    const g = geographicDef(keys, file);
    if (model === undefined && geographic === undefined && g.datum === 'WGS_1984 (assumed)') return null;
    return { epsg: null, name: 'user-defined geographic', kind: 'geographic', proj4: `+proj=longlat ${g.def} +no_defs`, source: 'geokeys', datum: { name: g.datum, shift: g.shift, epsgAccuracyM: null } };
  }
  const ct = num(keys, 'ProjCoordTransGeoKey');
  const t = ct !== undefined ? TRANSFORMS[ct] : undefined;
  if (!t) throw rasterError('unknown_crs', file, `The file declares a user-defined projection (coordinate transformation ${ct ?? 'missing'}) that Kestrel cannot interpret.`);
  const parts = [`+proj=${t.proj}`];
  for (const [p, ...names] of t.params) {
    const v = names.map((n) => num(keys, n)).find((x) => x !== undefined);
    if (v !== undefined) parts.push(`+${p}=${v}`);
  }
  // Polar stereographic: the pole is the origin; ProjNatOriginLatGeoKey is the latitude of true scale
  // (variant B) or the pole itself with a scale factor (variant A).
  if (ct === 15) parts.push((num(keys, 'ProjNatOriginLatGeoKey') ?? 90) < 0 ? '+lat_0=-90' : '+lat_0=90');
  parts.push(`+x_0=${num(keys, 'ProjFalseEastingGeoKey') ?? num(keys, 'ProjFalseOriginEastingGeoKey') ?? 0}`);
  parts.push(`+y_0=${num(keys, 'ProjFalseNorthingGeoKey') ?? num(keys, 'ProjFalseOriginNorthingGeoKey') ?? 0}`);
  const g = geographicDef(keys, file);
  parts.push(g.def, LINEAR_UNITS[num(keys, 'ProjLinearUnitsGeoKey') ?? 9001] ?? '+units=m', '+no_defs');
  return { epsg: null, name: `user-defined ${t.proj}`, kind: 'projected', proj4: parts.join(' '), source: 'geokeys', datum: { name: g.datum, shift: g.shift, epsgAccuracyM: null } };
}

interface HelmertCandidate {
  code: number;
  name: string;
  accuracy: number | null;
  towgs84: number[];
  /** Area of use: west, south, east, north (degrees; east < west when it crosses the antimeridian). */
  area: [number, number, number, number];
}

const fallbacks = (gridFallback as unknown as { byGeographicCrs: Record<string, HelmertCandidate[]> }).byGeographicCrs;

function inArea(area: HelmertCandidate['area'], lon: number, lat: number): boolean {
  const [w, s, e, n] = area;
  if (lat < s || lat > n) return false;
  return w <= e ? lon >= w && lon <= e : lon >= w || lon <= e;
}

/**
 * For a CRS whose datum grid is unavailable: the most accurate EPSG Helmert transformation whose
 * area of use contains (lon, lat), the scene's centre. Returns the CRS unchanged otherwise.
 */
export function withGridFallback(crs: CrsInfo, lon: number, lat: number): CrsInfo {
  if (crs.datum.shift !== 'grid-unavailable' || crs.geographicEpsg === undefined) return crs;
  const candidates = (fallbacks[String(crs.geographicEpsg)] ?? []).filter((c) => inArea(c.area, lon, lat));
  candidates.sort((a, b) => (a.accuracy ?? Infinity) - (b.accuracy ?? Infinity));
  const best = candidates[0];
  if (!best) return crs;
  return {
    ...crs,
    proj4: `${crs.proj4} +towgs84=${best.towgs84.join(',')}`,
    datum: {
      name: crs.datum.name,
      shift: 'helmert-instead-of-grid',
      epsgAccuracyM: best.accuracy,
      note:
        `${crs.datum.name} → WGS84 by EPSG:${best.code} (${best.name}${best.accuracy !== null ? `, stated accuracy ${best.accuracy} m` : ''}) ` +
        'instead of the datum grid the EPSG definition names, which Kestrel does not ship.',
    },
  };
}

export interface LonLatTransform {
  /** CRS coordinates → WGS84 [lon, lat]. */
  forward(x: number, y: number): [number, number];
  /** WGS84 [lon, lat] → CRS coordinates. */
  inverse(lon: number, lat: number): [number, number];
}

/** A proj4 converter between the scene's CRS and WGS84 longitude/latitude. */
export function toWgs84(crs: CrsInfo): LonLatTransform {
  const conv = proj4(crs.proj4, 'WGS84');
  return {
    forward: (x, y) => conv.forward([x, y]) as [number, number],
    inverse: (lon, lat) => conv.inverse([lon, lat]) as [number, number],
  };
}

import type { SearchArea } from '@contract/schema';

/** A search area: a box, or a polygon whose ring is closed (first point repeated last), in [lon, lat]. The contract's type: view.json keeps it. */
export type Area = SearchArea;

/** [west, south, east, north] in degrees, as search.query's bbox takes it (west > east crosses the antimeridian). */
export type Box = Extract<Area, { kind: 'box' }>['box'];

/** Longitude into [-180, 180); one already in range is kept exactly as it is. */
const wrap = (lon: number): number => (lon >= -180 && lon < 180 ? lon : ((((lon + 180) % 360) + 360) % 360) - 180);
const clampLat = (lat: number): number => Math.max(-90, Math.min(90, lat));

/** The whole turns (a multiple of 360°) that bring the mean of continuous longitudes back into [-180, 180]. */
export function turnShift(lons: number[]): number {
  const mean = lons.reduce((sum, lon) => sum + lon, 0) / Math.max(1, lons.length);
  return -360 * Math.round(mean / 360);
}

/**
 * The area of a map box. Leaflet's longitudes run past ±180 once the map has been panned around the
 * world; they are wrapped back, and a box that spans the whole world is no area at all (null).
 */
export function areaOf(west: number, south: number, east: number, north: number): Area | null {
  if (east - west >= 360) return null;
  const w = wrap(west);
  let e = wrap(east);
  // A box whose east edge lands exactly on the antimeridian keeps it as +180, not -180.
  if (e === -180 && east > west) e = 180;
  return { kind: 'box', box: [w, clampLat(south), e, clampLat(north)] };
}

/**
 * The area of a polygon clicked on the map, its corners in Leaflet's continuous longitudes. The whole
 * ring is shifted by whole turns into [-180, 180]; one that still crosses the antimeridian cannot be
 * searched as a polygon (the engine compares raw longitudes) and gets a message instead.
 */
export function polygonArea(corners: { lat: number; lng: number }[]): Area | string {
  if (corners.length < 3) return 'A polygon needs at least three corners.';
  const shift = turnShift(corners.map((c) => c.lng));
  const ring = corners.map((c): [number, number] => [c.lng + shift, clampLat(c.lat)]);
  if (ring.some(([lon]) => lon < -180 || lon > 180)) return 'This polygon crosses the antimeridian: draw a box there instead.';
  return { kind: 'polygon', ring: [...ring, ring[0]!] };
}

/** The area as search.query's filter. */
export function areaFilter(a: Area): { bbox: Box } | { polygon: { type: 'Polygon'; coordinates: [number, number][][] } } {
  return a.kind === 'box' ? { bbox: a.box } : { polygon: { type: 'Polygon', coordinates: [a.ring] } };
}

/** The area in words, for the filter bar. */
export function describeArea(a: Area): string {
  const f = (x: number): string => x.toFixed(2);
  if (a.kind === 'polygon') return `polygon of ${a.ring.length - 1} corners`;
  const [w, s, e, n] = a.box;
  return `${f(s)}…${f(n)}° N, ${f(w)}…${f(e)}° E`;
}

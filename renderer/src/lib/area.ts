/** A search area: [west, south, east, north] in degrees, as search.query takes it (west > east crosses the antimeridian). */
export type Area = [number, number, number, number];

const wrap = (lon: number): number => ((((lon + 180) % 360) + 360) % 360) - 180;
const clampLat = (lat: number): number => Math.max(-90, Math.min(90, lat));

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
  return [w, clampLat(south), e, clampLat(north)];
}

/** The area in words, for the filter bar. */
export function describeArea(a: Area): string {
  const f = (x: number): string => x.toFixed(2);
  return `${f(a[1])}…${f(a[3])}° N, ${f(a[0])}…${f(a[2])}° E`;
}

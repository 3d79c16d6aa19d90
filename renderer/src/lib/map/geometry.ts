/**
 * The map's geometry in plain numbers: antimeridian handling, rings and boxes as the map draws them.
 * No Leaflet and no DOM here (the unit tests run it in Node); points are [lon, lat] unless named.
 */
import { turnShift, type Area, type Box } from '../area';

/** [lat, lon], the order Leaflet takes a point in. */
export type LatLon = [number, number];

/**
 * Natural Earth rings that cross the antimeridian jump from +180 to -180; drawn as they are, each
 * jump paints a sliver across the whole map. Unwrapping makes every ring continuous in longitude,
 * then brings the ring's bulk back to [-180, 180] (its first point may lie on the far side of the cut).
 */
export function unwrapRing(ring: number[][]): number[][] {
  let offset = 0;
  let previous: number | undefined;
  const out = ring.map(([lon = 0, lat = 0]) => {
    let x = lon + offset;
    const step = previous === undefined ? 0 : x - previous;
    const jump = step > 180 ? -360 : step < -180 ? 360 : 0;
    offset += jump;
    x += jump;
    previous = x;
    return [x, lat];
  });
  const shift = turnShift(out.map(([x = 0]) => x));
  return shift ? out.map(([x = 0, y = 0]) => [x + shift, y]) : out;
}

/** A GeoJSON geometry, as far as unwrapping its rings goes. */
export interface RingGeometry {
  type: string;
  coordinates?: unknown;
}

/** Unwraps every ring of a Polygon or MultiPolygon in place (other geometries are left as they are). */
export function unwrapGeometry(geometry: RingGeometry): void {
  if (geometry.type === 'MultiPolygon') geometry.coordinates = (geometry.coordinates as number[][][][]).map((poly) => poly.map(unwrapRing));
  else if (geometry.type === 'Polygon') geometry.coordinates = (geometry.coordinates as number[][][]).map(unwrapRing);
}

/**
 * A search box's corners as the map draws it, [south-west, north-east] in [lat, lon]: a box across the
 * antimeridian (west > east) runs its east edge past +180, so that both sides are one box.
 */
export function boxCorners(box: Box): [LatLon, LatLon] {
  const [w, s, e, n] = box;
  return [
    [s, w],
    [n, e < w ? e + 360 : e],
  ];
}

/** A search area as the map draws it: a box's two corners, or a polygon's ring in [lat, lon]. */
export function areaShape(area: Area): { kind: 'box'; corners: [LatLon, LatLon] } | { kind: 'polygon'; ring: LatLon[] } {
  if (area.kind === 'polygon') return { kind: 'polygon', ring: area.ring.map(([lon, lat]): LatLon => [lat, lon]) };
  return { kind: 'box', corners: boxCorners(area.box) };
}

/** A drag of more than a few pixels each way is a box; less is a click, which draws nothing. */
export function isDrag(a: { x: number; y: number }, b: { x: number; y: number }, minPixels = 4): boolean {
  return Math.abs(a.x - b.x) > minPixels && Math.abs(a.y - b.y) > minPixels;
}

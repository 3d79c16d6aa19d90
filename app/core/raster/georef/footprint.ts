/** A GeoJSON geometry in WGS84 longitude/latitude (RFC 7946: exterior rings counter-clockwise). */
export type Footprint =
  | { type: 'Polygon'; coordinates: [number, number][][] }
  | { type: 'MultiPolygon'; coordinates: [number, number][][][] };

/** Pixel (col, row) → WGS84 [lon, lat]. */
export type PixelToLonLat = (col: number, row: number) => [number, number];

/** The ring's pixel positions: the four corners and `perEdge - 1` points between each pair. */
export function footprintPixels(width: number, height: number, perEdge: number): [number, number][] {
  const pts: [number, number][] = [];
  const edge = (x0: number, y0: number, x1: number, y1: number): void => {
    for (let i = 0; i < perEdge; i++) pts.push([x0 + ((x1 - x0) * i) / perEdge, y0 + ((y1 - y0) * i) / perEdge]);
  };
  edge(0, 0, width, 0);
  edge(width, 0, width, height);
  edge(width, height, 0, height);
  edge(0, height, 0, 0);
  return pts;
}

function signedArea(ring: [number, number][]): number {
  let a = 0;
  for (let i = 0; i < ring.length; i++) {
    const p = ring[i]!;
    const q = ring[(i + 1) % ring.length]!;
    a += p[0] * q[1] - q[0] * p[1];
  }
  return a / 2;
}

/** Clips a ring to the half-plane lon ≤ limit (keep = 'below') or lon ≥ limit ('above'). */
function clipLon(ring: [number, number][], limit: number, keep: 'below' | 'above'): [number, number][] {
  const inside = (p: [number, number]): boolean => (keep === 'below' ? p[0] <= limit : p[0] >= limit);
  const out: [number, number][] = [];
  for (let i = 0; i < ring.length; i++) {
    const p = ring[i]!;
    const q = ring[(i + 1) % ring.length]!;
    if (inside(p)) out.push(p);
    if (inside(p) !== inside(q)) {
      const t = (limit - p[0]) / (q[0] - p[0]);
      out.push([limit, p[1] + t * (q[1] - p[1])]);
    }
  }
  return out;
}

function close(ring: [number, number][]): [number, number][] {
  const r = ring.map((p) => [p[0], p[1]] as [number, number]);
  const first = r[0];
  if (first) r.push([first[0], first[1]]);
  return r;
}

/**
 * The scene's WGS84 outline: the image border densified (`perEdge` segments per side, the four
 * corners among the vertices), counter-clockwise; split into a MultiPolygon at the antimeridian;
 * closed over the pole when the outline encircles one.
 */
export function footprint(width: number, height: number, toLonLat: PixelToLonLat, perEdge = 16): Footprint {
  const ring = footprintPixels(width, height, perEdge).map(([c, r]) => toLonLat(c, r));
  // Unwrap longitudes so that consecutive vertices never jump by more than 180°.
  const unwrapped: [number, number][] = [];
  for (const [lon, lat] of ring) {
    const prev = unwrapped[unwrapped.length - 1];
    let l = lon;
    if (prev) {
      while (l - prev[0] > 180) l -= 360;
      while (l - prev[0] < -180) l += 360;
    }
    unwrapped.push([l, lat]);
  }
  const first = unwrapped[0]!;
  const last = unwrapped[unwrapped.length - 1]!;
  let closing = first[0] - last[0];
  while (closing > 180) closing -= 360;
  while (closing < -180) closing += 360;
  const winding = last[0] + closing - first[0];
  if (Math.abs(winding) > 180) {
    // The outline goes round a pole: cut it at the antimeridian and close it over the pole.
    const pole = unwrapped.reduce((s, p) => s + p[1], 0) > 0 ? 90 : -90;
    const norm = unwrapped.map(([l, lat]) => [((((l + 180) % 360) + 360) % 360) - 180, lat] as [number, number]);
    let start = 0;
    for (let i = 1; i < norm.length; i++) if (norm[i]![0] < norm[start]![0]) start = i;
    const sorted = [...norm.slice(start), ...norm.slice(0, start)];
    if (sorted[sorted.length - 1]![0] < sorted[0]![0]) sorted.reverse();
    const capped: [number, number][] = [[-180, sorted[0]![1]], ...sorted, [180, sorted[sorted.length - 1]![1]], [180, pole], [-180, pole]];
    const ccw = signedArea(capped) > 0 ? capped : capped.reverse();
    return { type: 'Polygon', coordinates: [close(ccw)] };
  }
  const oriented = signedArea(unwrapped) > 0 ? unwrapped : [...unwrapped].reverse();
  const minLon = Math.min(...oriented.map((p) => p[0]));
  const maxLon = Math.max(...oriented.map((p) => p[0]));
  let shift = 0;
  if (minLon >= 180) shift = -360;
  else if (maxLon <= -180) shift = 360;
  const shifted = oriented.map(([l, lat]) => [l + shift, lat] as [number, number]);
  if (minLon + shift < -180 || maxLon + shift > 180) {
    const limit = maxLon + shift > 180 ? 180 : -180;
    const west = clipLon(shifted, limit, 'below').map(([l, lat]) => [limit === -180 ? l + 360 : l, lat] as [number, number]);
    const east = clipLon(shifted, limit, 'above').map(([l, lat]) => [limit === 180 ? l - 360 : l, lat] as [number, number]);
    return { type: 'MultiPolygon', coordinates: [[close(west)], [close(east)]] };
  }
  return { type: 'Polygon', coordinates: [close(shifted)] };
}

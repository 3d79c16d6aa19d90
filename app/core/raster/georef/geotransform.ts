/**
 * Affine geotransform in GDAL's order: X = gt[0] + col·gt[1] + row·gt[2], Y = gt[3] + col·gt[4] + row·gt[5],
 * rotation terms included. (col, row) are pixel-corner coordinates: (0, 0) is the top-left corner.
 */
export type GeoTransform = [number, number, number, number, number, number];

export function applyGeoTransform(gt: GeoTransform, col: number, row: number): [number, number] {
  return [gt[0] + col * gt[1] + row * gt[2], gt[3] + col * gt[4] + row * gt[5]];
}

export function invertGeoTransform(gt: GeoTransform): GeoTransform | null {
  const det = gt[1] * gt[5] - gt[2] * gt[4];
  if (!Number.isFinite(det) || Math.abs(det) < 1e-300) return null;
  const a = gt[5] / det;
  const b = -gt[2] / det;
  const d = -gt[4] / det;
  const e = gt[1] / det;
  return [-(a * gt[0] + b * gt[3]), a, b, -(d * gt[0] + e * gt[3]), d, e];
}

export interface Gcp {
  col: number;
  row: number;
  x: number;
  y: number;
}

export interface GcpFit {
  geoTransform: GeoTransform;
  /** Root-mean-square residual of the fit, in CRS units and in pixels. */
  rms: number;
  rmsPixels: number;
}

/** Solves the 3×3 system M·v = r by Cramer's rule; null when singular. */
function solve3(m: number[][], r: number[]): [number, number, number] | null {
  const det = (a: number[][]): number =>
    a[0]![0]! * (a[1]![1]! * a[2]![2]! - a[1]![2]! * a[2]![1]!) -
    a[0]![1]! * (a[1]![0]! * a[2]![2]! - a[1]![2]! * a[2]![0]!) +
    a[0]![2]! * (a[1]![0]! * a[2]![1]! - a[1]![1]! * a[2]![0]!);
  const d = det(m);
  if (Math.abs(d) < 1e-12 * Math.max(1, Math.abs(m[0]![0]!) ** 3)) return null;
  const out: number[] = [];
  for (let c = 0; c < 3; c++) out.push(det(m.map((row, i) => row.map((v, j) => (j === c ? r[i]! : v)))) / d);
  return out as [number, number, number];
}

/**
 * Least-squares first-order (affine) fit from ground control points, as GDAL's order-1 GCP
 * transformer does. null with fewer than three non-collinear points.
 */
export function fitGcps(gcps: Gcp[]): GcpFit | null {
  if (gcps.length < 3) return null;
  // Centre the pixel coordinates for conditioning.
  const mc = gcps.reduce((s, g) => s + g.col, 0) / gcps.length;
  const mr = gcps.reduce((s, g) => s + g.row, 0) / gcps.length;
  const n = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  const rx = [0, 0, 0];
  const ry = [0, 0, 0];
  for (const g of gcps) {
    const v = [1, g.col - mc, g.row - mr];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) n[i]![j]! += v[i]! * v[j]!;
      rx[i]! += v[i]! * g.x;
      ry[i]! += v[i]! * g.y;
    }
  }
  const cx = solve3(n, rx);
  const cy = solve3(n, ry);
  if (!cx || !cy) return null;
  const gt: GeoTransform = [cx[0] - cx[1] * mc - cx[2] * mr, cx[1], cx[2], cy[0] - cy[1] * mc - cy[2] * mr, cy[1], cy[2]];
  let sum = 0;
  for (const g of gcps) {
    const [x, y] = applyGeoTransform(gt, g.col, g.row);
    sum += (x - g.x) ** 2 + (y - g.y) ** 2;
  }
  const rms = Math.sqrt(sum / gcps.length);
  const pixelSize = Math.sqrt(Math.abs(gt[1] * gt[5] - gt[2] * gt[4]));
  return { geoTransform: gt, rms, rmsPixels: pixelSize > 0 ? rms / pixelSize : Infinity };
}

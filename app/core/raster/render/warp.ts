import type { BandMapping } from '../reading/bands.js';
import { invertGeoTransform, type GeoTransform } from '../georef/geotransform.js';
import { samplePixels } from '../reading/pixels.js';
import type { Scene } from '../scene.js';
import type { SceneStatistics } from '../analysis/stats.js';

export const TILE_SIZE = 256;
const R = 6378137;
const WORLD = 2 * Math.PI * R;

/** EPSG:3857 bounds of an XYZ tile: [minX, minY, maxX, maxY] in metres. */
export function tileBounds(z: number, x: number, y: number): [number, number, number, number] {
  const size = WORLD / 2 ** z;
  const minX = -WORLD / 2 + x * size;
  const maxY = WORLD / 2 - y * size;
  return [minX, maxY - size, minX + size, maxY];
}

/** Metres (EPSG:3857) per tile pixel at zoom z. */
export function tileResolution(z: number): number {
  return WORLD / (TILE_SIZE * 2 ** z);
}

function mercatorToLonLat(mx: number, my: number): [number, number] {
  return [((mx / R) * 180) / Math.PI, ((2 * Math.atan(Math.exp(my / R)) - Math.PI / 2) * 180) / Math.PI];
}

function lonLatToMercator(lon: number, lat: number): [number, number] {
  const clamped = Math.max(-85.0511287798, Math.min(85.0511287798, lat));
  return [(lon * Math.PI * R) / 180, R * Math.log(Math.tan(Math.PI / 4 + (clamped * Math.PI) / 360))];
}

const levelChoice = new WeakMap<Scene, Map<number, number>>();

/**
 * The level a zoom renders from, chosen once per (scene, zoom) so neighbouring tiles never mix
 * levels: the coarsest level whose pixels, measured in Web Mercator at the scene's centre, are
 * still at least as fine as the tile's pixels.
 */
export function tileLevel(scene: Scene, z: number): number {
  let perScene = levelChoice.get(scene);
  if (!perScene) levelChoice.set(scene, (perScene = new Map()));
  const cached = perScene.get(z);
  if (cached !== undefined) return cached;
  let level = 0;
  if (scene.toLonLat && scene.levels.length > 1) {
    const ratio = tilePixelRatio(scene, z);
    scene.levels.forEach((l, i) => {
      if (Math.max(l.scaleX, l.scaleY) <= ratio * 1.0001) level = i;
    });
  }
  perScene.set(z, level);
  return level;
}

/**
 * Tile pixels at zoom z per full-resolution pixel of the scene, both measured in Web Mercator at
 * the scene's centre: ≥ 2 means a 2× reduced level (overview or pyramid) would serve the zoom.
 */
export function tilePixelRatio(scene: Scene, z: number): number {
  const d = scene.description;
  const t = scene.toLonLat;
  if (!t) return 1;
  const cx = d.width / 2;
  const cy = d.height / 2;
  const [a, b] = [t(cx, cy), t(cx + 1, cy + 1)];
  const [ax, ay] = lonLatToMercator(a[0], a[1]);
  const [bx, by] = lonLatToMercator(b[0], b[1]);
  let dx = Math.abs(bx - ax);
  if (dx > WORLD / 2) dx = WORLD - dx;
  const native = Math.max(dx, Math.abs(by - ay));
  return tileResolution(z) / native;
}

interface SourceCoordinates {
  /** Level pixel coordinates (continuous, pixel-corner convention) of each tile pixel's centre; NaN where undefined. */
  cols: Float64Array;
  rows: Float64Array;
  /** Grid cells per side of the approximate transform; 0 when computed exactly per pixel. */
  grid: number;
}

/** A Web Mercator tile: zoom, column, row (XYZ scheme, row 0 at the north). */
export interface TileAddress {
  z: number;
  x: number;
  y: number;
}

/** Which tile, read from which level; `exact` computes every pixel with proj4 (the test reference). */
export interface TileSourceOptions extends TileAddress {
  level: number;
  exact?: boolean;
}

/** Tile pixel (u, v) in pixel-corner coordinates → level pixel coordinates, exactly. */
function exactTransform(scene: Scene, tile: TileSourceOptions): (u: number, v: number) => [number, number] {
  const { z, x, y, level } = tile;
  const [minX, , , maxY] = tileBounds(z, x, y);
  const res = tileResolution(z);
  const inv = invertGeoTransform(scene.description.georeference!.geoTransform as GeoTransform)!;
  const lonLat = scene.lonLat!;
  const l = scene.levels[level]!;
  return (u, v) => {
    const [lon, lat] = mercatorToLonLat(minX + u * res, maxY - v * res);
    const [sx, sy] = lonLat.inverse(lon, lat);
    if (!Number.isFinite(sx) || !Number.isFinite(sy)) return [NaN, NaN];
    const col = inv[0] + sx * inv[1] + sy * inv[2];
    const row = inv[3] + sx * inv[4] + sy * inv[5];
    return [col / l.scaleX, row / l.scaleY];
  };
}

/** Error allowed at the check points of the approximate transform, in level pixels. */
const GRID_TOLERANCE = 0.125;

/**
 * Where each tile pixel's centre falls in the level: the exact transform (proj4) at the nodes of a
 * grid, bilinear in between. The grid is refined (8 → 128 cells a side) until the interpolation error
 * at every cell centre and edge midpoint is under 1/8 pixel; the per-pixel error is then well under
 * the 0.5 px bound the tests hold it to. `exact` computes every pixel with proj4 (the test reference).
 */
export function tileSourceCoordinates(scene: Scene, tile: TileSourceOptions): SourceCoordinates {
  const f = exactTransform(scene, tile);
  const n2 = TILE_SIZE * TILE_SIZE;
  const cols = new Float64Array(n2);
  const rows = new Float64Array(n2);
  const perPixel = (): SourceCoordinates => {
    for (let j = 0; j < TILE_SIZE; j++) {
      for (let i = 0; i < TILE_SIZE; i++) {
        const [c, r] = f(i + 0.5, j + 0.5);
        cols[j * TILE_SIZE + i] = c;
        rows[j * TILE_SIZE + i] = r;
      }
    }
    return { cols, rows, grid: 0 };
  };
  if (tile.exact) return perPixel();
  for (let n = 8; n <= 128; n *= 2) {
    const step = TILE_SIZE / n;
    const nodes = new Float64Array((n + 1) * (n + 1) * 2);
    let finite = true;
    for (let b = 0; b <= n && finite; b++) {
      for (let a = 0; a <= n; a++) {
        const [c, r] = f(a * step, b * step);
        if (!Number.isFinite(c) || !Number.isFinite(r)) {
          finite = false;
          break;
        }
        nodes[(b * (n + 1) + a) * 2] = c;
        nodes[(b * (n + 1) + a) * 2 + 1] = r;
      }
    }
    if (!finite) return perPixel();
    const at = (u: number, v: number): [number, number] => {
      const gu = Math.min(n - 1e-9, u / step);
      const gv = Math.min(n - 1e-9, v / step);
      const a = Math.floor(gu);
      const b = Math.floor(gv);
      const fu = gu - a;
      const fv = gv - b;
      const k00 = (b * (n + 1) + a) * 2;
      const k10 = k00 + 2;
      const k01 = k00 + (n + 1) * 2;
      const k11 = k01 + 2;
      const w00 = (1 - fu) * (1 - fv);
      const w10 = fu * (1 - fv);
      const w01 = (1 - fu) * fv;
      const w11 = fu * fv;
      return [
        nodes[k00]! * w00 + nodes[k10]! * w10 + nodes[k01]! * w01 + nodes[k11]! * w11,
        nodes[k00 + 1]! * w00 + nodes[k10 + 1]! * w10 + nodes[k01 + 1]! * w01 + nodes[k11 + 1]! * w11,
      ];
    };
    let worst = 0;
    for (let b = 0; b < n && worst <= GRID_TOLERANCE; b++) {
      for (let a = 0; a < n; a++) {
        for (const [du, dv] of [[0.5, 0.5], [0.5, 0], [0, 0.5]] as const) {
          const u = (a + du) * step;
          const v = (b + dv) * step;
          const [ec, er] = f(u, v);
          const [ic, ir] = at(u, v);
          worst = Math.max(worst, Math.abs(ec - ic), Math.abs(er - ir));
        }
      }
    }
    if (!(worst <= GRID_TOLERANCE)) continue;
    for (let j = 0; j < TILE_SIZE; j++) {
      for (let i = 0; i < TILE_SIZE; i++) {
        const [c, r] = at(i + 0.5, j + 0.5);
        cols[j * TILE_SIZE + i] = c;
        rows[j * TILE_SIZE + i] = r;
      }
    }
    return { cols, rows, grid: n };
  }
  return perPixel();
}

/** Raw warped samples of a tile (nearest neighbour) before the stretch: what gdalwarp -r near gives. */
export interface WarpedTile {
  level: number;
  bandIndexes: number[];
  bands: ArrayLike<number>[];
  valid: Uint8Array;
  grid: number;
}

/** Which tile and bands warpTile makes; the level defaults to tileLevel's choice for the zoom. */
export interface WarpOptions extends TileAddress {
  bandIndexes: number[];
  level?: number;
  exact?: boolean;
}

/** Warps the scene's mapped bands into Web Mercator tile z/x/y, nearest neighbour. */
export async function warpTile(scene: Scene, options: WarpOptions): Promise<WarpedTile> {
  const { z, x, y, bandIndexes, exact } = options;
  const level = options.level ?? tileLevel(scene, z);
  const src = tileSourceCoordinates(scene, { z, x, y, level, exact });
  const n2 = TILE_SIZE * TILE_SIZE;
  const cols = new Int32Array(n2);
  const rows = new Int32Array(n2);
  for (let i = 0; i < n2; i++) {
    const c = src.cols[i]!;
    const r = src.rows[i]!;
    // Outside the image (or the projection) → -1, i.e. no data.
    cols[i] = Number.isFinite(c) && c >= 0 ? Math.floor(c) : -1;
    rows[i] = Number.isFinite(r) && r >= 0 ? Math.floor(r) : -1;
  }
  const { bands, valid } = await samplePixels(scene, { level, cols, rows, bandIndexes });
  return { level, bandIndexes, bands, valid, grid: src.grid };
}

/** Whether tile z/x/y can hold any of the scene (footprint bounding box against the tile). */
export function tileIntersectsScene(scene: Scene, z: number, x: number, y: number): boolean {
  const fp = scene.description.footprint;
  if (!fp) return false;
  const [minX, minY, maxX, maxY] = tileBounds(z, x, y);
  const polys = fp.type === 'Polygon' ? [fp.coordinates] : fp.coordinates;
  return polys.some((poly) => {
    const pts = poly[0]!.map(([lon, lat]) => lonLatToMercator(lon, lat));
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    return Math.min(...xs) <= maxX && Math.max(...xs) >= minX && Math.min(...ys) <= maxY && Math.max(...ys) >= minY;
  });
}

/** Stretched RGBA of a warped tile: 2–98 % per band, transparent outside the data and at nodata. */
export function stretchTile(warped: WarpedTile, mapping: BandMapping, stats: SceneStatistics): Uint8Array {
  const n2 = TILE_SIZE * TILE_SIZE;
  const rgba = new Uint8Array(n2 * 4);
  const ranges = mapping.bands.map((b) => {
    const s = stats.bands.find((x) => x.band === b);
    return { lo: s?.p2 ?? 0, span: (s?.p98 ?? 255) - (s?.p2 ?? 0) };
  });
  const channels = mapping.kind === 'gray' ? [0, 0, 0] : [0, 1, 2];
  for (let i = 0; i < n2; i++) {
    if (!warped.valid[i]) continue;
    for (let c = 0; c < 3; c++) {
      const b = channels[c]!;
      const v = warped.bands[b]![i]!;
      const r = ranges[b]!;
      rgba[i * 4 + c] = r.span > 0 ? Math.max(0, Math.min(255, Math.round(((v - r.lo) / r.span) * 255))) : v > r.lo ? 255 : v < r.lo ? 0 : 128;
    }
    rgba[i * 4 + 3] = 255;
  }
  return rgba;
}

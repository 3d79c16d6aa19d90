import { KestrelError } from '../../../contract/index.js';
import type { BandMapping } from '../reading/bands.js';
import type { PixelRect } from '../reading/blocks.js';
import type { Footprint } from '../georef/footprint.js';
import { readWindow, type PixelWindow } from '../reading/pixels.js';
import type { Scene } from '../scene.js';
import type { SceneStatistics } from './stats.js';

export interface ChipPlanOptions {
  /** Chip side in pixels of its level: the model's input size (default 224). */
  size?: number;
  /** Fraction of a chip shared with its neighbour (default 0.25). */
  overlap?: number;
  /** Ground-pixel scales: 1 = native resolution, 2 = half, … (default 1, 2, 4, … up to one chip covering the scene). */
  scales?: number[];
}

export interface Chip {
  index: number;
  /** Full-resolution pixels per chip pixel. */
  scale: number;
  /** The scene level the chip is read from (0 = full resolution, 1… overviews). */
  level: number;
  /** The chip's window in full-resolution pixels (may reach past the image edge for small scenes). */
  window: PixelRect;
  /** The same window in pixels of `level`. */
  levelWindow: PixelRect;
  /** Where the chip is, in WGS84 (null for pixel-space scenes). */
  polygon: Extract<Footprint, { type: 'Polygon' }> | null;
}

/** Window origins along one axis: stride steps, the last window flush with the far edge. */
function positions(length: number, window: number, stride: number): number[] {
  if (length <= window) return [0];
  const out: number[] = [];
  for (let p = 0; p + window < length; p += stride) out.push(p);
  out.push(length - window);
  return out;
}

/**
 * The multi-scale tiling plan of a scene: square windows of `size` chip pixels at each scale, with
 * overlap, each read from the coarsest level that still has at least the chip's resolution.
 */
export function planChips(scene: Scene, options: ChipPlanOptions = {}): Chip[] {
  const d = scene.description;
  const size = options.size ?? 224;
  const overlap = options.overlap ?? 0.25;
  if (!(size >= 1) || !(overlap >= 0 && overlap < 1)) {
    throw new KestrelError({ code: 'invalid_input', message: `A chip plan needs a size ≥ 1 and an overlap in [0, 1); got ${size} and ${overlap}.`, file: d.file });
  }
  const longest = Math.max(d.width, d.height);
  let scales = options.scales;
  if (!scales) {
    scales = [1];
    for (let s = 2; size * (s / 2) < longest; s *= 2) scales.push(s);
  }
  const chips: Chip[] = [];
  for (const scale of scales) {
    const side = size * scale;
    const stride = Math.max(1, Math.round(side * (1 - overlap)));
    for (const y of positions(d.height, side, stride)) {
      for (const x of positions(d.width, side, stride)) {
        chips.push({ ...chipAt(scene, { x, y, width: side, height: side }, size), index: chips.length });
      }
    }
  }
  return chips;
}

/**
 * The chip over a full-resolution window, shown at `size` pixels: it reads the coarsest level that
 * still has the resolution the size needs (the same rule as the plan), so a thumbnail of a large
 * window reads an overview, not the full image.
 */
export function chipAt(scene: Scene, window: PixelRect, size: number): Chip {
  const scale = Math.max(window.width, window.height) / size;
  let level = 0;
  scene.levels.forEach((l, i) => {
    if (l.scaleX <= scale * (1 + 1e-9) && l.scaleY <= scale * (1 + 1e-9)) level = i;
  });
  const lv = scene.levels[level];
  const sx = lv?.scaleX ?? 1;
  const sy = lv?.scaleY ?? 1;
  const { x, y, width, height } = window;
  const levelWindow = {
    x: Math.floor(x / sx),
    y: Math.floor(y / sy),
    width: Math.max(1, Math.round(width / sx)),
    height: Math.max(1, Math.round(height / sy)),
  };
  let polygon: Chip['polygon'] = null;
  if (scene.toLonLat) {
    const t = scene.toLonLat;
    const ring = [t(x, y), t(x, y + height), t(x + width, y + height), t(x + width, y), t(x, y)];
    polygon = { type: 'Polygon', coordinates: [ring] };
  }
  return { index: 0, scale, level, window, levelWindow, polygon };
}

/** The chip's pixels as stored in the file (no resampling): the window of its level, all bands. */
export function readChipPixels(scene: Scene, chip: Chip, bands?: number[]): Promise<PixelWindow> {
  const w = chip.levelWindow;
  return readWindow(scene, { level: chip.level, ...w, bandIndexes: bands });
}

/** 8-bit RGB, row-major, 3 bytes per pixel: what model preprocessing takes. */
export interface RgbChip {
  width: number;
  height: number;
  data: Uint8Array;
  /** Fraction of the chip's pixels that hold data. */
  validFraction: number;
}

/** How a chip becomes RGB: which bands, stretched by which statistics, to how many pixels a side. */
export interface RgbOptions {
  mapping: BandMapping;
  stats: SceneStatistics;
  /** The RGB chip's side in pixels. */
  size: number;
}

/**
 * Chip → 8-bit RGB: the band mapping's bands, area-averaged over valid pixels down to `size` when
 * the level window is larger, stretched linearly from each band's 2 % to its 98 % percentile.
 * Invalid pixels become black.
 */
export async function chipToRgb(scene: Scene, chip: Chip, options: RgbOptions): Promise<RgbChip> {
  const { mapping, stats, size } = options;
  const win = await readChipPixels(scene, chip, mapping.bands);
  const out = new Uint8Array(size * size * 3);
  const ranges = mapping.bands.map((b) => {
    const s = stats.bands.find((x) => x.band === b);
    const lo = s?.p2 ?? 0;
    const hi = s?.p98 ?? 255;
    return { lo, span: hi - lo };
  });
  const fx = win.width / size;
  const fy = win.height / size;
  let validPixels = 0;
  const sums = new Float64Array(mapping.bands.length);
  for (let y = 0; y < size; y++) {
    const y0 = Math.floor(y * fy);
    const y1 = Math.max(y0 + 1, Math.floor((y + 1) * fy));
    for (let x = 0; x < size; x++) {
      const x0 = Math.floor(x * fx);
      const x1 = Math.max(x0 + 1, Math.floor((x + 1) * fx));
      sums.fill(0);
      let n = 0;
      for (let yy = y0; yy < y1; yy++) {
        for (let xx = x0; xx < x1; xx++) {
          const i = yy * win.width + xx;
          if (!win.valid[i]) continue;
          n++;
          for (let b = 0; b < sums.length; b++) sums[b]! += win.bands[b]![i]!;
        }
      }
      const o = (y * size + x) * 3;
      if (n * 2 < (y1 - y0) * (x1 - x0)) continue; // mostly invalid under this pixel: black
      validPixels++;
      for (let c = 0; c < 3; c++) {
        const b = mapping.kind === 'gray' ? 0 : c;
        const r = ranges[b]!;
        const v = sums[b]! / n;
        // A constant band (2 % = 98 %) shows as mid-grey rather than dividing by zero.
        out[o + c] = r.span > 0 ? Math.max(0, Math.min(255, Math.round(((v - r.lo) / r.span) * 255))) : v > r.lo ? 255 : v < r.lo ? 0 : 128;
      }
    }
  }
  return { width: size, height: size, data: out, validFraction: validPixels / (size * size) };
}

export interface ExtractOptions extends RgbOptions {
  /** Chips with more than this fraction of nodata are skipped (default 0.5). */
  maxNodataFraction?: number;
}

/** Chips with their RGB pixels, in plan order, skipping those that are mostly nodata. */
export async function* extractChips(scene: Scene, plan: Chip[], options: ExtractOptions): AsyncGenerator<{ chip: Chip; rgb: RgbChip }> {
  const maxNodata = options.maxNodataFraction ?? 0.5;
  for (const chip of plan) {
    const rgb = await chipToRgb(scene, chip, options);
    if (1 - rgb.validFraction > maxNodata) continue;
    yield { chip, rgb };
  }
}

/**
 * A model pack's preprocessing (app/core/model's `preprocess`): RGB → the model's input tensor,
 * float32 CHW [3, spec.size, spec.size]. The spec is the pack manifest's `image` section (or any
 * object with at least `size`), so `chipModelInput(rgb, pack.manifest.image, preprocess)` works as is.
 */
export type Preprocess<Spec extends { size: number }> = (img: { width: number; height: number; data: Uint8Array }, spec: Spec) => Float32Array;

/**
 * Chip → model input, through the model pack's own resize/crop/normalise. The RGB chip may be of
 * any size (chipToRgb at `spec.size` needs no further resampling; a larger chip is resized by the
 * pack's rule). Checks that the result has the shape [3, spec.size, spec.size].
 */
export function chipModelInput<Spec extends { size: number }>(rgb: RgbChip, spec: Spec, preprocess: Preprocess<Spec>): Float32Array {
  const tensor = preprocess({ width: rgb.width, height: rgb.height, data: rgb.data }, spec);
  const want = 3 * spec.size * spec.size;
  if (tensor.length !== want) {
    throw new KestrelError({
      code: 'internal',
      message: `The model preprocessing returned ${tensor.length} values for a ${rgb.width} × ${rgb.height} chip; the model expects 3 × ${spec.size} × ${spec.size} = ${want}.`,
    });
  }
  return tensor;
}

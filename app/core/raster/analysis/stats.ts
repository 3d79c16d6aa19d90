import { KestrelError } from '../../../contract/index.js';
import { readWindow } from '../reading/pixels.js';
import type { Scene, SceneDescription } from '../scene.js';

export interface BandStatistics {
  /** 0-based band index. */
  band: number;
  min: number;
  max: number;
  mean: number;
  /** 2nd and 98th percentiles (nearest rank) of the valid pixels: the default stretch. */
  p2: number;
  p98: number;
  validCount: number;
}

export interface SceneStatistics {
  bands: BandStatistics[];
  /** Where the pixels came from: the level read and whether it was sampled. */
  level: number;
  width: number;
  height: number;
  sampled: boolean;
}

export interface StatisticsOptions {
  /** The smallest overview whose longer side is at least this many pixels is read (default 512). */
  minSide?: number;
  /** A chosen level larger than this many pixels is sampled in windows instead of read whole (default 4096²). */
  maxPixels?: number;
}

/** The coarsest level whose longer side is still ≥ minSide (level 0 when none is). */
export function statisticsLevel(d: SceneDescription, minSide = 512): number {
  let chosen = 0;
  for (const o of d.overviews) if (Math.max(o.width, o.height) >= minSide) chosen = o.level;
  return chosen;
}

/** Nearest-rank percentile of a sorted array: the value at rank ceil(p/100·n). */
function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  return sorted[rank - 1]!;
}

class Accumulator {
  values: number[] = [];
  hist: Uint32Array | null;
  offset: number;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(dtype: SceneDescription['dtype']) {
    // Small integer types: an exact histogram instead of sorting.
    this.hist = dtype === 'uint8' || dtype === 'int8' ? new Uint32Array(256) : dtype === 'uint16' || dtype === 'int16' ? new Uint32Array(65536) : null;
    this.offset = dtype === 'int8' ? 128 : dtype === 'int16' ? 32768 : 0;
  }

  add(v: number): void {
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (this.hist) this.hist[v + this.offset]!++;
    else this.values.push(v);
  }

  percentile(p: number): number {
    if (!this.hist) return percentile(this.values, p);
    const rank = Math.min(this.count, Math.max(1, Math.ceil((p / 100) * this.count)));
    let seen = 0;
    for (let i = 0; i < this.hist.length; i++) {
      seen += this.hist[i]!;
      if (seen >= rank) return i - this.offset;
    }
    return this.max;
  }

  finish(band: number): BandStatistics {
    if (!this.hist) this.values.sort((a, b) => a - b);
    if (this.count === 0) return { band, min: NaN, max: NaN, mean: NaN, p2: NaN, p98: NaN, validCount: 0 };
    return { band, min: this.min, max: this.max, mean: this.sum / this.count, p2: this.percentile(2), p98: this.percentile(98), validCount: this.count };
  }
}

/**
 * Per-band statistics and the 2–98 % stretch, from the smallest adequate overview (or a sampled
 * read of a large level): nodata, alpha = 0, masked and NaN pixels excluded.
 */
export async function sceneStatistics(scene: Scene, options: StatisticsOptions = {}): Promise<SceneStatistics> {
  const d = scene.description;
  if (scene.levels.length === 0) {
    throw new KestrelError({ code: 'unavailable', message: `${d.file} has no decoded pixels (see its notes), so no statistics.`, file: d.file });
  }
  const levelIndex = statisticsLevel(d, options.minSide);
  const level = scene.levels[levelIndex]!;
  const bands = Array.from({ length: d.bands }, (_, i) => i).filter((b) => b !== d.alphaBand);
  const acc = bands.map(() => new Accumulator(d.dtype));
  const maxPixels = options.maxPixels ?? 4096 * 4096;
  const sampled = level.width * level.height > maxPixels;
  // Whole level in horizontal stripes, or (sampled) a grid of 256² windows covering ~maxPixels/4.
  const windows: [number, number, number, number][] = [];
  if (!sampled) {
    const rows = Math.max(1, Math.floor((1 << 22) / level.width));
    for (let y = 0; y < level.height; y += rows) windows.push([0, y, level.width, Math.min(rows, level.height - y)]);
  } else {
    const side = 256;
    const n = Math.max(2, Math.floor(Math.sqrt(maxPixels / 4) / side));
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        const x = Math.floor(((level.width - side) * i) / (n - 1));
        const y = Math.floor(((level.height - side) * j) / (n - 1));
        windows.push([x, y, Math.min(side, level.width), Math.min(side, level.height)]);
      }
    }
  }
  for (const [x, y, w, h] of windows) {
    const win = await readWindow(scene, { level: levelIndex, x, y, width: w, height: h, bandIndexes: bands });
    const nodata = d.nodata === null ? null : d.dtype === 'float32' ? Math.fround(d.nodata) : d.nodata;
    win.bands.forEach((data, bi) => {
      const a = acc[bi]!;
      for (let i = 0; i < data.length; i++) {
        if (!win.valid[i]) continue;
        const v = data[i]!;
        if (v === nodata || Number.isNaN(v)) continue; // per-band nodata, as GDAL's statistics
        a.add(v);
      }
    });
  }
  return { bands: acc.map((a, i) => a.finish(bands[i]!)), level: levelIndex, width: level.width, height: level.height, sampled };
}

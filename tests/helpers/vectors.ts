/** Deterministic unit vectors and chips for vector store tests and benchmarks. */
import type { ChipRow } from '../../app/core/vectors/index.js';

/** A small fast PRNG (mulberry32) so every run and every process sees the same data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n unit vectors of `dim`, Gaussian directions, starting at row `from` of the sequence for `seed`. */
export function unitVectors(n: number, dim: number, seed: number): Float32Array {
  const next = rng(seed);
  const out = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    let norm = 0;
    for (let i = 0; i < dim; i++) {
      // Box–Muller
      const g = Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
      out[r * dim + i] = g;
      norm += g * g;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < dim; i++) out[r * dim + i]! /= norm;
  }
  return out;
}

/** The chip of row `i` in tests: a pure function of i, so a reader can check any row. */
export function chipOf(i: number): ChipRow {
  return { scene: i % 97, level: i % 3, x: (i * 256) % 100_000, y: Math.floor(i / 7) * 128, width: 224 << (i % 3), height: 224 << (i % 3) };
}

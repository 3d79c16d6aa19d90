/**
 * HarMA-style adapters carried to the embedding level (the backbone is frozen and its embeddings
 * cached, so the adapters act on the towers' outputs; see docs/tuning.md for the design and its
 * limits). For a tower t ∈ {image, text} and a row x (a base embedding, d values):
 *
 *   h  = x·Wd_t + bd_t            d → r      (r = bottleneck, 128 by default)
 *   a  = gelu(h)
 *   u  = a·Wsd + bsd              r → m      the mini-adapter, shared by both towers (m = 64)
 *   s  = gelu(u)·Wsu + bsu        m → r      (Wsu starts at zero)
 *   a2 = a + gs·s                            gs: the shared adapter's gate (init 0.6)
 *   o  = a2·Wu_t + bu_t           r → d      (Wu_t starts at zero)
 *   y  = (1 − g_t)·x + g_t·o                 g_t: the tower's gate mixing adapter and identity (init 0.6)
 *   z  = y / ‖y‖
 *
 * With the zero-initialised up-projections z = x at the start: tuning starts from the base model.
 * gelu is the tanh approximation. Backward passes are derived by hand (checked against finite
 * differences in tests/unit/tune/gradients.test.ts).
 */
import { alloc, type Arr, type MatMul } from './matmul.js';

export interface AdapterConfig {
  dim: number;
  bottleneck: number;
  shared: number;
}

/** Parameter names in a fixed order (the optimiser, serialisation and checks walk this list). */
export const PARAM_NAMES = [
  'image.down.w', 'image.down.b', 'image.up.w', 'image.up.b', 'image.gate',
  'text.down.w', 'text.down.b', 'text.up.w', 'text.up.b', 'text.gate',
  'shared.down.w', 'shared.down.b', 'shared.up.w', 'shared.up.b', 'shared.gate',
  'logitScale',
] as const;
export type ParamName = (typeof PARAM_NAMES)[number];
export type Params = Record<ParamName, Arr>;

/** Matrices get weight decay; biases, gates and the temperature do not. */
export const DECAYED: ReadonlySet<ParamName> = new Set(['image.down.w', 'image.up.w', 'text.down.w', 'text.up.w', 'shared.down.w', 'shared.up.w']);

export function paramShapes(c: AdapterConfig): Record<ParamName, number[]> {
  const { dim: d, bottleneck: r, shared: m } = c;
  return {
    'image.down.w': [d, r], 'image.down.b': [r], 'image.up.w': [r, d], 'image.up.b': [d], 'image.gate': [1],
    'text.down.w': [d, r], 'text.down.b': [r], 'text.up.w': [r, d], 'text.up.b': [d], 'text.gate': [1],
    'shared.down.w': [r, m], 'shared.down.b': [m], 'shared.up.w': [m, r], 'shared.up.b': [r], 'shared.gate': [1],
    logitScale: [1],
  };
}

export const GATE_INIT = 0.6;
export const TEMPERATURE_INIT = 0.07;
/** CLIP's cap on the logit scale (temperature ≥ 0.01). */
export const MAX_LOG_SCALE = Math.log(100);

/**
 * Initial parameters: down-projections Gaussian with std 1/√fan-in, up-projections and biases zero,
 * gates 0.6, log logit scale ln(1/0.07). `random: true` makes every tensor random (gradient checks
 * need every path live). float64 for checks, float32 for training.
 */
export function initParams(c: AdapterConfig, seed: number, opts: { float64?: boolean; random?: boolean } = {}): Params {
  const next = gaussian(seed);
  const shapes = paramShapes(c);
  const out = {} as Params;
  for (const name of PARAM_NAMES) {
    const n = shapes[name].reduce((x, y) => x * y, 1);
    const t = opts.float64 ? new Float64Array(n) : new Float32Array(n);
    if (name === 'logitScale') t[0] = Math.log(1 / TEMPERATURE_INIT);
    else if (name.endsWith('gate')) t[0] = opts.random ? 0.3 + 0.5 * Math.abs(next()) / 3 : GATE_INIT;
    else if (name.endsWith('down.w') || opts.random) {
      const std = 1 / Math.sqrt(shapes[name][0]!);
      for (let i = 0; i < n; i++) t[i] = next() * std;
    }
    out[name] = t;
  }
  return out;
}

/** Uniform samples in [0, 1) from the mulberry32 generator: seeded, so runs repeat bit for bit. */
export function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples from a seeded mulberry32 + Box–Muller. */
export function gaussian(seed: number): () => number {
  const u = mulberry32(seed >>> 0);
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

export function cloneParams(p: Params): Params {
  const out = {} as Params;
  for (const name of PARAM_NAMES) out[name] = p[name].slice();
  return out;
}

export function zerosLike(p: Params): Params {
  const out = {} as Params;
  for (const name of PARAM_NAMES) out[name] = alloc(p[name], p[name].length);
  return out;
}

const K = Math.sqrt(2 / Math.PI);

export function gelu(h: Arr): Arr {
  const out = alloc(h, h.length);
  for (let i = 0; i < h.length; i++) {
    const x = h[i]!;
    out[i] = 0.5 * x * (1 + Math.tanh(K * (x + 0.044715 * x * x * x)));
  }
  return out;
}

/** dL/dh given dL/dgelu(h), in place into `grad`. */
export function geluBackward(h: Arr, grad: Arr): void {
  for (let i = 0; i < h.length; i++) {
    const x = h[i]!;
    const t = Math.tanh(K * (x + 0.044715 * x * x * x));
    grad[i]! *= 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K * (1 + 3 * 0.044715 * x * x);
  }
}

function addBias(y: Arr, b: Arr, rows: number): void {
  const n = b.length;
  for (let i = 0; i < rows; i++) for (let j = 0; j < n; j++) y[i * n + j]! += b[j]!;
}

function sumRows(g: Arr, rows: number, n: number, into: Arr): void {
  for (let i = 0; i < rows; i++) for (let j = 0; j < n; j++) into[j]! += g[i * n + j]!;
}

function addInto(into: Arr, g: Arr): void {
  for (let i = 0; i < g.length; i++) into[i]! += g[i]!;
}

export type Tower = 'image' | 'text';

/** What the forward pass keeps for the backward pass. */
export interface TowerCache {
  tower: Tower;
  rows: number;
  x: Arr;
  h: Arr;
  a: Arr;
  u: Arr;
  v: Arr;
  s: Arr;
  a2: Arr;
  o: Arr;
  norm: Arr;
  z: Arr;
}

/** An adapter's weights and shape, with the matrix product that runs it. */
export interface AdapterModel {
  params: Params;
  config: AdapterConfig;
  mm: MatMul;
}

/** Runs one tower's adapter over `rows` base embeddings; z (rows × d) is L2-normalised. */
export async function towerForward(model: AdapterModel, tower: Tower, x: Arr, rows: number): Promise<TowerCache> {
  const { params: p, config: c, mm } = model;
  const { dim: d, bottleneck: r, shared: m } = c;
  const h = await mm.mm(x, p[`${tower}.down.w`], { m: rows, k: d, n: r });
  addBias(h, p[`${tower}.down.b`], rows);
  const a = gelu(h);
  const u = await mm.mm(a, p['shared.down.w'], { m: rows, k: r, n: m });
  addBias(u, p['shared.down.b'], rows);
  const v = gelu(u);
  const s = await mm.mm(v, p['shared.up.w'], { m: rows, k: m, n: r });
  addBias(s, p['shared.up.b'], rows);
  const gs = p['shared.gate'][0]!;
  const a2 = alloc(x, rows * r);
  for (let i = 0; i < a2.length; i++) a2[i] = a[i]! + gs * s[i]!;
  const o = await mm.mm(a2, p[`${tower}.up.w`], { m: rows, k: r, n: d });
  addBias(o, p[`${tower}.up.b`], rows);
  const g = p[`${tower}.gate`][0]!;
  const z = alloc(x, rows * d);
  const norm = alloc(x, rows);
  for (let i = 0; i < rows; i++) {
    let ss = 0;
    for (let j = 0; j < d; j++) {
      const k = i * d + j;
      const y = (1 - g) * x[k]! + g * o[k]!;
      z[k] = y;
      ss += y * y;
    }
    const n = Math.sqrt(ss) || 1e-12;
    norm[i] = n;
    for (let j = 0; j < d; j++) z[i * d + j]! /= n;
  }
  return { tower, rows, x, h, a, u, v, s, a2, o, norm, z };
}

/** Accumulates dL/dparams into `grads` given dL/dz for a tower's forward. */
export async function towerBackward(model: AdapterModel, cache: TowerCache, dz: Arr, grads: Params): Promise<void> {
  const { params: p, config: c, mm } = model;
  const { dim: d, bottleneck: r, shared: m } = c;
  const { tower, rows, x, h, a, u, v, s, o, norm, z } = cache;
  const g = p[`${tower}.gate`][0]!;
  // Through the normalisation: dy = (dz − z·⟨dz, z⟩) / ‖y‖.
  const dout = alloc(x, rows * d);
  let dg = 0;
  for (let i = 0; i < rows; i++) {
    let dot = 0;
    for (let j = 0; j < d; j++) dot += dz[i * d + j]! * z[i * d + j]!;
    const inv = 1 / norm[i]!;
    for (let j = 0; j < d; j++) {
      const k = i * d + j;
      const dy = (dz[k]! - z[k]! * dot) * inv;
      dg += dy * (o[k]! - x[k]!);
      dout[k] = g * dy;
    }
  }
  grads[`${tower}.gate`][0]! += dg;
  addInto(grads[`${tower}.up.w`], await mm.mm(cache.a2, dout, { m: r, k: rows, n: d, ta: true }));
  sumRows(dout, rows, d, grads[`${tower}.up.b`]);
  const da2 = await mm.mm(dout, p[`${tower}.up.w`], { m: rows, k: d, n: r, tb: true });
  // a2 = a + gs·s
  const gs = p['shared.gate'][0]!;
  const ds = alloc(x, rows * r);
  let dgs = 0;
  for (let i = 0; i < ds.length; i++) {
    dgs += da2[i]! * s[i]!;
    ds[i] = gs * da2[i]!;
  }
  grads['shared.gate'][0]! += dgs;
  addInto(grads['shared.up.w'], await mm.mm(v, ds, { m, k: rows, n: r, ta: true }));
  sumRows(ds, rows, r, grads['shared.up.b']);
  const du = await mm.mm(ds, p['shared.up.w'], { m: rows, k: r, n: m, tb: true });
  geluBackward(u, du);
  addInto(grads['shared.down.w'], await mm.mm(a, du, { m: r, k: rows, n: m, ta: true }));
  sumRows(du, rows, m, grads['shared.down.b']);
  const da = await mm.mm(du, p['shared.down.w'], { m: rows, k: m, n: r, tb: true });
  addInto(da, da2);
  geluBackward(h, da);
  addInto(grads[`${tower}.down.w`], await mm.mm(x, da, { m: d, k: rows, n: r, ta: true }));
  sumRows(da, rows, r, grads[`${tower}.down.b`]);
}

/** Adapted, normalised embeddings for rows of one tower (re-scoring an index, embedding a query). */
export async function applyAdapter(model: AdapterModel & { chunk?: number }, tower: Tower, x: Arr, rows: number): Promise<Arr> {
  const { config: c, chunk = 4096 } = model;
  const out = alloc(x, rows * c.dim);
  for (let start = 0; start < rows; start += chunk) {
    const n = Math.min(chunk, rows - start);
    const { z } = await towerForward(model, tower, x.subarray(start * c.dim, (start + n) * c.dim), n);
    out.set(z, start * c.dim);
  }
  return out;
}

/**
 * Hand-derived gradients against central finite differences, in float64. The bound: relative error
 * ‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖) < 1e-6 per tensor (h = 1e-5; the truncation
 * error of central differences is O(h²) ≈ 1e-10 relative, rounding ≈ 1e-11).
 */
import { describe, expect, it } from 'vitest';
import { gaussian, initParams, PARAM_NAMES, type AdapterConfig, type Params } from '../../../app/core/tune/adapter.js';
import { focalTriplet, harmaLoss, infoNce } from '../../../app/core/tune/losses.js';
import { tsMatMul } from '../../../app/core/tune/matmul.js';
import { lossAndGradients } from '../../../app/core/tune/backend.js';

const H = 1e-5;
const BOUND = 1e-6;

function relError(a: number[], n: number[]): number {
  let diff = 0;
  let na = 0;
  let nn = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i]! - n[i]!) ** 2;
    na += a[i]! ** 2;
    nn += n[i]! ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(na), Math.sqrt(nn), 1e-12);
}

/** Central difference of f with respect to x[i]. */
function numeric(f: () => number, x: Float64Array, i: number): number {
  const keep = x[i]!;
  x[i] = keep + H;
  const up = f();
  x[i] = keep - H;
  const down = f();
  x[i] = keep;
  return (up - down) / (2 * H);
}

function unitRows(rows: number, d: number, seed: number): Float64Array {
  const g = gaussian(seed);
  const x = new Float64Array(rows * d).map(() => g());
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[r * d + j]! ** 2;
    for (let j = 0; j < d; j++) x[r * d + j]! /= Math.sqrt(s);
  }
  return x;
}

// A batch of 8 pairs with repeated images (multi-positive): images 0, 2 appear twice and three times.
const groups = Int32Array.from([0, 0, 1, 2, 2, 2, 3, 4]);
const B = groups.length;

function cosines(seed: number): Float64Array {
  // Spread over [-0.6, 0.9] so that hinge costs are well away from their kink at 0.
  const g = gaussian(seed);
  return new Float64Array(B * B).map(() => Math.tanh(g()) * 0.75 + 0.15);
}

describe('loss gradients against finite differences', () => {
  it('multi-positive InfoNCE: dL/dC and dL/dθ (learnable temperature)', () => {
    const C = cosines(3);
    const theta = new Float64Array([Math.log(1 / 0.07) - 0.4]);
    const dC = new Float64Array(B * B);
    const [, dTheta] = infoNce(C, groups, theta[0]!, { dC });
    const f = (): number => infoNce(C, groups, theta[0]!, { dC: new Float64Array(B * B) })[0];
    const num = Array.from({ length: B * B }, (_, i) => numeric(f, C, i));
    const err = relError(Array.from(dC), num);
    expect(err).toBeLessThan(BOUND);
    const errT = relError([dTheta], [numeric(f, theta, 0)]);
    expect(errT).toBeLessThan(BOUND);
  });

  it('focal-weighted triplet (margin 0.2, γ = 2): dL/dC', () => {
    const C = cosines(4);
    const dC = new Float64Array(B * B);
    const loss = focalTriplet(C, groups, { margin: 0.2, gamma: 2 }, { dC });
    expect(loss).toBeGreaterThan(0);
    const f = (): number => focalTriplet(C, groups, { margin: 0.2, gamma: 2 }, { dC: new Float64Array(B * B) });
    const num = Array.from({ length: B * B }, (_, i) => numeric(f, C, i));
    expect(relError(Array.from(dC), num)).toBeLessThan(BOUND);
    // Pairs of the same image are neither positives nor negatives of each other here except the diagonal.
    expect(dC[0 * B + 1]).toBe(0);
  });

  it('the sum L = L_nce + λ·L_tri', () => {
    const C = cosines(5);
    const opts = { margin: 0.2, gamma: 2, tripletWeight: 0.7 };
    const r = harmaLoss(C, groups, 2.5, opts);
    const f = (): number => harmaLoss(C, groups, 2.5, opts).loss;
    const num = Array.from({ length: B * B }, (_, i) => numeric(f, C, i));
    expect(relError(Array.from(r.dC), num)).toBeLessThan(BOUND);
  });
});

describe('adapter gradients against finite differences (every parameter tensor, every layer)', () => {
  const config: AdapterConfig = { dim: 12, bottleneck: 6, shared: 4 };
  const xi = unitRows(B, config.dim, 11);
  const xt = unitRows(B, config.dim, 12);
  const loss = { margin: 0.2, gamma: 2, tripletWeight: 1 };

  async function check(params: Params, name: (typeof PARAM_NAMES)[number], l = loss): Promise<number> {
    const { grads } = await lossAndGradients({ params, config, mm: tsMatMul }, { xi, xt, groups }, l);
    const t = params[name] as Float64Array;
    const idx = Array.from({ length: Math.min(t.length, 10) }, (_, k) => Math.floor((k * t.length) / Math.min(t.length, 10)));
    const num: number[] = [];
    for (const i of idx) {
      const keep = t[i]!;
      t[i] = keep + H;
      const up = (await lossAndGradients({ params, config, mm: tsMatMul }, { xi, xt, groups }, l)).loss;
      t[i] = keep - H;
      const down = (await lossAndGradients({ params, config, mm: tsMatMul }, { xi, xt, groups }, l)).loss;
      t[i] = keep;
      num.push((up - down) / (2 * H));
    }
    return relError(idx.map((i) => grads[name][i]!), num);
  }

  it.each(PARAM_NAMES)('%s', async (name) => {
    // Every tensor random (the zero-initialised up-projections would hide the layers below them).
    const params = initParams(config, 21, { float64: true, random: true });
    params.logitScale[0] = 2.2;
    expect(await check(params, name)).toBeLessThan(BOUND);
    // InfoNCE alone, through the whole model.
    expect(await check(params, name, { ...loss, tripletWeight: 0 })).toBeLessThan(BOUND);
  });

  it('starts as the identity: zero-initialised up-projections give z = x', async () => {
    const params = initParams(config, 5, { float64: true });
    const { grads, loss: l } = await lossAndGradients({ params, config, mm: tsMatMul }, { xi, xt, groups }, loss);
    expect(Number.isFinite(l)).toBe(true);
    // Gradients reach the up-projections at once (the down-projections only after they move).
    expect(Math.max(...Array.from(grads['image.up.w']).map(Math.abs))).toBeGreaterThan(0);
    expect(Math.max(...Array.from(grads['image.down.w']).map(Math.abs))).toBe(0);
  });
});

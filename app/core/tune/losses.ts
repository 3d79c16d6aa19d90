/**
 * HarMA's objective over one batch of B (image, caption) pairs, from the cosine matrix
 * C = Zi·Ztᵀ (B×B, rows images, columns captions; row k and column k are pair k). Two pairs are
 * positives of each other when they share an image (all captions of an image are positives).
 *
 * Multi-positive InfoNCE with a learnable temperature τ = 1/e^θ (θ = `logitScale`, init ln(1/0.07)):
 *   S = e^θ·C;  L_i2t = −(1/B) Σ_k (1/|P_k|) Σ_{l∈P_k} log softmax_l(S_k·)
 *   L_t2i likewise over the columns;  L_nce = (L_i2t + L_t2i) / 2
 *
 * Adaptive focal-weighted triplet (margin μ = 0.2, γ = 2): for an image anchor k and a negative
 * caption l (not of k's image) the cost is the hinge c = max(0, μ − C_kk + C_kl), and likewise for a
 * caption anchor k against negative images (μ − C_kk + C_lk). Each cost is weighted by
 * w = (1 − e^−c)^γ, so easy negatives (small c) count little and hard ones count fully:
 *   L_tri = (1/B) Σ_anchors Σ_negatives w(c)·c        (both directions; w is not detached)
 *
 * Returns the losses and dL/dC, dL/dθ (L = L_nce + λ·L_tri), checked against finite differences.
 */
import { alloc, type Arr } from './matmul.js';

export interface LossOptions {
  margin: number;
  gamma: number;
  /** λ, the weight of the triplet term. */
  tripletWeight: number;
}

export const DEFAULT_LOSS: LossOptions = { margin: 0.2, gamma: 2, tripletWeight: 1 };

export interface LossResult {
  loss: number;
  nce: number;
  triplet: number;
  /** dL/dC, B×B. */
  dC: Arr;
  /** dL/dθ. */
  dLogitScale: number;
}

/** Where a loss adds its gradient: dL/dC (B×B), times `scale` (default 1). */
export interface GradientInto {
  dC: Arr;
  scale?: number;
}

/** Multi-positive InfoNCE; adds (scale ×) dL/dC into dC and returns [loss, dL/dθ]. */
export function infoNce(C: Arr, groups: Int32Array, logitScale: number, { dC, scale = 1 }: GradientInto): [number, number] {
  const B = groups.length;
  const s = Math.exp(logitScale);
  let loss = 0;
  let dTheta = 0;
  const row = new Float64Array(B);
  for (const dir of [0, 1]) {
    // dir 0: rows are images (image→text); dir 1: rows are captions (text→image), reading Cᵀ.
    for (let k = 0; k < B; k++) {
      let max = -Infinity;
      for (let l = 0; l < B; l++) {
        const v = s * (dir === 0 ? C[k * B + l]! : C[l * B + k]!);
        row[l] = v;
        if (v > max) max = v;
      }
      let sum = 0;
      for (let l = 0; l < B; l++) sum += Math.exp(row[l]! - max);
      const lse = max + Math.log(sum);
      let npos = 0;
      for (let l = 0; l < B; l++) if (groups[l] === groups[k]) npos++;
      for (let l = 0; l < B; l++) {
        const pos = groups[l] === groups[k];
        if (pos) loss -= (row[l]! - lse) / npos;
        // d/dS of −(1/npos)Σ_pos (S_l − lse) = softmax_l − [pos]/npos; halved for the two directions, over B rows.
        const g = ((Math.exp(row[l]! - lse) - (pos ? 1 / npos : 0)) / B) * 0.5 * scale;
        const idx = dir === 0 ? k * B + l : l * B + k;
        dC[idx]! += g * s;
        dTheta += g * row[l]!;
      }
    }
  }
  return [(loss / B) * 0.5, dTheta];
}

/** The focal weight times the cost and its derivative: f(c) = (1 − e^−c)^γ·c. */
function focal(c: number, gamma: number): [number, number] {
  const e = Math.exp(-c);
  const q = 1 - e;
  const w = Math.pow(q, gamma);
  const dw = gamma * Math.pow(q, gamma - 1) * e;
  return [w * c, w + dw * c];
}

/** Adaptive focal-weighted triplet loss; adds (scale ×) dL/dC into dC, returns the loss. */
export function focalTriplet(C: Arr, groups: Int32Array, { margin, gamma }: Pick<LossOptions, 'margin' | 'gamma'>, { dC, scale = 1 }: GradientInto): number {
  const B = groups.length;
  let loss = 0;
  for (let k = 0; k < B; k++) {
    const pos = C[k * B + k]!;
    for (let l = 0; l < B; l++) {
      if (groups[l] === groups[k]) continue;
      // Image anchor k, negative caption l.
      const ci = margin - pos + C[k * B + l]!;
      if (ci > 0) {
        const [f, df] = focal(ci, gamma);
        loss += f;
        const g = (df / B) * scale;
        dC[k * B + l]! += g;
        dC[k * B + k]! -= g;
      }
      // Caption anchor k, negative image l.
      const ct = margin - pos + C[l * B + k]!;
      if (ct > 0) {
        const [f, df] = focal(ct, gamma);
        loss += f;
        const g = (df / B) * scale;
        dC[l * B + k]! += g;
        dC[k * B + k]! -= g;
      }
    }
  }
  return loss / B;
}

/** Both terms: L = L_nce + λ·L_tri, with dL/dC and dL/dθ. */
export function harmaLoss(C: Arr, groups: Int32Array, logitScale: number, opts: LossOptions = DEFAULT_LOSS): LossResult {
  const dC = alloc(C, C.length);
  const [nce, dLogitScale] = infoNce(C, groups, logitScale, { dC });
  const triplet = opts.tripletWeight > 0 ? focalTriplet(C, groups, opts, { dC, scale: opts.tripletWeight }) : 0;
  return { loss: nce + opts.tripletWeight * triplet, nce, triplet, dC, dLogitScale };
}

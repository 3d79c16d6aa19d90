/**
 * AdamW (decoupled weight decay, Loshchilov & Hutter) with a linear warm-up from 0 to the peak
 * learning rate over `warmupSteps`, then a linear decay to 0 at `totalSteps`.
 */
import { DECAYED, PARAM_NAMES, zerosLike, type Params } from './adapter.js';

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  warmupSteps: number;
  totalSteps: number;
}

/** The learning rate at step t (0-based). */
export function learningRate(t: number, o: Pick<AdamWOptions, 'lr' | 'warmupSteps' | 'totalSteps'>): number {
  if (t < o.warmupSteps) return (o.lr * (t + 1)) / o.warmupSteps;
  const rest = Math.max(1, o.totalSteps - o.warmupSteps);
  return o.lr * Math.max(0, 1 - (t - o.warmupSteps) / rest);
}

export class AdamW {
  private readonly m: Params;
  private readonly v: Params;
  private t = 0;

  constructor(params: Params, private readonly o: AdamWOptions) {
    this.m = zerosLike(params);
    this.v = zerosLike(params);
  }

  get step(): number {
    return this.t;
  }

  /** One update of `params` in place; returns the learning rate used. */
  update(params: Params, grads: Params): number {
    const { beta1: b1, beta2: b2, eps, weightDecay } = this.o;
    const lr = learningRate(this.t, this.o);
    this.t++;
    const c1 = 1 - Math.pow(b1, this.t);
    const c2 = 1 - Math.pow(b2, this.t);
    for (const name of PARAM_NAMES) {
      const p = params[name];
      const g = grads[name];
      const m = this.m[name];
      const v = this.v[name];
      const decay = DECAYED.has(name) ? lr * weightDecay : 0;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]!;
        const mi = b1 * m[i]! + (1 - b1) * gi;
        const vi = b2 * v[i]! + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i]! - decay * p[i]! - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
      }
    }
    return lr;
  }
}

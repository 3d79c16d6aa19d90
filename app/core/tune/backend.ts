/**
 * Where a training step runs. Three back ends, one interface:
 *
 *   onnxruntime          the whole step as one ONNX graph (step-graph.ts): the default, fastest
 *   onnxruntime-matmul   the TypeScript step with its matrix products through ONNX Runtime
 *   typescript           everything in plain TypeScript (float64 capable: gradient checks, tiny runs)
 *
 * All three compute the same loss and gradients (tests/unit/tune/backends.test.ts).
 */
import { availableParallelism } from 'node:os';
import type * as Ort from 'onnxruntime-node';
import { loadOrt } from '../model/index.js';
import { applyAdapter, PARAM_NAMES, paramShapes, towerBackward, towerForward, zerosLike, type AdapterConfig, type AdapterModel, type Params, type Tower } from './adapter.js';
import { harmaLoss, type LossOptions } from './losses.js';
import { createOrtMatMul, f32, ortSessionOptions, tsMatMul, type Arr, type MatMul } from './matmul.js';
import { buildStepGraph, buildTowerGraph, gradName, inputName, towerInputName, towerParams } from './step-graph.js';

export type TuningBackendKind = 'onnxruntime' | 'onnxruntime-matmul' | 'typescript';

export interface StepResult {
  loss: number;
  nce: number;
  triplet: number;
  grads: Params;
}

export interface TuningBackend {
  readonly kind: TuningBackendKind;
  /** Loss and gradients of one batch: image rows xi, caption rows xt, the image of each pair. */
  step(params: Params, xi: Arr, xt: Arr, groups: Int32Array): Promise<StepResult>;
  /** Adapted, normalised embeddings of `rows` base embeddings of one tower. */
  forward(params: Params, tower: Tower, x: Arr, rows: number): Promise<Arr>;
  /** Caption × image cosines (M×N) of normalised embeddings. */
  scores(text: Arr, image: Arr, M: number, N: number): Promise<Arr>;
  close(): Promise<void>;
}

/** One batch: image rows xi, caption rows xt, the image of each pair. */
export interface StepBatch {
  xi: Arr;
  xt: Arr;
  groups: Int32Array;
}

/** The TypeScript step over any matrix-product back end (the reference the graph is checked against). */
export async function lossAndGradients(model: AdapterModel, { xi, xt, groups }: StepBatch, loss: LossOptions): Promise<StepResult> {
  const { params, config, mm } = model;
  const B = groups.length;
  const d = config.dim;
  const ci = await towerForward(model, 'image', xi, B);
  const ct = await towerForward(model, 'text', xt, B);
  const C = await mm.mm(ci.z, ct.z, { m: B, k: d, n: B, tb: true });
  const l = harmaLoss(C, groups, params.logitScale[0]!, loss);
  const grads = zerosLike(params);
  grads.logitScale[0] = l.dLogitScale;
  const dZi = await mm.mm(l.dC, ct.z, { m: B, k: B, n: d });
  const dZt = await mm.mm(l.dC, ci.z, { m: B, k: B, n: d, ta: true });
  await towerBackward(model, ci, dZi, grads);
  await towerBackward(model, ct, dZt, grads);
  return { loss: l.loss, nce: l.nce, triplet: l.triplet, grads };
}

function matmulBackend(kind: TuningBackendKind, config: AdapterConfig, loss: LossOptions, mm: MatMul): TuningBackend {
  return {
    kind,
    step: (params, xi, xt, groups) => lossAndGradients({ params, config, mm }, { xi, xt, groups }, loss),
    forward: (params, tower, x, rows) => applyAdapter({ params, config, mm }, tower, x, rows),
    scores: (text, image, M, N) => mm.mm(text, image, { m: M, k: config.dim, n: N, tb: true }),
    close: () => mm.close(),
  };
}

async function graphBackend(config: AdapterConfig, loss: LossOptions, threads: number): Promise<TuningBackend> {
  const ort = loadOrt();
  const opts = ortSessionOptions(threads);
  // The step graph is large and only training runs it: evaluation only needs the tower graph.
  let stepSession: Promise<Ort.InferenceSession> | undefined;
  const towerSession = await ort.InferenceSession.create(buildTowerGraph(config), opts);
  const mm = await createOrtMatMul(threads);
  const d = config.dim;
  const shapes = paramShapes(config);
  const tensor = (p: Arr, dims: number[]): Ort.Tensor => new ort.Tensor('float32', f32(p), dims);
  return {
    kind: 'onnxruntime',
    async step(params, xi, xt, groups) {
      const B = groups.length;
      const pos = new Float32Array(B * B);
      const posw = new Float32Array(B * B);
      for (let k = 0; k < B; k++) {
        let n = 0;
        for (let l = 0; l < B; l++) if (groups[l] === groups[k]) n++;
        for (let l = 0; l < B; l++) {
          if (groups[l] === groups[k]) {
            pos[k * B + l] = 1;
            posw[k * B + l] = 1 / n;
          }
        }
      }
      const feeds: Record<string, Ort.Tensor> = {
        xi: tensor(xi, [B, d]),
        xt: tensor(xt, [B, d]),
        pos: tensor(pos, [B, B]),
        posw: tensor(posw, [B, B]),
      };
      for (const name of PARAM_NAMES) feeds[inputName(name)] = tensor(params[name], shapes[name]);
      stepSession ??= ort.InferenceSession.create(buildStepGraph(config, loss), opts);
      const out = await (await stepSession).run(feeds);
      const grads = {} as Params;
      for (const name of PARAM_NAMES) grads[name] = out[gradName(name)]!.data as Float32Array;
      const one = (k: string): number => (out[k]!.data as Float32Array)[0]!;
      return { loss: one('loss'), nce: one('nce'), triplet: one('triplet'), grads };
    },
    async forward(params, tower, x, rows) {
      const out = new Float32Array(rows * d);
      const chunk = 4096;
      const fixed: Record<string, Ort.Tensor> = {};
      for (const name of towerParams(tower)) fixed[towerInputName(name)] = tensor(params[name], shapes[name]);
      const x32 = f32(x);
      for (let start = 0; start < rows; start += chunk) {
        const n = Math.min(chunk, rows - start);
        const res = await towerSession.run({ ...fixed, x: tensor(x32.slice(start * d, (start + n) * d), [n, d]) });
        out.set(res.z!.data as Float32Array, start * d);
      }
      return out;
    },
    scores: (text, image, M, N) => mm.mm(text, image, { m: M, k: d, n: N, tb: true }),
    async close() {
      // A step session that failed to build has nothing to release (its step() already threw).
      await stepSession?.then((session) => session.release(), () => undefined);
      await towerSession.release();
      await mm.close();
    },
  };
}

export async function createTuningBackend(kind: TuningBackendKind, config: AdapterConfig, loss: LossOptions, threads = availableParallelism()): Promise<TuningBackend> {
  if (kind === 'typescript') return matmulBackend(kind, config, loss, tsMatMul);
  if (kind === 'onnxruntime-matmul') return matmulBackend(kind, config, loss, await createOrtMatMul(threads));
  return graphBackend(config, loss, threads);
}

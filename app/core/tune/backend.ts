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
import { loadOrt } from '../model/session.js';
import { applyAdapter, PARAM_NAMES, towerBackward, towerForward, zerosLike, type AdapterConfig, type Params, type Tower } from './adapter.js';
import { harmaLoss, type LossOptions } from './losses.js';
import { createOrtMatMul, f32, ortSessionOptions, tsMatMul, type Arr, type MatMul } from './matmul.js';
import { buildStepGraph, buildTowerGraph, gradName, inputName } from './step-graph.js';

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

/** The TypeScript step over any matrix-product back end (the reference the graph is checked against). */
export async function lossAndGradients(params: Params, config: AdapterConfig, xi: Arr, xt: Arr, groups: Int32Array, loss: LossOptions, mm: MatMul): Promise<StepResult> {
  const B = groups.length;
  const d = config.dim;
  const ci = await towerForward(params, config, 'image', xi, B, mm);
  const ct = await towerForward(params, config, 'text', xt, B, mm);
  const C = await mm.mm(ci.z, ct.z, B, d, B, false, true);
  const l = harmaLoss(C, groups, params.logitScale[0]!, loss);
  const grads = zerosLike(params);
  grads.logitScale[0] = l.dLogitScale;
  const dZi = await mm.mm(l.dC, ct.z, B, B, d);
  const dZt = await mm.mm(l.dC, ci.z, B, B, d, true, false);
  await towerBackward(params, config, ci, dZi, grads, mm);
  await towerBackward(params, config, ct, dZt, grads, mm);
  return { loss: l.loss, nce: l.nce, triplet: l.triplet, grads };
}

function matmulBackend(kind: TuningBackendKind, config: AdapterConfig, loss: LossOptions, mm: MatMul): TuningBackend {
  return {
    kind,
    step: (params, xi, xt, groups) => lossAndGradients(params, config, xi, xt, groups, loss, mm),
    forward: (params, tower, x, rows) => applyAdapter(params, config, tower, x, rows, mm),
    scores: (text, image, M, N) => mm.mm(text, image, M, config.dim, N, false, true),
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
  const { dim: d, bottleneck: r, shared: m } = config;
  const shapes: Record<string, number[]> = {};
  const tensor = (p: Arr, dims: number[]): Ort.Tensor => new ort.Tensor('float32', f32(p), dims);
  const paramDims = (name: string, len: number): number[] => {
    if (name.endsWith('down.w')) return name.startsWith('shared') ? [r, m] : [d, r];
    if (name.endsWith('up.w')) return name.startsWith('shared') ? [m, r] : [r, d];
    return [len];
  };
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
      for (const name of PARAM_NAMES) feeds[inputName(name)] = tensor(params[name], (shapes[name] ??= paramDims(name, params[name].length)));
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
      const fixed: Record<string, Ort.Tensor> = {
        down_w: tensor(params[`${tower}.down.w`], [d, r]),
        down_b: tensor(params[`${tower}.down.b`], [r]),
        up_w: tensor(params[`${tower}.up.w`], [r, d]),
        up_b: tensor(params[`${tower}.up.b`], [d]),
        gate: tensor(params[`${tower}.gate`], [1]),
        s_down_w: tensor(params['shared.down.w'], [r, m]),
        s_down_b: tensor(params['shared.down.b'], [m]),
        s_up_w: tensor(params['shared.up.w'], [m, r]),
        s_up_b: tensor(params['shared.up.b'], [r]),
        s_gate: tensor(params['shared.gate'], [1]),
      };
      const x32 = f32(x);
      for (let start = 0; start < rows; start += chunk) {
        const n = Math.min(chunk, rows - start);
        const res = await towerSession.run({ ...fixed, x: tensor(x32.slice(start * d, (start + n) * d), [n, d]) });
        out.set(res.z!.data as Float32Array, start * d);
      }
      return out;
    },
    scores: (text, image, M, N) => mm.mm(text, image, M, d, N, false, true),
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

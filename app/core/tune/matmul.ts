/**
 * Matrix products for tuning, behind one interface with two back ends: onnxruntime-node (MLAS
 * sgemm, ~200× a plain loop on this machine, see docs/tuning.md) for training, and a plain
 * TypeScript loop that also works in float64 (gradient checks, tiny problems, the benchmark's
 * baseline). Everything else in a training step is element-wise and stays in typed-array TS.
 */
import { availableParallelism } from 'node:os';
import type * as Ort from 'onnxruntime-node';
import { GraphBuilder, loadOrt } from '../model/index.js';

export type Arr = Float32Array | Float64Array;

/** A new zeroed array of the same element type as `like`. */
export function alloc(like: Arr, n: number): Arr {
  return like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
}

/**
 * The shape of a product C (m×n) = op(A) · op(B), row-major, as BLAS names it: op(A) is m×k (A is
 * stored m×k, or k×m when `ta`); op(B) is k×n (B is stored k×n, or n×k when `tb`).
 */
export interface MatShape {
  m: number;
  k: number;
  n: number;
  ta?: boolean;
  tb?: boolean;
}

export interface MatMul {
  readonly name: string;
  /** C (m×n) = op(A) · op(B), row-major (see MatShape). */
  mm(a: Arr, b: Arr, shape: MatShape): Promise<Arr>;
  close(): Promise<void>;
}

/** The plain loop (cache-friendly orders, no blocking): float32 or float64 as the inputs are. */
export function matmulSync(a: Arr, b: Arr, { m, k, n, ta = false, tb = false }: MatShape): Arr {
  const c = alloc(a, m * n);
  if (!ta && !tb) {
    for (let i = 0; i < m; i++) {
      const ci = i * n;
      for (let p = 0; p < k; p++) {
        const av = a[i * k + p]!;
        if (av === 0) continue;
        const bp = p * n;
        for (let j = 0; j < n; j++) c[ci + j]! += av * b[bp + j]!;
      }
    }
  } else if (!ta && tb) {
    for (let i = 0; i < m; i++) {
      const ai = i * k;
      for (let j = 0; j < n; j++) {
        const bj = j * k;
        let s = 0;
        for (let p = 0; p < k; p++) s += a[ai + p]! * b[bj + p]!;
        c[i * n + j] = s;
      }
    }
  } else if (ta && !tb) {
    for (let p = 0; p < k; p++) {
      const ap = p * m;
      const bp = p * n;
      for (let i = 0; i < m; i++) {
        const av = a[ap + i]!;
        if (av === 0) continue;
        const ci = i * n;
        for (let j = 0; j < n; j++) c[ci + j]! += av * b[bp + j]!;
      }
    }
  } else {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[p * m + i]! * b[j * k + p]!;
        c[i * n + j] = s;
      }
    }
  }
  return c;
}

export const tsMatMul: MatMul = {
  name: 'typescript',
  mm: (a, b, shape) => Promise.resolve(matmulSync(a, b, shape)),
  close: () => Promise.resolve(),
};

/** `x` as float32 (ONNX Runtime's tensors here), copied only when it is float64. */
export const f32 = (x: Arr): Float32Array => (x instanceof Float32Array ? x : Float32Array.from(x));

/** Session options for every tuning session: `threads` intra-op threads, run sequentially. */
export function ortSessionOptions(threads: number): Ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Tuning is background work on a machine that is doing other things: threads that spin while
    // waiting for work steal the cores they wait for (measured: ~2× slower steps under load).
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/**
 * One reusable ONNX Runtime session per transpose combination: a single Gemm node with symbolic
 * shapes, so any product of any size goes through the same four sessions.
 */
export async function createOrtMatMul(threads = availableParallelism()): Promise<MatMul> {
  const ort = loadOrt();
  const sessions = new Map<string, Ort.InferenceSession>();
  for (const ta of [0, 1]) {
    for (const tb of [0, 1]) {
      const g = new GraphBuilder(`gemm_${ta}${tb}`);
      g.input('A', 'float32', ta ? ['k', 'm'] : ['m', 'k']);
      g.input('B', 'float32', tb ? ['n', 'k'] : ['k', 'n']);
      g.op('Gemm', ['A', 'B'], { transA: ta, transB: tb }, { name: 'C' });
      g.output('C', 'float32', ['m', 'n']);
      const session = await ort.InferenceSession.create(g.encode(), ortSessionOptions(threads));
      sessions.set(`${ta}${tb}`, session);
    }
  }
  return {
    name: 'onnxruntime',
    async mm(a, b, { m, k, n, ta = false, tb = false }) {
      const session = sessions.get(`${ta ? 1 : 0}${tb ? 1 : 0}`)!;
      const A = new ort.Tensor('float32', f32(a), ta ? [k, m] : [m, k]);
      const B = new ort.Tensor('float32', f32(b), tb ? [n, k] : [k, n]);
      const out = await session.run({ A, B });
      return out.C!.data as Float32Array;
    },
    async close() {
      for (const s of sessions.values()) await s.release();
      sessions.clear();
    },
  };
}

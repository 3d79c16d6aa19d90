/**
 * The ONNX graph builder: both CLIP towers (and HarMA's adapters) from a ClipSpec and canonical
 * parameters, in standard opset-17 operators, dynamic batch, L2-normalised float32 outputs.
 *
 * Precision variants change how weights are stored, not what the graph computes:
 *  - fp32: float32 weights.
 *  - fp16: float16 weights (half the file), Cast to float32 in the graph; arithmetic stays float32.
 *  - int8: every matrix multiply against a weight matrix becomes com.microsoft DynamicQuantizeMatMul
 *    (int8 weights, one scale per output column; activations quantised per tensor at run time, which
 *    is what makes it fast on CPU); the token table is int8 with one scale per row; the rest fp16.
 */
import type { Activation, ClipSpec } from './architectures.js';
import type { AdapterSpec, Param } from './layouts.js';
import { TensorType, type AttributeValue, type OnnxInitializer, type OnnxModel, type OnnxNode } from './onnx-writer.js';
import { encodeHalf, toHalf } from '../../vectors/index.js';

export type Precision = 'fp32' | 'fp16' | 'int8';

export interface TowerOptions {
  spec: ClipSpec;
  activation: Activation;
  precision: Precision;
  params: Map<string, Param>;
  /** Reads a canonical parameter as float32 (called once per weight, while the file is written). */
  read: (name: string, p: Param) => Float32Array;
  adapter?: AdapterSpec;
  /** L2-normalise the output (default true); false gives the raw tower output (tests). */
  normalize?: boolean;
  producer: { name: string; version: string };
}

// ---- float16 / int8 encodings --------------------------------------------------------------------

/** float32 → IEEE half, round to nearest even (what numpy/torch .half() do): the vector store's codec. */
export const toHalfBits = toHalf;

/** An fp16 initializer's bytes. */
export function halfBytes(values: Float32Array): Uint8Array {
  const half = encodeHalf(values);
  return new Uint8Array(half.buffer, half.byteOffset, half.byteLength);
}

interface Quantized {
  q: Int8Array;
  scale: Float32Array;
}

/** Symmetric int8 per column of a [rows, cols] matrix: q = round(w / s), s = max|w| / 127. */
function quantizeColumns(w: Float32Array, rows: number, cols: number): Quantized {
  const max = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) {
      const a = Math.abs(w[base + c] as number);
      if (a > (max[c] as number)) max[c] = a;
    }
  }
  const scale = new Float32Array(cols);
  const inv = new Float64Array(cols);
  for (let c = 0; c < cols; c++) {
    scale[c] = (max[c] as number) / 127 || 1;
    inv[c] = 1 / (scale[c] as number);
  }
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) q[base + c] = Math.round((w[base + c] as number) * (inv[c] as number));
  }
  return { q, scale };
}

function quantizeRows(w: Float32Array, rows: number, cols: number): Quantized {
  const scale = new Float32Array(rows);
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let m = 0;
    for (let c = 0; c < cols; c++) m = Math.max(m, Math.abs(w[base + c] as number));
    const s = m / 127 || 1;
    scale[r] = s;
    const inv = 1 / s;
    for (let c = 0; c < cols; c++) q[base + c] = Math.round((w[base + c] as number) * inv);
  }
  return { q, scale };
}

const bytesOf = (a: Float32Array | Int8Array | BigInt64Array | Int32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

// ---- graph construction -------------------------------------------------------------------------

/** An attention layer's width and heads, and the additive mask (the text tower's causal mask). */
interface AttentionShape {
  width: number;
  heads: number;
  mask?: string | undefined;
}

/** A finished tower's graph name, its input, and the output name given to the result. */
interface TowerIo {
  graphName: string;
  input: { name: string; type: TensorType; shape: (number | string)[] };
  output: string;
  result: string;
  width: number;
}

class Graph {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  private readonly weightCache = new Map<string, string>();
  private readonly quantized = new Set<string>();
  private readonly constCache = new Map<string, string>();
  private n = 0;
  usesMicrosoft = false;

  constructor(private readonly o: TowerOptions) {}

  private fresh(hint: string): string {
    return `${hint}_${this.n++}`;
  }

  op(op: string, inputs: string[], attributes?: Record<string, AttributeValue>, { outputs = 1, domain }: { outputs?: number; domain?: string } = {}): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(op.toLowerCase()));
    this.nodes.push({ op, inputs, outputs: outs, name: this.fresh(`n_${op}`), ...(attributes ? { attributes } : {}), ...(domain ? { domain } : {}) });
    return outs;
  }

  op1(op: string, inputs: string[], attributes?: Record<string, AttributeValue>, domain?: string): string {
    return this.op(op, inputs, attributes, { outputs: 1, ...(domain ? { domain } : {}) })[0] ?? '';
  }

  /** A small constant held in memory. */
  constant(values: number[], dims: number[], type: 'f32' | 'i64' = 'f32'): string {
    const key = `${type}:${dims.join(',')}:${values.join(',')}`;
    const known = this.constCache.get(key);
    if (known) return known;
    const name = this.fresh('const');
    const data = type === 'f32' ? bytesOf(Float32Array.from(values)) : bytesOf(BigInt64Array.from(values.map((v) => BigInt(v))));
    this.initializers.push({ name, type: type === 'f32' ? TensorType.FLOAT : TensorType.INT64, dims, produce: () => data });
    this.constCache.set(key, name);
    return name;
  }

  private param(name: string): Param {
    const p = this.o.params.get(name);
    if (!p) throw new Error(`graph builder: no parameter ${name}`);
    return p;
  }

  private read(name: string): Float32Array {
    return this.o.read(name, this.param(name));
  }

  /** A weight read from the checkpoint when the file is written; fp16 packs store it as float16. */
  weight(name: string, forceF32 = false): string {
    const cached = this.weightCache.get(name);
    if (cached) return cached;
    const p = this.param(name);
    let out: string;
    if (this.o.precision === 'fp32' || forceF32) {
      this.initializers.push({ name, type: TensorType.FLOAT, dims: p.shape, produce: () => bytesOf(this.read(name)) });
      out = name;
    } else {
      this.initializers.push({ name: `${name}.f16`, type: TensorType.FLOAT16, dims: p.shape, produce: () => halfBytes(this.read(name)) });
      out = this.op1('Cast', [`${name}.f16`], { to: TensorType.FLOAT });
    }
    this.weightCache.set(name, out);
    return out;
  }

  /**
   * A [rows, cols] weight as int8 `${name}.q` and float32 `${name}.scale`, one scale per column
   * (shaped [cols]) or per row (shaped [rows, 1]).
   */
  int8(name: string, per: 'column' | 'row'): [q: string, scale: string] {
    const names: [string, string] = [`${name}.q`, `${name}.scale`];
    if (this.quantized.has(name)) return names;
    this.quantized.add(name);
    const [rows = 0, cols = 0] = this.param(name).shape;
    const quantize = per === 'column' ? quantizeColumns : quantizeRows;
    // Quantised once, from one read, when the values are written; the scales are written next, and
    // the quantised copy is let go then.
    let pending: Quantized | undefined;
    const quant = (): Quantized => (pending ??= quantize(this.read(name), rows, cols));
    this.initializers.push({ name: names[0], type: TensorType.INT8, dims: [rows, cols], produce: () => bytesOf(quant().q) });
    this.initializers.push({ name: names[1], type: TensorType.FLOAT, dims: per === 'column' ? [cols] : [rows, 1], produce: () => {
      const { scale } = quant();
      pending = undefined;
      return bytesOf(scale);
    } });
    return names;
  }

  /** x @ W (+ b) for a canonical [in, out] weight. */
  linear(x: string, w: string, b?: string): string {
    if (this.o.precision === 'int8') {
      const [q, scale] = this.int8(w, 'column');
      this.usesMicrosoft = true;
      return this.op1('DynamicQuantizeMatMul', b ? [x, q, scale, '', this.weight(b, true)] : [x, q, scale], undefined, 'com.microsoft');
    }
    const y = this.op1('MatMul', [x, this.weight(w)]);
    return b ? this.op1('Add', [y, this.weight(b)]) : y;
  }

  layerNorm(x: string, name: string): string {
    return this.op1('LayerNormalization', [x, this.weight(`${name}.w`, this.o.precision === 'int8'), this.weight(`${name}.b`, this.o.precision === 'int8')], { axis: -1, epsilon: { float: this.o.spec.layerNormEps } });
  }

  gelu(x: string): string {
    // 0.5·x·(1 + erf(x/√2)), the pattern ONNX Runtime fuses into one Gelu kernel.
    const e = this.op1('Erf', [this.op1('Div', [x, this.constant([Math.SQRT2], [])])]);
    return this.op1('Mul', [this.op1('Mul', [x, this.op1('Add', [e, this.constant([1], [])])]), this.constant([0.5], [])]);
  }

  activation(x: string, kind: Activation): string {
    if (kind === 'gelu') return this.gelu(x);
    return this.op1('Mul', [x, this.op1('Sigmoid', [this.op1('Mul', [x, this.constant([1.702], [])])])]);
  }

  /** Multi-head self-attention over axis 1 of x [B, L, width], packed q/k/v weights `${name}.in_w`. */
  attention(x: string, name: string, { width, heads, mask }: AttentionShape): string {
    const hd = width / heads;
    const qkv = this.linear(x, `${name}.in_w`, `${name}.in_b`);
    const split = this.op1('Transpose', [this.op1('Reshape', [qkv, this.constant([0, 0, 3, heads, hd], [5], 'i64')])], { perm: [2, 0, 3, 1, 4] });
    const pick = (i: number): string => this.op1('Gather', [split, this.constant([i], [], 'i64')], { axis: 0 });
    const q = this.op1('Mul', [pick(0), this.constant([1 / Math.sqrt(hd)], [])]);
    const kT = this.op1('Transpose', [pick(1)], { perm: [0, 1, 3, 2] });
    let scores = this.op1('MatMul', [q, kT]);
    if (mask) scores = this.op1('Add', [scores, mask]);
    const ctx = this.op1('MatMul', [this.op1('Softmax', [scores], { axis: -1 }), pick(2)]);
    const merged = this.op1('Reshape', [this.op1('Transpose', [ctx], { perm: [0, 2, 1, 3] }), this.constant([0, 0, width], [3], 'i64')]);
    return this.linear(merged, `${name}.out_w`, `${name}.out_b`);
  }

  /** a·s + b·(1 − s) with s = σ(gate) computed here from the stored gate. */
  gateMix(a: string, b: string, gate: string): string {
    const g = this.read(gate)[0] ?? 0;
    const s = 1 / (1 + Math.exp(-g));
    return this.op1('Add', [this.op1('Mul', [a, this.constant([s], [])]), this.op1('Mul', [b, this.constant([1 - s], [])])]);
  }

  /** HarMA's MGA adapter (and, in the text tower, its MMS mini-adapter), unmasked attention, exact GELU. */
  mga(u: string, name: string, text: boolean): string {
    const a = this.o.adapter;
    if (!a) throw new Error('no adapter spec');
    const h = this.gelu(this.linear(u, `${name}.mga.down_w`, `${name}.mga.down_b`));
    let att = this.attention(h, `${name}.mga.attn`, { width: a.width, heads: a.heads });
    if (text) {
      const p = this.linear(att, `${name}.mms.l1_w`, `${name}.mms.l1_b`);
      const q = this.attention(p, `${name}.mms.attn`, { width: a.mmsWidth, heads: a.mmsHeads });
      const r = this.gateMix(q, p, `${name}.mms.gate`);
      att = this.op1('Add', [att, this.linear(r, `${name}.mms.l2_w`, `${name}.mms.l2_b`)]);
    }
    att = this.attention(att, `${name}.mga.attn`, { width: a.width, heads: a.heads });
    const v = this.gateMix(h, att, `${name}.mga.gate`);
    return this.op1('Add', [u, this.linear(v, `${name}.mga.up_w`, `${name}.mga.up_b`)]);
  }

  block(x: string, name: string, { width, heads, mask, text }: AttentionShape & { text: boolean }): string {
    const attn = this.attention(this.layerNorm(x, `${name}.ln1`), `${name}.attn`, { width, heads, mask });
    const y = this.op1('Add', [x, attn]);
    const hidden = this.activation(this.linear(this.layerNorm(y, `${name}.ln2`), `${name}.fc_w`, `${name}.fc_b`), this.o.activation);
    let m = this.linear(hidden, `${name}.proj_w`, `${name}.proj_b`);
    if (this.o.adapter) m = this.gateMix(this.mga(m, name, text), m, `${name}.gate`);
    return this.op1('Add', [y, m]);
  }

  finish(x: string): string {
    if (this.o.normalize === false) return this.op('Identity', [x], undefined, { outputs: 1 })[0] ?? '';
    const norm = this.op1('ReduceL2', [x], { axes: [-1], keepdims: 1 });
    return this.op1('Div', [x, this.op1('Max', [norm, this.constant([1e-12], [])])]);
  }

  model({ graphName, input, output, result, width }: TowerIo): OnnxModel {
    // Rename the last node's output to the tower's output name.
    const last = this.nodes[this.nodes.length - 1];
    if (last && last.outputs[0] === result) last.outputs[0] = output;
    return {
      graphName,
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: [input],
      outputs: [{ name: output, type: TensorType.FLOAT, shape: ['batch', width] }],
      opsets: [{ domain: '', version: 17 }, ...(this.usesMicrosoft ? [{ domain: 'com.microsoft', version: 1 }] : [])],
      producer: this.o.producer,
    };
  }
}

export const IMAGE_INPUT = 'pixel_values';
export const IMAGE_OUTPUT = 'image_embeds';
export const TEXT_INPUT = 'input_ids';
export const TEXT_OUTPUT = 'text_embeds';

/** float32[batch, 3, size, size] → float32[batch, embedDim]. */
export function buildImageTower(o: TowerOptions): OnnxModel {
  const g = new Graph(o);
  const v = o.spec.vision;
  const grid = v.imageSize / v.patchSize;
  const conv = g.op1('Conv', [IMAGE_INPUT, g.weight('v.conv_w')], { kernel_shape: [v.patchSize, v.patchSize], strides: [v.patchSize, v.patchSize] });
  const tokens = g.op1('Transpose', [g.op1('Reshape', [conv, g.constant([0, v.width, grid * grid], [3], 'i64')])], { perm: [0, 2, 1] });
  const batch = g.op1('Shape', [IMAGE_INPUT], { start: 0, end: 1 });
  const clsShape = g.op1('Concat', [batch, g.constant([1, v.width], [2], 'i64')], { axis: 0 });
  const cls = g.op1('Expand', [g.op1('Reshape', [g.weight('v.cls'), g.constant([1, 1, v.width], [3], 'i64')]), clsShape]);
  let x = g.op1('Add', [g.op1('Concat', [cls, tokens], { axis: 1 }), g.weight('v.pos')]);
  x = g.layerNorm(x, 'v.ln_pre');
  for (let i = 0; i < v.layers; i++) x = g.block(x, `v.b${i}`, { width: v.width, heads: v.heads, text: false });
  const pooled = g.op1('Gather', [x, g.constant([0], [], 'i64')], { axis: 1 });
  const emb = g.linear(g.layerNorm(pooled, 'v.ln_post'), 'v.proj');
  const out = g.finish(emb);
  return g.model({
    graphName: 'image_tower',
    input: { name: IMAGE_INPUT, type: TensorType.FLOAT, shape: ['batch', 3, v.imageSize, v.imageSize] },
    output: IMAGE_OUTPUT,
    result: out,
    width: o.spec.embedDim,
  });
}

/** int64[batch, contextLength] → float32[batch, embedDim]; pools the end token (the largest id). */
export function buildTextTower(o: TowerOptions): OnnxModel {
  const g = new Graph(o);
  const t = o.spec.text;
  let x: string;
  if (o.precision === 'int8') {
    const [q, scale] = g.int8('t.tok', 'row');
    const rowsQ = g.op1('Cast', [g.op1('Gather', [q, TEXT_INPUT], { axis: 0 })], { to: TensorType.FLOAT });
    x = g.op1('Mul', [rowsQ, g.op1('Gather', [scale, TEXT_INPUT], { axis: 0 })]);
  } else {
    x = g.op1('Gather', [g.weight('t.tok'), TEXT_INPUT], { axis: 0 });
  }
  x = g.op1('Add', [x, g.weight('t.pos')]);
  const c = t.contextLength;
  const mask: number[] = [];
  for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) mask.push(j > i ? -Infinity : 0);
  const maskName = g.constant(mask, [c, c]);
  for (let i = 0; i < t.layers; i++) x = g.block(x, `t.b${i}`, { width: t.width, heads: t.heads, mask: maskName, text: true });
  // The end-of-text token has the largest id (49407); ids are exact in float32.
  const eot = g.op1('ArgMax', [g.op1('Cast', [TEXT_INPUT], { to: TensorType.FLOAT })], { axis: -1, keepdims: 1 });
  const pooled = g.op1('GatherND', [x, eot], { batch_dims: 1 });
  const emb = g.linear(g.layerNorm(pooled, 't.ln_final'), 't.proj');
  const out = g.finish(emb);
  return g.model({
    graphName: 'text_tower',
    input: { name: TEXT_INPUT, type: TensorType.INT64, shape: ['batch', c] },
    output: TEXT_OUTPUT,
    result: out,
    width: o.spec.embedDim,
  });
}

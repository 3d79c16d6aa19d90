/**
 * A whole training step as one ONNX graph: both towers' adapters forward, the HarMA loss, and the
 * hand-derived backward pass (the same derivation as adapter.ts / losses.ts, which are checked
 * against finite differences; this graph is checked against them in tests/unit/tune/backends.test.ts).
 * One session run per step instead of ~25 matrix products and a dozen typed-array passes, with
 * ONNX Runtime's threaded, vectorised kernels doing the element-wise work too. A second graph runs
 * one tower's adapter forward (validation, re-scoring). The AdamW update stays in TypeScript.
 */
import { GraphBuilder } from '../model/index.js';
import { paramShapes, PARAM_NAMES, type AdapterConfig, type ParamName, type Tower } from './adapter.js';
import type { LossOptions } from './losses.js';

const K = Math.sqrt(2 / Math.PI);

/** The graph input name of a parameter (ONNX names: no dots needed, but kept readable). */
export const inputName = (p: ParamName): string => `p_${p.replace(/\./g, '_')}`;
export const gradName = (p: ParamName): string => `g_${p.replace(/\./g, '_')}`;
/** The tower graph's input name of a parameter: one graph serves both towers, so a tower's own go unprefixed. */
export const towerInputName = (p: ParamName): string => `${p.startsWith('shared.') ? 's_' : ''}${p.slice(p.indexOf('.') + 1).replace(/\./g, '_')}`;
/** The parameters the tower graph takes for one tower: its own and the shared adapter's. */
export const towerParams = (tower: Tower): ParamName[] => PARAM_NAMES.filter((p) => p.startsWith(`${tower}.`) || p.startsWith('shared.'));

type TowerNames = { down: string; downB: string; up: string; upB: string; gate: string };

class Ops {
  constructor(readonly g: GraphBuilder) {}
  c(v: number): string {
    return this.g.floats([v], [], 'k');
  }
  axes(...a: number[]): string {
    return this.g.ints(a, [a.length], 'ax');
  }
  add(a: string, b: string): string {
    return this.g.one('Add', [a, b]);
  }
  sub(a: string, b: string): string {
    return this.g.one('Sub', [a, b]);
  }
  mul(a: string, b: string): string {
    return this.g.one('Mul', [a, b]);
  }
  div(a: string, b: string): string {
    return this.g.one('Div', [a, b]);
  }
  mm(a: string, b: string, ta = 0, tb = 0): string {
    return this.g.one('Gemm', [a, b], { transA: ta, transB: tb });
  }
  sum(x: string, axis: number, keep: 0 | 1): string {
    return this.g.one('ReduceSum', [x, this.axes(axis)], { keepdims: keep });
  }
  /** Sum of every element, as shape [1]. */
  total(x: string): string {
    const s = this.g.one('ReduceSum', [x], { keepdims: 0 });
    return this.g.one('Reshape', [s, this.g.ints([1], [1], 'shape')]);
  }
  /** tanh(K(h + 0.044715h³)) for gelu and its derivative. */
  geluT(h: string): string {
    const h3 = this.mul(this.mul(h, h), h);
    return this.g.one('Tanh', [this.mul(this.add(h, this.mul(h3, this.c(0.044715))), this.c(K))]);
  }
  gelu(h: string, t: string): string {
    return this.mul(this.mul(h, this.c(0.5)), this.add(t, this.c(1)));
  }
  /** d gelu / dh = 0.5(1 + t) + 0.5·h·(1 − t²)·K·(1 + 3·0.044715·h²). */
  geluGrad(h: string, t: string): string {
    const a = this.mul(this.add(t, this.c(1)), this.c(0.5));
    const oneMinusT2 = this.sub(this.c(1), this.mul(t, t));
    const poly = this.add(this.c(1), this.mul(this.mul(h, h), this.c(3 * 0.044715)));
    return this.add(a, this.mul(this.mul(this.mul(h, oneMinusT2), poly), this.c(0.5 * K)));
  }
}

interface TowerFwd {
  x: string;
  h: string;
  th: string;
  a: string;
  u: string;
  tu: string;
  v: string;
  s: string;
  a2: string;
  o: string;
  n: string;
  z: string;
}

function towerForward(o: Ops, x: string, t: TowerNames, sh: TowerNames): TowerFwd {
  const h = o.add(o.mm(x, t.down), t.downB);
  const th = o.geluT(h);
  const a = o.gelu(h, th);
  const u = o.add(o.mm(a, sh.down), sh.downB);
  const tu = o.geluT(u);
  const v = o.gelu(u, tu);
  const s = o.add(o.mm(v, sh.up), sh.upB);
  const a2 = o.add(a, o.mul(s, sh.gate));
  const out = o.add(o.mm(a2, t.up), t.upB);
  // y = x + g(o − x)
  const y = o.add(x, o.mul(o.sub(out, x), t.gate));
  const n = o.g.one('Sqrt', [o.sum(o.mul(y, y), 1, 1)]);
  const z = o.div(y, n);
  return { x, h, th, a, u, tu, v, s, a2, o: out, n, z };
}

interface TowerGrads {
  down: string;
  downB: string;
  up: string;
  upB: string;
  gate: string;
  sDown: string;
  sDownB: string;
  sUp: string;
  sUpB: string;
  sGate: string;
}

/** The backward pass of one tower: `names` are its own parameters' and the shared block's. */
function towerBackward(o: Ops, f: TowerFwd, dz: string, names: { t: TowerNames; sh: TowerNames }): TowerGrads {
  const { t, sh } = names;
  const dot = o.sum(o.mul(dz, f.z), 1, 1);
  const dy = o.div(o.sub(dz, o.mul(f.z, dot)), f.n);
  const gate = o.total(o.mul(dy, o.sub(f.o, f.x)));
  const dout = o.mul(dy, t.gate);
  const up = o.mm(f.a2, dout, 1, 0);
  const upB = o.sum(dout, 0, 0);
  const da2 = o.mm(dout, t.up, 0, 1);
  const sGate = o.total(o.mul(da2, f.s));
  const ds = o.mul(da2, sh.gate);
  const sUp = o.mm(f.v, ds, 1, 0);
  const sUpB = o.sum(ds, 0, 0);
  const du = o.mul(o.mm(ds, sh.up, 0, 1), o.geluGrad(f.u, f.tu));
  const sDown = o.mm(f.a, du, 1, 0);
  const sDownB = o.sum(du, 0, 0);
  const da = o.add(o.mm(du, sh.down, 0, 1), da2);
  const dh = o.mul(da, o.geluGrad(f.h, f.th));
  const down = o.mm(f.x, dh, 1, 0);
  const downB = o.sum(dh, 0, 0);
  return { down, downB, up, upB, gate, sDown, sDownB, sUp, sUpB, sGate };
}

/** One group's five parameters as graph inputs, in PARAM_NAMES order, shaped as paramShapes says. */
function declareGroup(g: GraphBuilder, shapes: Record<ParamName, number[]>, group: Tower | 'shared', name: (p: ParamName) => string): TowerNames {
  const input = (part: string): string => {
    const p = `${group}.${part}` as ParamName;
    return g.input(name(p), 'float32', shapes[p]);
  };
  return { down: input('down.w'), downB: input('down.b'), up: input('up.w'), upB: input('up.b'), gate: input('gate') };
}

function declareParams(g: GraphBuilder, shapes: Record<ParamName, number[]>): { image: TowerNames; text: TowerNames; shared: TowerNames; logitScale: string } {
  const image = declareGroup(g, shapes, 'image', inputName);
  const text = declareGroup(g, shapes, 'text', inputName);
  const shared = declareGroup(g, shapes, 'shared', inputName);
  const logitScale = g.input(inputName('logitScale'), 'float32', shapes.logitScale);
  return { image, text, shared, logitScale };
}

/**
 * The step graph. Inputs: xi, xt (B×d base embeddings of the batch's images and captions), pos
 * (B×B, 1 where two pairs share an image), posw (pos divided by the row's positive count), and
 * every parameter. Outputs: loss, nce, triplet ([1] each) and one gradient per parameter.
 */
export function buildStepGraph(c: AdapterConfig, loss: LossOptions): Uint8Array {
  const g = new GraphBuilder('kestrel_adapter_step');
  const o = new Ops(g);
  const d = c.dim;
  const shapes = paramShapes(c);
  const xi = g.input('xi', 'float32', ['B', d]);
  const xt = g.input('xt', 'float32', ['B', d]);
  const pos = g.input('pos', 'float32', ['B', 'B']);
  const posw = g.input('posw', 'float32', ['B', 'B']);
  const P = declareParams(g, shapes);

  const fi = towerForward(o, xi, P.image, P.shared);
  const ft = towerForward(o, xt, P.text, P.shared);
  const C = o.mm(fi.z, ft.z, 0, 1);
  const Bf = g.one('Cast', [g.one('Gather', [g.one('Shape', [C]), g.ints([0], [], 'zero')], { axis: 0 })], { to: 1 });

  // InfoNCE, both directions; posw is symmetric (a positive pair's rows have equal counts).
  const scale = g.one('Exp', [P.logitScale]);
  const S = o.mul(C, scale);
  const lsRow = g.one('LogSoftmax', [S], { axis: 1 });
  const lsCol = g.one('LogSoftmax', [g.one('Transpose', [S], { perm: [1, 0] })], { axis: 1 });
  const nceSum = o.add(o.total(o.mul(posw, lsRow)), o.total(o.mul(posw, lsCol)));
  const nce = o.div(o.mul(nceSum, o.c(-0.5)), Bf);
  const smRow = g.one('Softmax', [S], { axis: 1 });
  const smCol = g.one('Softmax', [S], { axis: 0 });
  const two = o.mul(posw, o.c(2));
  const dS = o.div(o.mul(o.sub(o.add(smRow, smCol), two), o.c(0.5)), Bf);
  const dTheta = o.total(o.mul(dS, S));
  let dC = o.mul(dS, scale);

  // Focal-weighted triplet over negatives (pairs of different images).
  let triplet: string;
  if (loss.tripletWeight <= 0) triplet = o.c(0);
  else {
    const neg = o.sub(o.c(1), pos);
    const eye = g.one('EyeLike', [C]);
    const diagCol = o.sum(o.mul(C, eye), 1, 1); // B×1: C_kk for the row's image anchor
    const diagRow = o.sum(o.mul(C, eye), 0, 1); // 1×B: C_kk for the column's caption anchor
    const focal = (cost: string): { f: string; df: string } => {
      const e = g.one('Exp', [g.one('Neg', [cost])]);
      const q = o.sub(o.c(1), e);
      const w = g.one('Pow', [q, o.c(loss.gamma)]);
      const dw = o.mul(o.mul(g.one('Pow', [q, o.c(loss.gamma - 1)]), e), o.c(loss.gamma));
      return { f: o.mul(w, cost), df: o.add(w, o.mul(dw, cost)) };
    };
    const ci = g.one('Relu', [o.add(o.sub(C, diagCol), o.c(loss.margin))]);
    const ct = g.one('Relu', [o.add(o.sub(C, diagRow), o.c(loss.margin))]);
    const fI = focal(ci);
    const fT = focal(ct);
    triplet = o.div(o.add(o.total(o.mul(fI.f, neg)), o.total(o.mul(fT.f, neg))), Bf);
    const lam = o.div(o.c(loss.tripletWeight), Bf);
    const gI = o.mul(o.mul(fI.df, neg), lam);
    const gT = o.mul(o.mul(fT.df, neg), lam);
    const diag = o.mul(o.add(o.sum(gI, 1, 1), o.sum(gT, 0, 1)), eye);
    dC = o.sub(o.add(dC, o.add(gI, gT)), diag);
  }
  const total = o.add(nce, o.mul(triplet, o.c(loss.tripletWeight)));

  const dZi = o.mm(dC, ft.z, 0, 0);
  const dZt = o.mm(dC, fi.z, 1, 0);
  const gi = towerBackward(o, fi, dZi, { t: P.image, sh: P.shared });
  const gt = towerBackward(o, ft, dZt, { t: P.text, sh: P.shared });

  const grads: Record<ParamName, string> = {
    'image.down.w': gi.down, 'image.down.b': gi.downB, 'image.up.w': gi.up, 'image.up.b': gi.upB, 'image.gate': gi.gate,
    'text.down.w': gt.down, 'text.down.b': gt.downB, 'text.up.w': gt.up, 'text.up.b': gt.upB, 'text.gate': gt.gate,
    'shared.down.w': o.add(gi.sDown, gt.sDown), 'shared.down.b': o.add(gi.sDownB, gt.sDownB),
    'shared.up.w': o.add(gi.sUp, gt.sUp), 'shared.up.b': o.add(gi.sUpB, gt.sUpB),
    'shared.gate': o.add(gi.sGate, gt.sGate),
    logitScale: dTheta,
  };
  for (const name of PARAM_NAMES) {
    g.one('Identity', [grads[name]], {}, gradName(name));
    g.output(gradName(name), 'float32', shapes[name]);
  }
  for (const [name, value] of [['loss', total], ['nce', nce], ['triplet', triplet]] as const) {
    g.one('Identity', [value], {}, name);
    g.output(name, 'float32', [1]);
  }
  return g.encode('Kestrel adapter training step (forward, HarMA loss, backward)');
}

/** One tower's adapter forward: x (rows×d) and that tower's and the shared parameters → z. */
export function buildTowerGraph(c: AdapterConfig): Uint8Array {
  const g = new GraphBuilder('kestrel_adapter_tower');
  const o = new Ops(g);
  const d = c.dim;
  const shapes = paramShapes(c);
  const x = g.input('x', 'float32', ['N', d]);
  // The image tower's shapes stand for both: the towers' parameters are shaped alike.
  const t = declareGroup(g, shapes, 'image', towerInputName);
  const sh = declareGroup(g, shapes, 'shared', towerInputName);
  const f = towerForward(o, x, t, sh);
  g.one('Identity', [f.z], {}, 'z');
  g.output('z', 'float32', ['N', d]);
  return g.encode('Kestrel adapter forward (one tower)');
}

/**
 * Checkpoint layouts → Kestrel's canonical parameters. Each layout says, for every weight the graph
 * needs, which tensors of the file hold it, what shape they must have for the chosen architecture, and
 * how they become the canonical form (`x @ W` matrices, q/k/v packed). Nothing is read here except the
 * table of names, shapes and dtypes; the values are read one tensor at a time while the graph is written.
 *
 * Canonical names: `{v|t}.…` for the vision and text towers; per block `{v|t}.b{i}.…`.
 */
import { KestrelError } from '../../../contract/index.js';
import type { ClipSpec } from './architectures.js';
import { isSupportedDtype, type Checkpoint, type TensorInfo } from './checkpoint.js';

export type Layout = 'open_clip' | 'hf' | 'harma';

export interface Source {
  key: string;
  shape: number[];
}

export interface Param {
  /** Canonical shape, after the transform. */
  shape: number[];
  sources: Source[];
  /** copy; transpose (2-D, out × in → in × out); qkv: three out × in matrices → in × 3·out; concat: 1-D. */
  transform: 'copy' | 'transpose' | 'qkv' | 'concat';
}

/** HarMA's adapter sizes, read from the weights (128 / 64 wide in the released models). */
export interface AdapterSpec {
  width: number;
  heads: number;
  mmsWidth: number;
  mmsHeads: number;
}

export interface LayoutPlan {
  layout: Layout;
  params: Map<string, Param>;
  adapter?: AdapterSpec;
  /** File tensors that are known and not needed (logit_scale, temp, position_ids…). */
  ignored: string[];
}

/** HarMA: 8 heads in both adapter attentions (the widths come from the weights). */
export const HARMA_HEADS = 8;

const IGNORABLE = [/^logit_scale$/, /^logit_bias$/, /^temp$/, /position_ids$/, /^attn_mask$/, /^visual\.transformer\.resblocks\.\d+\.mmadapter\.BiShareAdapterxx\./];

class PlanBuilder {
  readonly params = new Map<string, Param>();
  add(name: string, shape: number[], transform: Param['transform'], sources: Source[]): void {
    this.params.set(name, { shape, sources, transform });
  }
  copy(name: string, key: string, shape: number[]): void {
    this.add(name, shape, 'copy', [{ key, shape }]);
  }
  /** A PyTorch Linear weight (out × in) used as `x @ W` (in × out). */
  linear(name: string, key: string, inDim: number, outDim: number): void {
    this.add(name, [inDim, outDim], 'transpose', [{ key, shape: [outDim, inDim] }]);
  }
  layerNorm(name: string, prefix: string, width: number): void {
    this.copy(`${name}.w`, `${prefix}.weight`, [width]);
    this.copy(`${name}.b`, `${prefix}.bias`, [width]);
  }
  /** nn.MultiheadAttention's packed projections. */
  packedAttention(name: string, prefix: string, width: number): void {
    this.linear(`${name}.in_w`, `${prefix}.in_proj_weight`, width, 3 * width);
    this.copy(`${name}.in_b`, `${prefix}.in_proj_bias`, [3 * width]);
    this.linear(`${name}.out_w`, `${prefix}.out_proj.weight`, width, width);
    this.copy(`${name}.out_b`, `${prefix}.out_proj.bias`, [width]);
  }
}

/** One residual block: our parameter names, the checkpoint's key prefix and the block's width. */
interface BlockAt {
  name: string;
  prefix: string;
  width: number;
}

function openClipBlock(p: PlanBuilder, { name, prefix, width }: BlockAt, mlp: number): void {
  p.layerNorm(`${name}.ln1`, `${prefix}.ln_1`, width);
  p.packedAttention(`${name}.attn`, `${prefix}.attn`, width);
  p.layerNorm(`${name}.ln2`, `${prefix}.ln_2`, width);
  p.linear(`${name}.fc_w`, `${prefix}.mlp.c_fc.weight`, width, mlp);
  p.copy(`${name}.fc_b`, `${prefix}.mlp.c_fc.bias`, [mlp]);
  p.linear(`${name}.proj_w`, `${prefix}.mlp.c_proj.weight`, mlp, width);
  p.copy(`${name}.proj_b`, `${prefix}.mlp.c_proj.bias`, [width]);
}

function harmaAdapter(p: PlanBuilder, { name, prefix, width }: BlockAt, a: AdapterSpec, text: boolean): void {
  p.copy(`${name}.gate`, `${prefix}.gate1`, []);
  const m = `${prefix}.mmadapter`;
  p.copy(`${name}.mga.gate`, `${m}.gate1`, []);
  p.linear(`${name}.mga.down_w`, `${m}.img_proj_down.weight`, width, a.width);
  p.copy(`${name}.mga.down_b`, `${m}.img_proj_down.bias`, [a.width]);
  p.packedAttention(`${name}.mga.attn`, `${m}.multihead_attention`, a.width);
  p.linear(`${name}.mga.up_w`, `${m}.img_proj_up.weight`, a.width, width);
  p.copy(`${name}.mga.up_b`, `${m}.img_proj_up.bias`, [width]);
  if (!text) return;
  const s = `${m}.BiShareAdapterxx`;
  p.copy(`${name}.mms.gate`, `${s}.gate1`, []);
  p.linear(`${name}.mms.l1_w`, `${s}.l1.weight`, a.width, a.mmsWidth);
  p.copy(`${name}.mms.l1_b`, `${s}.l1.bias`, [a.mmsWidth]);
  p.packedAttention(`${name}.mms.attn`, `${s}.multihead_attention1`, a.mmsWidth);
  p.linear(`${name}.mms.l2_w`, `${s}.l2.weight`, a.mmsWidth, a.width);
  p.copy(`${name}.mms.l2_b`, `${s}.l2.bias`, [a.width]);
}

function openClipPlan(s: ClipSpec, adapter?: AdapterSpec): PlanBuilder {
  const p = new PlanBuilder();
  const v = s.vision;
  const grid = v.imageSize / v.patchSize;
  p.copy('v.conv_w', 'visual.conv1.weight', [v.width, 3, v.patchSize, v.patchSize]);
  p.copy('v.cls', 'visual.class_embedding', [v.width]);
  p.copy('v.pos', 'visual.positional_embedding', [grid * grid + 1, v.width]);
  p.layerNorm('v.ln_pre', 'visual.ln_pre', v.width);
  for (let i = 0; i < v.layers; i++) {
    const prefix = `visual.transformer.resblocks.${i}`;
    openClipBlock(p, { name: `v.b${i}`, prefix, width: v.width }, v.mlpWidth);
    if (adapter) harmaAdapter(p, { name: `v.b${i}`, prefix, width: v.width }, adapter, false);
  }
  p.layerNorm('v.ln_post', 'visual.ln_post', v.width);
  p.copy('v.proj', 'visual.proj', [v.width, s.embedDim]);
  const t = s.text;
  p.copy('t.tok', 'token_embedding.weight', [t.vocabSize, t.width]);
  p.copy('t.pos', 'positional_embedding', [t.contextLength, t.width]);
  for (let i = 0; i < t.layers; i++) {
    const prefix = `transformer.resblocks.${i}`;
    openClipBlock(p, { name: `t.b${i}`, prefix, width: t.width }, t.mlpWidth);
    if (adapter) harmaAdapter(p, { name: `t.b${i}`, prefix, width: t.width }, adapter, true);
  }
  p.layerNorm('t.ln_final', 'ln_final', t.width);
  p.copy('t.proj', 'text_projection', [t.width, s.embedDim]);
  return p;
}

function hfPlan(s: ClipSpec): PlanBuilder {
  const p = new PlanBuilder();
  const block = (name: string, prefix: string, width: number, mlp: number): void => {
    p.layerNorm(`${name}.ln1`, `${prefix}.layer_norm1`, width);
    const a = `${prefix}.self_attn`;
    p.add(`${name}.attn.in_w`, [width, 3 * width], 'qkv', ['q', 'k', 'v'].map((x) => ({ key: `${a}.${x}_proj.weight`, shape: [width, width] })));
    p.add(`${name}.attn.in_b`, [3 * width], 'concat', ['q', 'k', 'v'].map((x) => ({ key: `${a}.${x}_proj.bias`, shape: [width] })));
    p.linear(`${name}.attn.out_w`, `${a}.out_proj.weight`, width, width);
    p.copy(`${name}.attn.out_b`, `${a}.out_proj.bias`, [width]);
    p.layerNorm(`${name}.ln2`, `${prefix}.layer_norm2`, width);
    p.linear(`${name}.fc_w`, `${prefix}.mlp.fc1.weight`, width, mlp);
    p.copy(`${name}.fc_b`, `${prefix}.mlp.fc1.bias`, [mlp]);
    p.linear(`${name}.proj_w`, `${prefix}.mlp.fc2.weight`, mlp, width);
    p.copy(`${name}.proj_b`, `${prefix}.mlp.fc2.bias`, [width]);
  };
  const v = s.vision;
  const grid = v.imageSize / v.patchSize;
  p.copy('v.conv_w', 'vision_model.embeddings.patch_embedding.weight', [v.width, 3, v.patchSize, v.patchSize]);
  p.copy('v.cls', 'vision_model.embeddings.class_embedding', [v.width]);
  p.copy('v.pos', 'vision_model.embeddings.position_embedding.weight', [grid * grid + 1, v.width]);
  p.layerNorm('v.ln_pre', 'vision_model.pre_layrnorm', v.width);
  for (let i = 0; i < v.layers; i++) block(`v.b${i}`, `vision_model.encoder.layers.${i}`, v.width, v.mlpWidth);
  p.layerNorm('v.ln_post', 'vision_model.post_layernorm', v.width);
  p.linear('v.proj', 'visual_projection.weight', v.width, s.embedDim);
  const t = s.text;
  p.copy('t.tok', 'text_model.embeddings.token_embedding.weight', [t.vocabSize, t.width]);
  p.copy('t.pos', 'text_model.embeddings.position_embedding.weight', [t.contextLength, t.width]);
  for (let i = 0; i < t.layers; i++) block(`t.b${i}`, `text_model.encoder.layers.${i}`, t.width, t.mlpWidth);
  p.layerNorm('t.ln_final', 'text_model.final_layer_norm', t.width);
  p.linear('t.proj', 'text_projection.weight', t.width, s.embedDim);
  return p;
}

/** Which layout the tensor names look like. */
export function detectLayout(names: Iterable<string>): Layout | undefined {
  let openClip = false;
  let hf = false;
  let harma = false;
  for (const n of names) {
    if (n.startsWith('vision_model.') || n.startsWith('text_model.')) hf = true;
    if (n.startsWith('visual.') || n.startsWith('transformer.resblocks.')) openClip = true;
    if (n.includes('.mmadapter.')) harma = true;
  }
  if (harma) return 'harma';
  if (hf) return 'hf';
  if (openClip) return 'open_clip';
  return undefined;
}

/** The architecture the weights themselves describe (heads assumed 64 wide, as in every CLIP ViT). */
export function inferSpec(ck: Checkpoint, layout: Layout): ClipSpec | undefined {
  const shape = (k: string): number[] | undefined => ck.tensors.get(k)?.shape;
  const count = (re: RegExp): number => new Set([...ck.tensors.keys()].map((k) => re.exec(k)?.[1]).filter((x) => x !== undefined)).size;
  const hf = layout === 'hf';
  const conv = shape(hf ? 'vision_model.embeddings.patch_embedding.weight' : 'visual.conv1.weight');
  const pos = shape(hf ? 'vision_model.embeddings.position_embedding.weight' : 'visual.positional_embedding');
  const tok = shape(hf ? 'text_model.embeddings.token_embedding.weight' : 'token_embedding.weight');
  const tpos = shape(hf ? 'text_model.embeddings.position_embedding.weight' : 'positional_embedding');
  const proj = shape(hf ? 'visual_projection.weight' : 'visual.proj');
  const fc = shape(hf ? 'vision_model.encoder.layers.0.mlp.fc1.weight' : 'visual.transformer.resblocks.0.mlp.c_fc.weight');
  const tfc = shape(hf ? 'text_model.encoder.layers.0.mlp.fc1.weight' : 'transformer.resblocks.0.mlp.c_fc.weight');
  if (!conv || !pos || !tok || !tpos || !proj || !fc || !tfc || conv.length !== 4) return undefined;
  const [vw = 0, , patch = 0] = conv;
  const grid = Math.round(Math.sqrt((pos[0] ?? 1) - 1));
  const tw = tok[1] ?? 0;
  const embed = hf ? (proj[0] ?? 0) : (proj[1] ?? 0);
  const vLayers = count(hf ? /^vision_model\.encoder\.layers\.(\d+)\./ : /^visual\.transformer\.resblocks\.(\d+)\./);
  const tLayers = count(hf ? /^text_model\.encoder\.layers\.(\d+)\./ : /^transformer\.resblocks\.(\d+)\./);
  return {
    name: 'inferred',
    embedDim: embed,
    vision: { imageSize: grid * patch, patchSize: patch, width: vw, layers: vLayers, heads: Math.max(1, Math.round(vw / 64)), mlpWidth: fc[0] ?? 0 },
    text: { contextLength: tpos[0] ?? 77, vocabSize: tok[0] ?? 49408, width: tw, layers: tLayers, heads: Math.max(1, Math.round(tw / 64)), mlpWidth: tfc[0] ?? 0 },
    layerNormEps: 1e-5,
  };
}

function inferAdapter(ck: Checkpoint): AdapterSpec | undefined {
  const down = ck.tensors.get('visual.transformer.resblocks.0.mmadapter.img_proj_down.weight') ?? ck.tensors.get('transformer.resblocks.0.mmadapter.img_proj_down.weight');
  const l1 = ck.tensors.get('transformer.resblocks.0.mmadapter.BiShareAdapterxx.l1.weight');
  if (!down) return undefined;
  const width = down.shape[0] ?? 128;
  return { width, heads: HARMA_HEADS, mmsWidth: l1?.shape[0] ?? width / 2, mmsHeads: HARMA_HEADS };
}

const fmt = (s: number[]): string => (s.length ? s.join('×') : 'a scalar');

function listSome(items: string[], n = 6): string {
  return items.length <= n ? items.join('; ') : `${items.slice(0, n).join('; ')}; and ${items.length - n} more`;
}

/** Built only when an import fails: what the weights themselves say their architecture is. */
function architectureHint(ck: Checkpoint, layout: Layout): string {
  const inferred = inferSpec(ck, layout === 'hf' ? 'hf' : 'open_clip');
  return inferred
    ? `The weights look like: image ${inferred.vision.imageSize}px, patch ${inferred.vision.patchSize}, vision ${inferred.vision.layers}×${inferred.vision.width}, text ${inferred.text.layers}×${inferred.text.width}, embedding ${inferred.embedDim}. Choose the Architecture (--arch) with those sizes, leave it on Auto-detect to use them, or pass --config on the command line.`
    : 'Check Architecture and Layout (--arch, --layout) against the model the checkpoint comes from.';
}

/**
 * Maps the checkpoint onto `spec` in `layout`. Refuses, naming tensors, when a tensor has the wrong
 * shape for the architecture, a needed one is missing or not floating point, or the file holds tensors
 * the layout does not know (importing it anyway would silently drop them: adapters, a different model).
 */
export function planLayout(ck: Checkpoint, layout: Layout, spec: ClipSpec, options: { ignoreUnknown?: boolean } = {}): LayoutPlan {
  let adapter: AdapterSpec | undefined;
  if (layout === 'harma') {
    adapter = inferAdapter(ck);
    if (!adapter) {
      throw new KestrelError({
        code: 'invalid_input',
        message: `${ck.file} has no HarMA adapter weights (…resblocks.0.mmadapter.img_proj_down.weight).`,
        file: ck.file,
        hint: 'Import it with Layout open_clip (--layout open_clip), or import the HarMA checkpoint that holds the adapters.',
      });
    }
    if (adapter.width % adapter.heads !== 0 || adapter.mmsWidth % adapter.mmsHeads !== 0) {
      throw new KestrelError({ code: 'invalid_input', message: `${ck.file}: HarMA adapter widths ${adapter.width}/${adapter.mmsWidth} do not divide into ${HARMA_HEADS} heads.`, file: ck.file });
    }
  }
  const builder = layout === 'hf' ? hfPlan(spec) : openClipPlan(spec, adapter);
  const used = new Set<string>();
  const missing: string[] = [];
  const wrongShape: string[] = [];
  const wrongType: string[] = [];
  for (const param of builder.params.values()) {
    for (const src of param.sources) {
      used.add(src.key);
      const t: TensorInfo | undefined = ck.tensors.get(src.key);
      if (!t) missing.push(src.key);
      else if (fmt(t.shape) !== fmt(src.shape)) wrongShape.push(`${src.key} is ${fmt(t.shape)} in the file, ${spec.name} needs ${fmt(src.shape)}`);
      else if (!isSupportedDtype(t.dtype)) wrongType.push(`${src.key} is ${t.dtype}`);
    }
  }
  const ignored: string[] = [];
  const unknown: string[] = [];
  for (const name of ck.tensors.keys()) {
    if (used.has(name)) continue;
    if (IGNORABLE.some((re) => re.test(name))) ignored.push(name);
    else unknown.push(name);
  }
  if (wrongShape.length) {
    throw new KestrelError({
      code: 'invalid_input',
      message: `${ck.file} does not fit architecture ${spec.name}: ${listSome(wrongShape)}.${missing.length ? ` ${missing.length} tensor(s) it needs are missing.` : ''}`,
      file: ck.file,
      hint: architectureHint(ck, layout),
      issues: wrongShape.map((m) => ({ path: m.split(' ')[0] ?? '', message: m })),
    });
  }
  if (missing.length) {
    const other = detectLayout(ck.tensors.keys());
    throw new KestrelError({
      code: 'invalid_input',
      message: `${ck.file} is missing ${missing.length} tensor(s) that layout ${layout} with architecture ${spec.name} needs: ${listSome(missing)}.`,
      file: ck.file,
      hint: other && other !== layout ? `The names look like the ${other} layout: try Layout ${other} (--layout ${other}).` : architectureHint(ck, layout),
      issues: missing.map((k) => ({ path: k, message: 'missing' })),
    });
  }
  if (wrongType.length) {
    throw new KestrelError({
      code: 'invalid_input',
      message: `${ck.file} stores weights in a dtype Kestrel does not import: ${listSome(wrongType)}. Supported: float32, float16, bfloat16, float64.`,
      file: ck.file,
      hint: 'Convert the checkpoint to floating-point weights (quantised checkpoints cannot be imported).',
    });
  }
  if (unknown.length && !options.ignoreUnknown) {
    const harmaLike = unknown.some((k) => k.includes('mmadapter') || k.endsWith('.gate1'));
    throw new KestrelError({
      code: 'invalid_input',
      message: `${ck.file} holds ${unknown.length} tensor(s) that layout ${layout} does not use: ${listSome(unknown)}. Importing would drop them silently.`,
      file: ck.file,
      hint: harmaLike ? 'These are HarMA adapters: use Layout harma (--layout harma).' : 'Check Layout (--layout); if these tensors really are not part of the model, tick "Leave out unknown tensors" (--ignore-unknown).',
      issues: unknown.map((k) => ({ path: k, message: 'not used by the layout' })),
    });
  }
  return { layout, params: builder.params, ignored: [...ignored, ...(options.ignoreUnknown ? unknown : [])], ...(adapter ? { adapter } : {}) };
}

/** Reads one canonical parameter from the checkpoint (float32, canonical layout). */
export function readParam(ck: Checkpoint, p: Param): Float32Array {
  const srcs = p.sources.map((s) => ck.read(s.key));
  switch (p.transform) {
    case 'copy':
      return srcs[0] ?? new Float32Array();
    case 'concat': {
      const out = new Float32Array(srcs.reduce((a, s) => a + s.length, 0));
      let at = 0;
      for (const s of srcs) {
        out.set(s, at);
        at += s.length;
      }
      return out;
    }
    case 'transpose':
    case 'qkv': {
      // sources: out × in each; result: in × (Σ out). Small tiles (8 × 8, measured fastest here) keep
      // both the reads and the writes in cache.
      const [inDim = 0, total = 0] = p.shape;
      const out = new Float32Array(inDim * total);
      const B = 8;
      let col = 0;
      p.sources.forEach((src, k) => {
        const w = srcs[k] ?? new Float32Array();
        const rows = src.shape[0] ?? 0;
        for (let r0 = 0; r0 < rows; r0 += B) {
          const r1 = Math.min(rows, r0 + B);
          for (let c0 = 0; c0 < inDim; c0 += B) {
            const c1 = Math.min(inDim, c0 + B);
            for (let c = c0; c < c1; c++) {
              const o = c * total + col;
              for (let r = r0; r < r1; r++) out[o + r] = w[r * inDim + c] as number;
            }
          }
        }
        col += rows;
      });
      return out;
    }
  }
}

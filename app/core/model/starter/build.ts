/**
 * Builds the starter model pack's two ONNX graphs from the data in concepts.ts, with Kestrel's own
 * graph writer. The image tower measures the chip (features), applies the gates and multiplies each
 * concept's gates; the text tower looks each token up in the vocabulary, flips the sign after a
 * negation word, and sums.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { GraphBuilder } from '../onnx-graph.js';
import { ClipTokenizer, END_OF_TEXT, START_OF_TEXT } from '../tokenizer/index.js';
import { clipVocabularyPath } from '../resources.js';
import { BUILTIN_CLIP_VOCABULARY, type ModelPackManifest } from '../manifest.js';
import { CONCEPTS, FEATURES, GATES, NEGATIONS, OTHER_LEVEL, VOCABULARY } from './concepts.js';

export const STARTER_IMAGE_SIZE = 224;
export const STARTER_EMBEDDING = CONCEPTS.length + 1;
const CONTEXT = 77;

export function buildImageTower(): Uint8Array {
  const g = new GraphBuilder('kestrel-starter-image');
  const x = g.input('pixel_values', 'float32', ['batch', 3, STARTER_IMAGE_SIZE, STARTER_IMAGE_SIZE]);
  const [r, gr, b] = g.op('Split', [x], { axis: 1 }, { outputs: 3 }) as [string, string, string];
  const third = g.floats([1 / 3], []);
  const L = g.one('Mul', [g.one('Add', [g.one('Add', [r, gr]), b]), third]);
  const S = g.one('Sub', [g.one('Max', [r, gr, b]), g.one('Min', [r, gr, b])]);
  const greenness = g.one('Sub', [gr, g.one('Max', [r, b])]);
  const bmr = g.one('Sub', [b, r]);
  const pool = (plane: string, k: number): string =>
    g.one('AveragePool', [plane], { kernel_shape: [k, k], pads: [k >> 1, k >> 1, k >> 1, k >> 1], strides: [1, 1], count_include_pad: 0 });
  const texture = pool(g.one('Abs', [g.one('Sub', [L, pool(L, 5)])]), 5);
  // Sobel, scaled by 1/4 so a full black-to-white step has magnitude 1.
  const sobel = g.floats([-1, 0, 1, -2, 0, 2, -1, 0, 1, -1, -2, -1, 0, 0, 0, 1, 2, 1].map((v) => v / 4), [2, 1, 3, 3], 'sobel');
  const grad = g.one('Conv', [L, sobel], { pads: [1, 1, 1, 1] });
  const mag2 = g.one('ReduceSum', [g.one('Mul', [grad, grad]), g.ints([1], [1])], { keepdims: 1 });
  const edges = pool(g.one('Cast', [g.one('Greater', [mag2, g.floats([0.01], [])])], { to: 1 }), 9);
  const planes: Record<(typeof FEATURES)[number], string> = {
    red: r,
    green: gr,
    blue: b,
    brightness: L,
    saturation: S,
    greenness,
    blueMinusRed: bmr,
    texture,
    edges,
  };
  const features = g.one('Concat', FEATURES.map((f) => planes[f]), { axis: 1 }); // [batch, F, H, W]

  // Gates, per pixel: z = steepness · ±(feature − threshold), a 1×1 convolution with one output
  // channel per gate.
  const J = GATES.length;
  const F = FEATURES.length;
  const D = CONCEPTS.length;
  const w = new Float32Array(J * F);
  const bias = new Float32Array(J);
  const member = new Float32Array(D * J);
  GATES.forEach((gate, j) => {
    const sign = gate.when === 'above' ? 1 : -1;
    w[j * F + FEATURES.indexOf(gate.feature)] = sign * gate.steepness;
    bias[j] = -sign * gate.steepness * gate.threshold;
    member[CONCEPTS.indexOf(gate.concept) * J + j] = 1;
  });
  const z = g.one('Conv', [features, g.floats(w, [J, F, 1, 1], 'gate_w'), g.floats(bias, [J], 'gate_b')]);
  const logGates = g.one('Log', [g.one('Max', [g.one('Sigmoid', [z]), g.floats([1e-30], [])])]);
  // A pixel belongs to a concept as much as all its gates hold: the product, as exp(Σ log gate).
  const membership = g.one('Exp', [g.one('Conv', [logGates, g.floats(member, [D, J, 1, 1], 'membership')])]); // [batch, D, H, W]
  // The chip's value for a concept: the share of its pixels that belong to it.
  const concepts = g.one('ReduceMean', [membership], { axes: [2, 3], keepdims: 0 }); // [batch, D]
  const means = [g.one('ReduceMean', [r], { axes: [2, 3], keepdims: 0 })];
  const other = g.one('Add', [g.one('Mul', [means[0]!, g.floats([0], [])]), g.floats([OTHER_LEVEL], [])]);
  g.one('Concat', [concepts, other], { axis: 1 }, 'image_embeds');
  g.output('image_embeds', 'float32', ['batch', STARTER_EMBEDDING]);
  return g.encode('Kestrel starter model, image tower: chip statistics → land-cover concepts (docs/starter-model.md)');
}

/** The single token each vocabulary word is; a word that tokenizes to several tokens is refused. */
export function vocabularyTokens(tokenizer: ClipTokenizer): { word: string; token: number }[] {
  return Object.keys(VOCABULARY).map((word) => {
    const ids = tokenizer.encode(word);
    if (ids.length !== 1) throw new Error(`Starter vocabulary word "${word}" is ${ids.length} CLIP tokens; only single-token words are supported.`);
    return { word, token: ids[0]! };
  });
}

export function buildTextTower(tokenizer: ClipTokenizer): Uint8Array {
  const g = new GraphBuilder('kestrel-starter-text');
  const ids = g.input('input_ids', 'int64', ['batch', CONTEXT]);
  const words = vocabularyTokens(tokenizer);
  const table = new Float32Array(words.length * STARTER_EMBEDDING);
  words.forEach(({ word }, k) => {
    for (const [concept, weight] of Object.entries(VOCABULARY[word]!)) table[k * STARTER_EMBEDDING + CONCEPTS.indexOf(concept as (typeof CONCEPTS)[number])] = weight;
  });
  const negations = NEGATIONS.map((w) => {
    const t = tokenizer.encode(w);
    if (t.length !== 1) throw new Error(`Negation word "${w}" is not a single CLIP token.`);
    return t[0]!;
  });
  const ids3 = g.one('Unsqueeze', [ids, g.ints([2], [1])]); // [batch, 77, 1]
  const hits = g.one('Cast', [g.one('Equal', [ids3, g.ints(words.map((w) => w.token), [words.length], 'known')])], { to: 1 }); // [batch, 77, K]
  const vectors = g.one('MatMul', [hits, g.floats(table, [words.length, STARTER_EMBEDDING], 'concepts')]); // [batch, 77, D]
  const neg = g.one('ReduceMax', [g.one('Cast', [g.one('Equal', [ids3, g.ints(negations, [negations.length], 'negations')])], { to: 1 })], { axes: [2], keepdims: 0 });
  // The word after a negation word is negated: shift the flags one position right.
  const shifted = g.one('Slice', [g.one('Pad', [neg, g.ints([0, 1, 0, 0], [4])]), g.ints([0], [1]), g.ints([CONTEXT], [1]), g.ints([1], [1])]);
  const sign = g.one('Sub', [g.floats([1], []), g.one('Mul', [shifted, g.floats([2], [])])]);
  const signed = g.one('Mul', [vectors, g.one('Unsqueeze', [sign, g.ints([2], [1])])]);
  g.one('ReduceSum', [signed, g.ints([1], [1])], { keepdims: 0 }, 'text_embeds');
  g.output('text_embeds', 'float32', ['batch', STARTER_EMBEDDING]);
  return g.encode('Kestrel starter model, text tower: vocabulary words → land-cover concepts (docs/starter-model.md)');
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

export function starterManifest(image: Uint8Array, text: Uint8Array, words: string[]): ModelPackManifest {
  return {
    format: 'kestrel-model-pack',
    formatVersion: 1,
    name: 'Kestrel starter (land cover from colour and texture)',
    licence: 'Apache-2.0 (Kestrel; no trained weights: every number is hand-set in app/core/model/starter/concepts.ts)',
    provenance: {
      source: 'built by Kestrel (tools/build-starter-model.ts) from app/core/model/starter',
      kind: 'starter',
      concepts: [...CONCEPTS, 'other'],
      vocabulary: words,
      negations: NEGATIONS,
    },
    architecture: { family: 'open_clip', name: 'kestrel-starter-v1', activation: 'gelu', note: 'not a neural network: chip statistics and a word table' },
    embeddingSize: STARTER_EMBEDDING,
    image: {
      file: 'image.onnx',
      input: 'pixel_values',
      output: 'image_embeds',
      size: STARTER_IMAGE_SIZE,
      // The graph reads plain RGB in [0, 1].
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: 'direct',
      interpolation: 'bicubic',
    },
    text: {
      file: 'text.onnx',
      input: 'input_ids',
      output: 'text_embeds',
      contextLength: CONTEXT,
      tokenizer: { kind: 'clip-bpe', files: { vocabulary: BUILTIN_CLIP_VOCABULARY } },
    },
    files: { 'image.onnx': sha256(image), 'text.onnx': sha256(text) },
  };
}

/** Writes the pack into `dir` (replacing it whole: built beside it, then renamed). */
export async function writeStarterPack(dir: string): Promise<void> {
  const tokenizer = ClipTokenizer.fromFile(clipVocabularyPath());
  const image = buildImageTower();
  const text = buildTextTower(tokenizer);
  const manifest = starterManifest(image, text, vocabularyTokens(tokenizer).map((w) => w.word));
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await writeFile(join(tmp, 'image.onnx'), image);
  await writeFile(join(tmp, 'text.onnx'), text);
  await writeFile(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

export { START_OF_TEXT, END_OF_TEXT };

/**
 * Synthetic cross-modal embeddings with structure, for tuning tests and the benchmark: images and
 * captions share a latent point (clustered by class, like scene categories), each modality adds its
 * own noise, and the text side is distorted by a known map, a random rotation of `rotateDims`
 * coordinates plus a bias, so the base model is misaligned in a way an adapter can undo.
 */
import { gaussian } from '../../app/core/tune/adapter.js';
import { permutation, type TuningData } from '../../app/core/tune/train.js';

export interface SyntheticOptions {
  images: number;
  captionsPerImage: number;
  dim: number;
  classes: number;
  /** Spread of images around their class centre (relative to the centre's norm 1). */
  spread: number;
  imageNoise: number;
  textNoise: number;
  /** Coordinates rotated by a random orthogonal map (0: none). */
  rotateDims: number;
  /** Norm of the bias added to the text side after rotation. */
  bias: number;
  /** Assign every caption to a random image instead of its own (the leakage control). */
  shufflePairs: boolean;
  seed: number;
}

function normalizeRows(a: Float32Array, dim: number): void {
  for (let r = 0; r < a.length / dim; r++) {
    let s = 0;
    for (let i = 0; i < dim; i++) s += a[r * dim + i]! ** 2;
    const inv = 1 / Math.sqrt(s || 1);
    for (let i = 0; i < dim; i++) a[r * dim + i]! *= inv;
  }
}

/** A random k×k orthogonal matrix (Gram–Schmidt on Gaussian columns). */
export function randomRotation(k: number, seed: number): Float64Array {
  const g = gaussian(seed);
  const q = new Float64Array(k * k);
  for (let c = 0; c < k; c++) {
    const v = new Float64Array(k);
    for (let i = 0; i < k; i++) v[i] = g();
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let i = 0; i < k; i++) dot += v[i]! * q[i * k + p]!;
      for (let i = 0; i < k; i++) v[i]! -= dot * q[i * k + p]!;
    }
    let n = 0;
    for (let i = 0; i < k; i++) n += v[i]! ** 2;
    n = Math.sqrt(n);
    for (let i = 0; i < k; i++) q[i * k + c] = v[i]! / n;
  }
  return q;
}

export function syntheticTuningData(opts: Partial<SyntheticOptions> = {}): TuningData {
  const o: SyntheticOptions = {
    images: 400, captionsPerImage: 5, dim: 32, classes: 20, spread: 1, imageNoise: 0.3, textNoise: 0.3,
    rotateDims: 0, bias: 0, shufflePairs: false, seed: 1, ...opts,
  };
  const { dim: d } = o;
  const g = gaussian(o.seed);
  const centres = new Float32Array(o.classes * d).map(() => g());
  normalizeRows(centres, d);
  const latent = new Float32Array(o.images * d);
  for (let i = 0; i < o.images; i++) {
    const c = i % o.classes;
    for (let j = 0; j < d; j++) latent[i * d + j] = centres[c * d + j]! + (o.spread / Math.sqrt(d)) * g();
  }
  normalizeRows(latent, d);
  const images = new Float32Array(o.images * d);
  for (let k = 0; k < images.length; k++) images[k] = latent[k]! + (o.imageNoise / Math.sqrt(d)) * g();
  normalizeRows(images, d);
  const M = o.images * o.captionsPerImage;
  const texts = new Float32Array(M * d);
  const textImage = new Int32Array(M);
  for (let j = 0; j < M; j++) {
    const i = Math.floor(j / o.captionsPerImage);
    textImage[j] = i;
    for (let k = 0; k < d; k++) texts[j * d + k] = latent[i * d + k]! + (o.textNoise / Math.sqrt(d)) * g();
  }
  normalizeRows(texts, d);
  if (o.rotateDims > 0 || o.bias > 0) {
    const k = o.rotateDims;
    const R = k > 0 ? randomRotation(k, o.seed + 17) : new Float64Array(0);
    const b = new Float32Array(d).map(() => g());
    normalizeRows(b, d);
    const tmp = new Float64Array(k);
    for (let j = 0; j < M; j++) {
      const row = texts.subarray(j * d, (j + 1) * d);
      for (let r = 0; r < k; r++) {
        let s = 0;
        for (let c = 0; c < k; c++) s += R[r * k + c]! * row[c]!;
        tmp[r] = s;
      }
      for (let r = 0; r < k; r++) row[r] = tmp[r]!;
      for (let c = 0; c < d; c++) row[c]! += o.bias * b[c]!;
    }
    normalizeRows(texts, d);
  }
  if (o.shufflePairs) {
    const p = permutation(M, o.seed + 99);
    const shuffled = Int32Array.from(p, (j) => textImage[j]!);
    textImage.set(shuffled);
  }
  return { dim: d, images, texts, textImage };
}

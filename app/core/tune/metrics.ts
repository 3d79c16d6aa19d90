/**
 * Retrieval metrics with the RSITMD / RSICD protocol. Every caption belongs to one image; every image
 * has one or more captions.
 *
 *   image→text R@K: the fraction of images for which at least one of their captions ranks in the
 *                   top K of all captions;
 *   text→image R@K: the fraction of captions whose image ranks in the top K of all images;
 *   mR:             the mean of the six recalls.
 *
 * Recalls are fractions in [0, 1] (the papers print them ×100). Ties count against the query: an
 * item is at rank r when r other items score at least as high (so a constant scorer finds nothing).
 */
import { type Arr, type MatMul } from './matmul.js';

export interface RetrievalMetrics {
  imageToText: { r1: number; r5: number; r10: number };
  textToImage: { r1: number; r5: number; r10: number };
  mR: number;
  images: number;
  captions: number;
}

/**
 * From a caption × image score matrix (M×N, row-major) and each caption's image (0 … N−1).
 */
export function retrievalFromScores(scores: ArrayLike<number>, textImage: Int32Array, images: number): RetrievalMetrics {
  const M = textImage.length;
  const N = images;
  if (scores.length !== M * N) throw new Error(`scores has ${scores.length} values; ${M} captions × ${N} images expected.`);
  // text → image: how many other images score ≥ the caption's own image.
  const t2i = [0, 0, 0];
  for (let j = 0; j < M; j++) {
    const own = textImage[j]!;
    const target = scores[j * N + own]!;
    let rank = 0;
    for (let i = 0; i < N; i++) if (i !== own && scores[j * N + i]! >= target) rank++;
    if (rank < 1) t2i[0]!++;
    if (rank < 5) t2i[1]!++;
    if (rank < 10) t2i[2]!++;
  }
  // image → text: the best-scored own caption against every caption of other images.
  const best = new Float64Array(N).fill(-Infinity);
  const hasCaption = new Uint8Array(N);
  const i2t = [0, 0, 0];
  for (let j = 0; j < M; j++) {
    const i = textImage[j]!;
    hasCaption[i] = 1;
    const v = scores[j * N + i]!;
    if (v > best[i]!) best[i] = v;
  }
  let withCaptions = 0;
  for (let i = 0; i < N; i++) {
    if (!hasCaption[i]) continue;
    withCaptions++;
    let rank = 0;
    for (let j = 0; j < M; j++) if (textImage[j] !== i && scores[j * N + i]! >= best[i]!) rank++;
    if (rank < 1) i2t[0]!++;
    if (rank < 5) i2t[1]!++;
    if (rank < 10) i2t[2]!++;
  }
  const f = (x: number, n: number): number => (n > 0 ? x / n : 0);
  const imageToText = { r1: f(i2t[0]!, withCaptions), r5: f(i2t[1]!, withCaptions), r10: f(i2t[2]!, withCaptions) };
  const textToImage = { r1: f(t2i[0]!, M), r5: f(t2i[1]!, M), r10: f(t2i[2]!, M) };
  const mR = (imageToText.r1 + imageToText.r5 + imageToText.r10 + textToImage.r1 + textToImage.r5 + textToImage.r10) / 6;
  return { imageToText, textToImage, mR, images: N, captions: M };
}

/** Embedded pairs: N×dim images, M×dim captions (normalised), the image of each caption. */
export interface EmbeddedPairs {
  imageEmb: Arr;
  textEmb: Arr;
  textImage: Int32Array;
  dim: number;
}

/** From embeddings (N×d images, M×d captions, normalised): scores are cosines. */
export async function retrievalMetrics({ imageEmb, textEmb, textImage, dim }: EmbeddedPairs, mm: MatMul): Promise<RetrievalMetrics> {
  const N = imageEmb.length / dim;
  const M = textEmb.length / dim;
  const scores = await mm.mm(textEmb, imageEmb, { m: M, k: dim, n: N, tb: true });
  return retrievalFromScores(scores, textImage, N);
}

/** The expected mR of a random ranking (ties aside): what "chance" means for a leakage test. */
export function chanceMR(captionsPerImage: number[], ks: number[] = [1, 5, 10]): number {
  const N = captionsPerImage.length;
  const M = captionsPerImage.reduce((a, b) => a + b, 0);
  let sum = 0;
  for (const K of ks) {
    // text→image: own image among the top K of N.
    sum += Math.min(1, K / N);
    // image→text: at least one of c own captions among the top K of M (hypergeometric).
    // Images without captions are not queries (as in retrievalFromScores).
    let acc = 0;
    let queries = 0;
    for (const c of captionsPerImage) {
      if (c === 0) continue;
      queries++;
      let miss = 1;
      for (let t = 0; t < K; t++) miss *= Math.max(0, M - c - t) / (M - t);
      acc += 1 - miss;
    }
    sum += queries > 0 ? acc / queries : 0;
  }
  return sum / (2 * ks.length);
}

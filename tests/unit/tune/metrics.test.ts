import { describe, expect, it } from 'vitest';
import { chanceMR, retrievalFromScores, retrievalMetrics } from '../../../app/core/tune/metrics.js';
import { tsMatMul } from '../../../app/core/tune/matmul.js';

describe('retrieval metrics (RSITMD/RSICD protocol)', () => {
  it('matches a hand-computed case with several captions per image', () => {
    // 3 images; captions 0,1 → image 0; 2 → image 1; 3,4 → image 2. Rows: captions; columns: images.
    const textImage = Int32Array.from([0, 0, 1, 2, 2]);
    // prettier-ignore
    const scores = [
      0.9, 0.1, 0.0,   // c0 (img 0): own image first               → t2i rank 0
      0.2, 0.5, 0.3,   // c1 (img 0): two images above its own      → rank 2
      0.3, 0.8, 0.1,   // c2 (img 1): first                         → rank 0
      0.7, 0.6, 0.4,   // c3 (img 2): last                          → rank 2
      0.1, 0.2, 0.6,   // c4 (img 2): first                         → rank 0
    ];
    // image→text, by hand: column of image 0 = [.9,.2,.3,.7,.1]: best own caption c0 (.9) ranks first → rank 0.
    // image 1 column = [.1,.5,.8,.6,.2]: own c2 (.8) first → rank 0.
    // image 2 column = [0,.3,.1,.4,.6]: best own c4 (.6) first → rank 0.
    const m = retrievalFromScores(scores, textImage, 3);
    expect(m.imageToText).toEqual({ r1: 1, r5: 1, r10: 1 });
    // text→image R@1: c0, c2, c4 of 5; R@5 and R@10: all (rank 2 < 5).
    expect(m.textToImage).toEqual({ r1: 3 / 5, r5: 1, r10: 1 });
    expect(m.mR).toBeCloseTo((1 + 1 + 1 + 0.6 + 1 + 1) / 6, 12);
  });

  it('counts an image as found through any of its captions, and ties against the query', () => {
    // 12 images with one caption each except image 0 (two captions). Image 0's captions score
    // 0.5 (c0) and 0.95 (c1); eleven other captions score 0.9 … 0.4 for image 0.
    const N = 12;
    const textImage = Int32Array.from([0, 0, ...Array.from({ length: 11 }, (_, i) => i + 1)]);
    const M = textImage.length;
    const scores = new Float64Array(M * N);
    for (let j = 0; j < M; j++) for (let i = 0; i < N; i++) scores[j * N + i] = textImage[j] === i ? 1 : 0;
    scores[0 * N + 0] = 0.5;
    scores[1 * N + 0] = 0.95;
    for (let j = 2; j < M; j++) scores[j * N + 0] = 0.9 - 0.05 * (j - 2);
    let m = retrievalFromScores(scores, textImage, N);
    // Image 0: best own caption 0.95 beats everything → found at rank 0.
    expect(m.imageToText.r1).toBe(1);
    // Now the best own caption drops to 0.7: captions scoring 0.9, 0.85, 0.8, 0.75, 0.7 (tie) rank above → rank 5.
    scores[1 * N + 0] = 0.7;
    m = retrievalFromScores(scores, textImage, N);
    expect(m.imageToText.r1).toBeCloseTo(11 / 12, 12);
    expect(m.imageToText.r5).toBeCloseTo(11 / 12, 12);
    expect(m.imageToText.r10).toBe(1);
    // A constant scorer finds nothing at R@1 (ties count against).
    const flat = retrievalFromScores(new Float64Array(M * N).fill(0.3), textImage, N);
    expect(flat.imageToText.r1).toBe(0);
    expect(flat.textToImage.r1).toBe(0);
  });

  it('computes the same numbers from embeddings as from the cosine matrix', async () => {
    const d = 4;
    const imgs = Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
    const txts = Float32Array.from([0.8, 0.6, 0, 0, 0, 0.6, 0.8, 0, 0, 0, 0.6, 0.8, 0.6, 0, 0.8, 0]);
    const textImage = Int32Array.from([0, 1, 2, 0]);
    const scores: number[] = [];
    for (let j = 0; j < 4; j++) for (let i = 0; i < 3; i++) scores.push([0, 1, 2, 3].reduce((s, k) => s + txts[j * d + k]! * imgs[i * d + k]!, 0));
    expect(await retrievalMetrics({ imageEmb: imgs, textEmb: txts, textImage, dim: d }, tsMatMul)).toEqual(retrievalFromScores(scores, textImage, 3));
  });

  it('gives the chance level of a random ranking', () => {
    // One caption per image: R@K = K/N in both directions.
    expect(chanceMR([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])).toBeCloseTo((1 + 5 + 10) / 3 / 20, 12);
    // Empirically: random scores on 50 images × 5 captions average to the formula.
    const N = 50;
    const textImage = Int32Array.from({ length: 250 }, (_, j) => Math.floor(j / 5));
    let sum = 0;
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const trials = 40;
    for (let t = 0; t < trials; t++) sum += retrievalFromScores(Float64Array.from({ length: 250 * N }, rand), textImage, N).mR;
    expect(sum / trials).toBeCloseTo(chanceMR(Array(N).fill(5)), 2);
  });
});

/**
 * Evaluating a model (and optionally an adapter) on a caption file: match the file's images to the
 * image files at hand, embed the matched images and their captions, and compute the RSITMD/RSICD
 * retrieval metrics. The embedder is a parameter (the model runtime in the CLI, a fake in tests).
 */
import { KestrelError } from '../../contract/index.js';
import { matchCaptions, type CaptionMatchReport, type CaptionSet } from '../captions/index.js';
import type { AdapterConfig, Params } from './adapter.js';
import { createTuningBackend } from './backend.js';
import { DEFAULT_LOSS } from './losses.js';
import { createOrtMatMul } from './matmul.js';
import { retrievalMetrics, type RetrievalMetrics } from './metrics.js';
import { evaluateAdapter } from './train.js';

export interface Embedder {
  embedImages(files: string[]): Promise<Float32Array[]>;
  embedTexts(texts: string[]): Promise<Float32Array[]>;
}

export interface CaptionEvaluation {
  metrics: RetrievalMetrics;
  /** Without the adapter, when one was given: the comparison the user wants. */
  baseMetrics?: RetrievalMetrics;
  match: CaptionMatchReport['counts'] & { unmatched: string[]; ambiguous: string[] };
}

function stack(rows: Float32Array[], what: string): { data: Float32Array; dim: number } {
  const dim = rows[0]?.length ?? 0;
  const data = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => {
    if (r.length !== dim) throw new KestrelError({ code: 'internal', message: `The model gave ${what} embeddings of different sizes (${dim} and ${r.length}).` });
    data.set(r, i * dim);
  });
  return { data, dim };
}

export async function evaluateCaptions(
  set: CaptionSet,
  imageFiles: string[],
  embedder: Embedder,
  options: { split?: string; adapter?: { config: AdapterConfig; params: Params }; batch?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<CaptionEvaluation> {
  const chosen: CaptionSet = options.split ? { ...set, images: set.images.filter((i) => i.split === options.split) } : set;
  const report = matchCaptions(chosen, imageFiles);
  const matched = report.matched.filter((m) => chosen.images[m.image]!.captions.length > 0);
  if (matched.length < 2) {
    throw new KestrelError({
      code: 'invalid_input',
      message: `Only ${matched.length} of the caption file's ${report.counts.images} images were found among ${imageFiles.length} image files; evaluation needs at least two.`,
      hint: 'Point --images at the folder that holds the images the caption file names.',
    });
  }
  const batch = options.batch ?? 32;
  const files = matched.map((m) => m.archiveFile);
  const texts: string[] = [];
  const textImage: number[] = [];
  matched.forEach((m, i) => {
    for (const c of chosen.images[m.image]!.captions) {
      texts.push(c.text);
      textImage.push(i);
    }
  });
  const total = files.length + texts.length;
  const imageRows: Float32Array[] = [];
  for (let s = 0; s < files.length; s += batch) {
    imageRows.push(...(await embedder.embedImages(files.slice(s, s + batch))));
    options.onProgress?.(imageRows.length, total);
  }
  const textRows: Float32Array[] = [];
  for (let s = 0; s < texts.length; s += batch * 4) {
    textRows.push(...(await embedder.embedTexts(texts.slice(s, s + batch * 4))));
    options.onProgress?.(imageRows.length + textRows.length, total);
  }
  const images = stack(imageRows, 'image');
  const caps = stack(textRows, 'text');
  if (images.dim !== caps.dim) throw new KestrelError({ code: 'internal', message: `Image embeddings have ${images.dim} values but text embeddings ${caps.dim}.` });
  const ti = Int32Array.from(textImage);
  const mm = await createOrtMatMul();
  try {
    const base = await retrievalMetrics({ imageEmb: images.data, textEmb: caps.data, textImage: ti, dim: images.dim }, mm);
    const match = {
      ...report.counts,
      unmatched: report.unmatchedImages.map((u) => u.file),
      ambiguous: report.ambiguousImages.map((a) => a.file),
    };
    if (!options.adapter) return { metrics: base, match };
    const { config, params } = options.adapter;
    if (config.dim !== images.dim) {
      throw new KestrelError({ code: 'invalid_input', message: `The adapter works on ${config.dim}-value embeddings but this model gives ${images.dim}.`, hint: 'Use the adapter with the model it was tuned on.' });
    }
    const be = await createTuningBackend('onnxruntime', config, DEFAULT_LOSS);
    try {
      const metrics = await evaluateAdapter(params, { dim: images.dim, images: images.data, texts: caps.data, textImage: ti }, be);
      return { metrics, baseMetrics: base, match };
    } finally {
      await be.close();
    }
  } finally {
    await mm.close();
  }
}

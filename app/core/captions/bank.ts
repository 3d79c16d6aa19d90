/**
 * The caption bank: captions imported from files (read through the one caption parser, captionTexts
 * in formats.ts), embedded once per model by the text tower and
 * cached beside them, for chip → suggested captions (image → text retrieval).
 * `<data>/captions/bank.json` holds the texts; `<data>/captions/<model key>.f32` their embeddings.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { modelKey } from '../jobs/index.js';
import { writeFileAtomic } from '../platform/index.js';
import { calibrate, dotScorer, exactTopK, zScore, type Calibration } from '../vectors/index.js';
import { captionTexts } from './formats.js';
import { readCaptionFile } from './files.js';

/** A chip's similarity to every caption of the bank, with their calibration (as search calibrates a query). */
export interface BankSimilarities {
  sims: Float64Array;
  calibration: Calibration;
}

export function bankSimilarities(vector: Float32Array, bank: Float32Array, dim: number): BankSimilarities {
  const n = bank.length / dim;
  const sims = new Float64Array(n);
  const score = dotScorer(vector, bank, dim);
  for (let i = 0; i < n; i++) sims[i] = score(i);
  return { sims, calibration: calibrate(sims) };
}

/** The bank captions that fit a chip best, best first, with their similarity and calibrated score (search.suggestCaptions). */
export function bestCaptions(vector: Float32Array, bank: { texts: string[]; embeddings: Float32Array; dim: number }, k: number): { text: string; similarity: number; score: number }[] {
  const { sims, calibration } = bankSimilarities(vector, bank.embeddings, bank.dim);
  return exactTopK({ k, to: sims.length, score: (i) => sims[i]! }).map(({ row, score }) => ({ text: bank.texts[row]!, similarity: score, score: zScore(score, calibration) }));
}

export class CaptionBank {
  private texts: string[] | undefined;
  private readonly embedded = new Map<string, Promise<Float32Array>>();

  constructor(private readonly dataDir: string) {}

  private get dir(): string {
    return join(this.dataDir, 'captions');
  }

  async captions(): Promise<string[]> {
    if (!this.texts) {
      try {
        this.texts = (JSON.parse(await readFile(join(this.dir, 'bank.json'), 'utf8')) as { captions: string[] }).captions;
      } catch {
        this.texts = [];
      }
    }
    return this.texts;
  }

  /** Adds a file's captions (duplicates dropped); embeddings are recomputed on next use. */
  async import(file: string): Promise<{ added: number; bankSize: number }> {
    const text = await readCaptionFile(file);
    const have = await this.captions();
    const seen = new Set(have);
    const fresh = captionTexts(text, file).filter((c) => !seen.has(c) && (seen.add(c), true));
    const next = [...have, ...fresh];
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(join(this.dir, 'bank.json'), JSON.stringify({ captions: next }));
    this.texts = next;
    this.embedded.clear();
    return { added: fresh.length, bankSize: next.length };
  }

  /** The bank's embeddings for a model (count × dim), from the cache file or computed and cached. */
  embeddings(modelId: string, dim: number, embedTexts: (texts: string[]) => Promise<Float32Array[]>): Promise<Float32Array> {
    let p = this.embedded.get(modelId);
    if (!p) {
      p = this.compute(modelId, dim, embedTexts);
      this.embedded.set(modelId, p);
      p.catch(() => this.embedded.delete(modelId));
    }
    return p;
  }

  private async compute(modelId: string, dim: number, embedTexts: (texts: string[]) => Promise<Float32Array[]>): Promise<Float32Array> {
    const texts = await this.captions();
    const file = join(this.dir, `${modelKey(modelId)}.f32`);
    const cached = await readFile(file).catch(() => undefined);
    if (cached && cached.byteLength === texts.length * dim * 4) return new Float32Array(cached.buffer, cached.byteOffset, texts.length * dim);
    const out = new Float32Array(texts.length * dim);
    for (let i = 0; i < texts.length; i += 256) {
      const vs = await embedTexts(texts.slice(i, i + 256));
      vs.forEach((v, j) => out.set(v, (i + j) * dim));
    }
    await writeFileAtomic(file, new Uint8Array(out.buffer));
    return out;
  }
}

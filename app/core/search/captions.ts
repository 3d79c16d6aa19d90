/**
 * The caption bank: captions imported from files, embedded once per model by the text tower and
 * cached beside them, for chip → suggested captions (image → text retrieval).
 * `<data>/captions/bank.json` holds the texts; `<data>/captions/<model key>.f32` their embeddings.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KestrelError } from '../../contract/index.js';
import { modelKey } from '../jobs/index.js';
import { writeFileAtomic } from '../platform/files.js';

/** Captions from a file in any of the layouts the shared caption sets use, or one caption per line. */
export function parseCaptionFile(text: string, file: string): string[] {
  const out: string[] = [];
  const add = (c: unknown): void => {
    if (typeof c === 'string') out.push(c);
    else if (Array.isArray(c)) c.forEach(add);
  };
  const fromObject = (o: Record<string, unknown>): void => {
    if ('caption' in o) add(o.caption); // HarMA: {image, caption}
    if ('captions' in o) add(o.captions); // RSICD textaug JSONL: {filename, captions}
    if (Array.isArray(o.sentences)) for (const s of o.sentences as { raw?: unknown }[]) add(s.raw); // Karpathy
  };
  const trimmed = text.trimStart();
  try {
    if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
      let docs: unknown[];
      try {
        docs = [JSON.parse(text)];
      } catch {
        docs = text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as unknown); // JSONL
      }
      for (const doc of docs) {
        if (Array.isArray(doc)) doc.forEach((o) => (typeof o === 'string' ? out.push(o) : fromObject(o as Record<string, unknown>)));
        else if (doc && typeof doc === 'object') {
          const d = doc as Record<string, unknown>;
          if (Array.isArray(d.images)) for (const im of d.images as Record<string, unknown>[]) fromObject(im); // Karpathy
          if (Array.isArray(d.annotations)) for (const a of d.annotations as Record<string, unknown>[]) fromObject(a); // COCO
          fromObject(d);
        }
      }
    } else out.push(...text.split('\n'));
  } catch (err) {
    throw new KestrelError({ code: 'invalid_input', message: `${file} is not a caption file Kestrel reads (${(err as Error).message}).`, file, hint: 'Use JSON/JSONL in the HarMA, RSICD, Karpathy or COCO layout, or one caption per line.' });
  }
  return out.map((c) => c.trim().replace(/\s+/g, ' ')).filter((c) => c.length > 0 && c.length <= 1000);
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
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new KestrelError({ code: 'not_found', message: `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`, file });
    }
    const have = await this.captions();
    const seen = new Set(have);
    const fresh = parseCaptionFile(text, file).filter((c) => !seen.has(c) && (seen.add(c), true));
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

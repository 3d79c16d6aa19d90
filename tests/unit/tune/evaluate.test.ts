import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { CaptionSet } from '../../../app/core/captions/index.js';
import { initParams } from '../../../app/core/tune/adapter.js';
import { evaluateCaptions, type Embedder } from '../../../app/core/tune/evaluate.js';
import { tempDir } from '../../helpers/tmp.js';

const oneHot = (k: number): Float32Array => Float32Array.from({ length: 4 }, (_, i) => (i === k ? 1 : 0));
const fake: Embedder = {
  embedImages: (files) => Promise.resolve(files.map((f) => oneHot('abc'.indexOf(f.replace(/^.*\//, '')[0]!)))),
  embedTexts: (texts) => Promise.resolve(texts.map((t) => oneHot('abc'.indexOf(t)))),
};
const caption = (text: string) => ({ text, provenance: 'imported' as const });

describe('evaluating a caption file', () => {
  const set: CaptionSet = {
    format: 'karpathy',
    images: [
      { file: 'a.jpg', captions: [caption('a')], split: 'test' },
      { file: 'b.jpg', captions: [caption('b'), caption('a')], split: 'test' },
      { file: 'c.jpg', captions: [caption('c')], split: 'test' },
      { file: 'gone.jpg', captions: [caption('a')], split: 'test' },
      { file: 'c2.jpg', captions: [caption('c')], split: 'train' },
    ],
  };
  const files = ['/x/a.tif', '/x/b.tif', '/x/c.tif', '/x/c2.tif'];

  it('matches, embeds and scores (hand-computed)', async () => {
    const r = await evaluateCaptions(set, files, fake, { split: 'test' });
    expect(r.match).toMatchObject({ images: 4, imagesMatched: 3, unmatched: ['gone.jpg'] });
    // text→image: "a"(a) rank 0, "b"(b) 0, "a"(b): a scores 1, c ties at 0 → rank 2, "c"(c) 0.
    expect(r.metrics.textToImage).toEqual({ r1: 3 / 4, r5: 1, r10: 1 });
    // image→text: image a's caption "a" ties with b's "a" → rank 1; b and c rank 0.
    expect(r.metrics.imageToText).toEqual({ r1: 2 / 3, r5: 1, r10: 1 });
    expect(r.baseMetrics).toBeUndefined();
  });

  it('with an identity adapter (a fresh one) gives the base numbers, and reports both', async () => {
    const adapter = { config: { dim: 4, bottleneck: 3, shared: 2 }, params: initParams({ dim: 4, bottleneck: 3, shared: 2 }, 1) };
    const r = await evaluateCaptions(set, files, fake, { split: 'test', adapter });
    expect(r.metrics).toEqual(r.baseMetrics);
    await expect(evaluateCaptions(set, files, fake, { adapter: { ...adapter, config: { ...adapter.config, dim: 8 } } })).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('refuses when fewer than two images match', async () => {
    await expect(evaluateCaptions(set, ['/y/zzz.tif'], fake)).rejects.toThrow(/Only 0 of the caption file's 5 images/);
  });
});

const root = new URL('../../..', import.meta.url).pathname;
const shared = join(root, '..', 'shared', 'data', 'rs-captioned');
const pack = join(root, 'resources', 'models', 'starter');

// The starter pack is part of the repository: only the shared data may be missing.
if (!existsSync(shared)) console.log(`${shared} is absent: the kestrel eval test on the starter model is skipped.`);
describe.skipIf(!existsSync(shared))('kestrel eval (starter model, ../shared/data/rs-captioned)', () => {
  it('prints the metrics of the captioned images as JSON', async () => {
    const dir = await tempDir();
    try {
      const manifest = JSON.parse(readFileSync(join(shared, 'manifest.json'), 'utf8')) as { file: string; captions?: string[] }[];
      const withCaptions = manifest.filter((m) => m.captions?.length);
      const file = join(dir.path, 'caps.jsonl');
      await writeFile(file, withCaptions.map((m) => JSON.stringify({ filename: m.file, captions: m.captions })).join('\n'));
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(root, 'app/cli/index.ts'), 'eval', '--captions', file, '--images', shared, '--model', pack, '--json'], { cwd: root });
      const out = JSON.parse(stdout);
      expect(out.match.imagesMatched).toBe(withCaptions.length);
      expect(out.match.captionsMatched).toBe(withCaptions.reduce((s, m) => s + m.captions!.length, 0));
      const m = out.metrics;
      expect(m.mR).toBeCloseTo((m.imageToText.r1 + m.imageToText.r5 + m.imageToText.r10 + m.textToImage.r1 + m.textToImage.r5 + m.textToImage.r10) / 6, 12);
      expect(m.imageToText.r1).toBeLessThanOrEqual(m.imageToText.r5);
    } finally {
      await dir.remove();
    }
  });
});

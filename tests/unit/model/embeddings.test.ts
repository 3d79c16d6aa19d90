import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelSession } from '../../../app/core/model/index.js';
import { FIXTURES, SHARED_DATA, hasSharedData, readJson } from './helpers.js';

/** open_clip's (unnormalised) tower outputs, recorded by tools/make_model_fixtures.py. */
interface PackRefs {
  captions: { text: string; embedding: number[] }[];
  pixels: { file: string; embeddings: number[][] };
  realImages: { file: string; embedding: number[] }[];
}
const refs = readJson<{ packs: Record<string, PackRefs> }>(join(FIXTURES, 'references.json'));

/** The bar: max abs error ≤ 1e-4 in fp32 against open_clip. */
const TOLERANCE = 1e-4;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
  return m;
}

for (const name of ['tiny-quickgelu', 'tiny-gelu']) {
  describe(`${name}: embeddings match open_clip (max abs error ≤ ${TOLERANCE})`, () => {
    const ref = refs.packs[name];
    let session: ModelSession;
    beforeAll(async () => {
      session = await ModelSession.open(join(FIXTURES, 'packs', name), { provider: 'cpu', threads: 2 });
    });
    afterAll(async () => session?.close());

    it('records the activation the pack declares', () => {
      expect(session.status.pack.activation).toBe(name === 'tiny-gelu' ? 'gelu' : 'quick_gelu');
      expect(session.status.provider).toBe('cpu');
    });

    it('text tower: captions through Kestrel\'s tokenizer', async () => {
      if (!ref) throw new Error(`no references for ${name}`);
      const got = await session.embedTexts(ref.captions.map((c) => c.text), false);
      ref.captions.forEach((c, i) => expect(maxAbsDiff(got[i] ?? [], c.embedding)).toBeLessThanOrEqual(TOLERANCE));
    });

    it('image tower: fixed pixel tensors, batched', async () => {
      if (!ref) throw new Error(`no references for ${name}`);
      const buf = readFileSync(join(FIXTURES, ref.pixels.file));
      const pixels = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
      const got = await session.embedPixels(pixels, ref.pixels.embeddings.length, false);
      ref.pixels.embeddings.forEach((e, i) => expect(maxAbsDiff(got[i] ?? [], e)).toBeLessThanOrEqual(TOLERANCE));
    });

    it('normalised embeddings have unit length and the direction of the raw ones', async () => {
      const [raw] = await session.embedTexts(['an airport'], false);
      const [unit] = await session.embedTexts(['an airport']);
      if (!raw || !unit) throw new Error('no embedding');
      const norm = Math.hypot(...raw);
      expect(Math.hypot(...unit)).toBeCloseTo(1, 6);
      expect(maxAbsDiff(unit, raw.map((x) => x / norm))).toBeLessThanOrEqual(1e-6);
    });

    it.skipIf(!hasSharedData)('real images end to end: decode, preprocess, embed (JPEG and TIFF)', async () => {
      if (!ref) throw new Error(`no references for ${name}`);
      const got = await session.embedImageFiles(ref.realImages.map((r) => join(SHARED_DATA, 'rs-captioned', r.file)), false);
      ref.realImages.forEach((r, i) => expect(maxAbsDiff(got[i] ?? [], r.embedding), r.file).toBeLessThanOrEqual(TOLERANCE));
    });
  });
}

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelSession } from '../../app/core/model/index.js';
import { ROOT, readJson } from '../unit/model/helpers.js';

/**
 * The full-size random ViT-B/32 pack, made on demand by `tools/make_model_fixtures.py --full` (gitignored).
 * Opt-in (`npm run test:full-size`: Python and torch are dev tools, not CI dependencies); fails, naming
 * the missing pack, when run without it.
 */
const PACK = join(ROOT, 'tests', 'artifacts', 'model', 'vit-b-32-random');
const present = existsSync(join(PACK, 'references.json'));

/** The bar: max abs error ≤ 1e-4 in fp32 against open_clip. */
const TOLERANCE = 1e-4;

describe('full-size ViT-B/32 (random weights): embeddings match open_clip', { timeout: 120_000 }, () => {
  let session: ModelSession;
  const refs = present
    ? readJson<{ captions: { text: string; embedding: number[] }[]; pixels: { file: string; embeddings: number[][] } }>(join(PACK, 'references.json'))
    : undefined;
  beforeAll(async () => {
    if (!present) throw new Error(`${PACK} is missing: make it with tools/make_model_fixtures.py --full first.`);
    session = await ModelSession.open(PACK, { provider: 'cpu', warmUp: false });
  }, 120_000);
  afterAll(async () => session?.close());

  it(`text and image towers within ${TOLERANCE}`, async () => {
    if (!refs) throw new Error('no references');
    const text = await session.embedTexts(refs.captions.map((c) => c.text), false);
    const buf = readFileSync(join(PACK, refs.pixels.file));
    const images = await session.embedPixels(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4), refs.pixels.embeddings.length, false);
    const worst = (got: Float32Array[], want: number[][]): number =>
      Math.max(...got.flatMap((v, i) => Array.from(v, (x, j) => Math.abs(x - (want[i]?.[j] ?? NaN)))));
    expect(worst(text, refs.captions.map((c) => c.embedding))).toBeLessThanOrEqual(TOLERANCE);
    expect(worst(images, refs.pixels.embeddings)).toBeLessThanOrEqual(TOLERANCE);
  });
});

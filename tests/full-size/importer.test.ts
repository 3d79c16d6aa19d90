/**
 * Full-size ViT-B/32 (≈600 MB, random weights), opt-in: `npm run test:full-size` after
 * `tools/make_import_fixtures.py --full` has written tests/artifacts/importer/ (Python and torch are
 * dev tools, not CI dependencies, so `npm test` does not run this project). Fails, naming the missing
 * file, when run without it.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelSession, importModel } from '../../app/core/model/index.js';
import { ROOT, maxAbsDiff, tmp } from '../unit/importer/helpers.js';

const ART = join(ROOT, 'tests', 'artifacts', 'importer');
const CKPT = join(ART, 'vit-b-32-random.pt');
const have = existsSync(CKPT);
const dir = tmp('full');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** fp32 parity bar against open_clip: max abs error ≤ 1e-4 on the L2-normalised embeddings. */
const TOLERANCE = 1e-4;

describe('full-size ViT-B/32 import', { timeout: 120_000 }, () => {
  beforeAll(() => {
    if (!have) throw new Error(`${CKPT} is missing: run .venv-tools/bin/python tools/make_import_fixtures.py --full first.`);
  });
  it(`imports in bounded memory and matches open_clip (max abs error ≤ ${TOLERANCE})`, async () => {
    const refs = JSON.parse(readFileSync(join(ART, 'vit-b-32-random.references.json'), 'utf8')) as {
      inputIds: number[][]; pixels: string; image: { normalized: number[][] }; text: { normalized: number[][] };
    };
    const out = join(dir, 'vit-b-32');
    let peak = 0;
    const r = await importModel({ checkpoint: CKPT, out, arch: 'ViT-B-32-quickgelu', verify: false, onProgress: () => (peak = Math.max(peak, process.memoryUsage().rss)) });
    // Never two full copies: the checkpoint is 605 MB; the importer holds about one tensor at a time.
    expect(peak).toBeLessThan(r.sourceBytes);
    const session = await ModelSession.open(out, { provider: 'cpu', warmUp: false });
    try {
      const buf = readFileSync(join(ART, refs.pixels));
      const img = await session.embedPixels(new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)), 2);
      const txt = await session.embedTokenRows(refs.inputIds.map((x) => Int32Array.from(x)));
      refs.image.normalized.forEach((want, i) => expect(maxAbsDiff(img[i] ?? [], want)).toBeLessThanOrEqual(TOLERANCE));
      refs.text.normalized.forEach((want, i) => expect(maxAbsDiff(txt[i] ?? [], want)).toBeLessThanOrEqual(TOLERANCE));
    } finally {
      await session.close();
    }
  });
});

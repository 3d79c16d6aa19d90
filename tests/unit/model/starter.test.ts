/**
 * The starter model pack: reproducible from its source, loaded by the normal runtime, its graphs
 * equal to an independent implementation of the documented formulas, and good enough at its job:
 * on the demo archive "water" and "vegetation" find chips that are water and vegetation by an
 * independent measure (NDWI and NDVI from the near-infrared band the model never sees).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildImageTower,
  buildTextTower,
  ClipTokenizer,
  clipVocabularyPath,
  CONCEPTS,
  GATES,
  FEATURES,
  ModelSession,
  NEGATIONS,
  OTHER_LEVEL,
  preprocess,
  readModelPack,
  starterManifest,
  vocabularyTokens,
  VOCABULARY,
} from '../../../app/core/model/index.js';
import { bandMapping, chipModelInput, extractChips, openScene, planChips, readChipPixels, sceneStatistics } from '../../../app/core/raster/index.js';

const root = new URL('../../..', import.meta.url).pathname;
const packDir = join(root, 'resources', 'models', 'starter');
const demo = join(root, 'resources', 'demo');
const D = CONCEPTS.length + 1;
/** float32 graph against float64 reference on the same formulas. */
const TOLERANCE = 1e-4;

/** The documented per-pixel formulas, written again in plain TypeScript (float64). */
function referenceImage(rgb: Uint8Array, size: number): number[] {
  const n = size * size;
  const px = (i: number, c: number): number => rgb[3 * i + c]! / 255;
  const L = new Float64Array(n);
  for (let i = 0; i < n; i++) L[i] = (px(i, 0) + px(i, 1) + px(i, 2)) / 3;
  const pool = (plane: Float64Array, k: number): Float64Array => {
    const out = new Float64Array(n);
    const h = k >> 1;
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        let s = 0;
        let c = 0;
        for (let dy = -h; dy <= h; dy++)
          for (let dx = -h; dx <= h; dx++) {
            const yy = y + dy;
            const xx = x + dx;
            if (yy < 0 || xx < 0 || yy >= size || xx >= size) continue;
            s += plane[yy * size + xx]!;
            c++;
          }
        out[y * size + x] = s / c;
      }
    return out;
  };
  const local = pool(L, 5);
  const dev = L.map((v, i) => Math.abs(v - local[i]!));
  const texture = pool(dev, 5);
  const at = (x: number, y: number): number => (x < 0 || y < 0 || x >= size || y >= size ? 0 : L[y * size + x]!);
  const edge = new Float64Array(n);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const gx = (at(x + 1, y - 1) + 2 * at(x + 1, y) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x - 1, y) - at(x - 1, y + 1)) / 4;
      const gy = (at(x - 1, y + 1) + 2 * at(x, y + 1) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x, y - 1) - at(x + 1, y - 1)) / 4;
      edge[y * size + x] = gx * gx + gy * gy > 0.01 ? 1 : 0;
    }
  const edges = pool(edge, 9);
  const shares = new Float64Array(CONCEPTS.length);
  for (let i = 0; i < n; i++) {
    const [r, g, b] = [px(i, 0), px(i, 1), px(i, 2)];
    const f: Record<string, number> = {
      red: r,
      green: g,
      blue: b,
      brightness: L[i]!,
      saturation: Math.max(r, g, b) - Math.min(r, g, b),
      greenness: g - Math.max(r, b),
      blueMinusRed: b - r,
      texture: texture[i]!,
      edges: edges[i]!,
    };
    const member = new Float64Array(CONCEPTS.length).fill(1);
    for (const gate of GATES) {
      const z = gate.steepness * (gate.when === 'above' ? f[gate.feature]! - gate.threshold : gate.threshold - f[gate.feature]!);
      member[CONCEPTS.indexOf(gate.concept)]! *= 1 / (1 + Math.exp(-z));
    }
    member.forEach((m, c) => (shares[c]! += m / n));
  }
  expect(FEATURES.length).toBe(9);
  return [...shares, OTHER_LEVEL];
}

function referenceText(words: string[]): number[] {
  const out = new Array<number>(D).fill(0);
  let negate = false;
  for (const w of words) {
    const weights = VOCABULARY[w];
    if (weights) for (const [c, v] of Object.entries(weights)) out[CONCEPTS.indexOf(c as never)]! += (negate ? -1 : 1) * v;
    negate = NEGATIONS.includes(w);
  }
  return out;
}

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return d / Math.sqrt(na * nb);
};

interface DemoChip {
  embedding: Float32Array;
  ndwi: number;
  ndvi: number;
  rgb: Uint8Array;
}

describe('starter model pack', () => {
  let session: ModelSession;
  const chips: DemoChip[] = [];

  beforeAll(async () => {
    session = await ModelSession.open(packDir, { provider: 'cpu' });
    const manifest = JSON.parse(await readFile(join(demo, 'manifest.json'), 'utf8')) as { scenes: { file: string; display: number[] }[] };
    // Independent measures from the raw bands: [green, NIR, red] per file (see resources/demo/manifest.json).
    const raw: Record<string, number[]> = { 'cbers_rgb342_crop1.tif': [2, 1, 0], 'L7_ETMs.tif': [1, 3, 2] };
    const pack = readModelPack(packDir);
    for (const s of manifest.scenes) {
      const scene = await openScene(join(demo, s.file));
      const stats = await sceneStatistics(scene);
      const mapping = bandMapping(scene.description, s.display);
      for await (const { chip, rgb } of extractChips(scene, planChips(scene, { size: 224 }), { mapping, stats, size: 224 })) {
        const [embedding] = await session.embedPixels(chipModelInput(rgb, pack.manifest.image, preprocess), 1, false);
        const px = await readChipPixels(scene, chip, raw[s.file]!);
        let ndwi = 0;
        let ndvi = 0;
        let n = 0;
        for (let i = 0; i < px.width * px.height; i++) {
          if (!px.valid[i]) continue;
          const [g, nir, r] = [px.bands[0]![i]!, px.bands[1]![i]!, px.bands[2]![i]!];
          ndwi += (g - nir) / (g + nir || 1);
          ndvi += (nir - r) / (nir + r || 1);
          n++;
        }
        chips.push({ embedding: embedding!, ndwi: ndwi / n, ndvi: ndvi / n, rgb: rgb.data });
      }
    }
  }, 120_000);
  afterAll(() => session?.close());

  it('is reproduced byte for byte by its builder', async () => {
    const tokenizer = ClipTokenizer.fromFile(clipVocabularyPath());
    const image = buildImageTower();
    const text = buildTextTower(tokenizer);
    expect(Buffer.compare(Buffer.from(image), await readFile(join(packDir, 'image.onnx')))).toBe(0);
    expect(Buffer.compare(Buffer.from(text), await readFile(join(packDir, 'text.onnx')))).toBe(0);
    const manifest = starterManifest(image, text, vocabularyTokens(tokenizer).map((w) => w.word));
    expect(JSON.parse(await readFile(join(packDir, 'manifest.json'), 'utf8'))).toEqual(manifest);
  });

  it('loads through the normal model runtime with its licence and provenance', () => {
    expect(session.status.provider).toBe('cpu');
    const pack = readModelPack(packDir);
    expect(pack.manifest.licence).toMatch(/Apache-2.0/);
    expect(pack.manifest.provenance).toMatchObject({ kind: 'starter' });
  });

  it(`text tower equals the vocabulary table, negation included (tolerance ${TOLERANCE})`, async () => {
    const queries: [string, string[]][] = [
      ['water', ['water']],
      ['Water!', ['water']],
      ['a lake next to a forest', ['lake', 'forest']],
      ['dense residential area', ['dense', 'residential']],
      ['fields without trees', ['fields', 'without', 'trees']],
      ['no water', ['no', 'water']],
      ['storage tanks near xyzzy', []],
      ['', []],
    ];
    const got = await session.embedTexts(queries.map(([q]) => q), false);
    queries.forEach(([q, words], i) => {
      const want = referenceText(words);
      got[i]!.forEach((v, c) => expect(Math.abs(v - want[c]!), `${q} [${c}]`).toBeLessThanOrEqual(TOLERANCE));
    });
    // A query with no known word comes out as the zero vector (the search explains the vocabulary).
    expect(got[6]!.every((v) => v === 0)).toBe(true);
  });

  it(`image tower equals the documented per-pixel formulas (tolerance ${TOLERANCE})`, async () => {
    expect(chips.length).toBeGreaterThan(20);
    for (const c of [chips[0]!, chips[chips.length - 1]!, chips[Math.floor(chips.length / 2)]!]) {
      const want = referenceImage(c.rgb, 224);
      c.embedding.forEach((v, i) => expect(Math.abs(v - want[i]!), `concept ${i}`).toBeLessThanOrEqual(TOLERANCE));
    }
  });

  it('"water" ranks chips that are water by NDWI far above random chips', async () => {
    const [q] = await session.embedTexts(['water'], true);
    const ranked = [...chips].sort((a, b) => cosine(b.embedding, q!) - cosine(a.embedding, q!));
    const sorted = chips.map((c) => c.ndwi).sort((a, b) => a - b);
    const p80 = sorted[Math.floor(0.8 * sorted.length)]!;
    const mean = sorted.reduce((s, v) => s + v, 0) / sorted.length;
    const top = ranked.slice(0, 3).map((c) => c.ndwi);
    console.log(`water: top-3 NDWI ${top.map((v) => v.toFixed(3)).join(' ')}; all chips: mean ${mean.toFixed(3)}, 80th percentile ${p80.toFixed(3)}`);
    expect(top.reduce((s, v) => s + v, 0) / 3).toBeGreaterThan(p80);
    expect(ranked[0]!.ndwi).toBeGreaterThan(mean + 0.2);
  });

  it('"vegetation" and "forest" rank chips that are vegetation by NDVI above random chips', async () => {
    // Most of the demo archive is vegetated, so "above random" is measured against the archive's own
    // NDVI distribution: the top 5 must beat the mean by half a standard deviation, and the chip a
    // query ranks last must be among the least vegetated.
    const values = chips.map((c) => c.ndvi);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
    const p20 = [...values].sort((a, b) => a - b)[Math.floor(0.2 * values.length)]!;
    for (const word of ['vegetation', 'forest']) {
      const [q] = await session.embedTexts([word], true);
      const ranked = [...chips].sort((a, b) => cosine(b.embedding, q!) - cosine(a.embedding, q!));
      const top = ranked.slice(0, 5).map((c) => c.ndvi);
      const topMean = top.reduce((s, v) => s + v, 0) / top.length;
      console.log(`${word}: top-5 NDVI ${top.map((v) => v.toFixed(3)).join(' ')} (mean ${topMean.toFixed(3)}); all chips: mean ${mean.toFixed(3)}, sd ${sd.toFixed(3)}; last-ranked ${ranked.at(-1)!.ndvi.toFixed(3)}`);
      expect(topMean).toBeGreaterThan(mean + 0.5 * sd);
      expect(ranked.at(-1)!.ndvi).toBeLessThan(p20 + 0.05);
    }
  });
});

/**
 * Vector search benchmark: query latency (p50/p95) of the store's exact path (float16 brute force)
 * and approximate path (usearch HNSW f16 + exact re-rank) against a plain TypeScript brute force
 * over float32 in memory (the baseline, same run), with recall@10 of the approximate path, index
 * build time, and memory and disk per million vectors.
 *
 *   npx tsx tests/bench/index/vectors.bench.ts [N …] [--exact-only]   default: 100000 1000000
 *   (--exact-only skips the graph: the exact path against the baseline, quickly, at large sizes)
 *
 * Prints a table; writes tests/artifacts/bench/index-vectors.json.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VectorStore } from '../../../app/core/vectors/index.js';
import { rng, unitVectors } from '../../helpers/vectors.js';

const DIM = 512;
const QUERIES = 100;
/** --exact-only: no graph (a quick run of the exact path against the baseline at large sizes). */
const exactOnly = process.argv.includes('--exact-only');
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
if (sizes.length === 0) sizes.push(100_000, 1_000_000);

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const mib = (bytes: number): number => bytes / 2 ** 20;

/** The baseline: the plain loop anyone would write, float32 in memory, keeping the best k as it goes. */
function bruteForceF32(all: Float32Array, n: number, q: Float32Array, k: number): number[] {
  const best: { row: number; score: number }[] = [];
  for (let r = 0; r < n; r++) {
    let dot = 0;
    const base = r * DIM;
    for (let i = 0; i < DIM; i++) dot += all[base + i]! * q[i]!;
    if (best.length < k || dot > best[best.length - 1]!.score) {
      best.push({ row: r, score: dot });
      best.sort((a, b) => b.score - a.score);
      if (best.length > k) best.pop();
    }
  }
  return best.map((b) => b.row);
}

/**
 * Synthetic embeddings with the structure real ones have: clusters (similar chips) rather than
 * directions spread uniformly over the sphere, where every neighbour is almost equally far and no
 * index, approximate or not, has anything to find.
 */
function clusteredVectors(n: number, start: number, centres: Float32Array, spread: number): Float32Array {
  const k = centres.length / DIM;
  const next = rng(start + 1);
  const noise = unitVectors(n, DIM, start + 7);
  const out = new Float32Array(n * DIM);
  for (let r = 0; r < n; r++) {
    const c = Math.floor(next() * k);
    let norm = 0;
    for (let i = 0; i < DIM; i++) {
      const v = centres[c * DIM + i]! + spread * noise[r * DIM + i]!;
      out[r * DIM + i] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < DIM; i++) out[r * DIM + i]! /= norm;
  }
  return out;
}

interface Row {
  n: number;
  baselineP50: number;
  baselineP95: number;
  exactP50: number;
  exactP95: number;
  approxP50: number;
  approxP95: number;
  recallAt10: number;
  buildSeconds: number;
  diskMiBPerMillion: number;
  rssMiBPerMillion: number;
}

const results: Row[] = [];
for (const n of sizes) {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-bench-vectors-'));
  try {
    const rss0 = process.memoryUsage().rss;
    const store = await VectorStore.open(dir, DIM, { exactThreshold: 0 });
    // The baseline keeps a float32 copy in memory (2 GiB at 1M × 512): affordable on 24 GiB.
    const keep = n <= 2_000_000;
    const all = keep ? new Float32Array(n * DIM) : undefined;
    const batch = 10_000;
    const centres = unitVectors(Math.max(100, Math.round(n / 100)), DIM, 424242);
    for (let start = 0; start < n; start += batch) {
      const count = Math.min(batch, n - start);
      const v = clusteredVectors(count, start, centres, 1.2);
      all?.set(v, start * DIM);
      store.append(v, Array.from({ length: count }, (_, i) => ({ scene: 0, level: 0, x: start + i, y: 0, width: 224, height: 224 })));
      await store.commit();
    }
    const t0 = performance.now();
    if (!exactOnly) await store.updateIndex();
    const buildSeconds = exactOnly ? NaN : (performance.now() - t0) / 1000;
    const search = await VectorStore.open(dir, DIM, { exactThreshold: 0 });
    const next = rng(n);
    const queries: Float32Array[] = [];
    for (let q = 0; q < QUERIES; q++) {
      // A query in the data's neighbourhood (a stored vector, displaced), as a text query lands near
      // the chips that match it.
      const target = Math.floor(next() * n);
      const v = await search.vector(target);
      const noise = unitVectors(1, DIM, 77 + q);
      let norm = 0;
      for (let i = 0; i < DIM; i++) {
        v[i] = v[i]! + 0.3 * noise[i]!;
        norm += v[i]! * v[i]!;
      }
      for (let i = 0; i < DIM; i++) v[i]! /= Math.sqrt(norm);
      queries.push(v);
    }
    const exactT: number[] = [];
    const approxT: number[] = [];
    const baseT: number[] = [];
    let found = 0;
    const exactQueries = Math.min(QUERIES, n > 200_000 ? 10 : QUERIES);
    for (let q = 0; q < QUERIES; q++) {
      let t = performance.now();
      const approx = exactOnly ? [] : await search.search(queries[q]!, 10);
      if (!exactOnly) approxT.push(performance.now() - t);
      if (q < exactQueries) {
        t = performance.now();
        const exact = await search.search(queries[q]!, 10, { exact: true });
        exactT.push(performance.now() - t);
        found += approx.filter((a) => exact.some((e) => e.row === a.row)).length;
        if (all) {
          t = performance.now();
          bruteForceF32(all, n, queries[q]!, 10);
          baseT.push(performance.now() - t);
        }
      }
    }
    const disk = statSync(join(dir, 'vectors.f16')).size + statSync(join(dir, 'rows.bin')).size + (exactOnly ? 0 : statSync(join(dir, 'hnsw.usearch')).size);
    const rss = process.memoryUsage().rss - rss0 - (all ? all.byteLength : 0);
    results.push({
      n,
      baselineP50: baseT.length ? pct(baseT, 50) : NaN,
      baselineP95: baseT.length ? pct(baseT, 95) : NaN,
      exactP50: pct(exactT, 50),
      exactP95: pct(exactT, 95),
      approxP50: exactOnly ? NaN : pct(approxT, 50),
      approxP95: exactOnly ? NaN : pct(approxT, 95),
      recallAt10: exactOnly ? NaN : found / (exactQueries * 10),
      buildSeconds,
      diskMiBPerMillion: (mib(disk) * 1e6) / n,
      rssMiBPerMillion: (mib(Math.max(0, rss)) * 1e6) / n,
    });
    await store.close();
    await search.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const f = (x: number, d = 1): string => (Number.isNaN(x) ? 'n/a' : x.toFixed(d));
console.log(`vector search, ${DIM}-d clustered unit vectors (n/100 clusters), k = 10, ${QUERIES} queries (exact and baseline on the first 10 above 200k)`);
console.log('RSS per 1M excludes the baseline\'s float32 copy.');
console.log('| vectors | TS brute force f32 p50/p95 ms | exact f16 p50/p95 ms | approx p50/p95 ms | approx speed-up vs baseline | recall@10 | index build s | disk MiB/1M | RSS MiB/1M |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  console.log(
    `| ${r.n.toLocaleString('en')} | ${f(r.baselineP50)} / ${f(r.baselineP95)} | ${f(r.exactP50)} / ${f(r.exactP95)} | ${f(r.approxP50, 2)} / ${f(r.approxP95, 2)} | ${f(r.baselineP50 / r.approxP50, 0)}× | ${f(r.recallAt10, 3)} | ${f(r.buildSeconds)} | ${f(r.diskMiBPerMillion, 0)} | ${f(r.rssMiBPerMillion, 0)} |`,
  );
}
const out = join(new URL('../../..', import.meta.url).pathname, 'tests', 'artifacts', 'bench');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'index-vectors.json'), JSON.stringify({ dim: DIM, queries: QUERIES, results }, null, 2));

import { execFileSync } from 'node:child_process';
import { appendFile, mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreLock, VectorStore } from '../../../app/core/vectors/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { chipOf, unitVectors } from '../../helpers/vectors.js';

const DIM = 64;
/** float16 keeps 11 significant bits: a unit vector's components come back within 2^-11 relative. */
const F16_TOLERANCE = 1e-3;

function exactTop(vectors: Float32Array, query: Float32Array, k: number, allow: (row: number) => boolean = () => true): { row: number; score: number }[] {
  const n = vectors.length / DIM;
  const scored: { row: number; score: number }[] = [];
  for (let r = 0; r < n; r++) {
    if (!allow(r)) continue;
    let dot = 0;
    for (let i = 0; i < DIM; i++) dot += vectors[r * DIM + i]! * query[i]!;
    scored.push({ row: r, score: dot });
  }
  return scored.sort((a, b) => b.score - a.score).slice(0, k);
}

async function fill(store: VectorStore, n: number, seed: number): Promise<Float32Array> {
  const vectors = unitVectors(n, DIM, seed);
  store.append(vectors, Array.from({ length: n }, (_, i) => chipOf(store.count + i)));
  await store.commit();
  return vectors;
}

describe('vector store', () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeEach(async () => (dir = await tempDir()));
  afterEach(() => dir.remove());

  it('keeps committed rows, their chips and the progress cursor across a reopen', async () => {
    const store = await VectorStore.open(dir.path, DIM);
    const vectors = unitVectors(300, DIM, 1);
    store.append(vectors.subarray(0, 200 * DIM), Array.from({ length: 200 }, (_, i) => chipOf(i)));
    store.append(vectors.subarray(200 * DIM), Array.from({ length: 100 }, (_, i) => chipOf(200 + i)));
    await store.commit({ scenesDone: ['a', 'b'] });
    await store.close();

    const again = await VectorStore.open(dir.path, DIM);
    expect(again.count).toBe(300);
    expect(again.meta).toEqual({ scenesDone: ['a', 'b'] });
    for (const row of [0, 137, 299]) {
      expect(await again.chip(row)).toEqual(chipOf(row));
      const v = await again.vector(row);
      for (let i = 0; i < DIM; i++) expect(Math.abs(v[i]! - vectors[row * DIM + i]!)).toBeLessThan(F16_TOLERANCE);
    }
    await again.close();
  });

  it('forgets appends that were never committed, and bytes written after the last commit', async () => {
    const store = await VectorStore.open(dir.path, DIM);
    await fill(store, 50, 2);
    store.append(unitVectors(10, DIM, 3), Array.from({ length: 10 }, (_, i) => chipOf(50 + i)));
    await store.close();
    // A crash mid-append leaves partial bytes at the end of both files.
    await appendFile(join(dir.path, 'vectors.f16'), Buffer.alloc(DIM * 2 * 3 + 5, 7));
    await appendFile(join(dir.path, 'rows.bin'), Buffer.alloc(31, 7));
    const again = await VectorStore.open(dir.path, DIM);
    expect(again.count).toBe(50);
    await fill(again, 5, 4);
    expect(await again.chip(52)).toEqual(chipOf(52));
    await again.close();
  });

  it('detects a damaged header and says to re-index', async () => {
    const store = await VectorStore.open(dir.path, DIM);
    await fill(store, 10, 5);
    await store.close();
    const fh = await open(join(dir.path, 'vectors.f16'), 'r+');
    await fh.write(Buffer.from([0xff]), 0, 1, 12);
    await fh.close();
    await expect(VectorStore.open(dir.path, DIM)).rejects.toMatchObject({
      code: 'corrupt_file',
      file: join(dir.path, 'vectors.f16'),
      message: expect.stringMatching(/header checksum/),
      hint: expect.stringMatching(/Re-index/),
    });
  });

  it('detects committed data that went missing or was swapped', async () => {
    const store = await VectorStore.open(dir.path, DIM);
    await fill(store, 10, 6);
    await store.close();
    const fh = await open(join(dir.path, 'vectors.f16'), 'r+');
    await fh.truncate(64 + 9 * DIM * 2);
    await fh.close();
    await expect(VectorStore.open(dir.path, DIM)).rejects.toMatchObject({ code: 'corrupt_file', message: expect.stringMatching(/shorter than its last commit/) });
    await writeFile(join(dir.path, 'commit.json'), '{"version":1,"dim":64,"rows":9,"tailCrc":1,"indexedRows":0,"meta":null}');
    await expect(VectorStore.open(dir.path, DIM)).rejects.toMatchObject({ code: 'corrupt_file', message: expect.stringMatching(/checksum/) });
  });

  it('refuses vectors of another dimension', async () => {
    (await VectorStore.open(dir.path, DIM)).close();
    await expect(VectorStore.open(dir.path, 512)).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/64-dimensional/) });
  });

  it('exact search returns the true top k with exact scores, honouring a filter', async () => {
    const store = await VectorStore.open(dir.path, DIM);
    const vectors = await fill(store, 2000, 7);
    const query = unitVectors(1, DIM, 99);
    const hits = await store.search(query, 10);
    const truth = exactTop(vectors, query, 10);
    expect(hits.map((h) => h.row)).toEqual(truth.map((t) => t.row));
    hits.forEach((h, i) => expect(Math.abs(h.score - truth[i]!.score)).toBeLessThan(F16_TOLERANCE));
    const even = (row: number): boolean => row % 2 === 0;
    expect((await store.search(query, 10, { allow: even })).map((h) => h.row)).toEqual(exactTop(vectors, query, 10, even).map((t) => t.row));
    await store.close();
  });

  it('approximate search (HNSW) finds the exact top 10 with recall ≥ 0.9, includes rows added after the index, and scores exactly', async () => {
    const store = await VectorStore.open(dir.path, DIM, { exactThreshold: 1000 });
    const first = await fill(store, 8000, 8);
    await store.updateIndex();
    const later = await fill(store, 500, 9); // committed after the checkpoint: searched exactly
    expect(store.indexedRows).toBe(8000);
    const all = new Float32Array(8500 * DIM);
    all.set(first);
    all.set(later, 8000 * DIM);
    let found = 0;
    const queries = 30;
    for (let q = 0; q < queries; q++) {
      // Queries near stored rows, as real text queries land near relevant chips.
      const target = q % 2 ? 8000 + q * 11 : q * 257;
      const query = all.slice(target * DIM, (target + 1) * DIM);
      const hits = await store.search(query, 10);
      const truth = exactTop(all, query, 10);
      found += hits.filter((h) => truth.some((t) => t.row === h.row)).length;
      expect(hits[0]!.row).toBe(target);
      for (const h of hits) {
        let dot = 0;
        for (let i = 0; i < DIM; i++) dot += all[h.row * DIM + i]! * query[i]!;
        expect(Math.abs(h.score - dot)).toBeLessThan(F16_TOLERANCE);
      }
    }
    expect(found / (queries * 10)).toBeGreaterThanOrEqual(0.9);
    await store.close();
    // The index is a checkpoint: it survives a reopen and is used again.
    const again = await VectorStore.open(dir.path, DIM, { exactThreshold: 1000 });
    expect(again.indexedRows).toBe(8000);
    expect((await again.search(all.slice(0, DIM), 1))[0]!.row).toBe(0);
    await again.close();
  });

  it('fails cleanly on a full disk and stays valid', async (ctx) => {
    const mnt = join(dir.path, 'small');
    await mkdir(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      ctx.skip('mounting a 256 KiB tmpfs needs root (CI runs as root); the full-disk test cannot run here');
    }
    try {
      const store = await VectorStore.open(mnt, DIM);
      await fill(store, 100, 10);
      store.append(unitVectors(5000, DIM, 11), Array.from({ length: 5000 }, (_, i) => chipOf(100 + i)));
      await expect(store.commit({ step: 2 })).rejects.toMatchObject({ code: 'io_error', message: expect.stringMatching(/disk is full/) });
      expect(store.count).toBe(100);
      await fill(store, 10, 12);
      await store.close();
      const again = await VectorStore.open(mnt, DIM);
      expect(again.count).toBe(110);
      expect(await again.chip(105)).toEqual(chipOf(105));
      await again.close();
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('lets one writer at a time hold the lock, and takes over a lock left by a dead process', async () => {
    const lock = await StoreLock.acquire(dir.path, 'indexing /data/archive');
    await expect(StoreLock.acquire(dir.path, 'indexing again')).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/already indexing \/data\/archive \(process \d+/),
    });
    await lock.release();
    // A lock file naming a process that does not exist (a crash).
    await writeFile(join(dir.path, 'lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), since: 'then', what: 'x' }));
    const taken = await StoreLock.acquire(dir.path, 'indexing after a crash');
    await taken.release();
  });
});

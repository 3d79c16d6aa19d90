/**
 * Crash safety, for real: a child process writes the store batch after batch and is killed with
 * SIGKILL at random moments, 24 times. After each kill the store must open, hold exactly the rows
 * of the batches its commit record counts (no duplicate, none missing), each row the right chip
 * and vector, and the next writer must carry on from there.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VectorStore } from '../../../app/core/vectors/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { chipOf, rng, unitVectors } from '../../helpers/vectors.js';

const DIM = 32;
const PER = 41;
const KILLS = 24;
const root = new URL('../../..', import.meta.url).pathname;

function runAndKill(dir: string, afterMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'tests/helpers/store-writer.ts'), dir, String(DIM), String(PER)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.once('data', () => setTimeout(() => child.kill('SIGKILL'), afterMs));
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited with ${code}`))));
  });
}

describe('vector store crash safety', () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeAll(async () => (dir = await tempDir()));
  afterAll(() => dir.remove());

  it(`survives ${KILLS} SIGKILLs at random points with no duplicate or missing row`, async () => {
    const random = rng(20261126);
    let previous = 0;
    const counts: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      await runAndKill(dir.path, Math.floor(random() * 120));
      const store = await VectorStore.open(dir.path, DIM);
      const batches = (store.meta as { batches?: number } | null)?.batches ?? 0;
      expect(store.count, `after kill ${k + 1}`).toBe(batches * PER);
      expect(store.count).toBeGreaterThanOrEqual(previous);
      // Every row is the chip it should be; the last row of the first, the newest and three random
      // batches has its batch's vector.
      for (let row = 0; row < store.count; row++) expect(await store.chip(row)).toEqual(chipOf(row));
      const sample = batches ? [0, batches - 1, ...[0, 1, 2].map(() => Math.floor(random() * batches))] : [];
      for (const b of sample) {
        const expected = unitVectors(PER, DIM, 1000 + b).subarray((PER - 1) * DIM);
        const got = await store.vector(b * PER + PER - 1);
        for (let i = 0; i < DIM; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThan(1e-3);
      }
      previous = store.count;
      counts.push(batches);
      await store.close();
    }
    // The writers made progress across the kills (the test is not vacuous).
    expect(counts.at(-1)!).toBeGreaterThan(KILLS);
    console.log(`crash test: ${KILLS} kills, batches committed after each: ${counts.join(' ')}`);
  });
});

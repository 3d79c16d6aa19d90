/**
 * search.query through the active adapter: the query goes through the adapter's text side and every
 * chip (the calibration sample too) through its image side, checked against an independent
 * computation from the stored base vectors; no adapter (or one tuned on another model) leaves search
 * on the base model.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessClient, type KestrelClient } from '../../../app/contract/index.js';
import { openEngine, type Engine } from '../../../app/core/index.js';
import { applyAdapter, initParams, serializeAdapter, tsMatMul, type AdapterConfig, type Params, type RetrievalMetrics } from '../../../app/core/tune/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { HAVE_DATA, installPack, linkScenes } from './fixture.js';

const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, i) => s + x * b[i]!, 0);
const metrics: RetrievalMetrics = { imageToText: { r1: 0, r5: 0, r10: 0 }, textToImage: { r1: 0, r5: 0, r10: 0 }, mR: 0, images: 1, captions: 1 } as RetrievalMetrics;

describe.skipIf(!HAVE_DATA)('search with an adapter', { timeout: 90_000 }, () => {
  let dir: { path: string; remove(): Promise<void> };
  let engine: Engine;
  let client: KestrelClient;
  const config: AdapterConfig = { dim: 16, bottleneck: 8, shared: 4 };
  let params: Params;

  async function register(id: string, model: string): Promise<void> {
    const record = {
      id,
      createdAt: new Date().toISOString(),
      baseModel: { name: model },
      dataHash: '0'.repeat(64),
      config,
      options: {} as never,
      metrics: { baseline: metrics, validation: metrics, bestEpoch: 1, epochsRun: 1, stopReason: 'completed' as const },
      evaluations: [],
      archiveId: 'atest',
      images: 1,
      captions: 1,
    };
    await engine.adapters.save(record, serializeAdapter(config, params));
  }

  beforeAll(async () => {
    dir = await tempDir('kestrel-adapter-');
    const data = join(dir.path, 'data');
    await installPack(data);
    engine = await openEngine({ dataDir: data, runtime: 'in-process' });
    client = createInProcessClient(engine);
    await client.call('models.activate', { id: 'tiny' });
    const imagery = join(dir.path, 'imagery');
    await linkScenes(imagery, ['rs-captioned/rsicd/00001.jpg', 'rs-captioned/rsicd/00002.jpg', 'rs-captioned/rsicd/airport_17.jpg']);
    const { archive } = await client.call('archives.add', { roots: [imagery] });
    await client.call('index.start', { archiveId: archive.id });
    const done = await engine.jobs.wait(archive.id);
    if (done?.state !== 'done' || done.rows < 3) throw new Error(`indexing did not finish: ${JSON.stringify(done)}`);
    // A random (not identity) adapter, so that an image side left out would show.
    params = initParams(config, 7, { random: true });
    await register('adrandom', 'tiny');
    await register('adother', 'another-model');
  });
  afterAll(async () => {
    await engine.close();
    await dir.remove();
  });

  it('scores every chip as the adapted query against the adapted chip vector, and goes back to the base model when none is active', async () => {
    const text = 'a parking lot next to a road';
    const m = await engine.activeModel();
    const [q] = await m.runtime.embedTexts([text]);
    const qa = Float32Array.from(await applyAdapter({ params, config, mm: tsMatMul }, 'text', q!, 1));

    await client.call('adapters.activate', { id: 'adrandom' });
    const adapted = await client.call('search.query', { text, topK: 1000 });
    expect(adapted.adapter).toBe('adrandom');
    expect(adapted.hits.length).toBeGreaterThan(2);
    let moved = 0;
    for (const h of adapted.hits) {
      const base = (await engine.search.chip(h.chipId, 'tiny')).vector;
      const ia = Float32Array.from(await applyAdapter({ params, config, mm: tsMatMul }, 'image', base, 1));
      expect(h.similarity).toBeCloseTo(dot(qa, ia), 4);
      if (Math.abs(h.similarity - dot(q!, base)) > 1e-3) moved++;
    }
    expect(moved).toBeGreaterThan(0);
    for (let i = 1; i < adapted.hits.length; i++) expect(adapted.hits[i]!.score).toBeLessThanOrEqual(adapted.hits[i - 1]!.score);

    // An adapter tuned on another model does not apply to this one.
    await client.call('adapters.activate', { id: 'adother' });
    expect((await client.call('search.query', { text, topK: 5 })).adapter).toBeNull();

    await client.call('adapters.activate', { id: null });
    const plain = await client.call('search.query', { text, topK: 1000 });
    expect(plain.adapter).toBeNull();
    for (const h of plain.hits) expect(h.similarity).toBeCloseTo(dot(q!, (await engine.search.chip(h.chipId, 'tiny')).vector), 3);
  });

  it("calibrates an adapted query on the adapted vectors of the archive's sampled chips", async () => {
    const text = 'a road between fields';
    const m = await engine.activeModel();
    const [q] = await m.runtime.embedTexts([text]);
    const qa = Float32Array.from(await applyAdapter({ params, config, mm: tsMatMul }, 'text', q!, 1));
    await client.call('adapters.activate', { id: 'adrandom' });
    const { calibration } = await client.call('search.query', { text, topK: 5 });
    await client.call('adapters.activate', { id: null });
    // Fewer chips than the calibration sample: every live chip is in it.
    const { archiveId, mean, std, sample } = calibration[0]!;
    const rows = (await engine.search.chipRows(archiveId, 'tiny')).map((r) => r.row);
    const sims: number[] = [];
    for (const base of await engine.search.rowVectors(archiveId, 'tiny', rows)) sims.push(dot(qa, Float32Array.from(await applyAdapter({ params, config, mm: tsMatMul }, 'image', base!, 1))));
    const expectedMean = sims.reduce((a, b) => a + b, 0) / sims.length;
    const expectedStd = Math.sqrt(sims.reduce((a, b) => a + (b - expectedMean) ** 2, 0) / (sims.length - 1));
    expect(sample).toBe(rows.length);
    expect(mean).toBeCloseTo(expectedMean, 5);
    expect(std).toBeCloseTo(expectedStd, 4);
  });
});

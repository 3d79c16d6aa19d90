/**
 * The first run on a new data folder: the starter model is active, the demo archive is added and
 * indexed, and search works at once. The starter model doubles as a retrieval oracle: its answers on
 * the demo archive are known (water is the CBERS reservoir at the bottom of that scene; the city is
 * the Landsat scene of Olinda).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessClient, type KestrelClient } from '../../app/contract/index.js';
import { openEngine, type Engine } from '../../app/core/index.js';
import { tempDir } from '../helpers/tmp.js';

describe('first run', () => {
  let dir: { path: string; remove(): Promise<void> };
  let engine: Engine;
  let client: KestrelClient;

  beforeAll(async () => {
    dir = await tempDir();
    engine = await openEngine({ dataDir: dir.path, runtime: 'in-process', firstRun: true });
    client = createInProcessClient(engine);
  });
  afterAll(async () => {
    await engine?.close();
    await dir?.remove();
  });

  it('activates the starter model and indexes the demo archive', async () => {
    await expect.poll(async () => (await client.call('models.status', {})).runtime?.state, { timeout: 60_000 }).toBe('ready');
    expect((await client.call('models.status', {})).active).toBe('starter');
    await expect.poll(async () => (await client.call('archives.list', {})).length, { timeout: 30_000 }).toBe(1);
    const [demo] = await client.call('archives.list', {});
    expect(demo).toMatchObject({ name: 'Demo archive', sceneCount: 2 });
    await expect.poll(async () => (await client.call('index.status', { archiveId: demo!.id }))[0]?.state, { timeout: 120_000 }).toBe('done');
    const [status] = await client.call('index.status', { archiveId: demo!.id });
    expect(status!.scenes).toMatchObject({ total: 2, done: 2, failed: 0 });
    expect(status!.rows).toBeGreaterThan(40);
  });

  it('"water" finds the reservoir: its top hits lie in the lower part of the CBERS scene', async () => {
    const { hits } = await client.call('search.query', { text: 'water', topK: 5 });
    expect(hits.length).toBeGreaterThan(2);
    for (const h of hits.slice(0, 3)) {
      expect(h.path).toMatch(/cbers_rgb342_crop1\.tif$/);
      // The reservoir crosses the scene's last 40 % (1009 rows).
      expect(h.window.y + h.window.height / 2).toBeGreaterThan(600);
    }
  });

  it('"city" finds Olinda (the Landsat scene), "forest" the CBERS farmland and forest', async () => {
    expect((await client.call('search.query', { text: 'city', topK: 3 })).hits[0]?.path).toMatch(/L7_ETMs\.tif$/);
    expect((await client.call('search.query', { text: 'forest', topK: 3 })).hits[0]?.path).toMatch(/cbers_rgb342_crop1\.tif$/);
  });

  it('explains a query with no word the starter model knows, listing its vocabulary', async () => {
    await expect(client.call('search.query', { text: 'storage tanks next to a harbour' })).resolves.toBeDefined();
    await expect(client.call('search.query', { text: 'storage tanks near the quay' })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/None of the words/),
      hint: expect.stringMatching(/water, lake/),
    });
  });

  it('does not run again on the next start', async () => {
    await engine.close();
    engine = await openEngine({ dataDir: dir.path, runtime: 'in-process', firstRun: true });
    client = createInProcessClient(engine);
    expect(await client.call('archives.list', {})).toHaveLength(1);
  });
});

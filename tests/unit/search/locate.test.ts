/**
 * A chip thumbnail finds its model among the stores search has already opened, without listing the
 * archive's vectors folder each time; a chip of a store not opened yet is still found by listing it.
 */
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createInProcessClient, type KestrelClient } from '../../../app/contract/index.js';
import { openEngine, type Engine } from '../../../app/core/index.js';
import { chipIdOf } from '../../../app/core/search/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { HAVE_DATA, installPack, linkScenes } from './fixture.js';

vi.mock('node:fs/promises', async (original) => {
  const actual = await original<typeof fs>();
  return { ...actual, readdir: vi.fn(actual.readdir) };
});

describe.skipIf(!HAVE_DATA)('chip thumbnails', { timeout: 90_000 }, () => {
  let dir: { path: string; remove(): Promise<void> };
  let data: string;
  let engine: Engine;
  let client: KestrelClient;
  let archiveId: string;

  beforeAll(async () => {
    dir = await tempDir('kestrel-locate-');
    data = join(dir.path, 'data');
    await installPack(data);
    engine = await openEngine({ dataDir: data, runtime: 'in-process' });
    client = createInProcessClient(engine);
    await client.call('models.activate', { id: 'tiny' });
    const imagery = join(dir.path, 'imagery');
    await linkScenes(imagery, ['rs-captioned/rsicd/00001.jpg']);
    archiveId = (await client.call('archives.add', { roots: [imagery] })).archive.id;
    await client.call('index.start', { archiveId });
    if ((await engine.jobs.wait(archiveId))?.state !== 'done') throw new Error('indexing did not finish');
  });
  afterAll(async () => {
    await engine.close();
    await dir.remove();
  });

  const listings = (): number => vi.mocked(fs.readdir).mock.calls.filter(([path]) => path === join(data, 'vectors', archiveId)).length;

  it("lists the archive's vectors folder only for a chip whose store is not open", async () => {
    const chipId = chipIdOf(archiveId, 'tiny', 0);
    const before = listings();
    expect((await engine.thumb(chipId))?.type).toBe('image/webp');
    expect(listings()).toBe(before + 1);
    expect((await engine.thumb(chipId))?.type).toBe('image/webp');
    expect(listings()).toBe(before + 1);
    expect(await engine.thumb(`${archiveId}-00000000-1`)).toBeUndefined();
    expect(listings()).toBe(before + 2);
  });
});

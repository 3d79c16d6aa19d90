/**
 * Archives, the indexing job and search through the engine (in-process contract client), on real
 * rasters from ../shared/data linked into a temporary folder and the tiny fixture model.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdir, open, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInProcessClient, type IndexStatus, type KestrelClient } from '../../../app/contract/index.js';
import { openEngine, type Engine } from '../../../app/core/index.js';
import { globToRegExp } from '../../../app/core/archives/index.js';
import { storeDirOf } from '../../../app/core/jobs/index.js';
import { VectorStore } from '../../../app/core/vectors/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { checkStore } from './check-store.js';
import { HAVE_DATA, SHARED, SKIP_REASON, SMALL_SCENES, expectedChips, garbageRaster, installPack, linkScenes } from './fixture.js';

if (!HAVE_DATA) console.warn(`search tests ${SKIP_REASON}`);

describe('exclude globs', () => {
  it('match names at any depth, folders with everything below, and ** across folders', () => {
    const m = (g: string, p: string): boolean => globToRegExp(g).test(p);
    expect(m('*.jpg', 'a/b/c.jpg')).toBe(true);
    expect(m('*.jpg', 'a/b/c.tif')).toBe(false);
    expect(m('skip', 'skip/x.tif')).toBe(true);
    expect(m('skip', 'a/skip/x.tif')).toBe(true);
    expect(m('skip', 'skipper/x.tif')).toBe(false);
    expect(m('raw/**/*.tif', 'raw/2024/05/x.tif')).toBe(true);
    expect(m('raw/**/*.tif', 'raw/x.tif')).toBe(true);
    expect(m('raw/**/*.tif', 'cooked/raw/x.tif')).toBe(false);
    expect(m('scene_?.tif', 'scene_1.tif')).toBe(true);
    expect(m('scene_?.tif', 'scene_12.tif')).toBe(false);
  });
});

describe.skipIf(!HAVE_DATA)('index and search', { timeout: 120_000 }, () => {
  let dir: { path: string; remove(): Promise<void> };
  let engine: Engine;
  let client: KestrelClient;
  let data: string;
  let imagery: string;

  beforeEach(async () => {
    dir = await tempDir('kestrel-search-');
    data = join(dir.path, 'data');
    imagery = join(dir.path, 'imagery');
    await installPack(data);
    engine = await openEngine({ dataDir: data, runtime: 'in-process', indexJobOptions: { commitEveryMs: 0, batch: 8 } });
    client = createInProcessClient(engine);
    await client.call('models.activate', { id: 'tiny' });
  });
  afterEach(async () => {
    await engine.close();
    await dir.remove();
  });

  async function indexed(archiveId: string): Promise<IndexStatus> {
    await client.call('index.start', { archiveId });
    const done = await engine.jobs.wait(archiveId);
    if (!done) throw new Error('the job did not run');
    return done;
  }

  it('indexes every chip of every readable scene once, skips and reports an unreadable one, and finds chips by text with filters', async () => {
    const links = await linkScenes(imagery, SMALL_SCENES);
    await garbageRaster(join(imagery, 'broken.tif'));
    await linkScenes(join(imagery, 'skip'), ['geotiff/rio-tiler/rgb.tif']);
    const { archive, scan } = await client.call('archives.add', { roots: [imagery], excludes: ['skip'] });
    expect(scan).toMatchObject({ added: SMALL_SCENES.length + 1, changed: 0, removed: 0, errors: 1 });
    expect(scan.problems.map((p) => p.file)).toEqual([join(imagery, 'broken.tif')]);
    expect(archive.sceneCount).toBe(SMALL_SCENES.length);

    const progress: IndexStatus[] = [];
    engine.events.on('index.progressed', (s) => progress.push(s));
    const done = await indexed(archive.id);
    expect(done.state).toBe('done');
    expect(done.scenes).toEqual({ total: SMALL_SCENES.length + 1, done: SMALL_SCENES.length, failed: 1 });
    expect(done.problems.map((p) => p.file)).toEqual([join(imagery, 'broken.tif')]);
    const want = (await Promise.all(links.map((l) => expectedChips(l)))).reduce((a, c) => a + c.length, 0);
    expect(done.rows).toBe(want);
    // Progress went through running states with chips, a rate and the file being read.
    const running = progress.filter((p) => p.state === 'running' && p.chips.done > 0);
    expect(running.length).toBeGreaterThan(0);
    expect(running.some((p) => p.currentFile !== null && links.includes(p.currentFile))).toBe(true);
    expect(running.every((p) => p.chipsPerSecond >= 0)).toBe(true);
    expect(progress.at(-1)?.state).toBe('done');

    const scenes = await engine.catalog.scenes(archive.id);
    const check = await checkStore(storeDirOf(data, archive.id, 'tiny'), scenes);
    expect(check.complete).toBe(SMALL_SCENES.length);
    expect(check.rows).toBe(want);

    const result = await client.call('search.query', { text: 'a river between farmland', topK: 15 });
    expect(result.hits.length).toBe(15);
    expect(result.hits.map((h) => h.rank)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    for (let i = 1; i < result.hits.length; i++) expect(result.hits[i]!.score).toBeLessThanOrEqual(result.hits[i - 1]!.score);
    const byId = new Map(scenes.map((s) => [s.id, s]));
    for (const h of result.hits) {
      const scene = byId.get(h.sceneId)!;
      expect(h.path).toBe(scene.path);
      const chips = await expectedChips(scene.path);
      expect(chips).toContainEqual({ level: h.level, ...h.window });
      expect(h.polygon === null).toBe(!scene.summary!.georeferenced);
      expect(h.score).toBeCloseTo((h.similarity - result.calibration[0]!.mean) / result.calibration[0]!.std, 6);
    }
    // Merged by footprint: no two hits of one scene share ≥ 20 % of the smaller window.
    for (const a of result.hits) {
      for (const b of result.hits) {
        if (a === b || a.sceneId !== b.sceneId) continue;
        const ix = Math.max(0, Math.min(a.window.x + a.window.width, b.window.x + b.window.width) - Math.max(a.window.x, b.window.x));
        const iy = Math.max(0, Math.min(a.window.y + a.window.height, b.window.y + b.window.height) - Math.max(a.window.y, b.window.y));
        expect(ix * iy).toBeLessThan(0.2 * Math.min(a.window.width * a.window.height, b.window.width * b.window.height));
      }
    }
    // Grouped by scene, best scene first.
    expect(result.scenes.flatMap((g) => g.hits).sort((x, y) => x - y)).toEqual(result.hits.map((h) => h.rank));
    expect(result.scenes[0]!.sceneId).toBe(result.hits[0]!.sceneId);

    // Area filter: the COG's footprint box keeps only its chips (the others lie elsewhere on Earth).
    const cog = scenes.find((s) => s.path.endsWith('geotiff_cogeo.tif'))!;
    const inBox = await client.call('search.query', { text: 'a river between farmland', topK: 10, bbox: cog.summary!.bbox! });
    expect(inBox.hits.length).toBeGreaterThan(0);
    expect(new Set(inBox.hits.map((h) => h.sceneId))).toEqual(new Set([cog.id]));
    const [w, s, e, n] = cog.summary!.bbox!;
    const poly = { type: 'Polygon' as const, coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]] as [number, number][]] };
    expect((await client.call('search.query', { text: 'a river between farmland', topK: 10, polygon: poly })).hits.map((h) => h.chipId)).toEqual(inBox.hits.map((h) => h.chipId));
    expect((await client.call('search.query', { text: 'x', bbox: [0, -1, 1, 0] })).hits).toEqual([]);
    // Level and folder filters, and the calibrated cut-off.
    const coarse = await client.call('search.query', { text: 'a river between farmland', topK: 10, levels: [1] });
    expect(coarse.hits.length).toBeGreaterThan(0);
    expect(coarse.hits.every((h) => h.level === 1)).toBe(true);
    expect((await client.call('search.query', { text: 'x', folder: join(dir.path, 'elsewhere') })).hits).toEqual([]);
    const cut = result.hits[4]!.score;
    const strong = await client.call('search.query', { text: 'a river between farmland', topK: 15, minScore: cut });
    expect(strong.hits.length).toBeGreaterThan(0);
    expect(strong.hits.length).toBeLessThan(15);
    expect(strong.hits.every((h) => h.score >= cut)).toBe(true);

    // Chip → similar chips: itself excluded, every score from the stored vectors.
    const similar = await client.call('search.similar', { chipId: result.hits[0]!.chipId, topK: 5 });
    expect(similar.hits.length).toBe(5);
    expect(similar.hits.map((h) => h.chipId)).not.toContain(result.hits[0]!.chipId);
    await expect(client.call('search.similar', { chipId: 'nope-00000000-1' })).rejects.toMatchObject({ code: 'not_found' });

    // Chip → suggested captions from an imported caption bank (RSICD captions, read in place).
    const imported = await client.call('captions.importBank', { file: join(SHARED, 'captions', 'rsicd_test.harma.json') });
    expect(imported.added).toBeGreaterThan(1000);
    const suggested = await client.call('search.suggestCaptions', { chipId: result.hits[0]!.chipId, topK: 3 });
    expect(suggested.bankSize).toBe(imported.bankSize);
    expect(suggested.captions).toHaveLength(3);
    expect(suggested.captions[0]!.similarity).toBeGreaterThanOrEqual(suggested.captions[2]!.similarity);

    // Chip thumbnails by chip id, for georeferenced and pixel-space scenes alike.
    const jpegChip = (await client.call('search.query', { text: 'x', topK: 1000, folder: imagery })).hits.find((h) => h.path.endsWith('.jpg'));
    expect(jpegChip?.polygon).toBeNull();
    for (const chipId of [result.hits[0]!.chipId, jpegChip!.chipId]) {
      const thumb = await engine.thumb(chipId);
      expect(thumb?.type).toBe('image/webp');
      expect(Buffer.from(thumb!.body).subarray(8, 12).toString('latin1')).toBe('WEBP');
    }
    expect(await engine.thumb(`${archive.id}-00000000-1`)).toBeUndefined();
    expect(await engine.thumb(`${archive.id}-${result.hits[0]!.chipId.split('-')[1]}-zzzz`)).toBeUndefined();

    // Scenes are served as map tiles by their catalog id.
    const [cx, cy] = [(w + e) / 2, (s + n) / 2];
    const z = 15;
    const tx = Math.floor(((cx + 180) / 360) * 2 ** z);
    const ty = Math.floor(((1 - Math.log(Math.tan((cy * Math.PI) / 180) + 1 / Math.cos((cy * Math.PI) / 180)) / Math.PI) / 2) * 2 ** z);
    expect((await engine.tile(cog.id, z, tx, ty))?.body.length).toBeGreaterThan(100);
    expect(await engine.tile('0123456789abcdef01234567', z, tx, ty)).toBeUndefined();
  });

  it('rescans: finds added, changed and removed files and re-indexes only those', async () => {
    const [a, b, c] = await linkScenes(imagery, ['geotiff/rio-tiler/cog_rgb.tif', 'rs-captioned/ucm/1.tif', 'geotiff/world.rgb.tif']);
    const { archive } = await client.call('archives.add', { roots: [imagery] });
    expect((await indexed(archive.id)).state).toBe('done');
    const dirOf = storeDirOf(data, archive.id, 'tiny');
    const before = await checkStore(dirOf, await engine.catalog.scenes(archive.id));

    await unlink(a!); // removed
    await unlink(b!);
    await symlink(join(SHARED, 'rs-captioned/ucm/2.tif'), b!); // changed: other content at the same path
    const [d] = await linkScenes(imagery, ['rs-captioned/rsicd/00001.jpg']); // added
    const scan = await client.call('archives.scan', { id: archive.id });
    expect(scan).toMatchObject({ added: 1, changed: 1, removed: 1, unchanged: 1, errors: 0 });
    // Removed and changed files leave search at once, before any re-indexing.
    const stale = await client.call('search.query', { text: 'x', topK: 100 });
    expect(new Set(stale.hits.map((h) => h.path))).toEqual(new Set([c]));

    const again = await indexed(archive.id);
    expect(again.state).toBe('done');
    const after = await checkStore(dirOf, await engine.catalog.scenes(archive.id));
    // Only the changed and the added file were embedded: the unchanged scene kept its rows.
    const fresh = (await expectedChips(b!)).length + (await expectedChips(d!)).length;
    expect(after.rows).toBe(before.rows + fresh);
    expect(after.byPath.get(c!)).toBe(before.byPath.get(c!));
    expect([...after.byPath.keys()].sort()).toEqual([b!, c!, d!].sort());
    const hits = await client.call('search.query', { text: 'x', topK: 100 });
    expect(hits.hits.some((h) => h.path === a)).toBe(false);
    expect(new Set(hits.hits.map((h) => h.path))).toEqual(new Set([b, c, d]));

    // A restarted engine serves the catalog's scenes as tiles by id (the world raster covers tile 1/0/0).
    await engine.close();
    engine = await openEngine({ dataDir: data, runtime: 'in-process', loadModel: false });
    const world = (await engine.catalog.scenes(archive.id)).find((x) => x.path === c)!;
    expect((await engine.tile(world.id, 1, 0, 0))?.body.length).toBeGreaterThan(100);
  });

  it('reports and skips a file that became unreadable after the scan, mid-archive, and indexes the rest', async () => {
    const links = await linkScenes(imagery, ['geotiff/rio-tiler/cog_rgb.tif', 'geotiff/world.rgb.tif', 'rs-captioned/ucm/1.tif']);
    const { archive } = await client.call('archives.add', { roots: [imagery] });
    // The second file turns to garbage after the scan: the job finds out when it reads it.
    await unlink(links[1]!);
    await garbageRaster(join(dir.path, 'garbage.tif'));
    await symlink(join(dir.path, 'garbage.tif'), links[1]!);
    const done = await indexed(archive.id);
    expect(done.state).toBe('done');
    expect(done.scenes).toEqual({ total: 3, done: 2, failed: 1 });
    expect(done.problems).toHaveLength(1);
    expect(done.problems[0]).toMatchObject({ file: links[1], message: expect.any(String) });
    const scenes = await client.call('archives.scenes', { id: archive.id });
    expect(scenes.find((s) => s.path === links[1])).toMatchObject({ status: 'error', error: { message: expect.any(String) } });
    const check = await checkStore(storeDirOf(data, archive.id, 'tiny'), await engine.catalog.scenes(archive.id));
    expect(check.complete).toBe(2);
    expect(check.rows).toBe((await expectedChips(links[0]!)).length + (await expectedChips(links[2]!)).length);
  });

  it('builds the approximate index at the end of a job and searches through it with exact scores and the same filters', async () => {
    await engine.close();
    engine = await openEngine({ dataDir: data, runtime: 'in-process', indexJobOptions: { commitEveryMs: 0, hnswFrom: 1 }, searchExactThreshold: 1 });
    client = createInProcessClient(engine);
    await linkScenes(imagery, ['geotiff/rio-tiler/cog_dateline.tif', 'geotiff/cogeo.tif']);
    const { archive } = await client.call('archives.add', { roots: [imagery] });
    expect((await indexed(archive.id)).state).toBe('done');
    const store = await VectorStore.open(storeDirOf(data, archive.id, 'tiny'), 16, { readOnly: true });
    try {
      expect(store.indexedRows).toBe(store.count);
      const scenes = await engine.catalog.scenes(archive.id);
      const cog = scenes.find((x) => x.path.endsWith('geotiff_cogeo.tif'))!;
      const [q] = await (await engine.activeModel()).runtime.embedTexts(['an airport runway']);
      // (The tiny random model's embeddings are nearly parallel, finer than the graph's float16
      // distances resolve, so the candidate set is compared with brute force in the vector store's
      // own tests on well-spread vectors; here: the graph path's filters and exact re-scoring.)
      for (const filter of [{ topK: 10 }, { topK: 5, levels: [1] }, { topK: 5, bbox: cog.summary!.bbox! }]) {
        const result = await engine.search.search('tiny', q!, filter);
        expect(result.hits.length).toBeGreaterThan(0);
        for (const h of result.hits) {
          const v = await store.vector(parseInt(h.chipId.split('-')[2]!, 36));
          expect(h.similarity).toBeCloseTo(v.reduce((a, x, i) => a + x * q![i]!, 0), 6);
          if (filter.levels) expect(h.level).toBe(1);
          if (filter.bbox) expect(h.sceneId).toBe(cog.id);
        }
      }
    } finally {
      await store.close();
    }
  });

  it('pauses, resumes and cancels, keeping every committed chip exactly once', async () => {
    const links = await linkScenes(imagery, ['geotiff/rio-tiler/cog_dateline.tif', 'geotiff/cogeo.tif']);
    const { archive } = await client.call('archives.add', { roots: [imagery] });
    const dirOf = storeDirOf(data, archive.id, 'tiny');
    const total = (await expectedChips(links[0]!)).length + (await expectedChips(links[1]!)).length;
    let paused: Promise<IndexStatus> | undefined;
    const stop = engine.events.on('index.progressed', (s) => {
      if (!paused && s.state === 'running' && s.chips.done >= 16) paused = client.call('index.pause', { archiveId: archive.id });
    });
    await client.call('index.start', { archiveId: archive.id });
    await expect.poll(() => paused !== undefined, { timeout: 60_000 }).toBe(true);
    const p = await paused!;
    stop();
    expect(p.state).toBe('paused');
    expect(p.rows).toBeGreaterThan(0);
    expect(p.rows).toBeLessThan(total);
    expect((await client.call('index.status', { archiveId: archive.id }))[0]).toMatchObject({ state: 'paused', rows: p.rows });
    const mid = await checkStore(dirOf, await engine.catalog.scenes(archive.id));
    expect(mid.rows).toBe(p.rows);
    // The paused job's chips are searchable already.
    expect((await client.call('search.query', { text: 'x', topK: 5 })).hits.length).toBe(5);

    await client.call('index.resume', { archiveId: archive.id });
    const done = await engine.jobs.wait(archive.id);
    expect(done?.state).toBe('done');
    expect((await checkStore(dirOf, await engine.catalog.scenes(archive.id))).rows).toBe(total);

    let cancelled: Promise<IndexStatus> | undefined;
    engine.events.on('index.progressed', (s) => {
      if (!cancelled && s.state === 'running' && s.chips.done >= 8) cancelled = client.call('index.cancel', { archiveId: archive.id });
    });
    await client.call('index.start', { archiveId: archive.id, reindex: true });
    await expect.poll(() => cancelled !== undefined, { timeout: 60_000 }).toBe(true);
    const c = await cancelled!;
    expect(c.state).toBe('cancelled');
    expect(c.rows).toBeLessThan(total);
    expect((await checkStore(dirOf, await engine.catalog.scenes(archive.id))).rows).toBe(c.rows);
  });

  it('refuses a second job on one archive, in this engine or from another process', async () => {
    await linkScenes(imagery, ['geotiff/rio-tiler/cog_dateline.tif']);
    const { archive } = await client.call('archives.add', { roots: [imagery] });
    await client.call('index.start', { archiveId: archive.id });
    await expect(client.call('index.start', { archiveId: archive.id })).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/already being indexed/) });
    await client.call('index.cancel', { archiveId: archive.id });

    // A live process holding the archive's lock (as `kestrel index` would).
    const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const lockDir = join(data, 'vectors', archive.id);
      await mkdir(lockDir, { recursive: true });
      await writeFile(join(lockDir, 'lock'), JSON.stringify({ pid: holder.pid, host: (await import('node:os')).hostname(), since: new Date().toISOString(), what: 'indexing "imagery" with tiny' }));
      await expect(client.call('index.start', { archiveId: archive.id })).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(new RegExp(`process ${holder.pid}`)) });
    } finally {
      holder.kill();
    }
  });

  it('detects a damaged store header, says so in search and indexing, and rebuilds it on re-index', async () => {
    const links = await linkScenes(imagery, ['geotiff/rio-tiler/cog_rgb.tif', 'geotiff/world.rgb.tif']);
    const { archive } = await client.call('archives.add', { roots: [imagery] });
    expect((await indexed(archive.id)).state).toBe('done');
    const fh = await open(join(storeDirOf(data, archive.id, 'tiny'), 'vectors.f16'), 'r+');
    await fh.write(Buffer.from([0x42]), 0, 1, 9); // a flipped byte in the header
    await fh.close();
    await expect(client.call('search.query', { text: 'x' })).rejects.toMatchObject({ code: 'corrupt_file', message: expect.stringMatching(/header checksum/) });
    const err = await client.call('index.start', { archiveId: archive.id }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'corrupt_file', hint: expect.stringMatching(/reindex/) });
    await client.call('index.start', { archiveId: archive.id, reindex: true });
    expect((await engine.jobs.wait(archive.id))?.state).toBe('done');
    const total = (await expectedChips(links[0]!)).length + (await expectedChips(links[1]!)).length;
    expect((await checkStore(storeDirOf(data, archive.id, 'tiny'), await engine.catalog.scenes(archive.id))).rows).toBe(total);
    expect((await client.call('search.query', { text: 'x', topK: 3 })).hits).toHaveLength(3);
  });

  it('fails cleanly on a full disk, leaves the store valid, and resumes once there is space', async (ctx) => {
    const links = await linkScenes(imagery, ['geotiff/rio-tiler/cog_dateline.tif']);
    const { archive } = await client.call('archives.add', { roots: [imagery] });
    const mnt = join(data, 'vectors', archive.id);
    await mkdir(mnt, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24k', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      ctx.skip('mounting a small tmpfs needs root (CI runs as root); the full-disk test cannot run here');
    }
    try {
      const failed = await indexed(archive.id);
      expect(failed.state).toBe('failed');
      expect(failed.error).toMatchObject({ code: 'io_error', message: expect.stringMatching(/disk is full/) });
      const mid = await checkStore(storeDirOf(data, archive.id, 'tiny'), await engine.catalog.scenes(archive.id));
      expect(mid.rows).toBe(failed.rows);
      execFileSync('mount', ['-o', 'remount,size=4m', mnt]);
      const done = await indexed(archive.id);
      expect(done.state).toBe('done');
      expect((await checkStore(storeDirOf(data, archive.id, 'tiny'), await engine.catalog.scenes(archive.id))).rows).toBe((await expectedChips(links[0]!)).length);
    } finally {
      await engine.close();
      execFileSync('umount', [mnt]);
      await rm(mnt, { recursive: true, force: true });
    }
  });
});

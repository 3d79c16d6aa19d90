/**
 * One contract test suite, run against every transport (in-process and HTTP + WebSocket): what a
 * front end can observe must not depend on how it reaches the engine.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KestrelClient, KestrelError } from '../../app/contract/index.js';
import { flatTile, writeMbtiles, writeXyz } from '../helpers/basemap.js';

export interface Transport {
  client: KestrelClient;
  /** Resolves once events can be received (the socket is open, for HTTP). */
  eventsReady(): Promise<void>;
  /** Close this transport and the engine behind it, keeping the data folder. */
  close(): Promise<void>;
}

export type OpenTransport = (dataDir: string) => Promise<Transport>;

const fixturePacks = new URL('../fixtures/model/packs/', import.meta.url).pathname;

async function installPack(dataDir: string, fixture: string, id: string): Promise<void> {
  await mkdir(join(dataDir, 'models'), { recursive: true });
  await cp(join(fixturePacks, fixture), join(dataDir, 'models', id), { recursive: true });
}

/** The shared real rasters, read in place through links (never copied). */
const sharedData = resolve(new URL('../../..', import.meta.url).pathname, 'shared', 'data');
const haveData = existsSync(join(sharedData, 'geotiff'));

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

async function rejection(p: Promise<unknown>): Promise<KestrelError> {
  try {
    await p;
  } catch (err) {
    return err as KestrelError;
  }
  throw new Error('expected the call to fail');
}

export function describeContract(name: string, open: OpenTransport, tempDir: () => Promise<{ path: string; remove(): Promise<void> }>): void {
  describe(`contract over ${name}`, () => {
    let dir: { path: string; remove(): Promise<void> };
    let t: Transport;
    beforeEach(async () => {
      dir = await tempDir();
      t = await open(dir.path);
    });
    afterEach(async () => {
      await t.close();
      await dir.remove();
    });

    it('app.info reports version, platform, data folder and onnxruntime-node execution providers', async () => {
      const info = await t.client.call('app.info', {});
      expect(info.name).toBe('kestrel');
      expect(info.version).toBe(pkg.version);
      expect(info.platform).toBe(process.platform);
      expect(info.arch).toBe(process.arch);
      expect(info.dataDir).toBe(dir.path);
      const names = info.executionProviders.map((p) => p.name);
      expect(names).toContain('cpu');
      if (process.platform === 'linux' && process.arch === 'x64') expect(names).toContain('webgpu');
      expect(info.executionProviders.find((p) => p.name === 'cpu')?.bundled).toBe(true);
      expect(info.notices).toEqual([]);
    });

    it('settings.get returns the defaults in a new data folder', async () => {
      expect(await t.client.call('settings.get', {})).toEqual({
        theme: 'system',
        searchTopK: 50,
        executionProvider: 'auto',
        welcomeDismissed: false,
        activeModel: null,
        basemap: null,
      });
    });

    it('settings.set merges a patch, returns the result and persists it across a restart', async () => {
      const next = await t.client.call('settings.set', { theme: 'dark', searchTopK: 20 });
      expect(next).toMatchObject({ theme: 'dark', searchTopK: 20, executionProvider: 'auto' });
      await t.close();
      t = await open(dir.path);
      expect(await t.client.call('settings.get', {})).toMatchObject({ theme: 'dark', searchTopK: 20 });
    });

    it('settings.set emits settings.changed to subscribers', async () => {
      const seen: unknown[] = [];
      const stop = t.client.on('settings.changed', (s) => seen.push(s));
      await t.eventsReady();
      await t.client.call('settings.set', { theme: 'light' });
      await expect.poll(() => seen.length).toBe(1);
      expect(seen[0]).toMatchObject({ theme: 'light' });
      stop();
    });

    it('refuses invalid input with invalid_input naming the field, and changes nothing', async () => {
      const err = await rejection(t.client.call('settings.set', { searchTopK: 0 }));
      expect(err.code).toBe('invalid_input');
      expect(err.issues?.[0]?.path).toBe('searchTopK');
      const bad = await rejection(t.client.call('settings.set', { theme: 'purple' as 'dark' }));
      expect(bad.code).toBe('invalid_input');
      expect(bad.message).toContain('theme');
      expect(await t.client.call('settings.get', {})).toMatchObject({ theme: 'system', searchTopK: 50 });
    });

    it('settings.set refuses a basemap that cannot serve tiles, naming the file, and keeps the settings', async () => {
      const noTiles = join(dir.path, 'empty-folder');
      await mkdir(join(noTiles, '2', '1'), { recursive: true });
      const folderErr = await rejection(t.client.call('settings.set', { basemap: { kind: 'xyz', folder: noTiles }, theme: 'dark' }));
      expect(folderErr).toMatchObject({ code: 'invalid_input', file: noTiles });
      expect(folderErr.message).toMatch(/contains no XYZ tiles/);
      expect(folderErr.hint).toBeTruthy();

      const corrupt = join(dir.path, 'broken.mbtiles');
      await writeFile(corrupt, Buffer.alloc(8192, 'garbage '));
      const fileErr = await rejection(t.client.call('settings.set', { basemap: { kind: 'mbtiles', file: corrupt } }));
      expect(fileErr).toMatchObject({ code: 'corrupt_file', file: corrupt });
      expect(fileErr.message).toMatch(/broken\.mbtiles is not an MBTiles file/);

      const relative = await rejection(t.client.call('settings.set', { basemap: { kind: 'mbtiles', file: 'tiles.mbtiles' } }));
      expect(relative.code).toBe('invalid_input');
      expect(await t.client.call('settings.get', {})).toMatchObject({ theme: 'system', basemap: null });
      expect(await t.client.call('basemap.info', {})).toBeNull();
    });

    it('basemap.info describes the basemap in the settings, after a restart too, and null once it is None', async () => {
      expect(await t.client.call('basemap.info', {})).toBeNull();
      const file = join(dir.path, 'world.mbtiles');
      writeMbtiles(file, [{ z: 0, x: 0, y: 0, data: await flatTile([90, 160, 90]) }, { z: 2, x: 1, y: 1, data: await flatTile([20, 20, 20]) }], {
        name: 'Little world',
        format: 'png',
        bounds: '-180,-85,180,85',
        attribution: '© Test data',
      });
      const seen: unknown[] = [];
      const stop = t.client.on('settings.changed', (s) => seen.push(s.basemap));
      await t.eventsReady();
      const saved = await t.client.call('settings.set', { basemap: { kind: 'mbtiles', file } });
      expect(saved.basemap).toEqual({ kind: 'mbtiles', file });
      await expect.poll(() => seen).toEqual([{ kind: 'mbtiles', file }]);
      stop();
      const expected = { kind: 'mbtiles', name: 'Little world', format: 'png', minZoom: 0, maxZoom: 2, bounds: [-180, -85, 180, 85], attribution: '© Test data' };
      const info = await t.client.call('basemap.info', {});
      expect(info).toMatchObject(expected);
      expect(info?.version).toMatch(/^[a-z0-9]+$/);

      await t.close();
      t = await open(dir.path);
      expect(await t.client.call('basemap.info', {})).toMatchObject(expected);

      const folder = join(dir.path, 'xyz');
      await writeXyz(folder, [{ z: 3, x: 2, y: 5, data: await flatTile([200, 100, 50], { format: 'webp' }) }], 'webp');
      await t.client.call('settings.set', { basemap: { kind: 'xyz', folder } });
      expect(await t.client.call('basemap.info', {})).toMatchObject({ kind: 'xyz', name: 'xyz', format: 'webp', minZoom: 3, maxZoom: 3, bounds: null, attribution: null });

      await t.client.call('settings.set', { basemap: null });
      expect(await t.client.call('basemap.info', {})).toBeNull();
    });

    it('refuses unknown fields rather than ignoring them', async () => {
      const err = await rejection(t.client.call('settings.set', { theme: 'dark', colour: 'red' } as never));
      expect(err.code).toBe('invalid_input');
      expect(err.message).toContain('colour');
    });

    it('refuses a method that is not in the contract', async () => {
      const err = await rejection(t.client.call('files.delete' as never, {} as never));
      expect(err.code).toBe('unknown_method');
    });

    it('archives.list is empty in a new data folder', async () => {
      expect(await t.client.call('archives.list', {})).toEqual([]);
    });

    it('models.list shows installed packs with their licence and provenance, and what is wrong with a broken one', async () => {
      // A new data folder has only what Kestrel ships: the starter model.
      expect((await t.client.call('models.list', {})).map((p) => [p.id, p.source])).toEqual([['starter', 'bundled']]);
      await installPack(dir.path, 'tiny-quickgelu', 'tiny-q');
      await mkdir(join(dir.path, 'models', 'broken'), { recursive: true });
      await writeFile(join(dir.path, 'models', 'broken', 'manifest.json'), '{"format": "kestrel-model-pack"}');
      const packs = await t.client.call('models.list', {});
      const tiny = packs.find((p) => p.id === 'tiny-q');
      expect(tiny).toMatchObject({ source: 'installed', activation: 'quick_gelu' });
      expect(tiny?.problem).toBeUndefined();
      expect(tiny?.licence.length).toBeGreaterThan(0);
      expect(tiny?.provenance.length).toBeGreaterThan(0);
      const broken = packs.find((p) => p.id === 'broken');
      expect(broken?.problem?.message).toBeTruthy();
      expect(broken?.problem?.file).toContain(join('models', 'broken'));
    });

    it('models.status explains the execution-provider plan for this machine before any model is loaded', async () => {
      const status = await t.client.call('models.status', {});
      expect(status).toMatchObject({ active: null, preference: 'auto', runtime: null });
      expect(status.plan.candidates.at(-1)).toBe('cpu');
      for (const s of status.plan.skipped) expect(s.reason?.length).toBeGreaterThan(10);
    });

    it('models.activate loads and warms up a pack in the inference worker, says which provider and why, and reloads it at the next start', async () => {
      await installPack(dir.path, 'tiny-gelu', 'tiny-g');
      const changes: string[] = [];
      t.client.on('models.statusChanged', (s) => changes.push(s.runtime?.state ?? 'none'));
      await t.eventsReady();
      const started = await t.client.call('models.activate', { id: 'tiny-g' });
      expect(started.active).toBe('tiny-g');
      await expect.poll(async () => (await t.client.call('models.status', {})).runtime?.state, { timeout: 60_000 }).toBe('ready');
      const ready = await t.client.call('models.status', {});
      expect(ready.runtime?.provider).toBe('cpu');
      expect(ready.runtime?.warmUpMs).toBeGreaterThanOrEqual(0);
      // Every provider tried or skipped before the one used is listed with the reason.
      const used = ready.runtime!.providers.find((p) => p.outcome === 'used');
      expect(used?.provider).toBe('cpu');
      for (const p of ready.runtime!.providers.filter((p) => p.outcome !== 'used')) expect(p.reason?.length, p.provider).toBeGreaterThan(5);
      await expect.poll(() => changes.includes('ready')).toBe(true);
      expect((await t.client.call('settings.get', {})).activeModel).toBe('tiny-g');

      await t.close();
      t = await open(dir.path);
      await expect.poll(async () => (await t.client.call('models.status', {})).runtime?.state, { timeout: 60_000 }).toBe('ready');
      expect((await t.client.call('models.status', {})).active).toBe('tiny-g');
      await t.client.call('models.activate', { id: null });
      expect((await t.client.call('models.status', {})).runtime).toBeNull();
    });

    it('models.activate refuses an unknown pack and anything that looks like a path', async () => {
      await expect(t.client.call('models.activate', { id: 'nope' })).rejects.toMatchObject({ code: 'not_found' });
      await expect(t.client.call('models.activate', { id: '../../etc' })).rejects.toMatchObject({ code: 'invalid_input' });
      await expect(t.client.call('settings.set', { activeModel: 'x' } as never)).rejects.toMatchObject({ code: 'invalid_input' });
    });

    it('archives.add refuses folders that are relative, missing, files, or nested in each other', async () => {
      await expect(t.client.call('archives.add', { roots: ['imagery'] })).rejects.toMatchObject({ code: 'invalid_input', issues: [{ path: 'roots.0' }] });
      await expect(t.client.call('archives.add', { roots: [join(dir.path, 'nope')] })).rejects.toMatchObject({ code: 'not_found', file: join(dir.path, 'nope') });
      await writeFile(join(dir.path, 'a.tif'), 'x');
      await expect(t.client.call('archives.add', { roots: [join(dir.path, 'a.tif')] })).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/not a folder/) });
      await mkdir(join(dir.path, 'outer', 'inner'), { recursive: true });
      await expect(t.client.call('archives.add', { roots: [join(dir.path, 'outer'), join(dir.path, 'outer', 'inner')] })).rejects.toMatchObject({ code: 'invalid_input' });
      expect(await t.client.call('archives.list', {})).toEqual([]);
      await expect(t.client.call('index.start', { archiveId: 'anope' })).rejects.toMatchObject({ code: 'not_found' });
      await expect(t.client.call('search.query', { text: 'x' })).rejects.toMatchObject({ code: 'unavailable' });
      await expect(t.client.call('search.query', { text: 'x', bbox: [0, 95, 1, 0] as never })).rejects.toMatchObject({ code: 'invalid_input' });
    });

    it.skipIf(!haveData)('archives.add scans, index.start indexes with progress events, search.query finds chips, archives.remove forgets them', { timeout: 90_000 }, async () => {
      await installPack(dir.path, 'tiny-gelu', 'tiny-g');
      await t.client.call('models.activate', { id: 'tiny-g' });
      const imagery = join(dir.path, 'imagery');
      await mkdir(imagery);
      await symlink(join(sharedData, 'geotiff', 'rio-tiler', 'cog_rgb.tif'), join(imagery, 'cog_rgb.tif'));
      await symlink(join(sharedData, 'rs-captioned', 'ucm', '1.tif'), join(imagery, 'ucm_1.tif'));
      const scanned: unknown[] = [];
      const progress: { state: string; chips: { done: number } }[] = [];
      t.client.on('archives.scanned', (r) => scanned.push(r));
      t.client.on('index.progressed', (s) => progress.push(s));
      await t.eventsReady();
      const { archive, scan } = await t.client.call('archives.add', { roots: [imagery], name: 'Test imagery' });
      expect(archive).toMatchObject({ name: 'Test imagery', roots: [imagery], sceneCount: 2 });
      expect(scan).toMatchObject({ archiveId: archive.id, added: 2, errors: 0 });
      const scenes = await t.client.call('archives.scenes', { id: archive.id });
      expect(scenes.map((s) => s.path).sort()).toEqual([join(imagery, 'cog_rgb.tif'), join(imagery, 'ucm_1.tif')]);
      expect(scenes.find((s) => s.path.endsWith('cog_rgb.tif'))?.footprint?.type).toBe('Polygon');
      expect(scenes.find((s) => s.path.endsWith('ucm_1.tif'))?.footprint).toBeNull();

      const started = await t.client.call('index.start', { archiveId: archive.id });
      expect(started).toMatchObject({ archiveId: archive.id, model: 'tiny-g' });
      await expect.poll(async () => (await t.client.call('index.status', { archiveId: archive.id }))[0]?.state, { timeout: 60_000 }).toBe('done');
      const status = (await t.client.call('index.status', {}))[0]!;
      expect(status.rows).toBeGreaterThan(4);
      expect(status.scenes).toMatchObject({ total: 2, done: 2, failed: 0 });
      await expect.poll(() => progress.at(-1)?.state).toBe('done');
      expect(progress.some((p) => p.state === 'running')).toBe(true);
      await expect.poll(() => scanned.length).toBe(1);

      const result = await t.client.call('search.query', { text: 'a parking lot next to a road', topK: 4 });
      expect(result.model).toBe('tiny-g');
      // Two small scenes: overlapping chips merge, so fewer hits than asked for, and every chip accounted for.
      expect(result.hits.length).toBeGreaterThan(0);
      expect(result.hits.reduce((a, h) => a + 1 + h.merged, 0)).toBeLessThanOrEqual(status.rows);
      for (const h of result.hits) {
        expect(scenes.map((s) => s.id)).toContain(h.sceneId);
        expect(h.polygon === null).toBe(h.path.endsWith('ucm_1.tif'));
        expect(Number.isFinite(h.score)).toBe(true);
      }
      const similar = await t.client.call('search.similar', { chipId: result.hits[0]!.chipId, topK: 2 });
      expect(similar.hits.map((h) => h.chipId)).not.toContain(result.hits[0]!.chipId);
      await expect(t.client.call('search.query', { text: 'x', model: 'other' })).rejects.toMatchObject({ code: 'invalid_input' });
      expect((await t.client.call('search.suggestCaptions', { chipId: result.hits[0]!.chipId })).captions).toEqual([]);

      expect(await t.client.call('archives.remove', { id: archive.id })).toEqual({ removed: true });
      expect(await t.client.call('archives.list', {})).toEqual([]);
      expect((await t.client.call('search.query', { text: 'x' })).hits).toEqual([]);
    });

    it.skipIf(!haveData)('captions.add/edit/delete/undo keep a full history, validate their input, survive a restart and go with their archive', async () => {
      const imagery = join(dir.path, 'imagery');
      await mkdir(imagery);
      await symlink(join(sharedData, 'rs-captioned', 'rsicd', '00001.jpg'), join(imagery, '00001.jpg'));
      await symlink(join(sharedData, 'rs-captioned', 'ucm', '1.tif'), join(imagery, 'ucm_1.tif'));
      const { archive } = await t.client.call('archives.add', { roots: [imagery] });
      const [s1, s2] = await t.client.call('archives.scenes', { id: archive.id });
      const changes: { op: string; caption: { id: string; text: string | null } | null }[] = [];
      t.client.on('captions.changed', (e) => changes.push(e));
      await t.eventsReady();

      const c = await t.client.call('captions.add', { target: { sceneId: s1!.id }, text: '  a playground surrounded by buildings ' });
      expect(c).toMatchObject({ archiveId: archive.id, sceneId: s1!.id, chipId: null, text: 'a playground surrounded by buildings', provenance: 'person', changes: 1 });
      const other = await t.client.call('captions.add', { target: { sceneId: s2!.id, archiveId: archive.id }, text: 'a field', provenance: 'suggested' });
      expect(other.provenance).toBe('suggested');
      expect((await t.client.call('captions.edit', { id: c.id, text: 'a football field surrounded by buildings' })).text).toBe('a football field surrounded by buildings');
      expect((await t.client.call('captions.edit', { id: c.id, text: 'a football field and trees' })).changes).toBe(3);
      expect((await t.client.call('captions.undo', { id: c.id })).text).toBe('a football field surrounded by buildings');
      expect((await t.client.call('captions.delete', { id: other.id })).text).toBeNull();
      expect((await t.client.call('captions.list', { archiveId: archive.id })).map((x) => x.id)).toEqual([c.id]);
      expect((await t.client.call('captions.undo', { id: other.id })).text).toBe('a field');
      expect((await t.client.call('captions.list', { sceneId: s2!.id })).map((x) => x.text)).toEqual(['a field']);
      await expect.poll(() => changes.length).toBe(7);
      expect(changes.map((e) => e.op)).toEqual(['add', 'add', 'edit', 'edit', 'undo', 'delete', 'undo']);

      // Validation: empty text, unknown fields, ids that are paths, things that do not exist.
      await expect(t.client.call('captions.add', { target: { sceneId: s1!.id }, text: '   ' })).rejects.toMatchObject({ code: 'invalid_input' });
      await expect(t.client.call('captions.add', { target: { sceneId: s1!.id }, text: 'x', who: 'admin' } as never)).rejects.toMatchObject({ code: 'invalid_input' });
      await expect(t.client.call('captions.add', { target: { sceneId: s1!.id, chipId: 'x' } as never, text: 'x' })).rejects.toMatchObject({ code: 'invalid_input' });
      await expect(t.client.call('captions.add', { target: { sceneId: 'nosuchscene' }, text: 'x' })).rejects.toMatchObject({ code: 'not_found' });
      await expect(t.client.call('captions.add', { target: { chipId: `${archive.id}-00000000-1` }, text: 'x' })).rejects.toMatchObject({ code: 'not_found' });
      await expect(t.client.call('captions.edit', { id: '../etc', text: 'x' })).rejects.toMatchObject({ code: 'invalid_input' });
      await expect(t.client.call('captions.edit', { id: `c${archive.id}_000000000000`, text: 'x' })).rejects.toMatchObject({ code: 'not_found' });
      await expect(t.client.call('captions.history', { id: 'cnosuch_000000000000' })).rejects.toMatchObject({ code: 'not_found' });
      await expect(t.client.call('captions.provenance' as never, {} as never)).rejects.toMatchObject({ code: 'unknown_method' });

      await t.close();
      t = await open(dir.path);
      const { caption, changes: history } = await t.client.call('captions.history', { id: c.id });
      expect(caption).toMatchObject({ text: 'a football field surrounded by buildings', provenance: 'person', changes: 4 });
      expect(history.map((h) => [h.op, h.who, h.before, h.after])).toEqual([
        ['add', 'person', null, 'a playground surrounded by buildings'],
        ['edit', 'person', 'a playground surrounded by buildings', 'a football field surrounded by buildings'],
        ['edit', 'person', 'a football field surrounded by buildings', 'a football field and trees'],
        ['undo', 'person', 'a football field and trees', 'a football field surrounded by buildings'],
      ]);
      for (const h of history) expect(Date.parse(h.at)).not.toBeNaN();

      expect(await t.client.call('archives.remove', { id: archive.id })).toEqual({ removed: true });
      expect(await t.client.call('captions.list', {})).toEqual([]);
      await expect(t.client.call('captions.history', { id: c.id })).rejects.toMatchObject({ code: 'not_found' });
    });

    it.skipIf(!haveData)('tune.start trains an adapter on an archive’s captions with progress events; versions are registered, activated and rolled back', { timeout: 120_000 }, async () => {
      await installPack(dir.path, 'tiny-gelu', 'tiny-g');
      await t.client.call('models.activate', { id: 'tiny-g' });
      const manifest = JSON.parse(readFileSync(join(sharedData, 'rs-captioned', 'manifest.json'), 'utf8')) as { file: string; captions: string[] }[];
      const captioned = manifest.filter((m) => m.file.startsWith('rsicd/') && m.captions.length > 0).slice(0, 12);
      const imagery = join(dir.path, 'imagery');
      await mkdir(imagery);
      for (const m of captioned) await symlink(join(sharedData, 'rs-captioned', m.file), join(imagery, m.file.split('/')[1]!));
      const { archive } = await t.client.call('archives.add', { roots: [imagery] });
      await t.client.call('index.start', { archiveId: archive.id });
      await expect.poll(async () => (await t.client.call('index.status', { archiveId: archive.id }))[0]?.state, { timeout: 60_000 }).toBe('done');
      // Too few captions: refused with what to do.
      await expect(t.client.call('tune.start', { archiveId: archive.id })).rejects.toMatchObject({ code: 'invalid_input', hint: expect.stringMatching(/index/) });
      await expect(t.client.call('tune.start', { archiveId: 'anope' })).rejects.toMatchObject({ code: 'not_found' });
      expect(await t.client.call('tune.cancel', { archiveId: archive.id })).toEqual({ cancelled: false });

      const scenes = await t.client.call('archives.scenes', { id: archive.id });
      for (const m of captioned) {
        const scene = scenes.find((s) => s.path.endsWith(m.file.split('/')[1]!))!;
        for (const text of m.captions.slice(0, 3)) await t.client.call('captions.add', { target: { sceneId: scene.id }, text });
      }
      const progress: { state: string; epoch: number; loss: number | null; valMR: number | null; adapterId: string | null }[] = [];
      t.client.on('tune.progressed', (p) => progress.push(p));
      await t.eventsReady();
      const started = await t.client.call('tune.start', { archiveId: archive.id, epochs: 3 });
      expect(started).toMatchObject({ archiveId: archive.id, state: 'running', model: 'tiny-g', images: 12, captions: 36, epochs: 3 });
      await expect.poll(() => progress.at(-1)?.state, { timeout: 60_000 }).toBe('done');
      const epochs = progress.filter((p) => p.state === 'running');
      expect(epochs.length).toBeGreaterThan(0);
      expect(epochs.map((p) => p.epoch)).toEqual(epochs.map((_, i) => i + 1));
      for (const p of epochs) {
        expect(p.loss).toBeGreaterThan(0);
        expect(p.valMR).toBeGreaterThanOrEqual(0);
      }
      const first = progress.at(-1)!.adapterId!;
      let versions = await t.client.call('adapters.list', {});
      expect(versions).toHaveLength(1);
      expect(versions[0]).toMatchObject({ id: first, archiveId: archive.id, baseModel: { name: 'tiny-g' }, images: 12, captions: 36, active: false });
      expect(versions[0]!.dataHash).toMatch(/^[0-9a-f]{64}$/);
      expect(existsSync(join(dir.path, 'adapters', `${first}.json`))).toBe(true);

      // A second version after another caption; activate it, then roll back to the first.
      await t.client.call('captions.add', { target: { sceneId: scenes[0]!.id }, text: 'many buildings and green trees' });
      progress.length = 0;
      await t.client.call('tune.start', { archiveId: archive.id, epochs: 1 });
      await expect.poll(() => progress.at(-1)?.state, { timeout: 60_000 }).toBe('done');
      const second = progress.at(-1)!.adapterId!;
      versions = await t.client.call('adapters.list', {});
      expect(versions.map((v) => v.id)).toEqual([second, first]);
      expect(versions[0]!.dataHash).not.toBe(versions[1]!.dataHash);
      expect(await t.client.call('adapters.activate', { id: second })).toEqual({ active: second });
      expect(await t.client.call('adapters.activate', { id: first })).toEqual({ active: first });
      await expect(t.client.call('adapters.activate', { id: 'adnope' })).rejects.toMatchObject({ code: 'not_found' });
      await t.close();
      t = await open(dir.path);
      expect((await t.client.call('adapters.list', {})).map((v) => [v.id, v.active])).toEqual([
        [second, false],
        [first, true],
      ]);
      expect(await t.client.call('adapters.activate', { id: null })).toEqual({ active: null });
    });
  });
}

/**
 * One contract test suite, run against every transport (in-process, HTTP + WebSocket, and Electron
 * IPC through the real preload): what a front end can observe must not depend on how it reaches the
 * engine.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImportStatus, KestrelClient, KestrelError, ScanProgress } from '../../app/contract/index.js';
import type { EngineOptions } from '../../app/core/index.js';
import { writeOpenClipSafetensors } from '../helpers/checkpoints.js';
import { flatTile, writeMbtiles, writeXyz } from '../helpers/basemap.js';

export interface Transport {
  client: KestrelClient;
  /** Resolves once events can be received (the socket is open, for HTTP). */
  eventsReady(): Promise<void>;
  /** Close this transport and the engine behind it, keeping the data folder. */
  close(): Promise<void>;
  /**
   * The desktop app's native picker (IPC only): queue what the user will choose, a path or null for a
   * cancel. Transports without one answer dialog.pick with `unsupported`.
   */
  picker?: { choose(path: string | null): void };
}

/** Engine options a transport passes through (a hook that paces archive scans). */
export type TransportOptions = Pick<EngineOptions, 'scanOptions'>;
export type OpenTransport = (dataDir: string, options?: TransportOptions) => Promise<Transport>;

const fixturePacks = new URL('../fixtures/model/packs/', import.meta.url).pathname;
const importerFixtures = new URL('../fixtures/importer/', import.meta.url).pathname;

/** What is in the data folder's models folder (the importer's hidden temporary folders included). */
const modelsFolder = (dataDir: string): string[] => (existsSync(join(dataDir, 'models')) ? readdirSync(join(dataDir, 'models')) : []);

async function installPack(dataDir: string, fixture: string, id: string): Promise<void> {
  await mkdir(join(dataDir, 'models'), { recursive: true });
  await cp(join(fixturePacks, fixture), join(dataDir, 'models', id), { recursive: true });
}

/** The shared real rasters, read in place through links (never copied). */
const sharedData = resolve(new URL('../../..', import.meta.url).pathname, 'shared', 'data');
const haveData = existsSync(join(sharedData, 'geotiff'));
if (!haveData) console.log(`${sharedData} is absent: the contract tests that scan and index real GeoTIFFs are skipped.`);

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
    /** Awaited by the engine before each file a scan reads: the scan tests pace or hold scans with it. */
    let beforeScanFile: (file: string) => Promise<void>;
    const openHere = (): Promise<Transport> => open(dir.path, { scanOptions: { beforeFile: (file) => beforeScanFile(file) } });
    beforeEach(async () => {
      beforeScanFile = async () => {};
      dir = await tempDir();
      t = await openHere();
    });
    afterEach(async () => {
      await t.close();
      await dir.remove();
    });

    /** The tiny GELU pack, active, and a folder of two real scenes (linked, never copied): a COG and a pixel-space UCM tile. */
    async function twoSceneImagery(): Promise<string> {
      await installPack(dir.path, 'tiny-gelu', 'tiny-g');
      await t.client.call('models.activate', { id: 'tiny-g' });
      const imagery = join(dir.path, 'imagery');
      await mkdir(imagery);
      await symlink(join(sharedData, 'geotiff', 'rio-tiler', 'cog_rgb.tif'), join(imagery, 'cog_rgb.tif'));
      await symlink(join(sharedData, 'rs-captioned', 'ucm', '1.tif'), join(imagery, 'ucm_1.tif'));
      return imagery;
    }

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
      t = await openHere();
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

    it('view.get starts empty; view.set keeps history, the last query and the filters across a restart', async () => {
      expect(await t.client.call('view.get', {})).toEqual({
        searchHistory: [],
        lastQuery: null,
        filters: { area: null, archiveId: null, scale: 'any', topK: null },
      });
      const filters = {
        area: { kind: 'polygon' as const, ring: [[-43.2, -22.9], [-43.1, -22.9], [-43.1, -22.8], [-43.2, -22.9]] as [number, number][] },
        archiveId: 'harbour',
        scale: '3+' as const,
        topK: 12,
      };
      await t.client.call('view.set', { searchHistory: ['water', 'bridge over a river'], lastQuery: 'water' });
      // A patch replaces only the fields it names.
      expect(await t.client.call('view.set', { filters })).toEqual({ searchHistory: ['water', 'bridge over a river'], lastQuery: 'water', filters });
      await t.close();
      t = await openHere();
      expect(await t.client.call('view.get', {})).toEqual({ searchHistory: ['water', 'bridge over a river'], lastQuery: 'water', filters });
    });

    it('view.set refuses an area off the globe, an open ring or an unknown field, and changes nothing', async () => {
      await t.client.call('view.set', { lastQuery: 'water' });
      const box = (b: number[]) => ({ area: { kind: 'box' as const, box: b as [number, number, number, number] }, archiveId: null, scale: 'any' as const, topK: null });
      const offGlobe = await rejection(t.client.call('view.set', { filters: box([-10, -95, 10, 10]) }));
      expect(offGlobe.code).toBe('invalid_input');
      expect(offGlobe.issues?.[0]?.path).toMatch(/^filters\.area/);
      const open = await rejection(
        t.client.call('view.set', { filters: { area: { kind: 'polygon', ring: [[0, 0], [1, 0], [1, 1]] }, archiveId: null, scale: 'any', topK: null } }),
      );
      expect(open.code).toBe('invalid_input');
      const unclosed = await rejection(
        t.client.call('view.set', { filters: { area: { kind: 'polygon', ring: [[0, 0], [1, 0], [1, 1], [0, 1]] }, archiveId: null, scale: 'any', topK: null } }),
      );
      expect(unclosed.message).toContain('closed');
      expect((await rejection(t.client.call('view.set', { lastQuery: 'x', path: '/etc' } as never))).code).toBe('invalid_input');
      expect(await t.client.call('view.get', {})).toMatchObject({ lastQuery: 'water', filters: { area: null } });
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
      t = await openHere();
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

    it('models.import turns a checkpoint into a pack in the background, with progress events; the pack is listed with its provenance and can be activated', { timeout: 90_000 }, async () => {
      const file = join(importerFixtures, 'openclip-tiny-fp16.pt');
      const seen: ImportStatus[] = [];
      t.client.on('models.importProgressed', (s) => seen.push(s));
      await t.eventsReady();
      const started = await t.client.call('models.import', { file, name: 'Tiny CLIP', precision: 'int8', licence: 'MIT (test fixture)' });
      expect(started).toMatchObject({ file, state: 'running', packId: null, error: null });
      // The engine answers while the import runs.
      expect((await t.client.call('app.info', {})).dataDir).toBe(dir.path);
      expect((await t.client.call('models.imports', {})).map((s) => s.jobId)).toContain(started.jobId);
      await expect.poll(() => seen.at(-1)?.state, { timeout: 60_000 }).toBe('done');
      const mine = seen.filter((s) => s.jobId === started.jobId);
      expect(mine.length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.fraction).toBeGreaterThanOrEqual(mine[i - 1]!.fraction);
      expect(mine[0]!.fraction).toBeLessThan(1);
      const done = mine.at(-1)!;
      expect(done).toMatchObject({ state: 'done', phase: 'done', fraction: 1, packId: 'Tiny-CLIP', error: null });
      expect(done.notes.some((n) => n.startsWith('layout: open_clip'))).toBe(true);
      expect(modelsFolder(dir.path)).toEqual(['Tiny-CLIP']);

      const pack = (await t.client.call('models.list', {})).find((p) => p.id === 'Tiny-CLIP');
      expect(pack).toMatchObject({ name: 'Tiny CLIP', licence: 'MIT (test fixture)', provenance: 'openclip-tiny-fp16.pt', source: 'installed', embeddingSize: 16 });
      expect(pack?.problem).toBeUndefined();
      const manifest = JSON.parse(readFileSync(join(dir.path, 'models', 'Tiny-CLIP', 'manifest.json'), 'utf8')) as { architecture: { precision: string }; provenance: { sha256: string } };
      expect(manifest.architecture.precision).toBe('int8');
      expect(manifest.provenance.sha256).toMatch(/^[0-9a-f]{64}$/);
      // Not activated by the import; activating it loads it.
      expect((await t.client.call('models.status', {})).active).toBeNull();
      await t.client.call('models.activate', { id: 'Tiny-CLIP' });
      await expect.poll(async () => (await t.client.call('models.status', {})).runtime?.state, { timeout: 60_000 }).toBe('ready');

      // The same name again: a new id with a suffix, the first pack untouched.
      const again = await t.client.call('models.import', { file, name: 'Tiny CLIP' });
      await expect.poll(async () => (await t.client.call('models.imports', {})).find((s) => s.jobId === again.jobId)?.state, { timeout: 60_000 }).toBe('done');
      expect((await t.client.call('models.imports', {}))[0]).toMatchObject({ jobId: again.jobId, packId: 'Tiny-CLIP-2' });
      expect(modelsFolder(dir.path).sort()).toEqual(['Tiny-CLIP', 'Tiny-CLIP-2']);
      expect(JSON.parse(readFileSync(join(dir.path, 'models', 'Tiny-CLIP', 'manifest.json'), 'utf8'))).toMatchObject({ architecture: { precision: 'int8' } });
    });

    it('models.importCancel stops a running import and leaves nothing in the models folder', { timeout: 90_000 }, async () => {
      // Large enough (≈ 130 MB) that the import is still running when the cancel arrives.
      await mkdir(join(dir.path, 'incoming'));
      const file = join(dir.path, 'incoming', 'medium.safetensors');
      writeOpenClipSafetensors(file, { visionWidth: 512, visionLayers: 6, textWidth: 256, textLayers: 1, embed: 64, image: 64, patch: 16 });
      const seen: ImportStatus[] = [];
      t.client.on('models.importProgressed', (s) => seen.push(s));
      await t.eventsReady();
      const started = await t.client.call('models.import', { file });
      await expect.poll(() => seen.length, { timeout: 30_000 }).toBeGreaterThan(0);
      expect(seen[0]!.state).toBe('running');
      const cancelled = await t.client.call('models.importCancel', { jobId: started.jobId });
      expect(cancelled).toMatchObject({ jobId: started.jobId, state: 'cancelled', packId: null, error: null });
      await expect.poll(() => seen.at(-1)?.state).toBe('cancelled');
      expect(modelsFolder(dir.path)).toEqual([]);
      expect((await t.client.call('models.list', {})).map((p) => p.id)).toEqual(['starter']);
      expect((await t.client.call('models.imports', {}))[0]).toMatchObject({ jobId: started.jobId, state: 'cancelled' });
      // Cancelling again answers with the same state; an unknown job is not_found.
      expect((await t.client.call('models.importCancel', { jobId: started.jobId })).state).toBe('cancelled');
      await expect(t.client.call('models.importCancel', { jobId: 'import-nope' })).rejects.toMatchObject({ code: 'not_found' });
    });

    it('models.import of a truncated or malicious checkpoint fails naming the file, with a hint; nothing is left and the engine goes on', { timeout: 90_000 }, async () => {
      await mkdir(join(dir.path, 'incoming'));
      const truncated = join(dir.path, 'incoming', 'truncated.pt');
      const whole = readFileSync(join(importerFixtures, 'openclip-tiny-fp16.pt'));
      await writeFile(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
      const bad = await t.client.call('models.import', { file: truncated });
      await expect.poll(async () => (await t.client.call('models.imports', {})).find((s) => s.jobId === bad.jobId)?.state, { timeout: 60_000 }).toBe('failed');
      const failed = (await t.client.call('models.imports', {})).find((s) => s.jobId === bad.jobId)!;
      expect(failed.error).toMatchObject({ file: truncated });
      expect(failed.error?.message).toContain('truncated.pt');
      expect(failed.error?.hint?.length).toBeGreaterThan(10);
      expect(failed.packId).toBeNull();

      const malicious = join(importerFixtures, 'malicious.pt');
      const evil = await t.client.call('models.import', { file: malicious });
      await expect.poll(async () => (await t.client.call('models.imports', {})).find((s) => s.jobId === evil.jobId)?.state, { timeout: 60_000 }).toBe('failed');
      const refused = (await t.client.call('models.imports', {})).find((s) => s.jobId === evil.jobId)!;
      expect(refused.error?.message).toMatch(/posix\.system/);
      expect(refused.error?.hint).toBeTruthy();
      expect(existsSync('/tmp/kestrel-malicious-pickle-ran')).toBe(false);

      // Refused before anything starts: a missing file, a folder, a relative path.
      await expect(t.client.call('models.import', { file: join(dir.path, 'nope.pt') })).rejects.toMatchObject({ code: 'not_found', file: join(dir.path, 'nope.pt') });
      await expect(t.client.call('models.import', { file: join(dir.path, 'incoming') })).rejects.toMatchObject({ code: 'invalid_input' });
      await expect(t.client.call('models.import', { file: 'model.pt' })).rejects.toMatchObject({ code: 'invalid_input', issues: [{ path: 'file' }] });
      await expect(t.client.call('models.import', { file: truncated, precision: 'int4' as 'int8' })).rejects.toMatchObject({ code: 'invalid_input' });

      expect(modelsFolder(dir.path)).toEqual([]);
      expect((await t.client.call('models.list', {})).map((p) => p.id)).toEqual(['starter']);
      expect((await t.client.call('settings.set', { theme: 'dark' })).theme).toBe('dark');
    });

    it('models.import takes the importer\'s options: layout, architecture, activation, leaving out unknown tensors, skipping objects that are not weights', { timeout: 120_000 }, async () => {
      const finished = async (input: Parameters<KestrelClient['call']>[1] & { file: string }): Promise<ImportStatus> => {
        const started = await t.client.call('models.import', input as never);
        await expect.poll(async () => (await t.client.call('models.imports', {})).find((s) => s.jobId === started.jobId)?.state, { timeout: 60_000 }).not.toBe('running');
        return (await t.client.call('models.imports', {})).find((s) => s.jobId === started.jobId)!;
      };
      const harma = join(importerFixtures, 'harma-tiny.pt');
      // HarMA weights read as plain open_clip: the adapters are tensors that layout does not use, and the hint names the fix.
      const strict = await finished({ file: harma, layout: 'open_clip' });
      expect(strict.state).toBe('failed');
      expect(strict.error?.message).toMatch(/does not use/);
      expect(strict.error?.hint).toMatch(/Layout harma \(--layout harma\)/);
      // Asked to leave them out, with the activation chosen: a pack, and the notes say both.
      const lenient = await finished({ file: harma, name: 'Base of HarMA', layout: 'open_clip', ignoreUnknown: true, activation: 'gelu' });
      expect(lenient.state).toBe('done');
      expect(lenient.notes.join('\n')).toMatch(/not used by the model: \d+ tensor/);
      expect(lenient.notes.join('\n')).toMatch(/activation: gelu \(as asked\)/);
      expect((await t.client.call('models.list', {})).find((p) => p.id === lenient.packId)?.activation).toBe('gelu');
      // A built-in architecture the weights do not fit is refused, naming the file.
      const wrongArch = await finished({ file: join(importerFixtures, 'openclip-tiny-fp16.pt'), arch: 'ViT-B-32' });
      expect(wrongArch.state).toBe('failed');
      expect(wrongArch.error?.message).toMatch(/ViT-B-32/);
      expect(wrongArch.error?.file).toBe(join(importerFixtures, 'openclip-tiny-fp16.pt'));
      // Training state beside the weights: refused unless skipped, and skipped objects are listed, never run. (This
      // fixture's few weights are no whole model, so once past its objects it fails on the architecture instead.)
      const metadata = join(importerFixtures, 'with-metadata.pt');
      const refused = await finished({ file: metadata });
      expect(refused.state).toBe('failed');
      expect(refused.error?.hint).toMatch(/Skip objects that are not weights/);
      const skipped = await finished({ file: metadata, skipForeignObjects: true });
      expect(skipped.notes.join('\n')).toMatch(/skipped objects that are not weights \(as asked\)/);
      expect(skipped.error?.message).toMatch(/cannot work out the architecture/);
      // Values outside the contract never reach the importer.
      await expect(t.client.call('models.import', { file: harma, arch: 'ViT-X' as 'ViT-B-32' })).rejects.toMatchObject({ code: 'invalid_input', issues: [{ path: 'arch' }] });
      await expect(t.client.call('models.import', { file: harma, layout: 'timm' as 'hf' })).rejects.toMatchObject({ code: 'invalid_input' });
      await expect(t.client.call('models.import', { file: harma, config: '/tmp/x.json' } as never)).rejects.toMatchObject({ code: 'invalid_input' });
    });

    it('dialog.pick answers unsupported where there is no native picker, and a grant or a cancel where there is', async () => {
      if (t.picker) {
        t.picker.choose(null);
        expect(await t.client.call('dialog.pick', { purpose: 'archive-folder' })).toEqual({ cancelled: true });
        t.picker.choose(join(dir.path, 'imagery'));
        expect(await t.client.call('dialog.pick', { purpose: 'archive-folder' })).toEqual({ grant: expect.stringMatching(/^grant-[0-9a-f]{32}$/), label: 'imagery' });
      } else {
        const err = await rejection(t.client.call('dialog.pick', { purpose: 'archive-folder' }));
        expect(err).toMatchObject({ code: 'unsupported', message: 'The file picker exists only in the desktop app: type the path instead.' });
      }
      await expect(t.client.call('dialog.pick', { purpose: 'anything' as never })).rejects.toMatchObject({ code: 'invalid_input' });
    });

    it('archives.cancelScan says false when no scan is running', async () => {
      expect(await t.client.call('archives.cancelScan', { id: 'anope' })).toEqual({ cancelled: false });
      await expect(t.client.call('archives.cancelScan', { id: '../x' })).rejects.toMatchObject({ code: 'invalid_input' });
    });

    /** A folder of links to small GeoTIFFs from the shared data (read in place, never copied). */
    const SMALL_TIFS = ['RGBA.uint16.tif', 'alpha.tif', 'cogeo.tif', 'rio-tiler/cog_rgb.tif', 'rio-tiler/web.tif', 'rio-tiler/scene_band1.tif'];
    async function linkedFolder(name: string, files: string[]): Promise<string> {
      const folder = join(dir.path, name);
      await mkdir(folder, { recursive: true });
      for (const [i, f] of files.entries()) await symlink(join(sharedData, 'geotiff', f), join(folder, `${String(i).padStart(2, '0')}-${f.split('/').pop()}`));
      return folder;
    }
    const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

    it.skipIf(!haveData)('archives.add reports scan progress (at most five a second) with rising filesRead, then done', { timeout: 30_000 }, async () => {
      const folder = await linkedFolder('imagery', SMALL_TIFS);
      // A large archive, in slow motion: each file takes at least 120 ms.
      beforeScanFile = () => sleep(120);
      const seen: (ScanProgress & { t: number })[] = [];
      t.client.on('archives.scanProgressed', (p) => seen.push({ ...p, t: performance.now() }));
      await t.eventsReady();
      const started = performance.now();
      const { archive, scan } = await t.client.call('archives.add', { roots: [folder], name: 'Slow imagery' });
      const took = performance.now() - started;
      expect(scan.added).toBe(SMALL_TIFS.length);
      await expect.poll(() => seen.at(-1)?.phase).toBe('done');
      expect(new Set(seen.map((p) => p.archiveId))).toEqual(new Set([archive.id]));
      expect(seen.every((p) => p.name === 'Slow imagery')).toBe(true);
      expect(seen[0]).toMatchObject({ phase: 'listing', filesRead: 0, total: null });
      const reading = seen.filter((p) => p.phase === 'reading');
      const reads = reading.map((p) => p.filesRead);
      expect(reads).toEqual([...reads].sort((a, b) => a - b));
      expect(new Set(reads).size).toBeGreaterThanOrEqual(2);
      for (const p of reading) {
        expect(p.total).toBe(SMALL_TIFS.length);
        expect(p.currentFile === null || p.currentFile.startsWith(folder)).toBe(true);
      }
      expect(reading.some((p) => p.etaSeconds !== null && p.etaSeconds > 0)).toBe(true);
      expect(seen.at(-1)).toMatchObject({ phase: 'done', filesRead: SMALL_TIFS.length, total: SMALL_TIFS.length, currentFile: null });
      // Throttled: the events before the last are at least 200 ms apart in the engine, so no more than the time allows.
      expect(seen.length - 1).toBeLessThanOrEqual(Math.ceil(took / 200) + 1);
    });

    it.skipIf(!haveData)('archives.cancelScan during an add leaves no archive behind', { timeout: 30_000 }, async () => {
      const folder = await linkedFolder('imagery', SMALL_TIFS);
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let reached = 0;
      beforeScanFile = async () => {
        if (++reached === 3) await held;
      };
      const seen: ScanProgress[] = [];
      t.client.on('archives.scanProgressed', (p) => seen.push(p));
      await t.eventsReady();
      const adding = t.client.call('archives.add', { roots: [folder] }).then(
        () => undefined,
        (err: KestrelError) => err,
      );
      await expect.poll(() => reached).toBe(3);
      await expect.poll(() => seen.length).toBeGreaterThan(0);
      const id = seen[0]!.archiveId;
      expect(await t.client.call('archives.cancelScan', { id })).toEqual({ cancelled: true });
      release();
      expect(await adding).toMatchObject({ code: 'cancelled' });
      await expect.poll(() => seen.at(-1)?.phase).toBe('cancelled');
      expect(reached).toBe(3);
      expect(await t.client.call('archives.list', {})).toEqual([]);
      await expect(t.client.call('archives.scenes', { id })).rejects.toMatchObject({ code: 'not_found' });
      expect(existsSync(join(dir.path, 'archives', `${id}.json`))).toBe(false);
      expect(await t.client.call('archives.cancelScan', { id })).toEqual({ cancelled: false });
    });

    it.skipIf(!haveData)('archives.pauseScan holds an add before its next file; archives.resumeScan lets it finish with every file', { timeout: 30_000 }, async () => {
      const folder = await linkedFolder('imagery', SMALL_TIFS);
      let reached = 0;
      beforeScanFile = async () => {
        reached++;
        await sleep(40);
      };
      const seen: ScanProgress[] = [];
      t.client.on('archives.scanProgressed', (p) => seen.push(p));
      await t.eventsReady();
      const adding = t.client.call('archives.add', { roots: [folder] });
      await expect.poll(() => reached).toBeGreaterThanOrEqual(2);
      const id = seen[0]!.archiveId;
      expect(await t.client.call('archives.pauseScan', { id })).toEqual({ paused: true });
      const atPause = reached;
      await expect.poll(() => seen.at(-1)?.paused).toBe(true);
      expect(seen.at(-1)?.etaSeconds).toBeNull();
      // Unpaused, the rest would take about 40 ms a file; paused, at most the file in hand when the pause came starts.
      await sleep(600);
      expect(reached).toBeLessThanOrEqual(atPause + 1);
      expect(reached).toBeLessThan(SMALL_TIFS.length);
      expect(seen.at(-1)).toMatchObject({ paused: true });
      expect(await t.client.call('archives.list', {})).toEqual([]);
      expect(await t.client.call('archives.pauseScan', { id })).toEqual({ paused: false });
      expect(await t.client.call('archives.resumeScan', { id })).toEqual({ resumed: true });
      const { scan } = await adding;
      expect(scan.added).toBe(SMALL_TIFS.length);
      expect(seen.at(-1)).toMatchObject({ phase: 'done', paused: false, filesRead: SMALL_TIFS.length });
      expect(await t.client.call('archives.resumeScan', { id })).toEqual({ resumed: false });
      expect(await t.client.call('archives.pauseScan', { id: 'anope' })).toEqual({ paused: false });
    });

    it.skipIf(!haveData)('archives.cancelScan during a rescan leaves the catalog as it was', { timeout: 30_000 }, async () => {
      const folder = await linkedFolder('imagery', SMALL_TIFS.slice(0, 3));
      const { archive } = await t.client.call('archives.add', { roots: [folder] });
      const scenesBefore = await t.client.call('archives.scenes', { id: archive.id });
      const listBefore = await t.client.call('archives.list', {});
      await linkedFolder('imagery/more', SMALL_TIFS.slice(3));
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let reached = 0;
      beforeScanFile = async () => {
        if (++reached === 4) await held;
      };
      const rescanning = t.client.call('archives.scan', { id: archive.id }).then(
        () => undefined,
        (err: KestrelError) => err,
      );
      await expect.poll(() => reached).toBe(4);
      await expect(t.client.call('archives.scan', { id: archive.id })).rejects.toMatchObject({ code: 'unavailable' });
      expect(await t.client.call('archives.cancelScan', { id: archive.id })).toEqual({ cancelled: true });
      release();
      expect(await rescanning).toMatchObject({ code: 'cancelled' });
      expect(await t.client.call('archives.scenes', { id: archive.id })).toEqual(scenesBefore);
      expect(await t.client.call('archives.list', {})).toEqual(listBefore);
      // Not cancelled, the same rescan finds the new files.
      beforeScanFile = async () => {};
      expect(await t.client.call('archives.scan', { id: archive.id })).toMatchObject({ added: 3, unchanged: 3, removed: 0 });
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
      const imagery = await twoSceneImagery();
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

    it.skipIf(!haveData)('captions.queue walks uncaptioned chips in pages, and the least-confident ones by the caption bank', { timeout: 90_000 }, async () => {
      const imagery = await twoSceneImagery();
      const { archive } = await t.client.call('archives.add', { roots: [imagery] });
      await t.client.call('index.start', { archiveId: archive.id });
      await expect.poll(async () => (await t.client.call('index.status', { archiveId: archive.id }))[0]?.state, { timeout: 60_000 }).toBe('done');
      const rows = (await t.client.call('index.status', { archiveId: archive.id }))[0]!.rows;

      // The uncaptioned walk: every chip once, in pages, each with its scene and window.
      const seen: string[] = [];
      let after: number | undefined;
      for (let page = 0; page < rows; page++) {
        const q = await t.client.call('captions.queue', { archiveId: archive.id, mode: 'uncaptioned', limit: 3, ...(after !== undefined ? { after } : {}) });
        expect(q.items.length).toBeLessThanOrEqual(3);
        for (const item of q.items) {
          expect(item.confidence).toBeNull();
          expect(item.polygon === null).toBe(item.path.endsWith('ucm_1.tif'));
        }
        seen.push(...q.items.map((i) => i.chipId));
        if (q.next === null) break;
        after = q.next;
      }
      expect(seen).toHaveLength(rows);
      expect(new Set(seen).size).toBe(rows);

      // A captioned chip leaves the uncaptioned walk.
      await t.client.call('captions.add', { target: { chipId: seen[0]! }, text: 'green trees' });
      const fresh = await t.client.call('captions.queue', { archiveId: archive.id, mode: 'uncaptioned', limit: 200 });
      expect(fresh.items.map((i) => i.chipId)).toEqual(seen.slice(1));
      expect(fresh).toMatchObject({ remaining: 0, next: null });

      // The least-confident walk needs a caption bank, and says so.
      const empty = await rejection(t.client.call('captions.queue', { archiveId: archive.id, mode: 'uncertain' }));
      expect(empty).toMatchObject({ code: 'invalid_input', hint: expect.stringMatching(/Import a caption bank/) });
      const bankFile = join(dir.path, 'bank.txt');
      await writeFile(bankFile, ['many buildings and a road', 'a river with green trees', 'a parking lot with cars', 'white sand beach', 'a baseball field'].join('\n'));
      await t.client.call('captions.importBank', { file: bankFile });
      // A chip with only an accepted suggestion stays in that walk; one a person described does not.
      await t.client.call('captions.add', { target: { chipId: seen[1]! }, text: 'a baseball field', provenance: 'suggested' });
      const unsure = await t.client.call('captions.queue', { archiveId: archive.id, mode: 'uncertain', limit: 200 });
      expect(unsure.items.map((i) => i.chipId).sort()).toEqual(seen.slice(1).sort());
      const confidences = unsure.items.map((i) => i.confidence!);
      expect(confidences).toEqual([...confidences].sort((a, b) => a - b));
      // The confidence is the calibrated score of the chip's best bank caption, as search.suggestCaptions ranks them.
      for (const item of [unsure.items[0]!, unsure.items.at(-1)!]) {
        const best = (await t.client.call('search.suggestCaptions', { chipId: item.chipId, topK: 1 })).captions[0]!;
        expect(item.suggestion).toBe(best.text);
        expect(item.confidence!).toBeCloseTo(best.score, 6);
      }
      await expect(t.client.call('captions.queue', { archiveId: 'nosuch', mode: 'uncaptioned' })).rejects.toMatchObject({ code: 'not_found' });
      await expect(t.client.call('captions.queue', { archiveId: archive.id, mode: 'everything' } as never)).rejects.toMatchObject({ code: 'invalid_input' });
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
      t = await openHere();
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
      // The version table's recalls: both directions at 1, 5 and 10, mR their mean, before and after.
      for (const m of [versions[0]!.metrics.baseline, versions[0]!.metrics.validation]) {
        const six = [m.imageToText.r1, m.imageToText.r5, m.imageToText.r10, m.textToImage.r1, m.textToImage.r5, m.textToImage.r10];
        for (const r of six) expect(r).toBeGreaterThanOrEqual(0);
        expect(m.imageToText.r1).toBeLessThanOrEqual(m.imageToText.r5);
        expect(m.textToImage.r5).toBeLessThanOrEqual(m.textToImage.r10);
        expect(m.mR).toBeCloseTo(six.reduce((a, b) => a + b, 0) / 6, 12);
      }
      expect(versions[0]!.metrics.validationMR).toBe(versions[0]!.metrics.validation.mR);
      expect(versions[0]!.metrics.baselineMR).toBe(versions[0]!.metrics.baseline.mR);
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
      t = await openHere();
      expect((await t.client.call('adapters.list', {})).map((v) => [v.id, v.active])).toEqual([
        [second, false],
        [first, true],
      ]);
      expect(await t.client.call('adapters.activate', { id: null })).toEqual({ active: null });
    });
  });
}

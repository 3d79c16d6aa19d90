import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEngine } from '../../app/core/index.js';
import { tempDir } from '../helpers/tmp.js';

describe('settings and catalog files', () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeEach(async () => (dir = await tempDir()));
  afterEach(() => dir.remove());

  it('writes settings.json as JSON the user can read', async () => {
    const engine = await openEngine({ dataDir: dir.path, runtime: 'in-process' });
    await engine.handlers['settings.set']({ theme: 'dark' });
    const onDisk = JSON.parse(await readFile(join(dir.path, 'settings.json'), 'utf8'));
    expect(onDisk.theme).toBe('dark');
  });

  it('sets a corrupt settings.json aside instead of overwriting it, and says so', async () => {
    await writeFile(join(dir.path, 'settings.json'), '{"theme": "dark", ');
    const engine = await openEngine({ dataDir: dir.path, runtime: 'in-process' });
    const info = await engine.handlers['app.info']({});
    expect(info.notices).toHaveLength(1);
    expect(info.notices[0]?.message).toMatch(/settings\.json was not valid JSON/);
    expect(info.notices[0]?.file).toBe(join(dir.path, 'settings.json'));
    const files = await readdir(dir.path);
    const aside = files.find((f) => f.startsWith('settings.json.corrupt-'));
    expect(aside).toBeDefined();
    expect(await readFile(join(dir.path, aside!), 'utf8')).toBe('{"theme": "dark", ');
    expect((await engine.handlers['settings.get']({})).theme).toBe('system');
  });

  it('keeps the good values of a settings file and reports each bad one', async () => {
    await writeFile(join(dir.path, 'settings.json'), JSON.stringify({ theme: 'dark', searchTopK: -3, future: 1 }));
    const engine = await openEngine({ dataDir: dir.path, runtime: 'in-process' });
    expect(await engine.handlers['settings.get']({})).toMatchObject({ theme: 'dark', searchTopK: 50 });
    const { notices } = await engine.handlers['app.info']({});
    expect(notices.map((n) => n.message).join('\n')).toMatch(/"searchTopK".*invalid value/);
  });

  it('keeps the good fields of a hand-broken view.json, reports the bad one, and a corrupt one is set aside', async () => {
    await writeFile(join(dir.path, 'view.json'), JSON.stringify({ searchHistory: ['water'], lastQuery: 'water', filters: { area: { kind: 'box', box: [0, 0, 1] } } }));
    const engine = await openEngine({ dataDir: dir.path, runtime: 'in-process' });
    expect(await engine.handlers['view.get']({})).toEqual({
      searchHistory: ['water'],
      lastQuery: 'water',
      filters: { area: null, archiveId: null, scale: 'any', topK: null },
    });
    expect((await engine.handlers['app.info']({})).notices.map((n) => n.message).join('\n')).toMatch(/"filters" in view\.json had an invalid value/);
    await engine.close();

    await writeFile(join(dir.path, 'view.json'), '{"searchHistory": [');
    const again = await openEngine({ dataDir: dir.path, runtime: 'in-process' });
    expect((await again.handlers['view.get']({})).searchHistory).toEqual([]);
    expect((await again.handlers['app.info']({})).notices[0]?.message).toMatch(/view\.json was not valid JSON/);
    expect((await readdir(dir.path)).some((f) => f.startsWith('view.json.corrupt-'))).toBe(true);
    // The settings beside it are untouched.
    expect(await again.handlers['settings.get']({})).toMatchObject({ theme: 'system' });
    await again.close();
  });

  it('loads a settings file written before the basemap existed, with no basemap', async () => {
    await writeFile(join(dir.path, 'settings.json'), JSON.stringify({ theme: 'dark', searchTopK: 20, executionProvider: 'auto', welcomeDismissed: true, activeModel: null }));
    const engine = await openEngine({ dataDir: dir.path, runtime: 'in-process' });
    expect(await engine.handlers['settings.get']({})).toMatchObject({ theme: 'dark', searchTopK: 20, welcomeDismissed: true, basemap: null });
    expect((await engine.handlers['app.info']({})).notices).toEqual([]);
    expect(await engine.handlers['basemap.info']({})).toBeNull();
    await engine.close();
  });

  it('keeps a basemap whose file went missing, and basemap.info says why it cannot be shown', async () => {
    const gone = join(dir.path, 'gone.mbtiles');
    await writeFile(join(dir.path, 'settings.json'), JSON.stringify({ theme: 'light', basemap: { kind: 'mbtiles', file: gone } }));
    const engine = await openEngine({ dataDir: dir.path, runtime: 'in-process' });
    expect((await engine.handlers['settings.get']({})).basemap).toEqual({ kind: 'mbtiles', file: gone });
    await expect(engine.handlers['basemap.info']({})).rejects.toMatchObject({ code: 'not_found', file: gone });
    await engine.close();
  });

  it('sets a corrupt catalog.json aside too', async () => {
    await writeFile(join(dir.path, 'catalog.json'), 'not json at all');
    const engine = await openEngine({ dataDir: dir.path, runtime: 'in-process' });
    expect(await engine.handlers['archives.list']({})).toEqual([]);
    expect((await engine.handlers['app.info']({})).notices[0]?.message).toMatch(/catalog\.json was not valid JSON/);
  });

  it('reports a data folder that cannot be created, naming it', async () => {
    await writeFile(join(dir.path, 'a-file'), 'x');
    await expect(openEngine({ dataDir: join(dir.path, 'a-file', 'data'), runtime: 'in-process' })).rejects.toMatchObject({
      code: 'io_error',
      file: join(dir.path, 'a-file', 'data'),
    });
  });
});

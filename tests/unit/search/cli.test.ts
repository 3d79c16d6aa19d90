/** `kestrel index` and `kestrel search` from the command line, on real rasters linked into a temporary folder. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/tmp.js';
import { HAVE_DATA, PACKS, REPO, SKIP_REASON, expectedChips, linkScenes } from './fixture.js';

const PACK = join(PACKS, 'tiny-quickgelu');

describe.skipIf(!HAVE_DATA)(`kestrel index / search ${HAVE_DATA ? '' : SKIP_REASON}`, { timeout: 120_000 }, () => {
  let dir: { path: string; remove(): Promise<void> };
  let imagery: string;
  let links: string[];
  const kestrel = (...args: string[]): { code: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'app/cli/index.ts', ...args, '--data', join(dir.path, 'data')], { cwd: REPO, encoding: 'utf8', timeout: 90_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  beforeAll(async () => {
    dir = await tempDir('kestrel-cli-index-');
    imagery = join(dir.path, 'imagery');
    links = await linkScenes(imagery, ['geotiff/cogeo.tif', 'geotiff/world.rgb.tif', 'rs-captioned/ucm/1.tif']);
  });
  afterAll(() => dir.remove());

  it('indexes a folder with progress on stderr, then searches it as a ranked GeoJSON FeatureCollection', async () => {
    const first = kestrel('index', imagery, '--model', PACK, '--provider', 'cpu');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/added archive "imagery"/);
    expect(first.stderr).toMatch(/execution provider: cpu/);
    const total = (await Promise.all(links.map((l) => expectedChips(l)))).reduce((a, c) => a + c.length, 0);
    expect(first.stderr).toMatch(new RegExp(`done  scenes 3/3  chips ${total}`));
    expect(first.stderr).toMatch(/chips\/s/);

    // A second run finds nothing new and indexes nothing.
    const again = kestrel('index', imagery, '--model', PACK, '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/0 added, 0 changed, 0 removed, 3 unchanged/);
    expect(JSON.parse(again.stdout)).toMatchObject({ state: 'done', rows: total });

    const r = kestrel('search', 'storage tanks next to a harbour', '--model', PACK, '--top', '5', '--json');
    expect(r.code, r.stderr).toBe(0);
    const fc = JSON.parse(r.stdout) as { type: string; features: { geometry: { type: string } | null; properties: Record<string, unknown> }[] };
    expect(fc.type).toBe('FeatureCollection');
    expect(fc.features.length).toBeGreaterThan(0);
    expect(fc.features.length).toBeLessThanOrEqual(5);
    fc.features.forEach((f, i) => {
      expect(f.properties).toMatchObject({ rank: i + 1, sceneId: expect.stringMatching(/^[0-9a-f]{24}$/), level: expect.any(Number), window: { x: expect.any(Number), y: expect.any(Number), width: expect.any(Number), height: expect.any(Number) } });
      expect(links).toContain(f.properties.path);
      expect(f.geometry === null).toBe(String(f.properties.path).endsWith('ucm_1.tif'));
      if (i > 0) expect(f.properties.score as number).toBeLessThanOrEqual(fc.features[i - 1]!.properties.score as number);
    });
    // --bbox around the COG (Korea) keeps only its chips.
    const box = kestrel('search', 'a road', '--model', PACK, '--bbox', '128.6,37.6,128.7,37.7', '--json');
    expect(box.code, box.stderr).toBe(0);
    const inBox = (JSON.parse(box.stdout) as typeof fc).features;
    expect(inBox.length).toBeGreaterThan(0);
    expect(new Set(inBox.map((f) => f.properties.path))).toEqual(new Set([links[0]]));
    // Without --model, search names the pack the archive was indexed with (here a folder outside the
    // data folder, so it asks for it; an installed or bundled pack is found by itself).
    const implicit = kestrel('search', 'storage tanks next to a harbour', '--top', '5', '--json');
    expect(implicit.code).toBe(2);
    expect(implicit.stderr).toMatch(/indexed with the model pack "tiny-quickgelu"/);
  });

  it('answers usage errors with exit code 2', () => {
    expect(kestrel('index', imagery).code).toBe(2);
    expect(kestrel('search', 'x', '--model', PACK, '--bbox', '1,2,3').code).toBe(2);
    expect(kestrel('search', 'x', '--model', PACK, '--top', '0').code).toBe(2);
  });
});

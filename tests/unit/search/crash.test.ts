/**
 * Crash safety of the indexing job, for real: a child process runs the engine's indexing job on real
 * rasters and is killed with SIGKILL at random moments (during start-up, model loading, chip cutting,
 * inference and commits), at least 20 times. After each kill the store must hold, for every scene,
 * exactly the first chips of its plan (all of them once the scene is complete): no duplicate, none
 * missing. The next start resumes by itself, and the last one finishes with every chip exactly once.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../../app/core/catalog/index.js';
import { storeDirOf } from '../../../app/core/jobs/index.js';
import { VectorStore } from '../../../app/core/vectors/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { rng } from '../../helpers/vectors.js';
import { checkStore } from './check-store.js';
import { HAVE_DATA, REPO, SKIP_REASON, expectedChips, installPack, linkScenes } from './fixture.js';

const KILLS = 20;
const SCENES = [
  'geotiff/rio-tiler/cog_dateline.tif',
  'geotiff/cogeo.tif',
  'geotiff/RGB.byte.tif',
  'geotiff/debian/cbers_rgb342_crop1.tif',
  'geotiff/world.rgb.tif',
  'rs-captioned/rsicd/00001.jpg',
  'rs-captioned/ucm/1.tif',
];

type Moment = 'start' | 'ready' | 'chips';

/** Runs the writer; kills it `afterMs` after a moment: its start, the job running, the first chips embedded. */
function run(data: string, imagery: string, kill?: { afterMs: number; after: Moment }): Promise<{ killed: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'tests/helpers/index-writer.ts'), data, imagery], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stderr = '';
    const arm = (): void => void setTimeout(() => child.kill('SIGKILL'), kill!.afterMs);
    let armed = false;
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (kill && !armed && kill.after !== 'start' && output.includes(kill.after)) {
        armed = true;
        arm();
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    if (kill?.after === 'start') arm();
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ killed: true, output });
      else if (code === 0) resolve({ killed: false, output });
      else reject(new Error(`the index writer exited with ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

describe.skipIf(!HAVE_DATA)(`indexing job crash safety ${HAVE_DATA ? '' : SKIP_REASON}`, () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeAll(async () => (dir = await tempDir('kestrel-crash-')));
  afterAll(() => dir.remove());

  it(`survives ${KILLS} SIGKILLs at random points with no duplicate or missing chip, and finishes`, { timeout: 240_000 }, async () => {
    const data = join(dir.path, 'data');
    const imagery = join(dir.path, 'imagery');
    const links = await linkScenes(imagery, SCENES);
    await installPack(data);
    const total = (await Promise.all(links.map((l) => expectedChips(l)))).reduce((a, c) => a + c.length, 0);
    const random = rng(20261126);
    const rows: number[] = [];
    let previous = 0;
    let kills = 0;
    // Until KILLS runs were really killed (a run that finishes before its kill does not count).
    for (let k = 0; kills < KILLS && k < KILLS + 10; k++) {
      // One kill in four lands anywhere from process start (engine, model, store and chip worker
      // starting), one after the job started, the others while chips flow (cutting, inference, commits).
      const after: Moment = k % 4 === 0 ? 'start' : k % 4 === 1 ? 'ready' : 'chips';
      const { killed } = await run(data, imagery, { afterMs: Math.floor(random() * (after === 'start' ? 4000 : after === 'ready' ? 1500 : 500)), after });
      if (killed) kills++;
      const catalog = await Catalog.open(data);
      const archive = catalog.archives()[0];
      if (!archive) continue; // killed before the archive was added
      const storeDir = storeDirOf(data, archive.id, 'tiny');
      if (!(await VectorStore.exists(storeDir))) continue;
      const check = await checkStore(storeDir, await catalog.scenes(archive.id), 16, `after kill ${k + 1}`);
      expect(check.rows).toBeGreaterThanOrEqual(previous);
      previous = check.rows;
      rows.push(check.rows);
      if (check.rows === total && kills < KILLS) {
        // A fast machine finished the job before the kills ran out: start over from an empty store.
        await VectorStore.destroy(storeDir);
        previous = 0;
      }
    }
    const last = await run(data, imagery);
    expect(last.output).toMatch(/done/);
    const catalog = await Catalog.open(data);
    const archive = catalog.archives()[0]!;
    const check = await checkStore(storeDirOf(data, archive.id, 'tiny'), await catalog.scenes(archive.id), 16, 'at the end');
    expect(check.rows).toBe(total);
    expect(check.complete).toBe(SCENES.length);
    expect(check.partial).toBe(0);
    // The kills really interrupted the job (the test is not vacuous): most were kills, and the job was
    // seen part-way several times.
    expect(kills).toBe(KILLS);
    expect(rows.filter((r) => r > 0 && r < total).length).toBeGreaterThanOrEqual(5);
    console.log(`indexing crash test: ${kills} kills, ${total} chips; rows after each: ${rows.join(' ')}`);
  });
});

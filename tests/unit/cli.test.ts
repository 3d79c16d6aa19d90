/** The `kestrel` command, run as a real child process on the sources (through tsx). */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { kestrel } from '../helpers/cli.js';

const root = new URL('../..', import.meta.url).pathname;


describe('kestrel CLI', () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeAll(async () => (dir = await tempDir()));
  afterAll(() => dir.remove());

  it('--help lists the commands and the common options', async () => {
    const r = await kestrel(['--help']);
    expect(r.code).toBe(0);
    for (const word of ['start', 'serve', 'info', '--data DIR', '--json']) expect(r.stdout).toContain(word);
  });

  it('info --json prints version, platform and the execution providers, cpu and webgpu among them', async () => {
    const r = await kestrel(['info', '--json', '--data', dir.path]);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
    expect(info.version).toBe(pkg.version);
    expect(info.platform).toBe(process.platform);
    expect(info.dataDir).toBe(dir.path);
    const names = info.executionProviders.map((p: { name: string }) => p.name);
    expect(names).toContain('cpu');
    if (process.platform === 'linux' && process.arch === 'x64') expect(names).toContain('webgpu');
  });

  it('takes the data folder from KESTREL_DATA when --data is absent', async () => {
    const r = await kestrel(['info', '--json'], { KESTREL_DATA: join(dir.path, 'from-env') });
    expect(JSON.parse(r.stdout).dataDir).toBe(join(dir.path, 'from-env'));
  });

  it('says what is wrong in human words on stderr, and in JSON on stdout with --json', async () => {
    await writeFile(join(dir.path, 'blocker'), 'a file where a folder should be');
    const human = await kestrel(['info', '--data', join(dir.path, 'blocker', 'sub')]);
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/Cannot create the data folder/);
    expect(human.stderr).toMatch(/what to do: Choose a writable folder/);
    const json = await kestrel(['info', '--json', '--data', join(dir.path, 'blocker', 'sub')]);
    expect(JSON.parse(json.stdout).error.code).toBe('io_error');
  });

  it('exits 2 with the usage on an unknown command or option', async () => {
    const unknown = await kestrel(['fly']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "fly"/);
    const option = await kestrel(['info', '--frobnicate']);
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/usage: kestrel info/);
  });
});

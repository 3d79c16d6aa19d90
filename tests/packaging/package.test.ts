/**
 * The offline packaging check: electron-builder with a stub Electron distribution (no download) and
 * no native rebuild produces the real app.asar layout. What ships is asserted, then its size printed.
 */
import { mkdir, stat, writeFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import asar from '@electron/asar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageApp } from '../../tools/package.js';
import { tempDir } from '../helpers/tmp.js';
import { requireBuild } from '../e2e/helpers.js';

async function folderSize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    total += entry.isDirectory() ? await folderSize(p) : (await stat(p)).size;
  }
  return total;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(relative(dir, join(entry.parentPath, entry.name)));
  }
  return out;
}

describe('packaging (linux x64, unpacked, stub Electron)', () => {
  let tmp: { path: string; remove(): Promise<void> };
  let resources: string;
  let files: string[];

  beforeAll(async () => {
    requireBuild();
    tmp = await tempDir('kestrel-pack-');
    const stub = join(tmp.path, 'electron-stub');
    await mkdir(stub, { recursive: true });
    await writeFile(join(stub, 'electron'), '#!/bin/sh\necho "stub electron"\n', { mode: 0o755 });
    await packageApp({
      platform: 'linux',
      arch: 'x64',
      targets: ['dir'],
      output: join(tmp.path, 'dist'),
      electronDist: stub,
      electronVersion: '41.0.0',
    });
    resources = join(tmp.path, 'dist', 'linux-unpacked', 'resources');
    files = asar.listPackage(join(resources, 'app.asar'), { isPack: false }).map((f) => f.replaceAll('\\', '/'));
  });
  afterAll(() => tmp?.remove());

  it('packs the built main, CLI, preload and renderer with package.json', () => {
    for (const f of ['/package.json', '/out/main/index.js', '/out/main/cli.js', '/out/preload/index.cjs', '/out/renderer/index.html']) {
      expect(files, f).toContain(f);
    }
  });

  it('leaves sources, tests, tools and development packages out', () => {
    const bad = files.filter((f) =>
      /^\/(app|renderer|tests|tools|docs|\.venv-tools|\.ci)\//.test(f) ||
      /^\/node_modules\/(electron|vite|svelte|vitest|typescript|eslint|playwright-core|leaflet)\//.test(f),
    );
    expect(bad).toEqual([]);
    expect(files.some((f) => f.endsWith('.map'))).toBe(false);
  });

  it("unpacks onnxruntime-node's native files for linux-x64 only", async () => {
    const unpacked = await listFiles(join(resources, 'app.asar.unpacked'));
    expect(unpacked).toContain('node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node');
    expect(unpacked).toContain('node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1');
    const natives = [...unpacked, ...files].filter((f) => /onnxruntime-node\/bin\//.test(f) && /\.(node|so(\.\d+)*|dll|dylib)$/.test(f));
    expect(natives.filter((f) => !f.includes('/linux/x64/'))).toEqual([]);
  });

  it('includes resources/ beside the archive', async () => {
    const shipped = await listFiles(join(resources, 'resources'));
    expect(shipped).toContain('README.md');
  });

  it('prints the package size', async () => {
    const size = await folderSize(join(tmp.path, 'dist', 'linux-unpacked'));
    const asarSize = (await stat(join(resources, 'app.asar'))).size;
    const unpackedSize = await folderSize(join(resources, 'app.asar.unpacked'));
    console.log(
      [
        'package size (linux-x64, unpacked, without the Electron runtime):',
        `  app.asar           ${(asarSize / 2 ** 20).toFixed(1)} MiB`,
        `  app.asar.unpacked  ${(unpackedSize / 2 ** 20).toFixed(1)} MiB`,
        `  total              ${(size / 2 ** 20).toFixed(1)} MiB`,
      ].join('\n'),
    );
    expect(size).toBeGreaterThan(asarSize);
  });
});

/**
 * The offline packaging check, per target OS: electron-builder with a stub Electron distribution
 * (no download) and no native rebuild produces the real app.asar layout and flips the real fuse
 * wire. What ships is asserted, then the sizes are printed. Steps that download tools (Windows
 * executable editing, macOS signing) are switched off here, and only here.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import asar from '@electron/asar';
import { FuseV1Options, getCurrentFuseWire } from '@electron/fuses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builder } from '../../electron.config.js';
import { packageApp, type PackageOptions } from '../../tools/package.js';
import { requireBuild } from '../e2e/helpers.js';
import { tempDir } from '../helpers/tmp.js';
import { makeStubElectron } from './stub-electron.js';

interface Target {
  platform: 'linux' | 'win32' | 'darwin';
  arch: 'x64' | 'arm64';
  /** Folder electron-builder writes, relative to the output. */
  appDir: string;
  resources: string;
  binary: string;
  overrides?: PackageOptions['overrides'];
}

const TARGETS: Target[] = [
  { platform: 'linux', arch: 'x64', appDir: 'linux-unpacked', resources: 'resources', binary: 'kestrel' },
  {
    platform: 'win32',
    arch: 'x64',
    appDir: 'win-unpacked',
    resources: 'resources',
    binary: 'Kestrel.exe',
    overrides: { win: { ...builder.win, signAndEditExecutable: false } },
  },
  {
    platform: 'darwin',
    arch: 'arm64',
    appDir: 'mac-arm64',
    resources: 'Kestrel.app/Contents/Resources',
    binary: 'Kestrel.app',
    overrides: { mac: { ...builder.mac, identity: null, notarize: false } },
  },
];

async function folderSize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(relative(dir, join(entry.parentPath, entry.name)).replaceAll('\\', '/'));
  }
  return out;
}

const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;

describe('packaging with a stub Electron (offline)', () => {
  let tmp: { path: string; remove(): Promise<void> };
  const sizes: string[] = [];
  beforeAll(async () => {
    requireBuild();
    tmp = await tempDir('kestrel-pack-');
  });
  afterAll(async () => {
    console.log(['package size per target (without the Electron runtime):', ...sizes].join('\n'));
    await tmp?.remove();
  });

  describe.each(TARGETS)('$platform-$arch', (target) => {
    let out: string;
    let resources: string;
    let files: string[];

    beforeAll(async () => {
      const stub = await makeStubElectron(join(tmp.path, `stub-${target.platform}`), target.platform);
      out = join(tmp.path, `dist-${target.platform}`);
      await packageApp({
        platform: target.platform,
        arch: target.arch,
        targets: ['dir'],
        output: out,
        electronDist: stub,
        electronVersion: '41.0.0',
        ...(target.overrides ? { overrides: target.overrides } : {}),
      });
      resources = join(out, target.appDir, target.resources);
      files = asar.listPackage(join(resources, 'app.asar'), { isPack: false }).map((f) => f.replaceAll('\\', '/'));
    });

    it('packs the built main, CLI, engine worker, preload and renderer with package.json', () => {
      for (const f of ['/package.json', '/out/main/index.js', '/out/main/cli.js', '/out/main/workers/engine.js', '/out/preload/index.cjs', '/out/renderer/index.html']) {
        expect(files, f).toContain(f);
      }
    });

    it(`ships the WebAssembly SQLite that reads MBTiles basemaps (${target.platform}-${target.arch})`, () => {
      // Platform-independent: the .wasm is read with fs from inside app.asar, which Electron's fs supports.
      for (const f of ['/node_modules/node-sqlite3-wasm/package.json', '/node_modules/node-sqlite3-wasm/dist/node-sqlite3-wasm.js', '/node_modules/node-sqlite3-wasm/dist/node-sqlite3-wasm.wasm']) {
        expect(files, f).toContain(f);
      }
    });

    it('leaves sources, tests, tools and development packages out', () => {
      const bad = files.filter(
        (f) =>
          /^\/(app|renderer|tests|tools|docs|build|\.venv-tools|\.ci)\//.test(f) ||
          /^\/node_modules\/(electron|electron-builder|vite|svelte|vitest|typescript|eslint|playwright-core|leaflet)\//.test(f),
      );
      expect(bad).toEqual([]);
      expect(files.some((f) => f.endsWith('.map'))).toBe(false);
    });

    it(`unpacks onnxruntime-node's native files for ${target.platform}-${target.arch}, and no other platform's`, async () => {
      const unpacked = await listFiles(join(resources, 'app.asar.unpacked'));
      const own = `node_modules/onnxruntime-node/bin/napi-v6/${target.platform}/${target.arch}/onnxruntime_binding.node`;
      expect(unpacked).toContain(own);
      const natives = [...unpacked, ...files].filter((f) => f.includes('onnxruntime-node/bin/') && /\.(node|so(\.\d+)*|dll|dylib)$/.test(f));
      expect(natives.length).toBeGreaterThan(1);
      expect(natives.filter((f) => !f.includes(`/${target.platform}/${target.arch}/`))).toEqual([]);
    });

    it('includes resources/ beside the archive', async () => {
      expect(await listFiles(join(resources, 'resources'))).toContain('README.md');
    });

    it('flips the Electron fuses: RunAsNode off, cookie encryption on, asar integrity on, app only from asar', async () => {
      const wire = (await getCurrentFuseWire(join(out, target.appDir, target.binary))) as unknown as Record<number, number>;
      const on = 49;
      const off = 48;
      expect(wire[FuseV1Options.RunAsNode]).toBe(off);
      expect(wire[FuseV1Options.EnableCookieEncryption]).toBe(on);
      expect(wire[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(off);
      expect(wire[FuseV1Options.EnableNodeCliInspectArguments]).toBe(off);
      expect(wire[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(on);
      expect(wire[FuseV1Options.OnlyLoadAppFromAsar]).toBe(on);
      expect(wire[FuseV1Options.GrantFileProtocolExtraPrivileges]).toBe(off);
    });

    it('reports its size', async () => {
      const total = await folderSize(join(out, target.appDir));
      const asarSize = (await stat(join(resources, 'app.asar'))).size;
      const unpacked = await folderSize(join(resources, 'app.asar.unpacked'));
      sizes.push(`  ${`${target.platform}-${target.arch}`.padEnd(14)} app.asar ${mib(asarSize).padStart(9)}   unpacked natives ${mib(unpacked).padStart(9)}   total ${mib(total).padStart(9)}`);
      expect(total).toBeGreaterThan(asarSize + unpacked - 1);
    });
  });
});

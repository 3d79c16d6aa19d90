/**
 * The layer rules are enforced by eslint (eslint.config.js); these tests plant forbidden imports in
 * virtual files at the real paths and check the project's own configuration refuses them.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: new URL('../..', import.meta.url).pathname });

async function restricted(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer boundaries', () => {
  it("refuses import 'electron' in app/core", async () => {
    const messages = await restricted("import 'electron';\n", 'app/core/planted.ts');
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/Only app\/main and app\/preload may import electron/);
    expect(await restricted("import { app } from 'electron/main';\nvoid app;\n", 'app/core/raster/planted.ts')).toHaveLength(1);
  });

  it("refuses import 'electron' and Node built-ins in app/contract", async () => {
    expect(await restricted("import 'electron';\n", 'app/contract/planted.ts')).toHaveLength(1);
    expect(await restricted("import { readFile } from 'node:fs';\nvoid readFile;\n", 'app/contract/planted.ts')).toHaveLength(1);
  });

  it('refuses app/core, app/server and Node built-ins in the renderer', async () => {
    expect(await restricted("import { openEngine } from '../../app/core/index.js';\nvoid openEngine;\n", 'renderer/src/planted.ts')).toHaveLength(1);
    expect(await restricted("import { startServer } from '../../app/server/index.js';\nvoid startServer;\n", 'renderer/src/planted.ts')).toHaveLength(1);
    expect(await restricted("import { readFile } from 'node:fs';\nvoid readFile;\n", 'renderer/src/planted.ts')).toHaveLength(1);
  });

  it('allows what each layer may import', async () => {
    expect(await restricted("import { app } from 'electron';\nvoid app;\n", 'app/main/planted.ts')).toEqual([]);
    expect(await restricted("import type { AppInfo } from '@contract/schema';\nexport type X = AppInfo;\n", 'renderer/src/planted.ts')).toEqual([]);
    expect(await restricted("import { readFile } from 'node:fs';\nvoid readFile;\n", 'app/core/planted.ts')).toEqual([]);
  });
});

/**
 * The walls, proved on real files: each test plants a file with a forbidden import inside the real
 * folder, lints it with the project's configuration through ESLint's Node API, and removes it.
 */
const root = new URL('../..', import.meta.url).pathname;
let planted = 0;

async function lintPlanted(dir: string, code: string): Promise<{ ruleId: string | null; message: string }[]> {
  const file = join(root, dir, `planted-lint-${process.pid}-${planted++}.ts`);
  await writeFile(file, code);
  try {
    const [result] = await eslint.lintFiles([file]);
    return (result?.messages ?? []).map((m) => ({ ruleId: m.ruleId, message: m.message }));
  } finally {
    await rm(file, { force: true });
  }
}

/** The rules that fire on `code` planted in `dir`. */
async function rulesFor(dir: string, code: string): Promise<(string | null)[]> {
  return (await lintPlanted(dir, code)).map((m) => m.ruleId);
}

const importing = (specifier: string): string => `import * as planted from '${specifier}';\nvoid planted;\n`;

describe('the walls, planted in the real folders', () => {
  it('refuses Node built-ins under every spelling in renderer/ and app/contract/', async () => {
    const spellings = ['fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'path', 'node:path', 'child_process', 'node:child_process', 'os', 'worker_threads'];
    for (const dir of ['renderer/src', 'renderer/src/lib', 'app/contract']) {
      for (const specifier of spellings) {
        expect(await rulesFor(dir, importing(specifier)), `${specifier} in ${dir}`).toEqual(['no-restricted-imports']);
      }
      expect(await rulesFor(dir, "export { readFile } from 'fs';\n"), `re-export in ${dir}`).toEqual(['no-restricted-imports']);
    }
  });

  it('refuses app/server, app/main, app/cli and app/workers in app/core', async () => {
    for (const [dir, up] of [['app/core', '..'], ['app/core/raster', '../..'], ['app/core/model/import', '../../..']] as const) {
      for (const specifier of [`${up}/server/index.js`, `${up}/main/ipc.js`, `${up}/cli/index.js`, `${up}/workers/engine.js`, `${up}/server`]) {
        expect(await rulesFor(dir, importing(specifier)), `${specifier} in ${dir}`).toContain('kestrel/layer-imports');
      }
    }
    const dynamic = "export async function planted(): Promise<unknown> {\n  return import('../../server/index.js');\n}\n";
    expect(await rulesFor('app/core/tune', dynamic)).toEqual(['kestrel/layer-imports']);
  });

  it('refuses app/main and app/cli in app/server', async () => {
    expect(await rulesFor('app/server', importing('../main/ipc.js'))).toContain('kestrel/layer-imports');
    expect(await rulesFor('app/server', importing('../cli/index.js'))).toContain('kestrel/layer-imports');
    expect(await rulesFor('app/server', importing('../main/index.js'))).toEqual(['kestrel/layer-imports']);
  });

  it("refuses 'electron' everywhere but app/main and app/preload", async () => {
    for (const dir of ['app/server', 'app/cli', 'app/cli/commands', 'app/workers', 'app/core', 'app/core/model', 'app/contract', 'renderer/src']) {
      expect(await rulesFor(dir, importing('electron')), dir).toEqual(['no-restricted-imports']);
      expect(await rulesFor(dir, importing('electron/main')), dir).toEqual(['no-restricted-imports']);
    }
    expect(await rulesFor('app/main', importing('electron'))).toEqual([]);
    expect(await rulesFor('app/preload', importing('electron'))).toEqual([]);
  });

  it("refuses reaching into another capability's insides", async () => {
    const inside: [string, string][] = [
      ['app/core/tune', '../model/session.js'],
      ['app/core/tune', '../model/import/graph.js'],
      ['app/core/jobs', '../platform/workers.js'],
      ['app/core', './raster/scene.js'],
      ['app/core/model/import', '../../platform/workers.js'],
      ['app/workers', '../core/tune/worker.js'],
      ['app/workers', '../core/model/index-not.js'],
      ['app/main', '../server/static.js'],
      ['app/cli/commands', '../../core/tune/evaluate.js'],
      ['app/cli', '../workers/engine.js'],
      ['app/main', '../preload/bridge.js'],
    ];
    for (const [dir, specifier] of inside) {
      const messages = await lintPlanted(dir, importing(specifier));
      expect(messages.map((m) => m.ruleId), `${specifier} in ${dir}`).toEqual(['kestrel/capability-index']);
      expect(messages[0]?.message).toMatch(/reaches into app\/(core\/)?\w+: import it through app\/(core\/)?\w+\/index\.ts/);
    }
    expect(await rulesFor('app/core/search', "export { type Catalog } from '../catalog/json-store.js';\n")).toEqual(['kestrel/capability-index']);
  });

  it('allows a clean file: capabilities through their index, anything inside the own capability', async () => {
    const clean: [string, string][] = [
      ['app/core/tune', '../model/index.js'],
      ['app/core/tune', '../model'],
      ['app/core/tune', './losses.js'],
      ['app/core/model/import', '../session.js'],
      ['app/core/model/import', '../../platform/index.js'],
      ['app/core/raster', '../../contract/schema.js'],
      ['app/core', './raster/index.js'],
      ['app/core', './host-protocol.js'],
      ['app/core', 'node:fs'],
      ['app/workers', '../core/index.js'],
      ['app/workers', '../core/model/index.js'],
      ['app/main', '../server/index.js'],
      ['app/main', '../core/index.js'],
      ['app/cli/commands', '../../core/tune/index.js'],
      ['app/cli/commands', '../command.js'],
      ['app/server', '../core/index.js'],
      ['app/server', './static.js'],
      ['app/contract', './schema.js'],
      ['renderer/src', '@contract/schema'],
      ['renderer/src', '@contract/index'],
    ];
    for (const [dir, specifier] of clean) {
      expect(await lintPlanted(dir, importing(specifier)), `${specifier} in ${dir}`).toEqual([]);
    }
  });

  it('refuses functions over 80 lines and more than four positional parameters in app code', async () => {
    const params = 'export function planted(a: number, b: number, c: number, d: number, e: number): number {\n  return a + b + c + d + e;\n}\n';
    expect(await rulesFor('app/core/tune', params)).toEqual(['max-params']);
    expect(await rulesFor('renderer/src', params)).toEqual(['max-params']);
    const body = Array.from({ length: 81 }, (_, i) => `  n += ${i};`).join('\n');
    const long = `export function planted(): number {\n  let n = 0;\n${body}\n  return n;\n}\n`;
    expect(await rulesFor('app/server', long)).toEqual(['max-lines-per-function']);
    const short = 'export function planted(o: { a: number; b: number; c: number; d: number; e: number }): number {\n  return o.a + o.e;\n}\n';
    expect(await rulesFor('app/core/tune', short)).toEqual([]);
  });
});

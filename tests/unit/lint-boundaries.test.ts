/**
 * The layer rules are enforced by eslint (eslint.config.js); these tests plant forbidden imports in
 * virtual files at the real paths and check the project's own configuration refuses them.
 */
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

import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIX, ROOT, tmp } from './helpers.js';

const dir = tmp('cli');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kestrel(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('npx', ['tsx', 'app/cli/index.ts', ...args, '--data', join(dir, 'data')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('kestrel import-model', { timeout: 60_000 }, () => {
  it('imports a HarMA checkpoint with progress on stderr and a JSON summary on stdout; the pack embeds text', () => {
    const out = join(dir, 'harma');
    const r = kestrel('import-model', join(FIX, 'harma-tiny.pt'), '--config', join(FIX, 'tiny-quickgelu.json'), '--layout', 'harma', '--licence', 'test licence', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/hashing the checkpoint \(sha256, alongside the conversion\): 100%/);
    expect(r.stderr).toMatch(/writing image\.onnx: 100%/);
    expect(r.stderr).toMatch(/writing text\.onnx: 100%/);
    expect(r.stderr).toMatch(/loading the pack through the runtime: ok/);
    expect(r.stderr).toMatch(/note: HarMA adapters: width 32/);
    const summary = JSON.parse(r.stdout) as { layout: string; activation: string; licence: string; files: Record<string, { sha256: string }> };
    expect(summary).toMatchObject({ layout: 'harma', activation: 'quick_gelu', licence: 'test licence' });
    const e = kestrel('embed-text', '--model', out, 'an airport', '--json', '--provider', 'cpu');
    expect(e.code, e.stderr).toBe(0);
    expect((JSON.parse(e.stdout) as { dimensions: number }).dimensions).toBe(16);
  });

  it('refuses the malicious pickle with exit code 1 and writes nothing', () => {
    const out = join(dir, 'malicious');
    const r = kestrel('import-model', join(FIX, 'malicious.pt'), '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/posix\.system/);
    expect(existsSync(out)).toBe(false);
  });

  it('usage errors exit 2', () => {
    expect(kestrel('import-model', join(FIX, 'harma-tiny.pt')).code).toBe(2);
    expect(kestrel('import-model', join(FIX, 'harma-tiny.pt'), '--out', join(dir, 'x'), '--precision', 'int4').stderr).toMatch(/--precision must be one of fp32, fp16, int8/);
  });
});

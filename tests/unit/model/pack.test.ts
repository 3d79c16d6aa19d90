import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelSession, planProviders, readModelPack } from '../../../app/core/model/index.js';
import { FIXTURES } from './helpers.js';

const TINY = join(FIXTURES, 'packs', 'tiny-quickgelu');
const temps: string[] = [];
afterEach(() => {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

/** A copy of the tiny pack with its manifest edited (checksums dropped unless kept). */
function variant(edit: (m: Record<string, unknown>) => void, keepChecksums = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-pack-'));
  temps.push(dir);
  cpSync(TINY, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  if (!keepChecksums) delete manifest.files;
  edit(manifest);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

async function openError(dir: string): Promise<{ code: string; message: string; file?: string }> {
  try {
    const s = await ModelSession.open(dir, { provider: 'cpu', threads: 1, warmUp: false });
    await s.close();
  } catch (err) {
    return err as { code: string; message: string; file?: string };
  }
  throw new Error('the pack loaded but should not have');
}

describe('model pack validation', () => {
  it('loads the tiny fixture pack and describes it', () => {
    const pack = readModelPack(TINY);
    expect(pack.manifest.embeddingSize).toBe(16);
    expect(pack.manifest.architecture.activation).toBe('quick_gelu');
  });

  it('names the missing file', async () => {
    const dir = variant(() => {});
    unlinkSync(join(dir, 'text.onnx'));
    const err = await openError(dir);
    expect(err.message).toMatch(/missing its text tower \(text\.onnx\)/);
    expect(err.file).toBe(join(dir, 'text.onnx'));
  });

  it('refuses a folder with no manifest, and a manifest with wrong fields, naming the fields', async () => {
    const dir = variant(() => {});
    unlinkSync(join(dir, 'manifest.json'));
    expect((await openError(dir)).message).toMatch(/no manifest\.json/);
    const bad = variant((m) => {
      m.embeddingSize = 'sixteen';
      (m.image as Record<string, unknown>).resize = 'stretch';
    });
    const err = await openError(bad);
    expect(err.message).toMatch(/embeddingSize/);
    expect(err.message).toMatch(/image\.resize/);
  });

  it('refuses wrong input and output names', async () => {
    const inName = await openError(variant((m) => ((m.image as Record<string, unknown>).input = 'pixels')));
    expect(inName.message).toMatch(/no input named "pixels" \(it has "pixel_values"\)/);
    const outName = await openError(variant((m) => ((m.text as Record<string, unknown>).output = 'embeds')));
    expect(outName.message).toMatch(/no output named "embeds"/);
  });

  it('refuses shapes that differ from the manifest', async () => {
    const size = await openError(variant((m) => ((m.image as Record<string, unknown>).size = 96)));
    expect(size.message).toMatch(/float32\[batch, 3, 96, 96\] was expected/);
    const ctx = await openError(variant((m) => ((m.text as Record<string, unknown>).contextLength = 64)));
    expect(ctx.message).toMatch(/int64\[batch, 64\] was expected/);
    const embed = await openError(variant((m) => (m.embeddingSize = 32)));
    expect(embed.message).toMatch(/gives 16-value embeddings but the manifest says embeddingSize 32/);
  });

  it('refuses towers whose embedding sizes differ', async () => {
    const dir = variant(() => {});
    cpSync(join(FIXTURES, 'bad', 'text-embed12.onnx'), join(dir, 'text.onnx'));
    expect((await openError(dir)).message).toMatch(/embedding sizes differ: the image tower gives 16 values, the text tower 12/);
  });

  it('refuses unsupported operators, naming the operator', async () => {
    const dir = variant(() => {});
    cpSync(join(FIXTURES, 'bad', 'image-custom-op.onnx'), join(dir, 'image.onnx'));
    const err = await openError(dir);
    expect(err.message).toMatch(/operator this ONNX Runtime does not support \(org\.example\.kestrel:Frobnicate\)/);
  });

  it('refuses a file that does not match its checksum', async () => {
    const dir = variant(() => {}, true);
    cpSync(join(FIXTURES, 'packs', 'tiny-gelu', 'text.onnx'), join(dir, 'text.onnx'));
    expect((await openError(dir)).message).toMatch(/text\.onnx does not match the checksum/);
  });
});

describe('execution provider plan', () => {
  const linux = [
    { name: 'cpu', bundled: true },
    { name: 'webgpu', bundled: true },
    { name: 'cuda', bundled: false },
    { name: 'tensorrt', bundled: false },
  ];

  it('skips cuda and tensorrt without their libraries, says why, and ends with cpu', () => {
    const plan = planProviders('auto', linux, 'linux', () => false);
    expect(plan.candidates).toEqual(['webgpu', 'cpu']);
    expect(plan.skipped.map((s) => s.provider)).toEqual(['tensorrt', 'cuda']);
    expect(plan.skipped[0]?.reason).toMatch(/libraries are not installed/);
  });

  it('tries cuda and tensorrt first where their libraries exist', () => {
    expect(planProviders('auto', linux, 'linux', () => true).candidates).toEqual(['tensorrt', 'cuda', 'webgpu', 'cpu']);
  });

  it('uses dml on Windows and coreml on macOS when onnxruntime-node offers them', () => {
    const win = [{ name: 'cpu', bundled: true }, { name: 'dml', bundled: true }, { name: 'webgpu', bundled: true }];
    expect(planProviders('auto', win, 'win32', () => false).candidates).toEqual(['dml', 'webgpu', 'cpu']);
    const mac = [{ name: 'cpu', bundled: true }, { name: 'coreml', bundled: true }, { name: 'webgpu', bundled: true }];
    expect(planProviders('auto', mac, 'darwin', () => false).candidates).toEqual(['coreml', 'webgpu', 'cpu']);
  });

  it('puts a preferred provider first and falls back to cpu', () => {
    expect(planProviders('webgpu', linux, 'linux').candidates).toEqual(['webgpu', 'cpu']);
    expect(planProviders('cpu', linux, 'linux').candidates).toEqual(['cpu']);
    const dml = planProviders('dml', linux, 'linux');
    expect(dml.candidates).toEqual(['cpu']);
    expect(dml.skipped[0]?.reason).toMatch(/no dml provider/);
  });

  it('falls back to cpu when the preferred GPU provider cannot run here, and says why', async () => {
    const s = await ModelSession.open(TINY, { provider: 'cuda', threads: 1, warmUp: false });
    try {
      const cuda = s.status.providers.find((p) => p.provider === 'cuda');
      if (s.status.provider === 'cpu') {
        expect(cuda?.outcome).toMatch(/skipped|failed/);
        expect(cuda?.reason.length).toBeGreaterThan(10);
        expect(s.status.providers.at(-1)).toMatchObject({ provider: 'cpu', outcome: 'used' });
      } else {
        expect(s.status.provider).toBe('cuda');
      }
      expect((await s.embedTexts(['a runway']))[0]?.length).toBe(16);
    } finally {
      await s.close();
    }
  });

  it('records on this machine why each provider before cpu was not used', async () => {
    const s = await ModelSession.open(TINY, { threads: 1, warmUp: false });
    try {
      const used = s.status.providers.filter((p) => p.outcome === 'used');
      expect(used).toHaveLength(1);
      expect(used[0]?.provider).toBe(s.status.provider);
      for (const p of s.status.providers.filter((p) => p.outcome !== 'used')) expect(p.reason.length).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });
});

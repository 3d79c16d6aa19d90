import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, ROOT, SHARED_DATA, hasSharedData, readJson } from './helpers.js';

const PACK = join(FIXTURES, 'packs', 'tiny-quickgelu');
const dataDir = mkdtempSync(join(tmpdir(), 'kestrel-cli-model-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function kestrel(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('npx', ['tsx', 'app/cli/index.ts', ...args, '--data', dataDir], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const adversarial = readJson<{ cases: { text: string; ids: number[] }[] }>(join(FIXTURES, 'tokenizer', 'adversarial.json'));
const refs = readJson<{ packs: Record<string, { captions: { text: string; embedding: number[] }[]; realImages: { file: string; embedding: number[] }[] }> }>(
  join(FIXTURES, 'references.json'),
);

describe('kestrel tokenize / embed-text / embed-image', { timeout: 60_000 }, () => {
  it("tokenize --json prints open_clip's ids", () => {
    const text = 'Broken text&hellip; it&#x2019;s ﬂubberiﬁc!';
    const r = kestrel('tokenize', '--model', PACK, text, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { ids: number[]; length: number };
    const want = adversarial.cases.find((c) => c.text === text)?.ids ?? [];
    expect(out.ids.slice(0, want.length)).toEqual(want);
    expect(out.length).toBe(want.length);
    expect(out.ids).toHaveLength(77);
  });

  it("embed-text --json prints the L2-normalised embedding of open_clip's text tower (tolerance 1e-4)", () => {
    const caption = refs.packs['tiny-quickgelu']?.captions[0];
    if (!caption) throw new Error('no reference caption');
    const r = kestrel('embed-text', '--model', PACK, caption.text, '--json', '--provider', 'cpu');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/execution provider: cpu/);
    const out = JSON.parse(r.stdout) as { embedding: number[]; provider: string; dimensions: number };
    const norm = Math.hypot(...caption.embedding);
    expect(out.dimensions).toBe(16);
    out.embedding.forEach((x, i) => expect(Math.abs(x - (caption.embedding[i] ?? NaN) / norm)).toBeLessThanOrEqual(1e-4));
  });

  it.skipIf(!hasSharedData)("embed-image --json prints the normalised embedding of open_clip's pipeline (tolerance 1e-4)", () => {
    const ref = refs.packs['tiny-quickgelu']?.realImages[0];
    if (!ref) throw new Error('no reference image');
    const r = kestrel('embed-image', '--model', PACK, join(SHARED_DATA, 'rs-captioned', ref.file), '--json', '--provider', 'cpu');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { embedding: number[] };
    const norm = Math.hypot(...ref.embedding);
    out.embedding.forEach((x, i) => expect(Math.abs(x - (ref.embedding[i] ?? NaN) / norm)).toBeLessThanOrEqual(1e-4));
  });

  it('explains a missing pack and a missing --model', () => {
    const missing = kestrel('embed-text', '--model', join(dataDir, 'nope'), 'x', '--json');
    expect(missing.code).toBe(1);
    expect((JSON.parse(missing.stdout) as { error: { code: string } }).error.code).toBe('not_found');
    const usage = kestrel('tokenize', 'x');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--model <pack folder> is required/);
  });
});

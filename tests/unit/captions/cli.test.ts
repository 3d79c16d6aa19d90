/**
 * `kestrel captions import` and `export`, run as real child processes on a small archive of the
 * shared captioned images (linked, never copied): matching, idempotent re-import, and a round trip
 * through the catalog into every format and back into a fresh data folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCaptions } from '../../../app/core/captions/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { HAVE_DATA, REPO, SHARED, SKIP_REASON } from '../search/fixture.js';
import { kestrel } from '../../helpers/cli.js';



interface ManifestEntry {
  file: string;
  captions: string[];
}

describe.skipIf(!HAVE_DATA)('kestrel captions import / export', () => {
  let dir: { path: string; remove(): Promise<void> };
  let manifest: ManifestEntry[];
  let archiveFolder: string;
  let data: string;
  let archiveId: string;
  beforeAll(async () => {
    dir = await tempDir();
    manifest = JSON.parse(readFileSync(join(SHARED, 'rs-captioned', 'manifest.json'), 'utf8')) as ManifestEntry[];
    archiveFolder = join(dir.path, 'archive');
    for (const m of manifest) {
      await mkdir(join(archiveFolder, dirname(m.file)), { recursive: true });
      await symlink(join(SHARED, 'rs-captioned', m.file), join(archiveFolder, m.file));
    }
    data = join(dir.path, 'data');
  });
  afterAll(() => dir.remove());

  const captioned = (): ManifestEntry[] => manifest.filter((m) => m.captions.length > 0);

  it('import matches a HarMA file to the archive’s scenes, reports what did not match, and does not add captions twice', { timeout: 60_000 }, async () => {
    // One row per caption (the HarMA train layout), plus an image the archive does not hold.
    const rows = captioned().flatMap((m) => m.captions.map((caption) => ({ image: m.file, caption })));
    rows.push({ image: 'rsicd/not_in_archive.jpg', caption: 'a lonely caption' });
    const file = join(dir.path, 'caps.json');
    await writeFile(file, JSON.stringify(rows));
    const r = await kestrel(['captions', 'import', file, '--archive', archiveFolder, '--json', '--data', data]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { archiveId: string; format: string; counts: Record<string, number>; added: number; duplicates: number; unmatchedImages: { file: string; captions: number }[]; unmatchedArchiveFiles: string[] };
    archiveId = report.archiveId;
    const captions = captioned().reduce((a, m) => a + m.captions.length, 0);
    expect(report.format).toBe('harma');
    expect(report.counts).toMatchObject({ images: captioned().length + 1, imagesMatched: captioned().length, captions: captions + 1, captionsMatched: captions, archiveFiles: manifest.length });
    expect(report.added).toBe(captions);
    expect(report.unmatchedImages).toEqual([{ image: captioned().length, file: 'rsicd/not_in_archive.jpg', captions: 1 }]);
    expect(report.unmatchedArchiveFiles.map((f) => f.slice(archiveFolder.length + 1)).sort()).toEqual(manifest.filter((m) => m.captions.length === 0).map((m) => m.file).sort());

    const again = await kestrel(['captions', 'import', file, '--archive', archiveId, '--json', '--data', data]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ archiveId, added: 0, duplicates: captions });
  });

  it('export writes the catalog’s captions in every format, and a jsonl export imports into a fresh data folder unchanged', { timeout: 60_000 }, async () => {
    expect(archiveId).toBeTruthy();
    for (const format of ['harma', 'karpathy', 'coco', 'jsonl'] as const) {
      const out = join(dir.path, `export.${format === 'jsonl' ? 'jsonl' : `${format}.json`}`);
      const r = await kestrel(['captions', 'export', '--archive', archiveId, '--format', format, '--out', out, '--json', '--data', data]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ images: captioned().length, chipCaptionsLeftOut: 0 });
      const set = parseCaptions(await readFile(out, 'utf8'), out);
      expect(set.format).toBe(format);
      const got = new Map(set.images.map((im) => [im.file, im.captions.map((c) => c.text)]));
      expect(got.size, format).toBe(captioned().length);
      for (const m of captioned()) expect(got.get(m.file), `${format}: ${m.file}`).toEqual(m.captions);
    }
    const fresh = join(dir.path, 'fresh');
    const r = await kestrel(['captions', 'import', join(dir.path, 'export.jsonl'), '--archive', archiveFolder, '--json', '--data', fresh]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { counts: Record<string, number>; added: number; unmatchedImages: unknown[]; ambiguousImages: unknown[] };
    expect(report.counts.imagesMatched).toBe(captioned().length);
    expect(report.added).toBe(captioned().reduce((a, m) => a + m.captions.length, 0));
    expect(report.unmatchedImages).toEqual([]);
    expect(report.ambiguousImages).toEqual([]);
  });

  it('kestrel tune re-tunes on the imported captions, registers an adapter version and activates it', { timeout: 120_000 }, async () => {
    // The archive indexed with an installed pack (the tiny random fixture model), then tuned on its captions.
    const tuneData = join(dir.path, 'tune-data');
    await mkdir(join(tuneData, 'models'), { recursive: true });
    await cp(join(REPO, 'tests', 'fixtures', 'model', 'packs', 'tiny-gelu'), join(tuneData, 'models', 'tiny'), { recursive: true });
    const indexed = await kestrel(['index', archiveFolder, '--model', 'tiny', '--data', tuneData, '--json']);
    expect(indexed.code, indexed.stderr).toBe(0);
    const file = join(dir.path, 'tune-caps.json');
    await writeFile(file, JSON.stringify(captioned().flatMap((m) => m.captions.map((caption) => ({ image: m.file, caption })))));
    expect((await kestrel(['captions', 'import', file, '--archive', archiveFolder, '--data', tuneData])).code).toBe(0);
    const tuned = await kestrel(['tune', '--archive', archiveFolder, '--model', 'tiny', '--epochs', '3', '--activate', '--json', '--data', tuneData]);
    expect(tuned.code, tuned.stderr).toBe(0);
    expect(tuned.stderr).toMatch(/running {2}epoch 1\/3 {2}loss \d/);
    const status = JSON.parse(tuned.stdout) as { state: string; adapterId: string | null; captions: number };
    expect(status.state).toBe('done');
    expect(status.captions).toBe(captioned().reduce((n, m) => n + m.captions.length, 0));
    expect(status.adapterId).toMatch(/^[a-z0-9_-]+$/);
    expect(existsSync(join(tuneData, 'adapters', `${status.adapterId}.json`))).toBe(true);
    expect(JSON.parse(readFileSync(join(tuneData, 'adapters', 'active.json'), 'utf8'))).toMatchObject({ id: status.adapterId });

    // kestrel eval --adapter <id>: metrics with and without the version, stored with it.
    const evaluated = await kestrel(['eval', '--captions', file, '--images', archiveFolder, '--model', join(tuneData, 'models', 'tiny'), '--adapter', status.adapterId!, '--json', '--data', tuneData]);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const ev = JSON.parse(evaluated.stdout) as { adapter: string; metrics: { mR: number }; baseMetrics: { mR: number } };
    expect(ev.adapter).toBe(status.adapterId);
    // The base metrics are those of the same evaluation without the adapter.
    const base = await kestrel(['eval', '--captions', file, '--images', archiveFolder, '--model', join(tuneData, 'models', 'tiny'), '--json', '--data', tuneData]);
    expect(base.code, base.stderr).toBe(0);
    expect(ev.baseMetrics).toEqual((JSON.parse(base.stdout) as { metrics: unknown }).metrics);
    const stored = JSON.parse(readFileSync(join(tuneData, 'adapters', `${status.adapterId}.json`), 'utf8')) as { record: { evaluations: { captions: string; metrics: { mR: number } }[] } };
    expect(stored.record.evaluations.at(-1)).toMatchObject({ captions: file, metrics: { mR: ev.metrics.mR } });
  });

  it('refuses an export without a format or an unknown archive, with the usage line', async () => {
    const noFormat = await kestrel(['captions', 'export', '--archive', archiveFolder, '--out', join(dir.path, 'x.json'), '--data', data]);
    expect(noFormat.code).toBe(2);
    expect(noFormat.stderr).toMatch(/--format must be/);
    const noArchive = await kestrel(['captions', 'import', join(dir.path, 'caps.json'), '--archive', 'anope', '--data', data]);
    expect(noArchive.code).toBe(2);
    expect(noArchive.stderr).toMatch(/no archive with that id/);
    expect(existsSync(join(dir.path, 'x.json'))).toBe(false);
  });
});

if (!HAVE_DATA) describe.skip(SKIP_REASON, () => {});

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { clipVocabularyPath } from '../../../app/core/model/resources.js';
import { ClipTokenizer, END_OF_TEXT, START_OF_TEXT } from '../../../app/core/model/tokenizer/index.js';
import { FIXTURES, ROOT, SHARED_MISSING, hasSharedData, readJson } from './helpers.js';

interface Source {
  path: string;
  kind: 'textaug' | 'coco' | 'harma' | 'karpathy' | 'manifest';
  sha256: string;
  count: number;
}
const meta = readJson<{ total: number; sources: Source[] }>(join(FIXTURES, 'tokenizer', 'captions.json'));

/** Reads captions exactly as tools/make_tokenizer_fixtures.py does. */
function readCaptions(text: string, kind: Source['kind']): string[] {
  if (kind === 'textaug') {
    return text
      .split('\n')
      .filter((l) => l.trim())
      .flatMap((l) => (JSON.parse(l) as { captions: string[] }).captions);
  }
  const data = JSON.parse(text) as unknown;
  if (kind === 'coco') return (data as { annotations: { caption: string }[] }).annotations.map((a) => a.caption);
  if (kind === 'harma') return (data as { caption: string | string[] }[]).flatMap((r) => r.caption);
  if (kind === 'karpathy') {
    return (data as { images: { sentences: { raw: string }[] }[] }).images.flatMap((im) => im.sentences.map((s) => s.raw));
  }
  return (data as { captions?: string[] }[]).flatMap((item) => item.captions ?? []);
}

describe.skipIf(!hasSharedData)('CLIP tokenizer on every caption in ../shared/data', () => {
  it.skipIf(!hasSharedData)(`gives open_clip's ids on all ${meta.total} captions`, () => {
    const tokenizer = ClipTokenizer.fromFile(clipVocabularyPath());
    const expected = gunzipSync(readFileSync(join(FIXTURES, 'tokenizer', 'captions.ids.gz')));
    let offset = 0;
    let checked = 0;
    const mismatches: string[] = [];
    for (const source of meta.sources) {
      const bytes = readFileSync(resolve(ROOT, source.path));
      const sha = createHash('sha256').update(bytes).digest('hex');
      expect(sha, `${source.path} changed since the fixture was recorded; rerun tools/make_tokenizer_fixtures.py`).toBe(source.sha256);
      const captions = readCaptions(bytes.toString('utf8'), source.kind);
      expect(captions.length).toBe(source.count);
      for (const caption of captions) {
        const n = expected.readUInt8(offset);
        const want = [START_OF_TEXT];
        for (let i = 0; i < n; i++) want.push(expected.readUInt16LE(offset + 1 + 2 * i));
        want.push(END_OF_TEXT);
        offset += 1 + 2 * n;
        const got = Array.from(tokenizer.tokenize(caption).slice(0, want.length));
        if (got.join(',') !== want.join(',') || (want.length < 77 && tokenizer.tokenize(caption)[want.length] !== 0)) {
          mismatches.push(`${source.path}: ${JSON.stringify(caption)}`);
        }
        checked++;
      }
    }
    expect(offset).toBe(expected.length);
    expect(checked).toBe(meta.total);
    expect(mismatches.slice(0, 20)).toEqual([]);
  });
});

if (!hasSharedData) console.warn(SHARED_MISSING);

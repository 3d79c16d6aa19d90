import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KestrelError } from '../../../app/contract/index.js';
import { CAPTION_FORMATS, detectCaptionFormat, parseCaptions, writeCaptions, type CaptionFormat, type CaptionSet } from '../../../app/core/captions/index.js';

const DIR = join(new URL('../../../..', import.meta.url).pathname, 'shared', 'data', 'captions');
const have = existsSync(DIR);
const files = have ? readdirSync(DIR).filter((f) => /\.(json|jsonl)$/.test(f)).sort() : [];

/** file → captions, as a map, for comparing two readings of the same data. */
function captionsByImage(set: CaptionSet): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const img of set.images) m.set(img.file, [...(m.get(img.file) ?? []), ...img.captions.map((c) => c.text)]);
  return m;
}

/** An independent reading of each file with JSON.parse and the format's documented fields. */
function independentReading(text: string, format: CaptionFormat): Map<string, string[]> {
  const m = new Map<string, string[]>();
  const add = (f: string, cs: string[]): void => void m.set(f, [...(m.get(f) ?? []), ...cs]);
  if (format === 'jsonl') for (const line of text.split('\n').filter((l) => l.trim())) { const r = JSON.parse(line); add(r.filename, r.captions); }
  if (format === 'harma') for (const r of JSON.parse(text)) add(r.image, typeof r.caption === 'string' ? [r.caption] : r.caption);
  if (format === 'karpathy') for (const i of JSON.parse(text).images) add(i.filename, i.sentences.map((s: { raw: string }) => s.raw));
  if (format === 'coco') {
    const d = JSON.parse(text);
    const names = new Map<number, string>(d.images.map((i: { id: number; file_name: string }) => [i.id, i.file_name]));
    for (const i of d.images) add(i.file_name, []);
    for (const a of d.annotations) add(names.get(a.image_id)!, [a.caption]);
  }
  return m;
}

const expectedFormat = (f: string): CaptionFormat => (f.endsWith('.jsonl') ? 'jsonl' : f.includes('.harma.') ? 'harma' : f.includes('.coco.') ? 'coco' : 'karpathy');

describe.skipIf(!have)('caption formats on ../shared/data/captions', () => {
  if (!have) it('needs ../shared/data/captions', () => {});
  it.each(files)('%s: detected, read like an independent reading, and round-trips through every format', (f) => {
    const text = readFileSync(join(DIR, f), 'utf8');
    const format = expectedFormat(f);
    expect(detectCaptionFormat(text, f)).toBe(format);
    const set = parseCaptions(text, f);
    const want = independentReading(text, format);
    expect(captionsByImage(set)).toEqual(want);
    expect(set.images.every((i) => i.captions.every((c) => c.provenance === 'imported'))).toBe(true);

    // Same format: captions, splits and the format's own fields survive.
    const again = parseCaptions(writeCaptions(set), `again-${f}`, format);
    expect(again.images.map((i) => i.file)).toEqual(set.images.map((i) => i.file));
    expect(again.images.map((i) => i.captions)).toEqual(set.images.map((i) => i.captions));
    expect(again.images.map((i) => i.split)).toEqual(set.images.map((i) => i.split));
    expect(again.images.map((i) => i.extra)).toEqual(set.images.map((i) => i.extra));
    expect(again.extra).toEqual(set.extra);
    expect(again.layout).toEqual(set.layout);

    // Every other format: the captions per image survive.
    for (const other of CAPTION_FORMATS) {
      const name = `x.${other === 'jsonl' ? 'jsonl' : 'json'}`;
      const written = writeCaptions(set, other);
      expect(detectCaptionFormat(written, name)).toBe(other);
      expect(captionsByImage(parseCaptions(written, name))).toEqual(want);
    }
  });

  it('keeps Karpathy splits and HarMA class labels', () => {
    const syd = parseCaptions(readFileSync(join(DIR, 'sydney.karpathy.json'), 'utf8'), 'sydney.karpathy.json');
    const raw = JSON.parse(readFileSync(join(DIR, 'sydney.karpathy.json'), 'utf8')) as { images: { split: string }[] };
    expect(syd.images.map((i) => i.split)).toEqual(raw.images.map((i) => i.split));
    const viaJsonl = parseCaptions(writeCaptions(syd, 'jsonl'), 'x.jsonl');
    expect(viaJsonl.images.map((i) => i.split)).toEqual(raw.images.map((i) => i.split));

    const train = parseCaptions(readFileSync(join(DIR, 'rsitmd_train.harma.json'), 'utf8'), 'rsitmd_train.harma.json');
    expect(train.layout).toBe('per-caption');
    const rows = JSON.parse(readFileSync(join(DIR, 'rsitmd_train.harma.json'), 'utf8')) as { image: string; label_name: string }[];
    const label = new Map(rows.map((r) => [r.image, r.label_name]));
    expect(train.images.every((i) => i.extra?.label_name === label.get(i.file))).toBe(true);
  });
});

describe('caption formats: malformed input', () => {
  const err = (fn: () => unknown): KestrelError => {
    try {
      fn();
    } catch (e) {
      return e as KestrelError;
    }
    throw new Error('expected an error');
  };

  it('names the file and the offending entry', () => {
    const e1 = err(() => parseCaptions('[{"image":"a.tif","caption":["x"]},{"image":"b.tif","caption":3}]', 'caps.json'));
    expect(e1).toBeInstanceOf(KestrelError);
    expect(e1.file).toBe('caps.json');
    expect(e1.message).toMatch(/caps\.json.*entry 1 \(b\.tif\).*caption/);

    const e2 = err(() => parseCaptions('{"filename":"a.tif","captions":["x"]}\n{"filename":"b.tif","captions":"y"}\n', 'c.jsonl'));
    expect(e2.message).toMatch(/c\.jsonl.*line 2 \(b\.tif\)/);
    const e3 = err(() => parseCaptions('{"filename":"a.tif","captions":["x"]}\n{oops\n', 'c.jsonl'));
    expect(e3.message).toMatch(/line 2.*not valid JSON/);

    const e4 = err(() => parseCaptions('{"images":[{"id":1,"file_name":"a.jpg"}],"annotations":[{"id":1,"image_id":2,"caption":"x"}]}', 'k.json'));
    expect(e4.message).toMatch(/annotations\[0\].*image_id/);

    const e5 = err(() => parseCaptions('{"images":[{"filename":"a.tif","sentences":[{"raw":"ok"},{"tokens":[]}]}]}', 'k.json'));
    expect(e5.message).toMatch(/images\[0\] \(a\.tif\) sentences\[1\].*raw/);

    const e6 = err(() => parseCaptions('[{"image":"a.tif","caption":["x"]', 'broken.json'));
    expect(e6.code).toBe('corrupt_file');
    expect(e6.message).toMatch(/broken\.json: not valid JSON/);

    expect(err(() => detectCaptionFormat('hello', 'x.txt')).code).toBe('invalid_input');
  });

  it('reads files that start with a byte-order mark', () => {
    const set = parseCaptions('\uFEFF[{"image":"a.tif","caption":["x","y"]}]', 'bom.json');
    expect(set.images).toEqual([{ file: 'a.tif', captions: [{ text: 'x', provenance: 'imported' }, { text: 'y', provenance: 'imported' }] }]);
  });

  it('gives written captions fresh COCO ids and Karpathy tokens', () => {
    const set: CaptionSet = {
      format: 'harma',
      images: [
        { file: 'a.tif', captions: [{ text: 'Two Bridges over a river.', provenance: 'person' }] },
        { file: 'b.tif', captions: [{ text: 'A port', provenance: 'person' }, { text: 'ships', provenance: 'suggested' }] },
      ],
    };
    const coco = JSON.parse(writeCaptions(set, 'coco')) as { images: { id: number }[]; annotations: { id: number; image_id: number }[] };
    expect(new Set(coco.images.map((i) => i.id)).size).toBe(2);
    expect(new Set(coco.annotations.map((a) => a.id)).size).toBe(3);
    expect(coco.annotations.map((a) => a.image_id)).toEqual([coco.images[0]!.id, coco.images[1]!.id, coco.images[1]!.id]);
    const k = JSON.parse(writeCaptions(set, 'karpathy')) as { images: { sentences: { tokens: string[]; raw: string }[] }[] };
    expect(k.images[0]!.sentences[0]!.tokens).toEqual(['two', 'bridges', 'over', 'a', 'river']);
  });
});

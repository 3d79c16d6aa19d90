/**
 * The caption formats in real use, read into and written from one in-memory model: a list of
 * images, each with its captions (with provenance) and whatever format-specific fields it carried
 * (split, ids, class labels, tokens), so that parse → write → parse keeps them.
 *
 *   harma     the HarMA code's json list: `[{image, caption}]`, caption a string (one row per
 *             caption, train files, with `image_id`, `label_name`, `label`) or a list of strings
 *   karpathy  the "Karpathy" dataset json of the RSICD, UCM and Sydney releases:
 *             `{images: [{filename, split, sentences: [{raw, tokens, …}], …}], dataset}`
 *   coco      COCO captions: `{images: [{id, file_name, …}], annotations: [{id, image_id, caption}], …}`
 *   jsonl     one `{filename, captions}` object per line
 *
 * Pure functions over text: no files, no catalog (the caption journal stores the model; see docs/tuning.md).
 * This is the one caption file parser: `kestrel captions import` and the caption bank both read through it.
 */
import { KestrelError } from '../../contract/index.js';

export type CaptionFormat = 'harma' | 'karpathy' | 'coco' | 'jsonl';
export const CAPTION_FORMATS: readonly CaptionFormat[] = ['harma', 'karpathy', 'coco', 'jsonl'];

/** Where a caption came from: a file, the model's image→text suggestion, or a person. */
export type CaptionProvenance = 'imported' | 'suggested' | 'person';

type Json = Record<string, unknown>;

export interface Caption {
  text: string;
  provenance: CaptionProvenance;
  /** Format-specific fields of this caption (Karpathy `tokens`, `sentid`; COCO annotation `id`). */
  extra?: Json;
}

export interface CaptionedImage {
  /** The image's file name as the caption file gives it (may carry a folder: `test/bridge_358.jpg`). */
  file: string;
  captions: Caption[];
  /** `train` / `val` / `test` when the format carries it (Karpathy `split`). */
  split?: string;
  /** Format-specific fields of the image (HarMA `label_name`, `image_id`; COCO `id`, `width`; Karpathy `imgid`). */
  extra?: Json;
}

export interface CaptionSet {
  /** The format it was read from (or is meant for). */
  format: CaptionFormat;
  images: CaptionedImage[];
  /** Top-level fields besides the images (COCO `info`, `licenses`; Karpathy `dataset`). */
  extra?: Json;
  /** HarMA only: one row per caption (train files) or one row per image with a caption list. */
  layout?: 'per-caption' | 'per-image';
}

function malformed(file: string, where: string, what: string): KestrelError {
  return new KestrelError({
    code: 'corrupt_file',
    message: `Caption file ${file}: ${where}: ${what}`,
    file,
    hint: 'Fix that entry (or remove it) and import again; see docs/tuning.md for the formats Kestrel reads.',
  });
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function without(o: Json, keys: string[]): Json | undefined {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) if (!keys.includes(k)) out[k] = v;
  return Object.keys(out).length > 0 ? out : undefined;
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw malformed(file, 'not valid JSON', (e as Error).message);
  }
}

/** The format of a caption file, from its name (`.jsonl`) and the shape of its content. */
export function detectCaptionFormat(text: string, file: string): CaptionFormat {
  if (/\.jsonl$/i.test(file)) return 'jsonl';
  const head = text.trimStart();
  if (head.startsWith('[')) return 'harma';
  if (head.startsWith('{')) {
    // A one-line-per-object file without the .jsonl extension: the first line is a whole object.
    const firstLine = head.split('\n', 1)[0]!;
    if (head.includes('\n') && isObject(tryParse(firstLine)) && 'filename' in (tryParse(firstLine) as Json)) return 'jsonl';
    const doc = parseJson(text, file);
    if (isObject(doc) && Array.isArray(doc.annotations)) return 'coco';
    if (isObject(doc) && Array.isArray(doc.images)) return 'karpathy';
  }
  throw new KestrelError({
    code: 'invalid_input',
    message: `Caption file ${file}: not a caption format Kestrel knows (HarMA json list, Karpathy dataset json, COCO captions json, jsonl).`,
    file,
    hint: 'Name the format with --format, or convert the file to one of these.',
  });
}

function tryParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

const imported = (text: string, extra?: Json): Caption => (extra ? { text, provenance: 'imported', extra } : { text, provenance: 'imported' });

function requireString(v: unknown, file: string, where: string, field: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw malformed(file, where, `"${field}" must be a non-empty string (got ${v === undefined ? 'nothing' : JSON.stringify(v)?.slice(0, 60)}).`);
  return v;
}

function parseHarma(doc: unknown, file: string): CaptionSet {
  if (!Array.isArray(doc)) throw malformed(file, 'top level', 'a HarMA caption file is a JSON list of {image, caption}.');
  const byFile = new Map<string, CaptionedImage>();
  let perCaption = 0;
  doc.forEach((row, i) => {
    const where = `entry ${i}`;
    if (!isObject(row)) throw malformed(file, where, 'each entry must be an object {image, caption}.');
    const image = requireString(row.image, file, where, 'image');
    const raw = row.caption;
    let texts: string[];
    if (typeof raw === 'string') {
      texts = [raw];
      perCaption++;
    } else if (Array.isArray(raw) && raw.every((c) => typeof c === 'string')) texts = raw as string[];
    else throw malformed(file, `${where} (${image})`, '"caption" must be a string or a list of strings.');
    let entry = byFile.get(image);
    if (!entry) {
      entry = { file: image, captions: [] };
      const extra = without(row, ['image', 'caption']);
      if (extra) entry.extra = extra;
      byFile.set(image, entry);
    }
    for (const t of texts) entry.captions.push(imported(t));
  });
  return { format: 'harma', images: [...byFile.values()], layout: perCaption > 0 && perCaption === doc.length ? 'per-caption' : 'per-image' };
}

function parseKarpathy(doc: unknown, file: string): CaptionSet {
  if (!isObject(doc) || !Array.isArray(doc.images)) throw malformed(file, 'top level', 'a Karpathy dataset json is an object with an "images" list.');
  const images = doc.images.map((img, i): CaptionedImage => {
    if (!isObject(img)) throw malformed(file, `images[${i}]`, 'each image must be an object.');
    const name = requireString(img.filename, file, `images[${i}]`, 'filename');
    const where = `images[${i}] (${name})`;
    if (!Array.isArray(img.sentences)) throw malformed(file, where, '"sentences" must be a list.');
    const captions = img.sentences.map((s, j) => {
      if (!isObject(s)) throw malformed(file, `${where} sentences[${j}]`, 'each sentence must be an object with "raw".');
      return imported(requireString(s.raw, file, `${where} sentences[${j}]`, 'raw'), without(s, ['raw']));
    });
    if (img.split !== undefined && typeof img.split !== 'string') throw malformed(file, where, '"split" must be a string.');
    const out: CaptionedImage = { file: name, captions };
    if (typeof img.split === 'string') out.split = img.split;
    const extra = without(img, ['filename', 'sentences', 'split']);
    if (extra) out.extra = extra;
    return out;
  });
  const set: CaptionSet = { format: 'karpathy', images };
  const extra = without(doc, ['images']);
  if (extra) set.extra = extra;
  return set;
}

function parseCoco(doc: unknown, file: string): CaptionSet {
  if (!isObject(doc) || !Array.isArray(doc.images) || !Array.isArray(doc.annotations)) {
    throw malformed(file, 'top level', 'a COCO captions json is an object with "images" and "annotations" lists.');
  }
  const byId = new Map<string, CaptionedImage>();
  const images = doc.images.map((img, i): CaptionedImage => {
    if (!isObject(img)) throw malformed(file, `images[${i}]`, 'each image must be an object {id, file_name}.');
    const name = requireString(img.file_name, file, `images[${i}]`, 'file_name');
    if (typeof img.id !== 'number' && typeof img.id !== 'string') throw malformed(file, `images[${i}] (${name})`, '"id" must be a number or a string.');
    const key = String(img.id);
    if (byId.has(key)) throw malformed(file, `images[${i}] (${name})`, `image id ${key} is used twice.`);
    const out: CaptionedImage = { file: name, captions: [], extra: without(img, ['file_name']) ?? {} };
    byId.set(key, out);
    return out;
  });
  doc.annotations.forEach((a, i) => {
    if (!isObject(a)) throw malformed(file, `annotations[${i}]`, 'each annotation must be an object {image_id, caption}.');
    const target = byId.get(String(a.image_id));
    if (!target) throw malformed(file, `annotations[${i}]`, `"image_id" ${JSON.stringify(a.image_id)} is not the id of any image in "images".`);
    target.captions.push(imported(requireString(a.caption, file, `annotations[${i}]`, 'caption'), without(a, ['image_id', 'caption'])));
  });
  const set: CaptionSet = { format: 'coco', images };
  const extra = without(doc, ['images', 'annotations']);
  if (extra) set.extra = extra;
  return set;
}

function parseJsonl(text: string, file: string): CaptionSet {
  const images: CaptionedImage[] = [];
  const byFile = new Map<string, CaptionedImage>();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `line ${i + 1}`;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw malformed(file, where, `not valid JSON (${(e as Error).message}).`);
    }
    if (!isObject(row)) throw malformed(file, where, 'each line must be an object {filename, captions}.');
    const name = requireString(row.filename, file, where, 'filename');
    const caps = row.captions;
    if (!Array.isArray(caps) || !caps.every((c) => typeof c === 'string')) throw malformed(file, `${where} (${name})`, '"captions" must be a list of strings.');
    let entry = byFile.get(name);
    if (!entry) {
      entry = { file: name, captions: [] };
      if (typeof row.split === 'string') entry.split = row.split;
      const extra = without(row, ['filename', 'captions', 'split']);
      if (extra) entry.extra = extra;
      byFile.set(name, entry);
      images.push(entry);
    }
    for (const c of caps as string[]) entry.captions.push(imported(c));
  });
  return { format: 'jsonl', images };
}

/** Reads a caption file's text. `file` names it in errors; `format` defaults to detection. */
export function parseCaptions(raw: string, file: string, format?: CaptionFormat): CaptionSet {
  // Files saved by Windows tools often start with a byte-order mark, which JSON.parse refuses.
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  switch (format ?? detectCaptionFormat(text, file)) {
    case 'harma':
      return parseHarma(parseJson(text, file), file);
    case 'karpathy':
      return parseKarpathy(parseJson(text, file), file);
    case 'coco':
      return parseCoco(parseJson(text, file), file);
    case 'jsonl':
      return parseJsonl(text, file);
  }
}

/**
 * The caption texts of a file, for the caption bank: any caption file parseCaptions reads (through
 * it, with its messages), or plain text with one caption per line. Each text is trimmed and its
 * runs of white space made one space; empty texts and texts over 1000 characters are left out.
 */
export function captionTexts(raw: string, file: string): string[] {
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  const head = text.trimStart();
  const structured = /\.jsonl$/i.test(file) || head.startsWith('[') || head.startsWith('{');
  const texts = structured ? parseCaptions(text, file).images.flatMap((image) => image.captions.map((c) => c.text)) : text.split('\n');
  return texts.map((c) => c.trim().replace(/\s+/g, ' ')).filter((c) => c.length > 0 && c.length <= 1000);
}

/** Karpathy-style tokens for a caption written in Kestrel: lower case, words only. */
function tokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:['-][\p{L}\p{N}]+)*/gu) ?? [];
}

function writeHarma(set: CaptionSet): string {
  const perCaption = set.layout === 'per-caption';
  const rows: Json[] = [];
  for (const img of set.images) {
    if (perCaption) for (const c of img.captions) rows.push({ caption: c.text, image: img.file, ...img.extra });
    else rows.push({ image: img.file, caption: img.captions.map((c) => c.text), ...img.extra });
  }
  return JSON.stringify(rows);
}

function writeKarpathy(set: CaptionSet): string {
  let sentid = 0;
  const images = set.images.map((img, imgid) => {
    const sentences = img.captions.map((c) => {
      const s: Json = { tokens: tokens(c.text), raw: c.text, imgid, sentid: sentid++, ...c.extra };
      return s;
    });
    const out: Json = { sentids: sentences.map((s) => s.sentid), imgid, ...img.extra, filename: img.file, sentences };
    if (img.split !== undefined) out.split = img.split;
    return out;
  });
  return JSON.stringify({ ...(set.extra ?? {}), images, dataset: set.extra?.dataset ?? 'kestrel' });
}

function writeCoco(set: CaptionSet): string {
  const usedImageIds = new Set(set.images.map((i) => i.extra?.id).filter((v) => v !== undefined).map(String));
  const usedAnnIds = new Set(set.images.flatMap((i) => i.captions.map((c) => c.extra?.id)).filter((v) => v !== undefined).map(String));
  let nextImage = 1;
  let nextAnn = 1;
  const freshImage = (): number => {
    while (usedImageIds.has(String(nextImage))) nextImage++;
    usedImageIds.add(String(nextImage));
    return nextImage;
  };
  const freshAnn = (): number => {
    while (usedAnnIds.has(String(nextAnn))) nextAnn++;
    usedAnnIds.add(String(nextAnn));
    return nextAnn;
  };
  const images: Json[] = [];
  const annotations: Json[] = [];
  for (const img of set.images) {
    const id = img.extra?.id ?? freshImage();
    images.push({ ...img.extra, id, file_name: img.file });
    for (const c of img.captions) annotations.push({ ...c.extra, id: c.extra?.id ?? freshAnn(), image_id: id, caption: c.text });
  }
  return JSON.stringify({ ...(set.extra ?? {}), images, annotations });
}

function writeJsonl(set: CaptionSet): string {
  return set.images
    .map((img) => {
      const row: Json = { filename: img.file, captions: img.captions.map((c) => c.text), ...img.extra };
      if (img.split !== undefined) row.split = img.split;
      return JSON.stringify(row) + '\n';
    })
    .join('');
}

/**
 * Writes a caption set in a format. Fields the target format has no place for are dropped (a COCO
 * file has no split; a HarMA list no tokens); captions, file names and the fields that format
 * carries survive a round trip.
 */
export function writeCaptions(set: CaptionSet, format: CaptionFormat = set.format): string {
  // Another format's extras would leak foreign fields (a COCO `id` into HarMA rows): keep them only
  // when writing back the format they came from.
  const src = format === set.format ? set : { ...set, extra: undefined, images: set.images.map((i) => ({ ...i, extra: undefined, captions: i.captions.map((c) => ({ ...c, extra: undefined })) })) };
  switch (format) {
    case 'harma':
      return writeHarma(src);
    case 'karpathy':
      return writeKarpathy(src);
    case 'coco':
      return writeCoco(src);
    case 'jsonl':
      return writeJsonl(src);
  }
}

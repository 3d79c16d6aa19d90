/**
 * A port of `ftfy.fix_text` (ftfy 6.3.1, Apache-2.0, (c) Robyn Speer) with its default
 * configuration, as the CLIP tokenizer runs it. The data (badness heuristic, code pages, width map)
 * is generated from the ftfy wheel into ftfy-tables.ts; the logic follows ftfy/__init__.py and
 * ftfy/fixes.py step by step, quirks included, so token ids match open_clip's.
 *
 * Strings are handled as JavaScript strings; "bytes" are latin-1 strings (one char per byte) so the
 * byte-level regexes of ftfy can be written as JavaScript regexes without the `u` flag.
 */
/* eslint-disable no-control-regex -- ftfy's job is control characters and raw bytes: its regexes name them. */
import { BADNESS_SOURCE, CHARMAP_ENCODINGS, UTF8_DETECTOR_SOURCE, WIDTH_MAP } from './ftfy-tables.js';
import { ftfyUnescapeHtml } from './html.js';

const BADNESS_RE = new RegExp(BADNESS_SOURCE, 'u');
const UTF8_DETECTOR_RE = new RegExp(UTF8_DETECTOR_SOURCE, 'gu');
const UTF8_DETECTOR_TEST = new RegExp(UTF8_DETECTOR_SOURCE, 'u');
const C1_CONTROL_RE = /[\x80-\x9f]/g;

interface Charmap {
  name: string;
  /** byte 0x80+i → this char */
  decode: string[];
  encode: Map<string, number>;
}

const CHARMAPS: Charmap[] = CHARMAP_ENCODINGS.map(([name, high]) => {
  const decode = Array.from(high);
  const encode = new Map<string, number>();
  for (let i = 0; i < 0x80; i++) encode.set(String.fromCharCode(i), i);
  decode.forEach((ch, i) => {
    if (!encode.has(ch)) encode.set(ch, 0x80 + i);
  });
  return { name, decode, encode };
});

function charmap(name: string): Charmap {
  const found = CHARMAPS.find((c) => c.name === name);
  if (!found) throw new Error(`ftfy table ${name} is missing; regenerate ftfy-tables.ts`);
  return found;
}
const SLOPPY_1252 = charmap('sloppy-windows-1252');
/** Python's strict cp1252 leaves these five bytes undefined. */
const CP1252_UNDEFINED = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);

class DecodeError extends Error {}

export function isBad(text: string): boolean {
  return BADNESS_RE.test(text);
}

function isAscii(text: string): boolean {
  return /^[\x00-\x7f]*$/.test(text);
}

/** chardata.possible_encoding: every char is ASCII or one of the code page's high characters. */
function encodeWith(map: Charmap, text: string): string | undefined {
  let out = '';
  for (const ch of text) {
    const b = map.encode.get(ch);
    if (b === undefined) return undefined;
    out += String.fromCharCode(b);
  }
  return out;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: string): string {
  try {
    return STRICT_UTF8.decode(Buffer.from(bytes, 'latin1'));
  } catch {
    throw new DecodeError();
  }
}

const SPECIAL_BYTES_RE =
  /(\xc0(\x80|$))|(\xed([\xa0-\xaf]|$)([\x80-\xbf]|$)(\xed|$)([\xb0-\xbf]|$)([\x80-\xbf]|$))|(\xed([\xa0-\xbf]|$)([\x80-\xbf]|$))/;
const CESU8_RE = /^\xed[\xa0-\xaf][\x80-\xbf]\xed[\xb0-\xbf][\x80-\xbf]/;

/** ftfy's "utf-8-variants" codec: UTF-8 plus CESU-8 surrogate pairs and Java's C0 80 null. */
function decodeUtf8Variants(bytes: string): string {
  let out = '';
  let rest = bytes;
  while (rest.length > 0) {
    const m = SPECIAL_BYTES_RE.exec(rest);
    if (!m) return out + decodeUtf8(rest);
    if (m.index > 0) {
      out += decodeUtf8(rest.slice(0, m.index));
      rest = rest.slice(m.index);
      continue;
    }
    if (rest.charCodeAt(0) === 0xc0) {
      if (rest.length < 2) throw new DecodeError();
      out += '\u0000';
      rest = rest.slice(2);
      continue;
    }
    if (rest.length < 6 || !CESU8_RE.test(rest)) throw new DecodeError();
    const b = (i: number): number => rest.charCodeAt(i);
    const cp = ((b(1) & 0x0f) << 16) + ((b(2) & 0x3f) << 10) + ((b(4) & 0x0f) << 6) + (b(5) & 0x3f) + 0x10000;
    out += String.fromCodePoint(cp);
    rest = rest.slice(6);
  }
  return out;
}

const ALTERED_UTF8_RE =
  /[\xc2\xc3\xc5\xce\xd0\xd9] |[\xe2\xe3] [\x80-\x84\x86-\x9f\xa1-\xbf]|[\xe0-\xe3][\x80-\x84\x86-\x9f\xa1-\xbf] |\xf0 [\x80-\xbf][\x80-\xbf]|\xf0[\x80-\xbf] [\x80-\xbf]|\xf0[\x80-\xbf][\x80-\xbf] /g;
const A_GRAVE_WORD_RE = /\xc3 (?! |quele|quela|quilo|s )/g;
const LOSSY_UTF8_RE =
  /[\xc2-\xdf]\x1a|[\xc2-\xc3]\?|\xed[\xa0-\xaf][\x1a?]\xed[\xb0-\xbf][\x1a?\x80-\xbf]|\xed[\xa0-\xaf][\x1a?\x80-\xbf]\xed[\xb0-\xbf][\x1a?]|[\xe0-\xef][\x1a?][\x1a\x80-\xbf]|[\xe0-\xef][\x1a\x80-\xbf][\x1a?]|[\xf0-\xf4][\x1a?][\x1a\x80-\xbf][\x1a\x80-\xbf]|[\xf0-\xf4][\x1a\x80-\xbf][\x1a?][\x1a\x80-\xbf]|[\xf0-\xf4][\x1a\x80-\xbf][\x1a\x80-\xbf][\x1a?]|\x1a/g;
const REPLACEMENT_UTF8 = '\xef\xbf\xbd';

function restoreByteA0(bytes: string): string {
  const step = bytes.replace(A_GRAVE_WORD_RE, '\xc3\xa0 ');
  return step.replace(ALTERED_UTF8_RE, (m) => m.replace(/ /g, '\xa0'));
}

function fixEncodingOneStep(text: string): string {
  if (text.length === 0) return text;
  if (isAscii(text) || !isBad(text)) return text;
  const possible: string[] = [];
  for (const map of CHARMAPS) {
    let bytes = encodeWith(map, text);
    if (bytes === undefined) continue;
    possible.push(map.name);
    try {
      ALTERED_UTF8_RE.lastIndex = 0;
      if (map.name !== 'macroman' && ALTERED_UTF8_RE.test(bytes)) bytes = restoreByteA0(bytes);
      ALTERED_UTF8_RE.lastIndex = 0;
      if (map.name.startsWith('sloppy')) bytes = bytes.replace(LOSSY_UTF8_RE, REPLACEMENT_UTF8);
      const variants = bytes.includes('\xed') || bytes.includes('\xc0');
      return variants ? decodeUtf8Variants(bytes) : decodeUtf8(bytes);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
    }
  }
  if (UTF8_DETECTOR_TEST.test(text)) {
    const fixed = decodeInconsistentUtf8(text);
    if (fixed !== text) return fixed;
  }
  // ftfy asks whether "windows-1252" is possible, a name its list never holds (it says
  // "sloppy-windows-1252"): so text that is latin-1-encodable is always re-read as strict cp1252.
  if (possible.includes('latin-1')) {
    let fixed = '';
    let ok = true;
    for (const ch of text) {
      const code = ch.codePointAt(0) ?? 0;
      if (code >= 0x80 && code < 0xa0) {
        if (CP1252_UNDEFINED.has(code)) {
          ok = false;
          break;
        }
        fixed += SLOPPY_1252.decode[code - 0x80];
      } else fixed += ch;
    }
    if (ok && fixed !== text) return fixed;
  }
  C1_CONTROL_RE.lastIndex = 0;
  if (C1_CONTROL_RE.test(text)) return fixC1Controls(text);
  return text;
}

export function fixEncoding(text: string): string {
  for (;;) {
    const next = fixEncodingOneStep(text);
    if (next === text) return text;
    text = next;
  }
}

function decodeInconsistentUtf8(text: string): string {
  return text.replace(UTF8_DETECTOR_RE, (sub) => (sub.length < text.length && isBad(sub) ? fixEncoding(sub) : sub));
}

function fixC1Controls(text: string): string {
  return text.replace(C1_CONTROL_RE, (ch) => SLOPPY_1252.decode[ch.charCodeAt(0) - 0x80] ?? ch);
}

const LIGATURES = new Map<string, string>([
  ['Ĳ', 'IJ'], ['ĳ', 'ij'], ['ŉ', 'ʼn'], ['Ǳ', 'DZ'], ['ǲ', 'Dz'], ['ǳ', 'dz'], ['Ǆ', 'DŽ'], ['ǅ', 'Dž'],
  ['ǆ', 'dž'], ['Ǉ', 'LJ'], ['ǈ', 'Lj'], ['ǉ', 'lj'], ['Ǌ', 'NJ'], ['ǋ', 'Nj'], ['ǌ', 'nj'], ['ﬀ', 'ff'],
  ['ﬁ', 'fi'], ['ﬂ', 'fl'], ['ﬃ', 'ffi'], ['ﬄ', 'ffl'], ['ﬅ', 'ſt'], ['ﬆ', 'st'],
]);
const LIGATURE_RE = new RegExp(`[${[...LIGATURES.keys()].join('')}]`, 'gu');
const WIDTH = new Map<string, string>(WIDTH_MAP.map(([cp, s]) => [String.fromCodePoint(cp), s]));
const WIDTH_RE = /[\u3000\uff01-\uffef]/gu;
/** chardata.CONTROL_CHARS, deleted by remove_control_chars. */
const CONTROL_RE = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/gu;
const ANSI_RE = /\x1b\[((?:\p{Nd}|;)*)([a-zA-Z])/gu;

function fixSegment(text: string, unescapeHtml: boolean): string {
  for (;;) {
    const orig = text;
    if (unescapeHtml) text = ftfyUnescapeHtml(text);
    text = fixEncoding(text);
    text = fixC1Controls(text);
    text = text.replace(LIGATURE_RE, (ch) => LIGATURES.get(ch) ?? ch);
    text = text.replace(WIDTH_RE, (ch) => WIDTH.get(ch) ?? ch);
    text = text.replace(/[\u02bc\u2018-\u201b]/g, "'").replace(/[\u201c-\u201f]/g, '"');
    text = text.replace(/\r\n/g, '\n').replace(/[\r\u2028\u2029\x85]/g, '\n');
    // Paired surrogates are already one code point in JavaScript; only lone ones remain to replace.
    text = text.replace(/[\ud800-\udfff]/gu, '\ufffd');
    text = text.replace(ANSI_RE, '');
    text = text.replace(CONTROL_RE, '');
    text = text.normalize('NFC');
    if (text === orig) return text;
  }
}

/** Segments longer than this are fixed piecewise (ftfy's max_decode_length, counted in UTF-16 units here). */
const MAX_DECODE_LENGTH = 1_000_000;

/** `ftfy.fix_text(text)` with ftfy's defaults: line by line, HTML unescaping off from the first `<` on. */
export function fixText(text: string): string {
  let unescapeHtml = true;
  const out: string[] = [];
  let pos = 0;
  while (pos < text.length) {
    let end = text.indexOf('\n', pos) + 1;
    if (end === 0) end = text.length;
    if (end - pos > MAX_DECODE_LENGTH) end = pos + MAX_DECODE_LENGTH;
    const segment = text.slice(pos, end);
    if (unescapeHtml && segment.includes('<')) unescapeHtml = false;
    out.push(fixSegment(segment, unescapeHtml));
    pos = end;
  }
  return out.join('');
}

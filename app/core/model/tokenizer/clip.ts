/**
 * The CLIP tokenizer exactly as open_clip runs it (`open_clip.tokenizer.SimpleTokenizer`, clean =
 * 'lower'): ftfy, HTML unescaped twice, whitespace collapsed, lower-cased, split by CLIP's pattern,
 * byte-level BPE over bpe_simple_vocab_16e6, start/end tokens, truncation keeping the end token.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { KestrelError } from '../../../contract/index.js';
import { fixText } from './ftfy.js';
import { PY_WHITESPACE } from './ftfy-tables.js';
import { pyHtmlUnescape } from './html.js';

export const START_OF_TEXT = 49406;
export const END_OF_TEXT = 49407;
const MERGE_COUNT = 49152 - 256 - 2;

const SPACE_CLASS = [...PY_WHITESPACE].map((c) => '\\u{' + (c.codePointAt(0) ?? 0).toString(16) + '}').join('');
const SPLIT_WHITESPACE = new RegExp(`[${SPACE_CLASS}]+`, 'u');
/**
 * open_clip's pattern, compiled with the `regex` module and IGNORECASE. After lower-casing, the only
 * case-insensitive effect left is U+017F (long s) matching `s`; and under IGNORECASE U+0345 (which
 * folds to a Greek letter) is neither a letter nor "other", so it is dropped. Both are spelled out
 * here instead of using the `i` flag, whose Unicode folding differs from the `regex` module's.
 */
const PIECE_RE = new RegExp(
  `<[sſ]tart_of_text>|<end_of_text>|'[sſ]|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^${SPACE_CLASS}\\p{L}\\p{N}\\u0345]+`,
  'gu',
);

/** GPT-2's byte → printable-character table, and its characters in the order the vocabulary lists them. */
function bytesToUnicode(): { table: string[]; order: string[] } {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const table = new Array<string>(256);
  const order = bs.map((b, i) => (table[b] = String.fromCodePoint(cs[i] ?? 0)));
  return { table, order };
}

/** Python's `str.strip()` and `" ".join(s.split())`. */
function collapseWhitespace(text: string): string {
  return text.split(SPLIT_WHITESPACE).filter((p) => p.length > 0).join(' ');
}

/** The text as the tokenizer sees it: open_clip's `_clean_lower`. */
export function cleanText(text: string): string {
  const basic = pyHtmlUnescape(pyHtmlUnescape(fixText(text)));
  return collapseWhitespace(basic).toLowerCase();
}

export class ClipTokenizer {
  readonly contextLength: number;
  private readonly byteEncoder: string[];
  private readonly encoder = new Map<string, number>();
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, number[]>();
  private readonly utf8 = new TextEncoder();

  /** `merges` is the vocabulary file's text (after gunzip). */
  constructor(merges: string, contextLength = 77) {
    this.contextLength = contextLength;
    const lines = merges.split('\n').slice(1, MERGE_COUNT + 1);
    const { table, order } = bytesToUnicode();
    this.byteEncoder = table;
    const vocab = [...order, ...order.map((s) => s + '</w>')];
    lines.forEach((line, rank) => {
      const parts = line.split(/\s+/).filter(Boolean);
      const key = parts.join(' ');
      this.ranks.set(key, rank);
      vocab.push(parts.join(''));
    });
    vocab.push('<start_of_text>', '<end_of_text>');
    vocab.forEach((token, id) => this.encoder.set(token, id));
    if (this.encoder.get('<end_of_text>') !== END_OF_TEXT) {
      throw new KestrelError({
        code: 'corrupt_file',
        message: `The CLIP vocabulary has ${this.encoder.size} entries; ${END_OF_TEXT + 1} were expected.`,
        hint: 'Reinstall Kestrel: resources/tokenizer/bpe_simple_vocab_16e6.txt.gz is damaged.',
      });
    }
    this.cache.set('<start_of_text>', [START_OF_TEXT]);
    this.cache.set('<end_of_text>', [END_OF_TEXT]);
  }

  /** Reads a gzipped vocabulary file (bpe_simple_vocab_16e6.txt.gz). */
  static fromFile(path: string, contextLength = 77): ClipTokenizer {
    let text: string;
    try {
      text = gunzipSync(readFileSync(path)).toString('utf8');
    } catch (err) {
      throw new KestrelError({
        code: 'corrupt_file',
        message: `Cannot read the tokenizer vocabulary: ${(err as Error).message}`,
        file: path,
        hint: 'The file must be the gzipped CLIP BPE vocabulary (bpe_simple_vocab_16e6.txt.gz).',
      });
    }
    return new ClipTokenizer(text, contextLength);
  }

  private bpe(token: string): number[] {
    const cached = this.cache.get(token);
    if (cached) return cached;
    const chars = Array.from(token);
    let word = chars.slice(0, -1);
    word.push((chars[chars.length - 1] ?? '') + '</w>');
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const rank = this.ranks.get(word[i] + ' ' + word[i + 1]);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      const first = word[best] ?? '';
      const second = word[best + 1] ?? '';
      const merged: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (word[i] === first && i < word.length - 1 && word[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else {
          merged.push(word[i] ?? '');
          i += 1;
        }
      }
      word = merged;
    }
    const ids = word.map((symbol) => {
      const id = this.encoder.get(symbol);
      if (id === undefined) throw new Error(`BPE symbol ${JSON.stringify(symbol)} is not in the vocabulary`);
      return id;
    });
    if (this.cache.size < 100_000) this.cache.set(token, ids);
    return ids;
  }

  /** The ids of a text's pieces, without start/end tokens or truncation. */
  encode(text: string): number[] {
    const out: number[] = [];
    for (const match of cleanText(text).matchAll(PIECE_RE)) {
      let symbols = '';
      for (const byte of this.utf8.encode(match[0])) symbols += this.byteEncoder[byte];
      for (const id of this.bpe(symbols)) out.push(id);
    }
    return out;
  }

  /** open_clip's `tokenizer([text])[0]`: start, ids, end, cut to the context keeping the end token, zero-padded. */
  tokenize(text: string): Int32Array {
    const ids = [START_OF_TEXT, ...this.encode(text), END_OF_TEXT];
    const row = new Int32Array(this.contextLength);
    const n = Math.min(ids.length, this.contextLength);
    for (let i = 0; i < n; i++) row[i] = ids[i] ?? 0;
    if (ids.length > this.contextLength) row[this.contextLength - 1] = END_OF_TEXT;
    return row;
  }
}

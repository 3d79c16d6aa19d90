import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clipVocabularyPath } from '../../../app/core/model/resources.js';
import {
  ClipTokenizer,
  END_OF_TEXT,
  START_OF_TEXT,
  cleanText,
  fixText,
  pyHtmlUnescape,
} from '../../../app/core/model/tokenizer/index.js';
import { FIXTURES, readJson } from './helpers.js';

/** Recorded by tools/make_tokenizer_fixtures.py from open_clip_torch's tokenizer and ftfy.fix_text. */
interface Adversarial {
  open_clip_torch: string;
  ftfy: string;
  cases: { text: string; fixed: string; ids: number[] }[];
}
const adversarial = readJson<Adversarial>(join(FIXTURES, 'tokenizer', 'adversarial.json'));
const captionsMeta = readJson<{ vocabulary_sha256: string }>(join(FIXTURES, 'tokenizer', 'captions.json'));
const tokenizer = ClipTokenizer.fromFile(clipVocabularyPath());

function expectedRow(ids: number[]): number[] {
  return [...ids, ...new Array<number>(77 - ids.length).fill(0)];
}
function recorded(text: string): { fixed: string; ids: number[] } {
  const found = adversarial.cases.find((c) => c.text === text);
  if (!found) throw new Error(`no recorded case for ${JSON.stringify(text)}`);
  return found;
}

describe('CLIP tokenizer: exact parity with open_clip', () => {
  it('ships the vocabulary open_clip uses (same bytes as in the open_clip_torch wheel)', () => {
    const sha = createHash('sha256').update(readFileSync(clipVocabularyPath())).digest('hex');
    expect(sha).toBe(captionsMeta.vocabulary_sha256);
  });

  it(`gives open_clip's ids on all ${adversarial.cases.length} adversarial strings`, () => {
    expect(adversarial.cases.length).toBeGreaterThan(2000);
    const mismatches: string[] = [];
    for (const c of adversarial.cases) {
      const got = Array.from(tokenizer.tokenize(c.text));
      if (got.join(',') !== expectedRow(c.ids).join(',')) mismatches.push(JSON.stringify(c.text));
    }
    expect(mismatches).toEqual([]);
  });

  it("reproduces ftfy.fix_text's output on every adversarial string", () => {
    const mismatches = adversarial.cases.filter((c) => fixText(c.text) !== c.fixed).map((c) => JSON.stringify(c.text));
    expect(mismatches).toEqual([]);
  });
});

describe('CLIP tokenizer: the behaviours that matter, one by one', () => {
  const cases: [string, string, (fixed: string) => void][] = [
    ['Unicode NFC: decomposed accents are composed', 'cafe\u0301 nai\u0308ve', (f) => expect(f).toContain('café naïve')],
    ['Latin ligatures are split', 'ﬁeld ﬂat ﬀ ﬃ ﬄ ﬅ ﬆ Ĳssel ǅ', (f) => expect(f.startsWith('field flat ff ffi ffl')).toBe(true)],
    ['full-width characters are narrowed', 'ＬＯＵＤ　ＮＯＩＳＥＳ ０１２３ ｶﾀｶﾅ', (f) => expect(f.startsWith('LOUD NOISES 0123')).toBe(true)],
    ['curly quotes are straightened', '\u201cquoted\u201d \u2018single\u2019 \u201bodd\u201f \u02bcmodifier', (f) => expect(f).toBe('"quoted" \'single\' \'odd" \'modifier')],
    ['UTF-8 read as Windows-1252 is repaired', 'The Mona Lisa doesnÃ¢â‚¬â„¢t have eyebrows.', (f) => expect(f).toBe("The Mona Lisa doesn't have eyebrows.")],
    ['UTF-8 read as Latin-1 is repaired, with a lost no-break space restored', 'sÃ³ voilÃ le travail', (f) => expect(f).toBe('só voilà le travail')],
    ['Cyrillic mojibake is repaired', 'ÐŸÑ€Ð¸Ð²ÐµÑ‚ Ð¼Ð¸Ñ€', (f) => expect(f).toBe('Привет мир')],
    ['HTML entities are unescaped (ftfy before open_clip unescapes twice more)', 'Broken text&hellip; it&#x2019;s ﬂubberiﬁc!', (f) => expect(f).toBe("Broken text… it's flubberific!")],
    ['terminal escapes and control characters are removed', '\x1b[31mred text\x1b[0m and \x1b[1;32mgreen\x1b[0m', (f) => expect(f).toBe('red text and green')],
    ['emoji pass through untouched', 'emoji 🛰️ 🌍🌎🌏 👩‍🚀 🏳️‍🌈 👍🏽 🇫🇷 1️⃣', (f) => expect(f).toContain('👩‍🚀')],
  ];
  for (const [what, input, check] of cases) {
    it(what, () => {
      const fixed = fixText(input);
      expect(fixed).toBe(recorded(input).fixed);
      check(fixed);
      expect(Array.from(tokenizer.tokenize(input))).toEqual(expectedRow(recorded(input).ids));
    });
  }

  it("unescapes like Python's html.unescape: legacy names without ;, longest prefix, invalid numbers", () => {
    expect(pyHtmlUnescape('&amp &copy; &notit; &#65; &#x41; &#0; &#128; &#x110000; &#1;')).toBe('& © ¬it; A A \ufffd € \ufffd ');
    expect(pyHtmlUnescape('&amp;amp;')).toBe('&amp;');
    expect(pyHtmlUnescape(pyHtmlUnescape('&amp;amp;'))).toBe('&');
  });

  it('gives [start, end] for empty and whitespace-only text', () => {
    // (U+0085 is not in the list: ftfy reads a lone C1 control as Windows-1252, so it becomes "…".)
    for (const text of ['', ' ', '   \t\n  ', '\u3000\u00a0\u2009\u202f\u205f\u1680\u2028\u2029\x1c\x1d\x1e\x1f']) {
      expect(Array.from(tokenizer.tokenize(text).slice(0, 3))).toEqual([START_OF_TEXT, END_OF_TEXT, 0]);
      expect(cleanText(text)).toBe('');
    }
  });

  it('truncates long text to 77 ids and keeps the end token last', () => {
    const row = tokenizer.tokenize('the '.repeat(200));
    expect(row.length).toBe(77);
    expect(row[0]).toBe(START_OF_TEXT);
    expect(row[76]).toBe(END_OF_TEXT);
    expect(Array.from(row.slice(1, 76)).every((id) => id === row[1])).toBe(true);
    expect(Array.from(row)).toEqual(expectedRow(recorded('the '.repeat(200)).ids));
  });

  it('splits every digit, keeps contractions, and lower-cases', () => {
    const pieces = tokenizer.encode("It's 2024");
    expect(pieces).toEqual(tokenizer.encode("it's 2 0 2 4"));
    expect(pieces.length).toBe(6);
  });

  it('treats literal special-token text as the special token, as open_clip does', () => {
    expect(tokenizer.encode('<start_of_text>')).toEqual([START_OF_TEXT]);
    expect(tokenizer.encode('<END_OF_TEXT>')).toEqual([END_OF_TEXT]);
  });
});

/**
 * HTML character references decoded exactly as Python's `html.unescape` does (the CLIP tokenizer
 * applies it twice after ftfy), and ftfy's own, stricter `unescape_html`.
 *
 * The entity table is the WHATWG one, from the npm packages `character-entities` (names with `;`)
 * and `character-entities-legacy` (the names that also work without `;`), both MIT.
 */
import { characterEntities } from 'character-entities';
import { characterEntitiesLegacy } from 'character-entities-legacy';
import { INVALID_CHARREFS, INVALID_CODEPOINTS } from './ftfy-tables.js';

/** Python's html.entities.html5: `name;` for every entity, plain `name` for the legacy ones. */
const HTML5 = new Map<string, string>();
for (const [name, char] of Object.entries(characterEntities)) HTML5.set(name + ';', char);
for (const name of characterEntitiesLegacy) {
  const char = characterEntities[name];
  if (char !== undefined) HTML5.set(name, char);
}

const INVALID_REFS = new Map<number, string>(INVALID_CHARREFS.map(([k, v]) => [k, v]));
const INVALID_POINTS = new Set<number>(INVALID_CODEPOINTS);

const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

function replaceCharref(_match: string, s: string): string {
  if (s[0] === '#') {
    const hex = s[1] === 'x' || s[1] === 'X';
    const digits = (hex ? s.slice(2) : s.slice(1)).replace(/;+$/, '');
    // Python's int() is exact; a float is enough here because anything past 0x10FFFF is replaced anyway.
    const num = parseInt(digits, hex ? 16 : 10);
    const invalid = INVALID_REFS.get(num);
    if (invalid !== undefined) return invalid;
    if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
    if (INVALID_POINTS.has(num)) return '';
    return String.fromCodePoint(num);
  }
  const known = HTML5.get(s);
  if (known !== undefined) return known;
  // The longest entity name that prefixes the reference, as the standard says (Python counts code points).
  const points = Array.from(s);
  for (let x = points.length - 1; x > 1; x--) {
    const prefix = points.slice(0, x).join('');
    const hit = HTML5.get(prefix);
    if (hit !== undefined) return hit + points.slice(x).join('');
  }
  return '&' + s;
}

/** Python's `html.unescape`. */
export function pyHtmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARREF, replaceCharref);
}

/**
 * ftfy.chardata.HTML_ENTITIES: every `&name;` plus the upper-cased forms of lower-case names that
 * are not themselves references (`&NTILDE;` → `Ñ`).
 */
const FTFY_ENTITIES = new Map<string, string>();
for (const [name, char] of HTML5) {
  if (!name.endsWith(';')) continue;
  FTFY_ENTITIES.set('&' + name, char);
  if (name === name.toLowerCase()) {
    const upper = '&' + name.toUpperCase();
    if (pyHtmlUnescape(upper) === upper) FTFY_ENTITIES.set(upper, char.toUpperCase());
  }
}

const FTFY_ENTITY_RE = /&#?[0-9A-Za-z]{1,24};/g;

/** ftfy.fixes.unescape_html: only complete references; a numeric one that would leave a `;` is kept. */
export function ftfyUnescapeHtml(text: string): string {
  return text.replace(FTFY_ENTITY_RE, (ref) => {
    const known = FTFY_ENTITIES.get(ref);
    if (known !== undefined) return known;
    if (ref.startsWith('&#')) {
      const unescaped = pyHtmlUnescape(ref);
      return unescaped.includes(';') ? ref : unescaped;
    }
    return ref;
  });
}

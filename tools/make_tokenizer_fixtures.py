"""Dev-only: the CLIP tokenizer's reference data, taken from the open_clip_torch and ftfy wheels.

Writes
  resources/tokenizer/bpe_simple_vocab_16e6.txt.gz   the vocabulary, copied byte for byte from the wheel
  resources/tokenizer/LICENSE-open_clip.txt, LICENSE-ftfy.txt
  app/core/model/tokenizer/ftfy-tables.ts            ftfy 6.3.1's data (regexes, code pages), for the TS port
  tests/fixtures/model/tokenizer/captions.json       which caption files, how they were read, their hashes
  tests/fixtures/model/tokenizer/captions.ids.gz     open_clip's ids for every caption (see below)
  tests/fixtures/model/tokenizer/adversarial.json    hard strings: ftfy.fix_text output and open_clip ids

captions.ids.gz holds, per caption in the order of captions.json, one uint8 n then n uint16 (LE) ids:
the ids between the start token and the end token, after open_clip's truncation to 77.

Run from the repository root with the tools venv (see docs/model.md):
  .venv-tools/bin/python tools/make_tokenizer_fixtures.py
Never a runtime or CI dependency: the outputs are committed.
"""

import gzip
import hashlib
import html
import html.entities
import json
import os
import random
import shutil
import struct
import sys
import unicodedata

import ftfy
import ftfy.badness
import ftfy.chardata
import open_clip
from open_clip.tokenizer import SimpleTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
FIX = os.path.join(ROOT, "tests", "fixtures", "model", "tokenizer")
RES = os.path.join(ROOT, "resources", "tokenizer")

# The caption files and how each is read; tests/unit/model/tokenizer-captions.test.ts reads them the same way.
SOURCES = [
    ("data/captions/rsicd_train.textaug.jsonl", "textaug"),
    ("data/captions/rsicd_valid.textaug.jsonl", "textaug"),
    ("data/captions/rsicd_test.textaug.jsonl", "textaug"),
    ("data/captions/rsicd_val.coco.json", "coco"),
    ("data/captions/rsicd_test.coco.json", "coco"),
    ("data/captions/rsicd_val.harma.json", "harma"),
    ("data/captions/rsicd_test.harma.json", "harma"),
    ("data/captions/rsitmd_train.harma.json", "harma"),
    ("data/captions/rsitmd_val.harma.json", "harma"),
    ("data/captions/rsitmd_test.harma.json", "harma"),
    ("data/captions/sydney.karpathy.json", "karpathy"),
    ("data/rs-captioned/manifest.json", "manifest"),
]


def read_captions(path, kind):
    with open(path, encoding="utf-8") as f:
        if kind == "textaug":
            return [c for line in f if line.strip() for c in json.loads(line)["captions"]]
        data = json.load(f)
    if kind == "coco":
        return [a["caption"] for a in data["annotations"]]
    if kind == "harma":
        return [c for row in data for c in (row["caption"] if isinstance(row["caption"], list) else [row["caption"]])]
    if kind == "karpathy":
        return [s["raw"] for im in data["images"] for s in im["sentences"]]
    if kind == "manifest":
        return [c for item in data for c in item.get("captions", [])]
    raise ValueError(kind)


def inner_ids(tok, text):
    """open_clip's ids for one text, without start/end tokens and padding."""
    row = tok([text])[0].tolist()
    while row[-1] == 0:
        row.pop()
    assert row[0] == tok.sot_token_id and row[-1] == tok.eot_token_id
    return row[1:-1]


# ----- ftfy's tables, translated for JavaScript regexes ------------------------------------------

PY_SPACE = "".join(chr(i) for i in range(0x110000) if chr(i).isspace())


def js_class_escape(chars):
    return "".join("\\u{%x}" % ord(c) if not c.isprintable() or c in "\\]^-[" else c for c in chars)


def py_to_js_regex(pattern, verbose):
    """Python `re` (str, optionally VERBOSE) → a JavaScript regex source for the `u` flag.

    Python's \\s and \\w are Unicode-aware, JavaScript's are not (\\w) or differ (\\s): both are spelled out.
    `.` excludes only \\n in Python. VERBOSE whitespace and comments are dropped outside classes."""
    out = []
    i = 0
    in_class = False
    space = js_class_escape(PY_SPACE)
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            n = pattern[i + 1]
            i += 2
            if n == "s":
                out.append(space if in_class else "[" + space + "]")
            elif n == "w":
                out.append("\\p{L}\\p{N}_" if in_class else "[\\p{L}\\p{N}_]")
            elif n == "d":
                out.append("\\p{Nd}")
            else:
                out.append("\\" + n)
            continue
        if in_class:
            if c == "]":
                in_class = False
                out.append(c)
            elif c == "[" or (not c.isprintable()):
                out.append("\\u{%x}" % ord(c))
            else:
                out.append(c)
            i += 1
            continue
        if verbose and c.isspace():
            i += 1
            continue
        if verbose and c == "#":
            while i < len(pattern) and pattern[i] != "\n":
                i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            if i < len(pattern) and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < len(pattern) and pattern[i] == "]":  # a literal ] first in a Python class
                out.append("\\]")
                i += 1
            continue
        if c == ".":
            out.append("[^\\n]")
        elif not c.isprintable():
            out.append("\\u{%x}" % ord(c))
        else:
            out.append(c)
        i += 1
    return "".join(out)


def ts_string(s):
    return json.dumps(s, ensure_ascii=True)


def write_ftfy_tables():
    encodings = {}
    for enc in ftfy.chardata.CHARMAP_ENCODINGS:
        encodings[enc] = bytes(range(0x80, 0x100)).decode(enc)
    width = {i: s for i, s in ftfy.chardata.WIDTH_MAP.items()}
    lines = [
        "// Generated by tools/make_tokenizer_fixtures.py from ftfy " + ftfy.__version__ + " (Apache-2.0, (c) Robyn Speer;",
        "// see resources/tokenizer/LICENSE-ftfy.txt). Do not edit: regenerate.",
        "",
        "/** Python's str.isspace() characters: what `\\s`, str.split() and str.strip() mean there. */",
        "export const PY_WHITESPACE = " + ts_string(PY_SPACE) + ";",
        "",
        "/** ftfy.badness.BADNESS_RE, translated for the `u` flag. */",
        "export const BADNESS_SOURCE = " + ts_string(py_to_js_regex(ftfy.badness.BADNESS_RE.pattern, True)) + ";",
        "",
        "/** ftfy.chardata.UTF8_DETECTOR_RE, translated for the `u` flag. */",
        "export const UTF8_DETECTOR_SOURCE = "
        + ts_string(py_to_js_regex(ftfy.chardata.UTF8_DETECTOR_RE.pattern, True))
        + ";",
        "",
        "/** ftfy's single-byte encodings, in the order it tries them: the characters for bytes 0x80..0xff. */",
        "export const CHARMAP_ENCODINGS: readonly (readonly [string, string])[] = [",
        *["  [" + ts_string(k) + ", " + ts_string(v) + "]," for k, v in encodings.items()],
        "];",
        "",
        "/** ftfy.chardata.WIDTH_MAP: full-width and half-width forms → their usual characters. */",
        "export const WIDTH_MAP: readonly (readonly [number, string])[] = [",
        *["  [0x%x, %s]," % (k, ts_string(v)) for k, v in width.items()],
        "];",
        "",
        "/** Python html._invalid_charrefs: numeric references that decode to something else. */",
        "export const INVALID_CHARREFS: readonly (readonly [number, string])[] = [",
        *["  [0x%x, %s]," % (k, ts_string(v)) for k, v in sorted(html._invalid_charrefs.items())],
        "];",
        "",
        "/** Python html._invalid_codepoints: numeric references that decode to nothing. */",
        "export const INVALID_CODEPOINTS: readonly number[] = ["
        + ", ".join("0x%x" % c for c in sorted(html._invalid_codepoints))
        + "];",
        "",
    ]
    path = os.path.join(ROOT, "app", "core", "model", "tokenizer", "ftfy-tables.ts")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


# ----- adversarial strings -------------------------------------------------------------------------


def adversarial_strings():
    fixed = [
        "",
        " ",
        "   \t\n  ",
        "\u3000\u00a0\u2009\u202f\u205f\u1680\u2028\u2029\x85\x1c\x1d\x1e\x1f",
        "A photo of an AIRPORT.",
        "many   planes\tare\nparked  ",
        "it's they're we've I'm you'll he'd DON'T",
        "'s 't 're 've 'm 'll 'd 'ſ 'S",
        "café naïve résumé Zürich São Paulo Ångström",
        "cafe\u0301 nai\u0308ve",  # decomposed accents, NFC composes them
        "ﬁeld ﬂat ﬀ ﬃ ﬄ ﬅ ﬆ Ĳssel ǅ",  # ligatures
        "ＬＯＵＤ　ＮＯＩＳＥＳ ０１２３ ｶﾀｶﾅ",  # full-width and half-width
        "\u201cquoted\u201d \u2018single\u2019 \u201bodd\u201f \u02bcmodifier",
        "Broken text&hellip; it&#x2019;s ﬂubberiﬁc!",
        "&macr;\\_(ã\x83\x84)_/&macr;",
        "âœ” No problems",
        "sÃ³ voilÃ le travail",
        "The Mona Lisa doesnÃ¢â‚¬â„¢t have eyebrows.",
        "Ã\xa0 la carte",
        "ÐŸÑ€Ð¸Ð²ÐµÑ‚ Ð¼Ð¸Ñ€",
        "l\u2019humanit\u00e9 \u00e0 la plage",
        "&amp;amp; &amp; &lt;b&gt; &AMP; &NTILDE; &ntilde; &Eacute;",
        "&amp &copy; &copy &notit; &notin; &#65; &#x41; &#X41; &#0; &#128; &#x110000; &#xD800; &#1;",
        "a <b>tag</b> &amp; entity",
        "first line &amp; no tag\nsecond line <br> &amp;\nthird &eacute;",
        "\x1b[31mred text\x1b[0m and \x1b[1;32mgreen\x1b[0m",
        "null\x00 bell\x07 del\x7f bom\ufeff zwj\u200d zwnj\u200c lrm\u200e",
        "\u206a\u206f\ufff9\ufffa\ufffb interlinear",
        "crlf\r\nline\rbreaks\u2028here",
        "c1 controls \x80\x85\x91\x92\x93\x94\x9f",
        "emoji 🛰️ 🌍🌎🌏 👩‍🚀 🏳️‍🌈 👍🏽 🇫🇷 1️⃣",
        "日本語のテキスト 中文文本 한국어 텍스트",
        "العربية עברית हिन्दी ไทย ελληνικά Ελληνικά ΟΔΟΣ",
        "İstanbul ISTANBUL ß SS ẞ ǅ Ǆ ǆ",
        "numbers 12345 3.14159 1,000,000 ½ ² ³ ① Ⅷ ٣ ४",
        "<start_of_text> <end_of_text> <START_OF_TEXT> <End_Of_Text>",
        "<|endoftext|> [CLS] [SEP] <pad>",
        "<ſtart_of_text> 'ſ ﬅ ǅ kelvin \u212a \u1e9e a\u0345b \u0345",  # case-folding corners of IGNORECASE
        "symbols !!! ??? ... --- ___ *** ### @@@ $$$ %%% ^^^ &&& (((",
        "url http://example.com/a_b?c=d&e=f#frag email someone@example.org",
        "tab\tseparated\tvalues\tand\vvertical\fform",
        "×² Â£ Ã© Ã¨ â€™ â€œ â€ Ø§Ù„Ø¹Ø±Ø¨ÙŠØ©",
        "MacRoman: ‚Äô ‚Äú √© √®",
        "cp437: ΓÇÖ Γö£",
        "windows-1251 mojibake: вЂ™ вЂњ",
        "Greek mojibake: β€™ Ξ±",
        "\ud83d\ude00 smile",
        "a" * 300,
        "the " * 200,
        " ".join(str(i) for i in range(200)),
        "x" + "\u0301" * 50,
    ]
    rng = random.Random(1234)
    pools = [
        "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789 .,;:!?'\"()[]{}<>/\\|-_+=*&^%$#@~`",
        "àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿ ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏ ĀāĂăĄąĆćČčŁłŃńŒœŚśŠšŸŹźŻżŽž",
        "αβγδεζηθικλμνξοπρστυφχψω ΑΒΓΔΕΖΗΘ абвгдежзийклмнопрстуфхцчшщъыьэюя АБВГД",
        "‘’“”„‚‹›«»–—…•†‡‰€™©®°±µ¶·¸¹º¼½¾¿¡¢£¤¥¦§¨ª¬\xad¯´\xa0",
        "ﬁﬂﬀﬃﬄ ＡＢＣａｂｃ０１２ ｶﾀ　",
        "&amp;&lt;&gt;&quot;&#39;&#x27;&nbsp;&eacute;&EACUTE;&hellip;",
        "\t\n\r\x0b\x0c\x1c\x85\u2028\u3000\u200b\ufeff\x00\x1b[0m",
        "🛰🌍👍🏽‍️日本中文한국",
    ]
    generated = []
    while len(generated) < 1500:
        n = rng.randint(1, 60)
        s = "".join(rng.choice(rng.choice(pools)) for _ in range(n))
        # Mojibake repair can produce code points unassigned in Node's Unicode tables; whether such a
        # character is a letter depends on the Unicode version, not on the tokenizer: leave those out.
        if any(unicodedata.category(ch) == "Cn" for ch in ftfy.fix_text(s)):
            continue
        generated.append(s)
    words = ["café", "naïve", "São Paulo", "Zürich", "façade", "coördinate", "piñata", "smörgåsbord", "résumé",
             "Kraków", "Ελλάδα", "Москва", "İzmir", "Łódź", "Ærø", "“quoted”", "it’s", "…", "€100", "™"]
    for _ in range(500):
        w = " ".join(rng.sample(words, rng.randint(1, 4)))
        enc = rng.choice(["latin-1", "windows-1252", "windows-1251", "windows-1250", "windows-1253", "macroman", "cp437", "iso-8859-2"])
        try:
            generated.append(w.encode("utf-8").decode(enc))
        except UnicodeDecodeError:
            generated.append(w.encode("utf-8").decode("sloppy-" + enc if enc.startswith("windows") else "latin-1"))
    return fixed + generated


def main():
    os.makedirs(FIX, exist_ok=True)
    os.makedirs(RES, exist_ok=True)
    wheel_dir = os.path.dirname(open_clip.__file__)
    vocab = os.path.join(wheel_dir, "bpe_simple_vocab_16e6.txt.gz")
    shutil.copyfile(vocab, os.path.join(RES, "bpe_simple_vocab_16e6.txt.gz"))
    site = os.path.dirname(wheel_dir)
    for dist, src, dst in [
        ("open_clip_torch-" + open_clip.__version__ + ".dist-info", "licenses/LICENSE", "LICENSE-open_clip.txt"),
        ("ftfy-" + ftfy.__version__ + ".dist-info", "licenses/LICENSE.txt", "LICENSE-ftfy.txt"),
    ]:
        shutil.copyfile(os.path.join(site, dist, src), os.path.join(RES, dst))
    write_ftfy_tables()

    tok = SimpleTokenizer()
    assert tok.context_length == 77
    sources = []
    blob = bytearray()
    total = 0
    for rel, kind in SOURCES:
        path = os.path.join(SHARED, rel)
        caps = read_captions(path, kind)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        sources.append({"path": "../shared/" + rel, "kind": kind, "sha256": digest, "count": len(caps)})
        for c in caps:
            ids = inner_ids(tok, c)
            assert len(ids) <= 75
            blob += struct.pack("<B", len(ids)) + struct.pack("<%dH" % len(ids), *ids)
        total += len(caps)
        print(rel, len(caps), file=sys.stderr)
    with gzip.GzipFile(os.path.join(FIX, "captions.ids.gz"), "wb", mtime=0) as f:
        f.write(bytes(blob))
    meta = {
        "generator": "tools/make_tokenizer_fixtures.py",
        "open_clip_torch": open_clip.__version__,
        "ftfy": ftfy.__version__,
        "vocabulary_sha256": hashlib.sha256(open(vocab, "rb").read()).hexdigest(),
        "context_length": 77,
        "total": total,
        "sources": sources,
    }
    with open(os.path.join(FIX, "captions.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")

    cases = []
    for s in adversarial_strings():
        row = tok([s])[0].tolist()
        # The row through its last end token; the rest is padding (0).
        while row and row[-1] == 0:
            row.pop()
        cases.append({"text": s, "fixed": ftfy.fix_text(s), "ids": row})
    with open(os.path.join(FIX, "adversarial.json"), "w") as f:
        json.dump({"generator": "tools/make_tokenizer_fixtures.py", "open_clip_torch": open_clip.__version__,
                   "ftfy": ftfy.__version__, "cases": cases}, f, ensure_ascii=True)
    print(f"{total} captions, {len(cases)} adversarial strings", file=sys.stderr)


if __name__ == "__main__":
    main()

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { codePointWidth, displayWidth, padToWidth, truncateToWidth } from '../src/format/width.js';
import { fitTable, makeTable, wrapText } from '../src/format/table.js';

const cp = (n: number) => String.fromCodePoint(n);

describe('displayWidth follows UAX #11 and UTS #51', () => {
  // The examples UAX #11 gives for each East_Asian_Width class (section 4, Definitions): Fullwidth and
  // Wide take two columns, Halfwidth, Narrow, Neutral and Ambiguous one (Ambiguous is narrow outside
  // East Asian legacy contexts, as the annex recommends when the context is not known).
  it.each([
    ['F: FULLWIDTH LATIN CAPITAL LETTER A', '\uff21', 2],
    ['F: IDEOGRAPHIC SPACE', '\u3000', 2],
    ['W: CJK unified ideograph', '\u4e00', 2],
    ['W: Hiragana', '\u3042', 2],
    ['W: Katakana', '\u30ab', 2],
    ['W: Hangul syllable', '\uac00', 2],
    ['W: CJK ideograph in plane 2 (a surrogate pair)', '\u{20000}', 2],
    ['W: unassigned in the CJK block, Wide by default', '\u{2fffd}', 2],
    ['H: HALFWIDTH IDEOGRAPHIC FULL STOP', '\uff61', 1],
    ['H: halfwidth katakana', '\uff76', 1],
    ['H: WON SIGN', '\u20a9', 1],
    ['Na: LATIN CAPITAL LETTER A', 'A', 1],
    ['Na: CENT SIGN', '\u00a2', 1],
    ['A: GREEK SMALL LETTER ALPHA', '\u03b1', 1],
    ['A: INVERTED EXCLAMATION MARK', '\u00a1', 1],
    ['N: THAI CHARACTER KO KAI', '\u0e01', 1],
    ['N: LATIN CAPITAL LETTER A WITH GRAVE (precomposed)', '\u00c0', 1],
  ])('%s', (_, s, w) => {
    expect(displayWidth(s)).toBe(w);
  });

  it('gives combining marks, format characters and the Hangul medial and final jamo no column', () => {
    expect(displayWidth('e\u0301')).toBe(1); // e + COMBINING ACUTE ACCENT
    expect(displayWidth('\u05e9\u05c1\u05b8')).toBe(1); // Hebrew shin with two points
    expect(displayWidth('x\u20dd')).toBe(1); // COMBINING ENCLOSING CIRCLE (Me)
    expect(displayWidth('a\u200bb\u200dc\u2060d\ufeff')).toBe(4);
    expect(displayWidth('a\u202eb\u2066c\u2069')).toBe(3);
    // 한 decomposed into its three conjoining jamo is one two-column syllable, as precomposed.
    expect(displayWidth('\u1112\u1161\u11ab')).toBe(2);
    expect(displayWidth('한국어'.normalize('NFD'))).toBe(6);
  });

  // UTS #51: Emoji_Presentation characters and emoji sequences (section 1.4) are shown as one emoji glyph,
  // two columns; a text-presentation character stays narrow unless VS16 (U+FE0F) asks for the emoji form.
  it.each([
    ['emoji presentation', '🚀', 2],
    ['emoji newer than the UCD the width table came from (U+1FAE0, Unicode 14)', '\u{1fae0}', 2],
    ['emoji of Unicode 15 (U+1FA77 PINK HEART)', '\u{1fa77}', 2],
    ['modifier sequence (skin tone)', '👍🏽', 2],
    ['ZWJ sequence', '👩\u200d💻', 2],
    ['ZWJ sequence with VS16', '🏳\ufe0f\u200d🌈', 2],
    ['flag (two regional indicators)', '🇯🇵', 2],
    ['keycap sequence', '1\ufe0f\u20e3', 2],
    ['text-default pictograph', '\u2764', 1],
    ['text-default pictograph with VS16', '\u2764\ufe0f', 2],
    // East_Asian_Width W whatever the selector: a terminal does not draw WATCH narrower with VS15.
    ['Wide pictograph with VS15', '\u231a\ufe0e', 2],
    ['COPYRIGHT SIGN (text default)', '\u00a9', 1],
  ])('%s', (_, s, w) => {
    expect(displayWidth(s)).toBe(w);
  });

  // Outside truth: the Unicode Character Database CPython ships (unicodedata, 14.0.0 on python3.11).
  // Each assigned code point: no column for a combining mark, format, control or line/paragraph separator,
  // two for East_Asian_Width W or F, one otherwise. The wide table was generated from this same database;
  // this checks the table's runs and the lookup, every code point of planes 0 to 3.
  it('agrees with the UCD on every assigned code point of planes 0-3', () => {
    const py = `
import unicodedata as u, sys
out = []
for c in range(0x20, 0x40000):
    if 0xD800 <= c <= 0xDFFF: continue
    ch = chr(c); cat = u.category(ch)
    if cat in ('Cn', 'Co'): continue
    zero = cat in ('Mn', 'Me', 'Cf', 'Cc', 'Zl', 'Zp') or 0x1160 <= c <= 0x11FF or 0xD7B0 <= c <= 0xD7FF
    out.append('%x:%d' % (c, 0 if zero else 2 if u.east_asian_width(ch) in ('W', 'F') else 1))
sys.stdout.write(u.unidata_version + '\\n' + ' '.join(out))`;
    const [version, list] = execFileSync('python3', ['-c', py], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n');
    expect(version).toMatch(/^1[4-9]\./);
    const wrong: string[] = [];
    const pairs = list.split(' ');
    for (const p of pairs) {
      const [hex, w] = p.split(':');
      const n = parseInt(hex, 16);
      // A mark whose general category changed after the UCD python has (U+1171E became a spacing mark in 15.0) is the engine's.
      if (Number(w) === 0 && !/\p{Mn}|\p{Me}|\p{Cf}|\p{Cc}|\p{Zl}|\p{Zp}/u.test(cp(n))) continue;
      if (codePointWidth(cp(n)) !== Number(w)) wrong.push(`U+${hex}: ${codePointWidth(cp(n))}, UCD ${w}`);
    }
    expect(pairs.length).toBeGreaterThan(140_000);
    expect(wrong.slice(0, 20)).toEqual([]);
  }, 60_000);
});

describe('cutting and padding by columns', () => {
  it('cuts at a column count, never inside a character or an emoji sequence', () => {
    expect(truncateToWidth('深度求索深度求索', 8)).toBe('深度求…'); // 6 + 1 columns: a fourth ideograph would make 9
    expect(displayWidth(truncateToWidth('深度求索深度求索', 8))).toBeLessThanOrEqual(8);
    expect(truncateToWidth('👩\u200d💻coder', 3)).toBe('👩\u200d💻…');
    expect(truncateToWidth('cafe\u0301 au lait', 5)).toBe('cafe\u0301…');
    expect(truncateToWidth('深度求索', 8)).toBe('深度求索');
    expect(padToWidth('深度', 6)).toBe('深度  ');
  });

  it('wraps prose at 100 columns counting wide characters as two', () => {
    const lines = wrapText(`Keys not set: ${Array.from({ length: 12 }, (_, i) => `深度求索密钥${i}`).join(', ')}.`);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(displayWidth(l)).toBeLessThanOrEqual(100);
  });
});

/** The columns at which a table line has its │ borders, counted in terminal columns. */
function borders(line: string): number[] {
  const at: number[] = [];
  let col = 0;
  for (const { segment: ch } of new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(line)) {
    if (ch === '│' || ch === '┬' || ch === '┴' || ch === '┌' || ch === '┐' || ch === '└' || ch === '┘') at.push(col);
    col += displayWidth(ch);
  }
  return at;
}

const NAMES = ['深度求索深度求索', '🚀fast', 'cafe\u0301', '👩\u200d💻coder', '\u{1fae0}melt', 'שָׁלוֹם', 'plain'];

describe('tables with wide, combining and emoji names', () => {
  it('makeTable lines up every border', () => {
    const t = makeTable(['provider', 'model', 'cost'], ['left', 'left', 'right']);
    for (const n of NAMES) t.push([n, `${n}-model`, '$0.01']);
    const lines = t.toString().split('\n');
    for (const l of lines) expect(borders(l), l).toEqual(borders(lines[0]));
    for (const n of NAMES) expect(t.toString()).toContain(n);
  });

  it('fitTable keeps names whole when there is room, and stays within its width when there is not', () => {
    const roomy = fitTable(['provider', 'p50'], NAMES.map((n) => [n, '12ms']), ['left', 'right'], { maxWidth: 100, shrinkable: [0] });
    for (const n of NAMES) expect(roomy).toContain(n);
    const lines = roomy.split('\n');
    for (const l of lines) expect(borders(l), l).toEqual(borders(lines[0]));

    const tight = fitTable(['provider', 'p50', 'p90', 'p99'], NAMES.map((n) => [`${n}${n}`, '12ms', '13ms', '14ms']), ['left', 'right', 'right', 'right'], { maxWidth: 40, shrinkable: [0] });
    const tl = tight.split('\n');
    for (const l of tl) {
      expect(displayWidth(l), l).toBe(40);
      expect(borders(l), l).toEqual(borders(tl[0]));
    }
  });
});

/**
 * How many terminal columns text takes. Provider and chain names come from providers.yaml, served-model
 * names and error messages from servers, so tables meet CJK, emoji and combining accents; counting one
 * column per code point misaligned them and cut names that fitted. The rules are UAX #11 (East Asian Width)
 * and UTS #51 (emoji presentation), applied per code point as terminals' wcwidth does, with an emoji
 * sequence (ZWJ, skin tone, flag, keycap, VS16) counted as the one two-column picture it is drawn as.
 */

/**
 * East Asian Wide and Fullwidth code points, as the first and last of each run: generated from the
 * Unicode Character Database 14.0.0 (CPython 3.11 unicodedata.east_asian_width == 'W' or 'F', assigned
 * code points), plus the unassigned blocks UAX #11 makes Wide by default (CJK ideographs, planes 2 and 3).
 * Runs are joined across unassigned and combining code points, which never reach this table.
 * Emoji added since 14.0 are caught by the engine's Emoji_Presentation property instead.
 */
const WIDE = [
  0x1100, 0x115f, 0x231a, 0x231b, 0x2329, 0x232a, 0x23e9, 0x23ec, 0x23f0, 0x23f0, 0x23f3, 0x23f3,
  0x25fd, 0x25fe, 0x2614, 0x2615, 0x2648, 0x2653, 0x267f, 0x267f, 0x2693, 0x2693, 0x26a1, 0x26a1,
  0x26aa, 0x26ab, 0x26bd, 0x26be, 0x26c4, 0x26c5, 0x26ce, 0x26ce, 0x26d4, 0x26d4, 0x26ea, 0x26ea,
  0x26f2, 0x26f3, 0x26f5, 0x26f5, 0x26fa, 0x26fa, 0x26fd, 0x26fd, 0x2705, 0x2705, 0x270a, 0x270b,
  0x2728, 0x2728, 0x274c, 0x274c, 0x274e, 0x274e, 0x2753, 0x2755, 0x2757, 0x2757, 0x2795, 0x2797,
  0x27b0, 0x27b0, 0x27bf, 0x27bf, 0x2b1b, 0x2b1c, 0x2b50, 0x2b50, 0x2b55, 0x2b55, 0x2e80, 0x303e,
  0x3041, 0x3247, 0x3250, 0x4dbf, 0x4e00, 0xa4c6, 0xa960, 0xa97c, 0xac00, 0xd7a3, 0xf900, 0xfaff,
  0xfe10, 0xfe6b, 0xff01, 0xff60, 0xffe0, 0xffe6, 0x16fe0, 0x1b2fb, 0x1f004, 0x1f004, 0x1f0cf, 0x1f0cf,
  0x1f18e, 0x1f18e, 0x1f191, 0x1f19a, 0x1f200, 0x1f320, 0x1f32d, 0x1f335, 0x1f337, 0x1f37c, 0x1f37e, 0x1f393,
  0x1f3a0, 0x1f3ca, 0x1f3cf, 0x1f3d3, 0x1f3e0, 0x1f3f0, 0x1f3f4, 0x1f3f4, 0x1f3f8, 0x1f43e, 0x1f440, 0x1f440,
  0x1f442, 0x1f4fc, 0x1f4ff, 0x1f53d, 0x1f54b, 0x1f54e, 0x1f550, 0x1f567, 0x1f57a, 0x1f57a, 0x1f595, 0x1f596,
  0x1f5a4, 0x1f5a4, 0x1f5fb, 0x1f64f, 0x1f680, 0x1f6c5, 0x1f6cc, 0x1f6cc, 0x1f6d0, 0x1f6d2, 0x1f6d5, 0x1f6df,
  0x1f6eb, 0x1f6ec, 0x1f6f4, 0x1f6fc, 0x1f7e0, 0x1f7f0, 0x1f90c, 0x1f93a, 0x1f93c, 0x1f945, 0x1f947, 0x1f9ff,
  0x1fa70, 0x1faf6, 0x20000, 0x3fffd,
];

const ZERO_WIDTH = /[\p{Mn}\p{Me}\p{Cf}\p{Cc}\p{Zl}\p{Zp}\u1160-\u11ff\ud7b0-\ud7ff]/u;
const EMOJI_PRESENTATION = /\p{Emoji_Presentation}/u;
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;
const REGIONAL_PAIR = /^\p{Regional_Indicator}{2}$/u;
const REGIONAL = /\p{Regional_Indicator}/u;
const KEYCAP = /^[0-9#*]\ufe0f?\u20e3$/u;
/** What makes a pictograph a two-column emoji: the emoji presentation selector, a skin tone or a joiner. */
const EMOJI_FORM = /\ufe0f|[\u{1f3fb}-\u{1f3ff}]|\u200d/u;

function isWide(cp: number): boolean {
  let lo = 0;
  let hi = WIDE.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < WIDE[mid * 2]) hi = mid - 1;
    else if (cp > WIDE[mid * 2 + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** One code point's columns: 0 for combining marks, format and control characters, 2 for Wide and Fullwidth. */
export function codePointWidth(ch: string): number {
  if (ZERO_WIDTH.test(ch)) return 0;
  const cp = ch.codePointAt(0)!;
  if (cp < 0x1100) return 1;
  // A lone regional indicator is Neutral (UAX #11); two make a flag, counted by clusterWidth.
  return isWide(cp) || (EMOJI_PRESENTATION.test(ch) && !REGIONAL.test(ch)) ? 2 : 1;
}

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** One user-perceived character's columns (an extended grapheme cluster, UAX #29). */
function clusterWidth(g: string): number {
  if (g.length === 1) return codePointWidth(g);
  if (REGIONAL_PAIR.test(g) || KEYCAP.test(g)) return 2;
  if (PICTOGRAPHIC.test(g) && EMOJI_FORM.test(g) && !g.includes('\ufe0e')) return 2;
  let w = 0;
  for (const ch of g) w += codePointWidth(ch);
  return w;
}

/** Each user-perceived character of the text with the columns it takes, in order. */
export function* columns(s: string): Generator<{ text: string; width: number }> {
  for (const { segment } of graphemes.segment(s)) yield { text: segment, width: clusterWidth(segment) };
}

/** Columns the text takes on a terminal. */
export function displayWidth(s: string): number {
  // Printable ASCII, by far the most common text, is one column a character.
  if (/^[\x20-\x7e]*$/.test(s)) return s.length;
  let w = 0;
  for (const c of columns(s)) w += c.width;
  return w;
}

/** The text cut to at most `width` columns, ending in "…" when cut; never inside a character or an emoji sequence. */
export function truncateToWidth(s: string, width: number): string {
  if (displayWidth(s) <= width) return s;
  let out = '';
  let used = 0;
  for (const c of columns(s)) {
    if (used + c.width > width - 1) break;
    out += c.text;
    used += c.width;
  }
  return `${out}…`;
}

/** The text padded with spaces to `width` columns (padEnd counts code units, not columns). */
export function padToWidth(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - displayWidth(s)));
}

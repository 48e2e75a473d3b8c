/**
 * How a figure is written as text for a machine-readable output (CSV cells, JSON numbers): one rule per kind,
 * used by every writer. The tables round for reading (formatMs, usd, usdCost, cost's own money); these keep
 * every digit that means something and none that does not.
 *
 * A double holds 15–17 significant digits, and arithmetic on decimal prices leaves binary noise in the last
 * of them: 0.42 × 365 is 153.29999999999998, 0.42 × 7.1 is 2.9819999999999998. No price, token volume or
 * rate we read has more than a dozen significant digits, so a figure is cut to 12 of them: that removes the
 * noise and nothing a price times a volume can mean. No cut by decimals: one token at Gemini 2.0 Flash-Lite's
 * cached price ($0.01875 per 1M) costs $0.00000001875, and ten decimals would write it 0.0000000187.
 * A difference of two figures carries the noise of its operands, not its own (4.2 − 4.201 is
 * −0.0009999999999994458): it is made with `difference`, which cuts it where its operands' digits end.
 */
const SIGNIFICANT_DIGITS = 12;

/**
 * A number without binary-float noise, for JSON: 12 significant digits at most, -0 written as 0, and NaN or ±Infinity
 * as null — JSON has no word for them (JSON.stringify writes null anyway, Python's json writes a bare NaN).
 */
export function plainNumber(v: number): number | null {
  if (!Number.isFinite(v)) return null;
  // An integer has no noise, and some have more than 12 digits that all count (a time in epoch ms).
  if (Number.isInteger(v)) return v === 0 ? 0 : v;
  const n = Number(v.toPrecision(SIGNIFICANT_DIGITS));
  return n === 0 ? 0 : n;
}

/**
 * a − b without the noise its operands carry: cut to the decimals that 12 significant digits of the larger
 * operand reach (4.2 − 4.201 is −0.001, not −0.0009999999999994458, which plainNumber alone would keep).
 */
export function difference(a: number, b: number): number {
  const scale = Math.max(Math.abs(a), Math.abs(b));
  if (scale === 0 || !Number.isFinite(scale)) return a - b;
  const decimals = Math.min(100, Math.max(0, SIGNIFICANT_DIGITS - 1 - Math.floor(Math.log10(scale))));
  const d = Number((a - b).toFixed(decimals));
  return d === 0 ? 0 : d;
}

/**
 * A report as JSON text (2-space indented, newline-terminated) with every number through plainNumber. For
 * reports whose figures are prices, costs, durations and shares; not for a bench result, whose figures
 * are rounded where they are made (bench/result.ts) and re-added exactly by merge.
 */
export function reportJson(value: unknown): string {
  return `${JSON.stringify(value, (_, v: unknown) => (typeof v === 'number' ? plainNumber(v) : v), 2)}\n`;
}

/**
 * A number as decimal text, for CSV and markdown: never exponent notation (String(3e-7) is "3e-7", which a
 * person reads as a typo and some spreadsheets as text), no float noise, no "-0", at least `minDecimals`
 * decimals and as many more as the figure has; "" for NaN or ±Infinity (an empty cell: unknown).
 */
export function decimalText(v: number, minDecimals = 0): string {
  const n = plainNumber(v);
  if (n === null) return '';
  let decimals = minDecimals;
  while (decimals < 100 && Number(n.toFixed(decimals)) !== n) decimals++;
  const text = n.toFixed(decimals);
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}

/**
 * Money (an amount, or a price per 1M tokens) as decimal text: always the cents, as every table shows them
 * ($4.20, $0.30), and more decimals when the figure has them (a price of $0.006, a request's $0.00034146).
 */
export const moneyText = (v: number): string => decimalText(v, 2);

/**
 * A figure for a person, to `decimals` places (toFixed), but never "-0.0": a value that rounds to zero is
 * shown as zero, not as a negative zero (a change of -0.04 % is "0.0", not "-0.0").
 */
export function fixedText(v: number, decimals: number): string {
  const text = v.toFixed(decimals);
  return Number(text) === 0 ? (0).toFixed(decimals) : text;
}

/** A fraction as a percentage for a person, to `decimals` places, never "-0%"; with `sign`, "+" before a shown figure above 0. */
export function percentText(fraction: number, decimals = 0, opts: { sign?: boolean } = {}): string {
  if (!Number.isFinite(fraction)) return '-';
  const text = fixedText(fraction * 100, decimals);
  return `${opts.sign && Number(text) > 0 ? '+' : ''}${text}%`;
}

/**
 * Shares of one whole (fractions adding up to 1, or to `total`) as percentages to `decimals` places that
 * add up to what the whole shows: each is rounded down, and the units left over go to the largest
 * remainders (Hamilton's method). Rounded one by one, a 3.1 % fallover over four providers showed 96.90 +
 * 3.00 + 0.09 + 0.00 = 99.99 %.
 */
export function percentShares(fractions: number[], decimals = 2): string[] {
  const unit = 100 * 10 ** decimals;
  const exact = fractions.map((f) => f * unit);
  // Float noise must not decide a floor: 0.0475 × 10000 is 474.99999999999994.
  const floors = exact.map((x) => Math.floor(Number(x.toPrecision(12))));
  const whole = Math.round(Number(exact.reduce((a, x) => a + x, 0).toPrecision(12)));
  let left = whole - floors.reduce((a, x) => a + x, 0);
  const order = exact.map((x, i) => ({ i, rest: x - floors[i] })).sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    floors[i]++;
    left--;
  }
  return floors.map((u) => `${(u / 10 ** decimals).toFixed(decimals)}%`);
}

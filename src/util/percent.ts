/**
 * Reads a percentage someone wrote ("5%", "0.5%"), for flags and thresholds alike. A bare number is
 * refused: "5" could mean 5 % or 500 %, and "1" was once silently 100 %. The message says what to write.
 */
export function checkPercent(text: string, maxPercent = 100): { fraction: number } | { problem: string } {
  const t = text.trim();
  const bare = /^\d+(\.\d+)?$/.test(t) ? Number(t) : undefined;
  if (bare !== undefined) {
    const asFraction = bare > 0 && bare <= 1 ? ` (or "${round(bare * 100)}%" if you meant the fraction ${t})` : '';
    return { problem: `"${t}" has no %; write a percentage like "${t}%"${asFraction}` };
  }
  const m = /^(\d+(?:\.\d+)?)\s*%$/.exec(t);
  if (!m) return { problem: `"${text}" is not a percentage like "10%"` };
  const pct = Number(m[1]);
  if (pct > maxPercent) return { problem: `"${t}" is more than ${maxPercent}%` };
  return { fraction: pct / 100 };
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

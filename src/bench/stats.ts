import type { ValueCount } from './hdr-values.js';

/**
 * Significance tests for `compare`: is the new run worse than the base beyond the noise of sampling?
 * Both work on what a result file holds — the per-request distributions in its HDR histograms and its
 * counts — so no raw request log is needed.
 */

/** Below this many observations on either side the normal approximation of Mann-Whitney U is not trusted (SciPy switches to the exact test there). */
export const MIN_SAMPLE = 8;

export interface TestOutcome {
  /** One-sided p-value of "the new run is worse"; null when the sample is too small to judge. */
  p: number | null;
  n_base: number;
  n_new: number;
}

/** Standard normal upper tail, P(Z > z) (Abramowitz & Stegun 7.1.26 for erf, |error| < 1.5e-7). */
export function normalUpperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 - erf) / 2 : (1 + erf) / 2;
}

/**
 * One-sided Mann-Whitney U: are values of `next` stochastically greater than those of `base`?
 * Ties (values in the same HDR bucket) get mid-ranks and the variance its tie correction; normal
 * approximation with continuity correction.
 */
export function mannWhitneyGreater(base: ValueCount[], next: ValueCount[]): TestOutcome {
  const n1 = base.reduce((n, v) => n + v.count, 0);
  const n2 = next.reduce((n, v) => n + v.count, 0);
  if (Math.min(n1, n2) < MIN_SAMPLE) return { p: null, n_base: n1, n_new: n2 };
  let i = 0;
  let j = 0;
  let seen = 0;
  let rankSumNext = 0;
  let ties = 0;
  while (i < base.length || j < next.length) {
    const v = Math.min(base[i]?.ms ?? Infinity, next[j]?.ms ?? Infinity);
    const a = base[i]?.ms === v ? base[i++].count : 0;
    const b = next[j]?.ms === v ? next[j++].count : 0;
    const t = a + b;
    rankSumNext += b * (seen + (t + 1) / 2);
    ties += t ** 3 - t;
    seen += t;
  }
  const n = n1 + n2;
  const u = rankSumNext - (n2 * (n2 + 1)) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  if (variance <= 0) return { p: 1, n_base: n1, n_new: n2 }; // every value identical: no evidence of a shift
  const z = (u - (n1 * n2) / 2 - 0.5) / Math.sqrt(variance);
  return { p: normalUpperTail(z), n_base: n1, n_new: n2 };
}

/** Mirror of {@link mannWhitneyGreater}: are values of `next` stochastically smaller (worse when higher is better)? */
export function mannWhitneyLess(base: ValueCount[], next: ValueCount[]): TestOutcome {
  const neg = (vs: ValueCount[]) => vs.map((v) => ({ ms: -v.ms, count: v.count })).reverse();
  return mannWhitneyGreater(neg(base), neg(next));
}

function logFactorial(n: number): number {
  let s = 0;
  for (let k = 2; k <= n; k++) s += Math.log(k);
  return s;
}

/**
 * One-sided Fisher exact test: did the new run fail more often than the base? p = P(new failures ≥ observed)
 * under the hypergeometric law with the margins fixed. Exact at any size; too small to judge when even
 * every failure falling in the new run would not be significant at `alpha`.
 */
export function fisherMoreFailures(baseFailed: number, baseTotal: number, newFailed: number, newTotal: number, alpha: number): TestOutcome {
  const n = baseTotal + newTotal;
  const k = baseFailed + newFailed;
  const lf = (m: number) => logFactorial(m);
  const logDenominator = lf(n) - lf(k) - lf(n - k);
  const prob = (x: number) => Math.exp(lf(newTotal) - lf(x) - lf(newTotal - x) + lf(baseTotal) - lf(k - x) - lf(baseTotal - k + x) - logDenominator);
  const hi = Math.min(k, newTotal);
  const lo = Math.max(0, k - baseTotal);
  const out = { n_base: baseTotal, n_new: newTotal };
  // The most extreme table (as many failures in the new run as possible) bounds the smallest reachable p.
  if (baseTotal === 0 || newTotal === 0 || k === 0 || prob(hi) >= alpha) return { p: k === 0 ? 1 : null, ...out };
  let p = 0;
  for (let x = Math.max(lo, newFailed); x <= hi; x++) p += prob(x);
  return { p: Math.min(1, p), ...out };
}

/**
 * One-sided exact Mann-Whitney U on a few values a side (e.g. one figure per repeated run): are the `next`
 * values greater than the `base` ones? The exact null distribution of U (every ordering equally likely);
 * ties count a half. Too small to judge (p null) when even the most extreme ordering would not reach `alpha`,
 * e.g. 3 runs against 3 (smallest p 1/20).
 */
export function exactMannWhitneyGreater(base: number[], next: number[], alpha: number): TestOutcome {
  const m = base.length;
  const n = next.length;
  const out = { n_base: m, n_new: n };
  if (m === 0 || n === 0) return { p: null, ...out };
  // ways[i][j][u]: orderings of i base and j next values with U = u (pairs where next is greater).
  const ways: number[][][] = [];
  for (let i = 0; i <= m; i++) {
    ways.push([]);
    for (let j = 0; j <= n; j++) {
      const row = new Array<number>(i * j + 1).fill(0);
      if (i === 0 || j === 0) row[0] = 1;
      else {
        // The largest value is a next one (greater than all i base values) or a base one (adds nothing).
        ways[i][j - 1].forEach((w, u) => (row[u + i] += w));
        ways[i - 1][j].forEach((w, u) => (row[u] += w));
      }
      ways[i].push(row);
    }
  }
  const dist = ways[m][n];
  const total = dist.reduce((a, b) => a + b, 0);
  if (1 / total >= alpha) return { p: null, ...out };
  let u = 0;
  for (const b of base) for (const x of next) u += x > b ? 1 : x === b ? 0.5 : 0;
  let tail = 0;
  for (let k = Math.ceil(u); k < dist.length; k++) tail += dist[k];
  return { p: tail / total, ...out };
}

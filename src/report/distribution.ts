import type { ValueCount } from '../bench/hdr-values.js';

export { recordedValues, type ValueCount } from '../bench/hdr-values.js';

/** Cumulative share (0..1) at each distinct value, thinned to at most `maxPoints` while keeping the first and last. */
export function cdf(values: ValueCount[], maxPoints = 240): { ms: number; share: number }[] {
  const total = values.reduce((n, v) => n + v.count, 0);
  if (total === 0) return [];
  let seen = 0;
  const all = values.map((v) => ({ ms: v.ms, share: (seen += v.count) / total }));
  if (all.length <= maxPoints) return all;
  const step = (all.length - 1) / (maxPoints - 1);
  return Array.from({ length: maxPoints }, (_, i) => all[Math.round(i * step)]);
}

/** Counts in `bins` equal-width bins over [0, maxMs]; values above maxMs land in the last bin. */
export function binCounts(values: ValueCount[], maxMs: number, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  const width = maxMs / bins;
  for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor(v.ms / width)))] += v.count;
  return counts;
}

import type { JsHistogram } from 'hdr-histogram-js';
import { decode } from '../bench/histogram.js';

/** One distinct recorded value (ms) and how many requests had it. */
export interface ValueCount {
  ms: number;
  count: number;
}

/** Every distinct value in an encoded HDR histogram (µs → ms), ascending: the exact distribution the percentiles come from. */
export function recordedValues(encoded: string | undefined): ValueCount[] {
  if (!encoded) return [];
  const h = decode(encoded) as unknown as JsHistogram;
  const out: ValueCount[] = [];
  const it = h.recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    // The middle of the value's HDR bucket: within the histogram's 3 significant digits of what was recorded.
    out.push({ ms: h.medianEquivalentValue(v.valueIteratedTo) / 1000, count: v.countAtValueIteratedTo });
  }
  return out;
}

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

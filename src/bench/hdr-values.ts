import type { JsHistogram } from 'hdr-histogram-js';
import { decode } from './histogram.js';

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

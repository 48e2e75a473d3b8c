import hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/** Microseconds from 1 µs to one hour, 3 significant digits: the range wrk2 and autocannon use. */
const HIGHEST_US = 3_600_000_000;

export function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3, autoResize: false });
}

/** Records milliseconds (fractional) as whole microseconds, clamped into the histogram's range. */
export function recordMs(h: Histogram, ms: number): void {
  if (!Number.isFinite(ms)) return;
  h.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(ms * 1000))));
}

export interface Summary {
  count: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** Percentiles in the histogram's unit divided by 1000 (µs → ms); null when nothing was recorded. */
export function summarize(h: Histogram): Summary | null {
  if (h.totalCount === 0) return null;
  // A percentile is reported as the highest value equivalent to its bucket, which can pass the true max.
  const max = h.maxValue;
  const v = (p: number) => round3(Math.min(h.getValueAtPercentile(p), max) / 1000);
  return { count: h.totalCount, p50: v(50), p90: v(90), p95: v(95), p99: v(99), max: round3(max / 1000), mean: round3(h.mean / 1000) };
}

export function encode(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/**
 * The highest value a histogram of newHistogram()'s shape counts in the same bucket as `us`: values below
 * 2048 have buckets of 1, and each doubling above doubles the width (3 significant digits, lowest 1).
 */
function bucketTop(us: number): number {
  const width = us < 2048 ? 1 : 2 ** (Math.floor(Math.log2(us)) - 10);
  return us - (us % width) + width - 1;
}

/**
 * Gives a decoded histogram back the exact max its run recorded (`maxMs`, as the result file states it beside
 * the encoding). The encoding keeps counts per bucket only, so a decoded histogram's max is its bucket's top:
 * threads' and shards' results added up reported 49.215 ms for a true 49.204. A max that is not in the
 * decoded max's bucket (a damaged or mismatched file) changes nothing.
 */
export function restoreMax(h: Histogram, maxMs: number | null | undefined): void {
  if (typeof maxMs !== 'number' || !Number.isFinite(maxMs) || h.totalCount === 0) return;
  const us = Math.round(maxMs * 1000);
  if (us < 1 || bucketTop(us) !== h.maxValue) return;
  // maxValue is a plain field of hdr-histogram-js's JsHistogram (readonly only in its typings); add() takes the larger of two.
  (h as { maxValue: number }).maxValue = us;
}

export function decode(b64: string): Histogram {
  const h = newHistogram();
  if (b64) h.add(hdr.decodeFromCompressedBase64(b64));
  return h;
}

export type { Histogram };

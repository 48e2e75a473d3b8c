import { now, toEpochMs } from '../util/clock.js';

/** At most this many buckets per provider: a longer run doubles the bucket width instead of growing. */
export const TIMELINE_MAX_BUCKETS = 512;
const FIRST_WIDTH_MS = 1000;
/** Latencies fall into log bins 2 % wide, so a bucket's p50/p95 are within 1 % without keeping each request (a few hundred bins at most). */
const LN_BIN = Math.log(1.02);

interface Bucket {
  ok: number;
  failed: number;
  latencySum: number;
  latencyMax: number;
  ttftSum: number;
  ttftCount: number;
  bins: Map<number, number>;
}

export interface TimelineBucket {
  /** Bucket start, seconds after the run started. */
  t_s: number;
  ok: number;
  failed: number;
  latency_ms: { mean: number; p50: number; p95: number; max: number } | null;
  ttft_mean_ms: number | null;
}

export interface TimelineResult {
  bucket_ms: number;
  buckets: TimelineBucket[];
}

/** Timeline.state(): a bucket's bins as [bin, count] pairs. */
export interface TimelineState {
  originEpochMs: number;
  widthMs: number;
  buckets: (Omit<Bucket, 'bins'> & { bins: [number, number][] })[];
}

function addBucket(a: Bucket, b: Bucket): void {
  a.ok += b.ok;
  a.failed += b.failed;
  a.latencySum += b.latencySum;
  a.latencyMax = Math.max(a.latencyMax, b.latencyMax);
  a.ttftSum += b.ttftSum;
  a.ttftCount += b.ttftCount;
  for (const [k, v] of b.bins) a.bins.set(k, (a.bins.get(k) ?? 0) + v);
}

const empty = (): Bucket => ({ ok: 0, failed: 0, latencySum: 0, latencyMax: 0, ttftSum: 0, ttftCount: 0, bins: new Map() });
const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** Latency and outcome over time, per request start time, in bounded memory (for the HTML report's time series). */
export class Timeline {
  private widthMs = FIRST_WIDTH_MS;
  private buckets: Bucket[] = [];

  constructor(private readonly originMs = now()) {}

  add(startMs: number, ok: boolean, latencyMs?: number, ttftMs?: number): void {
    let i = Math.max(0, Math.floor((startMs - this.originMs) / this.widthMs));
    while (i >= TIMELINE_MAX_BUCKETS) {
      this.coarsen();
      i = Math.floor(i / 2);
    }
    while (this.buckets.length <= i) this.buckets.push(empty());
    const b = this.buckets[i];
    if (!ok) {
      b.failed++;
      return;
    }
    b.ok++;
    if (latencyMs !== undefined) {
      b.latencySum += latencyMs;
      b.latencyMax = Math.max(b.latencyMax, latencyMs);
      const bin = Math.floor(Math.log(Math.max(1, latencyMs * 1000)) / LN_BIN);
      b.bins.set(bin, (b.bins.get(bin) ?? 0) + 1);
    }
    if (ttftMs !== undefined) {
      b.ttftSum += ttftMs;
      b.ttftCount++;
    }
  }

  /** Halves the resolution: bucket pairs merge, the width doubles. */
  private coarsen(): void {
    const next: Bucket[] = [];
    for (let i = 0; i < this.buckets.length; i += 2) {
      const a = this.buckets[i];
      const b = this.buckets[i + 1];
      if (b) addBucket(a, b);
      next.push(a);
    }
    this.buckets = next;
    this.widthMs *= 2;
  }

  /** Everything recorded, as plain data another thread can receive (its origin on the shared epoch clock). */
  state(): TimelineState {
    return { originEpochMs: toEpochMs(this.originMs), widthMs: this.widthMs, buckets: this.buckets.map((b) => ({ ...b, bins: [...b.bins] })) };
  }

  /**
   * Timelines recorded side by side in several threads (bench --workers) as one: from the earliest origin,
   * each bucket added where it started (threads start within milliseconds of each other: well inside a bucket).
   */
  static fromStates(states: TimelineState[]): Timeline {
    const origin = Math.min(...states.map((s) => s.originEpochMs));
    const t = new Timeline(origin - toEpochMs(0));
    for (const s of states) {
      while (t.widthMs < s.widthMs) t.coarsen();
      s.buckets.forEach((b, i) => {
        let k = Math.max(0, Math.floor((s.originEpochMs - origin + i * s.widthMs) / t.widthMs));
        while (k >= TIMELINE_MAX_BUCKETS) {
          t.coarsen();
          k = Math.floor(k / 2);
        }
        while (t.buckets.length <= k) t.buckets.push(empty());
        addBucket(t.buckets[k], { ...b, bins: new Map(b.bins) });
      });
    }
    return t;
  }

  /** null when nothing was recorded (no request, or an accumulator rebuilt from a result file). */
  result(): TimelineResult | null {
    const first = this.buckets.findIndex((b) => b.ok + b.failed > 0);
    if (first < 0) return null;
    return { bucket_ms: this.widthMs, buckets: this.buckets.slice(first).map((b, j) => bucketResult(b, ((first + j) * this.widthMs) / 1000)) };
  }
}

function bucketResult(b: Bucket, t: number): TimelineBucket {
  return {
    t_s: round3(t),
    ok: b.ok,
    failed: b.failed,
    latency_ms: b.ok > 0 ? { mean: round3(b.latencySum / b.ok), p50: binPercentile(b.bins, 50, b.latencyMax), p95: binPercentile(b.bins, 95, b.latencyMax), max: round3(b.latencyMax) } : null,
    ttft_mean_ms: b.ttftCount > 0 ? round3(b.ttftSum / b.ttftCount) : null,
  };
}

/** Nearest-rank percentile over the log bins, at each bin's geometric middle (never above the true max). */
function binPercentile(bins: Map<number, number>, p: number, max: number): number {
  const total = [...bins.values()].reduce((a, b) => a + b, 0);
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const bin of [...bins.keys()].sort((a, b) => a - b)) {
    seen += bins.get(bin)!;
    if (seen >= rank) return round3(Math.min(max, Math.exp((bin + 0.5) * LN_BIN) / 1000));
  }
  return round3(max);
}

/**
 * One load spread over several processes or machines (`--shard I/N`, `--start-at TIME`): each shard takes
 * every N-th request of the whole load, so the shards together send exactly the prompts, in the same
 * order and (open loop, constant arrivals) at the same instants as one process would, and `merge` adds
 * their histograms back into the whole load's figures.
 */
import { UsageError } from '../errors.js';

export interface Shard {
  /** 1-based, as Playwright's and pytest's --shard (a Kubernetes Indexed Job passes JOB_COMPLETION_INDEX + 1). */
  index: number;
  count: number;
}

export const MAX_SHARDS = 1_000;

/** `I/N` with 1 ≤ I ≤ N. */
export function parseShard(value: string | undefined): Shard | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,4})\/(\d{1,4})$/.exec(value.trim());
  if (!m) throw new UsageError(`--shard: "${value}" is not I/N; e.g. --shard 2/4 runs the second of four shards (1-based)`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS) throw new UsageError(`--shard: ${count} shards; give 1 to ${MAX_SHARDS}`);
  if (index < 1 || index > count) throw new UsageError(`--shard: shard ${index} of ${count} does not exist; shards are numbered 1 to ${count} (a Kubernetes Indexed Job: $((JOB_COMPLETION_INDEX + 1))/${count})`);
  return { index, count };
}

/** This shard's part of `total` items taken every N-th from position index-1: ceil for the first (total mod N) shards. */
export function shareOf(total: number, s: Shard): number {
  return Math.floor(total / s.count) + (s.index - 1 < total % s.count ? 1 : 0);
}

/**
 * The shard's own load: its share of the requests and of the closed loop's concurrency, and 1/N of the
 * open loop's rate. Warm-up requests are per process (each warms its own connections), and a duration
 * applies to every shard alike.
 */
export function shardLoad(load: { requests?: number; concurrency: number; rate: number; mode: 'open' | 'closed' }, s: Shard | undefined): { requests?: number; concurrency: number; rate: number } {
  if (!s || s.count === 1) return { requests: load.requests, concurrency: load.concurrency, rate: load.rate };
  if (load.requests !== undefined && load.requests < s.count) throw new UsageError(`--shard: ${load.requests} requests cannot be split ${s.count} ways; ask for at least ${s.count} (--requests is the whole load, across shards)`);
  if (load.mode === 'closed' && load.concurrency < s.count) throw new UsageError(`--shard: concurrency ${load.concurrency} cannot be split ${s.count} ways; give --concurrency of at least ${s.count} (the whole load's, across shards)`);
  return {
    requests: load.requests === undefined ? undefined : shareOf(load.requests, s),
    concurrency: load.mode === 'closed' ? shareOf(load.concurrency, s) : load.concurrency,
    rate: load.rate / s.count,
  };
}

/**
 * The whole load's request number of this shard's `local`-th request: measured requests interleave
 * (shard I takes the whole load's W+I-1, W+I-1+N, …, after the W warm-up requests each shard sends
 * itself), so the shards together send the prompts one process would have.
 */
export function globalIndex(local: number, warmup: number, s: Shard | undefined): number {
  return s && local >= warmup ? warmup + (local - warmup) * s.count + (s.index - 1) : local;
}

/** How far (ms) this shard's constant arrivals are offset so the shards' sends interleave evenly. */
export function arrivalOffsetMs(totalRate: number, s: Shard | undefined): number {
  return s && totalRate > 0 ? ((s.index - 1) * 1000) / totalRate : 0;
}

/** The furthest ahead a start may be set: a typo in a date must not park a CI job for days. */
const MAX_START_AHEAD_MS = 24 * 3_600_000;

/** `--start-at`: an ISO 8601 time with a zone (2026-11-30T12:00:00Z) or Unix seconds, as epoch ms. A time already past starts at once (the caller warns). */
export function parseStartAt(value: string | undefined, nowMs = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  let ms: number;
  if (/^\d{9,11}(\.\d+)?$/.test(v)) ms = Number(v) * 1000;
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(v)) ms = Date.parse(v);
  else throw new UsageError(`--start-at: "${value}" is not a time; give ISO 8601 with a zone (e.g. 2026-11-30T12:00:00Z, as \`date -u -d '+1 min' +%FT%TZ\` prints) or Unix seconds`);
  if (!Number.isFinite(ms)) throw new UsageError(`--start-at: "${value}" is not a valid date`);
  if (ms - nowMs > MAX_START_AHEAD_MS) throw new UsageError(`--start-at: ${new Date(ms).toISOString()} is more than 24 h ahead; check the date`);
  return ms;
}

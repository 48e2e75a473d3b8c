/**
 * The chain's decisions, with no I/O and no clocks of their own: what a failure means for the provider
 * that failed, which provider goes next, and how long each clock and the hedge give a provider. Every
 * default of the chain is stated here once.
 */
import type { TimeoutsMs } from '../config/types.js';
import type { ErrorClass, ProviderError } from '../providers/errors.js';
import type { LatencySamples } from '../state/latency.js';

export const CHAIN_DEFAULTS = {
  /** Backoff for a same-provider retry: full jitter between 0 and base·2^retry, capped. */
  backoffBaseMs: 250,
  backoffCapMs: 8_000,
  /** Samples of a provider+model before its own history replaces the defaults below. */
  minSamples: 8,
  /** Hedge after a provider's p95 TTFT; with no history, after this long. */
  hedgeNoHistoryMs: 3_000,
  /** Never hedge sooner than this, however fast the history says a provider is. */
  hedgeFloorMs: 300,
  /** First-token clock from history: this many times the p99, at least the floor, at most the configured clock. */
  firstTokenP99Factor: 3,
  firstTokenFloorMs: 5_000,
  /** Idle clock from history: this many times the p99 of each answer's longest gap, at least the floor, at most the configured clock. */
  idleP99Factor: 3,
  idleFloorMs: 2_000,
  /** Idle clock with no history, when the configured one is longer. */
  idleNoHistoryMs: 10_000,
} as const;

export type HedgeSetting = { kind: 'auto' } | { kind: 'fixed'; ms: number } | { kind: 'off' };

export interface AttemptClocks {
  firstTokenMs: number;
  idleMs: number;
  /** Start the next provider alongside when no first token came within this delay (undefined: never). */
  hedgeMs: number | undefined;
  /** Where the values came from, for the attempt record. */
  basis: 'history' | 'default';
}

/** The p-th percentile (nearest rank) of a sample. A typed copy sorts numerically without a comparator call per step (this runs three times per attempt). */
export function percentile(values: readonly number[], p: number): number {
  const s = Float64Array.from(values).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

/**
 * The clocks for one attempt. The configured first-token and idle clocks are ceilings. With enough
 * history of this provider+model, the first-token clock is k × its p99 TTFT and the hedge fires at its
 * p95 — so a reasoning model that habitually thinks for 40 s before its first token is neither hedged nor
 * cut at 3 s, while a fast model's outage is caught in seconds. `allowanceMs` is the prompt-length
 * allowance, added on top (history is stored without it).
 */
export function attemptClocks(configured: TimeoutsMs, history: LatencySamples | undefined, hedge: HedgeSetting, allowanceMs: number): AttemptClocks {
  const d = CHAIN_DEFAULTS;
  const ceilingFt = configured.firstToken + allowanceMs;
  const ttft = history && history.ttft_ms.length >= d.minSamples ? history.ttft_ms : undefined;
  const gaps = history && history.max_gap_ms.length >= d.minSamples ? history.max_gap_ms : undefined;
  const firstTokenMs = ttft ? Math.min(ceilingFt, Math.max(d.firstTokenFloorMs, d.firstTokenP99Factor * percentile(ttft, 99)) + allowanceMs) : ceilingFt;
  const idleMs = gaps ? clamp(d.idleP99Factor * percentile(gaps, 99), Math.min(d.idleFloorMs, configured.idle), configured.idle) : Math.min(configured.idle, d.idleNoHistoryMs);
  let hedgeMs: number | undefined;
  if (hedge.kind === 'fixed') hedgeMs = hedge.ms;
  else if (hedge.kind === 'auto') {
    const base = ttft ? Math.max(d.hedgeFloorMs, percentile(ttft, 95)) : d.hedgeNoHistoryMs;
    // A hedge at or past the first-token clock would never fire before the clock itself.
    hedgeMs = base + allowanceMs < firstTokenMs ? base + allowanceMs : undefined;
  }
  return { firstTokenMs, idleMs, hedgeMs, basis: ttft ? 'history' : 'default' };
}

/**
 * What a failure says about asking the same provider again:
 * - `stop`: the whole chain stops (the caller cancelled; a content-filter refusal when told to stop);
 * - `done`: never again in this call (not retryable, output had started, it stayed silent, it said the prompt is too long);
 * - `again`: a fast failure (refused, reset, 429/503/529, a 5xx) — it may be tried again after a backoff.
 */
export type FailureKind = 'stop' | 'done' | 'again';

export function failureKind(err: Pick<ProviderError, 'errorClass' | 'isRetryable' | 'timeoutPhase'>, outputStarted: boolean, onContentFilter: 'stop' | 'fallover'): FailureKind {
  const c: ErrorClass = err.errorClass;
  if (c === 'cancelled') return 'stop';
  if (c === 'content_filter') return onContentFilter === 'stop' ? 'stop' : 'done';
  if (c === 'context_length') return 'done';
  // A stream that failed after output started goes to the next provider rather than again to this one.
  if (outputStarted || !err.isRetryable) return 'done';
  // A provider that stayed silent until its first-token, idle or total clock ran out is not asked again
  // (a silent provider costs one first-token timeout); a connect timeout is a fast failure like a refusal.
  if (c === 'timeout' && err.timeoutPhase !== 'connect') return 'done';
  return 'again';
}

/**
 * How long to wait before asking the same provider again: exactly what the server asked for
 * (Retry-After), else exponential backoff with full jitter. Undefined when the wait would pass the
 * deadline — then the provider is not asked again. A server-given delay is never trusted beyond that.
 */
export function retryDelay(
  retryIndex: number,
  retryAfterMs: number | undefined,
  remainingMs: number,
  random: () => number,
  baseMs: number = CHAIN_DEFAULTS.backoffBaseMs,
  capMs: number = CHAIN_DEFAULTS.backoffCapMs,
): number | undefined {
  const wait = retryAfterMs !== undefined && Number.isFinite(retryAfterMs) ? Math.max(0, retryAfterMs) : Math.floor(random() * Math.min(capMs, baseMs * 2 ** retryIndex));
  return wait < remainingMs ? wait : undefined;
}

/** Where each provider of the chain stands during one call. */
export interface Slot {
  /** Not asked yet, waiting for a retry (from `readyAt`), in flight, or finished with (answered, failed for good, skipped). */
  state: 'fresh' | 'waiting' | 'running' | 'done';
  /** Monotonic ms at which a waiting provider may be asked again. */
  readyAt: number;
}

/**
 * Which provider goes next: with `retrySameFirst`, the one that just failed and may be retried; else the
 * first provider not asked yet (a fast failure falls over at once to the next healthy provider); when
 * every provider has been asked, the waiting one that is ready first (ties: chain order) — so a provider
 * is retried only when it is the last live option. -1 when nothing is left.
 */
export function pickNext(slots: readonly Slot[], lastFailed: number | undefined, retrySameFirst: boolean): number {
  if (retrySameFirst && lastFailed !== undefined && slots[lastFailed]?.state === 'waiting') return lastFailed;
  const fresh = slots.findIndex((s) => s.state === 'fresh');
  if (fresh >= 0) return fresh;
  let best = -1;
  slots.forEach((s, i) => {
    if (s.state === 'waiting' && (best < 0 || s.readyAt < slots[best].readyAt)) best = i;
  });
  return best;
}

import { now } from '../util/clock.js';

/** A provider's per-minute budget (a profile's `rate_limit`): requests, and tokens (Infinity: that one is not limited). */
export interface RateLimit {
  requests_per_minute: number;
  tokens_per_minute: number;
}

/** What is left of a budget at one moment, as the rate-limit headers report it. */
export interface BudgetLeft {
  limit: RateLimit;
  requests: number;
  tokens: number;
  /** Until each bucket is whole again (ms): what OpenAI's x-ratelimit-reset-* and Anthropic's *-reset say. */
  requestsResetMs: number;
  tokensResetMs: number;
}

/** Why a request was refused, and how long until it would be admitted (ms). */
export interface BudgetRefusal {
  /** The bucket that refused it. */
  bucket: 'requests' | 'tokens';
  /** The request asks for more tokens than the whole per-minute budget: waiting never admits it. */
  tooLarge: boolean;
  waitMs: number;
  /** Tokens the request asked for. */
  requested: number;
}

const MINUTE_MS = 60_000;

/**
 * A provider's budget as the services describe theirs: two buckets (requests, tokens) that hold a
 * minute's worth and refill continuously, so a client that spent them waits only until there is room for
 * its request, not for a window to end (Anthropic documents its limits as token buckets; OpenAI's resets
 * say when the budget is whole again). A refused request takes nothing.
 */
export class RateBudget {
  private requests: number;
  private tokens: number;
  private at: number;

  constructor(readonly limit: RateLimit, at = now()) {
    this.requests = limit.requests_per_minute;
    this.tokens = limit.tokens_per_minute;
    this.at = at;
  }

  /** Admits a request charged `tokens` (taking it from the budget), or says why not. */
  take(tokens: number, at = now()): BudgetRefusal | undefined {
    this.refill(at);
    const { requests_per_minute: rpm, tokens_per_minute: tpm } = this.limit;
    if (tokens > tpm) return { bucket: 'tokens', tooLarge: true, waitMs: Infinity, requested: tokens };
    const requestWait = this.requests >= 1 ? 0 : ((1 - this.requests) * MINUTE_MS) / rpm;
    const tokenWait = this.tokens >= tokens ? 0 : ((tokens - this.tokens) * MINUTE_MS) / tpm;
    if (requestWait > 0 || tokenWait > 0) {
      return requestWait >= tokenWait
        ? { bucket: 'requests', tooLarge: false, waitMs: requestWait, requested: tokens }
        : { bucket: 'tokens', tooLarge: false, waitMs: tokenWait, requested: tokens };
    }
    this.requests -= 1;
    this.tokens -= tokens;
    return undefined;
  }

  left(at = now()): BudgetLeft {
    this.refill(at);
    const { requests_per_minute: rpm, tokens_per_minute: tpm } = this.limit;
    return {
      limit: this.limit,
      requests: Math.floor(this.requests),
      tokens: Math.floor(this.tokens),
      requestsResetMs: untilWhole(rpm, this.requests),
      tokensResetMs: untilWhole(tpm, this.tokens),
    };
  }

  /** Gives back what an admitted request took (a rate-limit fault then refused it after all). */
  refund(tokens: number): void {
    this.requests = Math.min(this.limit.requests_per_minute, this.requests + 1);
    this.tokens = Math.min(this.limit.tokens_per_minute, this.tokens + tokens);
  }

  /** Whole again (POST /_mock/reset). */
  reset(at = now()): void {
    this.requests = this.limit.requests_per_minute;
    this.tokens = this.limit.tokens_per_minute;
    this.at = at;
  }

  private refill(at: number): void {
    const elapsed = at - this.at;
    if (elapsed <= 0) return;
    this.at = at;
    this.requests = Math.min(this.limit.requests_per_minute, this.requests + (elapsed * this.limit.requests_per_minute) / MINUTE_MS);
    this.tokens = Math.min(this.limit.tokens_per_minute, this.tokens + (elapsed * this.limit.tokens_per_minute) / MINUTE_MS);
  }
}

function untilWhole(perMinute: number, level: number): number {
  return Number.isFinite(perMinute) ? ((perMinute - level) * MINUTE_MS) / perMinute : 0;
}

/** A wait as Retry-After says it: whole seconds, rounded up (at least 1), so a client that waits that long is admitted. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}

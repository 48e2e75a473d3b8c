import { randomBytes } from 'node:crypto';
import type { Dialect } from './profile.js';
import type { BudgetLeft, RateLimit } from './rate-budget.js';

/**
 * The response headers a real service sends besides the body: a request id, and the rate-limit
 * headers with which OpenAI and Anthropic tell a client how much budget is left (docs/providers.md §1
 * and §5a). OpenAI resets are Go-style durations ("6m0s"), Anthropic resets RFC 3339 timestamps, and
 * Anthropic rounds remaining tokens to the thousand. Other dialects document none, so send none.
 */

/** Unique per emulator process; a counter makes each id unique within it (cheaper than random bytes per request). */
const ID_PREFIX = randomBytes(8).toString('hex');
let idCounter = 0;

export function requestId(dialect: Dialect): string {
  const n = (idCounter++).toString(16).padStart(16, '0');
  // Anthropic ids look like req_011C…; OpenAI's are req_ and 32 hex digits.
  return dialect === 'anthropic' ? `req_011C${ID_PREFIX}${n}` : `req_${ID_PREFIX}${n}`;
}

/**
 * A duration the way Go prints one, as OpenAI's x-ratelimit-reset-* do: "120ms", "1.5s", "6m0s". Rounded up
 * to the millisecond first: a wait it reports is never shorter than the real one.
 */
export function goDuration(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole < 1000) return `${whole}ms`;
  if (whole < 60_000) return `${whole / 1000}s`;
  const minutes = Math.floor(whole / 60_000);
  return `${minutes}m${(whole - minutes * 60_000) / 1000}s`;
}

/**
 * Headers for one answer: the request id, and with a budget (the profile's `rate_limit`) what is left of
 * it. A provider without one sends no rate-limit headers, as DeepSeek and local servers send none: headers
 * that reported a budget nothing enforced would tell a client to slow down for no reason, or that it has
 * none left while answers keep coming.
 */
export function serviceHeaders(dialect: Dialect, id: string, left: BudgetLeft | undefined): Record<string, string> {
  if (dialect === 'openai') {
    const h: Record<string, string> = { 'x-request-id': id, 'openai-version': '2020-10-01' };
    if (!left) return h;
    if (Number.isFinite(left.limit.requests_per_minute)) {
      h['x-ratelimit-limit-requests'] = String(left.limit.requests_per_minute);
      h['x-ratelimit-remaining-requests'] = String(left.requests);
      h['x-ratelimit-reset-requests'] = goDuration(left.requestsResetMs);
    }
    if (Number.isFinite(left.limit.tokens_per_minute)) {
      h['x-ratelimit-limit-tokens'] = String(left.limit.tokens_per_minute);
      h['x-ratelimit-remaining-tokens'] = String(left.tokens);
      h['x-ratelimit-reset-tokens'] = goDuration(left.tokensResetMs);
    }
    return h;
  }
  if (dialect === 'anthropic') {
    const h: Record<string, string> = { 'request-id': id };
    if (!left) return h;
    // The second a bucket is whole again, rounded up: the header has whole seconds and must not say "already".
    const at = (ms: number) => new Date(Math.ceil((Date.now() + ms) / 1000) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    if (Number.isFinite(left.limit.requests_per_minute)) {
      h['anthropic-ratelimit-requests-limit'] = String(left.limit.requests_per_minute);
      h['anthropic-ratelimit-requests-remaining'] = String(left.requests);
      h['anthropic-ratelimit-requests-reset'] = at(left.requestsResetMs);
    }
    if (!Number.isFinite(left.limit.tokens_per_minute)) return h;
    // Anthropic rounds remaining tokens to the thousand.
    const tokens = String(Math.round(left.tokens / 1000) * 1000);
    for (const kind of ['tokens', 'input-tokens']) {
      h[`anthropic-ratelimit-${kind}-limit`] = String(left.limit.tokens_per_minute);
      h[`anthropic-ratelimit-${kind}-remaining`] = tokens;
      h[`anthropic-ratelimit-${kind}-reset`] = at(left.tokensResetMs);
    }
    return h;
  }
  return {};
}

/** What the headers report when a rate-limit fault says the budget is spent: nothing left until `resetMs`. */
export function spent(limit: RateLimit, resetMs: number): BudgetLeft {
  return { limit, requests: 0, tokens: 0, requestsResetMs: resetMs, tokensResetMs: resetMs };
}

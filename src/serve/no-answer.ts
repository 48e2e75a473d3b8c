/**
 * A call with no answer (source "none") as the HTTP status a client and its SDK can act on: 429 when
 * every provider rate-limited the request, 503 when they are down or their breakers open, 504 past the
 * deadline, 400 when the request itself cannot be served (context window, content filter), 502
 * otherwise; with Retry-After when the providers said when, or the breakers know, and x-should-retry:
 * false when waiting or resending will not help (always on a 504: the chain's own deadline is spent).
 */
import type { ChainResult } from '../chain/chain.js';
import type { Attempt } from '../chain/events.js';
import { isRetryableClass, type ErrorClass } from '../providers/errors.js';
import type { Route, Router } from '../router.js';
import type { ErrorReply } from './errors.js';
import { replyHeaders, finalHead } from './reply-headers.js';

/** Every provider rate-limited the call but none said for how long: ask the client to wait this long. */
const UNKNOWN_RATE_LIMIT_WAIT_MS = 1_000;

/**
 * The longest wait the official SDKs are left to sleep through on their own. They honour Retry-After
 * with no upper bound, so a provider's "retry in 900 s" passed on would block a default client's call for
 * 15 minutes without a word; past this, the reply says `x-should-retry: false` (which the SDKs obey) and
 * keeps Retry-After for a client that schedules its own retries.
 */
const SDK_RETRY_WAIT_MAX_MS = 60_000;

/** Failures that mean "the provider is not serving now" (as opposed to "this answer went wrong"). */
const DOWN = new Set(['network', 'overloaded', 'server', 'timeout', 'rate_limit', 'billing']);

const skipped = (a: Attempt) => a.decision === 'skipped_breaker_open' || a.decision === 'skipped_context_window';

/** `deadlineMs`: the call's deadline, to tell running out of time from other failures. */
export function noAnswerReply(result: ChainResult, route: Route, router: Router, deadlineMs: number, nowMs = Date.now()): ErrorReply {
  const err = result.error ?? { class: 'unavailable', message: 'no provider answered' };
  const tried = result.attempts.filter((a) => !skipped(a) && a.decision !== 'hedge_lost');
  const all = (cls: string) => tried.length > 0 && tried.every((a) => a.error_class === cls);
  const headers = replyHeaders(finalHead(result, route), {}) as Record<string, string>;
  const what = route.kind === 'chain' ? `chain "${route.name}"` : `"${route.name}"`;
  const detail = tried.length ? `; tried ${tried.map((a) => `${a.provider} (${a.error_detail ?? a.decision})`).join(', ')}` : '';
  const reply = (status: number, code: string, message: string, waitMs?: number): ErrorReply => {
    if (waitMs !== undefined) {
      headers['retry-after'] = String(Math.max(1, Math.ceil(waitMs / 1000)));
      headers['retry-after-ms'] = String(Math.max(0, Math.round(waitMs)));
      if (waitMs > SDK_RETRY_WAIT_MAX_MS) headers['x-should-retry'] = 'false';
    }
    return { status, code, message, headers };
  };

  if (err.class === 'cancelled') return reply(503, 'cancelled', `the call to ${what} was cancelled (the client went away or the gateway is shutting down)`);
  if (err.class === 'content_filter') return reply(400, 'content_filter', `${what}: ${err.message}`);
  const windowSkips = result.attempts.length > 0 && result.attempts.every((a) => a.decision === 'skipped_context_window');
  if (windowSkips || all('context_length')) return reply(400, 'context_length_exceeded', `${what}: ${err.message}${detail}`);
  const hint = retryHint(tried);
  const reopen = breakersReopen(route, router, nowMs);
  if (all('rate_limit')) return reply(429, 'rate_limit_exceeded', `every provider of ${what} is rate-limiting requests${detail}; retry after the Retry-After header`, hint ?? reopen ?? UNKNOWN_RATE_LIMIT_WAIT_MS);
  if (result.latency_ms >= deadlineMs || all('timeout')) {
    // The chain has already spent its time: every provider, with its retries, within the deadline (or each
    // stayed silent until its clock ran out, which the chain does not ask again). The SDKs retry a 504 twice,
    // each time through the whole chain for another deadline: three times the wait for the same outcome.
    const out = reply(504, 'timeout', `${what}: no answer in time: ${err.message}${detail}`);
    out.headers!['x-should-retry'] = 'false';
    return out;
  }
  const breakerSkips = result.attempts.some((a) => a.decision === 'skipped_breaker_open');
  if ((tried.length > 0 || breakerSkips) && tried.every((a) => a.error_class !== null && DOWN.has(a.error_class))) {
    return reply(503, 'all_providers_unavailable', `no provider of ${what} is available: ${err.message}${detail}`, reopen ?? (tried.length > 0 && tried.every((a) => a.retry_after_ms !== null) ? hint : undefined));
  }
  const out = reply(502, 'upstream_error', `no provider of ${what} gave an answer: ${err.message}${detail}`);
  // The SDKs retry any 5xx, each time through the whole chain. When every provider refused in a way that
  // resending will not change (a wrong key, a request it rejects, an empty answer), that is the same refusals
  // twice more, so the reply tells them not to.
  if (tried.length > 0 && tried.every((a) => a.error_class !== null && !isRetryableClass(a.error_class))) out.headers!['x-should-retry'] = 'false';
  return out;
}

/** The shortest Retry-After the providers' last refusals asked for, when each of them asked. */
function retryHint(tried: Attempt[]): number | undefined {
  const last = new Map<string, Attempt>();
  for (const a of tried) last.set(a.provider, a);
  let min: number | undefined;
  for (const a of last.values()) {
    if (a.retry_after_ms === null) return undefined;
    min = min === undefined ? a.retry_after_ms : Math.min(min, a.retry_after_ms);
  }
  return min;
}

/** When the first provider of the route comes out of its open breaker, if every one of them is open now. */
function breakersReopen(route: Route, router: Router, nowMs: number): number | undefined {
  let first = Infinity;
  for (const p of route.providers) {
    const a = router.breakers.admit(p.breakerKey, p.name, nowMs);
    if (a.allowed) return undefined;
    first = Math.min(first, a.openUntil);
  }
  return Number.isFinite(first) ? Math.max(0, first - nowMs) : undefined;
}

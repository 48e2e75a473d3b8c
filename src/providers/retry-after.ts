/**
 * Reads how long the server asked us to wait: `retry-after-ms` (milliseconds) first, then
 * `retry-after` as seconds or as an HTTP date, as the Stainless SDKs do; then the wait the body gave
 * (`bodyDelayMs`: Gemini's RetryInfo); without any, when the response says a rate-limit budget is spent
 * (its `remaining` is 0), when that budget resets: OpenAI's
 * `x-ratelimit-reset-requests`/`-tokens` (Go durations, "6m0s", "1.5s", "12ms") or Anthropic's
 * `anthropic-ratelimit-*-reset` (RFC 3339 times). Returns undefined when absent or unreadable.
 */
export function retryAfterMs(headers: Record<string, string>, nowEpochMs = Date.now(), bodyDelayMs?: number): number | undefined {
  // The server's explicit word first (its headers, then Gemini's RetryInfo in the body), and only then the
  // reset of a budget it says is spent, which is when the budget refills, not when the server wants us back.
  return explicitRetryAfterMs(headers, nowEpochMs) ?? bodyDelayMs ?? budgetResetMs(headers, nowEpochMs);
}

function explicitRetryAfterMs(headers: Record<string, string>, nowEpochMs: number): number | undefined {
  const ms = headers['retry-after-ms'];
  if (ms !== undefined) {
    const v = Number(ms);
    if (Number.isFinite(v) && v >= 0) return v;
  }
  const ra = headers['retry-after'];
  if (ra !== undefined) {
    const trimmed = ra.trim();
    if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
    // Every HTTP-date form names its month; Date.parse alone reads "-5" or "1,5" as dates long past (retry at once).
    const date = /[a-z]{3}/i.test(trimmed) ? Date.parse(trimmed) : NaN;
    if (Number.isFinite(date)) return Math.max(0, date - nowEpochMs);
  }
  return undefined;
}

/** The rate-limit budgets whose reset a spent one is waited for, per dialect. */
const OPENAI_BUDGETS = ['requests', 'tokens'];
const ANTHROPIC_BUDGETS = ['requests', 'tokens', 'input-tokens', 'output-tokens'];

/** The latest reset among the budgets the response says are spent; undefined when none is, or none can be read. */
function budgetResetMs(headers: Record<string, string>, nowEpochMs: number): number | undefined {
  let wait: number | undefined;
  const take = (v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) wait = Math.max(wait ?? 0, Math.max(0, v));
  };
  for (const b of OPENAI_BUDGETS) {
    if (spent(headers[`x-ratelimit-remaining-${b}`])) take(goDurationMs(headers[`x-ratelimit-reset-${b}`]));
  }
  for (const b of ANTHROPIC_BUDGETS) {
    if (!spent(headers[`anthropic-ratelimit-${b}-remaining`])) continue;
    const reset = headers[`anthropic-ratelimit-${b}-reset`];
    // RFC 3339 only: a date-time with a zone (Date.parse alone would read "5" as a year).
    if (reset !== undefined && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(reset.trim())) take(Date.parse(reset.trim()) - nowEpochMs);
  }
  return wait;
}

const spent = (remaining: string | undefined) => remaining !== undefined && remaining.trim() === '0';

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 1e-3, µs: 1e-3, ns: 1e-6 };

/** A Go duration ("6m0s", "1.5s", "12ms", "1h2m3.5s") in ms; undefined when it is not one. */
export function goDurationMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^(\d+(\.\d+)?(h|ms|m|s|us|µs|ns))+$/.test(t)) return undefined;
  let total = 0;
  for (const [, n, , unit] of t.matchAll(/(\d+(\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) total += Number(n) * UNIT_MS[unit];
  return total;
}

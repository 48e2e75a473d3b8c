import { randomBytes } from 'node:crypto';
import type { Dialect } from './profile.js';

/**
 * The response headers a real service sends besides the body: a request id, and the rate-limit
 * headers with which OpenAI and Anthropic tell a client how much budget is left (docs/providers.md §1
 * and §5a). OpenAI resets are Go-style durations ("6m0s"), Anthropic resets RFC 3339 timestamps, and
 * Anthropic rounds remaining tokens to the thousand. Other dialects document none, so send none.
 */

/** The per-minute budget an emulated account has; requests and prompt tokens are counted per provider. */
export const RATE_LIMITS = { requests: 10_000, tokens: 2_000_000 } as const;
const WINDOW_MS = 60_000;

/** Counts one provider's use of its per-minute budget (a fixed window, as the headers describe one). */
export class RateWindow {
  private start = Date.now();
  private requests = 0;
  private tokens = 0;

  /** Counts a request with its prompt tokens and returns the budget used so far. */
  use(tokens: number, nowMs = Date.now()): { requests: number; tokens: number; resetMs: number } {
    if (nowMs - this.start >= WINDOW_MS) {
      this.start = nowMs;
      this.requests = 0;
      this.tokens = 0;
    }
    this.requests++;
    this.tokens += tokens;
    return this.used(nowMs);
  }

  used(nowMs = Date.now()): { requests: number; tokens: number; resetMs: number } {
    return { requests: this.requests, tokens: this.tokens, resetMs: Math.max(0, this.start + WINDOW_MS - nowMs) };
  }
}

/** Unique per emulator process; a counter makes each id unique within it (cheaper than random bytes per request). */
const ID_PREFIX = randomBytes(8).toString('hex');
let idCounter = 0;

export function requestId(dialect: Dialect): string {
  const n = (idCounter++).toString(16).padStart(16, '0');
  // Anthropic ids look like req_011C…; OpenAI's are req_ and 32 hex digits.
  return dialect === 'anthropic' ? `req_011C${ID_PREFIX}${n}` : `req_${ID_PREFIX}${n}`;
}

/** A duration the way Go prints one, as OpenAI's x-ratelimit-reset-* do: "120ms", "1.5s", "6m0s". */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = ms / 1000;
  if (s < 60) return `${+s.toFixed(3)}s`;
  return `${Math.floor(s / 60)}m${+(s % 60).toFixed(3)}s`;
}

/** Headers for one answer; `exhausted` (a rate-limit fault) reports no budget left. */
export function serviceHeaders(dialect: Dialect, id: string, used: { requests: number; tokens: number; resetMs: number }, exhausted: boolean): Record<string, string> {
  const reqLeft = exhausted ? 0 : Math.max(0, RATE_LIMITS.requests - used.requests);
  const tokLeft = exhausted ? 0 : Math.max(0, RATE_LIMITS.tokens - used.tokens);
  if (dialect === 'openai') {
    return {
      'x-request-id': id,
      'openai-version': '2020-10-01',
      'x-ratelimit-limit-requests': String(RATE_LIMITS.requests),
      'x-ratelimit-limit-tokens': String(RATE_LIMITS.tokens),
      'x-ratelimit-remaining-requests': String(reqLeft),
      'x-ratelimit-remaining-tokens': String(tokLeft),
      'x-ratelimit-reset-requests': goDuration(exhausted ? used.resetMs : WINDOW_MS / RATE_LIMITS.requests),
      'x-ratelimit-reset-tokens': goDuration(exhausted ? used.resetMs : (used.tokens / RATE_LIMITS.tokens) * WINDOW_MS),
    };
  }
  if (dialect === 'anthropic') {
    const reset = new Date(Date.now() + used.resetMs).toISOString().replace(/\.\d+Z$/, 'Z');
    const tokens = String(Math.round(tokLeft / 1000) * 1000);
    const h: Record<string, string> = {
      'request-id': id,
      'anthropic-ratelimit-requests-limit': String(RATE_LIMITS.requests),
      'anthropic-ratelimit-requests-remaining': String(reqLeft),
      'anthropic-ratelimit-requests-reset': reset,
    };
    for (const kind of ['tokens', 'input-tokens']) {
      h[`anthropic-ratelimit-${kind}-limit`] = String(RATE_LIMITS.tokens);
      h[`anthropic-ratelimit-${kind}-remaining`] = tokens;
      h[`anthropic-ratelimit-${kind}-reset`] = reset;
    }
    return h;
  }
  return {};
}

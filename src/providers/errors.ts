import { serverText } from '../util/redact.js';

/**
 * The error taxonomy every adapter maps provider failures onto. Retry and fallback policies
 * (and bench's error breakdown) are written against these classes, never against raw statuses,
 * because the same status means different things at different providers (see docs/errors in README).
 */
export const ERROR_CLASSES = [
  'auth', // 401/403: bad or missing key, no permission
  'billing', // out of credit or quota: OpenAI 429 insufficient_quota, DeepSeek/OpenRouter 402, MiniMax 1008
  'rate_limit', // caller's own request/token rate: 429 rate_limit_exceeded
  'overloaded', // provider-wide capacity: 503, Anthropic 529, Moonshot 429 engine_overloaded_error
  'server', // 500/502/504 and other 5xx
  'timeout', // one of our clocks ran out: connect, first_token, idle, total (see timeoutPhase)
  'network', // refused, reset, DNS failure, TLS failure (see networkCode)
  'bad_request', // 400/404/422, redirects, retired models: resending will not help
  'context_length', // prompt + max tokens exceed the model's window
  'content_filter', // the provider refused the content
  'malformed_response', // not JSON, not SSE, wrong shape, over the size cap
  'incomplete_stream', // cut mid-body, no finish reason (OpenAI style) or no message_stop (Anthropic)
  'empty_response', // finished without content or a tool call: never an answer (see providers/answer.ts)
  'cancelled', // the caller aborted (Ctrl-C)
] as const;

export type ErrorClass = (typeof ERROR_CLASSES)[number];
export type TimeoutPhase = 'connect' | 'first_token' | 'idle' | 'total';

// empty_response is left out on purpose: resending the same request tends to get the same empty shape
// (a model that spends its budget thinking, a dialect quirk), so the chain falls over to the next provider.
const RETRYABLE: ReadonlySet<ErrorClass> = new Set<ErrorClass>([
  'rate_limit',
  'overloaded',
  'server',
  'timeout',
  'network',
  'malformed_response',
  'incomplete_stream',
]);

export function isRetryableClass(c: ErrorClass): boolean {
  return RETRYABLE.has(c);
}

/**
 * Failures that say something about the provider's health and so move its circuit breaker; the
 * request's own faults (bad_request, context_length, content_filter) and the caller's cancel do not.
 * ask and health both feed the same breaker, so both use this one list.
 */
const PROVIDER_HEALTH: ReadonlySet<string> = new Set<ErrorClass>(['auth', 'billing', 'rate_limit', 'overloaded', 'server', 'timeout', 'network', 'malformed_response', 'incomplete_stream', 'empty_response']);

export function countsAgainstProvider(c: string): boolean {
  return PROVIDER_HEALTH.has(c);
}

/**
 * Whether a failed attempt moves its provider's breaker: a failure of the provider's health class,
 * unless our proxy failed before the provider was reached (refused us, wrong password, down, silent).
 * That is this machine's fault: counted, a bad HTTPS_PROXY on one replica would open the breakers every
 * replica shares, and the provider would stay skipped after the proxy is fixed. Nor when a clock ran out
 * while the caller's reader held the stream back: the provider was answering, the reader was behind.
 */
export function blamesProvider(err: ProviderError): boolean {
  return countsAgainstProvider(err.errorClass) && !err.atProxy && !err.byReader;
}

export interface ProviderErrorInit {
  errorClass: ErrorClass;
  message: string;
  provider?: string;
  status?: number;
  /** Response headers, kept for Retry-After and rate-limit headers. */
  headers?: Record<string, string>;
  retryAfterMs?: number;
  retryable?: boolean;
  timeoutPhase?: TimeoutPhase;
  /** ECONNREFUSED, ECONNRESET, ENOTFOUND, ... */
  networkCode?: string;
  /** The provider's own error type/code string, e.g. "insufficient_quota". */
  providerCode?: string;
  /** The outbound proxy failed before the provider was reached (see blamesProvider). */
  atProxy?: boolean;
  /** A clock ran out while the reader held the stream back (ChatRequest.ready): the reader's wait, not the provider's failure (see blamesProvider). */
  byReader?: boolean;
}

export class ProviderError extends Error {
  readonly errorClass: ErrorClass;
  readonly provider?: string;
  readonly status?: number;
  readonly headers: Record<string, string>;
  readonly retryAfterMs?: number;
  readonly isRetryable: boolean;
  readonly timeoutPhase?: TimeoutPhase;
  readonly networkCode?: string;
  readonly providerCode?: string;
  readonly atProxy: boolean;
  readonly byReader: boolean;

  constructor(init: ProviderErrorInit) {
    // Every message and header may carry server text: secrets and terminal controls go here, once.
    super(serverText(init.message));
    this.name = 'ProviderError';
    this.errorClass = init.errorClass;
    this.provider = init.provider;
    this.status = init.status;
    this.headers = Object.fromEntries(Object.entries(init.headers ?? {}).map(([k, v]) => [k, serverText(v)]));
    this.retryAfterMs = init.retryAfterMs;
    this.isRetryable = init.retryable ?? isRetryableClass(init.errorClass);
    this.timeoutPhase = init.timeoutPhase;
    this.networkCode = init.networkCode;
    this.providerCode = init.providerCode === undefined ? undefined : serverText(init.providerCode, 200);
    this.atProxy = init.atProxy ?? false;
    this.byReader = init.byReader ?? false;
  }

  /** e.g. "timeout:first_token", "network:ECONNREFUSED", "rate_limit" */
  get detail(): string {
    if (this.timeoutPhase) return `${this.errorClass}:${this.timeoutPhase}`;
    if (this.networkCode) return `${this.errorClass}:${this.networkCode}`;
    return this.errorClass;
  }

  toJSON(): Record<string, unknown> {
    return {
      class: this.errorClass,
      message: this.message,
      status: this.status,
      retryable: this.isRetryable,
      retry_after_ms: this.retryAfterMs,
      timeout_phase: this.timeoutPhase,
      network_code: this.networkCode,
      provider_code: this.providerCode,
    };
  }
}

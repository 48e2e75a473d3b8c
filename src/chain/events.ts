import type { ErrorClass, ProviderError } from '../providers/errors.js';
import type { ProviderHandle, ServerAddress } from '../providers/handle.js';
import type { ChatMessage, FinishReason, Generation, SentSettings, Usage } from '../providers/types.js';

/** Why a call got no answer: a provider's error class, or `unavailable` when no provider was tried (or none said why). */
export type ChainErrorClass = ErrorClass | 'unavailable';

/** The parts of a provider handle the chain reads. */
export type ChainProvider = Pick<ProviderHandle, 'name' | 'model' | 'adapter' | 'price' | 'contextWindow' | 'timeouts' | 'breakerKey'> & Partial<Pick<ProviderHandle, 'server'>>;

/** The messages and what the caller asked of the answer (max tokens, temperature, reasoning, sampling), sent to every attempt alike. */
export interface ChainRequest extends Generation {
  messages: ChatMessage[];
}

/**
 * What the chain did after an attempt: retry (the same provider again), fallover (another provider next), stop
 * (no provider after it: the last with time left, or the chain stopped on purpose; a tier may still answer).
 */
export type Decision = 'success' | 'retry' | 'fallover' | 'stop' | 'skipped_breaker_open' | 'skipped_context_window' | 'hedge_lost';

export interface Attempt {
  provider: string;
  model: string;
  /** ms from the start of the call. */
  start_ms: number;
  duration_ms: number;
  /** First content or reasoning token, from the attempt's start. */
  ttft_ms: number | null;
  status: number | null;
  error_class: ErrorClass | null;
  error_detail: string | null;
  error_message: string | null;
  decision: Decision;
  /** For retries: how long the chain waits before asking the same provider again. */
  wait_ms: number | null;
  /** The provider's own Retry-After (ms), when its failure carried one: serve passes it on when every provider refused. */
  retry_after_ms: number | null;
  /** Ran beside another attempt (one of them was started by the hedge). */
  hedged: boolean;
  /** The clocks this attempt ran under, and whether they came from the provider's history or the defaults. */
  clocks: { first_token_ms: number; idle_ms: number; hedge_ms: number | null; basis: 'history' | 'default' } | null;
  output_chars: number;
  usage: Usage | null;
  cost_usd: number;
  /** cost_usd is estimated (the prompt and the text received at four characters a token): the server reported no usage. */
  cost_estimated: boolean;
  /** The provider's base URL host and port (no userinfo, no path); absent for a provider built without one. */
  server?: ServerAddress;
  /** The provider's own id for its answer (chatcmpl-…, msg_…), when the attempt finished and the server sent one. */
  response_id?: string;
  /** The model the server says answered (it can differ from `model`, e.g. a dated snapshot), when it finished and said so. */
  response_model?: string;
  /** What the request to this provider set, as sent (its own defaults and the dialect's additions in), when one went out. */
  request?: SentSettings;
}

export interface ChainResult {
  source: 'live' | 'cache' | 'static' | 'none';
  content: string;
  provider: string | null;
  model: string | null;
  usage: Usage | null;
  /**
   * A live answer whose provider reported no usage: the prompt and the output (answer and reasoning) at four
   * characters a token, the estimate cost_usd is priced from. Absent otherwise.
   */
  estimated_usage?: Usage;
  finish_reason: FinishReason | null;
  /** The answer stopped at the max-tokens limit: complete as far as it goes, but cut. */
  truncated: boolean;
  cost_usd: number;
  /** cost_usd is estimated: the answering provider reported no usage (see Attempt.cost_estimated). */
  cost_estimated: boolean;
  failed_attempts_cost_usd: number;
  latency_ms: number;
  ttft_ms: number | null;
  attempts: Attempt[];
  /** Why no answer came (source "none"), or why the chain stopped early. */
  error: { class: ChainErrorClass; message: string } | null;
}

/** What `chain.stream()` yields, in order; `run()` folds them into a ChainResult. */
export type ChainEvent =
  | { type: 'attempt_start'; provider: string; model: string; hedged: boolean; t_ms: number }
  /** Content of the attempt the chain committed to (the first to produce a token). */
  | { type: 'token'; provider: string; text: string }
  | { type: 'attempt_end'; attempt: Attempt }
  /** The committed attempt failed mid-answer: what was shown is void; `next` (if any) starts cleanly. */
  | { type: 'restart'; failed: string; error: ProviderError; next: string | null }
  | { type: 'tier'; tier: 'cache' | 'static' | 'none' }
  | { type: 'answer'; result: ChainResult };

/** Live output (a TTY): tokens as they come, and a marker when an answer is abandoned mid-way. */
export interface LiveSink {
  /** A request to `provider` starts (a retry, a fallover or a hedge). */
  attemptStart?(provider: string, model: string): void;
  token(text: string, provider: string): void;
  restart(failed: string, error: ProviderError, next: string | null): void;
}

/** Some failed attempt's cost (in failed_attempts_cost_usd) is estimated: it sent text but no usage. */
export function failedCostEstimated(attempts: readonly Attempt[]): boolean {
  return attempts.some((a) => a.decision !== 'success' && a.cost_estimated);
}

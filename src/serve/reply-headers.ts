/**
 * The x-llm-fallback-* response headers: what happened behind an answer (who served it, how many
 * requests it took, where it came from, what it cost), for clients and proxies that only see HTTP. A
 * stream's headers are decided when it is committed, so there they say "so far"; the stream's last SSE
 * comment (`summary`) gives the final counts.
 */
import type { ChainResult } from '../chain/chain.js';
import { failedCostEstimated, type Attempt } from '../chain/events.js';
import { decimalText } from '../format/numbers.js';
import type { Route } from '../router.js';

export const REPLY_HEADERS = {
  provider: 'x-llm-fallback-provider',
  model: 'x-llm-fallback-model',
  attempts: 'x-llm-fallback-attempts',
  source: 'x-llm-fallback-source',
  cost: 'x-llm-fallback-cost-usd',
  costEstimated: 'x-llm-fallback-cost-estimated',
  failedCost: 'x-llm-fallback-failed-attempts-cost-usd',
  failedCostEstimated: 'x-llm-fallback-failed-attempts-cost-estimated',
} as const;

export interface ReplyHead {
  /** null for the static message and for no answer. */
  provider: string | null;
  model: string | null;
  /** Requests sent to providers (retries and hedges included, breaker and window skips not). */
  attempts: number;
  source: ChainResult['source'];
  /** USD of the answer, when every price it depends on is known (complete answers only). */
  costUsd?: number;
  /** costUsd is estimated (four characters a token): the provider reported no usage. */
  costEstimated?: boolean;
  failedCostUsd?: number;
  /** Part of failedCostUsd is estimated: a failed attempt sent text but no usage. */
  failedCostEstimated?: boolean;
}

/** Requests the chain actually sent: skipped providers were not asked. */
export function attemptsMade(attempts: readonly Attempt[]): number {
  let n = 0;
  for (const a of attempts) if (a.decision !== 'skipped_breaker_open' && a.decision !== 'skipped_context_window') n++;
  return n;
}

/** Adds the x-llm-fallback-* headers of `head` to `into`. */
export function replyHeaders(head: ReplyHead, into: Record<string, string | number>): Record<string, string | number> {
  if (head.provider !== null) into[REPLY_HEADERS.provider] = head.provider;
  if (head.model !== null) into[REPLY_HEADERS.model] = head.model;
  into[REPLY_HEADERS.attempts] = head.attempts;
  into[REPLY_HEADERS.source] = head.source;
  if (head.costUsd !== undefined) into[REPLY_HEADERS.cost] = usd(head.costUsd);
  if (head.costUsd !== undefined && head.costEstimated) into[REPLY_HEADERS.costEstimated] = 'true';
  if (head.failedCostUsd) into[REPLY_HEADERS.failedCost] = usd(head.failedCostUsd);
  if (head.failedCostUsd && head.failedCostEstimated) into[REPLY_HEADERS.failedCostEstimated] = 'true';
  return into;
}

/** The head of a finished call: a cache hit or the static message cost nothing; a live answer costs what its provider's price says, if it has one. */
export function finalHead(result: ChainResult, route: Route | undefined): ReplyHead {
  const head: ReplyHead = { provider: result.provider, model: result.model, attempts: attemptsMade(result.attempts), source: result.source };
  const priced = result.source === 'live' ? route?.providers.some((p) => p.name === result.provider && p.price !== undefined) === true : result.source !== 'none';
  if (priced) head.costUsd = result.cost_usd;
  if (priced && result.cost_estimated) head.costEstimated = true;
  if (result.failed_attempts_cost_usd > 0) head.failedCostUsd = result.failed_attempts_cost_usd;
  if (result.failed_attempts_cost_usd > 0 && failedCostEstimated(result.attempts)) head.failedCostEstimated = true;
  return head;
}

/**
 * The last SSE comment of a stream, before its terminal frame (SDKs skip comments; curl shows it): the
 * final counts and cost, which the headers, sent at commit, could not know. `error` names why a
 * committed stream ended without its answer.
 */
export function summary(head: ReplyHead, latencyMs: number, error?: string): string {
  let s = `: llm-fallback provider=${head.provider ?? '-'} attempts=${head.attempts} source=${head.source}`;
  if (head.costUsd !== undefined) s += ` cost_usd=${usd(head.costUsd)}${head.costEstimated ? ' cost_estimated=true' : ''}`;
  if (head.failedCostUsd) s += ` failed_attempts_cost_usd=${usd(head.failedCostUsd)}${head.failedCostEstimated ? ' failed_attempts_cost_estimated=true' : ''}`;
  if (error) s += ` error=${error}`;
  return `${s} latency_ms=${Math.round(latencyMs)}\n\n`;
}

/** Plain decimal USD (never 1e-7), at most 10 decimals, no float noise: the rule every writer uses. */
export const usd = (v: number): string => decimalText(v);

import type { ChainResult } from '../chain/chain.js';
import { failedCostEstimated } from '../chain/events.js';
import { formatMs } from '../util/duration.js';
import { reportJson } from './numbers.js';
import { usdCost, withoutName } from './table.js';

/**
 * The one-line summary `ask` prints on stderr. `priced`: the config gives the answering provider a price;
 * without one its cost is unknown, not $0.00.
 */
export function askSummary(r: ChainResult, priced = true): string {
  const parts: string[] = [];
  if (r.source === 'live') {
    parts.push(`served by ${r.provider} (${r.model})`, formatMs(r.latency_ms));
    if (r.ttft_ms !== null) parts.push(`first token ${formatMs(r.ttft_ms)}`);
    if (r.usage) parts.push(`${r.usage.inputTokens} in / ${r.usage.outputTokens} out tokens`);
    parts.push(`${!priced ? 'cost unknown (no price in the config)' : r.cost_estimated ? `~${usdCost(r.cost_usd)} (estimated: no usage reported)` : usdCost(r.cost_usd)}${r.failed_attempts_cost_usd > 0 ? (failedCostEstimated(r.attempts) ? ` (+~${usdCost(r.failed_attempts_cost_usd)} failed attempts, estimated)` : ` (+${usdCost(r.failed_attempts_cost_usd)} failed attempts)`) : ''}`);
    if (r.truncated) parts.push('TRUNCATED at max tokens');
  } else if (r.source === 'cache') {
    parts.push(`no live provider answered; cached answer from ${r.provider} (${r.model})`);
  } else if (r.source === 'static') {
    parts.push('no live provider answered and no cached answer; static fallback message');
  } else {
    parts.push(`no answer: ${r.error?.message ?? 'unknown'}`);
  }
  const fallbacks = r.attempts.filter((a) => a.decision !== 'success').map((a) => `${a.provider} ${a.error_detail ?? a.decision.replace(/_/g, ' ')}→${a.decision}`);
  if (fallbacks.length) parts.push(`attempts: ${fallbacks.join(', ')}`);
  return `llm-fallback: ${parts.join(' · ')}`;
}

/** Every attempt, one line each, for when nothing answered. */
export function attemptLines(r: ChainResult): string[] {
  return r.attempts.map(
    (a) =>
      `  ${a.provider} (${a.model}) at +${formatMs(a.start_ms)}: ${a.decision}${a.error_class ? ` — ${a.error_detail}${a.status ? ` HTTP ${a.status}` : ''}: ${withoutName(a.provider, a.error_message ?? '', a.status)}` : a.error_message ? ` — ${withoutName(a.provider, a.error_message)}` : ''}`,
  );
}

const snakeUsage = (u: import('../providers/types.js').Usage | null) =>
  u ? { input_tokens: u.inputTokens, cached_input_tokens: u.cachedInputTokens, cache_write_input_tokens: u.cacheWriteInputTokens ?? null, output_tokens: u.outputTokens, reasoning_tokens: u.reasoningTokens ?? null } : null;

/** `ask --json`: the chain result with snake_case usage, like every other JSON the tool writes. */
export function askJson(r: ChainResult): string {
  // Costs are sums of token counts times decimal prices: written without their float noise (reportJson).
  return reportJson({ ...r, usage: snakeUsage(r.usage), estimated_usage: snakeUsage(r.estimated_usage ?? null), attempts: r.attempts.map((a) => ({ ...a, usage: snakeUsage(a.usage) })) });
}

import type { Price } from '../config/types.js';
import type { Usage } from '../providers/types.js';

/**
 * A cache write's price when the config gives none: Anthropic bills 5-minute cache writes at 1.25 × the
 * input price (1-hour writes at 2 ×: set price.cache_write for those). Only Anthropic's usage reports
 * writes; billing them at the plain input price would undercount every cached prompt's first request.
 */
export const CACHE_WRITE_FACTOR = 1.25;

/** USD per 1M tokens written to the prompt cache; the default is rounded to 10 decimals so $0.14 gives 0.175, not 0.17500000000000002. */
export const cacheWritePrice = (price: Price): number => price.cacheWrite ?? Math.round(price.input * CACHE_WRITE_FACTOR * 1e10) / 1e10;

/** USD for one request's tokens: uncached input, cached input, cache writes and output each at their own price. */
export function costOf(usage: Usage, price: Price | undefined): number {
  if (!price) return 0;
  const writes = usage.cacheWriteInputTokens ?? 0;
  const uncached = Math.max(0, usage.inputTokens - usage.cachedInputTokens - writes);
  return (uncached * price.input + usage.cachedInputTokens * price.cachedInput + writes * cacheWritePrice(price) + usage.outputTokens * price.output) / 1e6;
}

import type { Price } from '../config/types.js';
import type { Usage } from '../providers/types.js';

/** USD for one request's tokens: uncached input, cached input and output each at their own price. */
export function costOf(usage: Usage, price: Price | undefined): number {
  if (!price) return 0;
  const uncached = Math.max(0, usage.inputTokens - usage.cachedInputTokens);
  return (uncached * price.input + usage.cachedInputTokens * price.cachedInput + usage.outputTokens * price.output) / 1e6;
}

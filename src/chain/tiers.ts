import type { AnswerCache } from '../state/cache.js';
import type { Attempt, ChainErrorClass, ChainResult } from './events.js';

export interface TierInput {
  attempts: Attempt[];
  failedCost: number;
  latencyMs: number;
  cache?: { store: AnswerCache; key: () => string };
  staticMessage?: string;
  /** Why no live answer came: used when neither tier has one. */
  error: { class: ChainErrorClass; message: string };
  /** The chain stopped on purpose (cancelled, a content-filter refusal): no tier may answer in its place. */
  stopped: boolean;
}

/** After the live providers: the last good answer for the same request, then the static message, then nothing. */
export async function fallbackTier(t: TierInput): Promise<ChainResult> {
  const base = { usage: null, finish_reason: null, truncated: false, cost_usd: 0, cost_estimated: false, failed_attempts_cost_usd: t.failedCost, ttft_ms: null, attempts: t.attempts, latency_ms: t.latencyMs } as const;
  if (!t.stopped) {
    const hit = t.cache ? await t.cache.store.get(t.cache.key()) : undefined;
    if (hit) return { ...base, source: 'cache', content: hit.content, provider: hit.provider, model: hit.model, usage: hit.usage, error: null };
    if (t.staticMessage) return { ...base, source: 'static', content: t.staticMessage, provider: null, model: null, error: null };
  }
  return { ...base, source: 'none', content: '', provider: null, model: null, error: t.error };
}

import type { ProviderResult } from './result.js';

/** Providers need this success rate to be picked at all: a fast provider that fails is not fast. */
export const PICK_MIN_SUCCESS = 0.95;

/** The published `picks` of a bench result: provider names, or null when no provider qualifies. */
export interface Picks {
  /** Providers with at least min_success success and a measured latency. */
  eligible: string[];
  min_success: number;
  /** Lowest p50 latency. */
  fastest: string | null;
  /** Lowest cost per 1M output tokens, among providers with a price: a provider without one is unknown, not free. */
  cheapest: string | null;
  /** Lowest sum of latency rank and cost rank among priced providers; ties go to the lower p50. */
  best: string | null;
}

const priced = (p: ProviderResult) => p.price !== null && p.cost_per_1m_output_tokens_usd !== null;

/** Pure: which providers are fastest, cheapest and best of both in one result. */
export function pickProviders(providers: ProviderResult[]): Picks {
  const eligible = providers.filter((p) => p.error_rate !== null && 1 - p.error_rate >= PICK_MIN_SUCCESS && p.latency_ms);
  const byLatency = [...eligible].sort((a, b) => a.latency_ms!.p50 - b.latency_ms!.p50);
  const byCost = eligible.filter(priced).sort((a, b) => a.cost_per_1m_output_tokens_usd! - b.cost_per_1m_output_tokens_usd!);
  const score = (p: ProviderResult) => byLatency.indexOf(p) + byCost.indexOf(p);
  const best = [...byCost].sort((a, b) => score(a) - score(b) || a.latency_ms!.p50 - b.latency_ms!.p50)[0];
  return {
    eligible: eligible.map((p) => p.name),
    min_success: PICK_MIN_SUCCESS,
    fastest: byLatency[0]?.name ?? null,
    cheapest: byCost[0]?.name ?? null,
    best: best?.name ?? null,
  };
}

import type { Price, ProviderConfig } from '../config/types.js';
import type { BenchResult } from '../bench/result.js';
import { cacheWritePrice } from './usage-cost.js';
import { difference } from '../format/numbers.js';

export interface Workload {
  /** Tokens per day. */
  inputTokens: number;
  outputTokens: number;
  /** Share of input tokens served from the provider's prompt cache (0..1). */
  cachedShare: number;
  /** Share of input tokens written to the prompt cache (0..1; Anthropic's cache writes, from a bench result). */
  cacheWriteShare?: number;
  /** Where the figures came from, for the report. */
  source: string;
}

export interface Money {
  code: string;
  /** Units of `code` per USD. */
  rate: number;
}

export const USD: Money = { code: 'USD', rate: 1 };
const DAYS_PER_MONTH = 30;
const DAYS_PER_YEAR = 365;

export interface PriceRow {
  provider: string;
  model: string;
  input: number;
  cached_input: number;
  /** Per 1M tokens written to the prompt cache: Anthropic's 1.25 × input unless the config says; the input price where writes cost nothing extra (see config/load). */
  cache_write: number;
  output: number;
  context_window: number | null;
  priced_at: string | null;
  source: string | null;
}

export interface ProjectionRow {
  provider: string;
  model: string;
  daily: number;
  monthly: number;
  yearly: number;
  /** Against the baseline: positive = more expensive. */
  vs_baseline_daily: number | null;
  vs_baseline_pct: number | null;
}

export interface ChainBlend {
  chain: string;
  fallover_rate: number;
  shares: { provider: string; share: number }[];
  daily: number;
  monthly: number;
  yearly: number;
  /** Members with no price in the config: their share is in the blend at 0, so the blend is a lower bound. */
  unpriced: string[];
}

const convert = (usd: number, m: Money) => usd * m.rate;

export function priceRows(providers: ProviderConfig[], money: Money): PriceRow[] {
  return providers
    .filter((p) => p.price)
    .map((p) => ({
      provider: p.name,
      model: p.model,
      input: convert(p.price!.input, money),
      cached_input: convert(p.price!.cachedInput, money),
      cache_write: convert(cacheWritePrice(p.price!), money),
      output: convert(p.price!.output, money),
      context_window: p.contextWindow ?? null,
      priced_at: p.price!.pricedAt ?? null,
      source: p.price!.source ?? null,
    }))
    .sort((a, b) => a.output - b.output || a.input - b.input);
}

/** USD per day for a workload at a price. */
export function dailyUsd(w: Workload, price: Price): number {
  const cached = w.inputTokens * w.cachedShare;
  const writes = w.inputTokens * (w.cacheWriteShare ?? 0);
  return ((w.inputTokens - cached - writes) * price.input + cached * price.cachedInput + writes * cacheWritePrice(price) + w.outputTokens * price.output) / 1e6;
}

export function project(providers: ProviderConfig[], w: Workload, money: Money, baseline?: string): ProjectionRow[] {
  const priced = providers.filter((p) => p.price);
  const base = baseline ? priced.find((p) => p.name === baseline) : undefined;
  const baseDaily = base ? dailyUsd(w, base.price!) : undefined;
  return priced
    .map((p) => {
      const d = dailyUsd(w, p.price!);
      return {
        provider: p.name,
        model: p.model,
        daily: convert(d, money),
        monthly: convert(d * DAYS_PER_MONTH, money),
        yearly: convert(d * DAYS_PER_YEAR, money),
        vs_baseline_daily: baseDaily === undefined ? null : convert(difference(d, baseDaily), money),
        vs_baseline_pct: baseDaily === undefined || baseDaily === 0 ? null : difference(d, baseDaily) / baseDaily,
      };
    })
    .sort((a, b) => a.daily - b.daily);
}

/**
 * A chain's blended cost when a share `f` of each provider's traffic falls over to the next: provider k
 * serves (1 − f)·f^k of the requests, the last one everything that reaches it (f^(n−1)).
 */
export function blend(chain: string, members: ProviderConfig[], f: number, w: Workload, money: Money): ChainBlend {
  const n = members.length;
  const shares = members.map((p, k) => ({ provider: p.name, share: k === n - 1 ? f ** k : (1 - f) * f ** k }));
  let daily = 0;
  members.forEach((p, k) => {
    if (p.price) daily += shares[k].share * dailyUsd(w, p.price);
  });
  const unpriced = members.filter((p) => !p.price).map((p) => p.name);
  return { chain, fallover_rate: f, shares, daily: convert(daily, money), monthly: convert(daily * DAYS_PER_MONTH, money), yearly: convert(daily * DAYS_PER_YEAR, money), unpriced };
}

/** "10M/day", "300k", "1.5B/month", "2000000" → tokens per day. */
export function parseVolume(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmb])?\s*(?:\/\s*(day|d|month|mo))?\s*$/i.exec(text);
  if (!m) return undefined;
  const mult: Record<string, number> = { k: 1e3, m: 1e6, b: 1e9 };
  let v = Number(m[1]) * (m[2] ? mult[m[2].toLowerCase()] : 1);
  if (m[3] && /^mo/i.test(m[3])) v /= DAYS_PER_MONTH;
  return v;
}

/** A workload from a bench result: the measured tokens per successful request, times requests per day. */
export function workloadFromResult(result: BenchResult, requestsPerDay: number): Workload {
  let ok = 0;
  let input = 0;
  let cached = 0;
  let writes = 0;
  let output = 0;
  for (const p of result.providers) {
    ok += p.ok;
    input += p.tokens.input;
    cached += p.tokens.cached_input;
    writes += p.tokens.cache_write_input ?? 0;
    output += p.tokens.output;
  }
  if (ok === 0) return { inputTokens: 0, outputTokens: 0, cachedShare: 0, source: 'bench result with no successful request' };
  return {
    inputTokens: (input / ok) * requestsPerDay,
    outputTokens: (output / ok) * requestsPerDay,
    cachedShare: input > 0 ? cached / input : 0,
    cacheWriteShare: input > 0 ? writes / input : 0,
    source: `${Math.round(input / ok)} input (${Math.round((100 * cached) / Math.max(1, input))}% cached${writes > 0 ? `, ${Math.round((100 * writes) / input)}% written to the cache` : ''}) and ${Math.round(output / ok)} output tokens per request, measured over ${ok} requests, × ${requestsPerDay} requests/day`,
  };
}

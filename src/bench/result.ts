import type { Price } from '../config/types.js';
import { cacheWritePrice } from '../cost/usage-cost.js';
import { ProviderAccumulator, HISTOGRAM_NAMES, type HistogramName } from './accumulator.js';
import { decode, encode, restoreMax, summarize, type Summary } from './histogram.js';
import type { Picks } from './picks.js';
import { goodputResult, tallyFrom, type GoodputResult, type Slo } from './slo.js';
import type { TimelineResult } from './timeline.js';
import type { SweepResult, SweepSettings } from './sweep.js';
import type { RepeatResult } from './repeat.js';
import type { WorkloadReport } from './workloads/stats.js';
import type { WorkloadSettings } from './workloads/workload.js';

/** The published shape of `bench --format json` / `--out` (schema/bench-result.schema.json). */
export interface BenchResult {
  $schema: string;
  /** RESULT_SCHEMA_VERSION when written; a file read may be older (merge.ts readResult). */
  schema_version: number;
  tool: { name: 'llm-fallback'; version: string };
  started_at: string;
  ended_at: string;
  partial: boolean;
  /** How many result files were merged into this one (1 for a single run). */
  merged_from: number;
  /**
   * A merged result's runs, each by its identity (merge.ts runKey), so merging it again beside one of them is
   * refused. Absent for a single run and in results merged before it existed.
   */
  merged_runs?: string[];
  run: RunSettings;
  machine: { cpus: number; node: string; platform: string };
  providers: ProviderResult[];
  /** Fastest, cheapest and best of both, by name (src/bench/picks.ts). */
  picks: Picks;
  thresholds: ThresholdOutcome[];
  notes: string[];
  /** The client's own health during the run (absent in results merged from older files). */
  client?: ClientHealth;
  /** When the client itself may have distorted the figures: missed schedule, saturated CPU, late event loop. */
  warnings: string[];
}

/** What the measuring process itself did, so a reader can judge how far its figures can be trusted. */
export interface ClientHealth {
  /** Before the clock: warming the request path on loopback and opening connections (ms). */
  prepare_ms: number;
  /** CPU time of the client process over the measured run, in % of one core (one event loop uses one core). */
  cpu_percent: number;
  /** CPU time (user + system) of the client process over the measured run, ms. */
  cpu_ms: number;
  /**
   * How late the client's event loop ran a timer during the run (ms). A chunk arriving meanwhile is
   * time-stamped that late, so this is the client's own share of any figure's error.
   */
  event_loop_delay_ms: Summary | null;
}

export interface RunSettings {
  mode: 'closed' | 'open';
  concurrency: number | null;
  rate: number | null;
  arrival: 'constant' | 'poisson' | null;
  requests: number | null;
  duration_ms: number | null;
  warmup: number;
  stream: boolean;
  max_tokens: number | null;
  temperature: number | null;
  timeout_ms: number | null;
  seed: number;
  prompts: number;
  demo: boolean;
  /** --slo, canonical; absent or null when the run had none. */
  slo?: Slo[] | null;
  /** --shard: this result is shard `index` of `count` (1-based); requests, concurrency and rate above are the shard's own. */
  shard?: { index: number; count: number } | null;
  /** --start-at, ISO 8601: when the shards were to start together. */
  start_at?: string | null;
  /** --sweep: how the capacity search ran; absent or null otherwise. */
  sweep?: SweepSettings | null;
  /** --repeat: how many times the whole bench ran (the figures are every run's requests together); absent or null for one run. */
  repeat?: number | null;
  /** --input-tokens, --output-tokens, --shared-prefix-tokens, --cache-bust, --turns, --trace; absent or null without them. */
  workload?: WorkloadSettings | null;
  /** --workers: how many threads of this process shared the load (1 without; absent in older files). */
  workers?: number;
}

export interface PriceInfo {
  input: number;
  cached_input: number;
  /** Per 1M tokens written to the prompt cache (the default, 1.25 × input, when the config gave none); absent in older files. */
  cache_write?: number;
  output: number;
  priced_at: string | null;
}

export interface ProviderResult {
  name: string;
  model: string;
  api: string;
  requests: number;
  ok: number;
  failed: number;
  cancelled: number;
  error_rate: number | null;
  errors: Record<string, number>;
  error_details: Record<string, number>;
  error_examples: Record<string, string>;
  statuses: Record<string, number>;
  finish_reasons: Record<string, number>;
  latency_ms: Summary | null;
  ttft_ms: Summary | null;
  ttfb_ms: Summary | null;
  itl_ms: Summary | null;
  tpot_ms: Summary | null;
  /** Per-request output tokens/s, plus the aggregate over the measured wall time. */
  output_tokens_per_s: (Summary & { aggregate: number | null }) | { aggregate: number | null; count: 0 };
  requests_per_s: number | null;
  wall_ms: number;
  send_lag_ms: Summary | null;
  /** Open loop: measured requests sent per second over the sending span (first to last send; the drain after the last send is not counted). */
  achieved_rate: number | null;
  /** TCP (+TLS) set-up time of each connection, measured apart from every request (pre-opened before the clock, or opened during the run). */
  connect_ms: Summary | null;
  tokens: {
    input: number;
    cached_input: number;
    /** Part of input written to the prompt cache (Anthropic cache_creation_input_tokens); absent in older files. */
    cache_write_input?: number;
    output: number;
    reasoning: number;
    /**
     * reported: every successful request came with server usage, and no failed one was estimated; estimated: no
     * successful request came with usage; mixed: some did, or a failed request that had streamed text without
     * usage was estimated; none: no request's tokens were counted.
     */
    source: 'reported' | 'estimated' | 'mixed' | 'none';
    reported_requests: number;
    estimated_requests: number;
  };
  cost_usd: number;
  cost_per_1k_requests_usd: number | null;
  cost_per_1m_output_tokens_usd: number | null;
  price: PriceInfo | null;
  histograms: Record<HistogramName, string>;
  /** With --slo: good requests (ok and every SLO met) per second and as a share; null without SLOs. */
  goodput?: GoodputResult | null;
  /** Outcomes and latency per time bucket (bounded); null when nothing was measured, and in merged results. */
  timeline?: TimelineResult | null;
  /** --sweep: the capacity search's steps and maximum; the figures above are then those of the step at the maximum. */
  sweep?: SweepResult | null;
  /** --repeat: each run's headline figures and their spread; absent or null for one run. */
  repeats?: RepeatResult | null;
  /** With a workload flag: requested vs reported tokens, prompt-cache hits and TTFT, per-turn TTFT (src/bench/workloads/). */
  workload?: WorkloadReport | null;
}

export interface ThresholdOutcome {
  expression: string;
  provider: string;
  metric: string;
  op: string;
  limit: number;
  value: number | null;
  pass: boolean;
  message: string;
}

const round = (v: number, digits = 6) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * A provider's cost figure, or null when the config gives it no price: its cost is unknown, not zero. The
 * ratios of a new result are null already; cost_usd is 0 there, and results written before also computed
 * the ratios, so every reader of a cost goes through here (thresholds, compare, CSV).
 */
export function pricedCost(p: ProviderResult, figure: 'cost_usd' | 'cost_per_1k_requests_usd' | 'cost_per_1m_output_tokens_usd'): number | null {
  return p.price ? p[figure] : null;
}

/** Pure: an accumulator and its identity → the provider's part of the result. */
export function providerResult(acc: ProviderAccumulator, id: { name: string; model: string; api: string }): ProviderResult {
  const attempted = acc.ok + acc.failed;
  const wallS = acc.wallMs / 1000;
  const tps = summarize(acc.h.tps);
  const aggregate = wallS > 0 && acc.ok > 0 ? round(acc.outputTokens / wallS, 3) : null;
  const source = acc.estimatedRequests === 0 ? (acc.ok === 0 ? 'none' : 'reported') : acc.reportedRequests === 0 ? 'estimated' : 'mixed';
  return {
    name: id.name,
    model: id.model,
    api: id.api,
    requests: acc.sent,
    ok: acc.ok,
    failed: acc.failed,
    cancelled: acc.cancelled,
    error_rate: attempted > 0 ? round(acc.failed / attempted) : null,
    errors: sortKeys(acc.errors),
    error_details: sortKeys(acc.errorDetails),
    error_examples: sortKeys(acc.examples),
    statuses: sortKeys(acc.statuses),
    finish_reasons: sortKeys(acc.finishReasons),
    latency_ms: summarize(acc.h.latency),
    ttft_ms: summarize(acc.h.ttft),
    ttfb_ms: summarize(acc.h.ttfb),
    itl_ms: summarize(acc.h.itl),
    tpot_ms: summarize(acc.h.tpot),
    output_tokens_per_s: tps ? { ...tps, aggregate } : { aggregate, count: 0 },
    requests_per_s: wallS > 0 ? round(acc.ok / wallS, 3) : null,
    wall_ms: round(acc.wallMs, 3),
    send_lag_ms: summarize(acc.h.send_lag),
    achieved_rate: acc.h.send_lag.totalCount > 0 ? achievedRate(acc) : null,
    connect_ms: summarize(acc.h.connect),
    tokens: {
      input: acc.inputTokens,
      cached_input: acc.cachedInputTokens,
      cache_write_input: acc.cacheWriteInputTokens,
      output: acc.outputTokens,
      reasoning: acc.reasoningTokens,
      source,
      reported_requests: acc.reportedRequests,
      estimated_requests: acc.estimatedRequests,
    },
    cost_usd: round(acc.costUsd, 9),
    // Without a price the cost is unknown, not zero: the ratios are null, so no threshold or comparison reads them as free.
    cost_per_1k_requests_usd: acc.price && acc.ok > 0 ? round((acc.costUsd / acc.ok) * 1000, 9) : null,
    cost_per_1m_output_tokens_usd: acc.price && acc.outputTokens > 0 ? round((acc.costUsd / acc.outputTokens) * 1e6, 9) : null,
    price: acc.price ? priceInfo(acc.price) : null,
    histograms: Object.fromEntries(HISTOGRAM_NAMES.map((n) => [n, encode(acc.h[n])])) as Record<HistogramName, string>,
    goodput: acc.goodput ? goodputResult(acc.goodput, acc.wallMs) : null,
    timeline: acc.timeline.result(),
  };
}

/** n sends span n − 1 intervals: (sent − 1) / span, so the drain after the last send does not count. */
function achievedRate(acc: ProviderAccumulator): number | null {
  if (acc.sendSpanMs > 0 && acc.sends > 1) return round((acc.sends - 1) / (acc.sendSpanMs / 1000), 3);
  return null;
}

export function priceInfo(p: Price): PriceInfo {
  return { input: p.input, cached_input: p.cachedInput, cache_write: cacheWritePrice(p), output: p.output, priced_at: p.pricedAt ?? null };
}

/** The exact max a result states for one histogram (the encoding keeps it only to its bucket). */
function statedMax(r: ProviderResult, n: HistogramName): number | undefined {
  if (n === 'tps') return 'max' in r.output_tokens_per_s ? r.output_tokens_per_s.max : undefined;
  const summary = { latency: r.latency_ms, ttft: r.ttft_ms, ttfb: r.ttfb_ms, itl: r.itl_ms, tpot: r.tpot_ms, send_lag: r.send_lag_ms, connect: r.connect_ms }[n];
  return summary?.max;
}

/** Rebuilds an accumulator from a provider result (histograms decoded), so results can be merged exactly. */
export function accumulatorFrom(r: ProviderResult, slos: Slo[] = []): ProviderAccumulator {
  const price: Price | undefined = r.price ? { input: r.price.input, cachedInput: r.price.cached_input, cacheWrite: r.price.cache_write, output: r.price.output, pricedAt: r.price.priced_at ?? undefined } : undefined;
  const acc = new ProviderAccumulator(price);
  if (slos.length && r.goodput) acc.goodput = tallyFrom(slos, r.goodput);
  for (const n of HISTOGRAM_NAMES) {
    acc.h[n] = decode(r.histograms?.[n] ?? '');
    restoreMax(acc.h[n], statedMax(r, n));
  }
  acc.sent = r.requests;
  acc.ok = r.ok;
  acc.failed = r.failed;
  acc.cancelled = r.cancelled;
  acc.errors = { ...r.errors };
  acc.errorDetails = { ...r.error_details };
  acc.examples = { ...r.error_examples };
  acc.statuses = { ...r.statuses };
  acc.finishReasons = { ...r.finish_reasons };
  acc.inputTokens = r.tokens.input;
  acc.cachedInputTokens = r.tokens.cached_input;
  acc.cacheWriteInputTokens = r.tokens.cache_write_input ?? 0;
  acc.outputTokens = r.tokens.output;
  acc.reasoningTokens = r.tokens.reasoning;
  acc.reportedRequests = r.tokens.reported_requests;
  acc.estimatedRequests = r.tokens.estimated_requests;
  acc.costUsd = r.cost_usd;
  acc.wallMs = r.wall_ms;
  // Older result files have no span: their achieved rate is not carried over a merge.
  if (r.achieved_rate) {
    acc.sends = r.requests;
    acc.sendSpanMs = r.requests > 1 ? ((r.requests - 1) / r.achieved_rate) * 1000 : 0;
  }
  return acc;
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

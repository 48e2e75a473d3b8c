import type { ChainResult } from '../chain/chain.js';
import { TELEMETRY_DEFAULTS } from '../defaults.js';
import { GATEWAY_PROVIDER, GEN_AI_OPERATION, OTHER_ERROR, attemptErrorType, genAiProviderName, skipped } from './telemetry-names.js';
import { Family, checkBounds, escapeLabelValue, formatValue, type Series } from './telemetry-series.js';

/** Bounds of gen_ai.client.token.usage, as the GenAI conventions prescribe (not a setting). */
export const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

/**
 * Bounds (s) of gen_ai.server.time_to_first_token, as the GenAI conventions prescribe (not a setting): they
 * differ from the client metrics' 10 ms doubling to 81.92 s (semantic-conventions-genai docs/gen-ai/gen-ai-metrics.md).
 */
export const SERVER_TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

export type BreakerStateName = 'closed' | 'open' | 'half_open';
export interface BreakerReading {
  provider: string;
  model: string;
  state: BreakerStateName;
}
export interface SpanExportReading {
  exported: number;
  dropped: number;
}

/** llm_fallback_breaker_state's value per state: the order of increasing trouble. */
const BREAKER_VALUE: Record<BreakerStateName, number> = { closed: 0, half_open: 1, open: 2 };

const BREAKER_HEADER =
  '# HELP llm_fallback_breaker_state Circuit breaker per provider and model at scrape time: 0 closed, 1 half-open (one probe allowed), 2 open (skipped).\n# TYPE llm_fallback_breaker_state gauge\n';

export interface GatewayMetricsOptions {
  /** Bounds (s) of the request and operation duration histograms. */
  latencyBucketsS?: readonly number[];
  /** Bounds (s) of the client time-to-first-chunk histogram. */
  ttftBucketsS?: readonly number[];
  /** Label sets per metric before new ones fold into one `otel_metric_overflow="true"` series. */
  maxSeriesPerMetric?: number;
}

/**
 * The gateway's Prometheus metrics. GenAI ones follow the OpenTelemetry GenAI semantic conventions as
 * Prometheus names them (dots to underscores, unit `s` → `_seconds`, `{token}` dropped): each attempt is
 * a client operation against a provider (gen_ai_client_*), each gateway call a server operation whose
 * gen_ai_request_model is the chain or provider the client asked for (gen_ai_server_*). Fallback-specific
 * ones are llm_fallback_*.
 *
 * Label values come from the server (known chain and provider names) and from our own fixed vocabularies
 * (decisions, error classes, sources); whatever a client sends, each metric keeps at most
 * `maxSeriesPerMetric` label sets and counts the rest in its overflow series.
 */
export class GatewayMetrics {
  private readonly requests: Family;
  private readonly requestDuration: Family;
  private readonly inFlight: Family;
  private readonly attempts: Family;
  private readonly fallovers: Family;
  private readonly answers: Family;
  private readonly cost: Family;
  private readonly clientDuration: Family;
  private readonly clientFirstChunk: Family;
  private readonly tokens: Family;
  private readonly serverDuration: Family;
  private readonly serverFirstToken: Family;
  private readonly families: Family[];
  private readonly inFlightSeries: Series;
  private breakerSource: (() => BreakerReading[]) | undefined;
  private spanSource: (() => SpanExportReading) | undefined;
  private readonly statusText: string[] = [];

  constructor(opts: GatewayMetricsOptions = {}) {
    const latency = checkBounds('latencyBucketsS', opts.latencyBucketsS ?? TELEMETRY_DEFAULTS.latencyBucketsS);
    const ttft = checkBounds('ttftBucketsS', opts.ttftBucketsS ?? TELEMETRY_DEFAULTS.ttftBucketsS);
    const max = opts.maxSeriesPerMetric ?? TELEMETRY_DEFAULTS.maxSeriesPerMetric;
    if (!Number.isInteger(max) || max < 1) throw new Error(`maxSeriesPerMetric: must be a whole number of at least 1 (got ${max})`);
    const genAi = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model'];
    const server = ['gen_ai_operation_name', 'gen_ai_request_model', 'gen_ai_provider_name', 'gen_ai_response_model'];
    this.families = [
      (this.requests = new Family('llm_fallback_requests_total', 'HTTP requests the gateway answered, by endpoint, requested model and status code.', 'counter', ['endpoint', 'model', 'status'], max)),
      (this.requestDuration = new Family('llm_fallback_request_duration_seconds', 'Time from an HTTP request entering the gateway to its last byte.', 'histogram', ['endpoint', 'stream'], max, latency)),
      (this.inFlight = new Family('llm_fallback_requests_in_flight', 'HTTP requests the gateway is handling now.', 'gauge', [], max)),
      (this.attempts = new Family('llm_fallback_attempts_total', 'Attempts against providers, by what the chain decided after each (success, retry, fallover, stop, hedge_lost, skipped_*).', 'counter', ['provider', 'decision'], max)),
      (this.fallovers = new Family('llm_fallback_fallovers_total', 'Failed attempts after which the chain moved on to another provider.', 'counter', ['chain'], max)),
      (this.answers = new Family('llm_fallback_answers_total', 'Chain calls by where the answer came from: live, cache, static, or none.', 'counter', ['chain', 'source'], max)),
      (this.cost = new Family('llm_fallback_cost_usd_total', 'Spend in US dollars at configured prices, failed and lost attempts included.', 'counter', ['provider'], max)),
      (this.clientDuration = new Family('gen_ai_client_operation_duration_seconds', 'GenAI operation duration: one attempt against one provider.', 'histogram', [...genAi, 'error_type'], max, latency)),
      (this.clientFirstChunk = new Family('gen_ai_client_operation_time_to_first_chunk_seconds', "Time from an attempt's request to its first streamed chunk (content or reasoning).", 'histogram', genAi, max, ttft)),
      (this.tokens = new Family('gen_ai_client_token_usage', 'Number of input and output tokens used, per attempt that reported usage.', 'histogram', [...genAi, 'gen_ai_token_type'], max, TOKEN_BUCKETS)),
      (this.serverDuration = new Family('gen_ai_server_request_duration_seconds', 'Gateway call duration, from the chain start to its answer (all attempts and tiers).', 'histogram', [...server, 'error_type'], max, latency)),
      (this.serverFirstToken = new Family('gen_ai_server_time_to_first_token_seconds', "Time from the chain start to the first token of the answer's provider (live answers).", 'histogram', server, max, SERVER_TTFT_BUCKETS)),
    ];
    this.inFlightSeries = this.inFlight.at();
  }

  /** An HTTP request entered the gateway (in-flight gauge up; requestFinished brings it down). */
  requestStarted(): void {
    this.inFlightSeries.value++;
  }

  /** One HTTP request finished. endpoint: 'chat_completions' | 'messages' | 'models' | 'other'; model = what the client asked for (a chain or provider name). */
  requestFinished(r: { endpoint: string; model: string; status: number; durationMs: number; stream: boolean }): void {
    if (this.inFlightSeries.value > 0) this.inFlightSeries.value--;
    this.requests.inc(this.requests.at(r.endpoint, r.model, this.status(r.status)));
    this.requestDuration.observe(this.requestDuration.at(r.endpoint, r.stream ? 'true' : 'false'), r.durationMs / 1000);
  }

  /** The chain's result for one call: attempts, fallovers, usage, cost, TTFT, source. */
  call(chain: string, result: ChainResult): void {
    this.answers.inc(this.answers.at(chain, result.source));
    for (const a of result.attempts) {
      this.attempts.inc(this.attempts.at(a.provider, a.decision));
      if (a.decision === 'fallover') this.fallovers.inc(this.fallovers.at(chain));
      if (skipped(a)) continue; // no request was made: no operation, no spend
      this.cost.inc(this.cost.at(a.provider), a.cost_usd);
      const provider = genAiProviderName(a.provider);
      this.clientDuration.observe(this.clientDuration.at(GEN_AI_OPERATION, provider, a.model, attemptErrorType(a)), a.duration_ms / 1000);
      if (a.ttft_ms !== null) this.clientFirstChunk.observe(this.clientFirstChunk.at(GEN_AI_OPERATION, provider, a.model), a.ttft_ms / 1000);
      if (a.usage) {
        this.tokens.observe(this.tokens.at(GEN_AI_OPERATION, provider, a.model, 'input'), a.usage.inputTokens);
        this.tokens.observe(this.tokens.at(GEN_AI_OPERATION, provider, a.model, 'output'), a.usage.outputTokens);
      }
    }
    // Who answered: a live answer's provider; the gateway itself for a cached or static answer or none, as
    // gen_ai_provider_name is Required on these metrics (see GATEWAY_PROVIDER). The response model only live.
    const live = result.source === 'live';
    const provider = live && result.provider !== null ? genAiProviderName(result.provider) : GATEWAY_PROVIDER;
    const model = live ? (result.model ?? '') : '';
    const error = result.source === 'none' ? (result.error?.class ?? OTHER_ERROR) : '';
    this.serverDuration.observe(this.serverDuration.at(GEN_AI_OPERATION, chain, provider, model, error), result.latency_ms / 1000);
    if (live && result.ttft_ms !== null) this.serverFirstToken.observe(this.serverFirstToken.at(GEN_AI_OPERATION, chain, provider, model), result.ttft_ms / 1000);
  }

  /** Breaker state per provider at scrape time: set by a callback the server registers. */
  setBreakerSource(fn: () => BreakerReading[]): void {
    this.breakerSource = fn;
  }

  /** Spans the OTLP exporter sent and dropped, read at scrape time (optional). */
  setSpanExportSource(fn: () => SpanExportReading): void {
    this.spanSource = fn;
  }

  /** Prometheus text exposition format 0.0.4 (Content-Type `text/plain; version=0.0.4; charset=utf-8`). */
  render(): string {
    let out = '';
    for (const f of this.families) out += f.render();
    out += this.renderBreakers();
    out += this.renderSpanExport();
    return out;
  }

  /** One series per provider and model; a reading repeated by the source is shown once, a failing source shows none. */
  private renderBreakers(): string {
    let out = BREAKER_HEADER;
    if (!this.breakerSource) return out;
    let readings: BreakerReading[];
    try {
      readings = this.breakerSource();
    } catch {
      return out; // a scrape must not fail because the breaker store did; the gap shows in the graph
    }
    const seen = new Set<string>();
    for (const r of readings) {
      const labels = `provider="${escapeLabelValue(r.provider)}",model="${escapeLabelValue(r.model)}"`;
      if (seen.has(labels) || !(r.state in BREAKER_VALUE)) continue;
      seen.add(labels);
      out += `llm_fallback_breaker_state{${labels}} ${BREAKER_VALUE[r.state]}\n`;
    }
    return out;
  }

  private renderSpanExport(): string {
    if (!this.spanSource) return '';
    let r: SpanExportReading;
    try {
      r = this.spanSource();
    } catch {
      return '';
    }
    return (
      '# HELP llm_fallback_otlp_spans_exported_total Spans the OTLP trace exporter delivered to the collector.\n# TYPE llm_fallback_otlp_spans_exported_total counter\n' +
      `llm_fallback_otlp_spans_exported_total ${formatValue(r.exported)}\n` +
      '# HELP llm_fallback_otlp_spans_dropped_total Spans the OTLP trace exporter dropped (queue full, collector slow, down or refusing).\n# TYPE llm_fallback_otlp_spans_dropped_total counter\n' +
      `llm_fallback_otlp_spans_dropped_total ${formatValue(r.dropped)}\n`
    );
  }

  /** Status codes as label values, made once each. */
  private status(code: number): string {
    if (!Number.isInteger(code) || code < 0 || code > 999) return String(code);
    return (this.statusText[code] ??= String(code));
  }
}

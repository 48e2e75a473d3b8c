import { failedCostEstimated, type Attempt, type ChainResult } from '../chain/events.js';
import { randomHexId, unixNano } from './telemetry-ids.js';
import { GATEWAY_PROVIDER, GEN_AI_OPERATION, OTHER_ERROR, attemptErrorType, genAiProviderName, skipped } from './telemetry-names.js';
import type { Generation, SentSettings } from '../providers/types.js';

/*
 * A gateway call as OTLP spans, written straight to JSON text in opentelemetry-proto's JSON mapping:
 * ids as lowercase hex, 64-bit integers as decimal strings, enums as numbers, lowerCamelCase field
 * names, attributes as {key, value: {stringValue|intValue|doubleValue|boolValue|arrayValue}}. Text
 * rather than objects because this runs once per request: a span is one string to queue and join, not
 * a tree of small objects for the collector to chase and JSON.stringify to walk again.
 *
 * One SERVER span for the call (named `chat {chain}`, as the GenAI conventions name an inference span
 * `{operation} {request model}`), one CLIENT span per attempt that reached a provider (`chat {model}`),
 * and an event on the call span for each attempt the breaker or the context window skipped.
 *
 * Requirement levels below are those of the GenAI inference client span (gen_ai.inference.client in
 * open-telemetry/semantic-conventions-genai model/gen-ai/spans.yaml; the same table as
 * open-telemetry/semantic-conventions docs/gen-ai/gen-ai-spans.md before the move, c9e48b1d1^).
 */

/** What the client asked of the answer that the call span reports (gen_ai.request.*), when it set it. */
export type RequestSettings = Pick<Generation, 'maxTokens' | 'temperature' | 'sampling'>;

/** The caller's trace (or a new one) and what the client asked for, as the spans report them. */
export interface SpanContext extends RequestSettings {
  traceId: string;
  /** The caller's span, the parent of the call span. */
  parentSpanId?: string;
  /** The caller's W3C tracestate, validated: every span of the call carries it, as a child span inherits its parent's. */
  traceState?: string;
}

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;
const STATUS_CODE_ERROR = 2;

/**
 * A string as JSON text. A lone UTF-16 surrogate (a client can send one in a JSON model name) becomes
 * U+FFFD first: JSON.stringify would write it as a "\\udXXX" escape, which no protobuf string (UTF-8) can
 * hold, and a receiver that decodes with protojson refuses the whole batch for it.
 */
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATES = /\p{Cs}/gu;
const q = (v: string) => JSON.stringify(LONE_SURROGATE.test(v) ? v.replace(LONE_SURROGATES, '\ufffd') : v);
/** Attribute keys are our own constants (no escaping needed); values are escaped by JSON.stringify. */
const str = (key: string, v: string) => `{"key":"${key}","value":{"stringValue":${q(v)}}}`;
/**
 * int64 as a decimal string. A count past 2^53 (a provider may report anything) would print as "1e+21" or
 * overflow int64, and the collector would refuse the whole batch (HTTP 400): such a value is left out.
 */
const int = (key: string, v: number) => {
  const n = Math.round(v);
  return Number.isSafeInteger(n) ? `{"key":"${key}","value":{"intValue":"${n}"}}` : '';
};
/** JSON has no NaN or Infinity: such a value is left out rather than breaking the batch. */
const dbl = (key: string, v: number) => (Number.isFinite(v) ? `{"key":"${key}","value":{"doubleValue":${v}}}` : '');
const bool = (key: string, v: boolean) => `{"key":"${key}","value":{"boolValue":${v}}}`;
const strs = (key: string, v: string[]) => `{"key":"${key}","value":{"arrayValue":{"values":[${v.map((s) => `{"stringValue":${q(s)}}`).join(',')}]}}}`;
const OPERATION = str('gen_ai.operation.name', GEN_AI_OPERATION);
const STREAM = bool('gen_ai.request.stream', true); // the chain always streams from providers

/** Joins attribute texts, leaving out empty ones. */
function list(parts: string[]): string {
  let out = '';
  for (const p of parts) if (p) out += out ? `,${p}` : p;
  return out;
}

function span(c: SpanContext, spanId: string, parentSpanId: string | undefined, name: string, kind: number, startMs: number, endMs: number, attributes: string, extra: string): string {
  const parent = parentSpanId ? `,"parentSpanId":"${parentSpanId}"` : '';
  // Validated printable ASCII (parseTracestate), which may hold a quote or a backslash: q() escapes them.
  const state = c.traceState ? `,"traceState":${q(c.traceState)}` : '';
  // join() makes one flat string: the queue then holds one object per span, not a tree of the pieces above.
  return [`{"traceId":"${c.traceId}","spanId":"${spanId}"`, state, parent, `,"name":${q(name)},"kind":${kind},"startTimeUnixNano":"${unixNano(startMs)}","endTimeUnixNano":"${unixNano(endMs)}","attributes":[`, attributes, ']', extra, '}'].join('');
}

const errorStatus = (type: string) => `,"status":{"code":${STATUS_CODE_ERROR},"message":${q(type)}}`;

/**
 * A request's settings: max_tokens, temperature, top_p, top_k and the penalties are Recommended, seed
 * Conditionally Required when the request has one; top_k is a double in the registry
 * (model/gen-ai/registry.yaml). The registry's gen_ai.request.* are the parameters of the request a span
 * describes: the call span's are those the client sent the gateway, each attempt span's those that went to
 * its provider (the adapter's body: the provider's defaults, Anthropic's thinking budget in max_tokens).
 */
function requestSettings(s: SentSettings | undefined): string {
  if (!s) return '';
  return list([
    s.max_tokens !== undefined ? int('gen_ai.request.max_tokens', s.max_tokens) : '',
    s.temperature !== undefined ? dbl('gen_ai.request.temperature', s.temperature) : '',
    s.top_p !== undefined ? dbl('gen_ai.request.top_p', s.top_p) : '',
    s.top_k !== undefined ? dbl('gen_ai.request.top_k', s.top_k) : '',
    s.seed !== undefined ? int('gen_ai.request.seed', s.seed) : '',
    s.presence_penalty !== undefined ? dbl('gen_ai.request.presence_penalty', s.presence_penalty) : '',
    s.frequency_penalty !== undefined ? dbl('gen_ai.request.frequency_penalty', s.frequency_penalty) : '',
  ]);
}

/** The client's settings under the wire names, for the call span. */
function clientSettings(c: SpanContext): SentSettings {
  const g = c.sampling;
  return { max_tokens: c.maxTokens, temperature: c.temperature, top_p: g?.topP, top_k: g?.topK, seed: g?.seed, presence_penalty: g?.presencePenalty, frequency_penalty: g?.frequencyPenalty };
}

/** The call's spans as JSON texts, the call span first; attempt times are offsets from t0 (epoch ms). */
export function callSpans(chain: string, r: ChainResult, t0: number, c: SpanContext): string[] {
  const callId = randomHexId(8);
  const live = r.source === 'live';
  const reached = r.attempts.filter((a) => !skipped(a));
  const error = r.source === 'none' ? (r.error?.class ?? OTHER_ERROR) : '';
  const settings = requestSettings(clientSettings(c));
  const attrs = list([
    OPERATION,
    str('gen_ai.request.model', chain),
    // Required. Who answered, for a live answer; the gateway itself for a cached or static answer or none
    // (no provider was called for it now, and "the provider as identified by the server instrumentation"
    // is then llm-fallback: see GATEWAY_PROVIDER).
    str('gen_ai.provider.name', live && r.provider !== null ? genAiProviderName(r.provider) : GATEWAY_PROVIDER),
    // The model the gateway's reply names (its `model` field), for a live answer.
    live && r.model !== null ? str('gen_ai.response.model', r.model) : '',
    r.finish_reason !== null ? strs('gen_ai.response.finish_reasons', [r.finish_reason]) : '',
    settings,
    live && r.usage ? int('gen_ai.usage.input_tokens', r.usage.inputTokens) : '',
    live && r.usage ? int('gen_ai.usage.output_tokens', r.usage.outputTokens) : '',
    live && r.ttft_ms !== null ? dbl('gen_ai.response.time_to_first_chunk', r.ttft_ms / 1000) : '',
    error ? str('error.type', error) : '',
    str('llm_fallback.chain', chain),
    str('llm_fallback.source', r.source),
    int('llm_fallback.attempts', r.attempts.length),
    strs('llm_fallback.providers.attempted', [...new Set(reached.map((a) => a.provider))]),
    dbl('llm_fallback.cost_usd', r.cost_usd + r.failed_attempts_cost_usd),
    // Part of that sum is an estimate (four characters a token): the answer's or a failed attempt's server reported no usage.
    bool('llm_fallback.cost_estimated', r.cost_estimated || failedCostEstimated(r.attempts)),
    r.truncated ? bool('llm_fallback.truncated', true) : '',
  ]);
  let extra = '';
  const skips = r.attempts.filter(skipped);
  if (skips.length) {
    const events = skips.map(
      (a) =>
        `{"timeUnixNano":"${unixNano(t0 + a.start_ms)}","name":"llm_fallback.attempt_skipped","attributes":[${str('llm_fallback.provider', a.provider)},${str('gen_ai.request.model', a.model)},${str('llm_fallback.decision', a.decision)}]}`,
    );
    extra += `,"events":[${events.join(',')}]`;
  }
  if (error) extra += errorStatus(error);
  const out = [span(c, callId, c.parentSpanId, `${GEN_AI_OPERATION} ${chain}`, SPAN_KIND_SERVER, t0, t0 + r.latency_ms, attrs, extra)];
  for (const a of reached) out.push(attemptSpan(a, t0, c, callId));
  return out;
}

function attemptSpan(a: Attempt, t0: number, c: SpanContext, parentSpanId: string): string {
  const error = attemptErrorType(a);
  const u = a.usage;
  const attrs = list([
    OPERATION, // Required
    str('gen_ai.provider.name', genAiProviderName(a.provider)), // Required
    str('gen_ai.request.model', a.model), // Conditionally Required: if available
    // Recommended; server.port is Conditionally Required when server.address is set. From the base URL,
    // whose userinfo (user:key@) never reaches them.
    a.server ? str('server.address', a.server.address) : '',
    a.server ? int('server.port', a.server.port) : '',
    STREAM, // Conditionally Required: iff streaming
    requestSettings(a.request), // what went to this provider: max_tokens, temperature, top_p, top_k, penalties Recommended; seed Conditionally Required
    // Recommended: the provider's own id and the exact model that answered, as its response said.
    a.response_id ? str('gen_ai.response.id', a.response_id) : '',
    a.response_model ? str('gen_ai.response.model', a.response_model) : '',
    u ? int('gen_ai.usage.input_tokens', u.inputTokens) : '',
    u ? int('gen_ai.usage.output_tokens', u.outputTokens) : '',
    u?.cachedInputTokens ? int('gen_ai.usage.cache_read.input_tokens', u.cachedInputTokens) : '',
    u?.cacheWriteInputTokens ? int('gen_ai.usage.cache_creation.input_tokens', u.cacheWriteInputTokens) : '',
    u?.reasoningTokens !== undefined ? int('gen_ai.usage.reasoning.output_tokens', u.reasoningTokens) : '',
    a.ttft_ms !== null ? dbl('gen_ai.response.time_to_first_chunk', a.ttft_ms / 1000) : '',
    error ? str('error.type', error) : '', // Conditionally Required: if the operation ended in an error
    a.status !== null ? int('http.response.status_code', a.status) : '',
    str('llm_fallback.provider', a.provider),
    str('llm_fallback.decision', a.decision),
    bool('llm_fallback.hedged', a.hedged),
    dbl('llm_fallback.cost_usd', a.cost_usd),
    bool('llm_fallback.cost_estimated', a.cost_estimated),
    a.wait_ms !== null ? int('llm_fallback.wait_ms', a.wait_ms) : '',
  ]);
  const start = t0 + a.start_ms;
  return span(c, randomHexId(8), parentSpanId, `${GEN_AI_OPERATION} ${a.model}`, SPAN_KIND_CLIENT, start, start + a.duration_ms, attrs, error ? errorStatus(error) : '');
}

/** The export request's body around already-written spans. */
export function exportRequest(resourceAttributes: string, scope: { name: string; version: string }, spans: string[]): string {
  return `{"resourceSpans":[{"resource":{"attributes":[${resourceAttributes}]},"scopeSpans":[{"scope":{"name":${q(scope.name)},"version":${q(scope.version)}},"spans":[${spans.join(',')}]}]}]}`;
}

/** Resource attributes (service.name, service.version) as JSON text. */
export function resourceAttributes(serviceName: string, version: string): string {
  return `${str('service.name', serviceName)},${str('service.version', version)}`;
}

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FallbackChain, type ChainProvider, type ChainResult } from '../src/chain/chain.js';
import { GatewayMetrics } from '../src/serve/metrics.js';
import { OtlpTraceExporter } from '../src/serve/otlp.js';
import { parseTraceparent, parseTracestate, unixNano } from '../src/serve/telemetry-ids.js';
import { serverAddress } from '../src/providers/handle.js';
import { createAdapter } from '../src/providers/index.js';
import { MemoryBreakers } from '../src/state/breaker.js';
import { MemoryAnswerCache, cacheKey } from '../src/state/cache.js';
import { chainProviders, emulator, freePort, refusedUrl } from './helpers.js';

/*
 * Outside truth: the exposition is read by Debian's promtool (the Prometheus project's own parser and
 * linter) and scraped by a real Prometheus server, queried back with PromQL; OTLP requests are decoded
 * with the protobuf code the OpenTelemetry JS project generates from opentelemetry-proto. The chain
 * results are real: FallbackChain against the emulator, with a failing first provider.
 */

const PROMTOOL = '/usr/bin/promtool';
const PROMETHEUS = '/usr/bin/prometheus';

const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  a: { dialect: 'openai', output_tokens: c(6) },
  b: { dialect: 'deepseek', output_tokens: c(7) },
  an: { dialect: 'anthropic', output_tokens: c(5) },
});

const providers = (names: string[], faults: Record<string, object> = {}): ChainProvider[] => chainProviders(server, names, { faults, breakerKey: (name) => `telemetry:${name}` });
const q = { messages: [{ role: 'user' as const, content: 'What is a circuit breaker?' }] };
const chainOpts = { retries: 0, deadlineMs: 10_000, onContentFilter: 'stop' as const, firstTokenMsPerPromptToken: 0 };

/** a answers 503 (overloaded), b answers: one fallover per call. */
const fellOver = () => new FallbackChain(providers(['a', 'b'], { a: { kind: 'overloaded' } }), chainOpts).run(q);
/** a alone, failing: the static message answers. */
const staticAnswer = () => new FallbackChain(providers(['a'], { a: { kind: 'server' } }), { ...chainOpts, staticMessage: 'try later' }).run(q);
/** a alone, failing, no static message: no answer. */
const noAnswer = () => new FallbackChain(providers(['a'], { a: { kind: 'server' } }), chainOpts).run(q);
/** a's breaker open: a skipped, b answers. */
async function breakerSkipped(): Promise<ChainResult> {
  const breakers = new MemoryBreakers();
  for (let i = 0; i < 3; i++) await breakers.failure('telemetry:a', 'a', 'server', undefined);
  return new FallbackChain(providers(['a', 'b']), { ...chainOpts, breakers }).run(q);
}

/** b answers and its answer is cached; then a alone fails and the cache answers. */
async function cachedAnswer(): Promise<ChainResult> {
  const cache = { store: new MemoryAnswerCache(60_000), key: () => cacheKey(q) };
  const first = new FallbackChain(providers(['b']), { ...chainOpts, cache });
  await first.run(q);
  await first.settled;
  return new FallbackChain(providers(['a'], { a: { kind: 'server' } }), { ...chainOpts, cache }).run(q);
}

let results: { main: ChainResult[]; stat: ChainResult; none: ChainResult; skip: ChainResult; cached: ChainResult };
beforeAll(async () => {
  const main = [await fellOver(), await fellOver(), await fellOver()];
  results = { main, stat: await staticAnswer(), none: await noAnswer(), skip: await breakerSkipped(), cached: await cachedAnswer() };
  expect(results.cached.source).toBe('cache');
});

/** A gateway's metrics after the calls above, as the server would record them. */
function recorded(opts: ConstructorParameters<typeof GatewayMetrics>[0] = {}): GatewayMetrics {
  const m = new GatewayMetrics(opts);
  for (const r of results.main) {
    m.requestStarted();
    m.call('main', r);
    m.requestFinished({ endpoint: 'chat_completions', model: 'main', status: 200, durationMs: r.latency_ms + 1, stream: true });
  }
  m.call('solo', results.stat);
  m.call('solo', results.none);
  m.call('solo', results.cached);
  m.call('main', results.skip);
  m.requestStarted(); // one still in flight
  m.setBreakerSource(() => [
    { provider: 'a', model: 'gpt-5.4-mini', state: 'open' },
    { provider: 'b', model: 'deepseek-v4-flash', state: 'closed' },
    { provider: 'kimi', model: 'k2', state: 'half_open' },
    { provider: 'a', model: 'gpt-5.4-mini', state: 'open' }, // the same breaker listed twice (two chains share it)
  ]);
  return m;
}

function promtool(text: string): { status: number | null; out: string } {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
  if (r.error) throw new Error(`${PROMTOOL} could not run (${r.error.message}); install it with: apt-get install prometheus`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The sample lines of one metric name (exactly; _bucket/_sum/_count are names of their own). */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('Prometheus exposition', () => {
  it('passes promtool check metrics (parser and linter) with real fallovers, skips, tiers and breaker states', () => {
    const text = recorded().render();
    const r = promtool(text);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });

  it('promtool refuses what a broken escaper would write (the check can fail)', () => {
    const broken = '# HELP x_total x\n# TYPE x_total counter\nx_total{chain="a\nb"} 1\n';
    expect(promtool(broken).status).not.toBe(0);
  });

  it('counts fallovers, attempts per decision, answers per source and spend from the chain results', () => {
    const text = recorded().render();
    const main = results.main;
    expect(main.every((r) => r.provider === 'b' && r.attempts[0].decision === 'fallover')).toBe(true);
    // 3 fallovers on main (a → b); none on solo, where no provider is asked after a (the static message, nothing,
    // the cache stand in): each of those attempts is a stop.
    expect(samples(text, 'llm_fallback_fallovers_total')).toEqual(['llm_fallback_fallovers_total{chain="main"} 3']);
    expect(samples(text, 'llm_fallback_attempts_total')).toEqual([
      'llm_fallback_attempts_total{provider="a",decision="fallover"} 3',
      'llm_fallback_attempts_total{provider="b",decision="success"} 4',
      'llm_fallback_attempts_total{provider="a",decision="stop"} 3',
      'llm_fallback_attempts_total{provider="a",decision="skipped_breaker_open"} 1',
    ]);
    expect(samples(text, 'llm_fallback_answers_total')).toEqual([
      'llm_fallback_answers_total{chain="main",source="live"} 4',
      'llm_fallback_answers_total{chain="solo",source="static"} 1',
      'llm_fallback_answers_total{chain="solo",source="none"} 1',
      'llm_fallback_answers_total{chain="solo",source="cache"} 1',
    ]);
    const costB = [...main, results.skip].reduce((s, r) => s + r.cost_usd, 0);
    expect(costB).toBeGreaterThan(0);
    const costLine = samples(text, 'llm_fallback_cost_usd_total').find((l) => l.includes('provider="b"'))!;
    expect(Number(costLine.split(' ')[1])).toBeCloseTo(costB, 12);
    expect(samples(text, 'llm_fallback_requests_total')).toEqual(['llm_fallback_requests_total{endpoint="chat_completions",model="main",status="200"} 3']);
    expect(samples(text, 'llm_fallback_requests_in_flight')).toEqual(['llm_fallback_requests_in_flight 1']);
    expect(samples(text, 'llm_fallback_breaker_state')).toEqual([
      'llm_fallback_breaker_state{provider="a",model="gpt-5.4-mini"} 2',
      'llm_fallback_breaker_state{provider="b",model="deepseek-v4-flash"} 0',
      'llm_fallback_breaker_state{provider="kimi",model="k2"} 1',
    ]);
  });

  it('GenAI histograms: one client operation per attempt that reached a provider, error_type on failures, tokens by type', () => {
    const text = recorded().render();
    const count = samples(text, 'gen_ai_client_operation_duration_seconds_count');
    expect(count).toEqual([
      'gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="chat",gen_ai_provider_name="a",gen_ai_request_model="gpt-5.4-mini",error_type="overloaded"} 3',
      'gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="chat",gen_ai_provider_name="b",gen_ai_request_model="deepseek-v4-flash"} 4',
      'gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="chat",gen_ai_provider_name="a",gen_ai_request_model="gpt-5.4-mini",error_type="server"} 3',
    ]);
    // Buckets are cumulative and end with +Inf = count; the sum is the attempts' durations in seconds.
    const bLabels = 'gen_ai_operation_name="chat",gen_ai_provider_name="b",gen_ai_request_model="deepseek-v4-flash"';
    const buckets = samples(text, 'gen_ai_client_operation_duration_seconds_bucket').filter((l) => l.includes(bLabels));
    const values = buckets.map((l) => Number(l.split(' ').pop()));
    expect(values.length).toBe(15);
    expect(values.every((v, i) => i === 0 || v >= values[i - 1])).toBe(true);
    expect(buckets.at(-1)).toBe(`gen_ai_client_operation_duration_seconds_bucket{${bLabels},le="+Inf"} 4`);
    const bAttempts = [...results.main, results.skip].map((r) => r.attempts.find((a) => a.provider === 'b')!);
    const sum = Number(samples(text, 'gen_ai_client_operation_duration_seconds_sum').find((l) => l.includes(bLabels))!.split(' ')[1]);
    expect(sum).toBeCloseTo(bAttempts.reduce((s, a) => s + a.duration_ms / 1000, 0), 9);
    const out = bAttempts.reduce((s, a) => s + a.usage!.outputTokens, 0);
    expect(samples(text, 'gen_ai_client_token_usage_sum')).toContain(`gen_ai_client_token_usage_sum{${bLabels},gen_ai_token_type="output"} ${out}`);
    expect(out).toBe(4 * 7);
    // The gateway call: the chain as the requested model, the provider that answered, error_type only when none did.
    const server = samples(text, 'gen_ai_server_request_duration_seconds_count');
    expect(server).toContain('gen_ai_server_request_duration_seconds_count{gen_ai_operation_name="chat",gen_ai_request_model="main",gen_ai_provider_name="b",gen_ai_response_model="deepseek-v4-flash"} 4');
    // gen_ai.provider.name is Required: a call no provider answered now (no answer, the static message, the
    // cache) names the gateway itself, and no response model.
    expect(server).toContain('gen_ai_server_request_duration_seconds_count{gen_ai_operation_name="chat",gen_ai_request_model="solo",gen_ai_provider_name="llm_fallback",error_type="server"} 1');
    expect(server).toContain('gen_ai_server_request_duration_seconds_count{gen_ai_operation_name="chat",gen_ai_request_model="solo",gen_ai_provider_name="llm_fallback"} 2');
    expect(server.length).toBe(3);
    expect(samples(text, 'gen_ai_server_time_to_first_token_seconds_count')).toEqual([
      'gen_ai_server_time_to_first_token_seconds_count{gen_ai_operation_name="chat",gen_ai_request_model="main",gen_ai_provider_name="b",gen_ai_response_model="deepseek-v4-flash"} 4',
    ]);
  });

  // The ExplicitBucketBoundaries each GenAI metric SHOULD have, copied from open-telemetry/semantic-conventions-genai
  // docs/gen-ai/gen-ai-metrics.md at 004902b8cb70aa5ae6ca4ae07132b7daabcd3e10 (the same lists as
  // open-telemetry/semantic-conventions docs/gen-ai/gen-ai-metrics.md before the move, c9e48b1d1^).
  it('GenAI histograms have the bucket bounds the conventions give each metric', () => {
    const doubling = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    const spec: Record<string, number[]> = {
      gen_ai_client_operation_duration_seconds: doubling,
      gen_ai_client_operation_time_to_first_chunk_seconds: doubling,
      gen_ai_client_token_usage: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
      gen_ai_server_request_duration_seconds: doubling,
      gen_ai_server_time_to_first_token_seconds: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0],
    };
    const text = recorded().render();
    for (const [name, bounds] of Object.entries(spec)) {
      const first = samples(text, `${name}_bucket`)[0];
      expect(first, name).toBeDefined();
      const labels = first.slice(first.indexOf('{') + 1, first.indexOf(',le="'));
      const les = samples(text, `${name}_bucket`)
        .filter((l) => l.startsWith(`${name}_bucket{${labels},le="`))
        .map((l) => /le="([^"]+)"/.exec(l)![1]);
      expect(les, name).toEqual([...bounds.map(String), '+Inf']);
    }
  });

  it('escapes backslash, double quote and line feed in label values; promtool reads them back', () => {
    const m = new GatewayMetrics();
    const model = 'we\\ird "model"\nname';
    m.requestFinished({ endpoint: 'chat_completions', model, status: 404, durationMs: 3, stream: false });
    const text = m.render();
    expect(samples(text, 'llm_fallback_requests_total')).toEqual(['llm_fallback_requests_total{endpoint="chat_completions",model="we\\\\ird \\"model\\"\\nname",status="404"} 1']);
    expect(promtool(text).status).toBe(0);
  });

  it('a model name with a lone UTF-16 surrogate: one series per label set as written, never two lines with the same labels', () => {
    // JSON lets a client send "x\ud800y" and "x\udc00y"; both become "x\uFFFDy" in the UTF-8 exposition.
    const m = new GatewayMetrics();
    for (const model of ['x\ud800y', 'x\udc00y', 'x\ud800y', 'ok\ud83d\ude00']) {
      m.requestStarted();
      m.requestFinished({ endpoint: 'chat_completions', model, status: 404, durationMs: 1, stream: false });
    }
    const text = m.render();
    expect(samples(text, 'llm_fallback_requests_total')).toEqual([
      'llm_fallback_requests_total{endpoint="chat_completions",model="x\ufffdy",status="404"} 3',
      'llm_fallback_requests_total{endpoint="chat_completions",model="ok\ud83d\ude00",status="404"} 1',
    ]);
    const keys = text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.slice(0, l.lastIndexOf(' ')));
    expect(keys.length).toBe(new Set(keys).size);
    expect(promtool(text).status).toBe(0);
  });

  it('bounds label cardinality: past maxSeriesPerMetric, new label sets fold into one otel_metric_overflow series', () => {
    const m = new GatewayMetrics({ maxSeriesPerMetric: 5 });
    for (let i = 0; i < 50; i++) m.requestFinished({ endpoint: 'chat_completions', model: `junk-${i}`, status: 404, durationMs: 1, stream: false });
    for (let i = 0; i < 3; i++) m.requestFinished({ endpoint: 'chat_completions', model: 'junk-0', status: 404, durationMs: 1, stream: false });
    const text = m.render();
    const lines = samples(text, 'llm_fallback_requests_total');
    expect(lines.length).toBe(6);
    expect(lines[0]).toBe('llm_fallback_requests_total{endpoint="chat_completions",model="junk-0",status="404"} 4');
    expect(lines[5]).toBe('llm_fallback_requests_total{otel_metric_overflow="true"} 45');
    expect(promtool(text).status).toBe(0);
  });

  it('refuses histogram bounds that are not increasing, with the option named', () => {
    expect(() => new GatewayMetrics({ ttftBucketsS: [0.5, 0.1] })).toThrow(/^ttftBucketsS: histogram bounds must be .* \(got \[0.5, 0.1\]\)/);
    expect(() => new GatewayMetrics({ latencyBucketsS: [] })).toThrow(/^latencyBucketsS:/);
  });

  it('a failing breaker source leaves the breaker samples out, never the scrape', () => {
    const m = recorded();
    m.setBreakerSource(() => {
      throw new Error('store down');
    });
    const text = m.render();
    expect(samples(text, 'llm_fallback_breaker_state')).toEqual([]);
    expect(samples(text, 'llm_fallback_fallovers_total').length).toBe(1);
  });

  it('a real Prometheus server scrapes /metrics and PromQL reads the values back', async () => {
    const m = recorded();
    m.call('ch"ain\\x\ny', results.main[0]);
    const metricsServer = await listen(createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(m.render());
    }));
    const prom = await startPrometheus((metricsServer.address() as AddressInfo).port);
    try {
      const up = await prom.waitFor('up{job="gateway"}', (v) => v === 1);
      expect(up).toBe(1);
      // Every sample line we wrote became a series of its own (none dropped as a duplicate or unparsable).
      const lines = m.render().split('\n').filter((l) => l && !l.startsWith('#')).length;
      expect(await prom.value('count({job="gateway",__name__!~"up|scrape_.*"})')).toBe(lines);
      expect(await prom.value('sum(llm_fallback_fallovers_total)')).toBe(3 + 1);
      expect(await prom.value('llm_fallback_breaker_state{provider="a"}')).toBe(2);
      expect(await prom.value('sum(gen_ai_client_token_usage_sum{gen_ai_token_type="output",gen_ai_provider_name="b"})')).toBe(5 * 7);
      const odd = await prom.query('llm_fallback_answers_total{chain=~"(?s)ch.*"}');
      expect(odd.map((s) => s.metric.chain)).toEqual(['ch"ain\\x\ny']);
      // histogram_quantile reads our buckets: the median output size lies in the (4, 16] bucket.
      const q = await prom.value('histogram_quantile(0.5, sum by (le) (gen_ai_client_token_usage_bucket{gen_ai_token_type="output"}))');
      expect(q).toBeGreaterThan(4);
      expect(q).toBeLessThanOrEqual(16);
    } finally {
      await prom.stop();
      await new Promise((r) => metricsServer.close(r));
    }
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------------
// OTLP

const require = createRequire(import.meta.url);
/** protobufjs code generated by the OpenTelemetry JS project from opentelemetry-proto (dev dependency, pinned). */
const otlpRoot = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: ProtoType } } } } };
};
interface ProtoType {
  fromObject(o: object): object;
  encode(m: object): { finish(): Uint8Array };
  decode(b: Uint8Array): object;
  toObject(m: object, o: object): Record<string, unknown>;
}
const ExportTraceServiceRequest = otlpRoot.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);
/** Walks a JSON value, rewriting the id fields (OTLP JSON: hex; protobufjs: bytes) and dropping empty arrays. */
function mapIds(v: unknown, f: (s: string) => unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => mapIds(x, f));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (Array.isArray(x) && x.length === 0) continue;
      out[k] = ID_FIELDS.has(k) && typeof x === 'string' ? f(x) : mapIds(x, f);
    }
    return out;
  }
  return v;
}

/**
 * Decodes an OTLP/HTTP JSON body with the official proto definitions: JSON → protobuf binary → back, then
 * demands the round trip equal the input. A field the proto does not have, a value of the wrong type, two
 * members of a oneof, or an id that is not hex of the right length all change the round trip.
 */
function decodeOtlp(body: string): OtlpRequest {
  const json = JSON.parse(body) as OtlpRequest;
  const asBytes = mapIds(json, (hex) => {
    if (!/^([0-9a-f]{16}|[0-9a-f]{32})$/.test(hex)) throw new Error(`id "${hex}" is not 8 or 16 bytes of lowercase hex`);
    return Buffer.from(hex, 'hex');
  });
  const binary = ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(asBytes as object)).finish();
  const back = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(binary), { longs: String, enums: Number, bytes: String });
  const backHex = mapIds(back, (b64) => Buffer.from(b64, 'base64').toString('hex'));
  expect(backHex).toEqual(mapIds(json, (s) => s));
  return json;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values: OtlpValue[] };
}
interface OtlpSpanJson {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: OtlpValue }[];
  events?: { name: string; attributes: { key: string; value: OtlpValue }[] }[];
  status?: { code: number; message?: string };
}
interface OtlpRequest {
  resourceSpans: { resource: { attributes: { key: string; value: OtlpValue }[] }; scopeSpans: { scope: { name: string }; spans: OtlpSpanJson[] }[] }[];
}

const attr = (s: { attributes: { key: string; value: OtlpValue }[] }, key: string) => s.attributes.find((a) => a.key === key)?.value;
const spansOf = (r: OtlpRequest) => r.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}
/** An OTLP/HTTP collector stub on 127.0.0.1, port 0: records each POST and answers as `answer` says. */
async function collector(answer: (req: Received, res: import('node:http').ServerResponse) => void = (_r, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}')) {
  const got: Received[] = [];
  const srv = await listen(
    createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const r = { headers: req.headers, body: Buffer.concat(parts).toString('utf8') };
        got.push(r);
        answer(r, res);
      });
    }),
  );
  afterAll(() => new Promise((r) => srv.close(r)));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v1/traces`, got, srv };
}

const KEY = 'otlp-secret-key-4f9a2c';

describe('OTLP/HTTP JSON traces', () => {
  it('one SERVER span per call and one CLIENT span per attempt, in the caller\'s trace, decoded by the official proto', async () => {
    const col = await collector();
    const warnings: string[] = [];
    const ex = new OtlpTraceExporter({ endpoint: col.url, headers: { 'x-api-key': KEY }, serviceName: 'gw-test', warn: (m) => warnings.push(m) });
    const r = results.main[0];
    const t0 = Date.now() - r.latency_ms;
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    ex.exportCall('main', r, t0, { traceparent: `00-${traceId}-${callerSpan}-01` });
    ex.exportCall('main', results.skip, t0); // no traceparent: a trace of its own
    await ex.flush();
    await ex.shutdown();
    expect(col.got.length).toBe(1);
    expect(col.got[0].headers['content-type']).toBe('application/json');
    expect(col.got[0].headers['x-api-key']).toBe(KEY);
    const req = decodeOtlp(col.got[0].body);
    expect(attr(req.resourceSpans[0].resource, 'service.name')).toEqual({ stringValue: 'gw-test' });
    const spans = spansOf(req);
    expect(spans.length).toBe(3 + 2); // call + a + b; call + b (a was skipped by its breaker)

    const [call, a, b] = spans;
    expect(call).toMatchObject({ traceId, parentSpanId: callerSpan, name: 'chat main', kind: 2 });
    expect(attr(call, 'llm_fallback.chain')).toEqual({ stringValue: 'main' });
    expect(attr(call, 'llm_fallback.source')).toEqual({ stringValue: 'live' });
    expect(attr(call, 'llm_fallback.attempts')).toEqual({ intValue: '2' });
    expect(attr(call, 'gen_ai.provider.name')).toEqual({ stringValue: 'b' });
    expect(attr(call, 'gen_ai.response.model')).toEqual({ stringValue: 'deepseek-v4-flash' });
    expect(call.status).toBeUndefined();
    for (const s of [a, b]) expect(s).toMatchObject({ traceId, parentSpanId: call.spanId, kind: 3 });
    expect(a.name).toBe('chat gpt-5.4-mini');
    expect(attr(a, 'gen_ai.provider.name')).toEqual({ stringValue: 'a' });
    expect(attr(a, 'gen_ai.request.model')).toEqual({ stringValue: 'gpt-5.4-mini' });
    expect(attr(a, 'error.type')).toEqual({ stringValue: 'overloaded' });
    expect(attr(a, 'http.response.status_code')).toEqual({ intValue: '503' });
    expect(a.status).toEqual({ code: 2, message: 'overloaded' });
    expect(attr(a, 'llm_fallback.decision')).toEqual({ stringValue: 'fallover' }); // b was asked next
    expect(attr(b, 'llm_fallback.decision')).toEqual({ stringValue: 'success' });
    expect(b.name).toBe('chat deepseek-v4-flash');
    expect(attr(b, 'error.type')).toBeUndefined();
    expect(attr(b, 'gen_ai.usage.input_tokens')).toEqual({ intValue: String(r.usage!.inputTokens) });
    expect(attr(b, 'gen_ai.usage.output_tokens')).toEqual({ intValue: '7' });
    // Times: nanoseconds since the epoch, attempt offsets from the call start.
    // A double holds epoch ms to ~0.25 µs, so offsets are checked to 1 µs; the strings themselves are exact integers.
    const ns = (x: string) => BigInt(x);
    const near = (got: bigint, wantMs: number) => expect(Math.abs(Number(got) - wantMs * 1e6)).toBeLessThanOrEqual(1000);
    near(ns(call.startTimeUnixNano), t0);
    near(ns(call.endTimeUnixNano) - ns(call.startTimeUnixNano), r.latency_ms);
    const attemptB = r.attempts[1];
    near(ns(b.startTimeUnixNano) - ns(call.startTimeUnixNano), attemptB.start_ms);
    near(ns(b.endTimeUnixNano) - ns(b.startTimeUnixNano), attemptB.duration_ms);
    expect(ns(a.endTimeUnixNano) <= ns(b.startTimeUnixNano)).toBe(true);

    const [call2, b2] = spans.slice(3);
    expect(call2.traceId).not.toBe(traceId);
    expect(call2.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(call2.parentSpanId).toBeUndefined();
    expect(b2.parentSpanId).toBe(call2.spanId);
    expect(call2.events?.map((e) => [e.name, attr(e, 'llm_fallback.provider'), attr(e, 'llm_fallback.decision')])).toEqual([
      ['llm_fallback.attempt_skipped', { stringValue: 'a' }, { stringValue: 'skipped_breaker_open' }],
    ]);
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(5);
    expect(ex.stats).toEqual({ exported: 5, dropped: 0 });
    expect(warnings).toEqual([]);
  });

  // The Recommended attributes of gen_ai.inference.client (open-telemetry/semantic-conventions-genai
  // model/gen-ai/spans.yaml): server.address / server.port, gen_ai.response.id / .model, the request's
  // max_tokens and temperature; and whether llm_fallback.cost_usd is an estimate.
  it('attempt spans name the server and the provider\'s response id and model; the call span carries the client\'s max_tokens and temperature, the attempts only what they sent', async () => {
    const col = await collector();
    const ex = new OtlpTraceExporter({ endpoint: col.url, warn: () => undefined });
    const r = results.main[0];
    const [attemptA, attemptB] = r.attempts;
    // The chain recorded what the emulator's answer said (the parsing itself is checked against real recordings in wire-replay).
    expect(attemptB.response_id).toMatch(/^chatcmpl-/);
    expect(attemptB.response_model).toBe('deepseek-v4-flash');
    expect(attemptA.response_id).toBeUndefined(); // a 503 carries no completion
    ex.exportCall('main', r, Date.now(), { maxTokens: 64, temperature: 0.2, sampling: { topP: 0.5, topK: 40, seed: 3, presencePenalty: -0.5, frequencyPenalty: 1 } });
    ex.exportCall('main', r, Date.now()); // the client set neither
    await ex.shutdown();
    const [call, a, b, call2, a2, b2] = spansOf(decodeOtlp(col.got[0].body));
    for (const [s, name] of [[a, 'a'], [b, 'b']] as const) {
      const base = new URL(server.baseUrl(name));
      expect(attr(s, 'server.address')).toEqual({ stringValue: '127.0.0.1' });
      expect(attr(s, 'server.port')).toEqual({ intValue: base.port });
    }
    expect(attr(b, 'gen_ai.response.id')).toEqual({ stringValue: attemptB.response_id });
    expect(attr(b, 'gen_ai.response.model')).toEqual({ stringValue: 'deepseek-v4-flash' });
    expect(attr(a, 'gen_ai.response.id')).toBeUndefined();
    expect(attr(a, 'gen_ai.response.model')).toBeUndefined();
    const sampling = ['gen_ai.request.top_p', 'gen_ai.request.top_k', 'gen_ai.request.seed', 'gen_ai.request.presence_penalty', 'gen_ai.request.frequency_penalty'];
    expect(attr(call, 'gen_ai.request.max_tokens')).toEqual({ intValue: '64' });
    expect(attr(call, 'gen_ai.request.temperature')).toEqual({ doubleValue: 0.2 });
    // the registry's types: top_k a double, seed an int
    expect(sampling.map((k) => attr(call, k))).toEqual([{ doubleValue: 0.5 }, { doubleValue: 40 }, { intValue: '3' }, { doubleValue: -0.5 }, { doubleValue: 1 }]);
    // These attempts went out with none of those set (the chain ran without them): the client's values given
    // to the exporter are not copied onto them (what each sent is checked against the wire below).
    for (const s of [a, b, call2, a2, b2]) {
      expect(attr(s, 'gen_ai.request.max_tokens')).toBeUndefined();
      expect(attr(s, 'gen_ai.request.temperature')).toBeUndefined();
      for (const k of sampling) expect(attr(s, k)).toBeUndefined();
    }
    // The emulator reported usage: no cost is an estimate.
    for (const s of [call, a, b]) expect(attr(s, 'llm_fallback.cost_estimated')).toEqual({ boolValue: false });
  });

  // gen_ai.request.* are the parameters of the request the span describes (the GenAI registry: "the maximum
  // number of tokens the model generates for a request"): an attempt's are what went to that provider, read
  // here from the request bodies a recording forwarder in front of the emulator saw on the wire.
  it('each attempt span carries the settings its own request sent: the provider\'s max_output_tokens and params defaults, Anthropic\'s thinking budget in max_tokens', async () => {
    const bodies: Record<string, Record<string, unknown>> = {};
    const emulated = new URL(server.baseUrl('a')).origin;
    const forwarder = await listen(
      createServer((req, res) => {
        const parts: Buffer[] = [];
        req.on('data', (d: Buffer) => parts.push(d));
        req.on('end', async () => {
          const body = Buffer.concat(parts).toString('utf8');
          bodies[(req.url ?? '').split('/')[1]] = JSON.parse(body) as Record<string, unknown>;
          const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length' && k !== 'connection')) as Record<string, string>;
          const up = await fetch(emulated + (req.url ?? ''), { method: 'POST', headers, body });
          res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' });
          res.end(Buffer.from(await up.arrayBuffer()));
        });
      }),
    );
    afterAll(() => new Promise((r) => forwarder.close(r)));
    const via = (name: string) => `http://127.0.0.1:${(forwarder.address() as AddressInfo).port}/${name}/v1`;
    const timeouts = {};
    const chain = new FallbackChain(
      providers(['a', 'an']).map((p) =>
        p.name === 'a'
          ? // an OpenAI-dialect provider with its own answer size and sampling defaults, overloaded: it fails after sending
            { ...p, adapter: createAdapter({ name: 'a', api: 'openai', baseUrl: via('a'), model: p.model, headers: { 'x-mock-fault': JSON.stringify({ kind: 'overloaded' }) }, params: { temperature: 0.3, top_p: 0.9 }, maxOutputTokens: 300, timeouts }) }
          : { ...p, adapter: createAdapter({ name: 'an', api: 'anthropic', baseUrl: via('an'), model: p.model, headers: {}, params: {}, timeouts }) },
      ),
      chainOpts,
    );
    // The client sets no max_tokens and no temperature; it asks for a thinking budget.
    const r = await chain.run({ ...q, reasoning: { budgetTokens: 2048 } });
    expect(r.attempts.map((x) => [x.provider, x.decision])).toEqual([['a', 'fallover'], ['an', 'success']]);
    expect(bodies.a).toMatchObject({ max_tokens: 300, temperature: 0.3, top_p: 0.9 });
    expect(bodies.an.thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
    expect(bodies.an.max_tokens).toBeGreaterThan(2048); // the budget plus room for the answer: Anthropic counts both in max_tokens
    expect(r.attempts.map((x) => x.request)).toEqual([{ max_tokens: 300, temperature: 0.3, top_p: 0.9 }, { max_tokens: bodies.an.max_tokens }]);

    const col = await collector();
    const ex = new OtlpTraceExporter({ endpoint: col.url, warn: () => undefined });
    ex.exportCall('main', r, Date.now(), {});
    await ex.shutdown();
    const [call, a, an] = spansOf(decodeOtlp(col.got[0].body));
    const settings = (s: typeof call) => ['gen_ai.request.max_tokens', 'gen_ai.request.temperature', 'gen_ai.request.top_p'].map((k) => attr(s, k));
    expect(settings(call)).toEqual([undefined, undefined, undefined]); // the client set none of them
    expect(settings(a)).toEqual([{ intValue: '300' }, { doubleValue: 0.3 }, { doubleValue: 0.9 }]);
    expect(settings(an)).toEqual([{ intValue: String(bodies.an.max_tokens) }, undefined, undefined]);
  });

  it('llm_fallback.cost_estimated says when the cost is an estimate: the answer\'s, or a failed attempt\'s inside the call\'s sum', async () => {
    const col = await collector();
    const ex = new OtlpTraceExporter({ endpoint: col.url, warn: () => undefined });
    const answerEstimated = structuredClone(results.main[0]);
    answerEstimated.attempts[1].cost_estimated = true; // as when the server reports no usage (chain.ts attemptCost)
    answerEstimated.cost_estimated = true;
    const failedEstimated = structuredClone(results.main[0]);
    failedEstimated.attempts[0].cost_estimated = true; // a failed attempt that streamed text but no usage
    ex.exportCall('main', answerEstimated, Date.now());
    ex.exportCall('main', failedEstimated, Date.now());
    await ex.shutdown();
    const [call, a, b, call2, a2, b2] = spansOf(decodeOtlp(col.got[0].body));
    expect([call, a, b].map((s) => attr(s, 'llm_fallback.cost_estimated')?.boolValue)).toEqual([true, false, true]);
    expect([call2, a2, b2].map((s) => attr(s, 'llm_fallback.cost_estimated')?.boolValue)).toEqual([true, true, false]);
  });

  it('server.address is the base URL\'s host alone: no userinfo (a key put there), no path; IPv6 without brackets; the scheme\'s port by default', async () => {
    expect(serverAddress(`https://user:${KEY}@api.example.com:8443/v1`)).toEqual({ address: 'api.example.com', port: 8443 });
    expect(serverAddress('https://api.example.com/v1')).toEqual({ address: 'api.example.com', port: 443 });
    expect(serverAddress('http://[::1]/v1')).toEqual({ address: '::1', port: 80 });
    const col = await collector();
    const ex = new OtlpTraceExporter({ endpoint: col.url, warn: () => undefined });
    const r = structuredClone(results.main[0]);
    for (const a of r.attempts) a.server = serverAddress(`https://${KEY}:${KEY}@gateway.example:8443/${KEY}/v1`);
    ex.exportCall('main', r, Date.now());
    await ex.shutdown();
    expect(col.got[0].body).not.toContain(KEY);
    const [, a] = spansOf(decodeOtlp(col.got[0].body));
    expect(attr(a, 'server.address')).toEqual({ stringValue: 'gateway.example' });
  });

  it('a call with no answer: error.type and an error status on the call span; it and a cached answer name the gateway as provider', async () => {
    const col = await collector();
    const ex = new OtlpTraceExporter({ endpoint: col.url });
    ex.exportCall('solo', results.none, Date.now());
    ex.exportCall('solo', results.cached, Date.now());
    await ex.shutdown(); // shutdown alone sends what is queued
    const [call, a, cachedCall] = spansOf(decodeOtlp(col.got[0].body));
    expect(attr(cachedCall, 'llm_fallback.source')).toEqual({ stringValue: 'cache' });
    // gen_ai.provider.name is Required; no provider answered these calls now, the gateway did.
    expect(attr(cachedCall, 'gen_ai.provider.name')).toEqual({ stringValue: 'llm_fallback' });
    expect(attr(call, 'gen_ai.provider.name')).toEqual({ stringValue: 'llm_fallback' });
    expect(attr(cachedCall, 'gen_ai.response.model')).toBeUndefined();
    expect(cachedCall.status).toBeUndefined();
    expect(attr(call, 'error.type')).toEqual({ stringValue: 'server' });
    expect(call.status).toEqual({ code: 2, message: 'server' });
    expect(attr(call, 'llm_fallback.source')).toEqual({ stringValue: 'none' });
    expect(attr(a, 'error.type')).toEqual({ stringValue: 'server' });
    // Nothing was asked after a: its decision says the chain stopped there, not that it fell over to someone.
    expect(attr(a, 'llm_fallback.decision')).toEqual({ stringValue: 'stop' });
  });

  it('honours the caller\'s sampling decision and starts a new trace for an invalid traceparent', async () => {
    const col = await collector();
    const ex = new OtlpTraceExporter({ endpoint: col.url });
    const r = results.main[1];
    ex.exportCall('main', r, Date.now(), { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' }); // not sampled
    ex.exportCall('main', r, Date.now(), { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }); // invalid trace id
    ex.exportCall('main', r, Date.now(), { traceparent: '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01' }); // uppercase: invalid
    await ex.shutdown();
    const spans = spansOf(decodeOtlp(col.got[0].body));
    expect(spans.length).toBe(6);
    const calls = spans.filter((s) => s.kind === 2);
    expect(calls.map((s) => s.parentSpanId)).toEqual([undefined, undefined]);
    expect(calls.every((s) => s.traceId !== '4bf92f3577b34da6a3ce929d0e0e4736' && /^[0-9a-f]{32}$/.test(s.traceId) && s.traceId !== '0'.repeat(32))).toBe(true);
  });

  // The traceparent cases of the W3C Trace Context test suite (w3c/trace-context test/test.py at
  // acab820be9db7b3433668baa5cdd43f57f4c4be0): which headers join the caller's trace, which start a new one.
  it('reads traceparent as the W3C Trace Context test suite expects', () => {
    const T = '12345678901234567890123456789012';
    const P = '1234567890123456';
    const joins = [`00-${T}-${P}-01`, `cc-${T}-${P}-01`, `cc-${T}-${P}-01-what-the-future-will-be-like`, ` 00-${T}-${P}-01`, `\t00-${T}-${P}-01`, `00-${T}-${P}-01 `, `00-${T}-${P}-01\t`, `\t 00-${T}-${P}-01 \t`];
    const restarts = [
      `00-${T}-${P}-01.`, `00-${T}-${P}-01-what-the-future-will-be-like`, `cc-${T}-${P}-01.what-the-future-will-be-like`, `ff-${T}-${P}-01`,
      `.0-${T}-${P}-01`, `0.-${T}-${P}-01`, `000-${T}-${P}-01`, `0000-${T}-${P}-01`, `0-${T}-${P}-01`,
      `00-${'0'.repeat(32)}-${P}-01`, `00-.2345678901234567890123456789012-${P}-01`, `00-1234567890123456789012345678901.-${P}-01`, `00-${T}3-${P}-01`, `00-${T.slice(1)}-${P}-01`,
      `00-${T}-0000000000000000-01`, `00-${T}-.234567890123456-01`, `00-${T}-123456789012345.-01`, `00-${T}-${P}7-01`, `00-${T}-${P.slice(1)}-01`,
      `00-${T}-${P}-.0`, `00-${T}-${P}-0.`, `00-${T}-${P}-001`, `00-${T}-${P}-1`,
      `00-${T}-${P}-01, 00-${T.replace('1', '2')}-${P}-01`, // two traceparent headers, as node:http joins them
      `00-ABCDEF78901234567890123456789012-${P}-01`, // uppercase hex is not HEXDIGLC
    ];
    for (const h of joins) expect(parseTraceparent(h), JSON.stringify(h)).toEqual({ traceId: T, parentSpanId: P, sampled: true });
    for (const h of restarts) expect(parseTraceparent(h), JSON.stringify(h)).toBeNull();
    // trace-flags is a bit field: 03 is sampled (and random), 02 is not sampled.
    expect(parseTraceparent(`00-${T}-${P}-03`)?.sampled).toBe(true);
    expect(parseTraceparent(`00-${T}-${P}-02`)?.sampled).toBe(false);
  });

  // The tracestate cases of the same suite (test/test.py, TraceContextTest.test_tracestate_*): what is
  // inherited, what discards the whole header. node:http joins several tracestate fields with ", ".
  it('reads tracestate as the W3C Trace Context test suite expects', () => {
    const keyChars = 'abcdefghijklmnopqrstuvwxyz0123456789_-*/';
    let value = '';
    for (let c = 0x20; c <= 0x7e; c++) if (c !== 0x2c && c !== 0x3d) value += String.fromCharCode(c);
    const kept: [string, string][] = [
      ['foo=1,bar=2', 'foo=1,bar=2'],
      ['foo=1,bar=2, rojo=1,congo=2, baz=3', 'foo=1,bar=2,rojo=1,congo=2,baz=3'], // several fields, in order
      ['foo=1 \t , \t bar=2, \t baz=3', 'foo=1,bar=2,baz=3'],
      ['foo=1\t \t,\t \tbar=2,\t \tbaz=3', 'foo=1,bar=2,baz=3'],
      [' foo=1', 'foo=1'], ['\tfoo=1', 'foo=1'], ['foo=1 ', 'foo=1'], ['foo=1\t', 'foo=1'], ['\t foo=1 \t', 'foo=1'],
      ['foo=1, ', 'foo=1'], [', foo=1', 'foo=1'], // an empty field joined to a real one
      ['foo=1,foo=1', 'foo=1'], ['foo=1,foo=2', 'foo=1'], // a duplicated key: the suite accepts keeping one
      ['foo@=1,bar=2', 'foo@=1,bar=2'], ['foo@@bar=1,bar=2', 'foo@@bar=1,bar=2'], ['foo@bar@baz=1,bar=2', 'foo@bar@baz=1,bar=2'],
      [`foo=1, ${'z'.repeat(256)}=1`, `foo=1,${'z'.repeat(256)}=1`],
      [`foo=1, ${'t'.repeat(241)}@${'v'.repeat(14)}=1`, `foo=1,${'t'.repeat(241)}@${'v'.repeat(14)}=1`],
      [`${keyChars}=${value}`, `${keyChars}=${value}`], // every allowed character
      [`${keyChars}@a-z0-9_-*/=${value}`, `${keyChars}@a-z0-9_-*/=${value}`],
      ['foo= bar', 'foo= bar'], // leading spaces are part of the value
    ];
    const members = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `bar${String(from + i).padStart(2, '0')}=${String(from + i).padStart(2, '0')}`).join(',');
    kept.push([`${members(1, 10)}, ${members(11, 20)}, ${members(21, 30)}, ${members(31, 32)}`, members(1, 32)]);
    const discarded = [
      '', ' ', 'foo =1', 'FOO=1', 'foo.bar=1', '@foo=1,bar=2', 'foo=bar=baz', 'foo=,bar=3',
      `foo=1, ${'z'.repeat(257)}=1`,
      `${members(1, 10)}, ${members(11, 20)}, ${members(21, 30)}, ${members(31, 33)}`, // 33 members
      `foo=${'v'.repeat(257)}`, 'foo=a\u00e9', 'foo=a\nb',
    ];
    for (const [h, want] of kept) expect(parseTracestate(h), JSON.stringify(h)).toBe(want);
    for (const h of discarded) expect(parseTracestate(h), JSON.stringify(h)).toBeUndefined();
  });

  it('carries the caller\'s tracestate onto every span of the call, only beside a valid traceparent', async () => {
    const col = await collector();
    const ex = new OtlpTraceExporter({ endpoint: col.url, warn: () => undefined });
    const r = results.main[0];
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    ex.exportCall('main', r, Date.now(), { traceparent, tracestate: 'rojo=00f067aa0ba902b7, congo=t61rcWkgMzE' });
    ex.exportCall('main', r, Date.now(), { traceparent, tracestate: 'rojo=00f067aa0ba902b7,FOO=1' }); // invalid: dropped whole
    ex.exportCall('main', r, Date.now(), { traceparent: traceparent.toUpperCase(), tracestate: 'rojo=00f067aa0ba902b7' }); // invalid parent: new trace, no state
    ex.exportCall('main', r, Date.now(), { tracestate: 'rojo=00f067aa0ba902b7' }); // no parent
    await ex.shutdown();
    const spans = spansOf(decodeOtlp(col.got[0].body)); // the official proto reads traceState back unchanged
    expect(spans.length).toBe(12);
    expect(spans.map((s) => (s as { traceState?: string }).traceState)).toEqual([...Array(3).fill('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'), ...Array(9).fill(undefined)]);
  });

  it('batches: maxBatch spans per request', async () => {
    const col = await collector();
    const ex = new OtlpTraceExporter({ endpoint: col.url, maxBatch: 4 });
    for (let i = 0; i < 5; i++) ex.exportCall('main', results.main[0], Date.now()); // 15 spans
    await ex.shutdown();
    // The second call fills a batch and starts the export; the other calls queue behind it.
    expect(col.got.map((g) => spansOf(decodeOtlp(g.body)).length)).toEqual([4, 4, 4, 3]);
    expect(ex.stats).toEqual({ exported: 15, dropped: 0 });
  });
});

describe('OTLP timestamps', () => {
  it('epoch ms to nanoseconds as exact decimal strings (a double cannot hold them)', () => {
    expect(unixNano(1795996054821.5)).toBe('1795996054821500000');
    expect(unixNano(1795996054821.25)).toBe('1795996054821250000');
    expect(unixNano(1796000000000)).toBe('1796000000000000000');
    expect(unixNano(1795999999999.9999999)).toBe('1796000000000000000'); // rounds up across the ms
    expect(unixNano(0.5)).toBe('500000');
  });
});

describe('OTLP when the collector is down, slow or refusing', () => {
  it('collector down: the call path is unaffected, spans are dropped and counted, one warning without the key', async () => {
    const url = (await refusedUrl()).replace(/\/v1$/, '/v1/traces');
    const warnings: string[] = [];
    const ex = new OtlpTraceExporter({ endpoint: url, headers: { authorization: `Bearer ${KEY}` }, retryBaseMs: 5, warn: (m) => warnings.push(m) });
    for (let i = 0; i < 4; i++) ex.exportCall('main', results.main[i % 3], Date.now());
    await ex.flush();
    ex.exportCall('main', results.main[0], Date.now());
    await ex.shutdown();
    expect(ex.stats).toEqual({ exported: 0, dropped: 15 });
    const m = new GatewayMetrics();
    m.setSpanExportSource(() => ex.stats);
    const text = m.render();
    expect(samples(text, 'llm_fallback_otlp_spans_dropped_total')).toEqual(['llm_fallback_otlp_spans_dropped_total 15']);
    expect(samples(text, 'llm_fallback_otlp_spans_exported_total')).toEqual(['llm_fallback_otlp_spans_exported_total 0']);
    expect(promtool(text).status).toBe(0);
    expect(warnings.length).toBe(2); // the first drop, then the rest summed at shutdown
    // A refused connection is retried (3 retries by default), then the batch is dropped.
    expect(warnings[0]).toMatch(/^llm-fallback: OTLP traces to http:\/\/127\.0\.0\.1:\d+\/v1\/traces: dropped 12 span\(s\): the collector could not be reached \(ECONNREFUSED, 4 tries\)/);
    expect(warnings[1]).toMatch(/dropped 3 span\(s\) \(15 dropped in all\)$/);
    for (const w of warnings) expect(w).not.toContain(KEY);
  });

  // opentelemetry-proto docs/specification.md, "OTLP/HTTP Connection" and "All Other Responses": a client that
  // cannot connect, or whose request the server drops without an answer, SHOULD retry with a jittered
  // exponential backoff; opentelemetry-specification protocol/exporter.md calls these transient errors.
  it('retries a batch when the collector refuses the connection, then delivers it once the collector is up', async () => {
    const url = new URL((await refusedUrl()).replace(/\/v1$/, '/v1/traces'));
    const got: string[] = [];
    const late = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', () => {
        got.push(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    afterAll(() => new Promise((r) => late.close(r)));
    const warnings: string[] = [];
    const ex = new OtlpTraceExporter({ endpoint: url.href, retries: 5, retryBaseMs: 300, warn: (m) => warnings.push(m) });
    ex.exportCall('main', results.main[0], Date.now());
    const flushed = ex.flush(); // the first try is refused at once
    await new Promise((r) => setTimeout(r, 100));
    await new Promise<void>((r) => late.listen(Number(url.port), '127.0.0.1', () => r()));
    await flushed;
    expect(ex.stats).toEqual({ exported: 3, dropped: 0 });
    expect(got.length).toBe(1);
    expect(spansOf(decodeOtlp(got[0])).length).toBe(3);
    expect(warnings).toEqual([]);
    await ex.shutdown();
  });

  it('retries a batch the collector dropped the connection on without an answer, the same batch each time', async () => {
    let n = 0;
    const col = await collector((_r, res) => {
      if (++n <= 2) res.socket?.destroy(); // no answer: the connection just closes
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    const ex = new OtlpTraceExporter({ endpoint: col.url, retries: 3, retryBaseMs: 10, warn: () => undefined });
    ex.exportCall('main', results.main[0], Date.now());
    await ex.flush();
    expect(ex.stats).toEqual({ exported: 3, dropped: 0 });
    expect(col.got.length).toBe(3);
    expect(new Set(col.got.map((g) => g.body)).size).toBe(1);
    await ex.shutdown();
  });

  it('while a batch waits to be retried, calls still queue without waiting, within maxQueue, in batches of maxBatch', async () => {
    let n = 0;
    const col = await collector((_r, res) => {
      if (++n === 1) res.socket?.destroy();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    const ex = new OtlpTraceExporter({ endpoint: col.url, maxBatch: 3, maxQueue: 6, retries: 2, retryBaseMs: 200, warn: () => undefined });
    ex.exportCall('main', results.main[0], Date.now()); // a full batch: sent at once, its connection dropped
    while (col.got.length === 0) await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 3; i++) ex.exportCall('main', results.main[0], Date.now()); // 2 fit the queue, the third is dropped
    expect(ex.stats).toEqual({ exported: 0, dropped: 3 });
    await ex.flush();
    expect(ex.stats).toEqual({ exported: 9, dropped: 3 });
    expect(col.got[1].body).toBe(col.got[0].body); // the dropped connection's batch, sent again
    expect(col.got.slice(1).map((g) => spansOf(decodeOtlp(g.body)).length)).toEqual([3, 3, 3]);
    await ex.shutdown();
  });

  it('collector slow: exportCall never waits, a full queue drops whole calls, the export times out and is counted', async () => {
    const held: import('node:http').ServerResponse[] = [];
    const col = await collector((_r, res) => held.push(res)); // never answers
    const warnings: string[] = [];
    const ex = new OtlpTraceExporter({ endpoint: col.url, maxBatch: 3, maxQueue: 6, timeoutMs: 300, warn: (m) => warnings.push(m) });
    const r = results.main[0]; // 3 spans a call
    const t = performance.now();
    for (let i = 0; i < 10; i++) ex.exportCall('main', r, Date.now());
    const syncMs = performance.now() - t;
    // The first batch went out at once (queue hit maxBatch); the queue then holds 2 calls; 7 calls' spans are dropped.
    expect(ex.stats.dropped).toBe(7 * 3);
    expect(syncMs).toBeLessThan(250); // ten calls' span building, no waiting on the collector (bound is generous for a loaded machine)
    await ex.flush();
    expect(ex.stats.exported).toBe(0);
    expect(ex.stats.dropped).toBe(10 * 3);
    expect(col.got.length).toBe(3);
    // The first drop warns at once; later ones are summed until a minute has passed or the exporter shuts down.
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toMatch(/dropped 3 span\(s\): the queue is full \(6 spans\): the collector is slower than the traffic \(3 dropped in all\)$/);
    await ex.shutdown();
    expect(warnings.length).toBe(2);
    expect(warnings[1]).toMatch(/dropped 27 span\(s\) \(30 dropped in all\)$/);
    for (const res of held) res.destroy();
  });

  it('a collector that refuses (HTTP 400) or rejects part of a batch: counted as dropped, not retried', async () => {
    let n = 0;
    const col = await collector((_r, res) => {
      n++;
      if (n === 1) res.writeHead(400).end('bad data');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ partialSuccess: { rejectedSpans: '1', errorMessage: 'bad span' } }));
    });
    const warnings: string[] = [];
    const ex = new OtlpTraceExporter({ endpoint: col.url, warn: (m) => warnings.push(m) });
    ex.exportCall('main', results.main[0], Date.now());
    await ex.flush();
    ex.exportCall('main', results.main[0], Date.now());
    await ex.shutdown();
    expect(ex.stats).toEqual({ exported: 2, dropped: 4 });
    expect(col.got.length).toBe(2); // the spec: a 400 and a partial success MUST NOT be retried
    expect(warnings[0]).toMatch(/dropped 3 span\(s\): the collector answered HTTP 400 \(3 dropped in all\)$/);
  });

  // opentelemetry-proto docs/specification.md, "Retryable Response Codes" and "OTLP/HTTP Throttling": 429,
  // 502, 503 and 504 SHOULD be retried, honouring Retry-After (seconds or an HTTP date), else with an
  // exponential backoff; every other 4xx/5xx MUST NOT be.
  it('retries a batch the collector answered 429, 502, 503 or 504, after its Retry-After, and delivers it', async () => {
    const answers: [number, Record<string, string>][] = [
      [503, { 'retry-after': '1' }],
      [429, { 'retry-after': new Date(Date.now() + 3000).toUTCString() }],
      [502, {}],
      [504, {}],
    ];
    const at: number[] = [];
    const col = await collector((_r, res) => {
      at.push(performance.now());
      const a = answers.shift();
      if (a) res.writeHead(a[0], a[1]).end('{"message":"busy"}');
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    const ex = new OtlpTraceExporter({ endpoint: col.url, retries: 4, retryBaseMs: 20, warn: () => undefined });
    ex.exportCall('main', results.main[0], Date.now());
    await ex.flush();
    expect(ex.stats).toEqual({ exported: 3, dropped: 0 });
    expect(col.got.length).toBe(5);
    expect(new Set(col.got.map((g) => g.body)).size).toBe(1); // the same batch each time
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(900); // Retry-After: 1 (seconds) was waited
    expect(at[2] - at[1]).toBeGreaterThanOrEqual(900); // Retry-After as an HTTP date (whole seconds) 1-2 s ahead
    await ex.shutdown();
  });

  it('gives up after its retries, at once on a Retry-After past its limit, and never retries a 500', async () => {
    for (const [status, headers, requests, why] of [
      [503, {}, 3, /the collector answered HTTP 503 \(3 tries\) \(3 dropped in all\)$/],
      [429, { 'retry-after': '3600' }, 1, /the collector answered HTTP 429 and asked to wait 3600 s, longer than 30 s \(3 dropped in all\)$/],
      [500, {}, 1, /the collector answered HTTP 500 \(3 dropped in all\)$/],
    ] as const) {
      const col = await collector((_r, res) => res.writeHead(status, headers).end());
      const warnings: string[] = [];
      const ex = new OtlpTraceExporter({ endpoint: col.url, retries: 2, retryBaseMs: 10, warn: (m) => warnings.push(m) });
      ex.exportCall('main', results.main[0], Date.now());
      await ex.flush();
      expect(ex.stats).toEqual({ exported: 0, dropped: 3 });
      expect(col.got.length).toBe(requests);
      expect(warnings[0]).toMatch(why);
      await ex.shutdown();
    }
  });

  it('shutdown cuts a wait between retries short: the batch is dropped and counted, shutdown does not wait 30 s', async () => {
    const col = await collector((_r, res) => res.writeHead(503, { 'retry-after': '30' }).end());
    const warnings: string[] = [];
    const ex = new OtlpTraceExporter({ endpoint: col.url, warn: (m) => warnings.push(m) });
    ex.exportCall('main', results.main[0], Date.now());
    const flushed = ex.flush();
    while (col.got.length === 0) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50)); // the 503 has arrived; the exporter now waits to retry
    await ex.shutdown();
    await flushed;
    expect(ex.stats).toEqual({ exported: 0, dropped: 3 });
    expect(col.got.length).toBe(1);
    expect(warnings.join('\n')).toMatch(/dropped 3 span\(s\)/);
  });

  it('reads at most 4 MiB of the collector\'s answer: a longer one is an error and the batch is dropped (the spec\'s MUST)', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 0x20);
    const col = await collector((_r, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(big));
    const warnings: string[] = [];
    const ex = new OtlpTraceExporter({ endpoint: col.url, warn: (m) => warnings.push(m) });
    ex.exportCall('main', results.main[0], Date.now());
    await ex.flush();
    expect(ex.stats).toEqual({ exported: 0, dropped: 3 });
    expect(warnings[0]).toMatch(/dropped 3 span\(s\): the collector's answer \(HTTP 200\) was longer than 4194304 bytes/);
    await ex.shutdown();
  });

  it('a token count past 2^53 from a provider is left out of the span, not written as an int64 the collector refuses', async () => {
    const col = await collector();
    const ex = new OtlpTraceExporter({ endpoint: col.url, warn: () => undefined });
    const r = structuredClone(results.main[0]);
    const b = r.attempts[1];
    b.usage = { ...b.usage!, outputTokens: 1e21 };
    r.usage = b.usage;
    ex.exportCall('main', r, Date.now());
    await ex.flush();
    await ex.shutdown();
    // The official proto must read the batch back unchanged (an intValue "1e+21" is no int64).
    const spans = spansOf(decodeOtlp(col.got[0].body));
    const [call, , attempt] = spans;
    expect(attr(attempt, 'gen_ai.usage.output_tokens')).toBeUndefined();
    expect(attr(attempt, 'gen_ai.usage.input_tokens')).toEqual({ intValue: String(b.usage.inputTokens) });
    expect(attr(call, 'gen_ai.usage.output_tokens')).toBeUndefined();
    for (const s of spans) for (const a of s.attributes) if (a.value.intValue !== undefined) expect(a.value.intValue).toMatch(/^-?\d+$/);
  });

  it('a model name with a lone UTF-16 surrogate goes out as U+FFFD, which a protobuf string can hold', async () => {
    const col = await collector();
    const ex = new OtlpTraceExporter({ endpoint: col.url, warn: () => undefined });
    const r = structuredClone(results.main[0]);
    r.attempts[1].model = 'm\ud800x'; // as "provider/model" lets a client name it
    r.model = r.attempts[1].model;
    ex.exportCall('b/m\ud800x', r, Date.now());
    await ex.flush();
    await ex.shutdown();
    expect(col.got[0].body).not.toMatch(/\\ud[89a-f]/i);
    const [call, , attempt] = spansOf(decodeOtlp(col.got[0].body)); // the official proto reads it back unchanged
    expect(call.name).toBe('chat b/m\ufffdx');
    expect(attr(call, 'gen_ai.response.model')).toEqual({ stringValue: 'm\ufffdx' });
    expect(attr(attempt, 'gen_ai.request.model')).toEqual({ stringValue: 'm\ufffdx' });
  });

  it('a result it cannot encode costs that trace only, never an exception in the request path', async () => {
    const warnings: string[] = [];
    const ex = new OtlpTraceExporter({ endpoint: 'http://127.0.0.1:9/v1/traces', warn: (m) => warnings.push(m) });
    const broken = { ...results.main[0], attempts: null } as unknown as ChainResult;
    expect(() => ex.exportCall('main', broken, Date.now())).not.toThrow();
    expect(ex.stats.dropped).toBe(1);
    expect(warnings[0]).toMatch(/a call's spans could not be encoded \(TypeError\)/);
    await ex.shutdown();
  });

  it('refuses to send headers over plain HTTP to anything but loopback, and credentials in the URL', () => {
    expect(() => new OtlpTraceExporter({ endpoint: 'http://collector.example:4318/v1/traces', headers: { 'x-api-key': KEY } })).toThrow(
      /^OTLP endpoint http:\/\/collector\.example:4318\/v1\/traces: refusing to send its headers .* use https:\/\//,
    );
    const e = (() => {
      try {
        new OtlpTraceExporter({ endpoint: `https://user:${KEY}@collector.example/v1/traces` });
      } catch (err) {
        return err as Error & { exitCode?: number };
      }
    })();
    expect(e?.message).toBe('OTLP endpoint https://collector.example/v1/traces: put credentials in headers, not in the URL');
    expect(e?.exitCode).toBe(2);
    expect(() => new OtlpTraceExporter({ endpoint: 'not a url' })).toThrow(/^OTLP endpoint: not a URL/);
  });
});

// ---------------------------------------------------------------------------------------------------

function listen(s: Server): Promise<Server> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
}


interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A real Prometheus server on loopback scraping one target every second, with its own temporary storage. */
async function startPrometheus(targetPort: number) {
  const dir = mkdtempSync(join(tmpdir(), 'llmfb-prom-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: gateway\n    static_configs:\n      - targets: ['127.0.0.1:${targetPort}']\n`,
  );
  let log = '';
  const child: ChildProcess = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const base = `http://127.0.0.1:${port}`;
  const query = async (expr: string): Promise<PromSample[]> => {
    const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; data: { result: PromSample[] }; error?: string };
    if (body.status !== 'success') throw new Error(`PromQL ${expr}: ${body.error}`);
    return body.data.result;
  };
  const value = async (expr: string): Promise<number> => {
    const r = await query(expr);
    if (r.length !== 1) throw new Error(`PromQL ${expr}: expected one sample, got ${JSON.stringify(r)}`);
    return Number(r[0].value[1]);
  };
  return {
    query,
    value,
    /** Polls `expr` (at most 30 s) until `ok` holds for its value. */
    async waitFor(expr: string, ok: (v: number) => boolean): Promise<number> {
      const until = Date.now() + 30_000;
      let last: unknown;
      while (Date.now() < until) {
        try {
          const v = await value(expr);
          if (ok(v)) return v;
          last = v;
        } catch (e) {
          last = e;
        }
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`Prometheus: ${expr} never held (last: ${String(last)}); its log:\n${log.slice(-3000)}`);
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

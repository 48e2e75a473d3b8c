/**
 * Micro-benchmark of the gateway's telemetry on its hot path: GatewayMetrics.call(), the request
 * counters, render() at a realistic series count, and OtlpTraceExporter.exportCall(). Not shipped.
 *
 *   npm run build && node dist/serve/telemetry-bench.js
 *
 * Figures are process CPU time per operation. The chain results are synthetic, shaped like the real chain's (fallovers, retries, breaker skips,
 * hedges, cache/static/none tiers) over the shipped providers.yaml's 9 providers and 3 chains.
 */
import type { Attempt, ChainResult, Decision } from '../chain/events.js';
import type { ErrorClass } from '../providers/errors.js';
import { GatewayMetrics } from './metrics.js';
import { OtlpTraceExporter } from './otlp.js';

const PROVIDERS = ['holysheep', 'deepseek', 'kimi', 'minimax', 'openai', 'anthropic', 'gemini', 'openrouter', 'ollama'];
const CHAINS: Record<string, string[]> = { default: ['holysheep', 'deepseek', 'kimi', 'minimax'], western: ['openai', 'anthropic', 'gemini'], 'local-first': ['ollama', 'deepseek', 'kimi'] };
const ERRORS: ErrorClass[] = ['overloaded', 'rate_limit', 'server', 'timeout', 'network'];
const usage = { inputTokens: 812, cachedInputTokens: 0, outputTokens: 240, reasoningTokens: 0 };

function attempt(provider: string, decision: Decision, start: number, error: ErrorClass | null): Attempt {
  const ok = decision === 'success';
  return {
    provider,
    model: `${provider}-model`,
    start_ms: start,
    duration_ms: ok ? 1840.5 : 35.2,
    ttft_ms: ok ? 410.3 : null,
    status: ok ? 200 : decision.startsWith('skipped') ? null : 503,
    error_class: error,
    error_detail: error,
    error_message: error ? `${provider}: ${error}` : null,
    decision,
    wait_ms: decision === 'retry' ? 120 : null,
    retry_after_ms: null,
    hedged: decision === 'hedge_lost',
    clocks: null,
    output_chars: ok ? 1200 : 0,
    usage: ok ? usage : null,
    cost_usd: ok ? 0.000412 : 0,
    cost_estimated: false,
  };
}

/** Every shape of call per chain: first provider fails with each error class (or is skipped), the next answers; plus the tiers. */
function results(): [string, ChainResult][] {
  const out: [string, ChainResult][] = [];
  for (const [chain, ps] of Object.entries(CHAINS)) {
    for (let i = 0; i < ps.length - 1; i++) {
      for (const err of [...ERRORS, 'skip', 'hedge', 'retry'] as const) {
        const first =
          err === 'skip' ? attempt(ps[i], 'skipped_breaker_open', 0, null) : err === 'hedge' ? attempt(ps[i], 'hedge_lost', 0, 'cancelled') : err === 'retry' ? attempt(ps[i], 'retry', 0, 'rate_limit') : attempt(ps[i], 'fallover', 0, err);
        const answer = attempt(ps[i + 1], 'success', 40, null);
        out.push([chain, { source: 'live', content: 'x', provider: answer.provider, model: answer.model, usage, finish_reason: 'stop', truncated: false, cost_usd: 0.000412, cost_estimated: false, failed_attempts_cost_usd: 0, latency_ms: 1880.7, ttft_ms: 450.3, attempts: [first, answer], error: null }]);
      }
    }
    const failed = ps.map((p, i) => attempt(p, 'fallover', i * 40, 'overloaded'));
    const base = { content: '', usage: null, finish_reason: null, truncated: false, cost_usd: 0, cost_estimated: false, failed_attempts_cost_usd: 0, latency_ms: 160.1, ttft_ms: null, attempts: failed };
    out.push([chain, { ...base, source: 'cache', provider: ps[0], model: `${ps[0]}-model`, error: null }]);
    out.push([chain, { ...base, source: 'static', provider: null, model: null, error: null }]);
    out.push([chain, { ...base, source: 'none', provider: null, model: null, error: { class: 'overloaded', message: 'all overloaded' } }]);
  }
  return out;
}

/**
 * Process CPU time (user + system, every thread: GC helpers count) per run of f, in ns. CPU time rather
 * than wall time, so other processes on a shared machine inflate it less; still measure on a quiet one.
 */
function time(n: number, f: (i: number) => void): number {
  const c = process.cpuUsage();
  for (let i = 0; i < n; i++) f(i);
  const d = process.cpuUsage(c);
  return ((d.user + d.system) * 1000) / n;
}

async function main(): Promise<void> {
  const rs = results();
  const m = new GatewayMetrics();
  m.setBreakerSource(() => PROVIDERS.map((p, i) => ({ provider: p, model: `${p}-model`, state: i % 3 === 0 ? 'open' : 'closed' })));
  const endpoints = ['chat_completions', 'messages', 'models'];
  const statuses = [200, 400, 429, 503];
  // Fill every series once, then time steady-state calls (a series already exists, as on a warm gateway).
  for (const [chain, r] of rs) m.call(chain, r);
  for (const e of endpoints) for (const c of [...Object.keys(CHAINS), ...PROVIDERS]) for (const s of statuses) m.requestFinished({ endpoint: e, model: c, status: s, durationMs: 12, stream: true });
  const text = m.render();
  const series = text.split('\n').filter((l) => l && !l.startsWith('#')).length;

  const N = 1_000_000;
  time(N / 10, (i) => m.call(rs[i % rs.length][0], rs[i % rs.length][1])); // warm-up (JIT)
  const callNs = time(N, (i) => m.call(rs[i % rs.length][0], rs[i % rs.length][1]));
  const reqNs = time(N, (i) => {
    m.requestStarted();
    m.requestFinished({ endpoint: 'chat_completions', model: 'default', status: statuses[i & 3], durationMs: 1880, stream: true });
  });
  for (let i = 0; i < 20; i++) m.render();
  const R = 200;
  const renderMs = time(R, () => m.render()) / 1e6;

  // exportCall builds the spans and queues them; nothing is sent (the interval is long, batches never
  // fill). The queue is emptied every 1,000 calls, as the exporter's own sending would, so the heap stays flat.
  const ex = new OtlpTraceExporter({ endpoint: 'http://127.0.0.1:9/v1/traces', maxBatch: 1e9, maxQueue: 1e9, flushIntervalMs: 3_600_000, warn: () => undefined });
  const queue = ex as unknown as { queue: unknown[] };
  const t0 = Date.now();
  const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const E = 100_000;
  let spans = 0;
  // One long timed loop (per-chunk CPU readings came out several times too high here).
  const run = (i: number, count: boolean) => {
    ex.exportCall(rs[i % rs.length][0], rs[i % rs.length][1], t0, i & 1 ? { traceparent: parent } : undefined);
    if (i % 1000 === 999) {
      if (count) spans += queue.queue.length;
      queue.queue = [];
    }
  };
  time(E / 10, (i) => run(i, false)); // warm-up (JIT)
  queue.queue = [];
  const exportNs = time(E, (i) => run(i, true));
  await ex.shutdown();

  const mem = process.memoryUsage();
  console.log(`node ${process.version}, ${rs.length} distinct chain results over ${PROVIDERS.length} providers and ${Object.keys(CHAINS).length} chains`);
  console.log(`GatewayMetrics.call(): ${callNs.toFixed(0)} ns per call (${N.toLocaleString('en-US')} calls, 2 attempts each)`);
  console.log(`requestStarted() + requestFinished(): ${reqNs.toFixed(0)} ns per request`);
  console.log(`render(): ${renderMs.toFixed(2)} ms for ${series} sample lines (${(text.length / 1024).toFixed(0)} KiB), mean of ${R}`);
  console.log(`OtlpTraceExporter.exportCall(): ${(exportNs / 1000).toFixed(2)} µs per call (${spans.toLocaleString('en-US')} spans built and queued for ${E.toLocaleString('en-US')} calls)`);
  console.log(`heap used at the end: ${(mem.heapUsed / 1048576).toFixed(0)} MiB`);
}

await main();

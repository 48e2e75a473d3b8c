import { afterAll } from 'vitest';
import { assembleResult } from '../src/bench/assemble.js';
import type { BenchResult } from '../src/bench/result.js';
import { BenchRunner, type BenchTarget, type LoadSpec, type RequestRecord } from '../src/bench/runner.js';
import type { Price } from '../src/config/types.js';
import type { MockServer } from '../src/mock/server.js';
import { createAdapter } from '../src/providers/index.js';
import type { Timeouts } from '../src/providers/types.js';

export const PRICE: Price = { input: 1, cachedInput: 0.1, output: 2, pricedAt: '2026-11-24' };

export function target(server: Pick<MockServer, 'baseUrl'> & { profile?: MockServer['profile'] }, name: string, timeouts: Timeouts = { connectMs: 2000, firstTokenMs: 10_000, idleMs: 10_000, totalMs: 30_000 }, baseUrl?: string): BenchTarget {
  const spec = server.profile?.providers[name];
  const api = spec?.dialect === 'anthropic' ? 'anthropic' : 'openai';
  const adapter = createAdapter({ name, api, baseUrl: baseUrl ?? server.baseUrl(name), model: spec?.model ?? 'm', headers: {}, params: {}, timeouts });
  afterAll(() => adapter.close());
  return { name, model: spec?.model ?? 'm', api, adapter, price: PRICE };
}

export async function runBench(targets: BenchTarget[], spec: Partial<LoadSpec> = {}, onRequest?: (provider: string, r: RequestRecord) => void): Promise<BenchResult> {
  const full: LoadSpec = {
    mode: 'closed',
    concurrency: 4,
    rate: 0,
    arrival: 'constant',
    requests: 20,
    warmup: 0,
    stream: true,
    seed: 1,
    prompts: [[{ role: 'user', content: 'Explain the CAP theorem.' }], [{ role: 'user', content: 'What is a circuit breaker?' }]],
    keepText: false,
    maxInflight: 10_000,
    ...spec,
  };
  const runner = new BenchRunner(targets, full);
  if (onRequest) runner.on('request', onRequest);
  const out = await runner.run();
  return assembleResult({
    version: 'test',
    identities: targets,
    accumulators: out.accumulators,
    run: { mode: full.mode, concurrency: full.concurrency, rate: full.rate, arrival: full.arrival, requests: full.requests ?? null, duration_ms: full.durationMs ?? null, warmup: full.warmup, stream: full.stream, max_tokens: null, temperature: null, timeout_ms: null, seed: full.seed, prompts: full.prompts.length, demo: false },
    startedAt: out.startedAt,
    endedAt: out.endedAt,
    partial: out.partial,
    client: out.client,
  });
}

/** The value at percentile p of raw samples, by the same rule as an HDR histogram (nearest rank). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Within 1 ms or 1 %, whichever is larger — the accuracy bench promises. */
export function near(measured: number | undefined, injected: number, extraMs = 0): boolean {
  if (measured === undefined) return false;
  return Math.abs(measured - injected) <= Math.max(1, injected * 0.01) + extraMs;
}

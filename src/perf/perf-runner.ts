// The bench runner the perf harness drives an emulated provider with, in-process (memory, profile, accuracy).
import { BenchRunner, type LoadSpec } from '../bench/runner.js';
import { createAdapter } from '../providers/index.js';
import type { ProviderAdapter } from '../providers/types.js';

/**
 * One provider at `url` serving `model` over the OpenAI dialect, loaded as `spec` says on top of the
 * harness's defaults: closed loop, one short prompt, streaming, no warm-up requests, clocks long enough
 * never to fire on a loaded machine. The caller closes the adapter.
 */
export function perfRunner(url: string, model: string, spec: Partial<LoadSpec>): { runner: BenchRunner; adapter: ProviderAdapter; spec: LoadSpec } {
  const adapter = createAdapter({ name: model, api: 'openai', baseUrl: url, model, headers: {}, params: {}, timeouts: { connectMs: 10_000, firstTokenMs: 120_000, idleMs: 60_000, totalMs: 300_000 } });
  const full: LoadSpec = { mode: 'closed', concurrency: 1, rate: 0, arrival: 'constant', warmup: 0, stream: true, seed: 1, prompts: [[{ role: 'user', content: 'Explain the CAP theorem.' }]], keepText: false, maxInflight: 100_000, ...spec };
  return { runner: new BenchRunner([{ name: model, model, api: 'openai', adapter }], full), adapter, spec: full };
}

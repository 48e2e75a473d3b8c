import { createAdapter } from '../providers/index.js';
import { now } from '../util/clock.js';
import { ProviderAccumulator } from './accumulator.js';
import { measureRequest } from './measure.js';

/**
 * Requests sent through the whole client path before a run, to the built-in emulator on loopback (never
 * to a provider): enough for V8 to compile the hot functions (HTTP parser, SSE parser, dialect decoder,
 * the fold and the histograms) before the first measured request, instead of during it. The per-request
 * functions (the request core, the fold's end, the accumulator) run once a request, not once a token: after
 * 48 requests a plain run's first cell still measured ~0.4 ms more than the same cell run later in the same
 * process (npm run perf's accuracy matrix at concurrency 1), so it sends a few hundred. Measured cost on a
 * 2-core machine: see README ("What is measured from where").
 */
const WARM_REQUESTS = 300;
const WARM_CONCURRENCY = 4;
/** However slow the machine, warming never holds a run up longer than this. */
const WARM_BUDGET_MS = 500;

/**
 * Warms the request path of each API dialect used, on synthetic traffic from an in-process emulator.
 * Returns how long it took (ms). Nothing here touches the providers being measured.
 */
export async function prewarmRequestPath(apis: Iterable<'openai' | 'anthropic'>, stream: boolean, stopped: () => boolean = () => false): Promise<number> {
  const t0 = now();
  // Loaded here, not at start-up: commands other than bench never pay for the emulator's modules.
  const [{ startMock }, { providerSpec }] = await Promise.all([import('../mock/server.js'), import('../mock/profile.js')]);
  const dialects = [...new Set(apis)];
  const server = await startMock({ profile: { seed: 1, providers: Object.fromEntries(dialects.map((d) => [d, providerSpec({ dialect: d, output_tokens: { dist: 'constant', value: 24 } })])) } });
  try {
    for (const api of dialects) {
      const adapter = createAdapter({ name: `prewarm-${api}`, api, baseUrl: server.baseUrl(api), model: 'm', headers: {}, params: {}, timeouts: { totalMs: 10_000 } });
      const acc = new ProviderAccumulator(undefined);
      let next = 0;
      const worker = async () => {
        while (next < WARM_REQUESTS && now() - t0 < WARM_BUDGET_MS && !stopped()) {
          const index = next++;
          acc.add(await measureRequest(adapter, { messages: [{ role: 'user', content: 'warm-up' }], stream }, { index, promptIndex: 0, warmup: false, keepText: false }));
        }
      };
      await Promise.all(Array.from({ length: WARM_CONCURRENCY }, worker));
      await adapter.close();
    }
  } finally {
    await server.close();
  }
  return now() - t0;
}

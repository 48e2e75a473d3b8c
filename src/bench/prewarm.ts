import { createAdapter } from '../providers/index.js';
import { now } from '../util/clock.js';
import { startReplay } from './replay-server.js';
import type { BenchTarget } from './runner.js';

/**
 * Requests the rehearsal sends in all, spread over the targets, before a run's clock starts. V8 compiles a
 * function with its optimising compiler only after it has run a while (about 1,000-2,000 calls for the
 * request path's small functions, which run once a request), and code compiled for other shapes of
 * objects is thrown away when the run's own objects come. Measured on the 2-core machine (50 connections
 * to the zero-latency emulator, `--trace-opt --trace-deopt`, CPU from /proc): after the former warm-up
 * (300 requests of a fixed tiny prompt through an adapter and accumulator of its own, against an
 * emulator in its thread), about 130 functions were compiled during the measured run's first 500 ms and
 * that half second cost 2.7 times the CPU per request of the rest; after this rehearsal, 28 first
 * compilations and 6 deoptimisations remain, and 1.65 times.
 */
const WARM_REQUESTS = 3_000;
/** Requests in flight at once during the rehearsal: more than one, so reads that bring several answers at once are rehearsed too. */
const WARM_CONCURRENCY = 8;
/** However slow the machine, the rehearsal never holds a run up longer than this (3,000 requests took 300-600 ms on the 2-core machine). */
const WARM_BUDGET_MS = 800;

/** How a rehearsal is run: the targets to load, with how many requests each, stopped after `budgetMs`. */
export type Rehearsal = (standIns: BenchTarget[], plan: { requestsEach: number; concurrency: number; budgetMs: number }) => Promise<void>;

/**
 * Warms the client's own request path before a run: each target gets a stand-in with the same settings
 * (dialect, model, headers, params, clocks) but no credential (a target whose adapter cannot make one is
 * left out), aimed at a replaying server in this process on loopback (replay-server.ts)
 * that hands on the emulator's answer, and `rehearse` runs the run's own load loop over the stand-ins
 * (its prompts, price, SLOs and fold). The same code on objects of the same shapes as the measured run, so
 * what V8 compiles here is what the run uses. Nothing here touches the providers being measured. Returns
 * how long it took (ms).
 */
export async function prewarmRequestPath(targets: BenchTarget[], rehearse: Rehearsal): Promise<number> {
  const t0 = now();
  const rehearsable = targets.filter((t) => t.adapter.standInSettings !== undefined);
  if (rehearsable.length === 0) return 0;
  // Loaded here, not at start-up: commands other than bench never pay for the emulator's modules.
  const [{ startMock }, { providerSpec }] = await Promise.all([import('../mock/server.js'), import('../mock/profile.js')]);
  const dialectOf = (t: BenchTarget) => (t.api === 'anthropic' ? 'anthropic' : 'openai');
  const dialects = [...new Set(rehearsable.map(dialectOf))];
  const server = await startMock({ profile: { seed: 1, providers: Object.fromEntries(dialects.map((d) => [d, providerSpec({ dialect: d, output_tokens: { dist: 'constant', value: 24 } })])) } });
  const replay = await startReplay({ host: '127.0.0.1', port: server.port });
  const standIns = rehearsable.map((t) => {
    // The emulator's path for the dialect, on the replaying server.
    const baseUrl = replay.url + new URL(server.baseUrl(dialectOf(t))).pathname;
    return { ...t, adapter: createAdapter(t.adapter.standInSettings!(baseUrl)) };
  });
  try {
    await rehearse(standIns, { requestsEach: Math.ceil(WARM_REQUESTS / rehearsable.length), concurrency: WARM_CONCURRENCY, budgetMs: WARM_BUDGET_MS });
  } finally {
    await Promise.all(standIns.map((s) => s.adapter.close()));
    await replay.close();
    await server.close();
  }
  return now() - t0;
}

import { spawnMock } from '../perf/mock-process.js';
import { createAdapter } from '../providers/index.js';
import { assembleResult } from './assemble.js';
import { toEpochMs } from '../util/clock.js';
import { BenchRunner, type RequestRecord } from './runner.js';

/** What the emulator does at every level: 200 ms to the first token, then 20 tokens 20 ms apart. */
export const SELF_CHECK_PROFILE = { ttft: 200, itl: 20, output_tokens: 20 } as const;
export const SELF_CHECK_LEVELS = [1, 10, 100, 1000];
/** The emulator serves this much traffic before the first level, from another client (MockProcess.warm). */
export const EMULATOR_WARM_REQUESTS = 300;
export const EMULATOR_WARM_CONCURRENCY = 100;

/** One level of the self-check: the client's figures minus what the emulator really did (ms). */
export interface SelfCheckLevel {
  streams: number;
  requests: number;
  ok: number;
  ttft: { p50: number; p99: number; truth_p50: number; truth_p99: number };
  latency: { p50: number; p99: number; truth_p50: number; truth_p99: number };
  itl: { p50: number; truth_p50: number };
  connect_ms_p50: number | null;
  /**
   * From the client's send stamp to the emulator taking the request up (ms, the n-th send paired with the
   * n-th arrival): time the request waited — in the client after its stamp, the kernel or the emulator —
   * before the emulator's clock started. The client counts it; the emulator's "truth" does not, so it is
   * part of every err.
   */
  arrival_lag: { p50: number; p99: number } | null;
  /**
   * From the runner issuing a request to its bytes going to the connection (ms): the client's own queue
   * (a burst of requests issued at once is written one after another). Not in any figure: the latency
   * clock starts when the bytes go out.
   */
  client_queue: { p50: number; p99: number } | null;
  /**
   * How late the emulator's event loop ran at worst during the level (ms): its share of `arrival_lag`. The
   * worst, not a percentile of the samples: one stall while a burst arrives delays every request in it.
   */
  emulator_loop_delay_max: number | null;
  /** The client's own event-loop lateness (p99, ms) and CPU (% of one core) during the level. */
  event_loop_delay_p99: number | null;
  cpu_percent: number;
  /** Client CPU time over the measured run per streamed token received (µs), request costs included. */
  cpu_us_per_event: number | null;
  /**
   * False when the emulator could not keep its own plan at this level: its first token (p50) more than
   * 10 % later than planned, or its token gaps (p50) more than 20 % off theirs. The machine then cannot
   * serve the load and measure it at once, and the errors say how far bench agrees with an overloaded
   * emulator (bunched tokens, late timers), not how it would measure a provider.
   */
  emulator_on_plan: boolean;
}

/** Whether the emulator did what it was asked at a level (see SelfCheckLevel.emulator_on_plan). */
export function emulatorOnPlan(truthTtftP50: number | undefined, truthItlP50: number | undefined): boolean {
  // No log (every request of the level failed): nothing says the emulator was behind.
  if (!Number.isFinite(truthTtftP50) || !Number.isFinite(truthItlP50)) return true;
  return truthTtftP50! <= SELF_CHECK_PROFILE.ttft * 1.1 && Math.abs(truthItlP50! - SELF_CHECK_PROFILE.itl) <= SELF_CHECK_PROFILE.itl * 0.2;
}

/** Nearest-rank percentile of raw samples, the rule an HDR histogram follows. */
export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)];
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

function p50p99(values: number[]): { p50: number; p99: number } | null {
  return values.length ? { p50: round3(percentile(values, 50)), p99: round3(percentile(values, 99)) } : null;
}

/** Pairs the n-th send with the n-th arrival (loopback keeps them in order closely enough) and summarises the lag. */
function arrivalLag(sends: number[], arrivals: number[]): { p50: number; p99: number } | null {
  if (sends.length === 0 || sends.length !== arrivals.length) return null;
  const s = [...sends].sort((a, b) => a - b);
  const a = [...arrivals].sort((x, y) => x - y);
  return p50p99(s.map((t, i) => a[i] - t));
}

/** Measured requests per level: enough for a p99 at one stream, one round of streams above that. */
function requestsFor(streams: number): number {
  return streams === 1 ? 10 : streams <= 10 ? streams * 2 : streams;
}

/**
 * Runs bench's own client, as a default run would (no --warmup), against the emulator in a separate
 * process at rising concurrency, and compares every figure with what the emulator logged it did.
 */
export async function selfCheck(levels: number[] = SELF_CHECK_LEVELS, onLevel?: (l: SelfCheckLevel) => void): Promise<SelfCheckLevel[]> {
  const mock = await spawnMock({ seed: 1, providers: { s: { dialect: 'openai', ...SELF_CHECK_PROFILE } } });
  const out: SelfCheckLevel[] = [];
  try {
    await mock.warm('s', EMULATOR_WARM_REQUESTS, EMULATOR_WARM_CONCURRENCY);
    for (const streams of levels) {
      await mock.reset();
      const adapter = createAdapter({ name: 's', api: 'openai', baseUrl: mock.baseUrl('s'), model: 's', headers: {}, params: {}, timeouts: { connectMs: 10_000, firstTokenMs: 60_000, idleMs: 60_000, totalMs: 120_000 } });
      const requests = requestsFor(streams);
      const runner = new BenchRunner([{ name: 's', model: 's', api: 'openai', adapter }], {
        mode: 'closed',
        concurrency: streams,
        rate: 0,
        arrival: 'constant',
        requests,
        warmup: 0,
        stream: true,
        seed: 1,
        prompts: [[{ role: 'user', content: 'self-check' }]],
        keepText: false,
        maxInflight: streams,
      });
      const sends: number[] = [];
      const queue: number[] = [];
      runner.on('request', (_name: string, rec: RequestRecord) => {
        sends.push(toEpochMs(rec.sent));
        queue.push(rec.sent - rec.issued);
      });
      const o = await runner.run();
      await adapter.close();
      const r = assembleResult({ version: 'self-check', identities: [{ name: 's', model: 's', api: 'openai' }], accumulators: o.accumulators, run: { mode: 'closed', concurrency: streams, rate: null, arrival: null, requests, duration_ms: null, warmup: 0, stream: true, max_tokens: null, temperature: null, timeout_ms: null, seed: 1, prompts: 1, demo: false }, startedAt: o.startedAt, endedAt: o.endedAt, partial: o.partial, client: o.client }).providers[0];
      const injected = await mock.injected('s');
      const ttft = injected.map((i) => i.ttftMs);
      const total = injected.map((i) => i.totalMs);
      const level: SelfCheckLevel = {
        streams,
        requests,
        ok: r.ok,
        ttft: { p50: r.ttft_ms?.p50 ?? NaN, p99: r.ttft_ms?.p99 ?? NaN, truth_p50: percentile(ttft, 50), truth_p99: percentile(ttft, 99) },
        latency: { p50: r.latency_ms?.p50 ?? NaN, p99: r.latency_ms?.p99 ?? NaN, truth_p50: percentile(total, 50), truth_p99: percentile(total, 99) },
        itl: { p50: r.itl_ms?.p50 ?? NaN, truth_p50: percentile(injected.flatMap((i) => i.gapsMs), 50) },
        connect_ms_p50: r.connect_ms?.p50 ?? null,
        arrival_lag: arrivalLag(sends, injected.map((i) => i.arrivedEpochMs)),
        client_queue: p50p99(queue),
        emulator_loop_delay_max: (await mock.eventLoop())?.max ?? null,
        event_loop_delay_p99: o.client.event_loop_delay_ms?.p99 ?? null,
        cpu_percent: o.client.cpu_percent,
        cpu_us_per_event: r.tokens.output > 0 ? Math.round(((o.client.cpu_ms * 1000) / r.tokens.output) * 10) / 10 : null,
        emulator_on_plan: emulatorOnPlan(percentile(ttft, 50), percentile(injected.flatMap((i) => i.gapsMs), 50)),
      };
      out.push(level);
      onLevel?.(level);
    }
  } finally {
    await mock.close();
  }
  return out;
}

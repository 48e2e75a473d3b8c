import { EventEmitter } from 'node:events';
import { ProviderAccumulator } from './accumulator.js';
import { providerResult, type ClientHealth, type ProviderResult } from './result.js';
import { BenchRunner, type BenchTarget, type LoadSpec, type RequestRecord, type RunOutcome } from './runner.js';

/**
 * `bench --repeat N`: the whole bench N times in a row, each run an ordinary bench run with the same
 * settings and seed (so the same prompt order and arrival schedule). The result's figures are those of
 * every run together (histograms added, exact); each run's own headline figures are kept, with their
 * spread, so a reader sees how much a figure moves between identical runs.
 */

/** The headline figures kept per run: the ones people compare, and `compare` tests run against run. */
export const REPEAT_FIGURES = ['latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms', 'ttft_p50_ms', 'ttft_p95_ms', 'output_tokens_per_s', 'requests_per_s', 'error_rate', 'cost_per_1k_requests_usd', 'goodput_attainment'] as const;
export type RepeatFigure = (typeof REPEAT_FIGURES)[number];

export type RunFigures = Record<RepeatFigure, number | null>;

/** The spread of one figure over the runs that measured it. */
export interface Spread {
  n: number;
  min: number;
  median: number;
  max: number;
  mean: number;
  /** Sample standard deviation (n − 1); 0 for a single run. */
  stddev: number;
  /** Coefficient of variation, stddev / mean; null when the mean is 0 or there is one run. */
  cv: number | null;
}

/** The published `repeats` of a provider (schema/bench-result.schema.json). */
export interface RepeatResult {
  runs: RunFigures[];
  spread: Record<RepeatFigure, Spread | null>;
}

export function runFigures(p: ProviderResult): RunFigures {
  return {
    latency_p50_ms: p.latency_ms?.p50 ?? null,
    latency_p95_ms: p.latency_ms?.p95 ?? null,
    latency_p99_ms: p.latency_ms?.p99 ?? null,
    ttft_p50_ms: p.ttft_ms?.p50 ?? null,
    ttft_p95_ms: p.ttft_ms?.p95 ?? null,
    output_tokens_per_s: p.output_tokens_per_s.aggregate,
    requests_per_s: p.requests_per_s,
    error_rate: p.error_rate,
    cost_per_1k_requests_usd: p.cost_per_1k_requests_usd,
    goodput_attainment: p.goodput?.attainment ?? null,
  };
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

/** Pure: min, median, max, mean, stddev and CV of the values measured (nulls left out); null when none. */
export function spreadOf(values: (number | null)[]): Spread | null {
  const xs = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  const n = xs.length;
  if (n === 0) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const stddev = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const median = n % 2 ? xs[(n - 1) / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
  return { n, min: xs[0], median: round(median), max: xs[n - 1], mean: round(mean), stddev: round(stddev), cv: n > 1 && mean !== 0 ? round(stddev / Math.abs(mean)) : null };
}

export function repeatResult(runs: RunFigures[]): RepeatResult {
  return { runs, spread: Object.fromEntries(REPEAT_FIGURES.map((k) => [k, spreadOf(runs.map((r) => r[k]))])) as Record<RepeatFigure, Spread | null> };
}

/**
 * Runs the bench `times` times, one run after another. Emits 'request' (target name, record) as the
 * runner does and 'run' (index from 1, RunOutcome) after each run.
 */
export class RepeatedRuns extends EventEmitter {
  private stopping = false;
  private current?: BenchRunner;

  constructor(
    private readonly targets: BenchTarget[],
    private readonly spec: LoadSpec,
    readonly times: number,
  ) {
    super();
  }

  stop(): void {
    this.stopping = true;
    this.current?.stop();
  }

  get stopped(): boolean {
    return this.stopping;
  }

  /** Like one run's outcome, with every run's accumulators added and each run's figures kept per provider. */
  async run(): Promise<Omit<RunOutcome, 'client'> & { client?: ClientHealth; repeats: Map<string, RepeatResult> }> {
    const total = new Map(this.targets.map((t) => [t.name, new ProviderAccumulator(t.price, this.spec.slos)]));
    const figures = new Map<string, RunFigures[]>(this.targets.map((t) => [t.name, []]));
    let startedAt: Date | undefined;
    let endedAt = new Date();
    let client: ClientHealth | undefined;
    let partial = false;
    for (let i = 1; i <= this.times && !this.stopping; i++) {
      const runner = new BenchRunner(this.targets, { ...this.spec, prepare: i === 1 ? this.spec.prepare : false });
      runner.on('request', (name: string, r: RequestRecord) => this.emit('request', name, r));
      this.current = runner;
      const outcome = await runner.run();
      this.current = undefined;
      startedAt ??= outcome.startedAt;
      endedAt = outcome.endedAt;
      partial ||= outcome.partial;
      // The client figures of the run whose event loop ran latest: the one that distorted its figures most.
      if (!client || (outcome.client.event_loop_delay_ms?.p99 ?? 0) > (client.event_loop_delay_ms?.p99 ?? 0)) client = outcome.client;
      for (const t of this.targets) {
        const acc = outcome.accumulators.get(t.name)!;
        figures.get(t.name)!.push(runFigures(providerResult(acc, t)));
        const sum = total.get(t.name)!;
        const span = sum.sendSpanMs;
        sum.merge(acc);
        // Runs one after another: their wall times and sending spans add (merge keeps the longer, for runs side by side).
        sum.wallMs += acc.wallMs;
        sum.sendSpanMs = span + acc.sendSpanMs;
      }
      this.emit('run', i, outcome);
    }
    return {
      accumulators: total,
      repeats: new Map([...figures].map(([name, runs]) => [name, repeatResult(runs)])),
      partial: partial || this.stopping,
      startedAt: startedAt ?? new Date(),
      endedAt,
      client,
    };
  }
}

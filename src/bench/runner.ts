import { EventEmitter, setMaxListeners } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Price } from '../config/types.js';
import { Rng, hashSeed } from '../mock/random.js';
import type { ChatMessage, ProviderAdapter } from '../providers/types.js';
import { now } from '../util/clock.js';
import type { EveryField } from '../util/every-field.js';
import { sleep } from '../util/time.js';
import { ProviderAccumulator } from './accumulator.js';
import { recordMs, type Summary } from './histogram.js';
import type { ClientHealth } from './result.js';
import { measureRequest, type RequestRecord } from './measure.js';
import type { Slo } from './slo.js';
import { prewarmRequestPath } from './prewarm.js';
import { Timeline } from './timeline.js';
import { arrivalOffsetMs, globalIndex, type Shard } from './shard.js';
import type { Arrival, PlannedRequest, Workload } from './workloads/workload.js';

export interface BenchTarget {
  name: string;
  model: string;
  api: string;
  adapter: ProviderAdapter;
  price?: Price;
}

export interface LoadSpec {
  mode: 'closed' | 'open';
  concurrency: number;
  /** Open loop: requests per second, per provider. */
  rate: number;
  arrival: 'constant' | 'poisson';
  /** Measured requests per provider (warm-up excluded); undefined when the run is bounded by duration. */
  requests?: number;
  /** Length of the measured phase per provider. */
  durationMs?: number;
  warmup: number;
  stream: boolean;
  maxTokens?: number;
  temperature?: number;
  timeoutMs?: number;
  seed: number;
  prompts: ChatMessage[][];
  keepText: boolean;
  /** Open loop: sends wait (and their lag is reported) once this many requests are in flight. */
  maxInflight: number;
  /** --slo: each request is judged good or not against these. */
  slos?: Slo[];
  /** false: skip warming the request path and opening connections before the clock (tests of cold behaviour). */
  prepare?: boolean;
  /** --shard: this process runs one shard of a larger load (requests, concurrency and rate are already its share). */
  shard?: Shard;
  /** --start-at: the measured phase starts at this epoch ms (after preparation). */
  startAtMs?: number;
  /** Synthetic prompts, prompt-cache workloads, multi-turn sessions or a trace (src/bench/workloads/). */
  workload?: Workload;
}

export interface ProgressSnapshot {
  name: string;
  sent: number;
  ok: number;
  failed: number;
  p50Ms: number | null;
  /** From sources that count for themselves (worker threads): warm-ups done, measured requests done, first measured start (monotonic ms). */
  warm?: number;
  done?: number;
  measuredStart?: number;
}

export interface RunOutcome {
  accumulators: Map<string, ProviderAccumulator>;
  partial: boolean;
  startedAt: Date;
  endedAt: Date;
  /** The client's own health: preparation time, CPU use and event-loop delay over the run. */
  client: ClientHealth;
}

/** Samples the event loop's lateness every few ms while a run goes on, and the process's CPU time. */
function watchClient(): { stop(prepareMs: number): ClientHealth } {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = now();
  return {
    stop(prepareMs) {
      loop.disable();
      const cpu = process.cpuUsage(cpu0);
      const wall = now() - t0;
      // The histogram is in ns and counts the sampling interval itself: subtract it to get the lateness.
      const late = (p: number) => Math.round(Math.max(0, loop.percentile(p) / 1e6 - 5) * 1000) / 1000;
      const delay: Summary | null = loop.count > 0 ? { count: loop.count, p50: late(50), p90: late(90), p95: late(95), p99: late(99), max: late(100), mean: Math.round(Math.max(0, loop.mean / 1e6 - 5) * 1000) / 1000 } : null;
      return { prepare_ms: Math.round(prepareMs * 10) / 10, cpu_ms: Math.round((cpu.user + cpu.system) / 100) / 10, cpu_percent: wall > 0 ? Math.round(((cpu.user + cpu.system) / 1000 / wall) * 1000) / 10 : 0, event_loop_delay_ms: delay };
    },
  };
}

/*
 * The runner keeps its own copies of the spec and targets, every field present and in one order, whatever
 * objects it was given: V8 compiles the load loop for the shapes of the objects it meets, and the rehearsal
 * before the clock (prewarm.ts) must meet the shapes the measured run will, or the run starts by throwing
 * that compiled code away (the `--trace-deopt` of a default run showed the loop's functions deoptimised
 * on "wrong map" at its first request, and compiled again during its first half second).
 */
function fixedSpec(s: LoadSpec): LoadSpec {
  const out: EveryField<LoadSpec> = {
    mode: s.mode,
    concurrency: s.concurrency,
    rate: s.rate,
    arrival: s.arrival,
    requests: s.requests,
    durationMs: s.durationMs,
    warmup: s.warmup,
    stream: s.stream,
    maxTokens: s.maxTokens,
    temperature: s.temperature,
    timeoutMs: s.timeoutMs,
    seed: s.seed,
    prompts: s.prompts,
    keepText: s.keepText,
    maxInflight: s.maxInflight,
    slos: s.slos,
    prepare: s.prepare,
    shard: s.shard,
    startAtMs: s.startAtMs,
    workload: s.workload,
  };
  return out;
}

function fixedTarget(t: BenchTarget): BenchTarget {
  const out: EveryField<BenchTarget> = { name: t.name, model: t.model, api: t.api, adapter: t.adapter, price: t.price };
  return out;
}

/** Connections opened ahead of time per target at most; any more are opened on demand (and timed). */
const MAX_PRECONNECT = 1_000;

/** How long in-flight requests may finish after a stop before they are aborted. */
const STOP_GRACE_MS = 2_000;

/**
 * Runs every target at the same time, each with its own load loop, and folds each finished request
 * into that target's accumulator. Emits 'request' (target name, record) after each request; listeners
 * (progress, raw writer) are optional and detachable, as in autocannon.
 */
export class BenchRunner extends EventEmitter {
  private stopping = false;
  private readonly abort = new AbortController();
  /** Resolves when stop() is called: what waits without a signal of its own (opening connections) races it. */
  private onStop: (() => void) | undefined;
  private readonly stopRequested = new Promise<void>((resolve) => (this.onStop = resolve));
  readonly accumulators = new Map<string, ProviderAccumulator>();

  private readonly targets: BenchTarget[];
  private readonly spec: LoadSpec;

  constructor(targets: BenchTarget[], spec: LoadSpec) {
    super();
    this.targets = targets.map(fixedTarget);
    this.spec = fixedSpec(spec);
    // Every request in flight listens on the one stop signal.
    setMaxListeners(0, this.abort.signal);
    for (const t of targets) this.accumulators.set(t.name, new ProviderAccumulator(t.price, spec.slos));
  }

  /** Stops sending; requests in flight get a short grace, then are aborted (and counted as cancelled, not failed). */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.onStop?.();
    setTimeout(() => this.abort.abort(), STOP_GRACE_MS).unref();
  }

  get stopped(): boolean {
    return this.stopping;
  }

  snapshot(): ProgressSnapshot[] {
    return this.targets.map((t) => {
      const acc = this.accumulators.get(t.name)!;
      return { name: t.name, sent: acc.sent, ok: acc.ok, failed: acc.failed, p50Ms: acc.h.latency.totalCount ? acc.h.latency.getValueAtPercentile(50) / 1000 : null };
    });
  }

  /** `beforeClock`: awaited after preparation, before the clock starts (worker threads start their clocks together). */
  async run(beforeClock?: () => Promise<void>): Promise<RunOutcome> {
    const prepareMs = this.spec.prepare === false ? 0 : await this.prepare();
    await beforeClock?.();
    // --start-at: shards on several machines start their clocks together, after their own preparation.
    if (this.spec.startAtMs !== undefined) for (let left = this.spec.startAtMs - Date.now(); left > 0 && !this.stopping; left = this.spec.startAtMs - Date.now()) await sleep(Math.min(left, 250));
    const startedAt = new Date();
    // The time series counts from the clock's start (its buckets are "seconds after the run started"), not from before the preparation.
    for (const acc of this.accumulators.values()) acc.timeline = new Timeline();
    const health = watchClient();
    await Promise.all(this.targets.map((t) => (this.spec.mode === 'open' ? this.openLoop(t) : this.closedLoop(t))));
    const client = health.stop(prepareMs);
    for (const t of this.targets) {
      const acc = this.accumulators.get(t.name)!;
      acc.wallMs = acc.sent > 0 && acc.lastEnd > acc.firstStart ? acc.lastEnd - acc.firstStart : 0;
      acc.sendSpanMs = acc.sends > 1 ? acc.lastSend - acc.firstSend : 0;
      for (const ms of t.adapter.takeConnectTimes?.() ?? []) recordMs(acc.h.connect, ms);
    }
    return { accumulators: this.accumulators, partial: this.stopping, startedAt, endedAt: new Date(), client };
  }

  /** How many connections a target's load will hold open at once. */
  private connectionsFor(): number {
    const s = this.spec;
    // Open loop: one second of arrivals, within the in-flight cap (more are opened on demand and timed too).
    const n = s.mode === 'open' ? Math.min(s.maxInflight, Math.ceil(s.rate)) : s.concurrency;
    return Math.max(1, Math.min(n, MAX_PRECONNECT));
  }

  /**
   * Before the clock starts, as wrk does: open each target's connections (timed, reported as connect_ms),
   * then warm the client's own request path on synthetic loopback traffic. Returns the time taken.
   * Connections first: a plain-HTTP connect completes in the kernel before the server's loop accepts it,
   * and a server taking up 100 new connections at once (the emulator, fresh: 50–80 ms) would still be at
   * it when the first requests came, a wait counted as its latency. The warm-up is its time to finish.
   */
  private async prepare(): Promise<number> {
    const t0 = now();
    const n = this.connectionsFor();
    const opened = Promise.all(this.targets.map((t) => t.adapter.preconnect?.(n)));
    // A stop does not wait for connects still in flight (a host that drops SYNs holds one for connectMs):
    // they finish or fail in the background and the adapter closes them.
    await Promise.race([opened, this.stopRequested]);
    if (this.stopping) {
      opened.catch(() => {});
      return now() - t0;
    }
    await prewarmRequestPath(this.targets, (standIns, plan) => this.rehearse(standIns, plan));
    return now() - t0;
  }

  /**
   * The run's own closed loop over stand-ins (prewarm.ts), with this run's prompts, settings and fold, a
   * bounded number of requests within a time budget; its figures are thrown away. A stop of this run stops it.
   */
  private async rehearse(standIns: BenchTarget[], plan: { requestsEach: number; concurrency: number; budgetMs: number }): Promise<void> {
    if (this.stopping) return;
    // Bounded by count and by time at once, so both of the loop's bounds are rehearsed as well.
    const rehearsal = new BenchRunner(standIns, { ...this.spec, mode: 'closed', concurrency: plan.concurrency, requests: plan.requestsEach, durationMs: plan.budgetMs, warmup: 0, prepare: false, startAtMs: undefined, shard: undefined, workload: undefined });
    void this.stopRequested.then(() => rehearsal.stop());
    await rehearsal.run();
  }

  private promptOrder(target: BenchTarget): number[] {
    const rng = new Rng(hashSeed(target.name, this.spec.seed));
    const order = this.spec.prompts.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  }

  /** Decides whether request `index` may still be issued. */
  private admits(index: number, measuredStart: number | undefined): boolean {
    if (this.stopping) return false;
    const { requests, durationMs, warmup } = this.spec;
    if (requests !== undefined && index >= warmup + requests) return false;
    if (durationMs !== undefined && measuredStart !== undefined && now() - measuredStart >= durationMs) return false;
    return true;
  }

  private promptIndex(index: number, order: number[]): number {
    return order[globalIndex(index, this.spec.warmup, this.spec.shard) % order.length];
  }

  private async one(target: BenchTarget, index: number, order: number[], scheduled?: number, planned = this.spec.workload?.request(target.name, index, this.promptIndex(index, order))): Promise<void> {
    const s = this.spec;
    const promptIndex = this.promptIndex(index, order);
    const messages = planned?.messages ?? s.prompts[promptIndex];
    const rec = await measureRequest(
      target.adapter,
      { messages, stream: s.stream, maxTokens: planned?.maxTokens ?? s.maxTokens, temperature: s.temperature, extraBody: planned?.extraBody, signal: this.abort.signal, timeouts: s.timeoutMs ? { totalMs: s.timeoutMs } : undefined },
      { index, promptIndex, warmup: index < s.warmup, scheduled, keepText: s.keepText || Boolean(s.workload?.needsText) },
    );
    s.workload?.finished(target.name, index, rec);
    this.accumulators.get(target.name)!.add(rec);
    this.emit('request', target.name, rec);
  }

  private async closedLoop(target: BenchTarget): Promise<void> {
    const order = this.promptOrder(target);
    // A multi-turn session's requests go one after another on one worker, each after the answer it carries.
    const turns = this.spec.workload?.turns ?? 1;
    let next = 0;
    let measuredStart: number | undefined;
    const worker = async () => {
      for (;;) {
        const first = next;
        if (!this.admits(first, measuredStart)) return;
        next += turns;
        for (let index = first; index < first + turns; index++) {
          if (!this.admits(index, measuredStart)) return;
          if (index === this.spec.warmup) measuredStart = now();
          await this.one(target, index, order);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.spec.concurrency) }, worker));
  }

  /** Arrival times (ms after the loop's start): the rate's own schedule, or a trace's. */
  private async *schedule(target: BenchTarget): AsyncGenerator<{ atMs: number; arrival?: Arrival }> {
    if (this.spec.workload?.tracing) {
      for await (const arrival of this.spec.workload.arrivals()) yield { atMs: arrival.atMs, arrival };
      return;
    }
    // Shards draw their Poisson arrivals independently (N streams at rate/N add up to one at the whole rate).
    const shard = this.spec.shard;
    const rng = new Rng(hashSeed(`${target.name}:arrivals${shard ? `:${shard.index}/${shard.count}` : ''}`, this.spec.seed));
    const interval = 1000 / this.spec.rate;
    // Constant arrivals: shard I starts (I-1)/N of an interval late, so the shards' sends interleave evenly.
    const offset = this.spec.arrival === 'constant' && shard ? arrivalOffsetMs(this.spec.rate * shard.count, shard) : 0;
    for (let at = offset; ; at += this.spec.arrival === 'poisson' ? -Math.log(1 - rng.next()) * interval : interval) yield { atMs: at };
  }

  private async openLoop(target: BenchTarget): Promise<void> {
    const order = this.promptOrder(target);
    let t0: number | undefined;
    let measuredStart: number | undefined;
    const running = new Set<Promise<void>>();
    let index = 0;
    for await (const { atMs, arrival } of this.schedule(target)) {
      // A synthetic prompt is made before its send time (the first before the clock starts), so making it never delays the send.
      const planned: PlannedRequest | undefined = this.spec.workload?.request(target.name, index, this.promptIndex(index, order), arrival);
      t0 ??= now();
      const due = t0 + atMs;
      if (this.spec.durationMs !== undefined && measuredStart !== undefined && due - measuredStart >= this.spec.durationMs) break;
      // Sleep in short slices so a stop is noticed even at very low rates.
      for (let left = due - now(); left > 0 && !this.stopping; left = due - now()) await sleep(Math.min(left, 250));
      while (running.size >= this.spec.maxInflight && !this.stopping) await Promise.race(running);
      if (!this.admits(index, measuredStart)) break;
      if (index === this.spec.warmup) measuredStart = due;
      const p = this.one(target, index, order, due, planned).finally(() => running.delete(p));
      running.add(p);
      index++;
    }
    await Promise.all(running);
  }
}

export type { RequestRecord };

/**
 * `bench --workers N`: one run's load sharded across N worker threads of this process, each with its own
 * event loop, connections and accumulators (as autocannon's --workers). Each thread runs one shard of the
 * load exactly as `--shard` would on another machine (shard.ts: every N-th request, its share of the
 * concurrency, 1/N of the rate with its arrivals interleaved), and at the end their accumulators are added
 * up as `merge` adds shards' results (result.ts accumulatorFrom + ProviderAccumulator.merge): counts exact,
 * histograms added, not percentiles averaged.
 */
import { EventEmitter } from 'node:events';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { Price } from '../config/types.js';
import { BENCH_DEFAULTS } from '../defaults.js';
import { UsageError } from '../errors.js';
import type { ProviderSettings } from '../providers/index.js';
import { now } from '../util/clock.js';
import type { ProviderAccumulator } from './accumulator.js';
import { decode, newHistogram, summarize, type Histogram } from './histogram.js';
import { accumulatorFrom, type ClientHealth, type ProviderResult } from './result.js';
import type { LoadSpec, ProgressSnapshot, RequestRecord, RunOutcome } from './runner.js';
import { shareOf, type Shard } from './shard.js';
import { Timeline, type TimelineState } from './timeline.js';

/** Past this many threads per process the threads measure the scheduler, not the provider. */
export const MAX_WORKERS = 64;
/** How often a thread posts its progress when live progress is drawn. */
const PROGRESS_MS = 250;

/** What a thread needs to rebuild a target: plain data (structured-cloned), the adapter is built in the thread. */
export interface WorkerTarget {
  settings: ProviderSettings;
  price?: Price;
}

export interface WorkerInit {
  targets: WorkerTarget[];
  spec: LoadSpec;
  /** 0: post no progress. */
  progressMs: number;
  /** Post every request's record (for --raw and --hlog, which follow each request). */
  forward: boolean;
  /** This thread's number (0-based) of `count`, and the process's whole warm-up: to number forwarded requests as one thread would. */
  thread: { j: number; count: number; warmup: number };
}

/**
 * The request number one thread running the process's whole share would have given thread j's `local`-th
 * request: warm-ups and measured requests are dealt out round robin (shareOf), so the k-th of thread j is
 * the process's j + k·count-th of its kind.
 */
export function processIndex(local: number, threadWarmup: number, t: WorkerInit['thread']): number {
  return local < threadWarmup ? t.j + local * t.count : t.warmup + t.j + (local - threadWarmup) * t.count;
}

export type ToWorker = { type: 'go' } | { type: 'stop' };

/** Epoch ms (performance.timeOrigin differs per thread), null when nothing happened. */
export interface WorkerProvider {
  result: ProviderResult;
  timeline: TimelineState;
  firstStart: number | null;
  lastEnd: number | null;
  sends: number;
  firstSend: number | null;
  lastSend: number | null;
}

/** A thread's progress for one provider: counts so far, its first measured start (epoch ms), its latency histogram (encoded). */
export interface ThreadProgress {
  name: string;
  warm: number;
  done: number;
  failed: number;
  measuredStart: number | null;
  latency: string;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; providers: ThreadProgress[] }
  /** Finished requests in order, their monotonic times on the thread's clock (origin: its performance.timeOrigin). */
  | { type: 'requests'; origin: number; items: [string, RequestRecord][] }
  | { type: 'done'; providers: WorkerProvider[]; partial: boolean; startedAt: number; endedAt: number; client: ClientHealth }
  | { type: 'error'; message: string };

/** The whole load a process was asked for (before --shard): what the threads split among themselves. */
export interface WholeLoad {
  mode: 'open' | 'closed';
  requests?: number;
  concurrency: number;
  rate: number;
  warmup: number;
}

/**
 * `--workers`: a count, or `auto` = one thread per core but one (left to the system and the main thread),
 * at most one per request in flight (closed loop) and one per request (-n), at least 1.
 */
export function parseWorkers(value: string | undefined, load: WholeLoad, cores = cpus().length): number {
  if (value === undefined) return BENCH_DEFAULTS.workers;
  const v = value.trim();
  if (v === 'auto') return Math.max(1, Math.min(cores - 1, MAX_WORKERS, load.mode === 'closed' ? load.concurrency : Infinity, load.requests ?? Infinity));
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_WORKERS) throw new UsageError(`--workers: "${value}" is not a number of threads; give 1 to ${MAX_WORKERS}, or auto (one per core but one)`);
  return Number(v);
}

/**
 * Thread `j` (0-based) of `workers` in process shard `shard` (or the whole load) is shard
 * shard.index + j·shard.count of shard.count·workers of the whole load: the threads of every process
 * together take each request once, and the threads of one process exactly that process's share.
 */
export function threadShard(j: number, workers: number, shard: Shard | undefined): Shard {
  const index = shard?.index ?? 1;
  const count = shard?.count ?? 1;
  return { index: index + j * count, count: count * workers };
}

/** Each thread's load: its share of requests, concurrency and warm-up, 1/N of the rate; refuses a split that leaves a thread idle. */
export function threadLoads(whole: WholeLoad, workers: number, shard: Shard | undefined): { shard: Shard; requests?: number; concurrency: number; rate: number; warmup: number }[] {
  const loads = Array.from({ length: workers }, (_, j) => {
    const s = threadShard(j, workers, shard);
    return {
      shard: s,
      requests: whole.requests === undefined ? undefined : shareOf(whole.requests, s),
      concurrency: whole.mode === 'closed' ? shareOf(whole.concurrency, s) : whole.concurrency,
      rate: whole.rate / s.count,
      // The provider gets the warm-up asked for, spread over the threads.
      warmup: shareOf(whole.warmup, { index: j + 1, count: workers }),
    };
  });
  const idle = loads.findIndex((l) => l.requests === 0 || (whole.mode === 'closed' && l.concurrency === 0));
  if (idle >= 0) {
    const what = loads[idle].requests === 0 ? `${whole.requests} requests${shard ? ` (shard ${shard.index}/${shard.count})` : ''}` : `concurrency ${whole.concurrency}${shard ? ` (shard ${shard.index}/${shard.count})` : ''}`;
    throw new UsageError(`--workers ${workers}: ${what} cannot be split ${workers} ways; give fewer --workers (each thread needs at least one request${whole.mode === 'closed' ? ' and one in flight' : ''})`);
  }
  return loads;
}

/**
 * Runs one bench over N threads and adds their accumulators up. Behaves like a BenchRunner to the command:
 * run(), stop(), snapshot() for live progress (from the threads' periodic posts), a RunOutcome, and — when
 * asked to forward them (--raw, --hlog) — a 'request' event for every finished request of every thread.
 */
export class WorkerPool extends EventEmitter {
  private stopping = false;
  private readonly threads: Worker[] = [];
  /** Latest progress per thread, per provider. */
  private readonly latest = new Map<number, Map<string, ThreadProgress>>();

  constructor(
    private readonly targets: WorkerTarget[],
    private readonly spec: LoadSpec,
    private readonly whole: WholeLoad,
    readonly workers: number,
    private readonly opts: { progress: boolean; forward: boolean },
  ) {
    super();
  }

  get stopped(): boolean {
    return this.stopping;
  }

  /** Every thread stops sending; requests in flight get the runner's grace, then each thread reports. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.threads) t.postMessage({ type: 'stop' } satisfies ToWorker);
  }

  snapshot(): ProgressSnapshot[] {
    const origin = performance.timeOrigin;
    return this.targets.map(({ settings: { name } }) => {
      let warm = 0;
      let done = 0;
      let failed = 0;
      let measuredStart: number | undefined;
      let latency: Histogram | undefined;
      for (const perThread of this.latest.values()) {
        const p = perThread.get(name);
        if (!p) continue;
        warm += p.warm;
        done += p.done;
        failed += p.failed;
        if (p.measuredStart !== null) measuredStart = Math.min(measuredStart ?? Infinity, p.measuredStart - origin);
        if (p.latency) (latency ??= newHistogram()).add(decode(p.latency));
      }
      const p50 = latency ? summarize(latency)!.p50 : null;
      return { name, sent: done, ok: done - failed, failed, p50Ms: p50, warm, done, measuredStart };
    });
  }

  async run(): Promise<RunOutcome> {
    const loads = threadLoads(this.whole, this.workers, this.spec.shard);
    const url = new URL('./worker-thread.js', import.meta.url);
    let ready = 0;
    let cpu0: NodeJS.CpuUsage | undefined;
    let t0 = 0;
    const outcomes = await Promise.all(
      loads.map(
        (load, j) =>
          new Promise<FromWorker & { type: 'done' }>((resolve, reject) => {
            const init: WorkerInit = {
              targets: this.targets,
              spec: { ...this.spec, requests: load.requests, concurrency: load.concurrency, rate: load.rate, warmup: load.warmup, shard: load.shard },
              progressMs: this.opts.progress ? PROGRESS_MS : 0,
              forward: this.opts.forward,
              thread: { j, count: this.workers, warmup: this.whole.warmup },
            };
            const w = new Worker(url, { workerData: init });
            this.threads.push(w);
            let settled = false;
            w.on('message', (m: FromWorker) => {
              if (m.type === 'ready') {
                // Every thread is warm and connected: start their clocks together.
                if (++ready === loads.length) {
                  cpu0 = process.cpuUsage();
                  t0 = now();
                  for (const t of this.threads) t.postMessage({ type: 'go' } satisfies ToWorker);
                }
              } else if (m.type === 'requests') {
                this.forwarded(m.origin, m.items);
              } else if (m.type === 'progress') {
                this.latest.set(j, new Map(m.providers.map((p) => [p.name, p])));
              } else if (m.type === 'done') {
                settled = true;
                resolve(m);
              } else {
                settled = true;
                reject(new Error(`bench --workers: thread ${j + 1}: ${m.message}`));
              }
            });
            w.on('error', (e) => {
              settled = true;
              reject(new Error(`bench --workers: thread ${j + 1} failed: ${e.message}`));
            });
            w.on('exit', (code) => {
              if (!settled) reject(new Error(`bench --workers: thread ${j + 1} exited (${code}) without a result`));
            });
          }),
      ),
    ).catch(async (e: unknown) => {
      await Promise.all(this.threads.map((t) => t.terminate()));
      throw e;
    });
    const cpu = process.cpuUsage(cpu0);
    const wall = now() - t0;
    return {
      accumulators: this.add(outcomes),
      partial: this.stopping || outcomes.some((o) => o.partial),
      startedAt: new Date(Math.min(...outcomes.map((o) => o.startedAt))),
      endedAt: new Date(Math.max(...outcomes.map((o) => o.endedAt))),
      client: clientOf(outcomes.map((o) => o.client), cpu, wall),
    };
  }

  /** A thread's finished requests, re-stamped on this thread's clock and emitted as a BenchRunner emits them ('request', name, record). */
  private forwarded(origin: number, items: [string, RequestRecord][]): void {
    const shift = origin - performance.timeOrigin;
    for (const [name, r] of items) {
      r.start += shift;
      r.issued += shift;
      r.sent += shift;
      r.end += shift;
      if (r.scheduled !== undefined) r.scheduled += shift;
      if (r.firstByte !== undefined) r.firstByte += shift;
      if (r.firstToken !== undefined) r.firstToken += shift;
      this.emit('request', name, r);
    }
  }

  /** The threads' accumulators added up as `merge` adds shards; wall time and send span from their shared epoch clock. */
  private add(outcomes: (FromWorker & { type: 'done' })[]): Map<string, ProviderAccumulator> {
    const slos = this.spec.slos ?? [];
    const out = new Map<string, ProviderAccumulator>();
    for (const { settings } of this.targets) {
      const parts = outcomes.map((o) => o.providers.find((p) => p.result.name === settings.name)!);
      const acc = accumulatorFrom(parts[0].result, slos);
      for (const p of parts.slice(1)) acc.merge(accumulatorFrom(p.result, slos));
      const span = (a: (number | null)[], b: (number | null)[]) => {
        const first = Math.min(...a.filter((x): x is number => x !== null));
        const last = Math.max(...b.filter((x): x is number => x !== null));
        return Number.isFinite(first) && Number.isFinite(last) && last > first ? last - first : 0;
      };
      acc.timeline = Timeline.fromStates(parts.map((p) => p.timeline));
      acc.wallMs = span(parts.map((p) => p.firstStart), parts.map((p) => p.lastEnd));
      acc.sends = parts.reduce((n, p) => n + p.sends, 0);
      acc.sendSpanMs = acc.sends > 1 ? span(parts.map((p) => p.firstSend), parts.map((p) => p.lastSend)) : 0;
      out.set(settings.name, acc);
    }
    return out;
  }
}

/**
 * The client's health over all threads: CPU of the whole process (every thread, in % of one core), the
 * longest preparation, and the event-loop delay of the thread that ran latest (each thread has its own loop).
 */
function clientOf(threads: ClientHealth[], cpu: NodeJS.CpuUsage, wallMs: number): ClientHealth {
  const delays = threads.map((c) => c.event_loop_delay_ms).filter((d) => d !== null);
  const worst = delays.length ? delays.reduce((a, b) => (b.p99 > a.p99 ? b : a)) : null;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    prepare_ms: Math.max(...threads.map((c) => c.prepare_ms)),
    cpu_ms: Math.round(cpuMs * 10) / 10,
    cpu_percent: wallMs > 0 ? Math.round((cpuMs / wallMs) * 1000) / 10 : 0,
    event_loop_delay_ms: worst,
  };
}

import { EventEmitter } from 'node:events';
import { ProviderAccumulator } from './accumulator.js';
import { providerResult } from './result.js';
import { BenchRunner, type BenchTarget, type LoadSpec, type RequestRecord, type RunOutcome } from './runner.js';

/**
 * Capacity search (`bench --sweep`): per provider, short bounded steps at rising load — doubling from a
 * start rate (or concurrency) until the SLO attainment falls below the target — then bisecting between
 * the last passing and the first failing level until they are within the resolution. Each step is one
 * ordinary bounded run of the bench runner (open loop for rates, closed loop for concurrency), so a
 * step's figures mean exactly what a bench run's do.
 */
export type SweepMode = 'rate' | 'concurrency';

/** The published `run.sweep`: how the search was set up (schema/bench-result.schema.json). */
export interface SweepSettings {
  mode: SweepMode;
  target_attainment: number;
  step_duration_ms: number;
  /** First rate (requests/s) or concurrency tried. */
  start: number;
  max_requests: number;
  max_cost_usd: number | null;
}

export function sweepSettings(cfg: SweepConfig): SweepSettings {
  return { mode: cfg.mode, target_attainment: cfg.targetAttainment, step_duration_ms: cfg.stepDurationMs, start: cfg.start, max_requests: cfg.maxRequests, max_cost_usd: cfg.maxCostUsd ?? null };
}

export interface SweepConfig {
  mode: SweepMode;
  /** Share of a step's requests that must be good (succeeded and met every SLO), 0..1. */
  targetAttainment: number;
  stepDurationMs: number;
  /** First level tried: requests/s (rate) or requests in flight (concurrency). */
  start: number;
  /** Highest level ever tried (the bench's own flag limits). */
  ceiling: number;
  /** Per provider, over the whole sweep. */
  maxRequests: number;
  /** Requests sent before each provider's first step and left out of it (a cold first step would fail the search at its start). */
  warmup: number;
  maxCostUsd?: number;
}

/** Bisection stops once the first failing rate is within this share above the last passing one (concurrency: within 1). */
export const SWEEP_RESOLUTION = 0.05;
/** However the search goes, a provider's sweep never runs more steps than this. */
export const MAX_SWEEP_STEPS = 40;
/** A rate step shorter than this many requests says nothing about attainment: the search does not go lower. */
const MIN_STEP_REQUESTS = 4;

/** pass/fail: judged against the target; errors: error rate above 1 − target, the sweep stops; budget/interrupted: cut short, not judged. */
export type StepVerdict = 'pass' | 'fail' | 'errors' | 'budget' | 'interrupted';

export interface SweepStep {
  /** Rate mode: the requests/s asked for; null in concurrency mode. */
  rate: number | null;
  /** Concurrency mode: the requests in flight; null in rate mode. */
  concurrency: number | null;
  /** Rate mode: requests sent per second; concurrency mode: completed requests per second. */
  achieved_rate: number | null;
  attainment: number | null;
  ttft_p95_ms: number | null;
  latency_p95_ms: number | null;
  error_rate: number | null;
  requests: number;
  cost_usd: number;
  verdict: StepVerdict;
}

export type SweepStop = 'converged' | 'ceiling' | 'none_passed' | 'error_rate' | 'max_requests' | 'max_cost' | 'max_steps' | 'interrupted';

/** The published `sweep` of a provider (schema/bench-result.schema.json). */
export interface SweepResult {
  mode: SweepMode;
  target_attainment: number;
  resolution: number;
  step_duration_ms: number;
  /** Rate mode: the highest rate that met the target; null when none did (or in concurrency mode). */
  max_rate: number | null;
  /** Concurrency mode: the highest concurrency that met the target; null when none did (or in rate mode). */
  max_concurrency: number | null;
  /** The lowest level that failed (the knee lies between the maximum and this); null when none failed. */
  first_failing: number | null;
  stop_reason: SweepStop;
  /** Requests and dollars spent by every step together. */
  requests: number;
  cost_usd: number;
  steps: SweepStep[];
}

/** What the search knows: the highest passing and lowest failing level so far. */
export interface Bracket {
  pass: number | null;
  fail: number | null;
}

/**
 * Pure: the next level to try, or why the search is over. Doubles while nothing has failed, then bisects
 * (whole numbers for concurrency, three significant digits for rates).
 */
export function nextLevel(b: Bracket, cfg: Pick<SweepConfig, 'mode' | 'start' | 'ceiling' | 'stepDurationMs'>): { level: number } | { stop: SweepStop } {
  const whole = cfg.mode === 'concurrency';
  if (b.fail === null) {
    if (b.pass === null) return { level: cfg.start };
    if (b.pass >= cfg.ceiling) return { stop: 'ceiling' };
    return { level: Math.min(cfg.ceiling, b.pass * 2) };
  }
  const lo = b.pass ?? 0;
  if (whole ? b.fail - lo <= 1 : b.pass !== null && b.fail - b.pass <= SWEEP_RESOLUTION * b.pass) return { stop: b.pass === null ? 'none_passed' : 'converged' };
  const mid = whole ? Math.floor((lo + b.fail) / 2) : Number(((lo + b.fail) / 2).toPrecision(3));
  if (!whole && (mid * cfg.stepDurationMs) / 1000 < MIN_STEP_REQUESTS) return { stop: b.pass === null ? 'none_passed' : 'converged' };
  if (mid <= lo || mid >= b.fail) return { stop: b.pass === null ? 'none_passed' : 'converged' };
  return { level: mid };
}

/** Pure: a finished step's verdict. Errors alone above 1 − target already break the SLO: the sweep stops there. */
export function judgeStep(attainment: number | null, errorRate: number | null, target: number): 'pass' | 'fail' | 'errors' {
  if (errorRate !== null && errorRate > 1 - target) return 'errors';
  return attainment !== null && attainment >= target ? 'pass' : 'fail';
}

export interface ProviderSweep {
  sweep: SweepResult;
  /** The step at the maximum (or, when none passed, the lowest level measured): the provider's figures in the result. */
  accumulator: ProviderAccumulator;
}

/**
 * Runs every target's sweep side by side (one provider's steps one after another). Emits 'step'
 * (target name, SweepStep) after each step and 'request' (target name, record) as the runner does.
 */
export class CapacitySweep extends EventEmitter {
  private stopping = false;
  private readonly running = new Set<BenchRunner>();

  constructor(
    private readonly targets: BenchTarget[],
    /** The load every step shares (prompts, stream, SLOs, timeouts…); mode, level and bounds are set per step. */
    private readonly base: LoadSpec,
    private readonly cfg: SweepConfig,
  ) {
    super();
  }

  /** Ends the step in flight (as a bench run stops) and starts no other. */
  stop(): void {
    this.stopping = true;
    for (const r of this.running) r.stop();
  }

  get stopped(): boolean {
    return this.stopping;
  }

  /** Like a bench run's outcome: each provider's figures are those of its step at the maximum. */
  async run(): Promise<Omit<RunOutcome, 'client'> & { sweeps: Map<string, SweepResult> }> {
    const startedAt = new Date();
    const out = await Promise.all(this.targets.map(async (t) => [t.name, await this.sweepOne(t)] as const));
    return {
      accumulators: new Map(out.map(([name, s]) => [name, s.accumulator])),
      sweeps: new Map(out.map(([name, s]) => [name, s.sweep])),
      partial: this.stopping,
      startedAt,
      endedAt: new Date(),
    };
  }

  private async sweepOne(target: BenchTarget): Promise<ProviderSweep> {
    const cfg = this.cfg;
    const steps: SweepStep[] = [];
    const bracket: Bracket = { pass: null, fail: null };
    let best: { level: number; acc: ProviderAccumulator } | undefined;
    let lowest: { level: number; acc: ProviderAccumulator } | undefined;
    let spentRequests = 0;
    let spentUsd = 0;
    let stop: SweepStop | undefined;
    while (!stop) {
      if (this.stopping) {
        stop = 'interrupted';
        break;
      }
      if (steps.length >= MAX_SWEEP_STEPS) {
        stop = 'max_steps';
        break;
      }
      const next = nextLevel(bracket, cfg);
      if ('stop' in next) {
        stop = next.stop;
        break;
      }
      const level = next.level;
      // A step is not started when its planned requests (rate × duration) or their likely cost would pass a cap.
      const planned = cfg.mode === 'rate' ? Math.ceil((level * cfg.stepDurationMs) / 1000) : level;
      const left = cfg.maxRequests - spentRequests;
      if (planned > left) {
        stop = 'max_requests';
        break;
      }
      if (cfg.maxCostUsd !== undefined && spentRequests > 0 && spentUsd + (spentUsd / spentRequests) * planned > cfg.maxCostUsd) {
        stop = 'max_cost';
        break;
      }
      const { acc, cut } = await this.step(target, level, left, spentUsd, steps.length === 0);
      spentRequests += acc.sent;
      spentUsd += acc.costUsd;
      const p = providerResult(acc, target);
      const verdict: StepVerdict = cut ? (cut === 'interrupted' ? 'interrupted' : 'budget') : judgeStep(p.goodput?.attainment ?? null, p.error_rate, cfg.targetAttainment);
      const step: SweepStep = {
        rate: cfg.mode === 'rate' ? level : null,
        concurrency: cfg.mode === 'concurrency' ? level : null,
        achieved_rate: cfg.mode === 'rate' ? p.achieved_rate : p.requests_per_s,
        attainment: p.goodput?.attainment ?? null,
        ttft_p95_ms: p.ttft_ms?.p95 ?? null,
        latency_p95_ms: p.latency_ms?.p95 ?? null,
        error_rate: p.error_rate,
        requests: p.requests,
        cost_usd: p.cost_usd,
        verdict,
      };
      steps.push(step);
      this.emit('step', target.name, step);
      if (!lowest || level < lowest.level) lowest = { level, acc };
      if (verdict === 'pass') {
        bracket.pass = level;
        if (!best || level > best.level) best = { level, acc };
      } else if (verdict === 'fail' || verdict === 'errors') {
        bracket.fail = bracket.fail === null ? level : Math.min(bracket.fail, level);
      }
      if (verdict === 'errors') stop = 'error_rate';
      else if (cut) stop = cut;
    }
    const max = bracket.pass;
    return {
      sweep: {
        mode: cfg.mode,
        target_attainment: cfg.targetAttainment,
        resolution: cfg.mode === 'rate' ? SWEEP_RESOLUTION : 1,
        step_duration_ms: cfg.stepDurationMs,
        max_rate: cfg.mode === 'rate' ? max : null,
        max_concurrency: cfg.mode === 'concurrency' ? max : null,
        first_failing: bracket.fail,
        stop_reason: stop,
        requests: spentRequests,
        cost_usd: Math.round(spentUsd * 1e9) / 1e9,
        steps,
      },
      accumulator: (best ?? lowest)?.acc ?? new ProviderAccumulator(target.price, this.base.slos),
    };
  }

  /** One bounded run at one level; stopped early (and not judged) by a budget cap or a stop. */
  private async step(target: BenchTarget, level: number, requestsLeft: number, spentUsd: number, first: boolean): Promise<{ acc: ProviderAccumulator; cut?: 'max_requests' | 'max_cost' | 'interrupted' }> {
    const spec: LoadSpec = {
      ...this.base,
      mode: this.cfg.mode === 'rate' ? 'open' : 'closed',
      rate: this.cfg.mode === 'rate' ? level : 0,
      concurrency: this.cfg.mode === 'concurrency' ? level : 1,
      durationMs: this.cfg.stepDurationMs,
      requests: requestsLeft,
      warmup: first ? this.cfg.warmup : 0,
      // The request path is warmed and connections opened before the first step; later steps reuse them.
      prepare: first ? this.base.prepare : false,
    };
    const runner = new BenchRunner([target], spec);
    const acc = runner.accumulators.get(target.name)!;
    let overBudget = false;
    // A rate step has a known size: once more of its requests missed than the target allows, it has failed,
    // and the rest of it would only spend requests (it is stopped, its verdict already certain).
    const allowedMisses = this.cfg.mode === 'rate' ? (1 - this.cfg.targetAttainment) * Math.ceil((level * this.cfg.stepDurationMs) / 1000) : Infinity;
    runner.on('request', (name: string, r: RequestRecord) => {
      this.emit('request', name, r);
      if (this.cfg.maxCostUsd !== undefined && spentUsd + acc.costUsd >= this.cfg.maxCostUsd) {
        overBudget = true;
        runner.stop();
      }
      const g = acc.goodput;
      if (g && g.measured - g.good > allowedMisses) runner.stop();
    });
    this.running.add(runner);
    try {
      await runner.run();
    } finally {
      this.running.delete(runner);
    }
    if (overBudget) return { acc, cut: 'max_cost' };
    // A rate step is only started when its planned requests fit; a concurrency step that reached the cap was cut short.
    if (this.cfg.mode === 'concurrency' && acc.sent >= requestsLeft) return { acc, cut: 'max_requests' };
    if (this.stopping) return { acc, cut: 'interrupted' };
    return { acc };
  }
}

import type { Slo } from '../bench/slo.js';
import type { SweepConfig } from '../bench/sweep.js';
import { SWEEP_DEFAULTS } from '../defaults.js';
import { UsageError } from '../errors.js';
import { choiceFlag, durationFlag, intFlag, positiveNumberFlag, ratioFlag } from './options.js';

/** The flags of `bench --sweep` (parsed as given by commander: `--sweep` alone is true). */
export interface SweepFlags {
  sweep?: string | boolean;
  attainment?: string;
  stepDuration?: string;
  maxRequests?: string;
  maxCost?: string;
}


/**
 * `--sweep [rate|concurrency]` and its companions → the search's settings, or undefined without --sweep.
 * The start level is --rate (rate mode) or --concurrency (concurrency mode); a step's length is
 * --step-duration, so --requests and --duration do not apply.
 */
export function sweepConfig(
  opts: SweepFlags,
  load: { rate?: number; concurrency?: number; requests?: string; duration?: string; warmup?: string; slos: Slo[]; maxRate: number; maxConcurrency: number },
): SweepConfig | undefined {
  if (opts.sweep === undefined) {
    const stray = (['attainment', 'stepDuration', 'maxRequests', 'maxCost'] as const).find((k) => opts[k] !== undefined);
    if (stray) throw new UsageError(`--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: only applies with --sweep`);
    return undefined;
  }
  const mode = choiceFlag('--sweep', opts.sweep === true ? 'rate' : String(opts.sweep), ['rate', 'concurrency'] as const)!;
  if (load.slos.length === 0) throw new UsageError('--sweep: needs --slo to judge each step by, e.g. --sweep --slo "ttft<=500ms,latency<=5s"');
  if (load.requests !== undefined || load.duration !== undefined) throw new UsageError(`--sweep: each step runs for --step-duration (default ${SWEEP_DEFAULTS.stepDuration}); drop ${load.requests !== undefined ? '--requests' : '--duration'}, and cap the whole search with --max-requests or --max-cost`);
  if (mode === 'rate' && load.concurrency !== undefined) throw new UsageError('--sweep rate: searches over --rate (its start value); --concurrency applies to --sweep concurrency');
  if (mode === 'concurrency' && load.rate !== undefined) throw new UsageError('--sweep concurrency: searches over --concurrency (its start value); --rate applies to --sweep rate');
  const targetAttainment = ratioFlag('--attainment', opts.attainment ?? SWEEP_DEFAULTS.attainment)!;
  if (!(targetAttainment > 0)) throw new UsageError('--attainment: 0% would pass every step; give the share of good requests a step must reach, e.g. 95%');
  return {
    mode,
    targetAttainment,
    stepDurationMs: durationFlag('--step-duration', opts.stepDuration ?? SWEEP_DEFAULTS.stepDuration)!,
    start: mode === 'rate' ? (load.rate ?? SWEEP_DEFAULTS.startRate) : (load.concurrency ?? SWEEP_DEFAULTS.startConcurrency),
    ceiling: mode === 'rate' ? load.maxRate : load.maxConcurrency,
    maxRequests: intFlag('--max-requests', opts.maxRequests) ?? SWEEP_DEFAULTS.maxRequests,
    maxCostUsd: positiveNumberFlag('--max-cost', opts.maxCost?.replace(/^\$/, '')),
    warmup: intFlag('--warmup', load.warmup, 0) ?? SWEEP_DEFAULTS.warmup,
  };
}

/** A max_rate / max_concurrency threshold needs a sweep of that kind; say so before anything is sent. */
export function checkSweepThresholds(thresholds: { metric: string; expression: string; origin: string }[], sweep: SweepConfig | undefined): void {
  for (const t of thresholds) {
    const wants = t.metric === 'max_rate' ? 'rate' : t.metric === 'max_concurrency' ? 'concurrency' : undefined;
    if (wants && sweep?.mode !== wants) throw new UsageError(`${t.origin}: "${t.expression}" is measured by a capacity search; add --sweep${wants === 'concurrency' ? ' concurrency' : ''} --slo "…"`);
  }
}

import type { HistogramName } from './accumulator.js';
import { recordedValues } from './hdr-values.js';
import { pricedCost, type BenchResult, type ProviderResult } from './result.js';
import type { RepeatFigure } from './repeat.js';
import { exactMannWhitneyGreater, fisherMoreFailures, mannWhitneyGreater, mannWhitneyLess, type TestOutcome } from './stats.js';

/** The significance level `compare` uses unless told otherwise (--alpha). */
export const DEFAULT_ALPHA = 0.05;

/** Per-request distribution behind a metric: worse means its values shifted up (lower is better) or down. */
const DISTRIBUTION: Record<string, HistogramName> = { latency: 'latency', ttft: 'ttft', itl: 'itl', tpot: 'tpot', tps: 'tps' };

/** The per-run figure behind a metric, for results of `bench --repeat`. */
const RUN_FIGURE: Record<string, RepeatFigure> = {
  latency_p50: 'latency_p50_ms',
  latency_p95: 'latency_p95_ms',
  latency_p99: 'latency_p99_ms',
  ttft_p50: 'ttft_p50_ms',
  ttft_p95: 'ttft_p95_ms',
  tps: 'output_tokens_per_s',
  error_rate: 'error_rate',
  cost_per_1k: 'cost_per_1k_requests_usd',
};

/**
 * Both results of `bench --repeat`: run against run, on each run's own figure, so the noise judged is the
 * noise between whole runs (which per-request tests do not see).
 */
function runLevel(key: string, better: 'lower' | 'higher', b: ProviderResult, c: ProviderResult, alpha: number): TestOutcome | undefined {
  const fig = RUN_FIGURE[key];
  if (!fig || !b.repeats || !c.repeats) return undefined;
  const values = (p: ProviderResult) => p.repeats!.runs.map((r) => r[fig]).filter((v): v is number => v !== null);
  const sign = better === 'lower' ? 1 : -1;
  return exactMannWhitneyGreater(values(b).map((v) => sign * v), values(c).map((v) => sign * v), alpha);
}

function significance(key: string, better: 'lower' | 'higher', b: ProviderResult, c: ProviderResult, alpha: number): TestOutcome | undefined {
  const runs = runLevel(key, better, b, c, alpha);
  if (runs) return runs;
  if (key === 'error_rate') return fisherMoreFailures(b.failed, b.ok + b.failed, c.failed, c.ok + c.failed, alpha);
  const h = DISTRIBUTION[key.replace(/_p\d+$/, '')];
  if (!h) return undefined; // cost: no per-request figures in a result
  const base = recordedValues(b.histograms?.[h]);
  const next = recordedValues(c.histograms?.[h]);
  return better === 'lower' ? mannWhitneyGreater(base, next) : mannWhitneyLess(base, next);
}

/** Which way is better for each compared metric. */
const METRICS: { key: string; label: string; better: 'lower' | 'higher'; read: (p: ProviderResult) => number | null; kind: 'ms' | 'ratio' | 'usd' | 'rate' }[] = [
  { key: 'latency_p50', label: 'latency p50', better: 'lower', read: (p) => p.latency_ms?.p50 ?? null, kind: 'ms' },
  { key: 'latency_p95', label: 'latency p95', better: 'lower', read: (p) => p.latency_ms?.p95 ?? null, kind: 'ms' },
  { key: 'latency_p99', label: 'latency p99', better: 'lower', read: (p) => p.latency_ms?.p99 ?? null, kind: 'ms' },
  { key: 'ttft_p50', label: 'TTFT p50', better: 'lower', read: (p) => p.ttft_ms?.p50 ?? null, kind: 'ms' },
  { key: 'ttft_p95', label: 'TTFT p95', better: 'lower', read: (p) => p.ttft_ms?.p95 ?? null, kind: 'ms' },
  { key: 'itl_p50', label: 'ITL p50', better: 'lower', read: (p) => p.itl_ms?.p50 ?? null, kind: 'ms' },
  { key: 'tpot_p50', label: 'TPOT p50', better: 'lower', read: (p) => p.tpot_ms?.p50 ?? null, kind: 'ms' },
  { key: 'tps', label: 'output tok/s', better: 'higher', read: (p) => p.output_tokens_per_s.aggregate, kind: 'rate' },
  { key: 'error_rate', label: 'error rate', better: 'lower', read: (p) => p.error_rate, kind: 'ratio' },
  { key: 'cost_per_1k', label: '$/1k requests', better: 'lower', read: (p) => pricedCost(p, 'cost_per_1k_requests_usd'), kind: 'usd' },
  { key: 'cost_per_1m', label: '$/1M output', better: 'lower', read: (p) => pricedCost(p, 'cost_per_1m_output_tokens_usd'), kind: 'usd' },
];

export interface CompareRow {
  provider: string;
  metric: string;
  label: string;
  base: number | null;
  current: number | null;
  /** Relative change (current − base) / base; for error rate, the change in points. */
  change: number | null;
  regression: boolean;
  kind: 'ms' | 'ratio' | 'usd' | 'rate';
  /**
   * Whether a worsening beyond the tolerance is outside sampling noise: `outside` (one-sided p < alpha),
   * `within`, `too_small` (too few requests to judge), `untested` (no per-request data, e.g. cost);
   * null when the metric did not worsen beyond the tolerance.
   */
  noise: 'outside' | 'within' | 'too_small' | 'untested' | null;
  /** One-sided p-value of the worsening (Mann-Whitney U on the per-request histograms; Fisher's exact test for the error rate). */
  p: number | null;
}

export interface Comparison {
  rows: CompareRow[];
  missing: string[];
  added: string[];
  regressions: number;
  /** Worse beyond the tolerance but on too few requests to tell from noise: reported, not counted as regressions. */
  undecided: number;
  alpha: number;
  /** Both results held repeated runs with a provider in common: those metrics were judged run against run. */
  runLevel: boolean;
}

/**
 * Pure: the change of every metric per provider present in both results. A metric regresses when it
 * gets worse by more than `tolerance` (relative); the error rate regresses when it rises by more than
 * `errorTolerance` percentage points (a relative change from 0 would say nothing).
 */
export function compareResults(base: BenchResult, current: BenchResult, tolerance: number, errorTolerance: number, alpha = DEFAULT_ALPHA): Comparison {
  const rows: CompareRow[] = [];
  const baseBy = new Map(base.providers.map((p) => [p.name, p]));
  const curBy = new Map(current.providers.map((p) => [p.name, p]));
  for (const [name, cur] of curBy) {
    const b = baseBy.get(name);
    if (!b) continue;
    for (const m of METRICS) {
      const bv = m.read(b);
      const cv = m.read(cur);
      let change: number | null = null;
      let regression = false;
      let noise: CompareRow['noise'] = null;
      let p: number | null = null;
      if (bv !== null && cv !== null) {
        if (m.kind === 'ratio') {
          change = cv - bv;
          regression = change > errorTolerance;
        } else {
          change = bv === 0 ? (cv === 0 ? 0 : null) : (cv - bv) / bv;
          const worse = m.better === 'lower' ? cv - bv : bv - cv;
          regression = bv === 0 ? worse > 0 && m.kind !== 'usd' : worse / Math.abs(bv) > tolerance;
        }
      } else if (bv !== null && cv === null && m.kind === 'ms') {
        regression = true; // it used to answer and now nothing succeeded
      }
      if (regression && change !== null) {
        // Beyond the tolerance: a regression only when the per-request data say it is not sampling noise.
        const t = significance(m.key, m.better, b, cur, alpha);
        p = t?.p ?? null;
        noise = !t ? 'untested' : t.p === null ? 'too_small' : t.p < alpha ? 'outside' : 'within';
        regression = noise === 'outside' || noise === 'untested';
      }
      rows.push({ provider: name, metric: m.key, label: m.label, base: bv, current: cv, change, regression, kind: m.kind, noise, p });
    }
  }
  return {
    rows,
    missing: [...baseBy.keys()].filter((n) => !curBy.has(n)),
    added: [...curBy.keys()].filter((n) => !baseBy.has(n)),
    regressions: rows.filter((r) => r.regression).length,
    undecided: rows.filter((r) => r.noise === 'too_small').length,
    alpha,
    runLevel: [...curBy].some(([name, p]) => Boolean(p.repeats && baseBy.get(name)?.repeats)),
  };
}

import { UsageError } from '../errors.js';
import { closest } from '../util/suggest.js';
import { checkPercent } from '../util/percent.js';
import { pricedCost, type ProviderResult, type ThresholdOutcome } from './result.js';
import type { Summary } from './histogram.js';

/**
 * CI thresholds: `metric OP value[unit]`, optionally prefixed by `provider:`.
 * e.g. "ttft_p95<800ms", "error_rate<1%", "cost_per_1k<0.5", "deepseek:tps>=40". Times need a unit
 * (ms, s, m) and rates a "%", so that no value can be misread; impossible limits are refused.
 */
export interface Threshold {
  expression: string;
  provider?: string;
  metric: string;
  op: '<' | '<=' | '>' | '>=';
  limit: number;
  /** Where it came from, for error messages: a flag or a config path. */
  origin: string;
}

type Kind = 'ms' | 'ratio' | 'usd' | 'rate' | 'count';
const SUMMARY_METRICS: Record<string, keyof ProviderResult> = { latency: 'latency_ms', ttft: 'ttft_ms', ttfb: 'ttfb_ms', itl: 'itl_ms', tpot: 'tpot_ms' };
const STATS = ['p50', 'p90', 'p95', 'p99', 'max', 'mean'] as const;

const METRICS: Record<string, { kind: Kind; read: (r: ProviderResult) => number | null; what: string }> = {
  error_rate: { kind: 'ratio', read: (r) => r.error_rate, what: 'failed / attempted' },
  success_rate: { kind: 'ratio', read: (r) => (r.error_rate === null ? null : 1 - r.error_rate), what: 'ok / attempted' },
  tps: { kind: 'rate', read: (r) => r.output_tokens_per_s.aggregate, what: 'aggregate output tokens/s' },
  rps: { kind: 'rate', read: (r) => r.requests_per_s, what: 'completed requests/s' },
  cost: { kind: 'usd', read: (r) => pricedCost(r, 'cost_usd'), what: 'USD spent by the run' },
  cost_per_1k: { kind: 'usd', read: (r) => pricedCost(r, 'cost_per_1k_requests_usd'), what: 'USD per 1,000 successful requests' },
  cost_per_1m: { kind: 'usd', read: (r) => pricedCost(r, 'cost_per_1m_output_tokens_usd'), what: 'USD per 1M output tokens' },
  goodput_attainment: { kind: 'ratio', read: (r) => r.goodput?.attainment ?? null, what: 'share of requests that succeeded and met every --slo' },
  goodput_rps: { kind: 'rate', read: (r) => r.goodput?.requests_per_s ?? null, what: 'good requests (every --slo met) per second' },
  max_rate: { kind: 'rate', read: (r) => r.sweep?.max_rate ?? null, what: '--sweep: highest rate that met the --slo attainment' },
  max_concurrency: { kind: 'count', read: (r) => r.sweep?.max_concurrency ?? null, what: '--sweep concurrency: highest concurrency that met the --slo attainment' },
};
for (const [prefix, key] of Object.entries(SUMMARY_METRICS)) {
  for (const stat of STATS) {
    METRICS[`${prefix}_${stat}`] = { kind: 'ms', read: (r) => (r[key] as Summary | null)?.[stat] ?? null, what: `${prefix} ${stat}` };
  }
}
for (const stat of STATS) {
  METRICS[`tps_${stat}`] = { kind: 'rate', read: (r) => ('p50' in r.output_tokens_per_s ? r.output_tokens_per_s[stat] : null), what: `per-request output tokens/s ${stat}` };
}

export const METRIC_NAMES = Object.keys(METRICS);

export function parseThreshold(expression: string, origin: string): Threshold {
  const m = /^\s*(?:([A-Za-z0-9_.-]+):)?\s*([a-z0-9_]+)\s*(<=|>=|<|>)\s*([0-9]*\.?[0-9]+)\s*([a-z%$]*)\s*$/i.exec(expression);
  if (!m) throw new UsageError(`${origin}: "${expression}" is not a threshold; write metric<value, e.g. "ttft_p95<800ms", "error_rate<1%", "cost_per_1k<0.5"`);
  const [, provider, metric, op, num, unitRaw] = m;
  const def = METRICS[metric];
  if (!def) {
    const hint = closest(metric, METRIC_NAMES);
    throw new UsageError(`${origin}: unknown metric "${metric}" in "${expression}"${hint ? `; did you mean "${hint}"?` : `; metrics: ${METRIC_NAMES.join(', ')}`}`);
  }
  const unit = unitRaw.toLowerCase();
  let limit = Number(num);
  const bad = (allowed: string) => new UsageError(`${origin}: unit "${unitRaw}" does not fit ${metric} in "${expression}"; use ${allowed}`);
  const fix = (problem: string) => new UsageError(`${origin}: ${metric} in "${expression}": ${problem}`);
  switch (def.kind) {
    case 'ms': {
      // A unit is required, as in the config: "ttft_p95<1" was once silently 1 ms.
      if (unit === '') throw fix(`${num} has no unit; write "${metric}${op}${num}ms" or "${metric}${op}${num}s"`);
      if (unit === 's') limit *= 1000;
      else if (unit === 'm') limit *= 60_000;
      else if (unit !== 'ms') throw bad('ms, s or m');
      break;
    }
    case 'ratio': {
      const p = checkPercent(`${num}${unitRaw}`);
      if ('problem' in p) throw unit === '' || unit === '%' ? fix(p.problem) : bad('%');
      limit = p.fraction;
      break;
    }
    case 'usd':
      if (unit !== '' && unit !== '$' && unit !== 'usd') throw bad('a plain number of USD');
      break;
    case 'rate':
      if (unit !== '' && unit !== '/s') throw bad('a plain number per second');
      break;
    case 'count':
      if (unit !== '') throw bad('a plain number');
      break;
  }
  // Every metric is ≥ 0 and rates are ≤ 100 %: a threshold that no run can pass is a mistake, not a gate.
  const ceiling = def.kind === 'ratio' ? 1 : Infinity;
  if ((op === '<' && limit <= 0) || (op === '>' && limit >= ceiling) || (op === '>=' && limit > ceiling)) {
    throw fix(`no run can ever pass this; check the operator and the value`);
  }
  return { expression: expression.trim(), provider, metric, op: op as Threshold['op'], limit, origin };
}

function holds(value: number, op: Threshold['op'], limit: number): boolean {
  switch (op) {
    case '<':
      return value < limit;
    case '<=':
      return value <= limit;
    case '>':
      return value > limit;
    case '>=':
      return value >= limit;
  }
}

/** Checks thresholds against each provider they apply to; a metric with no data fails (nothing was proven). */
export function evaluateThresholds(thresholds: Threshold[], providers: ProviderResult[]): ThresholdOutcome[] {
  const out: ThresholdOutcome[] = [];
  for (const t of thresholds) {
    const targets = t.provider ? providers.filter((p) => p.name === t.provider) : providers;
    for (const p of targets) {
      const value = METRICS[t.metric].read(p);
      const pass = value !== null && holds(value, t.op, t.limit);
      const shown = value !== null ? formatValue(t.metric, value) : METRICS[t.metric].kind === 'usd' && !p.price ? `no price (set providers.${p.name}.price in the config)` : 'no data (no successful requests)';
      out.push({
        expression: t.expression,
        provider: p.name,
        metric: t.metric,
        op: t.op,
        limit: t.limit,
        value,
        pass,
        message: `${p.name}: ${t.metric} ${pass ? 'ok' : 'FAILED'}: measured ${shown}, required ${t.op} ${formatValue(t.metric, t.limit)}`,
      });
    }
  }
  return out;
}

export function formatValue(metric: string, v: number): string {
  const kind = METRICS[metric]?.kind;
  if (kind === 'ms') return `${Math.round(v * 10) / 10}ms`;
  if (kind === 'ratio') return `${Math.round(v * 10000) / 100}%`;
  if (kind === 'usd') return `$${Number(v.toPrecision(4))}`;
  if (kind === 'count') return String(v);
  return `${Math.round(v * 100) / 100}/s`;
}

/** Provider names a threshold names that are not in the run: a typo would otherwise pass silently. */
export function checkThresholdProviders(thresholds: Threshold[], names: string[]): void {
  for (const t of thresholds) {
    if (t.provider && !names.includes(t.provider)) {
      const hint = closest(t.provider, names);
      throw new UsageError(`${t.origin}: "${t.expression}" names provider "${t.provider}", which is not in this run${hint ? `; did you mean "${hint}"?` : ''}`);
    }
  }
}

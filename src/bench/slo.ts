import { UsageError } from '../errors.js';
import { closest } from '../util/suggest.js';

/**
 * Service-level objectives per request (`--slo "ttft<=300ms,tpot<=50ms,latency<=5s"`). A request is
 * *good* when it succeeded and met every SLO; goodput is good requests per second of measured wall time
 * and attainment the share of measured requests that were good (DistServe's goodput, as vLLM
 * `--goodput` and AIPerf `--goodput` report it).
 */
export type SloMetric = 'ttft' | 'tpot' | 'latency' | 'tps';

export interface Slo {
  /** Canonical spelling, e.g. "ttft<=300ms", "latency<=5s". */
  expression: string;
  metric: SloMetric;
  op: '<' | '<=' | '>' | '>=';
  /** Milliseconds for times, tokens/s for tps. */
  limit: number;
}

/** What one request measured, for judging it; undefined = not measured (e.g. no token arrived). */
export interface RequestFigures {
  latency: number;
  ttft?: number;
  tpot?: number;
  tps?: number;
}

/** vLLM (`ttft`, `tpot`, `e2el`) and AIPerf (`time_to_first_token`, `inter_token_latency`, `request_latency`, `output_token_throughput_per_user`) spellings. */
const ALIASES: Record<string, SloMetric> = {
  ttft: 'ttft',
  time_to_first_token: 'ttft',
  tpot: 'tpot',
  time_per_output_token: 'tpot',
  inter_token_latency: 'tpot',
  latency: 'latency',
  e2el: 'latency',
  e2e_latency: 'latency',
  request_latency: 'latency',
  tps: 'tps',
  output_token_throughput_per_user: 'tps',
};
/** Times must stay under their limit; per-request tokens/s must stay over it. */
const UPPER: Record<SloMetric, boolean> = { ttft: true, tpot: true, latency: true, tps: false };

/**
 * Parses one or more `--slo` values. Items are separated by commas or spaces; each is `metric OP value[unit]`
 * or the `metric:value` form of vLLM/AIPerf (≤ for times in ms, ≥ for tokens/s).
 */
export function parseSlos(values: string[], origin = '--slo'): Slo[] {
  const slos: Slo[] = [];
  for (const value of values) {
    const items = value
      .replace(/\s*(<=|>=|<|>|:)\s*/g, '$1')
      .split(/[\s,]+/)
      .filter(Boolean);
    if (items.length === 0) throw new UsageError(`${origin}: "${value}" names no SLO; write e.g. "ttft<=300ms,tpot<=50ms,latency<=5s"`);
    for (const item of items) slos.push(parseItem(item, origin));
  }
  for (const metric of new Set(slos.map((s) => s.metric))) {
    const same = slos.filter((s) => s.metric === metric);
    if (same.length > 1) throw new UsageError(`${origin}: ${same.map((s) => `"${s.expression}"`).join(' and ')} both bound ${metric}; keep one`);
  }
  return slos;
}

function parseItem(item: string, origin: string): Slo {
  const m = /^([a-z][a-z0-9_]*)(<=|>=|<|>|:)([0-9]*\.?[0-9]+)([a-z/]*)$/i.exec(item);
  if (!m) throw new UsageError(`${origin}: "${item}" is not an SLO; write metric<=value, e.g. "ttft<=300ms", or vLLM's "ttft:300"`);
  const [, name, rawOp, num, unitRaw] = m;
  const metric = ALIASES[name.toLowerCase()];
  if (!metric) {
    const hint = closest(name.toLowerCase(), Object.keys(ALIASES));
    throw new UsageError(`${origin}: unknown SLO metric "${name}" in "${item}"${hint ? `; did you mean "${hint}"?` : ''}; use ttft, tpot, latency or tps`);
  }
  const upper = UPPER[metric];
  const op = (rawOp === ':' ? (upper ? '<=' : '>=') : rawOp) as Slo['op'];
  if (upper !== op.startsWith('<')) throw new UsageError(`${origin}: "${item}" bounds ${metric} from the wrong side; an SLO on ${metric} is "${metric}${upper ? '<=' : '>='}${num}${unitRaw}"`);
  const unit = unitRaw.toLowerCase();
  let limit = Number(num);
  if (metric === 'tps') {
    if (unit !== '' && unit !== '/s') throw new UsageError(`${origin}: unit "${unitRaw}" does not fit tps in "${item}"; write tokens per second as a plain number`);
  } else if (unit === 's') limit *= 1000;
  else if (unit !== 'ms' && unit !== '') throw new UsageError(`${origin}: unit "${unitRaw}" does not fit ${metric} in "${item}"; use ms or s (a bare number is ms)`);
  if (!(limit > 0)) throw new UsageError(`${origin}: "${item}" sets a limit of 0; give a limit above 0`);
  const shown = metric === 'tps' ? String(limit) : limit >= 1000 && limit % 1000 === 0 ? `${limit / 1000}s` : `${limit}ms`;
  return { expression: `${metric}${op}${shown}`, metric, op, limit };
}

/** Whether one measured figure meets one SLO; an unmeasured TTFT (no token) cannot meet it. */
export function meets(slo: Slo, f: RequestFigures): boolean {
  const v = f[slo.metric];
  // A one-token answer has no time per output token: there is nothing to be slow at.
  if (v === undefined) return slo.metric === 'tpot';
  switch (slo.op) {
    case '<':
      return v < slo.limit;
    case '<=':
      return v <= slo.limit;
    case '>':
      return v > slo.limit;
    case '>=':
      return v >= slo.limit;
  }
}

/** Per-provider counts of good requests and of each SLO met, in constant memory; merges by adding. */
export class GoodputTally {
  measured = 0;
  good = 0;
  readonly met: number[];

  constructor(readonly slos: Slo[]) {
    this.met = slos.map(() => 0);
  }

  /** A failed request is measured and meets no SLO. */
  fail(): void {
    this.measured++;
  }

  judge(f: RequestFigures): void {
    this.measured++;
    let all = true;
    this.slos.forEach((s, i) => {
      if (meets(s, f)) this.met[i]++;
      else all = false;
    });
    if (all) this.good++;
  }

  merge(o: GoodputTally): void {
    this.measured += o.measured;
    this.good += o.good;
    o.met.forEach((n, i) => (this.met[i] += n));
  }
}

/** The published `goodput` of a provider (schema/bench-result.schema.json). */
export interface GoodputResult {
  /** Good requests per second of the provider's measured wall time. */
  requests_per_s: number | null;
  /** Good / measured requests (failed ones included), 0..1. */
  attainment: number | null;
  good: number;
  measured: number;
  /** Each SLO on its own: how many measured requests met it, and the share. */
  slos: { expression: string; met: number; pass_rate: number | null }[];
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

export function goodputResult(t: GoodputTally, wallMs: number): GoodputResult {
  const share = (n: number) => (t.measured > 0 ? round(n / t.measured) : null);
  return {
    requests_per_s: wallMs > 0 ? round((t.good / wallMs) * 1000) : null,
    attainment: share(t.good),
    good: t.good,
    measured: t.measured,
    slos: t.slos.map((s, i) => ({ expression: s.expression, met: t.met[i], pass_rate: share(t.met[i]) })),
  };
}

/** Rebuilds a tally from a published result, so merged runs add their counts exactly. */
export function tallyFrom(slos: Slo[], g: GoodputResult): GoodputTally {
  const t = new GoodputTally(slos);
  t.measured = g.measured;
  t.good = g.good;
  g.slos.forEach((s, i) => (t.met[i] = s.met));
  return t;
}

/** What a request's per-request figures are made of (a RequestRecord has it all). */
interface MeasuredRequest {
  start: number;
  end: number;
  firstToken?: number;
  chunks: number;
  /** Gaps between consecutive token chunks (ms): chunks − 1 of them. */
  gaps: readonly number[];
}

/**
 * Time per output token after the first, (end − first token) / (tokens − 1); undefined for a one-token
 * answer, and for one whose tokens all came at once (a non-streamed answer, or a server or proxy that
 * buffered it all: behind nginx's default proxy_buffering every SSE event of the answer arrives in one
 * read, as several chunks with no time between them): no time between tokens was seen, and 0 ms would
 * pass for a measurement (AIPerf reports its TPOT for streamed answers only).
 */
function tpotOf(r: MeasuredRequest, outputTokens: number): number | undefined {
  return r.firstToken !== undefined && outputTokens > 1 && r.chunks > 1 && r.gaps.some((g) => g > 0) ? (r.end - r.firstToken) / (outputTokens - 1) : undefined;
}

/** The per-request figures an SLO can bound, by the same definitions as the histograms (README "What the figures mean"). */
export function requestFigures(r: MeasuredRequest, outputTokens: number): RequestFigures {
  const latency = r.end - r.start;
  return {
    latency,
    ttft: r.firstToken === undefined ? undefined : r.firstToken - r.start,
    tpot: tpotOf(r, outputTokens),
    tps: latency > 0 ? outputTokens / (latency / 1000) : undefined,
  };
}

/** A goodput threshold without SLOs would fail for want of data; say so before the run instead. */
export function checkGoodputThresholds(thresholds: { metric: string; expression: string; origin: string }[], slos: Slo[]): void {
  const t = thresholds.find((x) => x.metric.startsWith('goodput_'));
  if (t && slos.length === 0) throw new UsageError(`${t.origin}: "${t.expression}" needs SLOs to judge requests by; add --slo, e.g. --slo "ttft<=300ms,latency<=5s"`);
}

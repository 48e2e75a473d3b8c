/*
 * Labelled counters, gauges and histograms rendered in the Prometheus text exposition format 0.0.4.
 * Built for a gateway's hot path: a lookup walks one Map per label (no key string is built), a series
 * escapes its labels once when it is made, and a histogram observation is a short scan of its bounds.
 */

import { plainNumber } from '../format/numbers.js';

export type MetricKind = 'counter' | 'gauge' | 'histogram';

/** One labelled series of a family. */
export interface Series {
  /** `a="x",b="y"` escaped, made once with the series; '' when it has no label. */
  readonly labels: string;
  /** Counter or gauge value. */
  value: number;
  /** Histogram: observations per bucket (not cumulative); the last one counts those above every bound. */
  readonly counts: Float64Array | null;
  sum: number;
  count: number;
}

/**
 * The OpenTelemetry SDK's answer to a metric past its cardinality limit: every new label set is folded
 * into one series whose only attribute is otel.metric.overflow=true, so the total stays right and memory
 * stays bounded (specification: metrics SDK, "Cardinality limits").
 */
export const OVERFLOW_LABELS = 'otel_metric_overflow="true"';

/** A label value in the text format: backslash, double quote and line feed escaped. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/** HELP text: backslash and line feed escaped (a double quote is fine there). */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/**
 * A sample value: Go's spellings for the non-finite ones, which is what Prometheus's parser reads. A finite
 * one without float noise (plainNumber): the cost counter is a running sum of decimal prices, which left
 * 0.000038499999999999994 after seven requests of $0.0000055. Rounding to 12 significant digits never
 * lowers a larger sum below a smaller one, so a counter still only goes up.
 */
export function formatValue(v: number): string {
  if (Number.isFinite(v)) return String(plainNumber(v));
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}

/** `a="x",b="y"` for the given names and values; a label whose value is '' is left out (the same thing in Prometheus). */
export function labelText(names: readonly string[], values: readonly string[]): string {
  let out = '';
  for (let i = 0; i < names.length; i++) {
    if (values[i] === '') continue;
    out += `${out ? ',' : ''}${names[i]}="${escapeLabelValue(values[i])}"`;
  }
  return out;
}

/** Histogram bounds must be finite and strictly increasing; +Inf is always added. */
export function checkBounds(what: string, bounds: readonly number[]): number[] {
  const ok = bounds.length > 0 && bounds.every((b, i) => Number.isFinite(b) && (i === 0 || b > bounds[i - 1]));
  if (!ok) throw new Error(`${what}: histogram bounds must be a non-empty list of finite numbers in increasing order (got [${bounds.join(', ')}]); +Inf is added by itself`);
  return [...bounds];
}

type Node = Map<string, Node | Series>;

/** A UTF-16 surrogate without its pair (in `u` mode a paired one is a single code point, not \p{Cs}). */
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATES = /\p{Cs}/gu;

/** One metric family: its HELP and TYPE, its label names and its series, in the order they were made. */
export class Family {
  private readonly root: Node = new Map();
  private readonly series: Series[] = [];
  private overflow: Series | null = null;
  private readonly header: string;
  private readonly le: string[];
  /** Label values of the lookup in progress (reused: a lookup allocates nothing). */
  private readonly scratch: string[];

  constructor(
    readonly name: string,
    help: string,
    readonly kind: MetricKind,
    private readonly labelNames: readonly string[],
    /** At most this many label sets; the rest go to the overflow series. */
    private readonly maxSeries: number,
    private readonly bounds: readonly number[] = [],
  ) {
    this.header = `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${kind}\n`;
    this.le = bounds.map((b) => `le="${formatValue(b)}"`);
    this.scratch = labelNames.map(() => '');
  }

  /** Number of series made so far (the overflow series included). */
  get size(): number {
    return this.series.length + (this.overflow ? 1 : 0);
  }

  /** The series for these label values, in the order of the family's label names; made on first use. */
  at(a = '', b = '', c = '', d = '', e = ''): Series {
    const n = this.labelNames.length;
    const v = this.scratch;
    if (n > 0) v[0] = a;
    if (n > 1) v[1] = b;
    if (n > 2) v[2] = c;
    if (n > 3) v[3] = d;
    if (n > 4) v[4] = e;
    if (n === 0) return this.series[0] ?? this.make('');
    return this.find(true);
  }

  /** Walks the scratch values to their series; on a miss, first makes the values well-formed (once), then the series. */
  private find(mayClean: boolean): Series {
    const n = this.labelNames.length;
    const v = this.scratch;
    let node = this.root;
    for (let i = 0; i < n - 1; i++) {
      let next = node.get(v[i]) as Node | undefined;
      if (next === undefined) {
        if (mayClean && this.clean()) return this.find(false);
        if (this.series.length >= this.maxSeries) return this.overflowSeries();
        next = new Map();
        node.set(v[i], next);
      }
      node = next;
    }
    const found = node.get(v[n - 1]) as Series | undefined;
    if (found !== undefined) return found;
    if (mayClean && this.clean()) return this.find(false);
    if (this.series.length >= this.maxSeries) return this.overflowSeries();
    const s = this.make(labelText(this.labelNames, v));
    node.set(v[n - 1], s);
    return s;
  }

  /**
   * Replaces lone UTF-16 surrogates in the scratch values with U+FFFD, which is what they become in the
   * UTF-8 exposition anyway: without this, "x\ud800" and "x\udc00" (a client can send either in a JSON
   * model name) were two series written with the same labels. True when a value changed. Runs on a miss
   * only, so a known series costs nothing more.
   */
  private clean(): boolean {
    let changed = false;
    const v = this.scratch;
    for (let i = 0; i < v.length; i++) {
      if (LONE_SURROGATE.test(v[i])) {
        v[i] = v[i].replace(LONE_SURROGATES, '\ufffd');
        changed = true;
      }
    }
    return changed;
  }

  inc(s: Series, by = 1): void {
    s.value += by;
  }

  observe(s: Series, v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    s.counts![i]++;
    s.sum += v;
    s.count++;
  }

  /** The family in the text format, HELP and TYPE first (also when it has no series yet). */
  render(): string {
    let out = this.header;
    const all = this.overflow ? [...this.series, this.overflow] : this.series;
    const name = this.name;
    if (this.kind !== 'histogram') {
      for (const s of all) out += s.labels ? `${name}{${s.labels}} ${formatValue(s.value)}\n` : `${name} ${formatValue(s.value)}\n`;
      return out;
    }
    for (const s of all) {
      const pre = s.labels ? `${name}_bucket{${s.labels},` : `${name}_bucket{`;
      const counts = s.counts!;
      let cum = 0;
      for (let i = 0; i < this.le.length; i++) {
        cum += counts[i];
        out += `${pre}${this.le[i]}} ${cum}\n`;
      }
      out += `${pre}le="+Inf"} ${s.count}\n`;
      const braces = s.labels ? `{${s.labels}}` : '';
      out += `${name}_sum${braces} ${formatValue(s.sum)}\n${name}_count${braces} ${s.count}\n`;
    }
    return out;
  }

  private newSeries(labels: string): Series {
    return { labels, value: 0, counts: this.kind === 'histogram' ? new Float64Array(this.bounds.length + 1) : null, sum: 0, count: 0 };
  }

  private make(labels: string): Series {
    const s = this.newSeries(labels);
    this.series.push(s);
    return s;
  }

  private overflowSeries(): Series {
    return (this.overflow ??= this.newSeries(OVERFLOW_LABELS));
  }
}

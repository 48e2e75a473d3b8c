import type { RepeatFigure, RepeatResult, Spread } from '../bench/repeat.js';
import type { BenchResult, ProviderResult } from '../bench/result.js';
import { formatMs } from '../util/duration.js';
import { fitTable, markdownCell, TEXT_WIDTH, usdCost, wrapText } from './table.js';

/** `--repeat N`: how much each headline figure moved between the runs, under the main table. */

const FIGURES: { key: RepeatFigure; label: string; show: (v: number) => string }[] = [
  { key: 'latency_p50_ms', label: 'latency p50', show: formatMs },
  { key: 'latency_p95_ms', label: 'latency p95', show: formatMs },
  { key: 'latency_p99_ms', label: 'latency p99', show: formatMs },
  { key: 'ttft_p50_ms', label: 'TTFT p50', show: formatMs },
  { key: 'ttft_p95_ms', label: 'TTFT p95', show: formatMs },
  { key: 'output_tokens_per_s', label: 'tok/s', show: (v) => v.toFixed(1) },
  { key: 'error_rate', label: 'errors', show: (v) => `${(v * 100).toFixed(1)}%` },
  { key: 'cost_per_1k_requests_usd', label: '$/1k req', show: (v) => usdCost(v) },
  { key: 'goodput_attainment', label: 'attainment', show: (v) => `${(v * 100).toFixed(1)}%` },
];

const HEAD = ['provider', 'figure', 'runs', 'min', 'median', 'max', 'mean ± sd', 'CV'];

function rows(providers: ProviderResult[]): string[][] {
  return providers.flatMap((p) =>
    FIGURES.flatMap(({ key, label, show }) => {
      const s: Spread | null | undefined = (p.repeats as RepeatResult | null | undefined)?.spread[key];
      if (!s) return [];
      return [[p.name, label, String(s.n), show(s.min), show(s.median), show(s.max), `${show(s.mean)} ± ${show(s.stddev)}`, s.cv === null ? '-' : `${(s.cv * 100).toFixed(1)}%`]];
    }),
  );
}

export function repeatCaption(result: BenchResult): string {
  return `Spread over ${result.run.repeat} runs of the same load and seed: each run's own figure; CV = standard deviation / mean. The table above is every run's requests together.`;
}

export function repeatTable(result: BenchResult, providers: ProviderResult[], wide?: boolean): string[] {
  if (!result.run.repeat) return [];
  const align = HEAD.map((_, i) => (i < 2 ? 'left' : 'right')) as ('left' | 'right')[];
  return [...wrapText(repeatCaption(result)), fitTable(HEAD, rows(providers), align, wide ? {} : { maxWidth: TEXT_WIDTH, shrinkable: [0] })];
}

export function repeatMarkdown(result: BenchResult, providers: ProviderResult[]): string[] {
  if (!result.run.repeat) return [];
  return ['', repeatCaption(result), '', `| ${HEAD.join(' | ')} |`, `|---|---|${HEAD.slice(2).map(() => '--:').join('|')}|`, ...rows(providers).map(([name, ...figures]) => `| ${[markdownCell(name), ...figures].join(' | ')} |`)];
}

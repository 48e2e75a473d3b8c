import { formatMs } from '../util/duration.js';
import type { Summary } from '../bench/histogram.js';
import type { BenchResult, ProviderResult } from '../bench/result.js';
import { makeTable, usdCost as usd } from './table.js';

export const SORT_KEYS = ['name', 'latency', 'ttft', 'tps', 'cost', 'errors'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/** Providers need this success rate to be named "best": a fast provider that fails is not fast. */
export const BEST_MIN_SUCCESS = 0.95;

const ms = (s: Summary | null, k: keyof Summary) => (s ? formatMs(s[k]) : '-');
const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(v > 0 && v < 0.01 ? 2 : 1)}%`);

export function sortProviders(providers: ProviderResult[], key: SortKey | undefined): ProviderResult[] {
  if (!key) return providers;
  const val = (p: ProviderResult): number => {
    switch (key) {
      case 'latency':
        return p.latency_ms?.p50 ?? Infinity;
      case 'ttft':
        return p.ttft_ms?.p50 ?? Infinity;
      case 'tps':
        return -(p.output_tokens_per_s.aggregate ?? -Infinity);
      case 'cost':
        return p.cost_per_1m_output_tokens_usd ?? Infinity;
      case 'errors':
        return p.error_rate ?? Infinity;
      default:
        return 0;
    }
  };
  return [...providers].sort((a, b) => (key === 'name' ? a.name.localeCompare(b.name) : val(a) - val(b)));
}

export interface BestPick {
  fastest?: ProviderResult;
  cheapest?: ProviderResult;
  both?: ProviderResult;
  eligible: number;
}

/** Fastest = lowest p50 latency; cheapest = lowest cost per 1M output tokens; both = lowest sum of those two ranks (ties: lower p50). */
export function pickBest(providers: ProviderResult[]): BestPick {
  const eligible = providers.filter((p) => p.error_rate !== null && 1 - p.error_rate >= BEST_MIN_SUCCESS && p.latency_ms);
  if (eligible.length === 0) return { eligible: 0 };
  const byLatency = [...eligible].sort((a, b) => a.latency_ms!.p50 - b.latency_ms!.p50);
  const priced = eligible.filter((p) => p.cost_per_1m_output_tokens_usd !== null);
  const byCost = [...priced].sort((a, b) => a.cost_per_1m_output_tokens_usd! - b.cost_per_1m_output_tokens_usd!);
  const rank = (list: ProviderResult[], p: ProviderResult) => list.indexOf(p);
  const both = priced.length
    ? [...priced].sort((a, b) => rank(byLatency, a) + rank(byCost, a) - (rank(byLatency, b) + rank(byCost, b)) || a.latency_ms!.p50 - b.latency_ms!.p50)[0]
    : undefined;
  return { fastest: byLatency[0], cheapest: byCost[0], both, eligible: eligible.length };
}

export function bestLines(providers: ProviderResult[]): string[] {
  const best = pickBest(providers);
  const rule = `among providers with at least ${BEST_MIN_SUCCESS * 100}% success`;
  if (!best.fastest) return [`Best: none — no provider reached ${BEST_MIN_SUCCESS * 100}% success.`];
  const lines = [`Fastest: ${best.fastest.name} (lowest p50 latency, ${formatMs(best.fastest.latency_ms!.p50)}, ${rule})`];
  if (best.cheapest) lines.push(`Cheapest: ${best.cheapest.name} (lowest cost per 1M output tokens, ${usd(best.cheapest.cost_per_1m_output_tokens_usd)})`);
  if (best.both) lines.push(`Best of both: ${best.both.name} (lowest sum of its latency rank and cost rank; ties go to the lower p50)`);
  return lines;
}

function errorSummary(p: ProviderResult): string | undefined {
  if (p.failed === 0) return undefined;
  const statuses = Object.entries(p.statuses)
    .filter(([s]) => Number(s) >= 300)
    .map(([s, n]) => `${s}×${n}`)
    .join(', ');
  const classes = Object.entries(p.errors)
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  return `${p.name}: ${p.failed} failed — ${classes}${statuses ? ` (HTTP ${statuses})` : ''}`;
}

export function benchTable(result: BenchResult, sort?: SortKey): string {
  const head = ['provider', 'model', 'ok/sent', 'errors', 'p50', 'p95', 'p99', 'TTFT p50', 'TTFT p95', 'ITL p50', 'tok/s', 'cost', '$/1k req', '$/1M out'];
  const t = makeTable(head, ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right']);
  const providers = sortProviders(result.providers, sort);
  for (const p of providers) {
    const est = p.tokens.source === 'estimated' || p.tokens.source === 'mixed' ? '~' : '';
    t.push([
      p.name,
      p.model,
      `${p.ok}/${p.requests}`,
      pct(p.error_rate),
      ms(p.latency_ms, 'p50'),
      ms(p.latency_ms, 'p95'),
      ms(p.latency_ms, 'p99'),
      ms(p.ttft_ms, 'p50'),
      ms(p.ttft_ms, 'p95'),
      ms(p.itl_ms, 'p50'),
      p.output_tokens_per_s.aggregate === null ? '-' : `${est}${p.output_tokens_per_s.aggregate.toFixed(1)}`,
      p.price ? `${est}${usd(p.cost_usd)}` : 'no price',
      p.cost_per_1k_requests_usd === null ? '-' : `${est}${usd(p.cost_per_1k_requests_usd)}`,
      p.cost_per_1m_output_tokens_usd === null ? '-' : `${est}${usd(p.cost_per_1m_output_tokens_usd)}`,
    ]);
  }
  const lines = [t.toString()];
  const errs = providers.map(errorSummary).filter(Boolean) as string[];
  if (errs.length) lines.push(...errs);
  if (providers.some((p) => p.tokens.source === 'estimated' || p.tokens.source === 'mixed')) {
    lines.push('~ token counts (and the cost built on them) are estimated: the server reported no usage for some requests.');
  }
  lines.push(...bestLines(result.providers));
  lines.push(
    `Latency counts from ${result.run.mode === 'open' ? 'each request’s scheduled send time' : 'the request being sent'}; TTFT = first non-empty content or reasoning token; ITL = every gap between chunks; tok/s = output tokens / measured wall time.`,
  );
  if (result.partial) lines.push('PARTIAL RESULT: the run was interrupted; figures cover what finished.');
  lines.push(...result.notes);
  return `${lines.join('\n')}\n`;
}

const CSV_COLUMNS: [string, (p: ProviderResult) => unknown][] = [
  ['provider', (p) => p.name],
  ['model', (p) => p.model],
  ['requests', (p) => p.requests],
  ['ok', (p) => p.ok],
  ['failed', (p) => p.failed],
  ['error_rate', (p) => p.error_rate],
  ...(['latency_ms', 'ttft_ms', 'ttfb_ms', 'itl_ms', 'tpot_ms'] as const).flatMap((k) =>
    (['p50', 'p90', 'p95', 'p99', 'max', 'mean'] as const).map((s) => [`${k.replace('_ms', '')}_${s}_ms`, (p: ProviderResult) => p[k]?.[s] ?? ''] as [string, (p: ProviderResult) => unknown]),
  ),
  ['output_tokens_per_s', (p) => p.output_tokens_per_s.aggregate],
  ['requests_per_s', (p) => p.requests_per_s],
  ['input_tokens', (p) => p.tokens.input],
  ['cached_input_tokens', (p) => p.tokens.cached_input],
  ['output_tokens', (p) => p.tokens.output],
  ['token_source', (p) => p.tokens.source],
  ['cost_usd', (p) => p.cost_usd],
  ['cost_per_1k_requests_usd', (p) => p.cost_per_1k_requests_usd],
  ['cost_per_1m_output_tokens_usd', (p) => p.cost_per_1m_output_tokens_usd],
  ['errors', (p) => Object.entries(p.errors).map(([k, v]) => `${k}:${v}`).join(' ')],
];

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function benchCsv(result: BenchResult, sort?: SortKey): string {
  const rows = [CSV_COLUMNS.map(([h]) => h).join(',')];
  for (const p of sortProviders(result.providers, sort)) rows.push(CSV_COLUMNS.map(([, f]) => csvCell(f(p))).join(','));
  return `${rows.join('\n')}\n`;
}

export function benchMarkdown(result: BenchResult, sort?: SortKey): string {
  const rows = [
    '| provider | model | ok/sent | errors | p50 | p95 | p99 | TTFT p50 | TTFT p95 | ITL p50 | tok/s | cost | $/1M out |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const p of sortProviders(result.providers, sort)) {
    rows.push(
      `| ${p.name} | ${p.model} | ${p.ok}/${p.requests} | ${pct(p.error_rate)} | ${ms(p.latency_ms, 'p50')} | ${ms(p.latency_ms, 'p95')} | ${ms(p.latency_ms, 'p99')} | ${ms(p.ttft_ms, 'p50')} | ${ms(p.ttft_ms, 'p95')} | ${ms(p.itl_ms, 'p50')} | ${p.output_tokens_per_s.aggregate?.toFixed(1) ?? '-'} | ${usd(p.cost_usd)} | ${usd(p.cost_per_1m_output_tokens_usd)} |`,
    );
  }
  const out = [`### llm-fallback bench${result.partial ? ' (partial)' : ''}`, '', ...rows, '', ...bestLines(result.providers).map((l) => `- ${l}`)];
  const failed = result.thresholds.filter((t) => !t.pass);
  if (result.thresholds.length) {
    out.push('', failed.length ? `**${failed.length} threshold(s) failed:**` : `All ${result.thresholds.length} threshold checks passed.`);
    for (const t of failed) out.push(`- ❌ \`${t.expression}\` — ${t.message}`);
  }
  return `${out.join('\n')}\n`;
}

export function thresholdLines(result: BenchResult): string[] {
  if (result.thresholds.length === 0) return [];
  const failed = result.thresholds.filter((t) => !t.pass);
  if (failed.length === 0) return [`Thresholds: all ${result.thresholds.length} checks passed.`];
  return [`Thresholds: ${failed.length} of ${result.thresholds.length} checks FAILED:`, ...failed.map((t) => `  ✗ ${t.expression} — ${t.message}`)];
}

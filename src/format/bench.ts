import { formatMs } from '../util/duration.js';
import type { Summary } from '../bench/histogram.js';
import { pricedCost, type BenchResult, type ProviderResult } from '../bench/result.js';
import { scheduleWarnings } from '../bench/schedule.js';
import { compactCount, csvCell, fitTable, markdownCell, naturalTableWidth, TEXT_WIDTH, usdCost as usd, wrapText } from './table.js';
import { moneyText } from './numbers.js';
import { goodputCsvColumns, goodputMarkdown, goodputTable } from './goodput.js';
import { sweepCsvColumns, sweepMarkdown, sweepTable } from './sweep.js';
import { repeatMarkdown, repeatTable } from './repeat.js';
import { workloadCsvColumns, workloadMarkdown, workloadTable } from './workload.js';

export const SORT_KEYS = ['name', 'latency', 'ttft', 'tps', 'cost', 'errors'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/** Compact: the figures people compare, within TEXT_WIDTH columns. Wide: every column. */
export interface TableOptions {
  sort?: SortKey;
  wide?: boolean;
}

const ms = (s: Summary | null, k: keyof Summary) => (s ? formatMs(s[k]) : '-');
// A rate too small for two decimals is not shown as 0.00%: some requests did fail.
const pct = (v: number | null) => (v === null ? '-' : v > 0 && v < 0.0001 ? '<0.01%' : `${(v * 100).toFixed(v > 0 && v < 0.01 ? 2 : 1)}%`);
/** "~" marks figures built on estimated token counts (the table, the markdown summary and the HTML report). */
export const est = (p: ProviderResult) => (p.tokens.source === 'estimated' || p.tokens.source === 'mixed' ? '~' : '');
const priced = (p: ProviderResult, v: number | null) => (p.price === null ? 'no price' : v === null ? '-' : `${est(p)}${usd(v)}`);

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
        // A provider without a price is unknown, not free: it sorts last.
        return p.price === null ? Infinity : (p.cost_per_1m_output_tokens_usd ?? Infinity);
      case 'errors':
        return p.error_rate ?? Infinity;
      default:
        return 0;
    }
  };
  return [...providers].sort((a, b) => (key === 'name' ? a.name.localeCompare(b.name) : val(a) - val(b)));
}

interface Column {
  head: string;
  align: 'left' | 'right';
  cell: (p: ProviderResult) => string;
  /** Shown only with --wide. */
  wide?: true;
  /** A shorter form of the cell, for a compact table that would not fit TEXT_WIDTH with every digit. */
  compact?: (p: ProviderResult) => string;
}

/** ok/sent from 100,000 in thousands; exact when the short forms would hide failures (106k/106k for 105738 of 105741). */
function compactOkSent(p: ProviderResult): string {
  const ok = compactCount(p.ok);
  const sent = compactCount(p.requests);
  return ok === sent && p.ok !== p.requests ? `${p.ok}/${p.requests}` : `${ok}/${sent}`;
}

/** Output tokens per second: one decimal below 100, whole numbers below 100,000, then thousands ("508k"). */
function compactRate(v: number): string {
  return v < 100 ? v.toFixed(1) : compactCount(Math.round(v));
}

/** The columns of the table and the markdown summary, in order; one list so both always agree. */
const COLUMNS: Column[] = [
  { head: 'provider', align: 'left', cell: (p) => p.name },
  { head: 'model', align: 'left', cell: (p) => p.model, wide: true },
  { head: 'ok/sent', align: 'right', cell: (p) => `${p.ok}/${p.requests}`, compact: compactOkSent },
  { head: 'cancelled', align: 'right', cell: (p) => String(p.cancelled), wide: true },
  { head: 'errors', align: 'right', cell: (p) => pct(p.error_rate) },
  { head: 'p50', align: 'right', cell: (p) => ms(p.latency_ms, 'p50') },
  { head: 'p95', align: 'right', cell: (p) => ms(p.latency_ms, 'p95') },
  { head: 'p99', align: 'right', cell: (p) => ms(p.latency_ms, 'p99') },
  { head: 'max', align: 'right', cell: (p) => ms(p.latency_ms, 'max'), wide: true },
  { head: 'TTFB p50', align: 'right', cell: (p) => ms(p.ttfb_ms, 'p50'), wide: true },
  { head: 'TTFT p50', align: 'right', cell: (p) => ms(p.ttft_ms, 'p50') },
  { head: 'TTFT p95', align: 'right', cell: (p) => ms(p.ttft_ms, 'p95') },
  { head: 'TTFT p99', align: 'right', cell: (p) => ms(p.ttft_ms, 'p99'), wide: true },
  { head: 'ITL p50', align: 'right', cell: (p) => ms(p.itl_ms, 'p50'), wide: true },
  // TPOT divides by the output tokens: estimated counts make it an estimate too.
  { head: 'TPOT p50', align: 'right', cell: (p) => (p.tpot_ms ? `${est(p)}${formatMs(p.tpot_ms.p50)}` : '-'), wide: true },
  {
    head: 'tok/s',
    align: 'right',
    cell: (p) => (p.output_tokens_per_s.aggregate === null ? '-' : `${est(p)}${p.output_tokens_per_s.aggregate.toFixed(1)}`),
    compact: (p) => (p.output_tokens_per_s.aggregate === null ? '-' : `${est(p)}${compactRate(p.output_tokens_per_s.aggregate)}`),
  },
  { head: 'req/s', align: 'right', cell: (p) => (p.requests_per_s === null ? '-' : p.requests_per_s.toFixed(2)), wide: true },
  { head: 'cost', align: 'right', cell: (p) => priced(p, p.cost_usd), wide: true },
  { head: '$/1k req', align: 'right', cell: (p) => priced(p, p.cost_per_1k_requests_usd), wide: true },
  { head: '$/1M out', align: 'right', cell: (p) => priced(p, p.cost_per_1m_output_tokens_usd) },
];

const columns = (wide: boolean | undefined) => COLUMNS.filter((c) => wide || !c.wide);

/** Open loop only: how well the client kept its schedule, per provider. */
const scheduleColumns = (result: BenchResult): Column[] => [
  { head: 'provider', align: 'left', cell: (p) => p.name },
  { head: 'target/s', align: 'right', cell: () => String(result.run.rate ?? '-') },
  { head: 'achieved/s', align: 'right', cell: (p) => (p.achieved_rate === null ? '-' : p.achieved_rate.toFixed(2)) },
  { head: 'send lag p50', align: 'right', cell: (p) => ms(p.send_lag_ms, 'p50') },
  { head: 'p99', align: 'right', cell: (p) => ms(p.send_lag_ms, 'p99') },
  { head: 'max', align: 'right', cell: (p) => ms(p.send_lag_ms, 'max') },
];

function scheduleTitle(result: BenchResult): string {
  return `Open loop, ${result.run.arrival ?? 'constant'} arrivals: rate per provider; send lag = actual − scheduled send time.`;
}

/** The fastest / cheapest / best-of-both lines, from the result's picks. */
export function bestLines(result: BenchResult): string[] {
  const { picks } = result;
  const byName = (n: string) => result.providers.find((p) => p.name === n)!;
  const rule = `${picks.min_success * 100}%`;
  if (!picks.fastest) return [`Best: none — no provider reached ${rule} success.`];
  const fastest = byName(picks.fastest);
  const lines = [`Fastest: ${fastest.name} (lowest p50 latency, ${formatMs(fastest.latency_ms!.p50)}, among providers with at least ${rule} success)`];
  if (picks.cheapest) lines.push(`Cheapest: ${picks.cheapest} (lowest cost per 1M output tokens, ${usd(byName(picks.cheapest).cost_per_1m_output_tokens_usd)}, among those with a price)`);
  else lines.push('Cheapest: none — no provider with enough success has a price in the config.');
  if (picks.best) lines.push(`Best of both: ${picks.best} (lowest sum of its latency rank and cost rank; ties go to the lower p50)`);
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

function tableOf(cols: Column[], providers: ProviderResult[], wide: boolean | undefined): string {
  const head = cols.map((c) => c.head);
  let rows = providers.map((p) => cols.map((c) => c.cell(p)));
  // Compact tables keep to TEXT_WIDTH: large counts and rates in thousands first (a run of 100,000 requests
  // at 500,000 tok/s), then shorter names and models. The JSON, CSV and markdown keep every digit.
  if (!wide && naturalTableWidth(head, rows) > TEXT_WIDTH) rows = providers.map((p) => cols.map((c) => (c.compact ?? c.cell)(p)));
  return fitTable(head, rows, cols.map((c) => c.align), wide ? {} : { maxWidth: TEXT_WIDTH, shrinkable: cols.flatMap((c, i) => (c.align === 'left' ? [i] : [])) });
}

export function benchTable(result: BenchResult, opts: TableOptions = {}): string {
  const providers = sortProviders(result.providers, opts.sort);
  const blocks = [tableOf(columns(opts.wide), providers, opts.wide)];
  if (result.run.mode === 'open') blocks.push(scheduleTitle(result), tableOf(scheduleColumns(result), providers, opts.wide));
  blocks.push(...goodputTable(result, providers, opts.wide));
  blocks.push(...sweepTable(result, providers, opts.wide));
  blocks.push(...repeatTable(result, providers, opts.wide));
  blocks.push(...workloadTable(result, providers, opts.wide));
  const prose: string[] = [];
  prose.push(...scheduleWarnings(result).map((w) => `WARNING: ${w}`));
  prose.push(...(providers.map(errorSummary).filter(Boolean) as string[]));
  if (providers.some((p) => est(p))) prose.push('~ token counts (and the tok/s, TPOT and cost built on them) are estimated: the server reported no usage for some requests.');
  prose.push(...bestLines(result));
  prose.push(
    `Latency counts from ${result.run.mode === 'open' ? 'each request’s scheduled send time' : 'the request being sent'}; TTFT = first non-empty content or reasoning token; tok/s = output tokens / measured wall time.${opts.wide ? ' ITL = every gap between chunks; TPOT = (end − first token) / (tokens − 1).' : ' --wide shows every column.'}`,
  );
  if (result.partial) prose.push('PARTIAL RESULT: the run was interrupted; figures cover what finished.');
  prose.push(...result.notes);
  return `${[...blocks, ...prose.flatMap((l) => wrapText(l))].join('\n')}\n`;
}

/** Money in the CSV as cost's CSV writes it: with its cents (moneyText); empty when unknown. */
const csvMoney = (v: number | null | undefined) => (v === null || v === undefined ? null : moneyText(v));

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
  // Empty for a provider without a price: its cost is unknown, not zero (the table says "no price").
  ['cost_usd', (p) => csvMoney(pricedCost(p, 'cost_usd'))],
  ['cost_per_1k_requests_usd', (p) => csvMoney(pricedCost(p, 'cost_per_1k_requests_usd'))],
  ['cost_per_1m_output_tokens_usd', (p) => csvMoney(pricedCost(p, 'cost_per_1m_output_tokens_usd'))],
  ['errors', (p) => Object.entries(p.errors).map(([k, v]) => `${k}:${v}`).join(' ')],
  // Added after the first release of this list: at the end, so readers taking columns by position keep working.
  ['cache_write_input_tokens', (p) => p.tokens.cache_write_input ?? 0],
];

export function benchCsv(result: BenchResult, sort?: SortKey): string {
  const columns = [...CSV_COLUMNS, ...goodputCsvColumns(result), ...sweepCsvColumns(result), ...workloadCsvColumns(result)];
  const rows = [columns.map(([h]) => h).join(',')];
  for (const p of sortProviders(result.providers, sort)) rows.push(columns.map(([, f]) => csvCell(f(p))).join(','));
  return `${rows.join('\n')}\n`;
}

function markdownTable(cols: Column[], providers: ProviderResult[]): string[] {
  return [
    `| ${cols.map((c) => c.head).join(' | ')} |`,
    `|${cols.map((c) => (c.align === 'right' ? '--:' : '---')).join('|')}|`,
    // The left-aligned columns hold names and models (config text); the figures are ours, their `~` mark kept as typed.
    ...providers.map((p) => `| ${cols.map((c) => (c.align === 'left' ? markdownCell(c.cell(p)) : c.cell(p))).join(' | ')} |`),
  ];
}

/** The same columns as the table (compact, or every one with wide), for a GitHub step summary. */
export function benchMarkdown(result: BenchResult, opts: TableOptions = {}): string {
  const providers = sortProviders(result.providers, opts.sort);
  const out = [`### llm-fallback bench${result.partial ? ' (partial)' : ''}`, '', ...markdownTable(columns(opts.wide), providers), ...goodputMarkdown(result, providers), ...sweepMarkdown(result, providers), ...repeatMarkdown(result, providers), ...workloadMarkdown(result, providers, opts.wide)];
  if (result.run.mode === 'open') out.push('', scheduleTitle(result), '', ...markdownTable(scheduleColumns(result), providers));
  const warnings = scheduleWarnings(result);
  // Warnings and picks name providers: their names are config text, escaped as in the table.
  out.push('', ...warnings.map((w) => `- ⚠️ ${markdownCell(w)}`), ...bestLines(result).map((l) => `- ${markdownCell(l)}`));
  const failed = result.thresholds.filter((t) => !t.pass);
  if (result.thresholds.length) {
    out.push('', failed.length ? `**${failed.length} threshold(s) failed:**` : `All ${result.thresholds.length} threshold checks passed.`);
    for (const t of failed) out.push(`- ❌ \`${t.expression}\` — ${markdownCell(t.message)}`);
  }
  return `${out.join('\n')}\n`;
}

export function thresholdLines(result: BenchResult): string[] {
  if (result.thresholds.length === 0) return [];
  const failed = result.thresholds.filter((t) => !t.pass);
  if (failed.length === 0) return [`Thresholds: all ${result.thresholds.length} checks passed.`];
  return [`Thresholds: ${failed.length} of ${result.thresholds.length} checks FAILED:`, ...failed.flatMap((t) => wrapText(`  ✗ ${t.expression} — ${t.message}`, TEXT_WIDTH, '    '))];
}

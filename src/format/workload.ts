import type { BenchResult, ProviderResult } from '../bench/result.js';
import type { WorkloadReport } from '../bench/workloads/stats.js';
import { formatMs } from '../util/duration.js';
import { fitTable, markdownCell, TEXT_WIDTH, wrapText } from './table.js';

/** The workload figures (src/bench/workloads/), printed under the main table when the run had a workload flag. */

interface Col {
  head: string;
  /** Shown only with --wide (the compact table keeps to 100 columns). */
  wide?: true;
  cell: (w: WorkloadReport) => string;
  csv: string;
  value: (w: WorkloadReport) => unknown;
}

const n = (v: number | null | undefined) => (v === null || v === undefined ? '-' : String(v));
const ratio = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${v.toFixed(2)}×`);
const share = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${(v * 100).toFixed(1)}%`);
const p50 = (s: { p50: number } | null | undefined) => (s ? formatMs(s.p50) : '-');

/** Only the column groups the run has: input always, output with --output-tokens or a trace, cache with a shared prefix or a trace. */
function cols(result: BenchResult, wide: boolean | undefined): Col[] {
  return allCols(result).filter((c) => wide || !c.wide);
}

function allCols(result: BenchResult): Col[] {
  const reports = result.providers.map((p) => p.workload).filter((w): w is WorkloadReport => Boolean(w));
  const out: Col[] = [
    { head: 'in asked', cell: (w) => n(w.input_tokens.requested_mean), csv: 'input_tokens_requested_mean', value: (w) => w.input_tokens.requested_mean },
    { head: 'in reported', wide: true, cell: (w) => n(w.input_tokens.reported_mean), csv: 'input_tokens_reported_mean', value: (w) => w.input_tokens.reported_mean },
    { head: 'in ratio', cell: (w) => ratio(w.input_tokens.ratio), csv: 'input_tokens_ratio', value: (w) => w.input_tokens.ratio },
  ];
  if (reports.some((w) => w.output_tokens)) {
    out.push(
      { head: 'out asked', cell: (w) => n(w.output_tokens?.requested_mean), csv: 'output_tokens_requested_mean', value: (w) => w.output_tokens?.requested_mean },
      { head: 'out reported', cell: (w) => n(w.output_tokens?.reported_mean), csv: 'output_tokens_reported_mean', value: (w) => w.output_tokens?.reported_mean },
      { head: 'asked by', wide: true, cell: (w) => w.output_tokens?.control ?? '-', csv: 'output_control', value: (w) => w.output_tokens?.control },
    );
  }
  if (reports.some((w) => w.prompt_cache)) {
    out.push(
      { head: 'cached', cell: (w) => share(w.prompt_cache?.cached_share), csv: 'cached_share', value: (w) => w.prompt_cache?.cached_share },
      { head: 'hit/miss', wide: true, cell: (w) => (w.prompt_cache ? `${w.prompt_cache.cached_requests}/${w.prompt_cache.uncached_requests}` : '-'), csv: 'cached_requests', value: (w) => w.prompt_cache?.cached_requests },
      { head: 'TTFT hit p50', cell: (w) => p50(w.prompt_cache?.ttft_cached_ms), csv: 'ttft_cached_p50_ms', value: (w) => w.prompt_cache?.ttft_cached_ms?.p50 },
      { head: 'TTFT miss p50', cell: (w) => p50(w.prompt_cache?.ttft_uncached_ms), csv: 'ttft_uncached_p50_ms', value: (w) => w.prompt_cache?.ttft_uncached_ms?.p50 },
    );
  }
  return out;
}

function turnCount(result: BenchResult): number {
  return Math.max(0, ...result.providers.map((p) => p.workload?.turns?.length ?? 0));
}

function caption(result: BenchResult): string {
  const w = result.run.workload;
  const tok = w?.tokenizer ?? 'o200k_base';
  const parts = [`Tokens asked for are counted with ${tok}; reported = the server's usage (its own tokenizer and chat template: the ratio shows the difference).`];
  if (allCols(result).some((c) => c.head === 'asked by')) parts.push('Output is asked for by ignore_eos/min_tokens (vLLM and SGLang servers) or by an instruction in the prompt (asked by, with --wide).');
  if (allCols(result).some((c) => c.head === 'cached')) parts.push('cached = cached input tokens / input tokens; TTFT hit/miss = of requests with / without cached tokens.');
  return parts.join(' ');
}

const rowsOf = (providers: ProviderResult[], list: Col[]) => providers.filter((p) => p.workload).map((p) => [p.name, ...list.map((c) => c.cell(p.workload!))]);

const turnHeads = (k: number) => Array.from({ length: k }, (_, i) => `turn ${i + 1} TTFT p50`);
const turnRows = (providers: ProviderResult[], k: number) => providers.filter((p) => p.workload?.turns).map((p) => [p.name, ...Array.from({ length: k }, (_, i) => p50(p.workload!.turns![i]?.ttft_ms))]);

export function workloadTable(result: BenchResult, providers: ProviderResult[], wide?: boolean): string[] {
  if (!providers.some((p) => p.workload)) return [];
  const list = cols(result, wide);
  const fit = (heads: string[], rows: string[][]) => fitTable(heads, rows, heads.map((_, i) => (i === 0 ? 'left' : 'right')), wide ? {} : { maxWidth: TEXT_WIDTH, shrinkable: [0] });
  const out = [fit(['provider', ...list.map((c) => c.head)], rowsOf(providers, list)), ...wrapText(caption(result))];
  const k = turnCount(result);
  if (k) out.push(fit(['provider', ...turnHeads(k)], turnRows(providers, k)), ...wrapText(`Multi-turn sessions of ${k} requests, each carrying the earlier turns: TTFT per turn.`));
  return out;
}

export function workloadMarkdown(result: BenchResult, providers: ProviderResult[], wide?: boolean): string[] {
  if (!providers.some((p) => p.workload)) return [];
  const table = (heads: string[], rows: string[][]) => [`| ${heads.join(' | ')} |`, `|---|${heads.slice(1).map(() => '--:|').join('')}`, ...rows.map(([name, ...figures]) => `| ${[markdownCell(name), ...figures].join(' | ')} |`)];
  const list = cols(result, wide);
  const out = ['', ...table(['provider', ...list.map((c) => c.head)], rowsOf(providers, list)), '', caption(result)];
  const k = turnCount(result);
  if (k) out.push('', ...table(['provider', ...turnHeads(k)], turnRows(providers, k)));
  return out;
}

/** CSV columns appended when the run had a workload flag. */
export function workloadCsvColumns(result: BenchResult): [string, (p: ProviderResult) => unknown][] {
  if (!result.providers.some((p) => p.workload)) return [];
  const k = turnCount(result);
  return [
    ...allCols(result).map((c) => [c.csv, (p: ProviderResult) => (p.workload ? c.value(p.workload) : null)] as [string, (p: ProviderResult) => unknown]),
    ...Array.from({ length: k }, (_, i) => [`turn_${i + 1}_ttft_p50_ms`, (p: ProviderResult) => p.workload?.turns?.[i]?.ttft_ms?.p50] as [string, (p: ProviderResult) => unknown]),
  ];
}

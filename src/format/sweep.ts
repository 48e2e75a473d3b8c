import type { BenchResult, ProviderResult } from '../bench/result.js';
import type { SweepResult, SweepStep, SweepStop } from '../bench/sweep.js';
import { formatMs } from '../util/duration.js';
import { moneyText } from './numbers.js';
import { fitTable, markdownCell, TEXT_WIDTH, usdCost, wrapText } from './table.js';

/** The capacity search (`--sweep`) under the main table: a summary per provider, then each provider's steps. */

const share = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);
const ms = (v: number | null) => (v === null ? '-' : formatMs(v));
const perSecond = (v: number | null) => (v === null ? '-' : `${Number(v.toFixed(2))}/s`);

/** Why a provider's search ended, in words. */
export const STOP_REASONS: Record<SweepStop, string> = {
  converged: 'converged',
  ceiling: 'hit the rate ceiling',
  none_passed: 'no level met the target',
  error_rate: 'stopped: error rate',
  max_requests: 'stopped: --max-requests',
  max_cost: 'stopped: --max-cost',
  max_steps: 'stopped: step limit',
  interrupted: 'interrupted',
};

const level = (s: SweepResult, v: number | null) => (v === null ? '-' : s.mode === 'rate' ? `${v}/s` : String(v));
const maxOf = (s: SweepResult) => (s.mode === 'rate' ? s.max_rate : s.max_concurrency);

/** One line per finished step on stderr while the search runs. */
export function sweepProgressLine(name: string, step: SweepStep): string {
  const at = step.rate !== null ? `${step.rate}/s (sent ${perSecond(step.achieved_rate)})` : `concurrency ${step.concurrency} (${perSecond(step.achieved_rate)})`;
  return `  ${name}: ${at} — ${step.requests} requests, attainment ${share(step.attainment)}, latency p95 ${ms(step.latency_p95_ms)}, errors ${share(step.error_rate)} → ${step.verdict}`;
}

function swept(providers: ProviderResult[]): (ProviderResult & { sweep: SweepResult })[] {
  return providers.filter((p): p is ProviderResult & { sweep: SweepResult } => Boolean(p.sweep));
}

export function sweepCaption(result: BenchResult): string {
  const run = result.run.sweep!;
  const slos = (result.run.slo ?? []).map((s) => s.expression).join(', ');
  return `Capacity search (--sweep ${run.mode}): steps of ${formatMs(run.step_duration_ms)}, doubling from ${run.start}${run.mode === 'rate' ? '/s' : ''} then bisecting; a step passes when ${share(run.target_attainment)} of its requests succeed and meet ${slos}. max = the highest level that passed; first failing = the lowest that did not.`;
}

const SUMMARY_HEAD = ['provider', 'max', 'first failing', 'steps', 'requests', 'cost', 'search'];
const summaryRow = (p: ProviderResult & { sweep: SweepResult }) => [p.name, level(p.sweep, maxOf(p.sweep)), level(p.sweep, p.sweep.first_failing), String(p.sweep.steps.length), String(p.sweep.requests), p.price ? usdCost(p.sweep.cost_usd) : 'no price', STOP_REASONS[p.sweep.stop_reason]];

const STEP_HEAD = ['level', 'achieved', 'attainment', 'TTFT p95', 'latency p95', 'errors', 'requests', 'verdict'];
const stepRow = (s: SweepResult, x: SweepStep) => [level(s, x.rate ?? x.concurrency), perSecond(x.achieved_rate), share(x.attainment), ms(x.ttft_p95_ms), ms(x.latency_p95_ms), share(x.error_rate), String(x.requests), x.verdict];

export function sweepTable(result: BenchResult, providers: ProviderResult[], wide?: boolean): string[] {
  const rows = swept(providers);
  if (rows.length === 0) return [];
  const fit = (head: string[], body: string[][]) => fitTable(head, body, head.map((_, i) => (i === 0 || i === head.length - 1 ? 'left' : 'right')), wide ? {} : { maxWidth: TEXT_WIDTH, shrinkable: [0] });
  return [
    ...wrapText(sweepCaption(result)),
    fit(SUMMARY_HEAD, rows.map(summaryRow)),
    ...rows.flatMap((p) => [`Steps of ${p.name}, in the order run:`, fit(STEP_HEAD, p.sweep.steps.map((x) => stepRow(p.sweep, x)))]),
  ];
}

export function sweepMarkdown(result: BenchResult, providers: ProviderResult[]): string[] {
  const rows = swept(providers);
  if (rows.length === 0) return [];
  const md = (head: string[], body: string[][]) => [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 || i === head.length - 1 ? '---' : '--:')).join('|')}|`, ...body.map(([first, ...rest]) => `| ${[markdownCell(first), ...rest].join(' | ')} |`)];
  return ['', sweepCaption(result), '', ...md(SUMMARY_HEAD, rows.map(summaryRow)), ...rows.flatMap((p) => ['', `Steps of ${markdownCell(p.name)}:`, '', ...md(STEP_HEAD, p.sweep.steps.map((x) => stepRow(p.sweep, x)))])];
}

/** CSV columns appended when the run was a capacity search. */
export function sweepCsvColumns(result: BenchResult): [string, (p: ProviderResult) => unknown][] {
  if (!result.run.sweep) return [];
  return [
    [result.run.sweep.mode === 'rate' ? 'sweep_max_rate' : 'sweep_max_concurrency', (p) => (p.sweep ? maxOf(p.sweep) : null)],
    ['sweep_first_failing', (p) => p.sweep?.first_failing],
    ['sweep_stop_reason', (p) => p.sweep?.stop_reason],
    ['sweep_steps', (p) => p.sweep?.steps.length],
    ['sweep_requests', (p) => p.sweep?.requests],
    ['sweep_cost_usd', (p) => (p.sweep ? moneyText(p.sweep.cost_usd) : null)],
  ];
}

import type { BenchResult, ProviderResult } from '../bench/result.js';
import { fitTable, markdownCell, TEXT_WIDTH, wrapText } from './table.js';

/** Goodput and per-SLO pass rates, printed under the main table only when the run had `--slo`. */

const share = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${(v * 100).toFixed(1)}%`);
const perSecond = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(2));

function sloHeads(result: BenchResult): string[] {
  return (result.run.slo ?? []).map((s) => s.expression);
}

function rows(result: BenchResult, providers: ProviderResult[]): string[][] {
  return providers.map((p) => [p.name, `${p.goodput?.good ?? 0}/${p.goodput?.measured ?? 0}`, share(p.goodput?.attainment), perSecond(p.goodput?.requests_per_s), ...sloHeads(result).map((_, i) => share(p.goodput?.slos[i]?.pass_rate))]);
}

export function goodputCaption(result: BenchResult): string {
  return `Goodput: a request is good when it succeeded and met every SLO (${sloHeads(result).join(', ')}); attainment = good / measured requests, failures included.`;
}

export function goodputTable(result: BenchResult, providers: ProviderResult[], wide?: boolean): string[] {
  if (!result.run.slo?.length) return [];
  const heads = sloHeads(result);
  const align = ['left', 'right', 'right', 'right', ...heads.map(() => 'right' as const)] as ('left' | 'right')[];
  // Like the main table: within TEXT_WIDTH unless --wide, the provider column giving way first.
  const table = fitTable(['provider', 'good', 'attainment', 'goodput/s', ...heads], rows(result, providers), align, wide ? {} : { maxWidth: TEXT_WIDTH, shrinkable: [0] });
  return [table, ...wrapText(goodputCaption(result))];
}

export function goodputMarkdown(result: BenchResult, providers: ProviderResult[]): string[] {
  if (!result.run.slo?.length) return [];
  const heads = sloHeads(result);
  return [
    '',
    `| provider | good | attainment | goodput/s | ${heads.map((h) => `\`${h}\``).join(' | ')} |`,
    `|---|--:|--:|--:|${heads.map(() => '--:|').join('')}`,
    ...rows(result, providers).map(([name, ...figures]) => `| ${[markdownCell(name), ...figures].join(' | ')} |`),
    '',
    goodputCaption(result),
  ];
}

/** CSV columns appended when the run had SLOs: goodput, attainment, then each SLO's pass rate. */
export function goodputCsvColumns(result: BenchResult): [string, (p: ProviderResult) => unknown][] {
  if (!result.run.slo?.length) return [];
  return [
    ['goodput_requests_per_s', (p) => p.goodput?.requests_per_s],
    ['goodput_attainment', (p) => p.goodput?.attainment],
    ...result.run.slo.map((s, i) => [`slo_${s.metric}_pass_rate`, (p: ProviderResult) => p.goodput?.slos[i]?.pass_rate] as [string, (p: ProviderResult) => unknown]),
  ];
}

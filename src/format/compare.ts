import type { CompareRow, Comparison } from '../bench/compare.js';
import { MIN_SAMPLE } from '../bench/stats.js';
import { formatMs } from '../util/duration.js';
import { fixedText } from './numbers.js';
import { makeTable, markdownCell, usdCost, wrapText } from './table.js';

function value(kind: CompareRow['kind'], v: number | null): string {
  if (v === null) return '-';
  if (kind === 'ms') return formatMs(v);
  if (kind === 'ratio') return `${(v * 100).toFixed(2)}%`;
  if (kind === 'usd') return usdCost(v);
  return v.toFixed(1);
}

function change(r: CompareRow): string {
  if (r.change === null) return r.regression ? 'no data now' : '-';
  // A change always carries its sign, "+" for none; its sign is that of the figure shown, so -0.04 % is +0.0%, not -0.0%.
  const shown = fixedText(r.change * 100, r.kind === 'ratio' ? 2 : 1);
  const signed = `${shown.startsWith('-') ? '' : '+'}${shown}`;
  return r.kind === 'ratio' ? `${signed} pts` : `${signed}%`;
}

/** The verdict column: a regression with its p-value, or why a worsening beyond the tolerance is not one. */
function verdict(r: CompareRow): string {
  const p = r.p === null ? '' : ` (p=${r.p < 0.001 ? '<0.001' : r.p.toFixed(3)})`;
  if (r.regression) return `REGRESSION${p}`;
  if (r.noise === 'within') return `within noise${p}`;
  if (r.noise === 'too_small') return 'sample too small to judge';
  return '';
}

export function compareTable(c: Comparison, tolerance: number): string {
  const t = makeTable(['provider', 'metric', 'base', 'now', 'change', ''], ['left', 'left', 'right', 'right', 'right', 'left']);
  for (const r of c.rows) t.push([r.provider, r.label, value(r.kind, r.base), value(r.kind, r.current), change(r), verdict(r)]);
  const lines = [t.toString()];
  if (c.missing.length) lines.push(`Not in the new result: ${c.missing.join(', ')}`);
  if (c.added.length) lines.push(`New in this result (nothing to compare): ${c.added.join(', ')}`);
  lines.push(c.regressions ? `${c.regressions} regression(s) beyond ${(tolerance * 100).toFixed(0)}%.` : `No regression beyond ${(tolerance * 100).toFixed(0)}%.`);
  lines.push(`A worsening beyond the tolerance counts only when the per-request data put it outside the noise: one-sided Mann-Whitney U on the histograms (Fisher's exact test for the error rate), p < ${c.alpha}; cost has no per-request data and counts on the tolerance alone.`);
  if (c.runLevel) lines.push('Both results hold repeated runs (bench --repeat): latency, TTFT, tok/s, error rate and $/1k are compared run against run instead (one-sided exact Mann-Whitney U on each run\'s own figure).');
  if (c.undecided) lines.push(`${c.undecided} worsening(s) beyond the tolerance on samples too small to judge (fewer than ${MIN_SAMPLE} requests a side, too few failures, or too few repeated runs, e.g. 3 against 3): run more requests or more --repeat runs.`);
  // Prose keeps to 100 columns, as bench's does; the table is as wide as its figures.
  return `${[lines[0], ...lines.slice(1).flatMap((l) => wrapText(l))].join('\n')}\n`;
}

export function compareMarkdown(c: Comparison): string {
  const rows = ['| provider | metric | base | now | change | |', '|---|---|--:|--:|--:|---|'];
  for (const r of c.rows) rows.push(`| ${markdownCell(r.provider)} | ${r.label} | ${value(r.kind, r.base)} | ${value(r.kind, r.current)} | ${change(r)} | ${r.regression ? `❌ ${verdict(r).toLowerCase()}` : verdict(r)} |`);
  return `${rows.join('\n')}\n`;
}

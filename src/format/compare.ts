import type { CompareRow, Comparison } from '../bench/compare.js';
import { formatMs } from '../util/duration.js';
import { makeTable, usdCost } from './table.js';

function value(kind: CompareRow['kind'], v: number | null): string {
  if (v === null) return '-';
  if (kind === 'ms') return formatMs(v);
  if (kind === 'ratio') return `${(v * 100).toFixed(2)}%`;
  if (kind === 'usd') return usdCost(v);
  return v.toFixed(1);
}

function change(r: CompareRow): string {
  if (r.change === null) return r.regression ? 'no data now' : '-';
  if (r.kind === 'ratio') return `${r.change >= 0 ? '+' : ''}${(r.change * 100).toFixed(2)} pts`;
  return `${r.change >= 0 ? '+' : ''}${(r.change * 100).toFixed(1)}%`;
}

export function compareTable(c: Comparison, tolerance: number): string {
  const t = makeTable(['provider', 'metric', 'base', 'now', 'change', ''], ['left', 'left', 'right', 'right', 'right', 'left']);
  for (const r of c.rows) t.push([r.provider, r.label, value(r.kind, r.base), value(r.kind, r.current), change(r), r.regression ? 'REGRESSION' : '']);
  const lines = [t.toString()];
  if (c.missing.length) lines.push(`Not in the new result: ${c.missing.join(', ')}`);
  if (c.added.length) lines.push(`New in this result (nothing to compare): ${c.added.join(', ')}`);
  lines.push(c.regressions ? `${c.regressions} regression(s) beyond ${(tolerance * 100).toFixed(0)}%.` : `No regression beyond ${(tolerance * 100).toFixed(0)}%.`);
  return `${lines.join('\n')}\n`;
}

export function compareMarkdown(c: Comparison): string {
  const rows = ['| provider | metric | base | now | change | |', '|---|---|--:|--:|--:|---|'];
  for (const r of c.rows) rows.push(`| ${r.provider} | ${r.label} | ${value(r.kind, r.base)} | ${value(r.kind, r.current)} | ${change(r)} | ${r.regression ? '❌ regression' : ''} |`);
  return `${rows.join('\n')}\n`;
}

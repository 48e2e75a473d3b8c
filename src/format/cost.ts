import type { ChainBlend, Money, PriceRow, ProjectionRow, Workload } from '../cost/project.js';
import { moneyText, percentShares, percentText, reportJson } from './numbers.js';
import { csvCell, fitTable, markdownCell as md, TEXT_WIDTH, usd, wrapText } from './table.js';

export interface CostReport {
  currency: Money;
  prices: PriceRow[];
  workload: Workload | null;
  projection: ProjectionRow[];
  baseline: string | null;
  chain: ChainBlend | null;
  /** Stale or undated prices, one line each. */
  notes: string[];
}

function symbol(m: Money): string {
  return m.code === 'USD' ? '$' : m.code === 'CNY' ? '¥' : `${m.code} `;
}

function money(v: number | null, m: Money): string {
  if (v === null) return '-';
  if (v === 0) return `${symbol(m)}0.00`;
  const abs = Math.abs(v);
  const digits = abs >= 100 ? 0 : abs >= 1 ? 2 : abs >= 0.01 ? 3 : 4;
  const s = abs.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return `${v < 0 ? '-' : ''}${symbol(m)}${s}`;
}

function perM(v: number, m: Money): string {
  return usd(Number(v.toPrecision(6))).replace('$', symbol(m));
}

const tokens = (n: number) => (n >= 1e9 ? `${+(n / 1e9).toFixed(2)}B` : n >= 1e6 ? `${+(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)}k` : `${Math.round(n)}`);

/** Why a chain's blend is only a lower bound: the members it prices at 0 and the traffic they take. */
function unpricedShare(c: ChainBlend): string {
  const share = c.shares.filter((s) => c.unpriced.includes(s.provider)).reduce((a, s) => a + s.share, 0);
  return `${c.unpriced.join(', ')} ${c.unpriced.length === 1 ? 'has' : 'have'} no price in the config; ${(share * 100).toFixed(2)}% of the traffic is counted at 0`;
}

export function costTable(r: CostReport): string {
  const m = r.currency;
  const out: string[] = [];
  const conv = m.code === 'USD' ? 'USD' : `${m.code} at ${m.rate} per USD`;
  // Both tables keep to 100 columns: a long model name gives up characters, ending in "…" (JSON, CSV and markdown keep it whole);
  // the provider stays whole, as it is what a reader tells the rows by.
  const fit = { maxWidth: TEXT_WIDTH, shrinkable: [1] };
  const t = fitTable(
    [`provider`, 'model', `input /1M`, 'cached /1M', 'output /1M', 'context', 'priced'],
    r.prices.map((p) => [p.provider, p.model, perM(p.input, m), perM(p.cached_input, m), perM(p.output, m), p.context_window?.toLocaleString('en-US') ?? '-', p.priced_at ?? '-']),
    ['left', 'left', 'right', 'right', 'right', 'right', 'left'],
    fit,
  );
  out.push(`Prices per 1M tokens (${conv}), from the config; cheapest output first:`, t);
  if (r.workload) {
    const w = r.workload;
    out.push('', `Workload: ${tokens(w.inputTokens)} input (${Math.round(w.cachedShare * 100)}% cached) + ${tokens(w.outputTokens)} output tokens/day — ${w.source}`);
    const head = ['provider', 'model', 'daily', 'monthly (30 d)', 'yearly (365 d)'];
    if (r.baseline) head.push(`vs ${r.baseline} / year`);
    const rows: string[][] = [];
    for (const row of r.projection) {
      const cells = [row.provider, row.model, money(row.daily, m), money(row.monthly, m), money(row.yearly, m)];
      if (r.baseline) {
        cells.push(
          row.provider === r.baseline
            ? 'baseline'
            : row.vs_baseline_daily === null
              ? '-'
              : `${row.vs_baseline_daily < 0 ? 'saves' : 'costs'} ${money(Math.abs(row.vs_baseline_daily * 365), m)}${row.vs_baseline_pct === null ? '' : ` (${percentText(row.vs_baseline_pct, 0, { sign: true })})`}`,
        );
      }
      rows.push(cells);
    }
    out.push(fitTable(head, rows, ['left', 'left', 'right', 'right', 'right', 'right'], fit));
  }
  if (r.chain) {
    const c = r.chain;
    out.push(
      '',
      `Chain ${c.chain} with ${(c.fallover_rate * 100).toFixed(1)}% falling over at each step: ${percentShares(c.shares.map((s) => s.share)).map((pct, k) => `${c.shares[k].provider} ${pct}`).join(', ')}`,
      `  blended: ${money(c.daily, m)}/day, ${money(c.monthly, m)}/month, ${money(c.yearly, m)}/year`,
    );
    if (c.unpriced.length) out.push(`  a lower bound: ${unpricedShare(c)}`);
  }
  if (r.notes.length) out.push('', ...r.notes);
  // Prose keeps to the tables' 100 columns, as bench's does: a chain's shares and the price notes run long.
  return `${out.flatMap((l) => (l.includes('\n') ? [l] : wrapText(l, TEXT_WIDTH, `${/^ */.exec(l)![0]}  `))).join('\n')}\n`;
}

export function costMarkdown(r: CostReport): string {
  const m = r.currency;
  const rows = ['### llm-fallback cost', '', `| provider | model | input /1M | cached /1M | output /1M | context | priced |`, '|---|---|--:|--:|--:|--:|---|'];
  for (const p of r.prices) rows.push(`| ${md(p.provider)} | ${md(p.model)} | ${perM(p.input, m)} | ${perM(p.cached_input, m)} | ${perM(p.output, m)} | ${p.context_window ?? '-'} | ${md(p.priced_at ?? '-')} |`);
  if (r.workload) {
    rows.push('', '| provider | daily | monthly | yearly |', '|---|--:|--:|--:|');
    for (const row of r.projection) rows.push(`| ${md(row.provider)} | ${money(row.daily, m)} | ${money(row.monthly, m)} | ${money(row.yearly, m)} |`);
  }
  if (r.chain) rows.push('', `Chain **${md(r.chain.chain)}** blended: ${money(r.chain.daily, m)}/day, ${money(r.chain.monthly, m)}/month${r.chain.unpriced.length ? ` at least (${md(unpricedShare(r.chain))})` : ''}.`);
  if (r.notes.length) rows.push('', ...r.notes.map(md));
  return `${rows.join('\n')}\n`;
}

/**
 * `--format json`: the report with snake_case names throughout, as every other JSON output has
 * (the workload is held in camelCase inside the program).
 */
export function costJson(r: CostReport, unpriced: string[]): string {
  const w = r.workload;
  const workload = w && { input_tokens: w.inputTokens, output_tokens: w.outputTokens, cached_share: w.cachedShare, cache_write_share: w.cacheWriteShare ?? 0, source: w.source };
  // Every figure here is a price, an amount, a token volume or a share made from config prices and flags:
  // none has more than 12 meaningful digits, so each is written without its float noise.
  return reportJson({ ...r, workload, unpriced });
}

export function costCsv(r: CostReport): string {
  // New columns go at the end: a reader that takes columns by position keeps working.
  const lines = ['provider,model,currency,input_per_1m,cached_input_per_1m,output_per_1m,priced_at,daily,monthly,yearly,cache_write_per_1m'];
  for (const p of r.prices) {
    const proj = r.projection.find((x) => x.provider === p.provider);
    const amounts = proj ? [proj.daily, proj.monthly, proj.yearly].map(moneyText) : ['', '', ''];
    lines.push([p.provider, p.model, r.currency.code, moneyText(p.input), moneyText(p.cached_input), moneyText(p.output), p.priced_at ?? '', ...amounts, moneyText(p.cache_write)].map(csvCell).join(','));
  }
  return `${lines.join('\n')}\n`;
}

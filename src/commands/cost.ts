import { readResult } from '../bench/merge.js';
import { findChain, findProvider, loadConfig } from '../config/load.js';
import { blend, parseVolume, priceRows, project, USD, workloadFromResult, type Money, type Workload } from '../cost/project.js';
import { priceNotes } from '../cost/price-age.js';
import { UsageError } from '../errors.js';
import { costCsv, costJson, costMarkdown, costTable, type CostReport } from '../format/cost.js';
import { choiceFlag, intFlag, positiveNumberFlag, ratioFlag } from './options.js';

export interface CostOptions {
  outputTokens?: string;
  inputTokens?: string;
  cachedShare?: string;
  from?: string;
  requestsPerDay?: string;
  baseline?: string;
  chain?: string;
  falloverRate?: string;
  currency?: string;
  rate?: string;
  format: string;
}

function volume(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = parseVolume(v);
  if (n === undefined) throw new UsageError(`${flag}: "${v}" is not a token volume; write it like "10M/day", "300k" or "1.5B/month"`);
  return n;
}

export async function costCommand(names: string[], opts: CostOptions, global: { config?: string }): Promise<number> {
  const format = choiceFlag('--format', opts.format, ['table', 'json', 'markdown', 'csv'] as const)!;
  const cfg = loadConfig(global.config);
  const pick = (n: string) => findProvider(cfg, n, 'cost');
  const providers = names.length ? names.flatMap((n) => (cfg.chains.has(n) ? cfg.chains.get(n)!.providers.map(pick) : [pick(n)])) : [...cfg.providers.values()];

  let money: Money = cfg.currency ?? USD;
  if (opts.currency !== undefined) {
    const code = opts.currency.toUpperCase();
    if (!/^[A-Z]{3}$/.test(code)) throw new UsageError(`--currency: "${opts.currency}" is not a currency code; give the 3-letter ISO 4217 code (e.g. EUR, GBP, JPY)`);
    const given = positiveNumberFlag('--rate', opts.rate);
    // Prices are in USD: any other rate for USD would print wrong amounts labelled as dollars.
    if (code === 'USD' && given !== undefined && given !== 1) throw new UsageError(`--rate: prices are already in USD, so --currency USD takes no rate (got ${opts.rate}); leave --rate out, or name the currency it converts to (e.g. --currency CNY --rate ${opts.rate})`);
    const rate = given ?? (code === 'USD' ? 1 : cfg.currency?.code === code ? cfg.currency.rate : undefined);
    if (rate === undefined) throw new UsageError(`--currency ${code}: give the exchange rate with --rate (units of ${code} per USD), or set currency: {code: ${code}, rate: ...} in the config`);
    money = { code, rate };
  } else if (opts.rate !== undefined) {
    throw new UsageError('--rate: only with --currency CODE');
  }

  let workload: Workload | null = null;
  if (opts.from) {
    const rpd = intFlag('--requests-per-day', opts.requestsPerDay);
    if (rpd === undefined) throw new UsageError('--from: also give --requests-per-day N to scale the measured tokens per request');
    workload = workloadFromResult(readResult(opts.from, '--from'), rpd);
  } else if (opts.outputTokens !== undefined || opts.inputTokens !== undefined) {
    workload = {
      inputTokens: volume('--input-tokens', opts.inputTokens) ?? 0,
      outputTokens: volume('--output-tokens', opts.outputTokens) ?? 0,
      cachedShare: ratioFlag('--cached-share', opts.cachedShare) ?? 0,
      source: 'from the flags',
    };
    if (workload.cachedShare > 1) throw new UsageError(`--cached-share: "${opts.cachedShare}" is more than 100%`);
  } else if (opts.cachedShare || opts.requestsPerDay || opts.baseline || opts.falloverRate) {
    throw new UsageError('cost: give a workload (--output-tokens 10M/day, --input-tokens, or --from result.json --requests-per-day N) for a projection');
  }
  if (opts.baseline && !providers.some((p) => p.name === opts.baseline)) {
    throw new UsageError(`--baseline: "${opts.baseline}" is not among the providers priced here`);
  }
  let chain = null;
  if (opts.chain) {
    const c = findChain(cfg, opts.chain, '--chain');
    if (!workload) throw new UsageError('--chain: give a workload too (e.g. --output-tokens 10M/day)');
    const f = ratioFlag('--fallover-rate', opts.falloverRate ?? '5%')!;
    if (f > 1) throw new UsageError(`--fallover-rate: "${opts.falloverRate}" is more than 100%`);
    chain = blend(c.name, c.providers.map(pick), f, workload, money);
  }
  const report: CostReport = {
    currency: money,
    prices: priceRows(providers, money),
    workload,
    projection: workload ? project(providers, workload, money, opts.baseline) : [],
    baseline: opts.baseline ?? null,
    chain,
    notes: priceNotes(providers.filter((p) => p.price).map((p) => ({ name: p.name, pricedAt: p.price!.pricedAt })), new Date()),
  };
  const unpriced = providers.filter((p) => !p.price).map((p) => p.name);
  if (format === 'json') process.stdout.write(costJson(report, unpriced));
  else if (format === 'markdown') process.stdout.write(costMarkdown(report));
  else if (format === 'csv') process.stdout.write(costCsv(report));
  else {
    process.stdout.write(costTable(report));
    if (unpriced.length) process.stdout.write(`No price in the config for: ${unpriced.join(', ')}\n`);
  }
  return 0;
}

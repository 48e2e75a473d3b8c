import { fitTable, TEXT_WIDTH, usd, wrapText } from './table.js';
import { expandEnv } from '../config/load.js';
import type { Config } from '../config/types.js';
import { breakerKey, describeBreaker, type BreakerRecord } from '../state/breaker.js';
import { chooseRoute, describeRoute } from '../providers/proxy.js';

export interface ProviderRow {
  name: string;
  api: string;
  model: string;
  base_url: string;
  price_input: number | null;
  price_cached_input: number | null;
  price_output: number | null;
  priced_at: string | null;
  context_window: number | null;
  key_env: string | null;
  key_set: boolean;
  chains: string[];
  breaker: string;
  /** How requests reach it: `direct`, `direct (loopback)`, `direct (NO_PROXY)` or `http://proxy:3128 (HTTPS_PROXY)` (never the proxy's credentials). */
  route: string;
}

/** The route to a base URL under `env`, in words (`-` for a URL that is not one yet, e.g. an unset ${VAR}); a malformed proxy variable throws its UsageError. */
export function routeOf(baseUrl: string, env: NodeJS.ProcessEnv): string {
  let url: URL;
  try {
    url = new URL(expandEnv(baseUrl, env, []));
  } catch {
    return '-';
  }
  return describeRoute(chooseRoute(url, env));
}

/** The data behind `llm-fallback providers`; never contains a key, only whether its variable is set. */
export function providerRows(cfg: Config, env: NodeJS.ProcessEnv, breakers: Record<string, BreakerRecord> = {}): ProviderRow[] {
  return [...cfg.providers.values()].map((p) => ({
    name: p.name,
    api: p.api,
    model: p.model,
    base_url: p.baseUrl,
    price_input: p.price?.input ?? null,
    price_cached_input: p.price?.cachedInput ?? null,
    price_output: p.price?.output ?? null,
    priced_at: p.price?.pricedAt ?? null,
    context_window: p.contextWindow ?? null,
    key_env: p.apiKeyEnv ?? null,
    key_set: !p.apiKeyEnv || Boolean(env[p.apiKeyEnv]),
    chains: [...cfg.chains.values()].filter((c) => c.providers.includes(p.name)).map((c) => c.name),
    // The breaker key uses the expanded URL and model; unexpanded ${VAR}s simply find no record.
    breaker: describeBreaker(breakers[breakerKey(p.name, expandEnv(p.baseUrl, env, []), expandEnv(p.model, env, []))]),
    route: routeOf(p.baseUrl, env),
  }));
}

interface Column {
  head: string;
  align: 'left' | 'right';
  cell: (r: ProviderRow) => string;
  /** Shown only with --wide. */
  wide?: true;
  /** May be shortened (ending in "…") to keep the compact table within TEXT_WIDTH. */
  shrink?: true;
}

const COLUMNS: Column[] = [
  { head: 'provider', align: 'left', cell: (r) => r.name, shrink: true },
  { head: 'api', align: 'left', cell: (r) => r.api, wide: true },
  { head: 'model', align: 'left', cell: (r) => r.model, shrink: true },
  { head: 'in $/1M', align: 'right', cell: (r) => usd(r.price_input) },
  { head: 'cached $/1M', align: 'right', cell: (r) => usd(r.price_cached_input), wide: true },
  { head: 'out $/1M', align: 'right', cell: (r) => usd(r.price_output) },
  { head: 'priced', align: 'left', cell: (r) => r.priced_at ?? '-', wide: true },
  { head: 'context', align: 'right', cell: (r) => (r.context_window === null ? '-' : r.context_window.toLocaleString('en-US')), wide: true },
  { head: 'key', align: 'left', cell: (r) => (r.key_env === null ? 'none needed' : r.key_set ? 'set' : 'NOT SET') },
  { head: 'key variable', align: 'left', cell: (r) => r.key_env ?? '-', wide: true },
  { head: 'breaker', align: 'left', cell: (r) => r.breaker, shrink: true },
  { head: 'route', align: 'left', cell: (r) => r.route, wide: true },
];

/** Compact (within TEXT_WIDTH columns) unless wide; the variables still to set are listed under the table. */
export function providersTable(cfg: Config, rows: ProviderRow[], opts: { wide?: boolean } = {}): string {
  const cols = COLUMNS.filter((c) => opts.wide || !c.wide);
  const table = fitTable(
    cols.map((c) => c.head),
    rows.map((r) => cols.map((c) => c.cell(r))),
    cols.map((c) => c.align),
    opts.wide ? {} : { maxWidth: TEXT_WIDTH, shrinkable: cols.flatMap((c, i) => (c.shrink ? [i] : [])) },
  );
  const lines = [cfg.file, table];
  const unset = rows.filter((r) => r.key_env !== null && !r.key_set);
  if (unset.length && !opts.wide) lines.push(...wrapText(`Keys not set: ${unset.map((r) => `${r.key_env} (${r.name})`).join(', ')}.`));
  lines.push('Chains:', ...[...cfg.chains.values()].flatMap((c) => wrapText(`  ${c.name}: ${c.providers.join(' → ')}`, TEXT_WIDTH, '    ')));
  if (cfg.staticMessage) lines.push(...wrapText(`Static fallback message: "${cfg.staticMessage}"`));
  return `${lines.join('\n')}\n`;
}

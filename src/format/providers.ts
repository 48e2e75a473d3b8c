import { makeTable, usd } from './table.js';
import { expandEnv, type Config } from '../config/load.js';
import { breakerKey, describeBreaker, type BreakerRecord } from '../state/breaker.js';

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
  }));
}


export function providersTable(cfg: Config, rows: ProviderRow[]): string {
  const t = makeTable(['provider', 'api', 'model', 'in $/1M', 'cached $/1M', 'out $/1M', 'priced', 'context', 'key', 'breaker'], ['left', 'left', 'left', 'right', 'right', 'right', 'left', 'right', 'left', 'left']);
  for (const r of rows) {
    t.push([
      r.name,
      r.api,
      r.model,
      usd(r.price_input),
      usd(r.price_cached_input),
      usd(r.price_output),
      r.priced_at ?? '-',
      r.context_window === null ? '-' : r.context_window.toLocaleString('en-US'),
      r.key_env === null ? 'none needed' : `${r.key_env} ${r.key_set ? 'set' : 'NOT SET'}`,
      r.breaker,
    ]);
  }
  const chains = [...cfg.chains.values()].map((c) => `  ${c.name}: ${c.providers.join(' → ')}`).join('\n');
  return `${cfg.file}\n${t.toString()}\nChains:\n${chains}\n${cfg.staticMessage ? `Static fallback message: "${cfg.staticMessage}"\n` : ''}`;
}

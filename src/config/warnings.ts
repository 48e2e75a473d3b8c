import { isLoopbackHost } from '../providers/transport.js';
import { priceAgeDays, STALE_PRICE_DAYS } from '../cost/price-age.js';
import { envRefs, expandEnv, isSecretHeader, queryCredentials } from './load.js';
import type { Config } from './types.js';

/** UTC+14 (Kiribati's Line Islands): the first zone where a date begins. */
const LATEST_ZONE_MS = 14 * 3_600_000;

/**
 * What `config check` warns about: settings that are valid YAML and schema but fail later, at run time
 * (an endpoint path in base_url, an unset ${VAR}, a key over plain HTTP) or mislead (undated, old or
 * future-dated prices, a cached-input price above the input price).
 * Each warning is "file:line:col: warning: ...", pointing at the provider's entry.
 */
export function configWarnings(cfg: Config, env: NodeJS.ProcessEnv, asOf: Date): string[] {
  const out: string[] = [];
  for (const p of cfg.providers.values()) {
    const warn = (msg: string) => out.push(`${p.where}: warning: providers.${p.name}.${msg}`);
    const path = p.baseUrl.split('?')[0].replace(/\/+$/, '');
    const endpoint = /\/(chat\/completions|messages|completions)$/.exec(path)?.[0];
    if (endpoint) {
      warn(`base_url ends in ${endpoint}; give the API root (e.g. ${path.slice(0, -endpoint.length) || 'https://api.example.com/v1'}): the tool adds ${endpoint} itself`);
    }
    const fields: [string, string][] = [['base_url', p.baseUrl], ['model', p.model], ...Object.entries(p.headers).map(([k, v]): [string, string] => [`headers.${k}`, v])];
    for (const [field, value] of fields) {
      for (const name of envRefs(value)) if (env[name] === undefined) warn(`${field} uses \${${name}}, which is not set; export ${name}=... before using ${p.name}`);
    }
    const keyed = Boolean(p.apiKeyEnv) || Object.entries(p.headers).some(([k, v]) => isSecretHeader(k, v)) || queryCredentials(p.baseUrl).length > 0;
    let url: URL | undefined;
    try {
      url = new URL(expandEnv(p.baseUrl, env, []));
    } catch {
      url = undefined;
    }
    if (keyed && url?.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      warn(`base_url is plain http to ${url.host}, which is not loopback; ${p.name}'s key would be refused at run time: use https://`);
    }
    if (p.price && !p.price.pricedAt) warn(`price has no priced_at; add the date you read it (YYYY-MM-DD) so an old price can be flagged`);
    const age = priceAgeDays(p.price?.pricedAt, asOf);
    if (age !== undefined && age > STALE_PRICE_DAYS) warn(`price.priced_at is ${p.price!.pricedAt}, ${age} days ago; check the price and update priced_at`);
    // A date ahead would keep the price from ever being flagged as old: a typo of the year, most likely. Ahead
    // of the date it is anywhere now (UTC+14 reaches a date first): a user east of UTC writes their own today.
    const ahead = priceAgeDays(p.price?.pricedAt, new Date(asOf.getTime() + LATEST_ZONE_MS));
    if (ahead !== undefined && ahead < 0) warn(`price.priced_at is ${p.price!.pricedAt}, ${-ahead} day${ahead === -1 ? '' : 's'} ahead; give the date you read the price`);
    // Cache reads are billed at a fraction of input by every provider that has them: more is two fields swapped.
    if (p.price && p.price.cachedInput > p.price.input) warn(`price.cached_input (${p.price.cachedInput}) is above price.input (${p.price.input}); cached input is billed at a fraction of input: check the two are not swapped`);
  }
  return out;
}

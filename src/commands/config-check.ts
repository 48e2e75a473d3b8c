import { loadConfig } from '../config/load.js';
import { configWarnings } from '../config/warnings.js';
import { routeOf } from '../format/providers.js';
import { noProxyWarnings } from '../providers/proxy.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Validates the config (errors exit 2 through ConfigError) and prints warnings to stderr; warnings do not fail. */
export async function configCheckCommand(file: string | undefined): Promise<void> {
  const cfg = loadConfig(file);
  // Which providers a proxy variable sends through a proxy, and which NO_PROXY keeps direct (a malformed variable is a UsageError here: exit 2).
  const routes = new Map<string, string[]>();
  for (const p of cfg.providers.values()) {
    const route = routeOf(p.baseUrl, process.env);
    const shown = route === 'direct (NO_PROXY)' ? route : route.startsWith('http') ? `through proxy ${route}` : undefined;
    if (shown) routes.set(shown, [...(routes.get(shown) ?? []), p.name]);
  }
  // NO_PROXY entries that mean nothing are left out; said here, where a proxy variable decides a route.
  const warnings = [...configWarnings(cfg, process.env, new Date()), ...(routes.size ? noProxyWarnings(process.env) : [])];
  for (const w of warnings) process.stderr.write(`${w}\n`);
  const chains = [...cfg.chains.values()].map((c) => `${c.name} (${c.providers.length})`).join(', ');
  const tail = warnings.length ? `; ${plural(warnings.length, 'warning')} above` : '';
  process.stdout.write(`${cfg.file}: ok — ${plural(cfg.providers.size, 'provider')}, chains: ${chains}${tail}\n`);
  for (const [route, names] of routes) process.stdout.write(`${route}: ${names.join(', ')}\n`);
}

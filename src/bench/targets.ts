import { hasKey, requireSomeProviders, resolveProvider } from '../config/load.js';
import type { Config, ProviderConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import type { MockServer } from '../mock/server.js';
import { handleFrom, openProvider } from '../providers/handle.js';
import { closest } from '../util/suggest.js';
import type { BenchTarget } from './runner.js';
import type { WorkerTarget } from './workers.js';

/** Expands provider and chain names into provider configs, in order, without duplicates. */
/** `who` names the command in messages ("bench", "health"). */
export function selectProviders(cfg: Config, names: string[], env: NodeJS.ProcessEnv, who = 'bench'): ProviderConfig[] {
  if (names.length === 0) {
    requireSomeProviders(cfg);
    const withKeys = [...cfg.providers.values()].filter((p) => p.apiKeyEnv && hasKey(p, env));
    if (withKeys.length === 0) {
      const vars = [...cfg.providers.values()].flatMap((p) => (p.apiKeyEnv ? [p.apiKeyEnv] : []));
      const which = vars.length ? ` (${vars.slice(0, 3).join(', ')}${vars.length > 3 ? ', ...' : ''})` : '';
      throw new UsageError(
        `bench: no provider in ${cfg.file} has its API key set${which}; without names only providers with a key set are run: export a key, name providers explicitly (e.g. "bench ollama"), or try "llm-fallback bench --demo" (no keys needed)`,
      );
    }
    return withKeys;
  }
  const out: ProviderConfig[] = [];
  for (const name of names) {
    const chain = cfg.chains.get(name);
    const list = chain ? chain.providers : [name];
    for (const n of list) {
      const p = cfg.providers.get(n);
      if (!p) {
        const hint = closest(n, [...cfg.providers.keys(), ...cfg.chains.keys()]);
        // Without a near match, the names to choose from (as ask's --provider and --chain give them).
        const choices = `; providers: ${[...cfg.providers.keys()].join(', ')}${cfg.chains.size ? `; chains: ${[...cfg.chains.keys()].join(', ')}` : ''}`;
        throw new UsageError(`${who}: "${n}" is neither a provider nor a chain in ${cfg.file}${hint ? `; did you mean "${hint}"?` : choices}`);
      }
      if (!out.includes(p)) out.push(p);
    }
  }
  return out;
}

export function targetsFor(providers: ProviderConfig[], env: NodeJS.ProcessEnv): BenchTarget[] {
  return providers.map((p) => openProvider(p, env));
}

/** What worker threads rebuild their targets from (bench --workers): the adapter settings, key included, and the price. */
export function workerTargetsFor(providers: ProviderConfig[], env: NodeJS.ProcessEnv): WorkerTarget[] {
  return providers.map((p) => ({ settings: resolveProvider(p, env), price: p.price }));
}

/** bench --demo: the emulated article providers (the emulator is loaded only when asked for). */
export async function demoTargets(names: string[]): Promise<{ targets: BenchTarget[]; server: MockServer; sources: WorkerTarget[] }> {
  const { startDemo } = await import('../mock/demo.js');
  const { server, providers } = await startDemo(names, 'bench --demo');
  const targets = providers.map(({ config, settings }) => handleFrom(config, settings, `demo:${settings.name}`));
  return { targets, server, sources: providers.map(({ config, settings }) => ({ settings, price: config.price })) };
}

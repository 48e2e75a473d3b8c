import { loadConfig, resolveProvider, hasKey, SHIPPED_CONFIG, type Config, type ProviderConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { BUILTIN_PROFILES } from '../mock/profile.js';
import { startMock, type MockServer } from '../mock/server.js';
import { createAdapter } from '../providers/index.js';
import { closest } from '../util/suggest.js';
import type { BenchTarget } from './runner.js';

/** Expands provider and chain names into provider configs, in order, without duplicates. */
export function selectProviders(cfg: Config, names: string[], env: NodeJS.ProcessEnv): ProviderConfig[] {
  if (names.length === 0) {
    const withKeys = [...cfg.providers.values()].filter((p) => p.apiKeyEnv && hasKey(p, env));
    if (withKeys.length === 0) {
      const vars = [...cfg.providers.values()].map((p) => p.apiKeyEnv).filter(Boolean).slice(0, 3).join(', ');
      throw new UsageError(
        `bench: no provider in ${cfg.file} has its API key set (${vars}, ...); export a key, name providers explicitly (e.g. "bench ollama"), or try "llm-fallback bench --demo" (no keys needed)`,
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
        throw new UsageError(`bench: "${n}" is neither a provider nor a chain in ${cfg.file}${hint ? `; did you mean "${hint}"?` : ''}`);
      }
      if (!out.includes(p)) out.push(p);
    }
  }
  return out;
}

export function targetsFor(providers: ProviderConfig[], env: NodeJS.ProcessEnv): BenchTarget[] {
  return providers.map((p) => ({ name: p.name, model: p.model, api: p.api, price: p.price, adapter: createAdapter(resolveProvider(p, env)) }));
}

/**
 * The demo: the emulator started in-process on loopback with the article's four providers (their dialects,
 * different speeds, MiniMax flaky), priced with the shipped providers.yaml. No keys, no network.
 */
export async function demoTargets(names: string[]): Promise<{ targets: BenchTarget[]; server: MockServer }> {
  const profile = BUILTIN_PROFILES.demo();
  const shipped = loadConfig(SHIPPED_CONFIG);
  const wanted = names.length ? names : Object.keys(profile.providers);
  for (const n of wanted) {
    if (!profile.providers[n]) throw new UsageError(`bench --demo: "${n}" is not an emulated demo provider; choose from ${Object.keys(profile.providers).join(', ')}`);
  }
  const server = await startMock({ profile });
  const targets = wanted.map((name) => {
    const spec = profile.providers[name];
    const real = shipped.providers.get(name);
    const api = spec.dialect === 'anthropic' ? 'anthropic' : 'openai';
    return {
      name,
      model: spec.model,
      api,
      price: real?.price,
      adapter: createAdapter({
        name,
        api,
        baseUrl: server.baseUrl(name),
        model: spec.model,
        headers: {},
        params: {},
        timeouts: { connectMs: 2_000, firstTokenMs: 15_000, idleMs: 10_000, totalMs: 60_000 },
      }),
    } satisfies BenchTarget;
  });
  return { targets, server };
}

import { resolveProvider } from '../config/load.js';
import type { Price, ProviderConfig, TimeoutsMs } from '../config/types.js';
import { breakerKey } from '../state/breaker.js';
import { createAdapter, type ProviderSettings } from './index.js';
import type { ProviderAdapter } from './types.js';

/**
 * One provider as every engine sees it (bench runner, chain, health, gateway): its adapter, with what the
 * engines need beside it. Built here and only here, from the config entry and the environment.
 */
export interface ProviderHandle {
  name: string;
  /** The model actually asked for (after ${VAR} expansion). */
  model: string;
  api: 'openai' | 'anthropic';
  adapter: ProviderAdapter;
  price?: Price;
  contextWindow?: number;
  /** The configured per-attempt clocks; the chain's learnt ones never exceed them. */
  timeouts: TimeoutsMs;
  /** Identifies provider + endpoint + model in the breaker state and the latency history. */
  breakerKey: string;
  /** `required: true` in providers.yaml: health fails when it is down. */
  required: boolean;
  /** Where its requests go: the base URL's host and port (telemetry's server.address / server.port). */
  server: ServerAddress;
}

export interface ServerAddress {
  /** The host alone: a URL's userinfo (user:key@) and path are never part of it; IPv6 without brackets. */
  address: string;
  port: number;
}

/** A base URL's host and port, the scheme's default port when none is written. */
export function serverAddress(baseUrl: string): ServerAddress {
  const u = new URL(baseUrl);
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  return { address: u.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

/** Opens a provider from its config entry: the key is read from `env` (a ConfigError names the variable if unset). */
export function openProvider(p: ProviderConfig, env: NodeJS.ProcessEnv = process.env, overrides: { model?: string } = {}): ProviderHandle {
  const settings = resolveProvider(overrides.model ? { ...p, model: overrides.model } : p, env);
  return handleFrom(p, settings, breakerKey(p.name, settings.baseUrl, settings.model));
}

/** A handle for adapter settings built elsewhere (the demo points the shipped entries at the emulator). */
export function handleFrom(p: ProviderConfig, settings: ProviderSettings, key: string): ProviderHandle {
  return {
    name: settings.name,
    model: settings.model,
    api: settings.api,
    adapter: createAdapter(settings),
    price: p.price,
    contextWindow: p.contextWindow,
    timeouts: p.timeouts,
    breakerKey: key,
    required: p.required,
    server: serverAddress(settings.baseUrl),
  };
}

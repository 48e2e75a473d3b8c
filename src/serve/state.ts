/**
 * The stores a gateway keeps across config reloads (breaker state, answer cache, latency history):
 * memory by default, or a Redis shared by replicas (src/state/stores.ts).
 */
import type { Config } from '../config/types.js';
import { CALL_DEFAULTS } from '../defaults.js';
import { openStores, type StateStores } from '../state/stores.js';

export type ServeStores = StateStores;

export function openServeStores(opts: { url: string; source?: string; config: Config; env: NodeJS.ProcessEnv; warn: (m: string) => void }): Promise<ServeStores> {
  const a = opts.config.ask;
  return openStores({ url: opts.url, source: opts.source, breaker: { failures: a.breakerFailures, cooldownMs: a.breakerCooldownMs, probeTimeoutMs: CALL_DEFAULTS.deadlineMs }, cacheTtlMs: a.cacheTtlMs, env: opts.env, warn: opts.warn });
}

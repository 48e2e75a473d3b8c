/**
 * The stores a gateway keeps across config reloads: breaker state, answer cache, latency history.
 * (Memory only until the shared stores, src/state/stores.ts, land; then this opens them.)
 */
import type { Config } from '../config/types.js';
import { CALL_DEFAULTS } from '../defaults.js';
import { UsageError } from '../errors.js';
import { MemoryBreakers, type Breakers } from '../state/breaker.js';
import { MemoryAnswerCache, type AnswerCache } from '../state/cache.js';
import { MemoryLatencyHistory, type LatencyHistory } from '../state/latency.js';

export interface ServeStores {
  breakers: Breakers;
  cache: AnswerCache;
  history: LatencyHistory;
  describe: string;
  close(): Promise<void>;
}

export async function openServeStores(opts: { url: string; config: Config; env: NodeJS.ProcessEnv; warn: (m: string) => void }): Promise<ServeStores> {
  if (opts.url !== 'memory') throw new UsageError(`--state ${opts.url}: only memory is available in this build`);
  const a = opts.config.ask;
  return {
    breakers: new MemoryBreakers({ failures: a.breakerFailures, cooldownMs: a.breakerCooldownMs, probeTimeoutMs: CALL_DEFAULTS.deadlineMs }),
    cache: new MemoryAnswerCache(a.cacheTtlMs),
    history: new MemoryLatencyHistory(),
    describe: 'memory',
    close: async () => {},
  };
}

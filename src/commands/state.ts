import { findProvider, loadConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { displayWidth, padToWidth } from '../format/width.js';
import { DEFAULT_BREAKER, FileBreakers, describeBreaker, type BreakerRecord } from '../state/breaker.js';
import { FileAnswerCache } from '../state/cache.js';
import type { RedisAnswerCache, RedisBreakers } from '../state/redis.js';
import { SHARED_STATE_VALUES, openStores, type StateStores } from '../state/stores.js';

const warn = (m: string) => process.stderr.write(`llm-fallback: warning: ${m}\n`);

/**
 * The stores a redis:// `--state` names, for a command that looks at or clears one of them: it reports its
 * own failures, so the start-up rights check is skipped (a read-only user may still look). `memory` lives
 * inside one process, so there is nothing to see from here.
 */
async function openShared(state: string): Promise<StateStores> {
  if (state === 'memory') throw new UsageError('--state memory: a memory store lives inside one process; use file or the redis:// URL the gateway uses');
  return openStores({ url: state, breaker: DEFAULT_BREAKER, cacheTtlMs: 0, warn, checkRights: false, accepts: SHARED_STATE_VALUES });
}

/**
 * The breaker store `--state` names, for the commands that look at or clear it: the state file by default,
 * or a shared Redis.
 */
async function sharedBreakers(state: string | undefined): Promise<{ store: FileBreakers | RedisBreakers; where: string; close(): Promise<void> }> {
  if (state === undefined || state === 'file') {
    const store = new FileBreakers(undefined, process.env, warn);
    return { store, where: store.file, close: async () => {} };
  }
  const stores = await openShared(state);
  return { store: stores.breakers as RedisBreakers, where: stores.describe, close: () => stores.close() };
}

/** Says what really happened: how many records went, none, or that nothing could be changed (exit 1). */
export async function breakerResetCommand(name: string | undefined, configFile: string | undefined, state?: string): Promise<void> {
  if (name !== undefined) {
    findProvider(loadConfig(configFile), name, 'breaker reset');
  }
  const { store, where, close } = await sharedBreakers(state);
  let n: number;
  try {
    n = await store.reset(name);
  } catch (e) {
    throw new Error(`breaker reset: nothing was changed in ${where}: ${(e as Error).message}`);
  } finally {
    await close();
  }
  const what = name ? `the breaker of ${name}` : 'every breaker';
  process.stdout.write(n === 0 ? `${what}: no record in ${where}, nothing to reset\n` : `reset ${what} (${n} record${n === 1 ? '' : 's'} cleared in ${where})\n`);
}

/** One line per breaker record in the store: provider, state, key. */
export async function breakerShowCommand(state?: string): Promise<void> {
  const { store, where, close } = await sharedBreakers(state);
  let all: Record<string, BreakerRecord>;
  try {
    all = await store.all();
  } catch (e) {
    throw new Error(`breaker show: cannot read ${where}: ${(e as Error).message}`);
  } finally {
    await close();
  }
  const keys = Object.keys(all).sort((a, b) => all[a].name.localeCompare(all[b].name) || a.localeCompare(b));
  const width = Math.max(0, ...keys.map((k) => displayWidth(all[k].name)));
  const now = Date.now();
  process.stdout.write(`${keys.length} breaker record${keys.length === 1 ? '' : 's'} in ${where}${keys.length ? ':' : ''}\n`);
  for (const k of keys) process.stdout.write(`  ${padToWidth(all[k].name, width)}  ${describeBreaker(all[k], now)}  (${k})\n`);
}

/** Removes every cached answer: the cache directory by default, or the answers a shared Redis holds under its prefix. */
export async function cacheClearCommand(state?: string): Promise<void> {
  if (state === undefined || state === 'file') {
    const cache = new FileAnswerCache(0, process.env, warn);
    let n: number;
    try {
      n = await cache.clear();
    } catch (e) {
      throw new Error(`cache clear: ${(e as Error).message}`);
    }
    process.stdout.write(`removed ${n} cached answer${n === 1 ? '' : 's'} from ${cache.dir}\n`);
    return;
  }
  const stores = await openShared(state);
  let n: number;
  try {
    n = await (stores.cache as RedisAnswerCache).clear();
  } catch (e) {
    throw new Error(`cache clear: cannot clear ${stores.describe}: ${(e as Error).message}`);
  } finally {
    await stores.close();
  }
  process.stdout.write(`removed ${n} cached answer${n === 1 ? '' : 's'} from ${(stores.cache as RedisAnswerCache).where}\n`);
}

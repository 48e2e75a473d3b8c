import { dirname } from 'node:path';
import { UsageError } from '../errors.js';
import { FileBreakers, MemoryBreakers, type BreakerPolicy, type Breakers } from './breaker.js';
import { FileAnswerCache, MemoryAnswerCache, type AnswerCache } from './cache.js';
import { FileLatencyHistory, MemoryLatencyHistory, type LatencyHistory } from './latency.js';
import type { Warn } from './json-store.js';
import { DEFAULT_PREFIX, connectRedis, expandRedisUrl, parseRedisUrl, shownUrl } from './redis-connection.js';
import { RedisAnswerCache, RedisBreakers, RedisLatencyHistory, checkStoreRights } from './redis.js';

/** The three stores the chain uses, from one place (memory, the state files, or a shared Redis). */
export interface StateStores {
  breakers: Breakers;
  cache: AnswerCache;
  history: LatencyHistory;
  /** Where the state lives, fit to print (never a password): `memory`, `file <dir>`, `redis://host:port`, `redis://host:port (prefix app2:)`. */
  describe: string;
  /** Sends what is still buffered (latency samples) and closes the connection; bounded by the command timeout. */
  close(): Promise<void>;
}

export interface OpenStoresOptions {
  /** undefined or 'memory' (each process its own), 'file' (the state directory, as the CLI uses), 'redis://…' or 'rediss://…' (shared by replicas). */
  url?: string;
  /** Where `url` was given, as messages name it (default `--state`). */
  source?: string;
  breaker: BreakerPolicy;
  cacheTtlMs: number;
  env?: NodeJS.ProcessEnv;
  warn?: Warn;
  /** Redis: how long the first connection may take (default 2 s). */
  connectTimeoutMs?: number;
  /** Redis: how long one store operation may take before the replica goes on with its own state (default 500 ms). */
  commandTimeoutMs?: number;
  /** Redis: how old a replica's view of the shared breakers and latency history may get, and how often its latency samples are sent (default 1 s). */
  refreshMs?: number;
  /** Redis: key prefix (default `llm-fallback:`; a URL's `?prefix=` wins). */
  prefix?: string;
  /**
   * Redis: check when opening that the user may run what the stores need and the server takes writes
   * (default true); a missing right or a read-only replica is then an error here, not a warning at the
   * first write. Off for commands that only read or clear one thing and report their own failures.
   */
  checkRights?: boolean;
  /** What the command takes, as the message for a value that is not a store lists it (default STATE_VALUES). */
  accepts?: string;
}

/** What the commands that look at a store from outside (breaker show/reset, cache clear) accept: memory has nothing to see. */
export const SHARED_STATE_VALUES = 'file, redis://[:password@]host[:port][/db] or rediss://… (TLS)';
/** What `--state` accepts, as messages state it. */
export const STATE_VALUES = `memory, ${SHARED_STATE_VALUES}`;

/**
 * Opens the stores named by `url`. A URL that is not one of them is a UsageError; a Redis that cannot be
 * reached is an error naming it, within the connect timeout. Nothing here prints a password.
 */
export async function openStores(opts: OpenStoresOptions): Promise<StateStores> {
  const warn = opts.warn ?? (() => {});
  const env = opts.env ?? process.env;
  const url = opts.url ?? 'memory';
  if (url === 'memory') {
    return { breakers: new MemoryBreakers(opts.breaker), cache: new MemoryAnswerCache(opts.cacheTtlMs), history: new MemoryLatencyHistory(), describe: 'memory', close: async () => {} };
  }
  if (url === 'file') {
    const breakers = new FileBreakers(opts.breaker, env, warn);
    return { breakers, cache: new FileAnswerCache(opts.cacheTtlMs, env, warn), history: new FileLatencyHistory(env, warn), describe: `file ${dirname(breakers.file)}`, close: async () => {} };
  }
  if (/^rediss?:/i.test(url)) {
    const target = parseRedisUrl(expandRedisUrl(url, env, opts.source), opts.prefix, opts.source);
    const conn = await connectRedis(target, { warn, connectTimeoutMs: opts.connectTimeoutMs, commandTimeoutMs: opts.commandTimeoutMs });
    if (opts.checkRights !== false) {
      try {
        await checkStoreRights(conn);
      } catch (e) {
        await conn.close();
        throw e;
      }
    }
    const history = new RedisLatencyHistory(conn, opts.refreshMs);
    return {
      breakers: new RedisBreakers(conn, opts.breaker, opts.refreshMs),
      cache: new RedisAnswerCache(conn, opts.cacheTtlMs),
      history,
      // another deployment's prefix in the same Redis is another store: say which (the default goes unsaid)
      describe: target.prefix === DEFAULT_PREFIX ? target.shown : `${target.shown} (prefix ${target.prefix})`,
      close: async () => {
        await history.drain();
        await conn.close();
      },
    };
  }
  throw new UsageError(`${opts.source ?? '--state'} ${shownUrl(url)}: not a state store; use ${opts.accepts ?? STATE_VALUES}`);
}

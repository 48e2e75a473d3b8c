import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';
import { isLoopbackHost } from '../providers/transport.js';
import { redact, registerSecret } from '../util/redact.js';
import type { Warn } from './json-store.js';

/** Keys of every store start with this unless the URL (`?prefix=`) or the caller says otherwise. */
export const DEFAULT_PREFIX = 'llm-fallback:';
/** How long the first connection (TCP, TLS and handshake) may take before `--state` is reported unreachable. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
/** How long one store operation may wait for Redis; past it the replica goes on with its own state. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 500;
/** After a failed operation, Redis is left alone this long (no call waits on a Redis that just failed). */
const RETRY_AFTER_FAILURE_MS = 2_000;
/** Reconnection backoff after a lost connection: 100 ms doubling, at most this. */
const MAX_RECONNECT_DELAY_MS = 2_000;

export interface RedisTarget {
  /** The URL handed to the client (with its password). */
  url: string;
  /** The URL as it may be shown: no user or password. */
  shown: string;
  prefix: string;
  /** Where the URL was given, as messages name it: `--state`, or `providers.yaml:40:10: serve.state`. */
  source: string;
}

/** A URL as it may be shown: without user or password, whatever its scheme. */
export function shownUrl(raw: string): string {
  return redact(raw.replace(/\/\/[^/?#]*@/, '//'));
}

/**
 * Checks a `--state redis://…` URL: a host, a port and database number that make sense, and no password
 * in clear text to a host other than loopback (the rule provider keys follow). The password is registered
 * as a secret, so no message ever shows it.
 */
export function parseRedisUrl(raw: string, prefix?: string, source = '--state'): RedisTarget {
  const bad = (what: string) => new UsageError(`${source} ${shownUrl(raw)}: ${what}; use redis://[:password@]host[:port][/db][?prefix=name:] or rediss://… for TLS`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw bad('not a valid URL');
  }
  if (u.password) registerSecret(decodeURIComponent(u.password));
  if (u.username) registerSecret(decodeURIComponent(u.username)); // redis://user:pass@ — an ACL user name is half the credential
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw bad(`${u.protocol} is not a Redis scheme`);
  if (!u.hostname) throw bad('no host');
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db)) throw bad(`database "${db}" is not a number`);
  for (const k of u.searchParams.keys()) if (k !== 'prefix') throw bad(`unknown parameter "${k}" (only prefix= is read)`);
  if (u.password && u.protocol === 'redis:' && !isLoopbackHost(u.hostname)) {
    throw new UsageError(`${source} ${shownUrl(raw)}: a password would travel in clear text to ${u.hostname}, which is not loopback; use rediss:// (TLS), or reach Redis on loopback`);
  }
  const keyPrefix = u.searchParams.get('prefix') ?? prefix ?? DEFAULT_PREFIX;
  if (!keyPrefix) throw bad('an empty prefix would mix our keys with everything else in the database');
  const shown = `${u.protocol}//${u.host}${db ? `/${db}` : ''}`;
  const url = new URL(raw);
  url.search = '';
  return { url: url.toString(), shown, prefix: keyPrefix, source };
}

/**
 * Puts `${VAR}` in a `--state` URL in from the environment, so a password need not stand on the command line
 * (which `ps` shows to every user of the machine) or in providers.yaml: `redis://:${REDIS_PASSWORD}@redis:6379`.
 * A value that lands in the user:password part is percent-encoded (a password with `/`, `@` or `:` stays one
 * password); elsewhere it goes in as it is. An unset variable is a usage error naming it.
 */
export function expandRedisUrl(raw: string, env: NodeJS.ProcessEnv, source = '--state'): string {
  const ref = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
  if (!ref.test(raw)) return raw;
  const value = (name: string): string => {
    const v = env[name];
    if (v === undefined) throw new UsageError(`${source} ${shownUrl(raw)}: \${${name}} is not set; export it, or give the URL without it`);
    return v;
  };
  // The user:password part of the URL as written: after "//", up to the last "@" before the path.
  const start = raw.indexOf('//') + 2;
  const authorityEnd = (() => {
    const m = /[/?#]/.exec(raw.slice(start));
    return m ? start + m.index : raw.length;
  })();
  const at = raw.lastIndexOf('@', authorityEnd - 1);
  const userinfoEnd = start >= 2 && at >= start ? at : -1;
  return raw.replace(ref, (_, name: string, offset: number) => (offset < userinfoEnd ? encodeURIComponent(value(name)) : value(name)));
}

/** The few commands the stores send, as the client's `sendCommand` takes them. */
export interface RedisClientLike {
  sendCommand<T = unknown>(args: ReadonlyArray<string>): Promise<T>;
  close(): Promise<void>;
  destroy(): void;
}

/** Why a Redis operation failed, in a few words (an error code where there is one). */
function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException; errors?: NodeJS.ErrnoException[] };
  const code = err?.code ?? err?.cause?.code ?? err?.errors?.[0]?.code;
  return redact(code ?? (err?.message || err?.name || String(e))).split('\n')[0];
}

export type Send = <R>(args: string[]) => Promise<R>;

export type Outcome<T> = { ok: true; value: T } | { ok: false };

/**
 * One connection to Redis shared by the three stores. Every operation is bounded by a command timeout;
 * one that fails (Redis gone, stalled, refusing) is reported once through `warn` and answered with
 * `{ ok: false }`, and for a short while after it no operation tries Redis at all, so a dead Redis costs
 * calls nothing: each store then goes on with this replica's own state. When an operation succeeds again
 * that is reported too.
 */
export class RedisConnection {
  private downUntil = 0;
  /**
   * Set while Redis is reported unavailable: whether a read or a write failed first. A Redis that answers
   * reads but refuses writes (OOM under noeviction, a read-only replica, an ACL user without write rights)
   * is back only when a write succeeds; a read's success does not say so, or the replica would report
   * "unavailable" and "reachable again" in turn at every write.
   */
  private down: false | 'read' | 'write' = false;
  private scripts = new Map<string, string>();
  /** The client's latest connection error (its 'error' events), to say why it is offline. */
  lastSocketError: unknown;

  constructor(
    private readonly client: RedisClientLike,
    readonly target: RedisTarget,
    private readonly warn: Warn,
    readonly commandTimeoutMs: number,
  ) {}

  /** A key in our namespace. */
  key(...parts: string[]): string {
    return this.target.prefix + parts.join(':');
  }

  /**
   * Runs `fn` against Redis unless Redis just failed; a failure becomes `{ ok: false }` and at most one
   * warning per outage. `kind` says whether `fn` writes: only a write that succeeds ends an outage that
   * began with a failed write.
   */
  async run<T>(fn: (send: Send) => Promise<T>, kind: 'read' | 'write'): Promise<Outcome<T>> {
    if (Date.now() < this.downUntil) return { ok: false };
    try {
      const value = await this.bounded(fn);
      if (this.down && (kind === 'write' || this.down === 'read')) {
        this.down = false;
        this.warn(`shared state ${this.target.shown} is reachable again; this replica shares its state again`);
      }
      return { ok: true, value };
    } catch (e) {
      this.downUntil = Date.now() + RETRY_AFTER_FAILURE_MS;
      if (!this.down) {
        this.down = kind;
        // The client fails commands while it is disconnected with "The client is offline"; the socket's own error says why.
        const offline = /offline|closed/i.test((e as Error)?.message ?? '');
        const why = offline ? `connection lost${this.lastSocketError ? `: ${reason(this.lastSocketError)}` : ''}` : reason(e);
        this.warn(`shared state ${this.target.shown} is unavailable (${why}); this replica goes on with its own state until it is back`);
      }
      return { ok: false };
    }
  }

  /**
   * `fn` within the command timeout. The client's own per-command timeout covers only the wait to be
   * written, not the reply (a stalled Redis would hold the call), so the whole operation is raced here; a
   * reply that comes later is dropped.
   */
  private bounded<T>(fn: (send: Send) => Promise<T>): Promise<T> {
    const op = fn(this.send);
    op.catch(() => {}); // a late failure after the timeout is not an unhandled rejection
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('timed out'), { code: `no answer in ${this.commandTimeoutMs} ms` })), this.commandTimeoutMs);
    });
    return Promise.race([op, late]).finally(() => clearTimeout(timer));
  }

  /**
   * For commands that must report a failure rather than go on without Redis (`breaker reset --state`). The
   * error says why in a few words; the caller's message names the Redis (it would otherwise appear twice).
   */
  async direct<T>(fn: (send: Send) => Promise<T>): Promise<T> {
    try {
      return await this.bounded(fn);
    } catch (e) {
      throw new Error(reason(e));
    }
  }

  private readonly send: Send = <R>(args: string[]) => this.client.sendCommand<R>(args);

  /** EVALSHA of a script, loading it with EVAL when Redis does not have it yet (after a restart or SCRIPT FLUSH). */
  async evalScript<R>(send: Send, script: string, keys: string[], args: string[]): Promise<R> {
    let sha = this.scripts.get(script);
    if (!sha) this.scripts.set(script, (sha = createHash('sha1').update(script).digest('hex')));
    try {
      return await send<R>(['EVALSHA', sha, String(keys.length), ...keys, ...args]);
    } catch (e) {
      if (!/NOSCRIPT/.test((e as Error).message)) throw e;
      return send<R>(['EVAL', script, String(keys.length), ...keys, ...args]);
    }
  }

  /** Waits for replies still due (up to the command timeout), then closes; a stalled Redis does not hold it. */
  async close(): Promise<void> {
    try {
      await this.bounded(() => this.client.close());
    } catch {
      try {
        this.client.destroy();
      } catch {
        // already closed
      }
    }
  }
}

/**
 * Connects to Redis, or throws one line saying why not (`--state redis://host:port: cannot connect
 * (ECONNREFUSED)`) within `connectTimeoutMs`: the first connection is tried once, not retried. A
 * connection lost later is re-opened in the background (100 ms doubling up to 2 s) while operations fail
 * fast (no offline queue) and the stores use their local state.
 */
export async function connectRedis(target: RedisTarget, opts: { warn: Warn; connectTimeoutMs?: number; commandTimeoutMs?: number }): Promise<RedisConnection> {
  // Loaded only when asked for: the CLI and the library do not load the Redis client otherwise.
  const { createClient } = await import('@redis/client');
  const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let connected = false;
  let lastError: unknown;
  const client = createClient({
    url: target.url,
    disableOfflineQueue: true,
    RESP: 2, // flat replies (HGETALL, ZRANGE WITHSCORES), the same whatever the client's default
    socket: {
      connectTimeout: connectTimeoutMs,
      // Before the first connection, give up at once (the caller reports it); after it, keep trying.
      reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(MAX_RECONNECT_DELAY_MS, 100 * 2 ** Math.min(retries, 10)) : cause),
    },
  });
  // Errors also come back from each command; without a listener an 'error' event would end the process.
  let conn: RedisConnection | undefined;
  client.on('error', (e: unknown) => {
    lastError = e;
    if (conn) conn.lastSocketError = e;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const connecting = client.connect();
    connecting.catch(() => {}); // reported below; after a timeout it would otherwise be unhandled
    await Promise.race([
      connecting,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('timed out'), { code: `no answer in ${connectTimeoutMs} ms` })), connectTimeoutMs);
      }),
    ]);
    connected = true;
  } catch (e) {
    try {
      client.destroy();
    } catch {
      // never opened
    }
    throw new Error(`${target.source} ${target.shown}: cannot connect (${reason(lastError ?? e)})`);
  } finally {
    clearTimeout(timer);
  }
  conn = new RedisConnection(client as unknown as RedisClientLike, target, opts.warn, opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
  return conn;
}

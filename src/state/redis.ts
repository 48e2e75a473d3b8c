import { DEFAULT_BREAKER, MAX_OPEN_MS, MemoryBreakers, breakerRules, fresh, validRecord, type Admission, type BreakerPolicy, type BreakerRecord, type Breakers } from './breaker.js';
import { storedAnswer, type AnswerCache, type CachedAnswer } from './cache.js';
import { BufferedHistory, HISTORY_KEYS, HISTORY_SAMPLES, MemoryLatencyHistory, type LatencyHistory, type LatencySamples } from './latency.js';
import type { RedisConnection, Send } from './redis-connection.js';

/**
 * How old a replica's view of the shared breaker state and latency history may get before a call re-reads
 * it. A replica acts on another replica's breaker change at its first call that starts more than this after
 * the change (and at once on its own changes); calls in between cost no Redis round trip.
 */
export const DEFAULT_REFRESH_MS = 1_000;
/** A breaker update retried this many times when other replicas keep changing the same record meanwhile. */
const MAX_CAS_TRIES = 32;
/** Latency history of a provider nobody has called for this long goes from Redis. */
const HISTORY_TTL_MS = 7 * 24 * 3_600_000;

/**
 * Compare-and-set of one hash field: writes ARGV[3] when the field still holds ARGV[2] ('' = absent) and
 * returns {1}; otherwise returns {0, current}. The breaker rules stay in TypeScript (breakerRules), applied
 * to the current record and retried on a conflict, so two replicas failing at once both count and only
 * one of them wins a half-open probe.
 */
const CAS = `local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur == false then cur = '' end
if cur == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return {1}
end
return {0, cur}`;

/** HGETALL as RESP2 (a flat list) or RESP3 (a map) gives it. */
function pairs(reply: unknown): [string, string][] {
  if (Array.isArray(reply)) {
    const out: [string, string][] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) out.push([String(reply[i]), String(reply[i + 1])]);
    return out;
  }
  return reply && typeof reply === 'object' ? Object.entries(reply as Record<string, unknown>).map(([k, v]) => [k, String(v)]) : [];
}

/** Re-reads shared state at most once per `refreshMs`; concurrent calls share one read. */
class Refresher {
  private at = -Infinity;
  private pending: Promise<void> | undefined;
  constructor(
    private readonly refreshMs: number,
    private readonly read: () => Promise<void>,
  ) {}
  async due(): Promise<void> {
    if (Date.now() - this.at < this.refreshMs) return;
    this.pending ??= this.read().finally(() => {
      this.at = Date.now();
      this.pending = undefined;
    });
    await this.pending;
  }
}

/**
 * Circuit breakers shared by every replica through one Redis hash (`<prefix>breakers`, a JSON record per
 * provider). `admit` answers from this replica's view, read by `load` at most once per `refreshMs` and
 * updated by its own writes; each write is a compare-and-set of the record, so concurrent failures are all
 * counted and exactly one replica claims a half-open probe. When Redis fails, the replica carries on with
 * its own view (warned once by the connection); the next successful read replaces that view with the
 * shared one.
 */
export class RedisBreakers implements Breakers {
  /** This replica's view: the shared records as last read, plus its own writes. */
  private readonly local: MemoryBreakers;
  /** Each record as Redis holds it, byte for byte: the expected value of the next compare-and-set. */
  private readonly raw = new Map<string, string>();
  private readonly refresher: Refresher;
  private readonly maxOpenMs: number;
  /** Updates of one record from this replica run one after another (only other replicas race them). */
  private readonly queues = new Map<string, Promise<unknown>>();
  /**
   * Records this replica changed while Redis refused the write (a Redis that answers reads but not
   * writes: OOM under noeviction, rights taken away). A shared read must not wipe those changes, or the
   * replica forgets its own failures at every refresh and the breaker never opens: measured with a
   * write-refusing Redis, 7 requests reached a failing provider in 8 s, against 4 with memory state. The
   * newer record wins (updated_at), so a change another replica wrote later still comes through.
   */
  private readonly unsynced = new Set<string>();

  constructor(
    private readonly conn: RedisConnection,
    readonly policy: BreakerPolicy = DEFAULT_BREAKER,
    refreshMs = DEFAULT_REFRESH_MS,
  ) {
    this.local = new MemoryBreakers(policy);
    this.maxOpenMs = Math.max(MAX_OPEN_MS, policy.cooldownMs);
    this.refresher = new Refresher(refreshMs, () => this.read());
  }

  private get hash(): string {
    return this.conn.key('breakers');
  }

  private parse(raw: string): BreakerRecord | undefined {
    if (!raw) return undefined;
    try {
      return validRecord(JSON.parse(raw), Date.now(), this.maxOpenMs);
    } catch {
      return undefined; // not ours or damaged: treated as no record, and overwritten by the next write
    }
  }

  private remember(key: string, raw: string): BreakerRecord | undefined {
    const rec = this.parse(raw);
    if (raw) this.raw.set(key, raw);
    else this.raw.delete(key);
    if (rec) this.local.records.set(key, rec);
    else this.local.records.delete(key);
    return rec;
  }

  private async read(): Promise<void> {
    const r = await this.conn.run((send) => send<unknown>(['HGETALL', this.hash]), 'read');
    if (!r.ok) return;
    const mine = new Map<string, BreakerRecord>();
    for (const k of this.unsynced) {
      const rec = this.local.records.get(k);
      if (rec) mine.set(k, rec);
    }
    this.raw.clear();
    this.local.records.clear();
    for (const [k, v] of pairs(r.value)) this.remember(k, v);
    for (const [k, rec] of mine) {
      const shared = this.local.records.get(k);
      if (!shared || shared.updated_at < rec.updated_at) this.local.records.set(k, rec);
      else this.unsynced.delete(k);
    }
  }

  async load(_deadline?: number): Promise<void> {
    await this.refresher.due();
  }

  admit(key: string, name: string, nowMs = Date.now()): Admission {
    return this.local.admit(key, name, nowMs);
  }

  /**
   * Applies `next` to the record as Redis holds it, by compare-and-set, until no other replica changed it
   * in between. `next` returns undefined when nothing is to be written. False when Redis could not be used.
   */
  private update(key: string, next: (cur: BreakerRecord | undefined) => BreakerRecord | undefined): Promise<boolean> {
    const run = (this.queues.get(key) ?? Promise.resolve())
      .then(() => this.compareAndSet(key, next))
      .then((outcome) => {
        // Written: Redis holds this replica's view of the record again. Failed: the caller changes the
        // local record instead, which a shared read must not wipe.
        if (outcome === 'written') this.unsynced.delete(key);
        else if (outcome === 'failed') this.unsynced.add(key);
        return outcome !== 'failed';
      });
    const tail = run.finally(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    this.queues.set(key, tail);
    return run;
  }

  private async compareAndSet(key: string, next: (cur: BreakerRecord | undefined) => BreakerRecord | undefined): Promise<'written' | 'nothing' | 'failed'> {
    const r = await this.conn.run(async (send): Promise<'written' | 'nothing'> => {
      let expected = this.raw.get(key) ?? '';
      for (let i = 0; i < MAX_CAS_TRIES; i++) {
        const rec = next(this.parse(expected));
        if (!rec) return 'nothing';
        const raw = JSON.stringify(rec);
        const [won, current] = await this.conn.evalScript<[number, string?]>(send, CAS, [this.hash], [key, expected, raw]);
        if (won === 1) {
          this.remember(key, raw);
          return 'written';
        }
        expected = current ?? '';
        this.remember(key, expected);
      }
      throw new Error(`the breaker record ${key} kept changing under ${MAX_CAS_TRIES} tries`);
    }, 'write');
    return r.ok ? r.value : 'failed';
  }

  async claimProbe(key: string, name: string, nowMs = Date.now()): Promise<boolean> {
    let claimed = false;
    const ok = await this.update(key, (cur) => {
      const r = cur ?? fresh(name, nowMs);
      claimed = breakerRules.admit(r, this.policy, nowMs).allowed;
      return claimed ? { ...r, state: 'half_open', probe_started_at: nowMs, updated_at: nowMs } : undefined;
    });
    return ok ? claimed : this.local.claimProbe(key, name, nowMs);
  }

  async releaseProbe(key: string, name: string, claimedAt: number, nowMs = Date.now()): Promise<void> {
    const ok = await this.update(key, (cur) => {
      const r = cur && { ...cur };
      return breakerRules.release(r, claimedAt, nowMs) ? r : undefined;
    });
    if (!ok) await this.local.releaseProbe(key, name, claimedAt, nowMs);
  }

  async success(key: string, name: string, nowMs = Date.now()): Promise<void> {
    // Read the record again: this replica's view is from the start of the call (load), and another replica
    // may have counted failures since; a success must end those too, or they add up across it (FileBreakers.success).
    const now = await this.conn.run((send) => send<unknown>(['HGET', this.hash, key]), 'read');
    if (now.ok) this.remember(key, typeof now.value === 'string' ? now.value : '');
    const rec = this.local.records.get(key);
    if (!rec || (rec.state === 'closed' && rec.consecutive_failures === 0)) return; // nothing to write, as far as this replica knows
    if (!(await this.update(key, () => fresh(name, nowMs)))) await this.local.success(key, name, nowMs);
  }

  async failure(key: string, name: string, errorClass: string, retryAfterMs: number | undefined, nowMs = Date.now()): Promise<void> {
    const ok = await this.update(key, (cur) => {
      const r = cur ?? fresh(name, nowMs);
      breakerRules.failure(r, this.policy, errorClass, retryAfterMs, nowMs);
      return r;
    });
    if (!ok) await this.local.failure(key, name, errorClass, retryAfterMs, nowMs);
  }

  /** Every shared record (for `breaker --state`); throws when Redis cannot be read. */
  async all(): Promise<Record<string, BreakerRecord>> {
    const reply = await this.conn.direct((send) => send<unknown>(['HGETALL', this.hash]));
    const out: Record<string, BreakerRecord> = {};
    for (const [k, v] of pairs(reply)) {
      const rec = this.parse(v);
      if (rec) out[k] = rec;
    }
    return out;
  }

  /** Clears one provider's breakers (every key of that name) or all of them; returns how many went. Throws when it could not. */
  async reset(name?: string): Promise<number> {
    const all = await this.all();
    const keys = Object.keys(all).filter((k) => name === undefined || all[k].name === name);
    if (keys.length === 0) return 0;
    await this.conn.direct((send) => send(['HDEL', this.hash, ...keys]));
    for (const k of keys) this.remember(k, '');
    return keys.length;
  }
}

/**
 * The answer cache in Redis: one string per request key (`<prefix>answer:<sha256>`), the answer and who gave
 * it (never a key or header), expiring with the cache TTL. When Redis fails, a lookup is a miss and an
 * answer is not kept: the cache is the last tier, and answers flow without it.
 */
export class RedisAnswerCache implements AnswerCache {
  constructor(
    private readonly conn: RedisConnection,
    readonly ttlMs: number,
  ) {}

  async get(key: string, nowMs = Date.now()): Promise<CachedAnswer | undefined> {
    const r = await this.conn.run((send) => send<string | null>(['GET', this.conn.key('answer', key)]), 'read');
    if (!r.ok || typeof r.value !== 'string') return undefined;
    try {
      return storedAnswer(r.value, this.ttlMs, nowMs);
    } catch {
      return undefined;
    }
  }

  /** Where `clear` removes keys, and which, as a user may read them: `redis://host:port (keys llm-fallback:answer:*)`. */
  get where(): string {
    return `${this.conn.target.shown} (keys ${this.conn.key('answer')}:*)`;
  }

  /**
   * Removes every cached answer under this prefix (for `cache clear --state`): SCAN for `<prefix>answer:*`
   * and UNLINK what it finds, so other keys in the same Redis (another prefix, another application) stay.
   * Returns how many went; throws when Redis cannot be used.
   */
  async clear(): Promise<number> {
    const pattern = `${this.conn.key('answer').replace(/[*?[\]\\]/g, '\\$&')}:*`;
    let cursor = '0';
    let n = 0;
    do {
      const [next, keys] = await this.conn.direct((send) => send<[string, string[]]>(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000']));
      if (keys.length) n += await this.conn.direct((send) => send<number>(['UNLINK', ...keys]));
      cursor = String(next);
    } while (cursor !== '0');
    return n;
  }

  async put(key: string, answer: Omit<CachedAnswer, 'created_at' | 'expires_at'>, nowMs = Date.now()): Promise<void> {
    const ttl = Math.floor(this.ttlMs);
    if (!(ttl > 0)) return;
    const { content, provider, model, usage } = answer; // exactly the answer's fields, whatever the caller's object carries
    const entry: CachedAnswer = { content, provider, model, usage, created_at: nowMs, expires_at: nowMs + ttl };
    await this.conn.run((send) => send(['SET', this.conn.key('answer', key), JSON.stringify(entry), 'PX', String(ttl)]), 'write');
  }
}

/**
 * Every command the stores send in a run (the breakers' script and HGETALL/HGET, the cache's GET/SET, the
 * history's lists and sorted set), run once on keys of their own under the prefix that go at once (and
 * expire in 10 s if the script stops half-way). Redis checks a user's rights on the commands a script
 * runs as on any other, so the first one refused is named.
 */
const RIGHTS_PROBE = `redis.call('SET', KEYS[1], '1', 'PX', '10000')
redis.call('GET', KEYS[1])
redis.call('HSET', KEYS[2], 'f', '1')
redis.call('PEXPIRE', KEYS[2], '10000')
redis.call('HGET', KEYS[2], 'f')
redis.call('HGETALL', KEYS[2])
redis.call('HDEL', KEYS[2], 'f')
redis.call('RPUSH', KEYS[3], '1')
redis.call('PEXPIRE', KEYS[3], '10000')
redis.call('LTRIM', KEYS[3], '-1', '-1')
redis.call('LRANGE', KEYS[3], '0', '-1')
redis.call('ZADD', KEYS[4], '1', 'm')
redis.call('PEXPIRE', KEYS[4], '10000')
redis.call('ZCARD', KEYS[4])
redis.call('ZRANGE', KEYS[4], '0', '0')
redis.call('ZREM', KEYS[4], 'm')
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return 1`;

/**
 * Checks, when the stores open, that this Redis lets them work. A user without a right the stores need
 * (NOPERM) or a read-only replica (READONLY) is a setting to fix, and would otherwise show only as one
 * warning at the first write, every replica then running on its own state unseen: it is thrown, one line
 * naming the right and how to grant it. Any other failure (OOM under noeviction, a stall) can pass by
 * itself, so it is left to the connection: one warning, and the stores go on with this replica's state.
 */
export async function checkStoreRights(conn: RedisConnection): Promise<void> {
  const probe = conn.key('rights-probe', `${process.pid}-${Date.now().toString(36)}`);
  const keys = [`${probe}:s`, `${probe}:h`, `${probe}:l`, `${probe}:z`];
  const run = (send: Send) => conn.evalScript(send, RIGHTS_PROBE, keys, []);
  let why: string;
  try {
    await conn.direct(run);
    return;
  } catch (e) {
    why = (e as Error).message;
  }
  const where = `${conn.target.source} ${conn.target.shown}`;
  // A command the script may not run is refused as "ERR The user executing the script can't run this
  // command or subcommand script: <sha>, on @user_script:<line>." (Redis 7.0), which names the line, not the command.
  const inScript = /can't run this command or subcommand.*@user_script:(\d+)/.exec(why);
  if (inScript || /^NOPERM\b/.test(why)) {
    const refused = inScript ? `it may not run ${/redis\.call\('(\w+)'/.exec(RIGHTS_PROBE.split('\n')[Number(inScript[1]) - 1] ?? '')?.[1] ?? 'one of them'}` : why;
    throw new Error(`${where}: this Redis user may not run what the shared state needs (${refused}); grant it the commands and the keys, e.g. ACL SETUSER <user> ~${conn.target.prefix}* +@read +@write +@scripting, or use another user`);
  }
  if (/^READONLY\b/.test(why)) throw new Error(`${where}: this Redis is a read-only replica (${why}); point it at the primary`);
  await conn.run(run, 'write'); // warns once, as a failure later would
}

const samples = (list: unknown): number[] => (Array.isArray(list) ? list.map(Number).filter((x) => Number.isFinite(x) && x >= 0) : []);

/**
 * Latency history shared by the replicas: per provider+model, two Redis lists (TTFT and longest gap, the
 * newest HISTORY_SAMPLES kept) appended to by every replica without a lock, a sorted set of providers by
 * last update (the least recent beyond HISTORY_KEYS go) and a hash of their names. Read and written at
 * most once per `refreshMs`; when Redis fails, this replica's own samples are used.
 */
export class RedisLatencyHistory extends BufferedHistory implements LatencyHistory {
  private readonly local = new MemoryLatencyHistory();
  private readonly refresher: Refresher;
  /** Samples taken but not yet sent to Redis, newest HISTORY_SAMPLES per provider and clock. */
  private outbox = new Map<string, { name: string; ttft: number[]; gap: number[] }>();
  private sentAt = -Infinity;

  constructor(
    private readonly conn: RedisConnection,
    private readonly refreshMs = DEFAULT_REFRESH_MS,
  ) {
    super();
    this.refresher = new Refresher(refreshMs, () => this.read());
  }

  private list(which: 'ttft' | 'gap', key: string): string {
    return this.conn.key('latency', which, key);
  }

  private async read(): Promise<void> {
    const index = this.conn.key('latency', 'index');
    const r = await this.conn.run(async (send) => {
      const [members, names] = await Promise.all([send<string[]>(['ZRANGE', index, '0', '-1', 'WITHSCORES']), send<unknown>(['HGETALL', this.conn.key('latency', 'names')])]);
      const nameOf = new Map(pairs(names));
      const keys: [string, number][] = [];
      for (let i = 0; i + 1 < members.length; i += 2) keys.push([String(members[i]), Number(members[i + 1])]);
      return Promise.all(
        keys.map(async ([key, at]) => {
          const [ttft, gap] = await Promise.all([send<string[]>(['LRANGE', this.list('ttft', key), '0', '-1']), send<string[]>(['LRANGE', this.list('gap', key), '0', '-1'])]);
          return [key, { name: nameOf.get(key) ?? key, ttft_ms: samples(ttft).slice(-HISTORY_SAMPLES), max_gap_ms: samples(gap).slice(-HISTORY_SAMPLES), updated_at: at }] as const;
        }),
      );
    }, 'read');
    if (!r.ok) return;
    for (const k of Object.keys(this.local.records)) delete this.local.records[k];
    for (const [key, rec] of r.value) this.local.records[key] = rec;
  }

  async load(_deadline?: number): Promise<void> {
    await this.refresher.due();
  }

  get(key: string): LatencySamples | undefined {
    return this.local.get(key);
  }

  /**
   * Takes this call's samples into the replica's view at once, and sends what has gathered to Redis at most
   * once per `refreshMs` (a busy gateway makes one write a second, not one per request); `drain` sends the
   * rest when the stores close.
   */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    for (const [key, { name, samples: s }] of this.pending) {
      const out = this.outbox.get(key) ?? { name, ttft: [], gap: [] };
      for (const x of s) {
        this.local.add(key, name, x);
        if (x.ttftMs !== undefined) out.ttft.push(Math.round(x.ttftMs));
        if (x.maxGapMs !== undefined) out.gap.push(Math.round(x.maxGapMs));
      }
      // only the newest samples would be kept anyway
      out.ttft = out.ttft.slice(-HISTORY_SAMPLES);
      out.gap = out.gap.slice(-HISTORY_SAMPLES);
      this.outbox.set(key, out);
    }
    this.pending.clear();
    await this.local.flush();
    if (Date.now() - this.sentAt >= this.refreshMs) await this.drain();
  }

  /** Sends every sample not yet in Redis (each provider's lists, its name, its place in the index). */
  async drain(): Promise<void> {
    if (this.outbox.size === 0) return;
    const batch = this.outbox;
    this.outbox = new Map();
    this.sentAt = Date.now();
    const index = this.conn.key('latency', 'index');
    const names = this.conn.key('latency', 'names');
    await this.conn.run(async (send) => {
      const writes: Promise<unknown>[] = [];
      for (const [key, { name, ttft, gap }] of batch) {
        for (const [which, values] of [
          ['ttft', ttft],
          ['gap', gap],
        ] as const) {
          if (values.length === 0) continue;
          const list = this.list(which, key);
          writes.push(send(['RPUSH', list, ...values.map(String)]), send(['LTRIM', list, String(-HISTORY_SAMPLES), '-1']), send(['PEXPIRE', list, String(HISTORY_TTL_MS)]));
        }
        writes.push(send(['HSET', names, key, name]), send(['ZADD', index, String(this.sentAt), key]));
      }
      writes.push(send(['PEXPIRE', index, String(HISTORY_TTL_MS)]), send(['PEXPIRE', names, String(HISTORY_TTL_MS)]));
      await Promise.all(writes);
      // The least recently updated providers beyond the cap go (their lists expire by themselves).
      const over = (await send<number>(['ZCARD', index])) - HISTORY_KEYS;
      if (over > 0) {
        const gone = await send<string[]>(['ZRANGE', index, '0', String(over - 1)]);
        if (gone.length) await Promise.all([send(['ZREM', index, ...gone]), send(['HDEL', names, ...gone])]);
      }
    }, 'write');
  }
}

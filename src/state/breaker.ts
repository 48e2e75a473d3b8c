import { createHash } from 'node:crypto';
import { readRecords, stateFile, type Warn } from './json-store.js';
import { withLock, atomicWrite } from './files.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerRecord {
  name: string;
  state: BreakerState;
  consecutive_failures: number;
  /** Epoch ms until which the breaker stays open. */
  open_until: number | null;
  opened_at: number | null;
  last_error: string | null;
  /** Epoch ms when a half-open probe was let through (one at a time across processes). */
  probe_started_at: number | null;
  updated_at: number;
}

export interface BreakerPolicy {
  /** Consecutive failures that open the breaker. */
  failures: number;
  cooldownMs: number;
  /** How long a half-open probe may take before another process may probe. */
  probeTimeoutMs: number;
}

export const DEFAULT_BREAKER: BreakerPolicy = { failures: 3, cooldownMs: 30_000, probeTimeoutMs: 60_000 };
/** However long a server asks us to stay away (Retry-After), a breaker stays open at most this long. */
export const MAX_OPEN_MS = 3_600_000;

/** Providers are keyed by name plus their endpoint and model, so two configs that reuse a name do not share a breaker. */
export function breakerKey(name: string, baseUrl: string, model: string): string {
  return `${name}#${createHash('sha256').update(`${baseUrl}\n${model}`).digest('hex').slice(0, 10)}`;
}

export type Admission = { allowed: true; probe: boolean } | { allowed: false; reason: string; openUntil: number };

/** What the chain needs of a breaker store (a file store for the CLI, a memory store for tests and servers). */
export interface Breakers {
  /** Reads the shared state once; `admit` then answers from it without I/O. Later writes never wait for a lock past `deadline` (epoch ms). */
  load(deadline?: number): Promise<void>;
  /** May a request go to this provider now? Answers from the loaded state; a half-open probe must then be claimed. */
  admit(key: string, name: string, nowMs?: number): Admission;
  /** Claims the one half-open probe across processes; false when another process got it first. */
  claimProbe(key: string, name: string, nowMs?: number): Promise<boolean>;
  /**
   * Gives back a probe claimed at `claimedAt` that ended without a verdict on the provider (the caller
   * cancelled, a hedge won, the request's own fault): the next call may probe at once instead of waiting
   * out the probe timeout. A probe claimed since by someone else is left alone. Optional for stores
   * written elsewhere; without it the probe timeout frees the breaker.
   */
  releaseProbe?(key: string, name: string, claimedAt: number): Promise<void>;
  success(key: string, name: string, nowMs?: number): Promise<void>;
  failure(key: string, name: string, errorClass: string, retryAfterMs: number | undefined, nowMs?: number): Promise<void>;
}

/** A closed breaker with nothing against it. */
export function fresh(name: string, nowMs: number): BreakerRecord {
  return { name, state: 'closed', consecutive_failures: 0, open_until: null, opened_at: null, last_error: null, probe_started_at: null, updated_at: nowMs };
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const numOrNull = (v: unknown) => v === null || num(v);

/** A record as read from disk, or undefined when it has the wrong shape. open_until is clamped to `maxOpenMs` ahead. */
export function validRecord(v: unknown, nowMs: number, maxOpenMs = MAX_OPEN_MS): BreakerRecord | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.name !== 'string' || !['closed', 'open', 'half_open'].includes(r.state as string)) return undefined;
  if (!num(r.consecutive_failures) || !numOrNull(r.open_until) || !numOrNull(r.opened_at) || !numOrNull(r.probe_started_at)) return undefined;
  const rec = { ...(r as unknown as BreakerRecord) };
  if (rec.open_until !== null) rec.open_until = Math.min(rec.open_until, nowMs + maxOpenMs);
  if (rec.probe_started_at !== null) rec.probe_started_at = Math.min(rec.probe_started_at, nowMs);
  return rec;
}

/** The breaker's rules on one record, with no I/O. */
export const breakerRules = {
  admit(r: BreakerRecord | undefined, policy: BreakerPolicy, nowMs: number): Admission {
    if (!r || r.state === 'closed') return { allowed: true, probe: false };
    if (r.open_until !== null && nowMs < r.open_until) return { allowed: false, reason: 'circuit open', openUntil: r.open_until };
    if (r.probe_started_at !== null && nowMs - r.probe_started_at < policy.probeTimeoutMs) {
      return { allowed: false, reason: 'circuit half-open, another probe in flight', openUntil: r.probe_started_at + policy.probeTimeoutMs };
    }
    return { allowed: true, probe: true };
  },
  /** Frees the half-open probe claimed at `claimedAt`; false when there is none such (nothing to write). */
  release(r: BreakerRecord | undefined, claimedAt: number, nowMs: number): boolean {
    if (!r || r.state !== 'half_open' || r.probe_started_at !== claimedAt) return false;
    r.probe_started_at = null;
    r.updated_at = nowMs;
    return true;
  },
  failure(r: BreakerRecord, policy: BreakerPolicy, errorClass: string, retryAfterMs: number | undefined, nowMs: number): void {
    r.consecutive_failures += 1;
    r.last_error = errorClass;
    r.updated_at = nowMs;
    if (r.state === 'half_open' || r.consecutive_failures >= policy.failures) {
      // A Retry-After longer than the cooldown is the provider telling us how long it needs — believed up to an hour.
      const asked = Number.isFinite(retryAfterMs) ? Math.min(MAX_OPEN_MS, Math.max(0, retryAfterMs!)) : 0;
      r.state = 'open';
      r.opened_at = nowMs;
      r.open_until = nowMs + Math.max(policy.cooldownMs, asked);
      r.probe_started_at = null;
    }
  },
};

/**
 * Breakers in memory: the rules without persistence (tests, and a long-running process that must not
 * touch the disk on every request).
 */
export class MemoryBreakers implements Breakers {
  readonly records = new Map<string, BreakerRecord>();
  constructor(readonly policy: BreakerPolicy = DEFAULT_BREAKER) {}
  async load(_deadline?: number): Promise<void> {}
  admit(key: string, _name: string, nowMs = Date.now()): Admission {
    return breakerRules.admit(this.records.get(key), this.policy, nowMs);
  }
  async claimProbe(key: string, name: string, nowMs = Date.now()): Promise<boolean> {
    const r = this.records.get(key) ?? fresh(name, nowMs);
    if (!breakerRules.admit(r, this.policy, nowMs).allowed) return false;
    this.records.set(key, { ...r, state: 'half_open', probe_started_at: nowMs, updated_at: nowMs });
    return true;
  }
  async releaseProbe(key: string, _name: string, claimedAt: number, nowMs = Date.now()): Promise<void> {
    const r = this.records.get(key);
    if (r) breakerRules.release(r, claimedAt, nowMs);
  }
  async success(key: string, name: string, nowMs = Date.now()): Promise<void> {
    this.records.set(key, fresh(name, nowMs));
  }
  async failure(key: string, name: string, errorClass: string, retryAfterMs: number | undefined, nowMs = Date.now()): Promise<void> {
    const r = this.records.get(key) ?? fresh(name, nowMs);
    breakerRules.failure(r, this.policy, errorClass, retryAfterMs, nowMs);
    this.records.set(key, r);
  }
}

/**
 * Circuit breakers for every provider, persisted in one JSON file in the state directory, so separate
 * invocations (and parallel CI jobs) share what they learnt. The file is read once per call (`load`):
 * deciding to skip an open breaker costs a map lookup, no lock and no write. Updates re-read the file under
 * the lock and write it atomically; a lock that cannot be had before `lockDeadline` skips the update with
 * a warning rather than holding the call. A corrupt, unreadable or wrong-shaped file is reported through
 * `warn` and treated as empty.
 */
export class FileBreakers implements Breakers {
  readonly file: string;
  private snapshot: Record<string, BreakerRecord> = {};
  /** Epoch ms past which waiting for the lock is not worth it (the caller's deadline). */
  private lockDeadline: number | undefined;

  constructor(
    readonly policy: BreakerPolicy = DEFAULT_BREAKER,
    env: NodeJS.ProcessEnv = process.env,
    private readonly warn: Warn = () => {},
  ) {
    this.file = stateFile(env, 'breakers.json');
  }

  private read(nowMs = Date.now()): Promise<Record<string, BreakerRecord>> {
    return readRecords(this.file, 'breaker state', (v) => validRecord(v, nowMs, Math.max(MAX_OPEN_MS, this.policy.cooldownMs)), this.warnOnce);
  }

  /** The file is read at load and again under the lock for each update: a fault it has is told once, not at every read. */
  private readonly warned = new Set<string>();
  private readonly warnOnce: Warn = (msg) => {
    if (this.warned.has(msg)) return;
    this.warned.add(msg);
    this.warn(msg);
  };

  async load(deadline?: number): Promise<void> {
    this.lockDeadline = deadline;
    this.snapshot = await this.read();
  }

  /** Every record (for `providers`). */
  async all(): Promise<Record<string, BreakerRecord>> {
    await this.load();
    return this.snapshot;
  }

  async get(key: string): Promise<BreakerRecord | undefined> {
    return (await this.all())[key];
  }

  admit(key: string, _name: string, nowMs = Date.now()): Admission {
    return breakerRules.admit(this.snapshot[key], this.policy, nowMs);
  }

  /** Read-modify-write under the lock; `fn` returns false when nothing needs writing. Throws on a lock or write failure. */
  private async mutate(fn: (all: Record<string, BreakerRecord>) => boolean): Promise<void> {
    await withLock(
      this.file,
      async () => {
        const all = await this.read();
        if (fn(all)) await atomicWrite(this.file, `${JSON.stringify(all, null, 2)}\n`);
        this.snapshot = all;
      },
      this.lockDeadline,
    );
  }

  /** Like mutate, but a failure is a warning: the chain goes on without that update. */
  private async tryMutate(what: string, fn: (all: Record<string, BreakerRecord>) => boolean): Promise<void> {
    try {
      await this.mutate(fn);
    } catch (e) {
      this.warn(`could not record ${what} in ${this.file}: ${(e as Error).message}`);
    }
  }

  async claimProbe(key: string, name: string, nowMs = Date.now()): Promise<boolean> {
    let claimed = false;
    await this.tryMutate(`the half-open probe of ${name}`, (all) => {
      const r = all[key] ?? fresh(name, nowMs);
      if (!breakerRules.admit(r, this.policy, nowMs).allowed) return false;
      all[key] = { ...r, state: 'half_open', probe_started_at: nowMs, updated_at: nowMs };
      claimed = true;
      return true;
    });
    return claimed;
  }

  async releaseProbe(key: string, name: string, claimedAt: number, nowMs = Date.now()): Promise<void> {
    await this.tryMutate(`the end of the half-open probe of ${name}`, (all) => breakerRules.release(all[key], claimedAt, nowMs));
  }

  async success(key: string, name: string, nowMs = Date.now()): Promise<void> {
    // Read again (no lock): the snapshot is from the start of the call, and another process may have
    // counted failures since; a success must end that run of failures too, or they add up across it.
    const rec = (await this.read(nowMs))[key];
    if (!rec || (rec.state === 'closed' && rec.consecutive_failures === 0)) return; // nothing to write
    await this.tryMutate(`a success of ${name}`, (all) => {
      all[key] = fresh(name, nowMs);
      return true;
    });
  }

  async failure(key: string, name: string, errorClass: string, retryAfterMs: number | undefined, nowMs = Date.now()): Promise<void> {
    await this.tryMutate(`a failure of ${name}`, (all) => {
      const r = all[key] ?? fresh(name, nowMs);
      breakerRules.failure(r, this.policy, errorClass, retryAfterMs, nowMs);
      all[key] = r;
      return true;
    });
  }

  /** Clears one provider's breaker (by name, every key of that name) or all of them; returns how many records went. Throws when it could not. */
  async reset(name?: string): Promise<number> {
    let n = 0;
    await this.mutate((all) => {
      for (const k of Object.keys(all)) {
        if (name === undefined || all[k].name === name) {
          delete all[k];
          n++;
        }
      }
      return n > 0;
    });
    return n;
  }
}

/** What `providers` shows: closed, open (until when), half-open. */
export function describeBreaker(r: BreakerRecord | undefined, nowMs = Date.now()): string {
  if (!r || r.state === 'closed') return r && r.consecutive_failures > 0 ? `closed (${r.consecutive_failures} failed)` : 'closed';
  if (r.state === 'open' && r.open_until !== null && nowMs < r.open_until) return `open ${Math.ceil((r.open_until - nowMs) / 1000)}s more (${r.last_error})`;
  return `half-open (${r.last_error})`;
}


import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { atomicWrite, readText, stateDir, withLock } from './files.js';

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

/** Providers are keyed by name plus their endpoint and model, so two configs that reuse a name do not share a breaker. */
export function breakerKey(name: string, baseUrl: string, model: string): string {
  return `${name}#${createHash('sha256').update(`${baseUrl}\n${model}`).digest('hex').slice(0, 10)}`;
}

export type Admission = { allowed: true; probe: boolean } | { allowed: false; reason: string; openUntil: number };

/**
 * Circuit breakers for every provider, persisted in one JSON file in the state directory and updated
 * under a lock, so separate invocations (and parallel CI jobs) share what they learnt. A corrupt or
 * unreadable file is reported through `warn` and treated as empty.
 */
export class BreakerStore {
  readonly file: string;

  constructor(
    readonly policy: BreakerPolicy = DEFAULT_BREAKER,
    env: NodeJS.ProcessEnv = process.env,
    private readonly warn: (msg: string) => void = () => {},
  ) {
    this.file = join(stateDir(env), 'breakers.json');
  }

  private read(): Record<string, BreakerRecord> {
    let text: string | undefined;
    try {
      text = readText(this.file);
    } catch (e) {
      this.warn(`breaker state ${this.file} is unreadable (${(e as NodeJS.ErrnoException).code ?? 'error'}); ignoring it`);
      return {};
    }
    if (text === undefined) return {};
    try {
      const data = JSON.parse(text) as unknown;
      if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Error('not an object');
      return data as Record<string, BreakerRecord>;
    } catch {
      this.warn(`breaker state ${this.file} is corrupt; ignoring it (it will be rewritten)`);
      return {};
    }
  }

  private update<T>(fn: (all: Record<string, BreakerRecord>) => T): T {
    try {
      return withLock(this.file, () => {
        const all = this.read();
        const out = fn(all);
        atomicWrite(this.file, `${JSON.stringify(all, null, 2)}\n`);
        return out;
      });
    } catch (e) {
      this.warn(`could not update breaker state ${this.file}: ${(e as Error).message}`);
      return fn(this.read());
    }
  }

  all(): Record<string, BreakerRecord> {
    return this.read();
  }

  get(key: string): BreakerRecord | undefined {
    return this.read()[key];
  }

  /** May a request go to this provider now? Past the cooldown one probe goes through (half-open). */
  admit(key: string, name: string, nowMs = Date.now()): Admission {
    const rec = this.read()[key];
    if (!rec || rec.state === 'closed') return { allowed: true, probe: false };
    return this.update((all) => {
      const r = all[key] ?? fresh(name, nowMs);
      all[key] = r;
      if (r.state === 'closed') return { allowed: true, probe: false } as Admission;
      if (r.open_until !== null && nowMs < r.open_until) return { allowed: false, reason: 'circuit open', openUntil: r.open_until } as Admission;
      if (r.probe_started_at !== null && nowMs - r.probe_started_at < this.policy.probeTimeoutMs) {
        return { allowed: false, reason: 'circuit half-open, another probe in flight', openUntil: r.probe_started_at + this.policy.probeTimeoutMs } as Admission;
      }
      r.state = 'half_open';
      r.probe_started_at = nowMs;
      r.updated_at = nowMs;
      return { allowed: true, probe: true } as Admission;
    });
  }

  success(key: string, name: string, nowMs = Date.now()): void {
    const rec = this.read()[key];
    if (rec && rec.state === 'closed' && rec.consecutive_failures === 0) return; // nothing to write
    this.update((all) => {
      all[key] = { ...fresh(name, nowMs), updated_at: nowMs };
    });
  }

  /** Records a failure; opens the breaker at the threshold, or at once when a half-open probe fails. */
  failure(key: string, name: string, errorClass: string, retryAfterMs: number | undefined, nowMs = Date.now()): BreakerRecord {
    return this.update((all) => {
      const r = all[key] ?? fresh(name, nowMs);
      r.consecutive_failures += 1;
      r.last_error = errorClass;
      r.updated_at = nowMs;
      const wasProbe = r.state === 'half_open';
      if (wasProbe || r.consecutive_failures >= this.policy.failures) {
        // A Retry-After longer than the cooldown is the provider telling us how long it needs.
        const cooldown = Math.max(this.policy.cooldownMs, retryAfterMs ?? 0);
        r.state = 'open';
        r.opened_at = nowMs;
        r.open_until = nowMs + cooldown;
        r.probe_started_at = null;
      }
      all[key] = r;
      return { ...r };
    });
  }

  /** Clears one provider's breaker (by name, every key of that name) or all of them. */
  reset(name?: string): number {
    return this.update((all) => {
      let n = 0;
      for (const k of Object.keys(all)) {
        if (name === undefined || all[k].name === name) {
          delete all[k];
          n++;
        }
      }
      return n;
    });
  }
}

function fresh(name: string, nowMs: number): BreakerRecord {
  return { name, state: 'closed', consecutive_failures: 0, open_until: null, opened_at: null, last_error: null, probe_started_at: null, updated_at: nowMs };
}

/** What `providers` shows: closed, open (until when), half-open. */
export function describeBreaker(r: BreakerRecord | undefined, nowMs = Date.now()): string {
  if (!r || r.state === 'closed') return r && r.consecutive_failures > 0 ? `closed (${r.consecutive_failures} failed)` : 'closed';
  if (r.state === 'open' && r.open_until !== null && nowMs < r.open_until) return `open ${Math.ceil((r.open_until - nowMs) / 1000)}s more (${r.last_error})`;
  return `half-open (${r.last_error})`;
}

import { atomicWrite, withLock } from './files.js';
import { readRecords, stateFile, type Warn } from './json-store.js';

/** What a provider+model has shown recently: the basis of its hedge delay and its clocks. */
export interface LatencySamples {
  name: string;
  /** Time to the first content or reasoning token, less the prompt-length allowance (ms), newest last. */
  ttft_ms: number[];
  /** The longest silence between chunks of each complete answer (ms), newest last. */
  max_gap_ms: number[];
  updated_at: number;
}

export interface LatencySample {
  ttftMs?: number;
  maxGapMs?: number;
}

/** What the chain needs of a latency history (a file store for the CLI, a memory store for tests). */
export interface LatencyHistory {
  /** Reads the history once; the write at the end never waits for a lock past `deadline` (epoch ms). */
  load(deadline?: number): Promise<void>;
  get(key: string): LatencySamples | undefined;
  /** Buffers a sample; `flush` persists what was buffered. */
  add(key: string, name: string, sample: LatencySample): void;
  flush(): Promise<void>;
}

/** Samples kept per provider+model: enough for a p99 that moves with the provider, small enough to rewrite each call. */
export const HISTORY_SAMPLES = 64;
/** Providers+models kept; the least recently updated go first. */
export const HISTORY_KEYS = 256;

const finiteList = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0);

function valid(v: unknown): LatencySamples | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.name !== 'string' || !finiteList(r.ttft_ms) || !finiteList(r.max_gap_ms)) return undefined;
  return { name: r.name, ttft_ms: r.ttft_ms.slice(-HISTORY_SAMPLES), max_gap_ms: r.max_gap_ms.slice(-HISTORY_SAMPLES), updated_at: typeof r.updated_at === 'number' ? r.updated_at : 0 };
}

/** Appends `add` to `list`, keeping the newest HISTORY_SAMPLES, in place (a long-running gateway merges once per call). */
function appendCapped(list: number[], add: number): void {
  list.push(Math.round(add));
  if (list.length > HISTORY_SAMPLES) list.splice(0, list.length - HISTORY_SAMPLES);
}

function merge(all: Record<string, LatencySamples>, pending: Map<string, { name: string; samples: LatencySample[] }>, nowMs: number): void {
  let added = false;
  for (const [key, { name, samples }] of pending) {
    let r = all[key];
    if (!r) {
      r = all[key] = { name, ttft_ms: [], max_gap_ms: [], updated_at: nowMs };
      added = true;
    }
    for (const s of samples) {
      if (s.ttftMs !== undefined) appendCapped(r.ttft_ms, s.ttftMs);
      if (s.maxGapMs !== undefined) appendCapped(r.max_gap_ms, s.maxGapMs);
    }
    r.updated_at = nowMs;
  }
  if (!added) return; // only a new key can push the count past the cap
  const keys = Object.keys(all);
  if (keys.length > HISTORY_KEYS) {
    for (const k of keys.sort((a, b) => all[a].updated_at - all[b].updated_at).slice(0, keys.length - HISTORY_KEYS)) delete all[k];
  }
}

/** Samples are buffered during a call and merged into the records at its end. */
export abstract class BufferedHistory {
  protected pending = new Map<string, { name: string; samples: LatencySample[] }>();
  add(key: string, name: string, sample: LatencySample): void {
    const p = this.pending.get(key) ?? { name, samples: [] };
    p.samples.push(sample);
    this.pending.set(key, p);
  }
}

export class MemoryLatencyHistory extends BufferedHistory implements LatencyHistory {
  readonly records: Record<string, LatencySamples> = {};
  async load(_deadline?: number): Promise<void> {}
  get(key: string): LatencySamples | undefined {
    return this.records[key];
  }
  async flush(): Promise<void> {
    merge(this.records, this.pending, Date.now());
    this.pending.clear();
  }
}

/**
 * Per provider+model TTFT and longest-gap history in `latency.json` beside the breaker state, read once
 * per call and written once at its end (under the lock, merged with what other processes wrote).
 */
export class FileLatencyHistory extends BufferedHistory implements LatencyHistory {
  readonly file: string;
  private snapshot: Record<string, LatencySamples> = {};
  private lockDeadline: number | undefined;

  constructor(
    env: NodeJS.ProcessEnv = process.env,
    private readonly warn: Warn = () => {},
  ) {
    super();
    this.file = stateFile(env, 'latency.json');
  }

  async load(deadline?: number): Promise<void> {
    this.lockDeadline = deadline;
    this.snapshot = await readRecords(this.file, 'latency history', valid, this.warn);
  }

  get(key: string): LatencySamples | undefined {
    return this.snapshot[key];
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    try {
      await withLock(
        this.file,
        async () => {
          const all = await readRecords(this.file, 'latency history', valid, () => {});
          merge(all, this.pending, Date.now());
          await atomicWrite(this.file, `${JSON.stringify(all)}\n`);
          this.snapshot = all;
        },
        this.lockDeadline,
      );
      this.pending.clear();
    } catch (e) {
      this.warn(`could not record latency history in ${this.file}: ${(e as Error).message}`);
    }
  }
}

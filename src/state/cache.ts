import { createHash } from 'node:crypto';
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChatMessage, Reasoning, Sampling, Usage } from '../providers/types.js';
import { atomicWrite, cacheDir, cleanStaleTmp, ensurePrivateDir, readText } from './files.js';
import type { Warn } from './json-store.js';

export interface CachedAnswer {
  content: string;
  provider: string;
  model: string;
  usage: Usage | null;
  created_at: number;
  expires_at: number;
}

export interface CacheKeyInput {
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  reasoning?: Reasoning;
  sampling?: Sampling;
  /** The chain or provider asked: one route's cached answer never stands in for another's (it may be another model). */
  route?: string;
}

/** The request, normalised (whitespace at the ends of messages trimmed, key order fixed), hashed. */
export function cacheKey(req: CacheKeyInput): string {
  const normal = {
    messages: req.messages.map((m) => ({ role: m.role, content: m.content.trim() })),
    max_tokens: req.maxTokens ?? null,
    temperature: req.temperature ?? null,
    // Only when set: keys of requests without them stay what they were before these existed.
    ...(req.reasoning !== undefined ? { reasoning: { effort: req.reasoning.effort ?? null, budget_tokens: req.reasoning.budgetTokens ?? null } } : {}),
    ...(req.sampling !== undefined ? { sampling: { top_p: req.sampling.topP ?? null, top_k: req.sampling.topK ?? null, seed: req.sampling.seed ?? null, presence_penalty: req.sampling.presencePenalty ?? null, frequency_penalty: req.sampling.frequencyPenalty ?? null } } : {}),
    ...(req.route !== undefined ? { route: req.route } : {}),
  };
  return createHash('sha256').update(JSON.stringify(normal)).digest('hex');
}

/** What the chain needs of an answer cache. */
export interface AnswerCache {
  get(key: string, nowMs?: number): Promise<CachedAnswer | undefined>;
  put(key: string, answer: Omit<CachedAnswer, 'created_at' | 'expires_at'>, nowMs?: number): Promise<void>;
}

/**
 * Answers in memory, at most `maxEntries` of them: a long-running gateway must stay flat however many
 * distinct requests it sees, so the least recently written entry goes first (a Map keeps insertion order).
 */
export class MemoryAnswerCache implements AnswerCache {
  readonly entries = new Map<string, CachedAnswer>();
  constructor(
    readonly ttlMs: number,
    readonly maxEntries = 10_000,
  ) {}
  async get(key: string, nowMs = Date.now()): Promise<CachedAnswer | undefined> {
    const a = this.entries.get(key);
    if (a && a.expires_at <= nowMs) this.entries.delete(key);
    return a && a.expires_at > nowMs ? a : undefined;
  }
  async put(key: string, answer: Omit<CachedAnswer, 'created_at' | 'expires_at'>, nowMs = Date.now()): Promise<void> {
    this.entries.delete(key);
    this.entries.set(key, { ...answer, created_at: nowMs, expires_at: nowMs + this.ttlMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}

/**
 * A stored entry (JSON text) as it may be served, by the file and the Redis cache alike: undefined once
 * expired; throws when it is no entry or holds no answer. Blank text is no answer (an entry written before
 * blank answers were refused, or not by us), and an entry is kept for the TTL configured now: one written
 * under a longer cache_ttl (or by a replica configured so) does not outlive a shorter one.
 */
export function storedAnswer(text: string, ttlMs: number, nowMs: number): CachedAnswer | undefined {
  const a = JSON.parse(text) as CachedAnswer;
  if (typeof a !== 'object' || a === null || typeof a.content !== 'string' || typeof a.expires_at !== 'number' || typeof a.provider !== 'string' || typeof a.model !== 'string') throw new Error('bad shape');
  if (!/\S/.test(a.content)) throw new Error('no answer');
  const expires = typeof a.created_at === 'number' ? Math.min(a.expires_at, a.created_at + ttlMs) : a.expires_at;
  return expires > nowMs ? a : undefined;
}

/** Cache entries are named by their key, a SHA-256 in hex: the only files `clear` ever removes. */
const ENTRY_NAME = /^[0-9a-f]{64}\.json$/;

/**
 * The last good answer per request, one file per key in the cache directory. It holds the answer and
 * which provider gave it, never a key. Unreadable or corrupt entries are reported and ignored.
 */
export class FileAnswerCache implements AnswerCache {
  readonly dir: string;
  /** The tool's cache directory, checked as well: a link there would lead `answers/` elsewhere. */
  private readonly root: string;

  constructor(
    readonly ttlMs: number,
    env: NodeJS.ProcessEnv = process.env,
    private readonly warn: Warn = () => {},
  ) {
    this.root = cacheDir(env);
    this.dir = join(this.root, 'answers');
  }

  private file(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  async get(key: string, nowMs = Date.now()): Promise<CachedAnswer | undefined> {
    let text: string | undefined;
    try {
      text = await readText(this.file(key));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      this.warn(`cached answer ${this.file(key)} is ${code === 'ELOOP' ? 'a symbolic link' : `unreadable (${code ?? 'error'})`}; ignoring it`);
      return undefined;
    }
    if (text === undefined) return undefined;
    try {
      return storedAnswer(text, this.ttlMs, nowMs);
    } catch {
      this.warn(`cached answer ${this.file(key)} is corrupt; ignoring it`);
      return undefined;
    }
  }

  async put(key: string, answer: Omit<CachedAnswer, 'created_at' | 'expires_at'>, nowMs = Date.now()): Promise<void> {
    try {
      await ensurePrivateDir(this.root);
      await atomicWrite(this.file(key), JSON.stringify({ ...answer, created_at: nowMs, expires_at: nowMs + this.ttlMs }));
    } catch (e) {
      this.warn(`could not write the answer cache in ${this.dir}: ${(e as Error).message}`);
    }
  }

  /**
   * Removes the cached answers — only regular files named like an entry, and our own leftover temp files —
   * from the tool's directory. A symlinked directory is refused (ensurePrivateDir), so nothing outside it
   * is ever touched. Returns how many entries went.
   */
  async clear(): Promise<number> {
    try {
      await lstat(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw e;
    }
    await ensurePrivateDir(this.root);
    await ensurePrivateDir(this.dir);
    let n = 0;
    for (const name of await readdir(this.dir)) {
      if (!ENTRY_NAME.test(name)) continue;
      const path = join(this.dir, name);
      if (!(await lstat(path)).isFile()) continue;
      await rm(path, { force: true });
      n++;
    }
    await cleanStaleTmp(this.dir);
    return n;
  }
}

import { createHash } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ChatMessage, Usage } from '../providers/types.js';
import { atomicWrite, cacheDir, readText } from './files.js';

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
}

/** The request, normalised (whitespace at the ends of messages trimmed, key order fixed), hashed. */
export function cacheKey(req: CacheKeyInput): string {
  const normal = {
    messages: req.messages.map((m) => ({ role: m.role, content: m.content.trim() })),
    max_tokens: req.maxTokens ?? null,
    temperature: req.temperature ?? null,
  };
  return createHash('sha256').update(JSON.stringify(normal)).digest('hex');
}

/**
 * The last good answer per request, one file per key in the cache directory. It holds the answer and
 * which provider gave it, never a key. Unreadable or corrupt entries are reported and ignored.
 */
export class AnswerCache {
  readonly dir: string;

  constructor(
    readonly ttlMs: number,
    env: NodeJS.ProcessEnv = process.env,
    private readonly warn: (msg: string) => void = () => {},
  ) {
    this.dir = join(cacheDir(env), 'answers');
  }

  private file(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  get(key: string, nowMs = Date.now()): CachedAnswer | undefined {
    let text: string | undefined;
    try {
      text = readText(this.file(key));
    } catch (e) {
      this.warn(`cached answer ${this.file(key)} is unreadable (${(e as NodeJS.ErrnoException).code ?? 'error'}); ignoring it`);
      return undefined;
    }
    if (text === undefined) return undefined;
    try {
      const a = JSON.parse(text) as CachedAnswer;
      if (typeof a.content !== 'string' || typeof a.expires_at !== 'number') throw new Error('bad shape');
      return a.expires_at > nowMs ? a : undefined;
    } catch {
      this.warn(`cached answer ${this.file(key)} is corrupt; ignoring it`);
      return undefined;
    }
  }

  put(key: string, answer: Omit<CachedAnswer, 'created_at' | 'expires_at'>, nowMs = Date.now()): void {
    try {
      atomicWrite(this.file(key), JSON.stringify({ ...answer, created_at: nowMs, expires_at: nowMs + this.ttlMs }));
    } catch (e) {
      this.warn(`could not write the answer cache in ${this.dir}: ${(e as Error).message}`);
    }
  }

  clear(): number {
    let n = 0;
    try {
      for (const f of readdirSync(this.dir)) {
        if (f.endsWith('.json') || f.endsWith('.tmp')) {
          rmSync(join(this.dir, f), { force: true });
          n++;
        }
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return n;
  }
}

/**
 * The emulator's prompt cache, shaped like vLLM's automatic prefix caching and the hosted providers' caches:
 * the prompt is cut into fixed blocks, each keyed by a hash of everything up to and including it, so a block
 * hits only when the whole prompt before it is the same. A hit is reported as cached input tokens (each
 * dialect in its own usage field, src/mock/wire.ts) and skips that part of the prefill (a faster first token).
 */

/** 64 characters, about 16 tokens at the emulator's four characters a token. */
const BLOCK_CHARS = 64;
/** Blocks remembered per provider; the oldest are forgotten first. */
const MAX_BLOCKS = 200_000;

export class PrefixCache {
  private readonly blocks = new Set<number>();

  /** Looks the prompt up and stores its blocks; returns how many leading characters were already cached. */
  lookupAndStore(prompt: string): number {
    let hash = 2166136261;
    let hitChars = 0;
    let missed = false;
    for (let start = 0; start + BLOCK_CHARS <= prompt.length; start += BLOCK_CHARS) {
      for (let i = start; i < start + BLOCK_CHARS; i++) hash = Math.imul(hash ^ prompt.charCodeAt(i), 16777619);
      const key = hash >>> 0;
      if (!missed && this.blocks.has(key)) hitChars += BLOCK_CHARS;
      else {
        missed = true;
        if (this.blocks.size >= MAX_BLOCKS) this.blocks.delete(this.blocks.values().next().value!);
        this.blocks.add(key);
      }
    }
    return hitChars;
  }

  clear(): void {
    this.blocks.clear();
  }
}

/** The text a prompt cache keys on: the system prompt, then each message's role and content, in order. */
export function promptText(system: unknown, messages: { role?: unknown; content?: unknown }[]): string {
  const part = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v ?? ''));
  let text = system === undefined ? '' : `system\n${part(system)}\n`;
  for (const m of messages) text += `${part(m.role)}\n${part(m.content)}\n`;
  return text;
}

import { UsageError } from '../../errors.js';

/** The BPE encodings `--tokenizer` accepts (gpt-tokenizer's names): o200k_base (GPT-4o, GPT-5), cl100k_base (GPT-4, GPT-3.5), p50k_base, r50k_base. */
export const TOKENIZERS = ['o200k_base', 'cl100k_base', 'p50k_base', 'r50k_base'] as const;
export type TokenizerName = (typeof TOKENIZERS)[number];
export const DEFAULT_TOKENIZER: TokenizerName = 'o200k_base';

export interface Tokenizer {
  name: TokenizerName;
  count(text: string): number;
  encode(text: string): number[];
}

/**
 * Loads an encoding on demand: each is a large table (about half a second to load), so a bench run without
 * the synthetic-prompt flags never pays for it.
 */
export async function loadTokenizer(name: string): Promise<Tokenizer> {
  if (!(TOKENIZERS as readonly string[]).includes(name)) throw new UsageError(`--tokenizer: "${name}" is not one of ${TOKENIZERS.join(', ')}`);
  const mod = (await import(`gpt-tokenizer/encoding/${name}`)) as { encode(text: string): number[]; countTokens(text: string): number };
  return { name: name as TokenizerName, count: (text) => mod.countTokens(text), encode: (text) => mod.encode(text) };
}

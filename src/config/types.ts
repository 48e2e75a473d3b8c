/** What providers.yaml says, once parsed and checked: the types the rest of the tool reads (the loader fills them). */
import type { ThinkingForm } from '../providers/reasoning.js';
import type { ThinkTags } from '../providers/think-tags.js';

export interface Price {
  input: number;
  cachedInput: number;
  /** Per 1M input tokens written to a prompt cache; when not given, CACHE_WRITE_FACTOR × input (cost/usage-cost.ts cacheWritePrice). */
  cacheWrite?: number;
  output: number;
  /** YYYY-MM-DD; optional (an undated price is flagged as such). */
  pricedAt?: string;
  source?: string;
}

export interface TimeoutsMs {
  connect: number;
  firstToken: number;
  idle: number;
  total: number;
}

export interface ProviderConfig {
  name: string;
  api: 'openai' | 'anthropic';
  baseUrl: string;
  model: string;
  apiKeyEnv?: string;
  description?: string;
  headers: Record<string, string>;
  params: Record<string, unknown>;
  price?: Price;
  contextWindow?: number;
  maxOutputTokens?: number;
  maxTokensParam?: 'max_tokens' | 'max_completion_tokens';
  streamUsage?: 'auto' | 'never';
  /** How reasoning is sent (adaptive/budget: Anthropic, effort: OpenAI dialect, none: neither); unset, the model name decides (reasoning.ts). */
  thinking?: ThinkingForm;
  /** OpenAI dialect: how `<think>` tags in the content are read (leading, open, off); unset, leading. */
  thinkTags?: ThinkTags;
  maxResponseBytes?: number;
  timeouts: TimeoutsMs;
  required: boolean;
  thresholds: string[];
  /** "file:line:col" of the provider's entry, for messages about it. */
  where: string;
}

export interface ChainConfig {
  name: string;
  providers: string[];
  staticMessage?: string;
  /** A fixed hedge delay (ms), 'off', or 'auto' (from history); unset means auto. */
  hedge?: number | 'auto' | 'off';
  retrySameFirst?: boolean;
  onContentFilter?: 'stop' | 'fallover';
  /** serve: overrides of the gateway's stream commit for this chain. */
  streamCommit?: Partial<StreamCommit>;
}

/** serve: a stream is held back until `tokens` tokens came or `ms` passed since the first token. */
export interface StreamCommit {
  tokens: number;
  ms: number;
}

/** providers.yaml `serve:` (unset fields take the gateway's defaults; flags override). */
export interface ServeConfig {
  host?: string;
  port?: number;
  apiKeyEnv?: string;
  state?: string;
  maxBodyBytes?: number;
  maxConcurrentPerClient?: number;
  streamCommit?: Partial<StreamCommit>;
  otlpEndpoint?: string;
  shutdownGraceMs?: number;
  /** Where host and state are written ("file:line:col"), so a bad value is reported as the config key, not as a flag. */
  where?: { host?: string; state?: string };
}

export interface AskDefaults {
  retries: number;
  breakerFailures: number;
  breakerCooldownMs: number;
  cacheTtlMs: number;
}

export interface Config {
  /** The file it came from, or "(built-in)". */
  file: string;
  providers: Map<string, ProviderConfig>;
  chains: Map<string, ChainConfig>;
  staticMessage?: string;
  thresholds: string[];
  currency?: { code: string; rate: number };
  ask: AskDefaults;
  serve: ServeConfig;
}

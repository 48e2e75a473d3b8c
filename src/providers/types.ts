import type { ProviderError } from './errors.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Per-attempt clocks in milliseconds; 0 or undefined disables a clock. */
export interface Timeouts {
  connectMs?: number;
  /** From the request being sent to the first content or reasoning token (headers and keep-alives do not stop it). */
  firstTokenMs?: number;
  /** Longest silence between data events once tokens flow. SSE comments do not re-arm it. */
  idleMs?: number;
  totalMs?: number;
}

/**
 * OpenAI's reasoning_effort values (the openai SDK 6.x ReasoningEffort type); "none" turns reasoning off.
 * Then "max", Anthropic's output_config.effort above xhigh (@anthropic-ai/sdk 1.14 OutputConfig), which
 * an OpenAI-dialect provider is sent as xhigh (reasoning.ts says how each dialect writes each level).
 */
export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

/**
 * How hard a reasoning model thinks, set by the caller in either dialect's terms: OpenAI's reasoning_effort
 * (`effort`) or Anthropic's thinking.budget_tokens (`budgetTokens`, at least 1024). Each adapter writes it in
 * its own dialect and maps one to the other where it must (src/providers/reasoning.ts says how).
 */
export interface Reasoning {
  effort?: ReasoningEffort;
  budgetTokens?: number;
}

/**
 * Sampling controls beyond temperature, passed to a provider only in a dialect that has them: top_p in both,
 * top_k in Anthropic's only, seed and the penalties in OpenAI's only. An adapter whose dialect cannot express
 * one refuses the request (ProviderAdapter.refuse) rather than drop it.
 */
export interface Sampling {
  topP?: number;
  topK?: number;
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
}

/** The ranges the number controls take (OpenAI's API reference; Anthropic's top_p is the same 0 to 1). */
export const SAMPLING_RANGES = { topP: [0, 1], presencePenalty: [-2, 2], frequencyPenalty: [-2, 2] } as const;

/** What the caller asked of the model's answer, beside the messages: the part of a request that crosses the chain unchanged. */
export interface Generation {
  maxTokens?: number;
  temperature?: number;
  reasoning?: Reasoning;
  sampling?: Sampling;
}

export interface ChatRequest extends Generation {
  messages: ChatMessage[];
  stream: boolean;
  signal?: AbortSignal;
  timeouts?: Timeouts;
  /** Absolute monotonic deadline (util/clock `now()` scale); the earlier of this and timeouts.totalMs wins. */
  deadline?: number;
  /** Extra body fields for this request only (bench --output-tokens: ignore_eos/min_tokens to servers known to take them); the OpenAI dialect sends them, Anthropic's does not. */
  extraBody?: Record<string, unknown>;
  /**
   * Asked after each network read of the body: a promise while whoever reads the events is too far behind.
   * No more is read until it resolves (the connection pauses once the exchange's own queue is full), and the
   * idle clock does not run meanwhile: the wait is the reader's, not the provider's. Bench never sets it.
   */
  ready?: () => Promise<void> | undefined;
}

/** Token counts normalised to one convention: inputTokens includes cached tokens and cache writes (OpenAI's, not Anthropic's). */
export interface Usage {
  inputTokens: number;
  /** Part of inputTokens read from the provider's prompt cache (billed at the cached price). */
  cachedInputTokens: number;
  /** Part of inputTokens written to the prompt cache, where the server says (Anthropic cache_creation_input_tokens), billed at the cache-write price. */
  cacheWriteInputTokens?: number;
  outputTokens: number;
  /** Part of outputTokens spent on reasoning, where the server says. */
  reasoningTokens?: number;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'other';

/**
 * The answer settings one request carried on the wire, read from the body the adapter built, under the
 * names OpenAI's and Anthropic's APIs share (max_completion_tokens reported as max_tokens): the request's
 * own values, the provider's max_output_tokens and params defaults, Anthropic's thinking budget inside
 * max_tokens. What an attempt span reports as gen_ai.request.*.
 */
export interface SentSettings {
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  seed?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
}

/** Every event carries `t`, a monotonic timestamp in milliseconds. */
export type ProviderEvent =
  /** `sent`: the settings that request carried (each resend its own). */
  | { type: 'request_sent'; t: number; attempt: number; sent: SentSettings }
  | { type: 'response_headers'; t: number; status: number; headers: Record<string, string> }
  | { type: 'first_byte'; t: number }
  /**
   * `sameChunk`: this text came in the same chunk as the reasoning just before it (a reasoning model's
   * boundary chunk carries both): one arrival, so it adds no token and no inter-token gap.
   */
  | { type: 'content_delta'; t: number; text: string; sameChunk?: true }
  | { type: 'reasoning_delta'; t: number; text: string }
  | { type: 'usage'; t: number; usage: Usage }
  /** model and responseId: the served model and the provider's own response id, as the response said them (OpenAI `model`/`id`, Anthropic `message.model`/`message.id`). */
  | { type: 'finish'; t: number; reason: FinishReason; rawReason: string; model?: string; responseId?: string }
  | { type: 'error'; t: number; error: ProviderError };

/**
 * The single interface between providers and everything above them (bench runner, fallback chain).
 * A stream always ends with exactly one `finish` or one `error` event and never throws.
 */
export interface ProviderAdapter {
  readonly name: string;
  readonly model: string;
  stream(request: ChatRequest): AsyncIterable<ProviderEvent>;
  /**
   * Why this provider cannot be sent the request as asked (a field its dialect cannot express, a reasoning
   * budget its max tokens leave no room for), or undefined. The router asks every provider of a route before
   * the first is called, so a field is refused, never silently dropped. Optional: no answer is "can send".
   */
  refuse?(request: Generation): RequestRefusal | undefined;
  /** The same events pushed to `sink` as they are decoded (no async hop per event); resolves after the last. Optional. */
  streamInto?(request: ChatRequest, sink: (ev: ProviderEvent) => void): Promise<void>;
  /** Opens connections ahead of the measured requests; optional (adapters without a pool skip it). */
  preconnect?(connections: number): Promise<{ failed: number }>;
  /** Connection set-up times (ms) since the last call; optional. */
  takeConnectTimes?(): number[];
  /**
   * This adapter's settings aimed at `baseUrl` with every credential (the key, secret header values)
   * replaced by a placeholder of the same length: bench rehearses its request path on a stand-in built from
   * them, against an emulator in its own process, before the clock starts. Optional.
   */
  standInSettings?(baseUrl: string): import('./http-adapter.js').ProviderSettings;
  /** A cheap reachability check: the provider's model list. Throws a ProviderError on failure. */
  listModels(timeoutMs: number, signal?: AbortSignal): Promise<ModelList>;
  close(): Promise<void>;
}

/** A request field a provider cannot be sent: which field (in the caller's terms), and why and what to do instead. */
export interface RequestRefusal {
  field: 'reasoning' | 'temperature' | keyof Sampling;
  /** Why, naming the provider, and what to send instead. */
  reason: string;
}

export interface ModelList {
  status: number;
  latencyMs: number;
  models: string[];
  /** Each listed model's `owned_by`, where the server says (vLLM "vllm", SGLang "sglang"). */
  owners: string[];
}

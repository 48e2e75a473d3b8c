/**
 * `POST /v1/chat/completions`, OpenAI's Chat Completions dialect: text chat in, the chain's answer out
 * as a chat.completion object or `chat.completion.chunk` SSE frames in the shape OpenAI streams them
 * (test/fixtures/wire/openai/gomodel-gpt-4o-mini.sse: role chunk, content deltas, a finish chunk, with
 * include_usage a `choices: []` usage chunk, then `data: [DONE]`). A stream cut after its commit ends
 * with `data: {"error": {...}}`, which the openai SDK raises as an APIError.
 */
import type { ChainResult } from '../chain/chain.js';
import type { ChatMessage, FinishReason, Usage } from '../providers/types.js';
import { MIN_THINKING_BUDGET } from '../providers/reasoning.js';
import { REASONING_EFFORTS, SAMPLING_RANGES, type Reasoning, type ReasoningEffort } from '../providers/types.js';
import { bad, BodyError, isObject, numberIn, optionalBool, positiveInt, refuseIf, requiredString, samplingOf, show, textContent, wholeNumber } from './body.js';
import { handleCall, type DialectSpec, type ParsedCall } from './call.js';
import type { EndpointHandler } from './context.js';
import type { ErrorReply } from './errors.js';
import type { SseFrames } from './stream-commit.js';

const ROLES: Record<string, ChatMessage['role']> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant' };

function parse(body: unknown): ParsedCall | ErrorReply {
  try {
    if (!isObject(body)) bad('body', `must be a JSON object (got ${show(body)})`);
    const model = requiredString(body, 'model', 'name a chain, a provider or provider/model (GET /v1/models lists them)');
    const list = body.messages;
    if (!Array.isArray(list) || list.length === 0) bad('messages', `must be a non-empty list of messages (got ${show(list)})`);
    const messages: ChatMessage[] = list.map((m: unknown, i: number) => {
      const at = `messages[${i}]`;
      if (!isObject(m)) bad(at, `must be a message like {"role":"user","content":"..."} (got ${show(m)})`);
      const role = ROLES[String(m.role)];
      if (!role) bad(`${at}.role`, m.role === 'tool' || m.role === 'function' ? `role "${String(m.role)}" is not supported: llm-fallback serve answers text and runs no tools; send system, developer, user and assistant messages only` : `must be system, developer, user or assistant (got ${show(m.role)})`);
      refuseIf(Array.isArray(m.tool_calls) && m.tool_calls.length > 0, `${at}.tool_calls`, 'tool calls are not supported: llm-fallback serve answers text only; send the conversation without tool calls');
      refuseIf(m.audio !== undefined && m.audio !== null, `${at}.audio`, 'audio is not supported: llm-fallback serve passes text only');
      return { role, content: textContent(m.content, `${at}.content`, 'text', (t) => `content part type "${t}" is not supported: llm-fallback serve passes text only; send {"type":"text","text":"..."} parts or a string`) };
    });
    const n = body.n;
    refuseIf(n !== undefined && n !== null && n !== 1, 'n', `only one choice per request is supported (got ${show(n)}); leave n out or send 1`);
    refuseIf(Array.isArray(body.tools) && body.tools.length > 0, 'tools', 'tool calling is not supported: llm-fallback serve answers text only; send the request without tools');
    refuseIf(Array.isArray(body.functions) && body.functions.length > 0, 'functions', 'function calling is not supported: llm-fallback serve answers text only');
    refuseIf(isObject(body.response_format) && body.response_format.type !== 'text', 'response_format', 'structured output is not supported: llm-fallback serve answers plain text; leave response_format out');
    refuseIf(body.stop !== undefined && body.stop !== null && !(Array.isArray(body.stop) && body.stop.length === 0), 'stop', 'stop sequences are not supported: the chain cannot pass them to every provider; leave stop out');
    refuseIf(body.logprobs === true, 'logprobs', 'log probabilities are not supported; leave logprobs out');
    refuseIf(Array.isArray(body.modalities) && body.modalities.some((x) => x !== 'text'), 'modalities', 'only text output is supported');
    const stream = optionalBool(body, 'stream');
    const opts = body.stream_options;
    const includeUsage = isObject(opts) && opts.include_usage === true;
    const effort = body.reasoning_effort;
    if (effort !== undefined && effort !== null && !REASONING_EFFORTS.includes(effort as ReasoningEffort)) bad('reasoning_effort', `must be one of ${REASONING_EFFORTS.join(', ')} (got ${show(effort)})`);
    const object = reasoningObject(body.reasoning, effort === undefined || effort === null ? undefined : (effort as ReasoningEffort));
    refuseIf(body.verbosity !== undefined && body.verbosity !== null, 'verbosity', `verbosity is not supported: only some OpenAI models take it and the chain cannot pass it to every provider; leave it out, or set verbosity in the provider's params in providers.yaml`);
    refuseIf(isObject(body.logit_bias) && Object.keys(body.logit_bias).length > 0, 'logit_bias', `logit_bias is not supported: its token ids belong to one model's tokenizer and would bias other tokens on every other provider of the chain; leave it out, or set logit_bias in the provider's params in providers.yaml`);
    refuseIf(body.web_search_options !== undefined && body.web_search_options !== null, 'web_search_options', `web search is not supported: llm-fallback serve answers from the model alone and the chain cannot pass it to every provider; leave web_search_options out, or set it in the provider's params in providers.yaml`);
    return {
      model,
      messages,
      maxTokens: positiveInt(body, 'max_completion_tokens') ?? positiveInt(body, 'max_tokens'),
      temperature: numberIn(body, 'temperature', 0, 2),
      reasoning: object?.reasoning ?? (effort === undefined || effort === null ? undefined : { effort: effort as ReasoningEffort }),
      // top_k is not OpenAI's, but vLLM, Ollama and OpenRouter take it in this dialect; it reaches Anthropic-dialect providers only.
      sampling: samplingOf({
        topP: numberIn(body, 'top_p', ...SAMPLING_RANGES.topP),
        topK: wholeNumber(body, 'top_k', 0),
        seed: wholeNumber(body, 'seed'),
        presencePenalty: numberIn(body, 'presence_penalty', ...SAMPLING_RANGES.presencePenalty),
        frequencyPenalty: numberIn(body, 'frequency_penalty', ...SAMPLING_RANGES.frequencyPenalty),
      }),
      stream,
      includeUsage,
      wireNames: object && { reasoning: object.param },
    };
  } catch (e) {
    if (e instanceof BodyError) return e.reply;
    throw e;
  }
}

/**
 * `reasoning`, the object OpenRouter's chat completions take (and clients written for it or for OpenAI's
 * Responses API send here): `effort` is reasoning_effort by another name, `max_tokens` an Anthropic-style
 * thinking budget, `enabled: false` turns reasoning off (openrouter.ai/docs/use-cases/reasoning-tokens;
 * "one of effort or max_tokens, not both"). `enabled: true` alone asks for each model's own default, which
 * the chain cannot carry to another provider. `exclude` and `summary` only shape what comes back beside the
 * answer, which serve never returns. Undefined when the body has none; `param` names what set the reasoning.
 */
function reasoningObject(v: unknown, topLevel: ReasoningEffort | undefined): { reasoning: Reasoning; param: string } | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) bad('reasoning', `must be an object like {"effort":"high"} (got ${show(v)})`);
  const effort = v.effort;
  if (effort !== undefined && effort !== null && !REASONING_EFFORTS.includes(effort as ReasoningEffort)) bad('reasoning.effort', `must be one of ${REASONING_EFFORTS.join(', ')} (got ${show(effort)})`);
  const budget = v.max_tokens;
  if (budget !== undefined && budget !== null && (typeof budget !== 'number' || !Number.isSafeInteger(budget) || budget < MIN_THINKING_BUDGET)) bad('reasoning.max_tokens', `must be a whole number of at least ${MIN_THINKING_BUDGET} (got ${show(budget)})`);
  if (v.enabled !== undefined && v.enabled !== null && typeof v.enabled !== 'boolean') bad('reasoning.enabled', `must be true or false (got ${show(v.enabled)})`);
  refuseIf(v.mode !== undefined && v.mode !== null && v.mode !== 'standard', 'reasoning.mode', `${show(v.mode)} is not supported: only some OpenAI models take it and the chain cannot pass it to every provider; leave reasoning.mode out`);
  const set: { reasoning: Reasoning; param: string }[] = [];
  if (effort !== undefined && effort !== null) set.push({ reasoning: { effort: effort as ReasoningEffort }, param: 'reasoning.effort' });
  if (budget !== undefined && budget !== null) set.push({ reasoning: { budgetTokens: budget as number }, param: 'reasoning.max_tokens' });
  if (v.enabled === false) set.push({ reasoning: { effort: 'none' }, param: 'reasoning.enabled' });
  if (set.length > 1) bad('reasoning', `send one of effort, max_tokens and enabled: false (got ${set.map((x) => x.param.slice('reasoning.'.length)).join(' and ')})`);
  if (set.length === 0) {
    refuseIf(v.enabled === true, 'reasoning.enabled', `enabled without an effort asks for each model's default reasoning, which the chain cannot pass on to another provider; send reasoning {"effort":"medium"} (or another effort) instead`);
    return undefined;
  }
  const [one] = set;
  const same = one.reasoning.effort !== undefined && one.reasoning.effort === topLevel;
  refuseIf(topLevel !== undefined && !same, one.param, `conflicts with reasoning_effort ${show(topLevel)}; send one of them`);
  return one;
}

const FINISH: Record<FinishReason, string> = { stop: 'stop', length: 'length', tool_calls: 'tool_calls', content_filter: 'content_filter', other: 'stop' };

/** OpenAI's usage object; a cache hit or the static message used no tokens. */
function usage(r: ChainResult): Record<string, unknown> | undefined {
  const u: Usage | null = r.source === 'live' ? r.usage : { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 };
  if (!u) return undefined;
  const out: Record<string, unknown> = {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
    prompt_tokens_details: { cached_tokens: u.cachedInputTokens },
  };
  if (u.reasoningTokens !== undefined) out.completion_tokens_details = { reasoning_tokens: u.reasoningTokens };
  return out;
}

const finishReason = (r: ChainResult) => (r.finish_reason ? FINISH[r.finish_reason] : 'stop');

function complete(r: ChainResult, call: ParsedCall, id: string, created: number): string {
  return JSON.stringify({
    id,
    object: 'chat.completion',
    created,
    model: r.model ?? call.model,
    choices: [{ index: 0, message: { role: 'assistant', content: r.content, refusal: null }, logprobs: null, finish_reason: finishReason(r) }],
    usage: usage(r),
    system_fingerprint: null,
  });
}

/**
 * Chunks are three strings joined per token: the chunk's fixed head (id, created, model), the delta's
 * JSON text, its fixed tail. Nothing else is serialised per token.
 */
class ChunkFrames implements SseFrames {
  readonly terminal = 'data: [DONE]\n\n';
  private head = '';
  private deltaHead = '';
  private tail: string;

  constructor(
    private readonly id: string,
    private readonly created: number,
    private readonly includeUsage: boolean,
  ) {
    this.tail = `,"logprobs":null,"finish_reason":null}]${includeUsage ? ',"usage":null' : ''}}\n\n`;
  }

  start(model: string): string {
    this.head = `data: {"id":${JSON.stringify(this.id)},"object":"chat.completion.chunk","created":${this.created},"model":${JSON.stringify(model)},"system_fingerprint":null,"choices":`;
    this.deltaHead = `${this.head}[{"index":0,"delta":{"content":`;
    return `${this.head}[{"index":0,"delta":{"role":"assistant","content":"","refusal":null}${this.tail}`;
  }

  delta(text: string): string {
    return this.deltaHead + JSON.stringify(text) + '}' + this.tail;
  }

  finish(r: ChainResult): string {
    let out = `${this.head}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"${finishReason(r)}"}]${this.includeUsage ? ',"usage":null' : ''}}\n\n`;
    const u = this.includeUsage ? usage(r) : undefined;
    if (u) out += `${this.head}[],"usage":${JSON.stringify(u)}}\n\n`;
    return out;
  }

  error(e: { class: string; message: string }): string {
    const message = `the answer broke off after it had begun streaming (${e.class}): ${e.message}; the text received is incomplete, retry the request`;
    return `data: ${JSON.stringify({ error: { message, type: 'server_error', param: null, code: e.class } })}\n\n`;
  }
}

const OPENAI: DialectSpec = {
  name: 'openai',
  endpoint: 'chat_completions',
  idPrefix: 'chatcmpl-',
  wireNames: { reasoning: 'reasoning_effort', 'sampling.topP': 'top_p', 'sampling.topK': 'top_k', 'sampling.seed': 'seed', 'sampling.presencePenalty': 'presence_penalty', 'sampling.frequencyPenalty': 'frequency_penalty' },
  parse,
  frames: (call, id, created) => new ChunkFrames(id, created, call.includeUsage),
  complete,
};

export const chatCompletions: EndpointHandler = (body, req, res, ctx) => handleCall(OPENAI, body, req, res, ctx);

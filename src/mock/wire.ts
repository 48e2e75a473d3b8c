import { STATUS_CODES } from 'node:http';
import type { Dialect, FaultKind } from './profile.js';
import { goDuration } from './headers.js';
import { retryAfterSeconds } from './rate-budget.js';

/**
 * The emulator's wire formats, one per dialect, written from the shapes in docs/providers.md (shared) and
 * checked against recorded real streams (test/fixtures/wire, test/emulator-wire.test.ts; where they
 * differed the recording won): where usage sits in a stream, keep-alive comments, MiniMax's ending without
 * [DONE], Moonshot's usage inside choices[0], Anthropic's named events, and each provider's error envelope.
 */
export interface TokenCounts {
  prompt: number;
  cached: number;
  completion: number;
  reasoning: number;
}

export interface ErrorReply {
  status: number;
  body: string;
}

type ErrorFault = Extract<FaultKind, 'auth' | 'billing' | 'rate_limit' | 'overloaded' | 'server' | 'context_length' | 'content_filter'>;

const sse = (obj: unknown) => `data: ${JSON.stringify(obj)}\n\n`;
const anthropicEvent = (obj: { type: string; [field: string]: unknown }) => `event: ${obj.type}\ndata: ${JSON.stringify(obj)}\n\n`;

/** Why a stream ended, in OpenAI's finish_reason words. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';
const ANTHROPIC_STOP: Record<FinishReason, string> = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use', content_filter: 'refusal' };

/** A tool call the emulator makes when a request offers tools; `args` is JSON text. */
export interface ToolCall {
  id: string;
  name: string;
  args: string;
}

export class StreamWire {
  private readonly created = Math.floor(Date.now() / 1000);
  /** Anthropic: the open content block (thinking, text, tool_use each get their own, indexed from 0). */
  private block = -1;
  private blockType = '';
  /** MiniMax's inline thinking: a `<think>` was written and its `</think>` not yet. */
  private thinkOpen = false;

  /**
   * `inlineThinking`: MiniMax writes its thinking into the content between `<think>` tags, as its
   * OpenAI-compatible endpoint does unless the request sets `reasoning_split: true` (recorded without it:
   * minimax/gomodel-prod-m27-stream.sse; with it: minimax/gomodel-m27-reasoning-split.sse).
   */
  constructor(
    readonly dialect: Dialect,
    private readonly id: string,
    private readonly model: string,
    private readonly includeUsage: boolean,
    private readonly inlineThinking = false,
  ) {}

  private chunk(delta: Record<string, unknown> | null, finish: string | null, extra?: Record<string, unknown>): Record<string, unknown> {
    const d = this.dialect;
    // OpenAI and DeepSeek recordings carry logprobs:null in every choice; MiniMax names finish_reason only when it finishes.
    const choice: Record<string, unknown> =
      d === 'minimax' ? (finish ? { finish_reason: finish, index: 0, delta: delta ?? {} } : { index: 0, delta: delta ?? {} }) : d === 'openai' || d === 'deepseek' ? { index: 0, delta: delta ?? {}, logprobs: null, finish_reason: finish } : { index: 0, delta: delta ?? {}, finish_reason: finish };
    const c: Record<string, unknown> = { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [choice] };
    switch (d) {
      case 'openai':
        c.service_tier = 'default';
        c.system_fingerprint = 'fp_mock01';
        if (this.includeUsage) c.usage = null;
        c.obfuscation = 'x'.repeat(1 + (this.id.length % 5));
        break;
      case 'deepseek':
        c.system_fingerprint = 'fp_mock01_prod0820_fp8_kvcache';
        if (this.includeUsage) c.usage = null;
        break;
      case 'minimax':
        // As captured from MiniMax-M2.7 in 2026: usage:null and the sensitive-content flags on every chunk.
        c.usage = null;
        c.input_sensitive = false;
        c.output_sensitive = false;
        c.input_sensitive_type = 0;
        c.output_sensitive_type = 0;
        c.output_sensitive_int = 0;
        break;
      case 'openrouter':
        c.provider = 'MockUpstream';
        break;
    }
    return { ...c, ...extra };
  }

  /** Frames sent with the headers (before the first token) in the OpenAI-style dialects; Anthropic's is anthropicStart(). */
  start(): string {
    switch (this.dialect) {
      case 'deepseek':
      case 'gemini':
      case 'minimax':
        return ''; // DeepSeek's role chunk comes with the first token; Gemini and MiniMax put role on content chunks.
      case 'openai':
        return sse(this.chunk({ role: 'assistant', content: '', refusal: null }, null));
      default:
        return sse(this.chunk({ role: 'assistant', content: '' }, null));
    }
  }

  /** Anthropic's message_start carries the input usage; the emulator sends it once counts are known. */
  anthropicStart(counts: TokenCounts, first: 'thinking' | 'text' | ToolCall): string {
    // Every recorded Anthropic stream has a ping right after the first content_block_start.
    const open = first === 'thinking' || first === 'text' ? this.anthropicBlock(first) : this.anthropicBlock('tool_use', { type: 'tool_use', id: first.id, name: first.name, input: {} });
    // Claude 5 streams (anthropic/vercel-anthropic-prompt-cache.chunks.txt, claude-sonnet-5) name stop_details here too, as their answers do.
    const message = { id: this.id, type: 'message', role: 'assistant', model: this.model, content: [], stop_reason: null, stop_sequence: null, stop_details: null, usage: anthropicUsage(counts, 1) };
    return `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message })}\n\n${open}event: ping\ndata: {"type": "ping"}\n\n`;
  }

  /** Anthropic: closes the open block (a thinking block ends with its signature) and opens one of `type`. */
  private anthropicBlock(type: 'thinking' | 'text' | 'tool_use' | '', start?: Record<string, unknown>): string {
    if (type === this.blockType) return '';
    let out = '';
    if (this.blockType === 'thinking') out += anthropicEvent({ type: 'content_block_delta', index: this.block, delta: { type: 'signature_delta', signature: `EqQB${Buffer.from(this.id).toString('base64')}` } });
    if (this.blockType) out += anthropicEvent({ type: 'content_block_stop', index: this.block });
    this.blockType = type;
    if (!type) return out;
    this.block++;
    const block = start ?? (type === 'thinking' ? { type, thinking: '', signature: '' } : { type, text: '' });
    return out + anthropicEvent({ type: 'content_block_start', index: this.block, content_block: block });
  }

  /** A tool call: its name first, then its arguments in pieces, as each dialect streams them; `index` counts the frames already sent (the first carries the role). */
  toolCall(call: ToolCall, index: number): string {
    const mid = Math.ceil(call.args.length / 2);
    const pieces = [call.args.slice(0, mid), call.args.slice(mid)];
    if (this.dialect === 'anthropic') {
      let out = this.anthropicBlock('tool_use', { type: 'tool_use', id: call.id, name: call.name, input: {} });
      for (const partial_json of pieces) out += anthropicEvent({ type: 'content_block_delta', index: this.block, delta: { type: 'input_json_delta', partial_json } });
      return out;
    }
    const first: Record<string, unknown> = index === 0 ? { role: 'assistant', content: null } : {};
    let out = sse(this.chunk({ ...first, tool_calls: [{ index: 0, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }, null));
    for (const args of pieces) out += sse(this.chunk({ tool_calls: [{ index: 0, function: { arguments: args } }] }, null));
    return out;
  }

  /** A frame broken mid-JSON, in the dialect's framing. */
  malformed(): string {
    if (this.dialect === 'anthropic') return `event: content_block_delta\ndata: {"type":"content_block_delta","index":${Math.max(0, this.block)},"delta":{"type":"text_delta","text":"tru\n\n`;
    return 'data: {"choices":[{"delta":{"content":"tru\n\n';
  }

  keepalive(): string {
    switch (this.dialect) {
      case 'deepseek':
        return ': keep-alive\n\n';
      case 'openrouter':
        return ': OPENROUTER PROCESSING\n\n';
      case 'anthropic':
        return `event: ping\ndata: {"type": "ping"}\n\n`;
      default:
        return '';
    }
  }

  token(kind: 'reasoning' | 'content', text: string, index: number): string {
    const d = this.dialect;
    if (d === 'anthropic') {
      const delta = kind === 'reasoning' ? { type: 'thinking_delta', thinking: text } : { type: 'text_delta', text };
      const open = this.anthropicBlock(kind === 'reasoning' ? 'thinking' : 'text');
      return `${open}event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: this.block, delta })}\n\n`;
    }
    // OpenAI chat completions and Gemini think silently: time passes, no reasoning text is streamed.
    if (kind === 'reasoning' && (d === 'openai' || d === 'gemini')) return '';
    let delta: Record<string, unknown>;
    if (d === 'minimax' && this.inlineThinking) {
      // As recorded: "<think>\nThe" opens the content, and "</think>\n\n" comes just before the answer's first text.
      let inline = text;
      if (kind === 'reasoning' && !this.thinkOpen) {
        inline = `<think>\n${text}`;
        this.thinkOpen = true;
      } else if (kind === 'content' && this.thinkOpen) {
        inline = `\n</think>\n\n${text}`;
        this.thinkOpen = false;
      }
      delta = { content: inline, role: 'assistant', name: 'MiniMax AI', audio_content: '' };
    } else if (d === 'minimax') {
      // Captured MiniMax-M2.7 deltas: role, name and audio_content on every chunk; with reasoning_split the
      // reasoning comes both as reasoning_content and as reasoning_details (the same text).
      delta =
        kind === 'reasoning'
          ? { role: 'assistant', name: 'MiniMax AI', audio_content: '', reasoning_content: text, reasoning_details: [{ type: 'reasoning.text', id: 'reasoning-text-1', format: 'MiniMax-response-v1', index: 0, text }] }
          : { content: text, role: 'assistant', name: 'MiniMax AI', audio_content: '' };
    } else if (kind === 'reasoning') {
      delta = d === 'openrouter' ? { reasoning: text } : { content: null, reasoning_content: text };
    } else {
      delta = d === 'deepseek' ? { content: text, reasoning_content: null } : { content: text };
    }
    let prefix = '';
    if (d === 'deepseek' && index === 0) {
      // DeepSeek's first data chunk is role-only, sent when inference starts.
      prefix = sse(this.chunk(kind === 'reasoning' ? { role: 'assistant', content: null, reasoning_content: '' } : { role: 'assistant', content: '' }, null));
    }
    if (d === 'gemini' && index === 0) delta.role = 'assistant';
    return prefix + sse(this.chunk(delta, null));
  }

  /** The frames that end a healthy stream: finish reason, usage where the dialect puts it, terminator. */
  /** `stopSequence`: the stop sequence that ended the text (Anthropic names it, with stop_reason "stop_sequence"). */
  finish(reason: FinishReason, counts: TokenCounts, _fullText: string, opts: { done: boolean; finishReason: boolean; stopSequence?: string }): string {
    const d = this.dialect;
    if (d === 'anthropic') {
      let out = this.anthropicBlock('');
      if (!opts.finishReason) return out;
      // message_delta repeats the cumulative input counts next to output_tokens, as recorded since 2025; a
      // Claude 5 stream (claude-sonnet-5, anthropic/vercel-anthropic-prompt-cache.chunks.txt) adds the
      // thinking part of output_tokens and stop_details, as its answers do.
      const usage = { input_tokens: counts.prompt - counts.cached, cache_creation_input_tokens: 0, cache_read_input_tokens: counts.cached, output_tokens: counts.completion, output_tokens_details: { thinking_tokens: counts.reasoning } };
      const stop = opts.stopSequence === undefined ? { stop_reason: ANTHROPIC_STOP[reason], stop_sequence: null, stop_details: null } : { stop_reason: 'stop_sequence', stop_sequence: opts.stopSequence, stop_details: null };
      out += `event: message_delta\ndata: ${JSON.stringify({ type: 'message_delta', delta: stop, usage })}\n\n`;
      if (opts.done) out += `event: message_stop\ndata: {"type":"message_stop"}\n\n`;
      return out;
    }
    let out = '';
    if (opts.finishReason) {
      switch (d) {
        case 'openai':
          out += sse(this.chunk({}, reason));
          if (this.includeUsage) out += sse({ ...this.chunk(null, null), choices: [], usage: openaiUsage(counts) });
          break;
        case 'deepseek':
          // Recorded with include_usage: the usage rides on the finish chunk and no choices:[] chunk follows.
          out += sse(this.chunk({ content: '', reasoning_content: null }, reason, { usage: deepseekUsage(counts) }));
          break;
        case 'moonshot': {
          const c = this.chunk({}, reason);
          (c.choices as Record<string, unknown>[])[0].usage = moonshotUsage(counts);
          out += sse(c);
          break;
        }
        case 'minimax':
          // MiniMax-M2.7/M3 today (two public captures): the finish chunk, then a choices:[] chunk with the
          // usage and base_resp, then the body ends. No [DONE] and no full chat.completion frame (that was
          // the native chatcompletion_v2 API's ending, which this endpoint does not serve).
          out += sse(this.chunk({ content: '', role: 'assistant', name: 'MiniMax AI', audio_content: '' }, reason));
          out += sse({
            id: this.id,
            choices: [],
            created: this.created,
            model: this.model,
            object: 'chat.completion.chunk',
            usage: minimaxUsage(counts),
            base_resp: { status_code: 0, status_msg: '' },
          });
          return out;
        case 'gemini':
          // Recorded without include_usage: no usage at all.
          out += sse(this.chunk({}, reason, this.includeUsage ? { usage: geminiUsage(counts) } : undefined));
          break;
        case 'openrouter':
          // The same usage as its answers (openrouter/genai-qwen3.5-35b-reasoning.json): its own counts and prices, no OpenAI prediction counts.
          out += sse(this.chunk({}, reason, { usage: openrouterUsage(counts) }));
          break;
      }
    }
    if (opts.done && d !== 'minimax') out += 'data: [DONE]\n\n';
    return out;
  }

  /** An error after HTTP 200, in the dialect's form. */
  errorEvent(kind: 'overloaded' | 'server'): string {
    switch (this.dialect) {
      case 'anthropic':
        return `event: error\ndata: ${JSON.stringify({ type: 'error', error: { details: null, type: kind === 'overloaded' ? 'overloaded_error' : 'api_error', message: kind === 'overloaded' ? 'Overloaded' : 'Internal server error' }, request_id: 'req_mock' })}\n\n`;
      case 'openrouter':
        return sse(this.chunk({ content: '' }, 'error', { error: { code: kind === 'overloaded' ? 503 : 'server_error', message: 'Provider disconnected unexpectedly' } }));
      case 'openai':
        // As recorded (sashabaranov/go-openai#396): a server_error data line, then [DONE]; OpenAI has no overloaded_error type.
        return `${sse({ error: { message: 'The server experienced an error while processing your request. We apologize for the inconvenience!', type: 'server_error', param: null, code: null } })}data: [DONE]\n\n`;
      default:
        return sse({ error: { message: kind === 'overloaded' ? 'The engine is currently overloaded, please try again later' : 'The server had an error while processing your request', type: kind === 'overloaded' ? 'overloaded_error' : 'server_error', param: null, code: null } });
    }
  }
}

/** As recorded from gpt-5.6-luna, streamed and not (openai/genai-gpt-5.6-luna-*). */
export function openaiUsage(c: TokenCounts) {
  return {
    prompt_tokens: c.prompt,
    completion_tokens: c.completion,
    total_tokens: c.prompt + c.completion,
    prompt_tokens_details: { cached_tokens: c.cached, cache_write_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: c.reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

/** OpenRouter's own usage (openrouter/genai-qwen3.5-35b-reasoning.json): the price it charged beside the counts. */
function openrouterUsage(c: TokenCounts) {
  return {
    prompt_tokens: c.prompt,
    completion_tokens: c.completion,
    total_tokens: c.prompt + c.completion,
    cost: 0,
    is_byok: false,
    prompt_tokens_details: { cached_tokens: c.cached, cache_write_tokens: 0, audio_tokens: 0, video_tokens: 0 },
    cost_details: { upstream_inference_cost: 0, upstream_inference_prompt_cost: 0, upstream_inference_completions_cost: 0 },
    completion_tokens_details: { reasoning_tokens: c.reasoning, image_tokens: 0, audio_tokens: 0 },
  };
}

/** As captured from MiniMax-M2.7 (minimax/gomodel-prod-m27-stream.sse). */
function minimaxUsage(c: TokenCounts) {
  return { total_tokens: c.prompt + c.completion, total_characters: 0, prompt_tokens: c.prompt, completion_tokens: c.completion, completion_tokens_details: { reasoning_tokens: c.reasoning }, prompt_tokens_details: { cached_tokens: c.cached } };
}

function deepseekUsage(c: TokenCounts) {
  return {
    prompt_tokens: c.prompt,
    completion_tokens: c.completion,
    total_tokens: c.prompt + c.completion,
    prompt_tokens_details: { cached_tokens: c.cached },
    completion_tokens_details: { reasoning_tokens: c.reasoning },
    prompt_cache_hit_tokens: c.cached,
    prompt_cache_miss_tokens: c.prompt - c.cached,
  };
}

/** Kimi's top-level cached_tokens beside prompt_tokens_details, and its reasoning count (moonshot/vercel-*, streamed and not). */
function moonshotUsage(c: TokenCounts) {
  return { prompt_tokens: c.prompt, completion_tokens: c.completion, total_tokens: c.prompt + c.completion, cached_tokens: c.cached, completion_tokens_details: { reasoning_tokens: c.reasoning }, prompt_tokens_details: { cached_tokens: c.cached } };
}

/** Gemini leaves thinking tokens out of completion_tokens but counts them in total_tokens. */
function geminiUsage(c: TokenCounts) {
  return { prompt_tokens: c.prompt, completion_tokens: c.completion - c.reasoning, total_tokens: c.prompt + c.completion };
}

function anthropicUsage(c: TokenCounts, output: number) {
  return {
    input_tokens: c.prompt - c.cached,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: c.cached,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    output_tokens: output,
    service_tier: 'standard',
    inference_geo: 'not_available',
  };
}

/**
 * A complete non-streamed body, shaped as each provider's recorded stream:false answer (test/fixtures/wire,
 * kind "answer"; judged by test/wire-answers.test.ts).
 */
export function nonStreamBody(dialect: Dialect, id: string, model: string, content: string, reasoning: string, reason: FinishReason, counts: TokenCounts, tool?: ToolCall, stopSequence?: string, inlineThinking = false): string {
  const created = Math.floor(Date.now() / 1000);
  // MiniMax without reasoning_split (StreamWire): the thinking in the content, closed only when an answer follows
  // (recorded cut by max tokens inside it: minimax/gomodel-prod-m2-length.json); beside a tool call too.
  const thinking = inlineThinking && reasoning ? `<think>\n${reasoning}${content ? `\n</think>\n\n${content}` : ''}` : undefined;
  if (thinking !== undefined) reasoning = '';
  if (dialect === 'anthropic') {
    const blocks: unknown[] = [];
    if (reasoning) blocks.push({ type: 'thinking', thinking: reasoning, signature: `EqQB${Buffer.from(id).toString('base64')}` });
    if (tool) blocks.push({ type: 'tool_use', id: tool.id, name: tool.name, input: JSON.parse(tool.args) });
    else blocks.push({ type: 'text', text: content });
    const stop = stopSequence === undefined ? { stop_reason: ANTHROPIC_STOP[reason], stop_sequence: null } : { stop_reason: 'stop_sequence', stop_sequence: stopSequence };
    // Claude Sonnet 5 and Opus 5 answers carry stop_details and the thinking part of output_tokens.
    const usage = { ...anthropicUsage(counts, counts.completion), output_tokens_details: { thinking_tokens: counts.reasoning } };
    return JSON.stringify({ id, type: 'message', role: 'assistant', model, content: blocks, ...stop, stop_details: null, usage });
  }
  const message: Record<string, unknown> = { role: 'assistant', content: thinking ?? (tool ? null : content) };
  if (dialect === 'openai' || dialect === 'openrouter') message.refusal = null;
  if (dialect === 'openai') message.annotations = [];
  if (dialect === 'minimax') Object.assign(message, { name: 'MiniMax AI', audio_content: '' });
  if (tool) message.tool_calls = [{ id: tool.id, type: 'function', function: { name: tool.name, arguments: tool.args } }];
  if (reasoning) {
    if (dialect === 'minimax') message.reasoning_details = [{ type: 'reasoning.text', text: reasoning }];
    else if (dialect === 'openrouter') Object.assign(message, { reasoning, reasoning_details: [{ type: 'reasoning.text', text: reasoning, format: 'unknown', index: 0 }] });
    else if (dialect !== 'gemini' && dialect !== 'openai') message.reasoning_content = reasoning;
  }
  const choice: Record<string, unknown> = { index: 0, message, finish_reason: reason };
  if (dialect === 'deepseek') choice.logprobs = null;
  if (dialect === 'openrouter') Object.assign(choice, { logprobs: null, native_finish_reason: reason });
  const usage =
    dialect === 'deepseek'
      ? deepseekUsage(counts)
      : dialect === 'moonshot'
        ? moonshotUsage(counts)
        : dialect === 'gemini'
          ? geminiUsage(counts)
          : dialect === 'openrouter'
            ? openrouterUsage(counts)
            : dialect === 'minimax'
              ? minimaxUsage(counts)
              : openaiUsage(counts);
  const body: Record<string, unknown> = { id, object: 'chat.completion', created, model, choices: [choice], usage };
  switch (dialect) {
    case 'openai':
      Object.assign(body, { service_tier: 'default', system_fingerprint: 'fp_mock01' });
      break;
    case 'deepseek':
      body.system_fingerprint = 'fp_mock01_prod0820_fp8_kvcache';
      break;
    case 'openrouter':
      Object.assign(body, { provider: 'MockUpstream', system_fingerprint: null });
      break;
    case 'minimax':
      // As captured from a buffered MiniMax-M2 answer (minimax/gomodel-prod-m2-length.json).
      Object.assign(body, { provider: 'minimax', input_sensitive: false, output_sensitive: false, input_sensitive_type: 0, output_sensitive_type: 0, output_sensitive_int: 0, base_resp: { status_code: 0, status_msg: '' } });
      break;
  }
  return JSON.stringify(body);
}

/** An HTTP error in the dialect's own envelope and status (see the quirk table in docs/providers.md §10). */
export function errorReply(dialect: Dialect, fault: ErrorFault, opts: { message?: string; key?: string }): ErrorReply {
  const keyHint = opts.key ?? '';
  const table: Record<ErrorFault, Record<Dialect, ErrorReply>> = {
    auth: {
      openai: oa(401, `Incorrect API key provided: ${keyHint}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_request_error', 'invalid_api_key'),
      deepseek: oa(401, `Authentication Fails, Your api key: ${keyHint} is invalid`, 'authentication_error', 'invalid_request_error'),
      moonshot: ms(401, `Invalid Authentication: ${keyHint}`, 'invalid_authentication_error'),
      minimax: oa(401, `login fail: Please carry the API secret key in the 'Authorization' field ${keyHint} (1004)`, 'authorized_error', null),
      gemini: gm(400, `API key not valid. Please pass a valid API key. ${keyHint}`, 'INVALID_ARGUMENT'),
      openrouter: or(401, `No auth credentials found ${keyHint}`),
      anthropic: an(401, 'authentication_error', `invalid x-api-key ${keyHint}`),
    },
    billing: {
      openai: oa(429, 'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.', 'insufficient_quota', 'insufficient_quota'),
      deepseek: oa(402, 'Insufficient Balance', 'unknown_error', 'invalid_request_error'),
      moonshot: ms(429, 'Your account is suspended due to insufficient balance', 'exceeded_current_quota_error'),
      minimax: oa(500, 'insufficient balance (1008)', 'api_error', null),
      // Recorded (continue#9570): a model outside the free tier says "limit: 0"; the same 429 wording without it is a rate limit.
      gemini: gmQuota('You exceeded your current quota, please check your plan and billing details. \n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0, model: gemini-3-pro\nPlease retry in 45.578569677s.', []),
      openrouter: or(402, 'Insufficient credits. Add more using https://openrouter.ai/settings/credits'),
      // Recorded (anthropic/error-400-credit-balance-too-low.json): out of credit is a 400, not the error table's 402 billing_error.
      anthropic: an(400, 'invalid_request_error', 'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.'),
    },
    rate_limit: {
      openai: oa(429, 'Rate limit reached for requests per min (RPM): Limit 500, Used 500.', 'requests', 'rate_limit_exceeded'),
      deepseek: oa(429, 'Rate Limit Reached', 'rate_limit_error', 'invalid_request_error'),
      moonshot: ms(429, 'request reached project TPM rate limit, current: 1410, limit: 100', 'rate_limit_reached_error'),
      minimax: oa(429, 'rate limit exceeded (1002)', 'rate_limit_error', null),
      gemini: gmQuota('You exceeded your current quota, please check your plan and billing details.', [
        { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier', quotaDimensions: { location: 'global', model: 'gemini-2.5-flash' }, quotaValue: '10' }] },
        { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '26s' },
      ]),
      openrouter: or(429, 'Rate limit exceeded: too many requests'),
      anthropic: an(429, 'rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'),
    },
    overloaded: {
      openai: oa(503, 'The engine is currently overloaded, please try again later', 'server_error', null),
      deepseek: oa(503, 'Server overloaded, please try again later', 'service_unavailable_error', 'invalid_request_error'),
      moonshot: ms(429, 'The engine is currently overloaded, please try again later', 'engine_overloaded_error'),
      minimax: oa(503, 'The service is overloaded, please try again later', 'server_error', null),
      gemini: gm(503, 'The model is overloaded. Please try again later.', 'UNAVAILABLE'),
      openrouter: or(503, 'No available provider meets your routing requirements'),
      anthropic: { status: 529, body: JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' }, request_id: 'req_mock' }) },
    },
    server: {
      openai: oa(500, 'The server had an error while processing your request.', 'server_error', null),
      deepseek: oa(500, 'Server Error', 'server_error', 'invalid_request_error'),
      moonshot: ms(500, 'internal server error', 'server_error'),
      minimax: oa(500, 'internal error (1013)', 'api_error', null),
      gemini: gm(500, 'An internal error has occurred.', 'INTERNAL'),
      openrouter: or(502, 'Upstream model returned an invalid response'),
      anthropic: an(500, 'api_error', 'Internal server error'),
    },
    context_length: {
      openai: oa(400, "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.", 'invalid_request_error', 'context_length_exceeded'),
      deepseek: oa(400, "This model's maximum context length is 131072 tokens. However, you requested 140000 tokens.", 'invalid_request_error', 'invalid_request_error'),
      moonshot: ms(400, 'Invalid request: Your request exceeded model token limit: 262144', 'invalid_request_error'),
      minimax: oa(400, 'invalid params, context window exceeds limit (1039)', 'bad_request_error', null),
      gemini: gm(400, 'The input token count (1100000) exceeds the maximum number of tokens allowed (1048576).', 'INVALID_ARGUMENT'),
      openrouter: or(400, "This endpoint's maximum context length is 131072 tokens. However, you requested about 140000 tokens."),
      anthropic: an(400, 'invalid_request_error', 'prompt is too long: 210000 tokens > 200000 maximum'),
    },
    content_filter: {
      openai: oa(400, 'Your request was rejected as a result of our safety system.', 'invalid_request_error', 'content_policy_violation'),
      deepseek: oa(400, 'Content Exists Risk', 'invalid_request_error', 'content_filter'),
      moonshot: ms(400, 'The request was rejected because it was considered high risk', 'content_filter'),
      minimax: oa(400, 'input new_sensitive (1026)', 'bad_request_error', null),
      gemini: gm(400, 'The request was blocked due to SAFETY.', 'INVALID_ARGUMENT'),
      openrouter: { status: 403, body: JSON.stringify({ error: { code: 403, message: 'Input flagged by moderation', metadata: { reasons: ['violence'], flagged_input: '...' } } }) },
      anthropic: an(400, 'invalid_request_error', 'Output blocked by content filtering policy'),
    },
  };
  const reply = table[fault][dialect];
  if (opts.message) return { status: reply.status, body: withMessage(reply.body, opts.message) };
  return reply;
}

/** An error body with the fault's own message in the place the dialect puts it (Gemini's inside its error JSON string). */
function withMessage(body: string, message: string): string {
  const o = JSON.parse(body) as { error?: { message?: unknown } };
  const e = o.error;
  if (!e) return body;
  if (typeof e.message === 'string' && e.message.startsWith('{')) {
    const inner = JSON.parse(e.message) as { error: { message: string } };
    inner.error.message = message;
    e.message = `${JSON.stringify(inner, null, 2)}\n`;
  } else e.message = message;
  return JSON.stringify(o);
}

/** A request the budget refused, for budgetReply. */
export interface BudgetRefusalWords {
  bucket: 'requests' | 'tokens';
  /** The refusing bucket's per-minute limit, and what of it is used. */
  limit: number;
  used: number;
  /** Tokens the request asked for. */
  requested: number;
  waitMs: number;
  /** Larger than the whole per-minute budget: no wait admits it. */
  tooLarge: boolean;
  model: string;
}

/**
 * The 429 of a spent budget, worded as each service words its own. From public reports of real answers:
 * OpenAI "Rate limit reached for gpt-3.5-turbo in organization … Limit 3, Used 3, Requested 1. Please try
 * again in 20s." (SevaSk/ecoute#194), the type naming the bucket as in openai/error-429-rate-limit-tpm.json;
 * Anthropic anthropic/error-429-rate-limit.json and stackblitz/bolt.new#8589 ("… of 1,000,000 input tokens
 * per minute …"); Moonshot moonshot/error-429-rate-limit-rpm.json; Gemini's quota error with the limit and
 * the wait in it. Other dialects send their one rate-limit body (errorReply). `retryInBody`: the wait is in
 * the body, and the service sends no Retry-After header.
 */
export function budgetReply(dialect: Dialect, r: BudgetRefusalWords): ErrorReply & { retryInBody?: boolean } {
  const perMinute = (n: number) => n.toLocaleString('en-US');
  const seconds = retryAfterSeconds(r.waitMs);
  if (dialect === 'openai') {
    const what = r.bucket === 'requests' ? 'requests per min (RPM)' : 'tokens per min (TPM)';
    const requested = r.bucket === 'requests' ? 1 : r.requested;
    const link = 'Visit https://platform.openai.com/account/rate-limits to learn more.';
    const message = r.tooLarge
      ? `Request too large for ${r.model} in organization org-mock on ${what}: Limit ${r.limit}, Requested ${requested}. The input or output tokens must be reduced in order to run successfully. ${link}`
      : `Rate limit reached for ${r.model} in organization org-mock on ${what}: Limit ${r.limit}, Used ${r.used}, Requested ${requested}. Please try again in ${goDuration(r.waitMs)}. ${link}`;
    return oa(429, message, r.bucket, 'rate_limit_exceeded');
  }
  if (dialect === 'anthropic') {
    const what = r.bucket === 'requests' ? 'requests' : 'input tokens';
    return an(429, 'rate_limit_error', `This request would exceed the rate limit for your organization (org-mock) of ${perMinute(r.limit)} ${what} per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.`);
  }
  if (dialect === 'gemini') {
    // Google's quota error (recorded: gemini/error-429-per-minute-retryinfo.json): the limit in the
    // QuotaFailure, the wait in RetryInfo; Gemini sends no Retry-After header (retryInBody).
    const quota = r.bucket === 'requests'
      ? { quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier' }
      : { quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_input_token_count', quotaId: 'GenerateContentInputTokensPerModelPerMinute-FreeTier' };
    const details: unknown[] = [
      { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ ...quota, quotaDimensions: { location: 'global', model: r.model }, quotaValue: String(r.limit) }] },
      { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }] },
    ];
    if (!r.tooLarge) details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${seconds}s` });
    return { ...gmQuota('You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.', details), retryInBody: true };
  }
  if (dialect === 'moonshot') {
    return r.bucket === 'requests'
      ? ms(429, `Your account org-mock<ak-mock> request reached organization max RPM: ${r.limit}, please try again after ${seconds} seconds`, 'rate_limit_reached_error')
      : ms(429, `Your account org-mock<ak-mock> request reached organization TPM rate limit, current: ${r.used + r.requested}, limit: ${r.limit}`, 'rate_limit_reached_error');
  }
  return errorReply(dialect, 'rate_limit', {});
}

export function oa(status: number, message: string, type: string, code: string | null, param: string | null = null): ErrorReply {
  return { status, body: JSON.stringify({ error: { message, type, param, code } }) };
}
export function ms(status: number, message: string, type: string): ErrorReply {
  return { status, body: JSON.stringify({ error: { message, type } }) };
}
/**
 * Gemini's OpenAI-compatible endpoint answers an error with Google's error JSON, pretty-printed, as a
 * string inside an OpenAI-style error whose status is the HTTP reason phrase: a quota 429 (recorded in
 * RooCodeInc/Roo-Code#3883 and continuedev/continue#9570) as a bad key's 400 (continuedev/continue#12960,
 * gemini/error-400-api-key-invalid.json). Reports before 2025-11 show a bare array [{error: ...}] instead.
 */
export function gm(status: number, message: string, gstatus: string, details?: unknown[]): ErrorReply {
  const inner = { error: { code: status, message, status: gstatus, ...(details ? { details } : {}) } };
  return { status, body: JSON.stringify({ error: { message: `${JSON.stringify(inner, null, 2)}\n`, code: status, status: STATUS_CODES[status] ?? `HTTP ${status}` } }) };
}
function gmQuota(message: string, details: unknown[]): ErrorReply {
  return gm(429, message, 'RESOURCE_EXHAUSTED', details);
}
export function or(status: number, message: string): ErrorReply {
  return { status, body: JSON.stringify({ error: { code: status, message, metadata: {} } }) };
}
export function an(status: number, type: string, message: string): ErrorReply {
  return { status, body: JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_mock' }) };
}

/**
 * `POST /v1/messages`, Anthropic's Messages dialect: a `system` prompt and text messages in, the chain's
 * answer out as a `message` object or its event stream (message_start, content_block_start, ping,
 * text_delta content_block_deltas, content_block_stop, message_delta with stop_reason and usage,
 * message_stop; as recorded in test/fixtures/wire/anthropic/gomodel-claude-sonnet-4.sse). A stream cut
 * after its commit ends with `event: error` (test/fixtures/wire/anthropic/composed-midstream-overloaded.sse),
 * which the @anthropic-ai/sdk raises as an APIError, and no message_stop.
 */
import type { ChainResult } from '../chain/chain.js';
import type { ChatMessage, FinishReason } from '../providers/types.js';
import { MIN_THINKING_BUDGET } from '../providers/reasoning.js';
import { SAMPLING_RANGES, type Reasoning } from '../providers/types.js';
import { bad, BodyError, isObject, numberIn, optionalBool, positiveInt, refuseIf, requiredString, samplingOf, show, textContent, wholeNumber } from './body.js';
import { handleCall, type DialectSpec, type ParsedCall } from './call.js';
import type { EndpointHandler } from './context.js';
import type { ErrorReply } from './errors.js';
import type { SseFrames } from './stream-commit.js';
import { estimatePromptTokens } from '../util/tokens.js';

const refusePart = (t: string) => `content block type "${t}" is not supported: llm-fallback serve passes text only; send {"type":"text","text":"..."} blocks or a string`;

function parse(body: unknown): ParsedCall | ErrorReply {
  try {
    if (!isObject(body)) bad('body', `must be a JSON object (got ${show(body)})`);
    const model = requiredString(body, 'model', 'name a chain, a provider or provider/model (GET /v1/models lists them)');
    // Anthropic's own API requires max_tokens, and answers its absence with this message.
    if (body.max_tokens === undefined || body.max_tokens === null) bad('max_tokens', 'Field required');
    const maxTokens = positiveInt(body, 'max_tokens');
    const list = body.messages;
    if (!Array.isArray(list) || list.length === 0) bad('messages', `must be a non-empty list of messages (got ${show(list)})`);
    const messages: ChatMessage[] = [];
    if (body.system !== undefined && body.system !== null) {
      const system = textContent(body.system, 'system', 'text', refusePart);
      if (system) messages.push({ role: 'system', content: system });
    }
    list.forEach((m: unknown, i: number) => {
      const at = `messages[${i}]`;
      if (!isObject(m)) bad(at, `must be a message like {"role":"user","content":"..."} (got ${show(m)})`);
      if (m.role === 'system') bad(`${at}.role`, 'Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.');
      if (m.role !== 'user' && m.role !== 'assistant') bad(`${at}.role`, `must be user or assistant (got ${show(m.role)})`);
      messages.push({ role: m.role, content: textContent(m.content, `${at}.content`, 'text', refusePart) });
    });
    refuseIf(Array.isArray(body.tools) && body.tools.length > 0, 'tools', 'tool use is not supported: llm-fallback serve answers text only; send the request without tools');
    const out = body.output_config;
    if (out !== undefined && out !== null && !isObject(out)) bad('output_config', `must be an object like {"effort":"high"} (got ${show(out)})`);
    refuseIf(isObject(out) && out.format !== undefined && out.format !== null, 'output_config.format', 'structured output is not supported: llm-fallback serve answers plain text; leave output_config.format out');
    refuseIf(Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0, 'stop_sequences', 'stop sequences are not supported: the chain cannot pass them to every provider; leave stop_sequences out');
    const effort = isObject(out) ? out.effort : undefined;
    const reasoning = effort === undefined || effort === null ? thinking(body.thinking, maxTokens!) : adaptiveEffort(body.thinking, effort);
    return {
      model,
      messages,
      maxTokens,
      temperature: numberIn(body, 'temperature', 0, 1),
      reasoning,
      sampling: samplingOf({ topP: numberIn(body, 'top_p', ...SAMPLING_RANGES.topP), topK: wholeNumber(body, 'top_k', 0) }),
      stream: optionalBool(body, 'stream'),
      includeUsage: true,
      // A provider that cannot take the reasoning is refused naming the field the client set it with.
      wireNames: effort === undefined || effort === null ? undefined : { reasoning: 'output_config.effort' },
    };
  } catch (e) {
    if (e instanceof BodyError) return e.reply;
    throw e;
  }
}

/**
 * Adaptive thinking's effort levels (@anthropic-ai/sdk 1.14 OutputConfig.effort). With `thinking: {"type":
 * "adaptive"}` Claude decides how much to think, steered by output_config.effort; "high" is the same as
 * leaving it out (platform.claude.com/docs/en/build-with-claude/effort). The chain carries it as its reasoning effort:
 * the same words, "max" (no limit on thinking) included, which each adapter writes as its dialect and model
 * take it (src/providers/reasoning.ts: max to an OpenAI-dialect provider is xhigh, OpenAI's highest).
 */
const ADAPTIVE_EFFORTS = ['low', 'medium', 'high', 'xhigh', 'max'] as const;
const ADAPTIVE_DEFAULT = 'high';

/**
 * output_config.effort as the chain's reasoning. It is carried only beside adaptive thinking: without
 * thinking it steers how many tokens Claude spends on the answer alone (the effort docs: "high effort + no
 * thinking = more tokens, but no thinking tokens"), while as reasoning it turns thinking on (reasoning_effort,
 * or a budget); beside a budget the Anthropic adapter, which sends the budget only, would drop it.
 */
function adaptiveEffort(thinkingField: unknown, effort: unknown): Reasoning {
  if (typeof effort !== 'string' || !(ADAPTIVE_EFFORTS as readonly string[]).includes(effort)) bad('output_config.effort', `must be one of ${ADAPTIVE_EFFORTS.join(', ')} (got ${show(effort)})`);
  const type = isObject(thinkingField) ? thinkingField.type : undefined;
  if (type !== 'adaptive') {
    const sent = type === undefined ? 'without thinking' : `with thinking ${show(type)}`;
    bad('output_config.effort', `effort ${sent} is not supported: llm-fallback serve carries effort as the model's reasoning, which every provider takes as thinking; send thinking {"type":"adaptive"} with it, or leave output_config.effort out${type === 'enabled' ? ' and keep the thinking budget' : ''}`);
  }
  return { effort: effort as (typeof ADAPTIVE_EFFORTS)[number] };
}

/**
 * `thinking` as the chain's reasoning: enabled with its budget, disabled (effort "none"), or adaptive
 * without an effort (the API's default effort, "high"). The budget's
 * rules are the API's (at least 1024, below max_tokens), checked here with the API's words for the second
 * (its 400 as relayed in anthropics/claude-code#8756), so a client meets them here as it would there.
 */
function thinking(v: unknown, maxTokens: number): Reasoning | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) bad('thinking', `must be an object like {"type":"enabled","budget_tokens":2048} (got ${show(v)})`);
  if (v.type === 'disabled') return { effort: 'none' };
  if (v.type === 'adaptive') return { effort: ADAPTIVE_DEFAULT };
  if (v.type !== 'enabled') bad('thinking.type', `${show(v.type)} is not supported: llm-fallback serve passes thinking on as reasoning every provider can take; send {"type":"adaptive"} (with output_config.effort), {"type":"enabled","budget_tokens":N} or {"type":"disabled"}`);
  const budget = v.budget_tokens;
  if (budget === undefined || budget === null) bad('thinking.budget_tokens', 'Field required');
  if (typeof budget !== 'number' || !Number.isSafeInteger(budget) || budget < MIN_THINKING_BUDGET) bad('thinking.budget_tokens', `must be a whole number of at least ${MIN_THINKING_BUDGET} (got ${show(budget)})`);
  if (budget >= maxTokens) bad('thinking.budget_tokens', '`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size');
  return { budgetTokens: budget };
}

const STOP: Record<FinishReason, string> = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use', content_filter: 'refusal', other: 'end_turn' };
const stopReason = (r: ChainResult) => (r.finish_reason ? STOP[r.finish_reason] : 'end_turn');

/**
 * Anthropic's usage: input_tokens excludes cache reads and writes; cache writes are known only when the
 * provider reported them (Anthropic's own usage), else null. A cache hit or the static message used no tokens.
 * A live answer whose provider reported no usage gets the estimate message_start carried (`promptTokens`)
 * and its text at four characters a token, not 0: the counts are required here, and clients (the SDK's
 * final message) take message_delta's as the total, which would book the answer as free.
 */
function usage(r: ChainResult, promptTokens: number): Record<string, number | null> {
  // The chain's own estimate (answer and reasoning), the one the cost header prices; none when nothing came.
  if (r.source === 'live' && !r.usage) return { input_tokens: promptTokens, cache_creation_input_tokens: null, cache_read_input_tokens: 0, output_tokens: r.estimated_usage?.outputTokens ?? 0 };
  const u = r.source === 'live' ? r.usage : null;
  const cached = u?.cachedInputTokens ?? 0;
  const writes = u?.cacheWriteInputTokens;
  return { input_tokens: u ? u.inputTokens - cached - (writes ?? 0) : 0, cache_creation_input_tokens: writes ?? null, cache_read_input_tokens: cached, output_tokens: u?.outputTokens ?? 0 };
}

function complete(r: ChainResult, call: ParsedCall, id: string): string {
  return JSON.stringify({
    id,
    type: 'message',
    role: 'assistant',
    model: r.model ?? call.model,
    content: [{ type: 'text', text: r.content }],
    stop_reason: stopReason(r),
    stop_sequence: null,
    usage: usage(r, estimatePromptTokens(call.messages)),
  });
}

const DELTA_HEAD = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":';
const DELTA_TAIL = '}}\n\n';

class MessageFrames implements SseFrames {
  readonly terminal = 'event: message_stop\ndata: {"type":"message_stop"}\n\n';

  /** `promptTokens`: the prompt's size, estimated (4 characters a token), for message_start. */
  constructor(
    private readonly id: string,
    private readonly promptTokens: number,
  ) {}

  start(model: string): string {
    // The provider's input count is not known until its answer ends, and message_delta carries it then (as
    // Anthropic's own does). message_start carries the estimate meanwhile, not 0: many clients (LangChain,
    // gateways' cost meters) read the input count from message_start only, and would book every stream as free.
    const usage = { input_tokens: this.promptTokens, cache_creation_input_tokens: null, cache_read_input_tokens: 0, output_tokens: 0 };
    const message = { id: this.id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage };
    return (
      `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message })}\n\n` +
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
      'event: ping\ndata: {"type":"ping"}\n\n'
    );
  }

  delta(text: string): string {
    return DELTA_HEAD + JSON.stringify(text) + DELTA_TAIL;
  }

  finish(r: ChainResult): string {
    return (
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n' +
      `event: message_delta\ndata: ${JSON.stringify({ type: 'message_delta', delta: { stop_reason: stopReason(r), stop_sequence: null }, usage: usage(r, this.promptTokens) })}\n\n`
    );
  }

  error(e: { class: string; message: string }): string {
    const type = e.class === 'overloaded' ? 'overloaded_error' : e.class === 'rate_limit' ? 'rate_limit_error' : 'api_error';
    const message = `the answer broke off after it had begun streaming (${e.class}): ${e.message}; the text received is incomplete, retry the request`;
    return `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type, message } })}\n\n`;
  }
}

const ANTHROPIC: DialectSpec = {
  name: 'anthropic',
  endpoint: 'messages',
  idPrefix: 'msg_',
  wireNames: { reasoning: 'thinking', 'sampling.topP': 'top_p', 'sampling.topK': 'top_k' },
  parse,
  frames: (call, id) => new MessageFrames(id, estimatePromptTokens(call.messages)),
  complete,
};

export const messages: EndpointHandler = (body, req, res, ctx) => handleCall(ANTHROPIC, body, req, res, ctx);

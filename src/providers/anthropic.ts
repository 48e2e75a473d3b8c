import { ProviderError } from './errors.js';
import { emptyAnswerError, noteContent, nothingSeen, type AnswerSeen } from './answer.js';
import { httpError } from './classify.js';
import { HttpAdapter, parseJsonData, type BuiltRequest, type Emit, type StreamDecoder } from './http-adapter.js';
import { asObject, malformed, num } from './openai.js';
import type { SseEvent } from './sse.js';
import { adaptiveEffortFor, alwaysThinks, budgetFor, defaultThinkingForm, minimaxM3, takesOnlyAdaptive, type AdaptiveEffort, type ThinkingForm } from './reasoning.js';
import type { ChatRequest, FinishReason, Generation, RequestRefusal, Usage } from './types.js';

const STOP: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  // The answer filled the model's context window (Sonnet 4.5 and later): cut, as at max_tokens.
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

/** Anthropic's default when a request does not set max_tokens, which this API requires. */
const DEFAULT_MAX_TOKENS = 1024;

type Thinking = { type: 'enabled'; budget_tokens: number } | { type: 'adaptive' } | { type: 'disabled' };

/** The thinking a request asks for, with output_config.effort beside adaptive thinking, and the budget that stands for it. */
interface Asked {
  thinking: Thinking;
  effort?: AdaptiveEffort;
  /** The tokens this thinking may take: the budget sent, or (adaptive) the budget its effort stands for in reasoning.ts. */
  tokens?: number;
}

/**
 * The request's reasoning as Anthropic's thinking, in the provider's form: a budget (its own, else the
 * effort's from reasoning.ts), or adaptive thinking with the effort as output_config.effort for the model.
 * Effort "none" turns thinking off in both. A provider set to thinking: none is sent no thinking at all.
 * A budget asked of an adaptive provider, or "none" of a model that always thinks, is sent as it is:
 * refuse() stops it before any call, and the API's 400 would say the same.
 */
function thinkingOf(req: Generation, form: ThinkingForm, model: string): Asked | undefined {
  const r = req.reasoning;
  if (!r || (r.budgetTokens === undefined && r.effort === undefined) || form === 'none') return undefined;
  if (r.effort === 'none' && r.budgetTokens === undefined) return { thinking: { type: 'disabled' } };
  if (form === 'adaptive' && r.budgetTokens === undefined) return { thinking: { type: 'adaptive' }, effort: adaptiveEffortFor(r.effort as Exclude<typeof r.effort, 'none' | undefined>, model), tokens: budgetFor(r.effort!) };
  const budget = r.budgetTokens ?? budgetFor(r.effort!)!;
  return { thinking: { type: 'enabled', budget_tokens: budget }, tokens: budget };
}

/**
 * max_tokens counts thinking and answer together (Anthropic's extended-thinking docs). Set by the request or
 * the provider, it is sent as is (refuse() checks a budget fits below it); left to the default, the thinking's
 * tokens are added to the default answer size, as the Vercel AI SDK's Anthropic provider adds the budget to
 * every max tokens (there always; here only to the default, so a max_tokens the caller set reaches Anthropic
 * unchanged). Adaptive thinking has no budget: the effort's budget in reasoning.ts is the room left for it.
 */
function maxTokensOf(req: Generation, configured: number | undefined, asked: Asked | undefined): number {
  return req.maxTokens ?? configured ?? (asked?.tokens ?? 0) + DEFAULT_MAX_TOKENS;
}

/**
 * Anthropic Messages API: x-api-key + anthropic-version, system hoisted out of messages, named SSE events,
 * no [DONE] (message_stop ends the stream), usage split across message_start and message_delta.
 */
export class AnthropicAdapter extends HttpAdapter {
  protected build(req: ChatRequest): BuiltRequest {
    const s = this.settings;
    const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
    const messages = req.messages.filter((m) => m.role !== 'system');
    const asked = thinkingOf(req, this.thinkingForm, s.model);
    const body: Record<string, unknown> = {
      model: s.model,
      messages,
      ...s.params,
      max_tokens: maxTokensOf(req, s.maxOutputTokens, asked),
      stream: req.stream,
    };
    if (system) body.system = system;
    if (req.temperature !== undefined) body.temperature = req.temperature;
    // The request's own controls win over the same fields in the provider's params (written after them).
    if (asked) body.thinking = asked.thinking;
    if (asked?.effort) body.output_config = { ...asObject(s.params.output_config), effort: asked.effort };
    if (req.sampling?.topP !== undefined) body.top_p = req.sampling.topP;
    if (req.sampling?.topK !== undefined) body.top_k = req.sampling.topK;
    return { path: '/messages', headers: this.requestHeaders(), body };
  }

  /** The provider's thinking form: its config's, else the one its model takes (reasoning.ts defaultThinkingForm). */
  private get thinkingForm(): ThinkingForm {
    return this.settings.thinking ?? defaultThinkingForm(this.settings.model);
  }

  /**
   * The Messages API has no seed and no penalties; a thinking budget must be below max_tokens, and an
   * adaptive provider takes no budget at all (refused here, naming the field and the fix, rather than sent to
   * be refused by the API with a 400 the chain would fall over on).
   */
  refuse(req: Generation): RequestRefusal | undefined {
    const g = req.sampling;
    const missing = g?.seed !== undefined ? (['seed', 'seed'] as const) : g?.presencePenalty !== undefined ? (['presencePenalty', 'presence_penalty'] as const) : g?.frequencyPenalty !== undefined ? (['frequencyPenalty', 'frequency_penalty'] as const) : undefined;
    if (missing) return { field: missing[0], reason: `provider "${this.name}" speaks Anthropic's Messages API, which has no ${missing[1]}; leave it out or use a route whose providers all speak the OpenAI dialect` };
    const r = req.reasoning;
    const asksReasoning = r?.budgetTokens !== undefined || (r?.effort !== undefined && r.effort !== 'none');
    if (this.thinkingForm === 'none' && asksReasoning) {
      return { field: 'reasoning', reason: `provider "${this.name}" is set to thinking: none (its model does not reason), so it cannot be sent the request's reasoning; leave the reasoning out, use a route without this provider, or remove thinking: none from it` };
    }
    const asked = thinkingOf(req, this.thinkingForm, this.settings.model);
    if (asked?.thinking.type === 'disabled' && alwaysThinks(this.settings.model)) {
      // Anthropic answers it with a 400 ("thinking.type.disabled" is not supported for this model). Left out,
      // the model would think at its default effort, high: the opposite of what was asked, so it is refused.
      return { field: 'reasoning', reason: `reasoning effort "none" cannot go to provider "${this.name}": it serves ${this.settings.model}, which always thinks (Anthropic refuses thinking {"type":"disabled"} for Claude Fable and Mythos); ask for the lowest effort, low, or use a route without this provider` };
    }
    if (asked?.thinking.type === 'enabled' && this.thinkingForm === 'adaptive') {
      // Anthropic answers it with a 400 ("thinking.type.enabled" is not supported for this model), the chain would fall over for nothing.
      const who = minimaxM3(this.settings.model) ? "MiniMax's Anthropic-compatible API lets MiniMax-M3 think only adaptively" : 'Claude 4.7 and later refuse budgets';
      const why = this.settings.thinking === 'adaptive' ? 'is set to thinking: adaptive' : `serves ${this.settings.model}, which takes only adaptive thinking (${who})`;
      const fix = this.settings.thinking === 'adaptive' && !takesOnlyAdaptive(this.settings.model) ? ', or set thinking: budget on the provider' : '';
      return { field: 'reasoning', reason: `a thinking budget of ${asked.thinking.budget_tokens} tokens cannot go to provider "${this.name}": it ${why}; ask for a reasoning effort (low, medium, high, xhigh, max) instead${fix}` };
    }
    if (asked === undefined || asked.thinking.type === 'disabled') return undefined;
    // The API's 400s while thinking is on ("`temperature` may only be set to 1 when thinking is enabled",
    // "`top_k` must be unset when thinking is enabled", top_p at least 0.95), adaptive thinking as much as a
    // budget: refused here, before any provider.
    const thinkingToo = `provider "${this.name}" speaks Anthropic's Messages API, which refuses it while thinking is enabled (the request's reasoning)`;
    if (req.temperature !== undefined && req.temperature !== 1) return { field: 'temperature', reason: `${thinkingToo}: temperature may only be 1 there; leave temperature out or ask for no reasoning` };
    if (g?.topK !== undefined) return { field: 'topK', reason: `${thinkingToo}: top_k must be unset there; leave top_k out or ask for no reasoning` };
    if (g?.topP !== undefined && g.topP < 0.95) return { field: 'topP', reason: `${thinkingToo}: top_p must be from 0.95 to 1 there; leave top_p out or ask for no reasoning` };
    if (asked.thinking.type !== 'enabled') return undefined;
    const budget = asked.thinking.budget_tokens;
    const max = maxTokensOf(req, this.settings.maxOutputTokens, asked);
    if (budget < max) return undefined;
    const said = req.reasoning?.budgetTokens === undefined ? `reasoning effort "${req.reasoning?.effort}" is a thinking budget of ${budget} tokens for provider "${this.name}"` : `a thinking budget of ${budget} tokens`;
    return { field: 'reasoning', reason: `${said}, which must be less than max_tokens (${max}${req.maxTokens === undefined ? `, max_output_tokens of "${this.name}"` : ''}) as Anthropic requires; raise max tokens above ${budget} or ask for less reasoning` };
  }

  protected authHeaders(): Record<string, string> {
    const h: Record<string, string> = { 'anthropic-version': '2023-06-01' };
    if (this.settings.apiKey) h['x-api-key'] = this.settings.apiKey;
    return h;
  }

  protected streamDecoder(emit: Emit): StreamDecoder {
    return new AnthropicStreamDecoder(this.name, emit);
  }

  protected decodeBody(body: unknown, emit: Emit): void {
    const o = asObject(body);
    if (o?.type === 'error') return emit({ type: 'error', error: httpError(this.name, 200, {}, JSON.stringify(o)) });
    if (!o || !Array.isArray(o.content)) return emit({ type: 'error', error: malformed(this.name, 'response has no content array') });
    const seen: AnswerSeen = nothingSeen();
    for (const block of o.content) {
      const b = asObject(block);
      if (b?.type === 'thinking' && typeof b.thinking === 'string' && b.thinking) {
        seen.reasoningChars += b.thinking.length;
        emit({ type: 'reasoning_delta', text: b.thinking });
      }
      if (b?.type === 'text' && typeof b.text === 'string' && b.text) {
        noteContent(seen, b.text);
        emit({ type: 'content_delta', text: b.text });
      }
      if (b?.type === 'tool_use') seen.toolCalls++;
    }
    const usage = anthropicUsage(o.usage, undefined);
    if (usage) emit({ type: 'usage', usage });
    seen.reasoningTokens = usage?.reasoningTokens ?? 0;
    const raw = typeof o.stop_reason === 'string' ? o.stop_reason : 'end_turn';
    finish(this.name, raw, typeof o.model === 'string' ? o.model : undefined, seen, emit, typeof o.id === 'string' && o.id ? o.id : undefined);
  }
}

class AnthropicStreamDecoder implements StreamDecoder {
  private usage: Usage | undefined;
  private stopReason: string | undefined;
  private model: string | undefined;
  private responseId: string | undefined;
  private readonly seen: AnswerSeen = nothingSeen();

  constructor(
    private readonly provider: string,
    private readonly emit: Emit,
  ) {}

  event(ev: SseEvent): void {
    if (ev.data === undefined || ev.data === '') return;
    const parsed = parseJsonData(this.provider, ev.data);
    if (parsed instanceof ProviderError) return this.emit({ type: 'error', error: parsed });
    const o = asObject(parsed);
    const type = (o?.type as string | undefined) ?? ev.event;
    switch (type) {
      case 'message_start': {
        const msg = asObject(o?.message);
        if (typeof msg?.model === 'string') this.model = msg.model;
        if (typeof msg?.id === 'string' && msg.id) this.responseId = msg.id;
        this.usage = anthropicUsage(msg?.usage, undefined) ?? this.usage;
        return;
      }
      case 'content_block_start': {
        if (asObject(o?.content_block)?.type === 'tool_use') this.seen.toolCalls++;
        return;
      }
      case 'content_block_delta': {
        const d = asObject(o?.delta);
        if (d?.type === 'text_delta' && typeof d.text === 'string' && d.text) {
          noteContent(this.seen, d.text);
          this.emit({ type: 'content_delta', text: d.text });
        } else if (d?.type === 'thinking_delta' && typeof d.thinking === 'string' && d.thinking) {
          this.seen.reasoningChars += d.thinking.length;
          this.emit({ type: 'reasoning_delta', text: d.thinking });
        }
        return;
      }
      case 'message_delta': {
        const d = asObject(o?.delta);
        if (typeof d?.stop_reason === 'string') this.stopReason = d.stop_reason;
        // message_delta counts are cumulative: they overwrite message_start's, field by field.
        this.usage = anthropicUsage(o?.usage, this.usage) ?? this.usage;
        return;
      }
      case 'message_stop': {
        if (this.usage) this.emit({ type: 'usage', usage: this.usage });
        this.seen.reasoningTokens = this.usage?.reasoningTokens ?? 0;
        const raw = this.stopReason ?? 'end_turn';
        if (raw === 'refusal') {
          return this.emit({ type: 'error', error: new ProviderError({ errorClass: 'content_filter', provider: this.provider, status: 200, message: `${this.provider}: the model refused (stop_reason "refusal")` }) });
        }
        finish(this.provider, raw, this.model, this.seen, this.emit, this.responseId);
        return;
      }
      case 'error':
        // Arrives after HTTP 200 (e.g. overloaded_error mid-stream); the connection then closes.
        this.emit({ type: 'error', error: httpError(this.provider, 200, {}, ev.data) });
        return;
      default:
        return; // ping, content_block_start/stop, unknown future events
    }
  }

  end(clean: boolean): void {
    this.emit({
      type: 'error',
      error: new ProviderError({
        errorClass: 'incomplete_stream',
        provider: this.provider,
        message: `${this.provider}: stream ended early (no message_stop${clean ? '' : ', connection closed mid-event'})`,
      }),
    });
  }
}

/** A finish, unless the message carried neither text nor a tool call (see answer.ts). */
function finish(provider: string, raw: string, model: string | undefined, seen: AnswerSeen, emit: Emit, responseId: string | undefined): void {
  const reason = (Object.hasOwn(STOP, raw) ? STOP[raw] : undefined) ?? 'other';
  const empty = emptyAnswerError(provider, seen, raw, reason);
  if (empty) return emit({ type: 'error', error: empty });
  emit({ type: 'finish', reason, rawReason: raw, model, responseId });
}

/**
 * Anthropic's input_tokens excludes cached tokens (prompt = input + cache_creation + cache_read), the
 * opposite of OpenAI's convention; normalise to OpenAI's so cost is computed one way. Cache writes are kept
 * apart: they are billed above the input price (CACHE_WRITE_FACTOR). The thinking part of output_tokens is
 * output_tokens_details.thinking_tokens (recorded from Claude Sonnet 5 and Opus 5, test/fixtures/wire
 * anthropic/genai-claude-*; the Vercel AI SDK reads it as reasoning tokens too).
 */
function anthropicUsage(u: unknown, prev: Usage | undefined): Usage | undefined {
  const o = asObject(u);
  if (!o) return undefined;
  const input = num(o.input_tokens);
  const creation = num(o.cache_creation_input_tokens);
  const read = num(o.cache_read_input_tokens);
  const output = num(o.output_tokens);
  if (input === undefined && output === undefined && read === undefined && creation === undefined) return undefined;
  // Field by field: a count the later event leaves out keeps the earlier event's value.
  const uncached = input ?? (prev ? prev.inputTokens - prev.cachedInputTokens - (prev.cacheWriteInputTokens ?? 0) : 0);
  const writes = creation ?? prev?.cacheWriteInputTokens;
  const reads = read ?? prev?.cachedInputTokens ?? 0;
  const thinking = num(asObject(o.output_tokens_details)?.thinking_tokens) ?? prev?.reasoningTokens;
  const usage: Usage = { inputTokens: uncached + (writes ?? 0) + reads, cachedInputTokens: reads, outputTokens: output ?? prev?.outputTokens ?? 0 };
  if (writes !== undefined) usage.cacheWriteInputTokens = writes;
  if (thinking !== undefined) usage.reasoningTokens = thinking;
  return usage;
}

import { serverText } from '../util/redact.js';
import { ProviderError } from './errors.js';
import { emptyAnswerError, noteContent, nothingSeen, type AnswerSeen } from './answer.js';
import { httpError } from './classify.js';
import { HttpAdapter, parseJsonData, type BuiltRequest, type Emit, type StreamDecoder } from './http-adapter.js';
import type { SseEvent } from './sse.js';
import { defaultEffortForm, effortFor, openaiEffortFor, type ThinkingForm } from './reasoning.js';
import { defaultThinkTags, ThinkTagSplitter, type SplitText, type ThinkTags } from './think-tags.js';
import type { ChatRequest, FinishReason, Generation, RequestRefusal, Usage } from './types.js';

/**
 * OpenAI chat-completions dialect and its relatives (DeepSeek, Moonshot/Kimi, MiniMax, Gemini, Mistral, xAI,
 * Groq, Qwen, Azure, OpenRouter, Ollama, vLLM, llama.cpp, HolySheep). Each quirk handled below is named after
 * the provider that needs it; the recorded streams that show them are in test/fixtures/wire (index.json)
 * and replayed by test/wire-replay.test.ts.
 */
export class OpenAIAdapter extends HttpAdapter {
  /** Dropped for good once a server rejects stream_options (some vLLM/llama.cpp builds answer 400/422). */
  private includeUsage = true;

  protected build(req: ChatRequest): BuiltRequest {
    const s = this.settings;
    const body: Record<string, unknown> = { model: s.model, messages: req.messages, ...s.params, ...req.extraBody, stream: req.stream };
    const maxTokens = req.maxTokens ?? s.maxOutputTokens;
    if (maxTokens !== undefined) body[s.maxTokensParam ?? 'max_tokens'] = maxTokens;
    if (req.temperature !== undefined) body.temperature = req.temperature;
    // The request's own controls win over the same fields in the provider's params (written after them).
    // A model that does not reason is sent no reasoning_effort: "none" is what it does anyway, and refuse() stops the rest.
    const r = req.reasoning;
    if ((r?.effort !== undefined || r?.budgetTokens !== undefined) && this.reasoningForm !== 'none') body.reasoning_effort = r.effort === undefined ? effortFor(r.budgetTokens!) : openaiEffortFor(r.effort);
    const g = req.sampling;
    if (g?.topP !== undefined) body.top_p = g.topP;
    if (g?.seed !== undefined) body.seed = g.seed;
    if (g?.presencePenalty !== undefined) body.presence_penalty = g.presencePenalty;
    if (g?.frequencyPenalty !== undefined) body.frequency_penalty = g.frequencyPenalty;
    if (req.stream && this.includeUsage && s.streamUsage !== 'never') {
      body.stream_options = { ...(s.params.stream_options as object | undefined), include_usage: true };
    }
    return { path: '/chat/completions', headers: this.requestHeaders(req.stream ? 'text/event-stream' : 'application/json'), body };
  }

  /** The provider's thinking setting, else `none` for a model known not to reason (reasoning.ts defaultEffortForm). */
  private get reasoningForm(): ThinkingForm {
    return this.settings.thinking ?? defaultEffortForm(this.settings.model);
  }

  /**
   * top_k is not a Chat Completions field (OpenAI answers it with a 400); some servers take it, through params.
   * Reasoning to a model that does not reason would be a 400 the chain falls over on for a field it chose to send.
   */
  refuse(req: Generation): RequestRefusal | undefined {
    if (req.sampling?.topK !== undefined) {
      return { field: 'topK', reason: `provider "${this.name}" speaks the OpenAI chat-completions dialect, which has no top_k; leave it out, use a route whose providers all speak Anthropic's, or set top_k in the provider's params in providers.yaml if its server takes it` };
    }
    const r = req.reasoning;
    if (this.reasoningForm !== 'none' || (r?.budgetTokens === undefined && (r?.effort === undefined || r.effort === 'none'))) return undefined;
    const why = this.settings.thinking === 'none' ? 'is set to thinking: none (its model does not reason)' : `serves ${this.settings.model}, which does not reason (OpenAI answers reasoning_effort to it with a 400)`;
    const fix = this.settings.thinking === 'none' ? 'remove thinking: none from it' : 'set thinking: effort on it if its model does reason';
    return { field: 'reasoning', reason: `provider "${this.name}" ${why}, so it cannot be sent the request's reasoning; leave the reasoning out, use a route without this provider, or ${fix}` };
  }

  protected authHeaders(): Record<string, string> {
    return this.settings.apiKey ? { authorization: `Bearer ${this.settings.apiKey}` } : {};
  }

  protected override adjustAfterRejection(status: number, bodyText: string, req: ChatRequest): boolean {
    if (!req.stream || !this.includeUsage) return false;
    if ((status === 400 || status === 422) && /stream_options|include_usage/.test(bodyText)) {
      this.includeUsage = false;
      return true;
    }
    return false;
  }

  protected streamDecoder(emit: Emit): StreamDecoder {
    return new OpenAIStreamDecoder(this.name, emit, this.thinkTags, this.settings.thinkTags === undefined, this.settings.model);
  }

  /** How `<think>` tags in the content are read (think-tags.ts): providers.yaml's think_tags, else by the model's name. */
  private get thinkTags(): ThinkTags {
    return this.settings.thinkTags ?? defaultThinkTags(this.settings.model);
  }

  protected decodeBody(body: unknown, emit: Emit): void {
    const o = asObject(body);
    const err = embeddedError(this.name, o);
    if (err) return emit({ type: 'error', error: err });
    const choice = asObject(Array.isArray(o?.choices) ? o.choices[0] : undefined);
    const message = asObject(choice?.message);
    if (!o || !choice || !message) {
      return emit({ type: 'error', error: malformed(this.name, 'response has no choices[0].message') });
    }
    const parts = contentParts(message.content);
    const fieldReasoning = reasoningText(message) + parts.reasoning;
    const tags = this.thinkTags === 'off' ? undefined : new ThinkTagSplitter(this.thinkTags);
    if (fieldReasoning) tags?.structuredReasoning();
    const tagged = tags ? tags.whole(parts.text) : { reasoning: '', content: parts.text };
    const reasoning = fieldReasoning || tagged.reasoning;
    if (reasoning) emit({ type: 'reasoning_delta', text: reasoning });
    if (tagged.content) emit({ type: 'content_delta', text: tagged.content });
    const usage = readUsage(o.usage) ?? readUsage(choice.usage);
    if (usage) emit({ type: 'usage', usage });
    const raw = typeof choice.finish_reason === 'string' ? choice.finish_reason : 'stop';
    const seen: AnswerSeen = { ...nothingSeen(), toolCalls: toolCallCount(message), reasoningChars: reasoning.length, reasoningTokens: usage?.reasoningTokens ?? 0 };
    noteContent(seen, tagged.content);
    noteUnclosedOpen(tags, seen, this.settings.thinkTags === undefined, this.settings.model);
    finishOrError(this.name, raw, typeof o.model === 'string' ? o.model : undefined, seen, emit, typeof o.id === 'string' && o.id ? o.id : undefined);
  }
}

class OpenAIStreamDecoder implements StreamDecoder {
  private text = '';
  private finishRaw: string | undefined;
  private usage: Usage | undefined;
  private readonly seen: AnswerSeen = nothingSeen();
  private model: string | undefined;
  /** Every chunk repeats the completion's id; the first one is kept. */
  private responseId: string | undefined;
  /** Reads reasoning out of `<think>` tags in the content; none with think_tags: off. */
  private readonly tags: ThinkTagSplitter | undefined;

  constructor(
    private readonly provider: string,
    private readonly emit: Emit,
    thinkTags: ThinkTags,
    /** think_tags came from the model's name, not from providers.yaml (for the hint of an empty answer). */
    private readonly tagsByDefault: boolean,
    private readonly configuredModel: string,
  ) {
    this.tags = thinkTags === 'off' ? undefined : new ThinkTagSplitter(thinkTags);
  }

  /** Content text as sent, parted into reasoning (inside `<think>` tags) and the answer. */
  private split(text: string): SplitText {
    return this.tags ? this.tags.push(text) : { reasoning: '', content: text };
  }

  /**
   * Emits one chunk's text. Reasoning sent in its own field wins over tagged reasoning in the same chunk
   * (MiniMax-M3 was seen sending the same thinking both ways): the tags are then only taken out of the answer.
   */
  private emitText(fieldReasoning: string, tagged: SplitText): void {
    const reasoning = fieldReasoning || tagged.reasoning;
    if (reasoning) {
      this.seen.reasoningChars += reasoning.length;
      this.emit({ type: 'reasoning_delta', text: reasoning });
    }
    if (tagged.content) {
      noteContent(this.seen, tagged.content);
      // Both kinds of text in one chunk (vLLM's reasoning parsers, where </think> falls inside a delta) are one arrival.
      this.emit(reasoning ? { type: 'content_delta', text: tagged.content, sameChunk: true } : { type: 'content_delta', text: tagged.content });
    }
  }

  event(ev: SseEvent): void {
    // llama.cpp (legacy) reports mid-stream errors in a non-standard `error:` SSE field.
    if (ev.extra?.error !== undefined) {
      return this.emit({ type: 'error', error: httpError(this.provider, 200, {}, ev.extra.error) });
    }
    const data = ev.data;
    if (data === undefined || data === '') return;
    // [DONE] ends the stream for OpenAI, but MiniMax never sends it and others drop it: completeness is
    // decided in end() from the finish reason and a clean end of body, never from this marker.
    if (data === '[DONE]') return;
    const parsed = parseJsonData(this.provider, data);
    if (parsed instanceof ProviderError) return this.emit({ type: 'error', error: parsed });
    const o = asObject(parsed);
    if (!o) return this.emit({ type: 'error', error: malformed(this.provider, `stream chunk is not an object: ${serverText(data, 80)}`) });
    // OpenAI/OpenRouter/vLLM send an error object inside a 200 stream; MiniMax native uses base_resp.
    const err = embeddedError(this.provider, o);
    if (err) return this.emit({ type: 'error', error: err });
    if (typeof o.model === 'string') this.model = o.model;
    if (this.responseId === undefined && typeof o.id === 'string' && o.id) this.responseId = o.id;

    // Usage may sit at top level (OpenAI choices:[] chunk, DeepSeek finish chunk, Gemini every chunk),
    // only under x_groq (Groq's finish chunk without a top-level copy, vercel/ai#1651) or inside
    // choices[0] (Moonshot). Counts are cumulative: keep the last, never add.
    const top = readUsage(o.usage) ?? readUsage(asObject(o.x_groq)?.usage);
    if (top) this.usage = top;
    const choices = Array.isArray(o.choices) ? o.choices : [];
    const choice = asObject(choices[0]);
    if (!choice) return;
    const inner = readUsage(choice.usage);
    if (inner) this.usage = inner;

    const delta = asObject(choice.delta);
    if (delta) {
      // Mistral's Magistral streams content as typed parts: [{type:"thinking",thinking:[{type:"text",text}]}], [{type:"text",text}].
      const parts = contentParts(delta.content);
      this.text += parts.text;
      const fieldReasoning = reasoningText(delta) + parts.reasoning;
      if (fieldReasoning) this.tags?.structuredReasoning();
      this.emitText(fieldReasoning, this.split(parts.text));
      this.seen.toolCalls += toolCallCount(delta);
    } else {
      // MiniMax's native API ended with an object:"chat.completion" frame whose message repeats the whole
      // reply (handwritten fixture minimax/handwritten-native-v2-final-frame.sse): emit only what was not
      // streamed yet, so the text is never doubled.
      const message = asObject(choice.message);
      if (message && typeof message.content === 'string') {
        const full = message.content;
        if (full.startsWith(this.text) && full.length > this.text.length) {
          const rest = full.slice(this.text.length);
          this.text = full;
          this.emitText('', this.split(rest));
        }
      }
    }
    if (typeof choice.finish_reason === 'string' && choice.finish_reason) this.finishRaw = choice.finish_reason;
  }

  /**
   * The completion rule for every OpenAI-style dialect: complete = a finish reason arrived AND the body
   * ended cleanly (the transport already turned a cut chunked body or a short content-length into an
   * error before we get here; `clean` adds "not inside an event"). A missing [DONE] alone is not a
   * failure: MiniMax ends with its choices:[] usage chunk and no [DONE], and its usage is kept.
   */
  end(clean: boolean): void {
    // Text held back as a possible tag is what it looked like: the stream has no more to show.
    if (this.tags) {
      this.emitText('', this.tags.flush());
      noteUnclosedOpen(this.tags, this.seen, this.tagsByDefault, this.configuredModel);
    }
    if (this.finishRaw === undefined || !clean) {
      const missing = [!clean ? 'the connection closed mid-event' : undefined, this.finishRaw === undefined ? 'no finish_reason' : undefined].filter(Boolean);
      return this.emit({
        type: 'error',
        error: new ProviderError({ errorClass: 'incomplete_stream', provider: this.provider, message: `${this.provider}: stream ended early (${missing.join(', ')})` }),
      });
    }
    if (this.usage) this.emit({ type: 'usage', usage: this.usage });
    this.seen.reasoningTokens = this.usage?.reasoningTokens ?? 0;
    finishOrError(this.provider, this.finishRaw, this.model, this.seen, this.emit, this.responseId);
  }
}

const FINISH: Record<string, FinishReason> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
  content_filter: 'content_filter',
  eos: 'stop',
  // Gemini's OpenAI-compatible endpoint can pass its own FinishReason names through, upper case (read
  // lower-cased below): a MAX_TOKENS answer is cut, and a SAFETY or RECITATION stop is a refusal mid-answer.
  max_tokens: 'length',
  safety: 'content_filter',
  recitation: 'content_filter',
  blocklist: 'content_filter',
  prohibited_content: 'content_filter',
  spii: 'content_filter',
  image_safety: 'content_filter',
  image_prohibited_content: 'content_filter',
  image_recitation: 'content_filter',
};

/**
 * Streamed or not, what to try when an answer came out empty because an `open` reading took text for thinking
 * that no `</think>` ever closed: the server may take the thinking out of the text itself.
 */
function noteUnclosedOpen(tags: ThinkTagSplitter | undefined, seen: AnswerSeen, byDefault: boolean, model: string): void {
  if (tags?.reading !== 'open' || !tags.inThinking || seen.visible) return;
  const why = byDefault ? `think_tags is open by default for ${serverText(model, 80)}, whose template opens <think>` : 'think_tags: open';
  seen.hint = `${why}, so everything before a </think> is thinking, and none came; if this provider's server takes the thinking out of the text, set think_tags: leading on it in providers.yaml`;
}

function finishOrError(provider: string, raw: string, model: string | undefined, seen: AnswerSeen, emit: Emit, responseId: string | undefined): void {
  // DeepSeek ends a stream with finish_reason "insufficient_system_resource" when it runs out of capacity
  // mid-answer: the answer is cut, so it is an overload, not a finish.
  if (raw === 'insufficient_system_resource') {
    return emit({ type: 'error', error: new ProviderError({ errorClass: 'overloaded', provider, status: 200, message: `${provider}: stream cut: insufficient_system_resource` }) });
  }
  if (raw === 'error') {
    return emit({ type: 'error', error: new ProviderError({ errorClass: 'server', provider, status: 200, message: `${provider}: stream ended with finish_reason "error"` }) });
  }
  const reason = (Object.hasOwn(FINISH, raw.toLowerCase()) ? FINISH[raw.toLowerCase()] : undefined) ?? 'other';
  const empty = emptyAnswerError(provider, seen, raw, reason);
  if (empty) return emit({ type: 'error', error: empty });
  emit({ type: 'finish', reason, rawReason: raw, model, responseId });
}

/** Content as a string (everyone) or as typed parts (Mistral Magistral): text parts are the answer, thinking parts reasoning. */
function contentParts(content: unknown): { text: string; reasoning: string } {
  if (typeof content === 'string') return { text: content, reasoning: '' };
  if (!Array.isArray(content)) return { text: '', reasoning: '' };
  let text = '';
  let reasoning = '';
  for (const p of content) {
    const part = asObject(p);
    if (part?.type === 'text' && typeof part.text === 'string') text += part.text;
    else if (part?.type === 'thinking') reasoning += partText(part.thinking);
  }
  return { text, reasoning };
}

/** Magistral's thinking is itself a list of text parts (or, defensively, a plain string). */
function partText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) return '';
  let out = '';
  for (const p of v) {
    const t = asObject(p)?.text;
    if (typeof t === 'string') out += t;
  }
  return out;
}

/** Tool-call fragments in a delta or message (tool_calls[], or the legacy function_call). */
function toolCallCount(d: Record<string, unknown>): number {
  if (Array.isArray(d.tool_calls)) return d.tool_calls.length;
  return asObject(d.function_call) ? 1 : 0;
}

function embeddedError(provider: string, o: Record<string, unknown> | undefined): ProviderError | undefined {
  if (!o) return undefined;
  const base = asObject(o.base_resp);
  const baseFailed = base && base.status_code !== undefined && Number(base.status_code) !== 0;
  if (o.error !== undefined && o.error !== null) return httpError(provider, 200, {}, JSON.stringify(o));
  if (o.object === 'error' || baseFailed) return httpError(provider, 200, {}, JSON.stringify(o));
  return undefined;
}

/**
 * Reasoning arrives as reasoning_content (DeepSeek, Kimi, xAI, vLLM, llama.cpp), reasoning (Ollama, OpenRouter)
 * or reasoning_details[] (MiniMax; with reasoning_split it sends reasoning_content too, which wins so the text
 * is not doubled), or as Magistral thinking parts (contentParts).
 */
function reasoningText(d: Record<string, unknown>): string {
  if (typeof d.reasoning_content === 'string' && d.reasoning_content) return d.reasoning_content;
  if (typeof d.reasoning === 'string' && d.reasoning) return d.reasoning;
  if (Array.isArray(d.reasoning_details)) {
    let out = '';
    for (const r of d.reasoning_details) {
      const t = asObject(r)?.text;
      if (typeof t === 'string') out += t;
    }
    return out;
  }
  return '';
}

/**
 * Normalises the usage shapes: cached tokens from prompt_tokens_details.cached_tokens (OpenAI),
 * prompt_cache_hit_tokens (DeepSeek) or a top-level cached_tokens (Moonshot). MiniMax's placeholder
 * {total_tokens:0,total_characters:0} carries no counts and is skipped. Gemini leaves thinking tokens out
 * of completion_tokens but bills them as output: when total exceeds prompt + completion, the difference
 * is reasoning output.
 */
export function readUsage(u: unknown): Usage | undefined {
  const o = asObject(u);
  if (!o) return undefined;
  const prompt = num(o.prompt_tokens) ?? num(o.input_tokens);
  const completion = num(o.completion_tokens) ?? num(o.output_tokens);
  if (prompt === undefined && completion === undefined) return undefined;
  const input = prompt ?? 0;
  let output = completion ?? 0;
  const details = asObject(o.prompt_tokens_details);
  const cached = num(details?.cached_tokens) ?? num(o.prompt_cache_hit_tokens) ?? num(o.cached_tokens) ?? 0;
  let reasoning = num(asObject(o.completion_tokens_details)?.reasoning_tokens);
  const total = num(o.total_tokens);
  if (total !== undefined && total > input + output && prompt !== undefined && completion !== undefined) {
    // Tokens billed as output but missing from completion_tokens. Gemini reports no reasoning_tokens, so the
    // gap is its thinking; xAI reports reasoning_tokens AND leaves them out of completion_tokens, so the gap
    // is those same tokens and must not be added to them a second time.
    const hidden = total - input - output;
    output += hidden;
    reasoning = Math.max(reasoning ?? 0, hidden);
  }
  const usage: Usage = { inputTokens: input, cachedInputTokens: Math.min(cached, input), outputTokens: output };
  if (reasoning !== undefined) usage.reasoningTokens = reasoning;
  return usage;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function malformed(provider: string, what: string): ProviderError {
  return new ProviderError({ errorClass: 'malformed_response', provider, message: `${provider}: ${what}` });
}

export { asObject, num, malformed };

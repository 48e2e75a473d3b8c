import { redactAsShown } from '../util/redact.js';
import type { ProviderError } from './errors.js';
import type { ChatRequest, FinishReason, ProviderAdapter, ProviderEvent, SentSettings, Usage } from './types.js';

export interface StreamFoldOptions {
  /** Keep the content text (the chain's answer, bench --raw-include-text); otherwise only its length. */
  keepContent?: boolean;
  /** Keep every gap between consecutive tokens (the bench's inter-token latency); otherwise only the longest. */
  keepGaps?: boolean;
  /** Called once, at the first token, content or reasoning: the instant a model is known to be alive. */
  onFirstToken?: (t: number) => void;
  /** Called with each piece of content text as it is folded. */
  onContent?: (text: string) => void;
}

/**
 * One request's adapter events, folded into named instants (monotonic ms) and figures: the single
 * reading of a stream that bench, the fallback chain and health share, so that "first token" means the
 * same thing to all of them. A token is a content or a reasoning delta: a thinking model streaming its
 * thoughts is alive, so its first reasoning delta stops the first-token clock, wins a hedge and is its
 * TTFT; `firstContentAt` is kept beside it for whoever wants the answer's own start.
 *
 * Called once per event on bench's hot path: no allocation per event unless text or gaps are kept.
 */
export class StreamFold {
  /** The first request_sent (a resend after a rejected option keeps the first). */
  sentAt: number | undefined = undefined;
  /** How many requests went out for this one call (2 when the adapter resent after a rejection). */
  requestsSent = 0;
  /** The last request_sent: its settings are read only if someone asks (`sent`). */
  private lastSent: { sent: SentSettings } | undefined = undefined;
  /** The last response's headers: when they arrived and their status. */
  headersAt: number | undefined = undefined;
  status: number | undefined = undefined;
  firstByteAt: number | undefined = undefined;
  /** The first content or reasoning delta. */
  firstTokenAt: number | undefined = undefined;
  /** The first content delta (later than firstTokenAt for a model that thinks first). */
  firstContentAt: number | undefined = undefined;
  lastTokenAt: number | undefined = undefined;
  /** The finish or error event that ended the stream. */
  endAt: number | undefined = undefined;
  /** Chunks that carried content or reasoning text: one per chunk, however many kinds of text it held. */
  tokenChunks = 0;
  contentChars = 0;
  reasoningChars = 0;
  /** The longest silence between consecutive tokens (ms). */
  maxGap = 0;
  /** Every gap between consecutive tokens (ms), when asked for. */
  readonly gaps: number[] | undefined;
  usage: Usage | undefined = undefined;
  finish: FinishReason | undefined = undefined;
  rawFinish: string | undefined = undefined;
  /** The model the server says answered. */
  servedModel: string | undefined = undefined;
  /** The provider's own id for this response (OpenAI chatcmpl-…, Anthropic msg_…). */
  responseId: string | undefined = undefined;
  error: ProviderError | undefined = undefined;
  private readonly parts: string[] | undefined;
  private readonly onFirstToken: ((t: number) => void) | undefined;
  private readonly onContent: ((text: string) => void) | undefined;

  constructor(opts: StreamFoldOptions = {}) {
    this.parts = opts.keepContent ? [] : undefined;
    this.gaps = opts.keepGaps ? [] : undefined;
    this.onFirstToken = opts.onFirstToken;
    this.onContent = opts.onContent;
  }

  /** The settings the last request carried: after a resend, the request the answer came to. */
  get sent(): SentSettings | undefined {
    return this.lastSent?.sent;
  }

  /** The stream finished with a finish reason (no error event). */
  get ok(): boolean {
    return this.finish !== undefined && this.error === undefined;
  }

  /**
   * The content text so far ('' unless keepContent), redacted: the one place the pieces are joined, so a key
   * a server echoed split across two of them is caught here (the cache, --json, --raw and the gateway read this).
   */
  get content(): string {
    return this.parts === undefined ? '' : redactAsShown(this.parts.join(''));
  }

  event(ev: ProviderEvent): void {
    switch (ev.type) {
      case 'content_delta': {
        // Text that shared its chunk with the reasoning before it is not another arrival: ITL is measured
        // between chunks (vLLM bench, AIPerf), and a 0 ms gap per boundary chunk would pull ITL down.
        const first = ev.sameChunk && this.lastTokenAt !== undefined ? false : this.token(ev.t);
        this.firstContentAt ??= ev.t;
        this.contentChars += ev.text.length;
        if (this.parts !== undefined) this.parts.push(ev.text);
        // Hooks run once the delta is folded, so they see it counted.
        if (first && this.onFirstToken !== undefined) this.onFirstToken(ev.t);
        if (this.onContent !== undefined) this.onContent(ev.text);
        break;
      }
      case 'reasoning_delta': {
        const first = this.token(ev.t);
        this.reasoningChars += ev.text.length;
        if (first && this.onFirstToken !== undefined) this.onFirstToken(ev.t);
        break;
      }
      case 'request_sent':
        this.sentAt ??= ev.t;
        this.requestsSent++;
        this.lastSent = ev;
        break;
      case 'response_headers':
        this.headersAt = ev.t;
        this.status = ev.status;
        break;
      case 'first_byte':
        this.firstByteAt ??= ev.t;
        break;
      case 'usage':
        this.usage = ev.usage;
        break;
      case 'finish':
        this.endAt = ev.t;
        this.finish = ev.reason;
        this.rawFinish = ev.rawReason;
        this.servedModel = ev.model;
        this.responseId = ev.responseId;
        break;
      case 'error':
        this.endAt = ev.t;
        this.error = ev.error;
        break;
    }
  }

  /** Counts a token at `t`; true when it is the first. */
  private token(t: number): boolean {
    this.tokenChunks++;
    const last = this.lastTokenAt;
    this.lastTokenAt = t;
    if (last === undefined) {
      this.firstTokenAt = t;
      return true;
    }
    const gap = t - last;
    if (gap > this.maxGap) this.maxGap = gap;
    if (this.gaps !== undefined) this.gaps.push(gap);
    return false;
  }
}

/**
 * Streams one request through an adapter into `fold`, each event folded as it is decoded where the
 * adapter can push. Never throws for a conforming adapter (its stream ends in finish or error).
 */
export async function foldStream<F extends StreamFold>(adapter: ProviderAdapter, req: ChatRequest, fold: F): Promise<F> {
  if (adapter.streamInto) {
    await adapter.streamInto(req, (ev) => fold.event(ev));
  } else {
    for await (const ev of adapter.stream(req)) fold.event(ev);
  }
  return fold;
}

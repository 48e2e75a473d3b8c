import type { ChatRequest, FinishReason, ProviderAdapter, ProviderEvent, Usage } from '../providers/types.js';
import { estimatePromptTokens, estimateTextTokens } from '../util/tokens.js';
import { now } from '../util/clock.js';

/** What one request measured; timestamps are monotonic ms. Short-lived: folded into histograms and dropped. */
export interface RequestRecord {
  index: number;
  /** Which prompt of the run's list was sent. */
  promptIndex: number;
  warmup: boolean;
  /** Open loop: when the request was due; latency counts from here (no coordinated omission). */
  scheduled?: number;
  /** Start of the latency clock: scheduled in open loop, sent in closed loop. */
  start: number;
  sent: number;
  firstByte?: number;
  firstToken?: number;
  end: number;
  ok: boolean;
  status?: number;
  errorClass?: string;
  errorDetail?: string;
  errorMessage?: string;
  finishReason?: FinishReason;
  /** Gaps between consecutive content/reasoning chunks (ms). */
  gaps: number[];
  chunks: number;
  usage?: Usage;
  estimatedInputTokens: number;
  estimatedOutputTokens: number;
  text?: string;
}

export interface RequestMeta {
  index: number;
  promptIndex: number;
  warmup: boolean;
  scheduled?: number;
  keepText: boolean;
}

/** Folds one request's events, in order, into its record. */
export class RequestFold {
  readonly rec: RequestRecord;
  private sentSeen = false;
  private lastChunk = 0;
  private chars = 0;
  private text: string | undefined;

  constructor(
    req: ChatRequest,
    private readonly meta: RequestMeta,
  ) {
    const t = now();
    this.rec = {
      index: meta.index,
      promptIndex: meta.promptIndex,
      warmup: meta.warmup,
      scheduled: meta.scheduled,
      start: meta.scheduled ?? t,
      sent: t,
      end: 0,
      ok: false,
      gaps: [],
      chunks: 0,
      estimatedInputTokens: estimatePromptTokens(req.messages),
      estimatedOutputTokens: 0,
    };
    this.text = meta.keepText ? '' : undefined;
  }

  event(ev: ProviderEvent): void {
    const rec = this.rec;
    switch (ev.type) {
      case 'content_delta':
      case 'reasoning_delta':
        if (rec.firstToken === undefined) rec.firstToken = ev.t;
        else rec.gaps.push(ev.t - this.lastChunk);
        this.lastChunk = ev.t;
        rec.chunks++;
        this.chars += ev.text.length;
        if (this.text !== undefined && ev.type === 'content_delta') this.text += ev.text;
        break;
      case 'request_sent':
        if (!this.sentSeen) {
          rec.sent = ev.t;
          if (this.meta.scheduled === undefined) rec.start = ev.t;
          this.sentSeen = true;
        }
        break;
      case 'response_headers':
        rec.status = ev.status;
        break;
      case 'first_byte':
        rec.firstByte ??= ev.t;
        break;
      case 'usage':
        rec.usage = ev.usage;
        break;
      case 'finish':
        rec.ok = true;
        rec.finishReason = ev.reason;
        rec.end = ev.t;
        break;
      case 'error':
        rec.ok = false;
        rec.end = ev.t;
        rec.status = ev.error.status ?? rec.status;
        rec.errorClass = ev.error.errorClass;
        rec.errorDetail = ev.error.detail;
        rec.errorMessage = ev.error.message;
        break;
    }
  }

  done(): RequestRecord {
    this.rec.estimatedOutputTokens = estimateTextTokens(this.chars);
    if (this.text !== undefined) this.rec.text = this.text;
    return this.rec;
  }
}

/** Sends one request through an adapter and measures it from the event stream (batched where the adapter can). */
export async function measureRequest(adapter: ProviderAdapter, req: ChatRequest, meta: RequestMeta): Promise<RequestRecord> {
  const fold = new RequestFold(req, meta);
  if (adapter.streamBatches) {
    for await (const batch of adapter.streamBatches(req)) for (let i = 0; i < batch.length; i++) fold.event(batch[i]);
  } else {
    for await (const ev of adapter.stream(req)) fold.event(ev);
  }
  return fold.done();
}

import type { FinishReason, ProviderAdapter, ProviderEvent, Usage } from '../providers/types.js';
import type { ChatRequest } from '../providers/types.js';
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

/** Sends one request through an adapter and measures it from the event stream. */
export async function measureRequest(adapter: ProviderAdapter, req: ChatRequest, meta: { index: number; promptIndex: number; warmup: boolean; scheduled?: number; keepText: boolean }): Promise<RequestRecord> {
  const rec: RequestRecord = {
    index: meta.index,
    promptIndex: meta.promptIndex,
    warmup: meta.warmup,
    scheduled: meta.scheduled,
    start: meta.scheduled ?? now(),
    sent: now(),
    end: 0,
    ok: false,
    gaps: [],
    chunks: 0,
    estimatedInputTokens: estimatePromptTokens(req.messages),
    estimatedOutputTokens: 0,
  };
  let sentSeen = false;
  let lastChunk = 0;
  let chars = 0;
  let text = meta.keepText ? '' : undefined;
  for await (const ev of adapter.stream(req) as AsyncIterable<ProviderEvent>) {
    switch (ev.type) {
      case 'request_sent':
        if (!sentSeen) {
          rec.sent = ev.t;
          if (meta.scheduled === undefined) rec.start = ev.t;
          sentSeen = true;
        }
        break;
      case 'response_headers':
        rec.status = ev.status;
        break;
      case 'first_byte':
        rec.firstByte ??= ev.t;
        break;
      case 'content_delta':
      case 'reasoning_delta':
        if (rec.firstToken === undefined) rec.firstToken = ev.t;
        else rec.gaps.push(ev.t - lastChunk);
        lastChunk = ev.t;
        rec.chunks++;
        chars += ev.text.length;
        if (text !== undefined && ev.type === 'content_delta') text += ev.text;
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
  rec.estimatedOutputTokens = estimateTextTokens(chars);
  if (text !== undefined) rec.text = text;
  return rec;
}

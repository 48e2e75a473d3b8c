import { foldStream, StreamFold } from '../providers/fold.js';
import type { ChatRequest, FinishReason, ProviderAdapter, Usage } from '../providers/types.js';
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
  /** When the runner issued the request (the client's own wait until `sent` is its queue, not the provider's). */
  issued: number;
  /** When the request's bytes were written to the connection. */
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
  /** The messages sent, kept with the text (--raw-include-text): synthetic workloads are not in the prompt list. */
  messages?: ChatRequest['messages'];
}

export interface RequestMeta {
  index: number;
  promptIndex: number;
  warmup: boolean;
  scheduled?: number;
  keepText: boolean;
}

/**
 * Sends one request through an adapter and measures it from the shared stream fold (batched where the
 * adapter can). The record keeps every inter-token gap for the ITL histogram; text only when asked.
 */
export async function measureRequest(adapter: ProviderAdapter, req: ChatRequest, meta: RequestMeta): Promise<RequestRecord> {
  const issued = now();
  const f = await foldStream(adapter, req, new StreamFold({ keepGaps: true, keepContent: meta.keepText }));
  const sent = f.sentAt ?? issued;
  const err = f.error;
  const rec: RequestRecord = {
    index: meta.index,
    promptIndex: meta.promptIndex,
    warmup: meta.warmup,
    scheduled: meta.scheduled,
    start: meta.scheduled ?? sent,
    issued,
    sent,
    firstByte: f.firstByteAt,
    firstToken: f.firstTokenAt,
    end: f.endAt ?? 0,
    ok: f.ok,
    status: err?.status ?? f.status,
    errorClass: err?.errorClass,
    errorDetail: err?.detail,
    errorMessage: err?.message,
    finishReason: f.finish,
    gaps: f.gaps!,
    chunks: f.tokenChunks,
    usage: f.usage,
    estimatedInputTokens: estimatePromptTokens(req.messages),
    estimatedOutputTokens: estimateTextTokens(f.contentChars + f.reasoningChars),
  };
  if (meta.keepText) {
    rec.text = f.content;
    rec.messages = req.messages;
  }
  return rec;
}

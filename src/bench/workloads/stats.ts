import { newHistogram, recordMs, summarize, type Histogram, type Summary } from '../histogram.js';
import type { RequestRecord } from '../measure.js';
import type { OutputControl, WorkloadSettings } from './workload.js';

/** Per provider: what was asked for against what the server reported, prompt-cache hits, and TTFT per turn. */
export interface WorkloadReport {
  tokenizer: string;
  /** Successful measured requests these figures cover. */
  requests: number;
  input_tokens: {
    /** Mean input tokens sent, counted with the run's tokenizer over every message's text. */
    requested_mean: number | null;
    /** Mean prompt tokens the server reported (null when it reported no usage). */
    reported_mean: number | null;
    /** reported / requested over requests with usage: chat templates and other tokenizers make it differ from 1. */
    ratio: number | null;
  };
  output_tokens: {
    control: OutputControl;
    requested_mean: number | null;
    reported_mean: number | null;
    ratio: number | null;
  } | null;
  prompt_cache: {
    /** Cached input tokens / input tokens, as the server reported them. */
    cached_share: number | null;
    /** Requests the server reported at least one cached input token for. */
    cached_requests: number;
    uncached_requests: number;
    ttft_cached_ms: Summary | null;
    ttft_uncached_ms: Summary | null;
  } | null;
  /** Multi-turn sessions: TTFT of each turn (turn 1 first), which grows with the context carried. */
  turns: { turn: number; requests: number; input_tokens_mean: number | null; ttft_ms: Summary | null }[] | null;
}

const round = (v: number, places = 3) => Math.round(v * 10 ** places) / 10 ** places;
const mean = (sum: number, n: number) => (n > 0 ? round(sum / n, 1) : null);

export class WorkloadStats {
  private ok = 0;
  private requested = 0;
  private withUsage = 0;
  private requestedWithUsage = 0;
  private reported = 0;
  private cached = 0;
  private outRequested = 0;
  private outRequestedN = 0;
  private outReported = 0;
  private outReportedRequested = 0;
  private outReportedN = 0;
  private cachedRequests = 0;
  private uncachedRequests = 0;
  private readonly ttftCached: Histogram = newHistogram();
  private readonly ttftUncached: Histogram = newHistogram();
  private readonly perTurn: { n: number; input: number; ttft: Histogram }[];

  constructor(turns: number) {
    this.perTurn = turns > 1 ? Array.from({ length: turns }, () => ({ n: 0, input: 0, ttft: newHistogram() })) : [];
  }

  /** One measured request; only successful ones count (a failed request's usage says nothing of the prompt). */
  add(rec: RequestRecord, requested: number, turn: number, outputTokens: number | undefined): void {
    if (!rec.ok) return;
    this.ok++;
    this.requested += requested;
    if (outputTokens !== undefined) {
      this.outRequested += outputTokens;
      this.outRequestedN++;
    }
    const ttft = rec.firstToken !== undefined ? rec.firstToken - rec.start : undefined;
    if (rec.usage) {
      this.withUsage++;
      this.requestedWithUsage += requested;
      this.reported += rec.usage.inputTokens;
      this.cached += rec.usage.cachedInputTokens;
      if (outputTokens !== undefined) {
        this.outReported += rec.usage.outputTokens;
        this.outReportedRequested += outputTokens;
        this.outReportedN++;
      }
      const hit = rec.usage.cachedInputTokens > 0;
      if (hit) this.cachedRequests++;
      else this.uncachedRequests++;
      if (ttft !== undefined) recordMs(hit ? this.ttftCached : this.ttftUncached, ttft);
    }
    const t = this.perTurn[turn];
    if (t) {
      t.n++;
      t.input += requested;
      if (ttft !== undefined) recordMs(t.ttft, ttft);
    }
  }

  report(settings: WorkloadSettings, control: OutputControl | null): WorkloadReport {
    const cacheAsked = settings.shared_prefix_tokens !== null || settings.trace !== null || (settings.turns ?? 1) > 1;
    return {
      tokenizer: settings.tokenizer,
      requests: this.ok,
      input_tokens: {
        requested_mean: mean(this.requested, this.ok),
        reported_mean: mean(this.reported, this.withUsage),
        ratio: this.requestedWithUsage > 0 ? round(this.reported / this.requestedWithUsage) : null,
      },
      output_tokens: control
        ? {
            control,
            requested_mean: mean(this.outRequested, this.outRequestedN),
            reported_mean: mean(this.outReported, this.outReportedN),
            ratio: this.outReportedRequested > 0 ? round(this.outReported / this.outReportedRequested) : null,
          }
        : null,
      prompt_cache: cacheAsked
        ? {
            cached_share: this.reported > 0 ? round(this.cached / this.reported, 4) : null,
            cached_requests: this.cachedRequests,
            uncached_requests: this.uncachedRequests,
            ttft_cached_ms: summarize(this.ttftCached),
            ttft_uncached_ms: summarize(this.ttftUncached),
          }
        : null,
      turns: this.perTurn.length ? this.perTurn.map((t, i) => ({ turn: i + 1, requests: t.n, input_tokens_mean: mean(t.input, t.n), ttft_ms: summarize(t.ttft) })) : null,
    };
  }
}

import type { Price } from '../config/types.js';
import type { Usage } from '../providers/types.js';
import { costOf } from '../cost/usage-cost.js';
import { newHistogram, recordMs, type Histogram } from './histogram.js';
import type { RequestRecord } from './measure.js';
import { GoodputTally, requestFigures, type Slo } from './slo.js';
import { Timeline } from './timeline.js';


export const HISTOGRAM_NAMES = ['latency', 'ttft', 'ttfb', 'itl', 'tpot', 'tps', 'send_lag', 'connect'] as const;
export type HistogramName = (typeof HISTOGRAM_NAMES)[number];

/**
 * Everything measured for one provider, in constant memory: histograms and counters, never a list of
 * requests. Results from several processes merge exactly by adding accumulators.
 */
export class ProviderAccumulator {
  readonly h: Record<HistogramName, Histogram>;
  sent = 0;
  ok = 0;
  failed = 0;
  cancelled = 0;
  errors: Record<string, number> = {};
  errorDetails: Record<string, number> = {};
  statuses: Record<string, number> = {};
  finishReasons: Record<string, number> = {};
  inputTokens = 0;
  cachedInputTokens = 0;
  cacheWriteInputTokens = 0;
  outputTokens = 0;
  reasoningTokens = 0;
  reportedRequests = 0;
  estimatedRequests = 0;
  /** For requests that reported usage: the estimate of the same output, to see when estimates are far off. */
  estimateCheck = { reported: 0, estimated: 0 };
  costUsd = 0;
  /** Monotonic ms: first start and last end of the measured requests counted (ok or failed; not cancelled), for throughput. */
  firstStart = Infinity;
  lastEnd = -Infinity;
  /** Wall time of the measured phase; set from the clock, or summed/maxed on merge. */
  wallMs = 0;
  /** Open loop: measured sends (merged runs: one more than their intervals, see merge), and monotonic ms of the first and last (for the achieved rate). */
  sends = 0;
  firstSend = Infinity;
  lastSend = -Infinity;
  /** lastSend − firstSend, set at the end of a run (or the longer of two on merge). */
  sendSpanMs = 0;
  /** Example error messages by class (one each), keys already redacted. */
  examples: Record<string, string> = {};
  /** Set when the run has SLOs (--slo): good requests and each SLO met. */
  goodput?: GoodputTally;
  /** Outcomes and latency per second of the run, bounded, for the HTML report's time series. */
  timeline = new Timeline();

  constructor(
    readonly price: Price | undefined,
    slos: Slo[] = [],
  ) {
    this.h = Object.fromEntries(HISTOGRAM_NAMES.map((n) => [n, newHistogram()])) as Record<HistogramName, Histogram>;
    if (slos.length) this.goodput = new GoodputTally(slos);
  }

  add(r: RequestRecord): void {
    if (r.warmup) return;
    this.sent++;
    if (r.scheduled !== undefined) {
      recordMs(this.h.send_lag, r.sent - r.scheduled);
      this.sends++;
      if (r.sent < this.firstSend) this.firstSend = r.sent;
      if (r.sent > this.lastSend) this.lastSend = r.sent;
    }
    if (r.status !== undefined) this.statuses[r.status] = (this.statuses[r.status] ?? 0) + 1;
    if (!r.ok && r.errorClass === 'cancelled') {
      this.cancelled++;
      this.sent--;
      return;
    }
    // The wall time spans the requests counted (ok or failed): one aborted at a stop, after the runner's grace,
    // would stretch it over a time in which nothing counted could finish, and lower every rate.
    this.firstStart = Math.min(this.firstStart, r.start);
    this.lastEnd = Math.max(this.lastEnd, r.end);
    // A failed request's usage counts towards tokens and cost when the server reported it; one that streamed
    // text before it failed (a cut, a stall, an error event) without usage is estimated like an answer: the
    // provider billed the prompt and what it generated all the same.
    if (r.usage) {
      this.inputTokens += r.usage.inputTokens;
      this.cachedInputTokens += r.usage.cachedInputTokens;
      this.cacheWriteInputTokens += r.usage.cacheWriteInputTokens ?? 0;
      this.outputTokens += r.usage.outputTokens;
      this.reasoningTokens += r.usage.reasoningTokens ?? 0;
      this.costUsd += costOf(r.usage, this.price);
    } else if (!r.ok && r.estimatedOutputTokens > 0) {
      this.addEstimate(r);
    }
    if (!r.ok) {
      this.failed++;
      const cls = r.errorClass ?? 'unknown';
      this.errors[cls] = (this.errors[cls] ?? 0) + 1;
      if (r.errorDetail && r.errorDetail !== cls) this.errorDetails[r.errorDetail] = (this.errorDetails[r.errorDetail] ?? 0) + 1;
      if (r.errorMessage && !this.examples[cls]) this.examples[cls] = r.errorMessage.slice(0, 300);
      this.goodput?.fail();
      this.timeline.add(r.start, false);
      return;
    }
    this.ok++;
    if (r.finishReason) this.finishReasons[r.finishReason] = (this.finishReasons[r.finishReason] ?? 0) + 1;
    let output: number;
    if (r.usage) {
      this.reportedRequests++;
      output = r.usage.outputTokens;
      this.estimateCheck.reported += r.usage.outputTokens;
      this.estimateCheck.estimated += r.estimatedOutputTokens;
    } else {
      output = r.estimatedOutputTokens;
      this.addEstimate(r);
    }
    const latency = r.end - r.start;
    recordMs(this.h.latency, latency);
    if (r.firstByte !== undefined) recordMs(this.h.ttfb, r.firstByte - r.start);
    if (r.firstToken !== undefined) recordMs(this.h.ttft, r.firstToken - r.start);
    const figures = requestFigures(r, output);
    if (figures.tpot !== undefined) recordMs(this.h.tpot, figures.tpot);
    for (const g of r.gaps) recordMs(this.h.itl, g);
    // tokens/s are stored like milliseconds (×1000) so they keep three decimals in the histogram.
    if (latency > 0) recordMs(this.h.tps, output / (latency / 1000));
    this.goodput?.judge(figures);
    this.timeline.add(r.start, true, latency, figures.ttft);
  }

  /** Counts a request whose server reported no usage at its estimate: the prompt, and the text received at four characters a token. */
  private addEstimate(r: RequestRecord): void {
    this.estimatedRequests++;
    const estimate: Usage = { inputTokens: r.estimatedInputTokens, cachedInputTokens: 0, outputTokens: r.estimatedOutputTokens };
    this.inputTokens += estimate.inputTokens;
    this.outputTokens += estimate.outputTokens;
    this.costUsd += costOf(estimate, this.price);
  }

  /** Adds another accumulator of the same provider (from another process or machine). */
  merge(o: ProviderAccumulator): void {
    for (const n of HISTOGRAM_NAMES) this.h[n].add(o.h[n]);
    this.sent += o.sent;
    this.ok += o.ok;
    this.failed += o.failed;
    this.cancelled += o.cancelled;
    for (const [target, src] of [
      [this.errors, o.errors],
      [this.errorDetails, o.errorDetails],
      [this.statuses, o.statuses],
      [this.finishReasons, o.finishReasons],
    ] as const) {
      for (const [k, v] of Object.entries(src)) target[k] = (target[k] ?? 0) + v;
    }
    for (const [k, v] of Object.entries(o.examples)) this.examples[k] ??= v;
    this.inputTokens += o.inputTokens;
    this.cachedInputTokens += o.cachedInputTokens;
    this.cacheWriteInputTokens += o.cacheWriteInputTokens;
    this.outputTokens += o.outputTokens;
    this.reasoningTokens += o.reasoningTokens;
    this.reportedRequests += o.reportedRequests;
    this.estimatedRequests += o.estimatedRequests;
    this.estimateCheck.reported += o.estimateCheck.reported;
    this.estimateCheck.estimated += o.estimateCheck.estimated;
    this.costUsd += o.costUsd;
    if (this.goodput && o.goodput) this.goodput.merge(o.goodput);
    // Each run's n sends span n − 1 intervals of its own, and the rate, (sends − 1) / span, counts the
    // intervals: Σ(n − 1) of them, one send less than all per run added. Runs sent side by side then add
    // their rates over the longer span (runs one after another add their spans too: repeat.ts).
    this.sends += this.sends > 0 && o.sends > 0 ? o.sends - 1 : o.sends;
    this.sendSpanMs = Math.max(this.sendSpanMs, o.sendSpanMs);
  }
}

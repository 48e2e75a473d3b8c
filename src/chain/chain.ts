import { ProviderError } from '../providers/errors.js';
import { blamesProvider } from '../providers/errors.js';
import type { Breakers } from '../state/breaker.js';
import type { AnswerCache } from '../state/cache.js';
import type { LatencyHistory } from '../state/latency.js';
import { costOf } from '../cost/usage-cost.js';
import { now } from '../util/clock.js';
import { estimatePromptTokens, estimateTextTokens } from '../util/tokens.js';
import { roundMs as round } from '../util/time.js';
import { LiveAttempt, type Outcome } from './attempt.js';
import type { Attempt, ChainErrorClass, ChainEvent, ChainProvider, ChainRequest, ChainResult, Decision, LiveSink } from './events.js';
import type { Usage } from '../providers/types.js';
import { nextWake } from './hedge.js';
import { attemptClocks, failureKind, pickNext, retryDelay, type HedgeSetting, type Slot } from './policy.js';
import { fallbackTier } from './tiers.js';
import { unwatchAbort, watchAbort } from '../util/abort.js';

export type { Attempt, ChainEvent, ChainProvider, ChainRequest, ChainResult, Decision, LiveSink } from './events.js';

export interface ChainOptions {
  /** Retries of one provider for fast failures (so 1 + retries tries), taken when it is the last live option. */
  retries: number;
  /** Retry the provider that just failed before falling over (the pre-#10 policy; `retry_same_first: true` on a chain). */
  retrySameFirst?: boolean;
  /** Backoff for same-provider retries (defaults in policy.ts). */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** One deadline for the whole call. */
  deadlineMs: number;
  /** When to start the next provider beside one that has given no first token: from history (auto, the default), fixed, or never. */
  hedge?: HedgeSetting;
  /** content_filter: return the provider's refusal (stop), or try the next provider (fallover). */
  onContentFilter: 'stop' | 'fallover';
  /** First-token clock grows with the prompt: base + this many ms per prompt token. */
  firstTokenMsPerPromptToken: number;
  breakers?: Breakers;
  history?: LatencyHistory;
  /** The answer cache and this request's key in it; `key` is called (once) only when the cache is read or written. */
  cache?: { store: AnswerCache; key: () => string };
  staticMessage?: string;
  signal?: AbortSignal;
  random?: () => number;
  /** Live output (a TTY), fed from the event stream by `run`. */
  sink?: LiveSink;
  /**
   * Asked when the attempt whose tokens were being passed on fails mid-answer: 'fallover' (the default)
   * starts the next provider cleanly; 'stop' ends the call there (a gateway that has already sent part of
   * the answer cannot take it back, so another provider's request would be wasted).
   */
  afterMidStreamFailure?: () => 'fallover' | 'stop';
}

/** At most this many attempts run at once: the one that went silent and the one hedging it. */
const MAX_IN_FLIGHT = 2;

/**
 * Events a consumer may leave unread before the provider's stream is held back (ChatRequest.ready), and the
 * level it must read down to before reading resumes. A network read can add more at once (every token the
 * exchange queued, at most about 1 MiB of the provider's bytes): the bound is this plus one such read.
 */
const QUEUE_HIGH = 1024;
const QUEUE_LOW = QUEUE_HIGH / 2;

/** An async queue: the engine pushes events, `stream()`'s consumer pulls them. */
class Channel<T> {
  private items: T[] = [];
  /** Index of the next item to hand out: items before it are read (shifting each one off is O(n)). */
  private head = 0;
  private waiting: ((v: IteratorResult<T>) => void) | undefined;
  /** Resolves `behind()`'s promise: the consumer read down to QUEUE_LOW, or will read no more. */
  private caughtUp: (() => void) | undefined;
  private caughtUpP: Promise<void> | undefined;
  private closed = false;
  private abandoned = false;
  private error: unknown;
  /** `onAbandon`: the consumer stopped reading (a `break` out of `for await`, a throw) before the end. */
  constructor(private readonly onAbandon: () => void) {}
  /** Events pushed and not yet read. */
  get queued(): number {
    return this.items.length - this.head;
  }
  push(v: T): void {
    if (this.abandoned) return; // nobody will read it
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w({ value: v, done: false });
    } else this.items.push(v);
  }
  /** A promise while the consumer has more than QUEUE_HIGH events unread, resolved once it is down to QUEUE_LOW. */
  behind(): Promise<void> | undefined {
    if (this.caughtUpP) return this.caughtUpP;
    if (this.queued <= QUEUE_HIGH || this.abandoned || this.closed) return undefined;
    return (this.caughtUpP = new Promise((resolve) => (this.caughtUp = resolve)));
  }
  private release(): void {
    const r = this.caughtUp;
    this.caughtUp = undefined;
    this.caughtUpP = undefined;
    r?.();
  }
  /** Ends the stream; with an error, the consumer's next read throws it. */
  close(error?: unknown): void {
    this.closed = true;
    this.error = error;
    this.release();
    this.waiting?.({ value: undefined, done: true });
  }
  private take(): T {
    const v = this.items[this.head++];
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (this.caughtUp && this.queued <= QUEUE_LOW) this.release();
    return v;
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    try {
      for (;;) {
        if (this.queued) yield this.take();
        else if (this.closed) {
          if (this.error !== undefined) throw this.error;
          return;
        } else {
          const r = await new Promise<IteratorResult<T>>((resolve) => (this.waiting = resolve));
          if (r.done) {
            if (this.error !== undefined) throw this.error;
            return;
          }
          yield r.value;
        }
      }
    } finally {
      if (!this.closed) {
        this.abandoned = true;
        this.items = [];
        this.head = 0;
        this.release();
        this.onAbandon();
      }
    }
  }
}

const ignoreText = (_text: string) => {};

const isoOrNever = (epochMs: number) => (Number.isFinite(epochMs) && Math.abs(epochMs) < 8.64e15 ? new Date(epochMs).toISOString() : 'further notice');

/**
 * The fallback chain: live providers in order, then the cached answer for the same request, then the
 * static message. A fast failure (refused, reset, 503/529, 429) falls over at once to the next healthy
 * provider; a provider is retried (backoff or Retry-After) only when it is the last live option, or first
 * when the chain asks for it. A provider that gives no first token within its hedge delay gets the next
 * provider started beside it; the first to stream wins and the other is cancelled. The chain never returns
 * a cut, stalled or errored stream as an answer, and never splices a partial answer into another
 * provider's request.
 */
export class FallbackChain {
  constructor(
    private readonly providers: ChainProvider[],
    private readonly opts: ChainOptions,
  ) {}

  /**
   * Resolves when the last call's state writes (breaker, latency history, cache) are done. The answer
   * comes before them, so a contended lock delays nothing the caller sees; the process stays alive until
   * they finish.
   */
  settled: Promise<void> = Promise.resolve();

  /** The result: the fold of `stream`, feeding the live sink on the way. */
  async run(req: ChainRequest): Promise<ChainResult> {
    // Without a live sink nobody reads the token events: the answer carries the whole text.
    for await (const ev of this.events(req, this.opts.sink !== undefined)) {
      if (ev.type === 'attempt_start') this.opts.sink?.attemptStart?.(ev.provider, ev.model);
      else if (ev.type === 'token') this.opts.sink?.token(ev.text, ev.provider);
      else if (ev.type === 'restart') this.opts.sink?.restart(ev.failed, ev.error, ev.next);
      else if (ev.type === 'answer') return ev.result;
    }
    throw new Error('the chain ended without an answer');
  }

  /** Every step of the call as it happens, up to exactly one `answer` (state writes may still follow; see `settled`). */
  stream(req: ChainRequest): AsyncIterable<ChainEvent> {
    return this.events(req, true);
  }

  private events(req: ChainRequest, tokens: boolean): AsyncIterable<ChainEvent> {
    // A consumer that stops reading before the answer cancels the call, as the caller's own signal does:
    // its requests are closed on the wire, and no tokens are paid for (nor the process kept alive) for an
    // answer nobody will read. One that stops after the answer (run() does) leaves the state writes be.
    const stop = new AbortController();
    const outer = this.opts.signal;
    const onOuter = () => stop.abort();
    if (outer?.aborted) stop.abort();
    else if (outer) watchAbort(outer, onOuter);
    let answered = false;
    const ch = new Channel<ChainEvent>(() => answered || stop.abort());
    const emit = (e: ChainEvent) => {
      if (e.type === 'answer') answered = true;
      ch.push(e);
    };
    this.settled = this.drive(req, emit, tokens, stop.signal, () => ch.behind())
      .finally(() => outer && unwatchAbort(outer, onOuter))
      .then(
        () => ch.close(),
        (e: unknown) => ch.close(e),
      );
    return ch;
  }

  /** `behind`: a promise while the consumer of the events lags too far (the committed attempt's stream waits for it). */
  private async drive(req: ChainRequest, emit: (e: ChainEvent) => void, tokens: boolean, signal: AbortSignal, behind: () => Promise<void> | undefined): Promise<void> {
    const o = this.opts;
    const random = o.random ?? Math.random;
    const t0 = now();
    const deadline = t0 + o.deadlineMs;
    const epochDeadline = Date.now() + o.deadlineMs;
    // Time is left for another attempt: with the 1 ms grace the attempt clock gives a timer that fires a
    // little early, so an attempt cut by the deadline is never followed by one that has no time at all.
    const timeLeft = (t = now()) => t + 1 < deadline;
    await Promise.all([o.breakers?.load(epochDeadline), o.history?.load(epochDeadline)]);

    const attempts: Attempt[] = [];
    const promptTokens = estimatePromptTokens(req.messages);
    const need = promptTokens + (req.maxTokens ?? 0);
    const allowanceMs = promptTokens * o.firstTokenMsPerPromptToken;
    const slots: (Slot & { retries: number })[] = this.providers.map(() => ({ state: 'fresh', readyAt: 0, retries: 0 }));
    let failedCost = 0;
    let contextCeiling = Infinity; // a provider said the prompt does not fit this many tokens
    let lastError: ProviderError | null = null;
    let stopped = false;
    /** The caller stopped the chain after a shown answer broke off: no tier may stand in for it either. */
    let cutShown = false;
    let lastFailed: number | undefined;
    let running: LiveAttempt[] = [];
    let committed: LiveAttempt | undefined;
    // State writes run one after another, off the path of the answer: they start on the next turn of the
    // event loop, after the caller has taken the answer (as microtasks they would run before it, and a
    // cache write hashes the whole prompt). The call ends after they finish.
    let writes: Promise<unknown> | undefined;
    const later = (f: () => Promise<unknown>) => (writes = (writes ?? new Promise<void>((resolve) => setImmediate(resolve))).then(f));

    /**
     * What an attempt cost: its reported usage at the provider's price. An attempt whose server reported no
     * usage but sent text (an answer, or a stream cut, stalled or lost to a hedge after tokens came) is
     * estimated (the prompt and the text received at four characters a token) and flagged: the provider
     * billed it all the same, and $0 would be wrong. One that sent no text counts nothing, as in bench.
     */
    const estimatedUsage = (out: Outcome): Usage | undefined =>
      out.usage || out.outputChars === 0 ? undefined : { inputTokens: promptTokens, cachedInputTokens: 0, outputTokens: estimateTextTokens(out.outputChars) };
    const attemptCost = (p: ChainProvider, out: Outcome | null): { cost: number; estimated: boolean } => {
      if (!out || !p.price) return { cost: 0, estimated: false };
      if (out.usage) return { cost: costOf(out.usage, p.price), estimated: false };
      const estimate = estimatedUsage(out);
      return estimate ? { cost: costOf(estimate, p.price), estimated: true } : { cost: 0, estimated: false };
    };

    const record = (p: ChainProvider, a: LiveAttempt | null, out: Outcome | null, decision: Decision, extra: Partial<Attempt> = {}): Attempt => {
      const usage = out?.usage ?? null;
      const { cost, estimated } = attemptCost(p, out);
      const at: Attempt = {
        provider: p.name,
        model: p.model,
        start_ms: round((out?.start ?? now()) - t0),
        duration_ms: out ? round(out.end - out.start) : 0,
        ttft_ms: out?.firstToken != null ? round(out.firstToken - out.start) : null,
        status: out?.status ?? null,
        error_class: out?.error?.errorClass ?? null,
        error_detail: out?.error ? out.error.detail : null,
        error_message: out?.error?.message ?? null,
        decision,
        wait_ms: null,
        retry_after_ms: out?.error?.retryAfterMs ?? null,
        hedged: a?.hedged ?? false,
        clocks: a ? { first_token_ms: round(a.clocks.firstTokenMs), idle_ms: round(a.clocks.idleMs), hedge_ms: a.clocks.hedgeMs === undefined ? null : round(a.clocks.hedgeMs), basis: a.clocks.basis } : null,
        output_chars: out?.content.length ?? 0,
        usage,
        cost_usd: cost,
        cost_estimated: estimated,
        ...(p.server ? { server: p.server } : {}),
        ...(out?.responseId ? { response_id: out.responseId } : {}),
        ...(out?.servedModel ? { response_model: out.servedModel } : {}),
        ...(out?.sent ? { request: out.sent } : {}),
        ...extra,
      };
      if (decision !== 'success') failedCost += cost;
      attempts.push(at);
      emit({ type: 'attempt_end', attempt: at });
      return at;
    };

    /** Starts provider i if it may be asked (window, breaker); otherwise records the skip. */
    const launch = async (i: number, hedged: boolean): Promise<LiveAttempt | undefined> => {
      const p = this.providers[i];
      let probeAt: number | undefined;
      const skip = (decision: Decision, message: string) => {
        slots[i].state = 'done';
        record(p, null, null, decision, { error_message: message });
        return undefined;
      };
      if (p.contextWindow !== undefined && need > p.contextWindow) return skip('skipped_context_window', `prompt ~${promptTokens} tokens + max ${req.maxTokens ?? 0} exceeds the ${p.contextWindow}-token window`);
      if (p.contextWindow !== undefined && contextCeiling !== Infinity && p.contextWindow <= contextCeiling) return skip('skipped_context_window', `a provider with a ${contextCeiling}-token window already rejected this prompt as too long`);
      if (o.breakers) {
        const adm = o.breakers.admit(p.breakerKey, p.name);
        if (!adm.allowed) return skip('skipped_breaker_open', `${adm.reason} until ${isoOrNever(adm.openUntil)}`);
        if (adm.probe) {
          probeAt = Date.now();
          if (!(await o.breakers.claimProbe(p.breakerKey, p.name, probeAt))) return skip('skipped_breaker_open', 'circuit half-open, another process is probing it');
        }
      }
      const clocks = attemptClocks(p.timeouts, o.history?.get(p.breakerKey), o.hedge ?? { kind: 'auto' }, allowanceMs);
      const a = new LiveAttempt(i, p, clocks, hedged, req, deadline, signal);
      if (hedged) for (const r of running) r.hedged = true;
      if (probeAt !== undefined) probes.set(a, probeAt);
      slots[i].state = 'running';
      running.push(a);
      emit({ type: 'attempt_start', provider: p.name, model: p.model, hedged, t_ms: round(a.startedAt - t0) });
      return a;
    };

    /** Half-open probes this call claimed, by attempt, with the time each was claimed at. */
    const probes = new Map<LiveAttempt, number>();
    /** A probe that ended with no verdict on its provider is given back, so the next call can probe at once. */
    const releaseProbe = (a: LiveAttempt): void => {
      const at = probes.get(a);
      const b = o.breakers;
      if (at !== undefined && b?.releaseProbe) later(() => b.releaseProbe!(a.provider.breakerKey, a.provider.name, at));
    };

    /** An attempt that ended without being the answer: breaker, history, and what becomes of its provider. */
    const settleFailure = (a: LiveAttempt, out: Outcome): void => {
      const p = a.provider;
      const err = out.error!;
      lastError = err;
      if (blamesProvider(err)) later(() => o.breakers?.failure(p.breakerKey, p.name, err.errorClass, err.retryAfterMs) ?? Promise.resolve());
      else releaseProbe(a);
      if (err.errorClass === 'context_length') contextCeiling = Math.min(contextCeiling, p.contextWindow ?? Infinity);
      // A caller that has already shown this answer (a gateway past its stream commit) may not want another.
      const shownAndStopped = out.firstToken !== null && a === committed && o.afterMidStreamFailure?.() === 'stop';
      if (shownAndStopped) cutShown = true;
      const kind = shownAndStopped ? 'stop' : failureKind(err, out.firstToken !== null, o.onContentFilter);
      const slot = slots[a.index];
      slot.state = 'done';
      let wait: number | undefined;
      if (kind === 'again' && slot.retries < o.retries) {
        wait = retryDelay(slot.retries, err.retryAfterMs, deadline - now(), random, o.backoffBaseMs, o.backoffCapMs);
        if (wait !== undefined) {
          slot.state = 'waiting';
          slot.readyAt = now() + wait;
          slot.retries++;
        }
      }
      lastFailed = a.index;
      if (kind === 'stop') stopped = true;
      const next = stopped ? -1 : pickNext(slots, lastFailed, o.retrySameFirst ?? false);
      const retryNext = slot.state === 'waiting' && next === a.index;
      // The decision names what the chain did next: with no provider left to ask in time (and no other
      // attempt still running) this was the last try, whatever stands in for the answer after it.
      const follows = !stopped && (retryNext || running.length > 0 || (next >= 0 && timeLeft()));
      record(p, a, out, retryNext ? 'retry' : follows ? 'fallover' : 'stop', { wait_ms: retryNext ? round(wait!) : null });
      if (out.firstToken !== null && a === committed) {
        // `next` promises the caller another answer: none when the deadline has passed.
        const after = timeLeft() ? next : -1;
        emit({ type: 'restart', failed: p.name, error: err, next: after >= 0 ? this.providers[after].name : null });
      }
    };

    const finishLive = (a: LiveAttempt, out: Outcome): ChainResult => {
      const p = a.provider;
      const answerCost = record(p, a, out, 'success');
      later(() => o.breakers?.success(p.breakerKey, p.name) ?? Promise.resolve());
      // A stream the reader held back has the reader's waits among its gaps: the idle clock is not learnt from it.
      if (!a.heldBack) o.history?.add(p.breakerKey, p.name, { maxGapMs: out.maxGap });
      const truncated = out.finish === 'length';
      if (o.cache && !truncated) {
        const c = o.cache;
        later(() => c.store.put(c.key(), { content: out.content, provider: p.name, model: p.model, usage: out.usage }));
      }
      const estimate = estimatedUsage(out);
      return {
        source: 'live',
        content: out.content,
        provider: p.name,
        model: p.model,
        usage: out.usage,
        ...(estimate ? { estimated_usage: estimate } : {}),
        finish_reason: out.finish,
        truncated,
        cost_usd: answerCost.cost_usd,
        cost_estimated: answerCost.cost_estimated,
        failed_attempts_cost_usd: failedCost,
        latency_ms: round(now() - t0),
        ttft_ms: out.firstToken !== null ? round(out.firstToken - t0) : null,
        attempts,
        error: null,
      };
    };

    /** Cancels every attempt but `keep` and records each as lost to the other (their costs still count). */
    const cancelOthers = async (keep: LiveAttempt | undefined, decision: Decision): Promise<void> => {
      const others = running.filter((r) => r !== keep);
      for (const r of others) r.controller.abort();
      for (const r of others) {
        const out = await r.done;
        slots[r.index].state = 'done';
        record(r.provider, r, out, decision);
        releaseProbe(r);
      }
      running = keep ? [keep] : [];
    };

    let result: ChainResult | undefined;
    try {
      while (!stopped && !result) {
        if (signal.aborted) {
          stopped = true;
          lastError = new ProviderError({ errorClass: 'cancelled', provider: 'chain', message: 'cancelled' });
          break;
        }
        const t = now();
        // May another attempt start now? Yes when nothing runs, or when the one running is past its hedge delay.
        const solo = running.length === 1 && !committed ? running[0] : undefined;
        const hedgeDue = solo && !solo.gotToken && solo.clocks.hedgeMs !== undefined ? solo.startedAt + solo.clocks.hedgeMs : undefined;
        let wakeAt: number | undefined;
        if (!committed && timeLeft(t) && (running.length === 0 || (running.length < MAX_IN_FLIGHT && hedgeDue !== undefined))) {
          const i = pickNext(slots, lastFailed, o.retrySameFirst ?? false);
          if (i >= 0) {
            const at = Math.max(slots[i].readyAt, hedgeDue ?? 0);
            if (at <= t) {
              await launch(i, running.length > 0);
              continue;
            }
            wakeAt = at < deadline ? at : undefined;
          }
        }
        if (running.length === 0) {
          if (wakeAt === undefined) break; // nothing left to try in time
        }
        const w = await nextWake(running, wakeAt, signal);
        if (w.kind === 'timer' || w.kind === 'abort') continue;
        const a = w.attempt;
        if (w.kind === 'token') {
          // The first to stream wins: cancel the rest, show its tokens, learn its TTFT.
          committed = a;
          o.history?.add(a.provider.breakerKey, a.provider.name, { ttftMs: Math.max(0, a.firstTokenAt! - a.startedAt - allowanceMs) });
          await cancelOthers(a, 'hedge_lost');
          a.pipe(tokens ? (text) => emit({ type: 'token', provider: a.provider.name, text }) : ignoreText, tokens ? behind : undefined);
          continue;
        }
        const out = await a.done;
        running = running.filter((r) => r !== a);
        if (out.ok) {
          if (committed !== a) await cancelOthers(a, 'hedge_lost');
          result = finishLive(a, out);
          break;
        }
        settleFailure(a, out);
        if (a === committed) committed = undefined;
        if (stopped) await cancelOthers(undefined, 'stop');
      }
      if (!result) {
        await cancelOthers(undefined, 'stop'); // only a stopped chain leaves attempts running
        const error = lastError as ProviderError | null;
        result = await fallbackTier({
          attempts,
          failedCost,
          latencyMs: round(now() - t0),
          cache: o.cache,
          staticMessage: o.staticMessage,
          stopped: stopped && (cutShown || error?.errorClass === 'cancelled' || error?.errorClass === 'content_filter'),
          error: stopped && error ? { class: error.errorClass, message: error.message } : this.noAnswer(attempts, error, promptTokens, req, now() >= deadline),
        });
        emit({ type: 'tier', tier: result.source as 'cache' | 'static' | 'none' });
      }
    } finally {
      for (const r of running) r.controller.abort();
    }
    emit({ type: 'answer', result });
    await writes;
    await o.history?.flush();
  }

  /** Why nothing answered, in words the caller can act on. */
  private noAnswer(attempts: Attempt[], error: ProviderError | null, promptTokens: number, req: ChainRequest, pastDeadline: boolean): { class: ChainErrorClass; message: string } {
    const tried = attempts.some((a) => a.decision !== 'skipped_breaker_open' && a.decision !== 'skipped_context_window');
    let message: string;
    if (!tried && attempts.length > 0 && attempts.every((a) => a.decision === 'skipped_context_window')) {
      const widest = Math.max(...this.providers.map((p) => p.contextWindow ?? 0));
      message = `the prompt (~${promptTokens} tokens, plus ${req.maxTokens ?? 0} for the answer) does not fit any provider's context window in this chain (largest: ${widest}); shorten it or add a provider with a larger window`;
    } else if (!tried && attempts.length > 0) {
      message = 'every provider in the chain was skipped (circuit open or window too small); see the attempts, or run "llm-fallback breaker reset"';
    } else if (pastDeadline && !error) {
      message = `the deadline of ${this.opts.deadlineMs} ms passed`;
    } else {
      message = error ? error.message : 'no provider answered';
    }
    return { class: error?.errorClass ?? 'unavailable', message };
  }
}

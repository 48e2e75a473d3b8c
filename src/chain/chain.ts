import type { Price } from '../config/load.js';
import { ProviderError, countsAgainstProvider } from '../providers/errors.js';
import type { ChatMessage, FinishReason, ProviderAdapter, Usage } from '../providers/types.js';
import type { AnswerCache } from '../state/cache.js';
import type { BreakerStore } from '../state/breaker.js';
import { costOf } from '../cost/usage-cost.js';
import { now } from '../util/clock.js';
import { estimatePromptTokens } from '../util/tokens.js';
import { roundMs as round, sleep } from '../util/time.js';
import { backoffMs } from './backoff.js';

export interface ChainProvider {
  name: string;
  model: string;
  adapter: ProviderAdapter;
  price?: Price;
  contextWindow?: number;
  timeouts: { connect: number; firstToken: number; idle: number; total: number };
  breakerKey: string;
}

export type Decision =
  | 'success'
  | 'retry'
  | 'fallover'
  | 'stop'
  | 'skipped_breaker_open'
  | 'skipped_context_window'
  | 'hedge_lost'
  | 'hedge_failed';

export interface Attempt {
  provider: string;
  model: string;
  /** ms from the start of the call. */
  start_ms: number;
  duration_ms: number;
  ttft_ms: number | null;
  status: number | null;
  error_class: string | null;
  error_detail: string | null;
  error_message: string | null;
  decision: Decision;
  /** For retries: how long the chain waited before the next try, and why. */
  wait_ms: number | null;
  hedged: boolean;
  output_chars: number;
  usage: Usage | null;
  cost_usd: number;
}

export interface ChainResult {
  source: 'live' | 'cache' | 'static' | 'none';
  content: string;
  provider: string | null;
  model: string | null;
  usage: Usage | null;
  finish_reason: FinishReason | null;
  /** The answer stopped at the max-tokens limit: complete as far as it goes, but cut. */
  truncated: boolean;
  cost_usd: number;
  failed_attempts_cost_usd: number;
  latency_ms: number;
  ttft_ms: number | null;
  attempts: Attempt[];
  /** Why no answer came (source "none"), or why the chain stopped early. */
  error: { class: string; message: string } | null;
}

export interface ChainOptions {
  /** Retries of the same provider for retryable errors (so 1 + retries tries). */
  retries: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** One deadline for the whole call. */
  deadlineMs: number;
  /** Start the next provider when this one gave no first token within this delay. */
  hedgeMs?: number;
  /** content_filter: return the provider's refusal (stop), or try the next provider (fallover). */
  onContentFilter: 'stop' | 'fallover';
  /** First-token clock grows with the prompt: base + this many ms per prompt token. */
  firstTokenMsPerPromptToken: number;
  breakers?: BreakerStore;
  cache?: { store: AnswerCache; key: string };
  staticMessage?: string;
  signal?: AbortSignal;
  random?: () => number;
  /** Live output (a TTY): tokens as they come, and a marker when an answer is abandoned mid-way. */
  sink?: LiveSink;
}

export interface LiveSink {
  token(text: string, provider: string): void;
  restart(failed: string, error: ProviderError, next: string | null): void;
}

export interface ChainRequest {
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
}

interface Outcome {
  ok: boolean;
  content: string;
  usage: Usage | null;
  finish: FinishReason | null;
  error: ProviderError | null;
  status: number | null;
  start: number;
  end: number;
  firstToken: number | null;
}


/** One try against one provider; can be raced against another (hedging) and aborted. */
class LiveAttempt {
  readonly controller = new AbortController();
  readonly done: Promise<Outcome>;
  private tokenWaiters: (() => void)[] = [];
  gotToken = false;
  private listener: ((t: string) => void) | undefined;
  private buffered: string[] = [];
  private readonly onParentAbort = () => this.controller.abort();

  constructor(
    readonly provider: ChainProvider,
    req: ChainRequest,
    firstTokenMs: number,
    deadline: number,
    parent: AbortSignal | undefined,
  ) {
    if (parent) {
      if (parent.aborted) this.controller.abort();
      else parent.addEventListener('abort', this.onParentAbort, { once: true });
    }
    this.done = this.run(req, firstTokenMs, deadline).finally(() => parent?.removeEventListener('abort', this.onParentAbort));
  }

  /** Resolves at the first content token (never rejects; resolves on failure too). */
  firstToken(): Promise<void> {
    if (this.gotToken) return Promise.resolve();
    return new Promise((resolve) => this.tokenWaiters.push(resolve));
  }

  /** Sends tokens so far, and every later one, to `fn`. */
  pipe(fn: (t: string) => void): void {
    for (const t of this.buffered) fn(t);
    this.listener = fn;
  }

  private async run(req: ChainRequest, firstTokenMs: number, deadline: number): Promise<Outcome> {
    const p = this.provider;
    const o: Outcome = { ok: false, content: '', usage: null, finish: null, error: null, status: null, start: now(), end: 0, firstToken: null };
    const parts: string[] = [];
    try {
      for await (const ev of p.adapter.stream({
        messages: req.messages,
        maxTokens: req.maxTokens,
        temperature: req.temperature,
        stream: true,
        signal: this.controller.signal,
        deadline,
        timeouts: { connectMs: p.timeouts.connect, firstTokenMs, idleMs: p.timeouts.idle, totalMs: p.timeouts.total },
      })) {
        if (ev.type === 'response_headers') o.status = ev.status;
        else if (ev.type === 'content_delta') {
          if (o.firstToken === null) o.firstToken = ev.t;
          parts.push(ev.text);
          if (this.listener) this.listener(ev.text);
          else this.buffered.push(ev.text);
          if (!this.gotToken) {
            this.gotToken = true;
            for (const w of this.tokenWaiters.splice(0)) w();
          }
        } else if (ev.type === 'usage') o.usage = ev.usage;
        else if (ev.type === 'finish') {
          o.finish = ev.reason;
          o.ok = true;
        } else if (ev.type === 'error') o.error = ev.error;
      }
    } finally {
      o.end = now();
      o.content = parts.join('');
      for (const w of this.tokenWaiters.splice(0)) w();
    }
    return o;
  }
}

/**
 * The fallback chain: live providers in order (each retried per the policy below), then the cached answer
 * for the same request, then the static message. It is a layer over the adapters' event streams; it never
 * returns a cut, stalled or errored stream as an answer, and never splices a partial answer into another
 * provider's request.
 */
export class FallbackChain {
  constructor(
    private readonly providers: ChainProvider[],
    private readonly opts: ChainOptions,
  ) {}

  async run(req: ChainRequest): Promise<ChainResult> {
    const o = this.opts;
    const random = o.random ?? Math.random;
    const t0 = now();
    const deadline = t0 + o.deadlineMs;
    const attempts: Attempt[] = [];
    const promptTokens = estimatePromptTokens(req.messages);
    const need = promptTokens + (req.maxTokens ?? 0);
    const firstTokenFor = (p: ChainProvider) => p.timeouts.firstToken + promptTokens * o.firstTokenMsPerPromptToken;
    let failedCost = 0;
    let contextCeiling = Infinity; // a provider said the prompt does not fit this many tokens
    let lastError: ProviderError | null = null;
    let stopped: { class: string; message: string } | null = null;

    const record = (p: ChainProvider, out: Outcome | null, decision: Decision, extra: Partial<Attempt> = {}): Attempt => {
      const usage = out?.usage ?? null;
      const cost = usage ? costOf(usage, p.price) : 0;
      const a: Attempt = {
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
        hedged: false,
        output_chars: out?.content.length ?? 0,
        usage,
        cost_usd: cost,
        ...extra,
      };
      if (decision !== 'success') failedCost += cost;
      attempts.push(a);
      return a;
    };

    const eligible = (p: ChainProvider): { ok: boolean; skip?: () => void } => {
      if (p.contextWindow !== undefined && need > p.contextWindow) {
        return { ok: false, skip: () => record(p, null, 'skipped_context_window', { error_message: `prompt ~${promptTokens} tokens + max ${req.maxTokens ?? 0} exceeds the ${p.contextWindow}-token window` }) };
      }
      if (p.contextWindow !== undefined && p.contextWindow <= contextCeiling && contextCeiling !== Infinity) {
        return { ok: false, skip: () => record(p, null, 'skipped_context_window', { error_message: `a provider with a ${contextCeiling}-token window already rejected this prompt as too long` }) };
      }
      if (o.breakers) {
        const adm = o.breakers.admit(p.breakerKey, p.name);
        if (!adm.allowed) {
          return { ok: false, skip: () => record(p, null, 'skipped_breaker_open', { error_message: `${adm.reason} until ${new Date(adm.openUntil).toISOString()}` }) };
        }
      }
      return { ok: true };
    };

    const success = (p: ChainProvider, out: Outcome, hedged: boolean): ChainResult => {
      record(p, out, 'success', { hedged });
      o.breakers?.success(p.breakerKey, p.name);
      const truncated = out.finish === 'length';
      if (o.cache && !truncated) o.cache.store.put(o.cache.key, { content: out.content, provider: p.name, model: p.model, usage: out.usage });
      return {
        source: 'live',
        content: out.content,
        provider: p.name,
        model: p.model,
        usage: out.usage,
        finish_reason: out.finish,
        truncated,
        cost_usd: out.usage ? costOf(out.usage, p.price) : 0,
        failed_attempts_cost_usd: failedCost,
        latency_ms: round(now() - t0),
        ttft_ms: out.firstToken !== null ? round(out.firstToken - t0) : null,
        attempts,
        error: null,
      };
    };

    /** Failure bookkeeping shared by every path: breaker, decision. Returns what the chain does next. */
    const judge = (p: ChainProvider, out: Outcome, triesLeft: number): { next: 'retry' | 'fallover' | 'stop'; wait: number } => {
      const err = out.error!;
      lastError = err;
      if (countsAgainstProvider(err.errorClass)) o.breakers?.failure(p.breakerKey, p.name, err.errorClass, err.retryAfterMs);
      switch (err.errorClass) {
        case 'cancelled':
          return { next: 'stop', wait: 0 };
        case 'content_filter':
          return { next: o.onContentFilter === 'stop' ? 'stop' : 'fallover', wait: 0 };
        case 'context_length':
          // Never resend the same request to the same model; skip windows no larger than this one.
          contextCeiling = Math.min(contextCeiling, p.contextWindow ?? Infinity);
          return { next: 'fallover', wait: 0 };
      }
      // A stream that failed after output started goes to the next provider rather than again to this one.
      if (!err.isRetryable || triesLeft <= 0 || out.content.length > 0) return { next: 'fallover', wait: 0 };
      // A provider that stayed silent until its first-token (or total) clock ran out is not asked again:
      // a silent provider costs one first-token timeout. Connect timeouts and resets are retried.
      if (err.errorClass === 'timeout' && err.timeoutPhase !== 'connect') return { next: 'fallover', wait: 0 };
      const wait = backoffMs(o.retries - triesLeft, err.retryAfterMs, o.backoffBaseMs, o.backoffCapMs, random);
      if (now() + wait >= deadline) return { next: 'fallover', wait: 0 };
      return { next: 'retry', wait };
    };

    providers: for (let i = 0; i < this.providers.length; i++) {
      const p = this.providers[i];
      if (now() >= deadline) break;
      const el = eligible(p);
      if (!el.ok) {
        el.skip!();
        continue;
      }
      for (let triesLeft = o.retries; ; triesLeft--) {
        let attempt = new LiveAttempt(p, req, firstTokenFor(p), deadline, o.signal);
        let hedged = false;
        // Hedging: no first token within the delay → start the next eligible provider alongside.
        if (o.hedgeMs !== undefined && triesLeft === o.retries) {
          const raced = await Promise.race([attempt.firstToken().then(() => 'token' as const), sleep(o.hedgeMs).then(() => 'late' as const)]);
          const q = this.providers[i + 1];
          if (raced === 'late' && !attempt.gotToken && q && eligible(q).ok) {
            const other = new LiveAttempt(q, req, firstTokenFor(q), deadline, o.signal);
            await Promise.race([attempt.firstToken(), other.firstToken()]);
            const [winner, loser] = other.gotToken && !attempt.gotToken ? [other, attempt] : [attempt, other];
            if (winner.gotToken) {
              loser.controller.abort();
              record(loser.provider, await loser.done, 'hedge_lost', { hedged: true });
              attempt = winner;
              hedged = true;
              if (winner === other) i++; // the chain continues from the provider that won
            } else {
              // both failed before any token: judge each, then continue after the second
              const [a, b] = [await attempt.done, await other.done];
              for (const [prov, out] of [[p, a], [q, b]] as const) {
                if (out.ok) return success(prov, out, true);
                judge(prov, out, 0);
                record(prov, out, 'hedge_failed', { hedged: true });
                if (out.error!.errorClass === 'cancelled' || (out.error!.errorClass === 'content_filter' && o.onContentFilter === 'stop')) {
                  stopped = { class: out.error!.errorClass, message: out.error!.message };
                  break providers;
                }
              }
              i++;
              continue providers;
            }
          }
        }
        const current = attempt.provider;
        if (o.sink) {
          const sink = o.sink;
          attempt.pipe((t) => sink.token(t, current.name));
        }
        const out = await attempt.done;
        if (out.ok && out.finish !== 'content_filter') return success(current, out, hedged);
        if (out.ok) {
          // A finish_reason of content_filter is a refusal, not an answer.
          out.ok = false;
          out.error = new ProviderError({ errorClass: 'content_filter', provider: current.name, status: out.status ?? undefined, message: `${current.name}: the answer was stopped by the provider's content filter` });
        }
        const verdict = judge(current, out, triesLeft);
        const a = record(current, out, verdict.next, { hedged, wait_ms: verdict.next === 'retry' ? verdict.wait : null });
        if (o.sink && out.content.length > 0) {
          const next = verdict.next === 'retry' ? current.name : verdict.next === 'stop' ? null : (this.providers[i + 1]?.name ?? null);
          o.sink.restart(current.name, out.error!, next);
        }
        if (verdict.next === 'stop') {
          stopped = { class: a.error_class!, message: a.error_message ?? '' };
          break providers;
        }
        if (verdict.next === 'fallover') continue providers;
        await sleep(verdict.wait, o.signal);
        if (o.signal?.aborted) {
          stopped = { class: 'cancelled', message: 'cancelled' };
          break providers;
        }
      }
    }

    const base = { usage: null, finish_reason: null, truncated: false, cost_usd: 0, failed_attempts_cost_usd: failedCost, ttft_ms: null, attempts } as const;
    if (stopped && (stopped.class === 'cancelled' || stopped.class === 'content_filter')) {
      return { ...base, source: 'none', content: '', provider: null, model: null, latency_ms: round(now() - t0), error: stopped };
    }
    if (o.cache) {
      const hit = o.cache.store.get(o.cache.key);
      if (hit) return { ...base, source: 'cache', content: hit.content, provider: hit.provider, model: hit.model, usage: hit.usage, latency_ms: round(now() - t0), error: null };
    }
    if (o.staticMessage) return { ...base, source: 'static', content: o.staticMessage, provider: null, model: null, latency_ms: round(now() - t0), error: null };
    const tried = attempts.some((a) => a.decision !== 'skipped_breaker_open' && a.decision !== 'skipped_context_window');
    const error = lastError as ProviderError | null;
    let message: string;
    if (!tried && attempts.length > 0 && attempts.every((a) => a.decision === 'skipped_context_window')) {
      const widest = Math.max(...this.providers.map((p) => p.contextWindow ?? 0));
      message = `the prompt (~${promptTokens} tokens, plus ${req.maxTokens ?? 0} for the answer) does not fit any provider's context window in this chain (largest: ${widest}); shorten it or add a provider with a larger window`;
    } else if (!tried && attempts.length > 0) {
      message = 'every provider in the chain was skipped (circuit open or window too small); see the attempts, or run "llm-fallback breaker reset"';
    } else if (now() >= deadline && !error) {
      message = `the deadline of ${o.deadlineMs} ms passed`;
    } else {
      message = error ? error.message : 'no provider answered';
    }
    return { ...base, source: 'none', content: '', provider: null, model: null, latency_ms: round(now() - t0), error: { class: error?.errorClass ?? 'unavailable', message } };
  }
}

import type { ChainRequest, ChainProvider } from './events.js';
import { ProviderError } from '../providers/errors.js';
import type { FinishReason, Usage } from '../providers/types.js';
import { now } from '../util/clock.js';
import type { AttemptClocks } from './policy.js';

/** One attempt, folded: what the chain and its result need to know. */
export interface Outcome {
  ok: boolean;
  content: string;
  usage: Usage | null;
  finish: FinishReason | null;
  error: ProviderError | null;
  status: number | null;
  start: number;
  end: number;
  /** The first content or reasoning token: the instant the clocks and the hedge go by (a thinking model is alive). */
  firstToken: number | null;
  /** The longest silence between tokens once they flowed (ms). */
  maxGap: number;
}

/**
 * One try against one provider; it can run beside another (hedging) and be aborted. It folds the
 * adapter's events as they come and tells the chain when its first token arrives; content tokens are
 * buffered until the chain commits to this attempt, then passed on as they come.
 */
export class LiveAttempt {
  readonly controller = new AbortController();
  readonly done: Promise<Outcome>;
  readonly startedAt = now();
  /** Resolves at the first content or reasoning token, or when the attempt ends without one. */
  readonly firstToken: Promise<void>;
  gotToken = false;
  /** Monotonic time of the first content or reasoning token. */
  firstTokenAt: number | null = null;
  private tokenSeen!: () => void;
  private listener: ((t: string) => void) | undefined;
  private buffered: string[] = [];
  private readonly onParentAbort = () => this.controller.abort();

  constructor(
    readonly index: number,
    readonly provider: ChainProvider,
    readonly clocks: AttemptClocks,
    /** Ran beside another attempt (set on both when the hedge starts the second). */
    public hedged: boolean,
    req: ChainRequest,
    deadline: number,
    parent: AbortSignal | undefined,
  ) {
    this.firstToken = new Promise((resolve) => (this.tokenSeen = resolve));
    if (parent) {
      if (parent.aborted) this.controller.abort();
      else parent.addEventListener('abort', this.onParentAbort, { once: true });
    }
    this.done = this.run(req, deadline).finally(() => parent?.removeEventListener('abort', this.onParentAbort));
  }

  /** Sends content so far, and every later piece, to `fn` (the chain committed to this attempt). */
  pipe(fn: (t: string) => void): void {
    for (const t of this.buffered) fn(t);
    this.buffered = [];
    this.listener = fn;
  }

  private async run(req: ChainRequest, deadline: number): Promise<Outcome> {
    const p = this.provider;
    const o: Outcome = { ok: false, content: '', usage: null, finish: null, error: null, status: null, start: this.startedAt, end: 0, firstToken: null, maxGap: 0 };
    const parts: string[] = [];
    let last = 0;
    try {
      for await (const ev of p.adapter.stream({
        messages: req.messages,
        maxTokens: req.maxTokens,
        temperature: req.temperature,
        stream: true,
        signal: this.controller.signal,
        deadline,
        timeouts: { connectMs: p.timeouts.connect, firstTokenMs: this.clocks.firstTokenMs, idleMs: this.clocks.idleMs, totalMs: p.timeouts.total },
      })) {
        if (ev.type === 'response_headers') o.status = ev.status;
        else if (ev.type === 'content_delta' || ev.type === 'reasoning_delta') {
          if (o.firstToken === null) {
            o.firstToken = ev.t;
            this.firstTokenAt = ev.t;
            this.gotToken = true;
            this.tokenSeen();
          } else o.maxGap = Math.max(o.maxGap, ev.t - last);
          last = ev.t;
          if (ev.type === 'content_delta') {
            parts.push(ev.text);
            if (this.listener) this.listener(ev.text);
            else this.buffered.push(ev.text);
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
      this.tokenSeen();
    }
    if (o.ok && o.finish === 'content_filter') {
      // A finish_reason of content_filter is a refusal, not an answer.
      o.ok = false;
      o.error = new ProviderError({ errorClass: 'content_filter', provider: p.name, status: o.status ?? undefined, message: `${p.name}: the answer was stopped by the provider's content filter` });
    }
    return o;
  }
}

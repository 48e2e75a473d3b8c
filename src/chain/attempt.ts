import { StreamRedactor } from '../util/redact.js';
import type { ChainRequest, ChainProvider } from './events.js';
import { ProviderError } from '../providers/errors.js';
import { foldStream, StreamFold } from '../providers/fold.js';
import type { FinishReason, SentSettings, Usage } from '../providers/types.js';
import { now } from '../util/clock.js';
import type { AttemptClocks } from './policy.js';

/** One attempt, folded: what the chain and its result need to know. */
export interface Outcome {
  ok: boolean;
  content: string;
  /** Characters of content and reasoning received (the basis of an estimate when the server reports no usage). */
  outputChars: number;
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
  /** The provider's response id and served model, from its finish event. */
  responseId?: string;
  servedModel?: string;
  /** The settings the request to this provider carried, when one went out. */
  sent?: SentSettings;
}

/**
 * One try against one provider; it can run beside another (hedging) and be aborted. It reads the
 * adapter's events through the shared StreamFold (first token = content or reasoning, as bench and
 * health count it) and tells the chain when its first token arrives; content tokens are buffered until
 * the chain commits to this attempt, then passed on as they come.
 */
export class LiveAttempt {
  readonly controller = new AbortController();
  readonly done: Promise<Outcome>;
  readonly startedAt = now();
  /** Resolves at the first content or reasoning token, or when the attempt ends without one. */
  readonly firstToken: Promise<void>;
  private tokenSeen!: () => void;
  private listener: ((t: string) => void) | undefined;
  /** Set with the listener: a promise while whoever reads the passed-on text is too far behind (ChatRequest.ready). */
  private behind: (() => Promise<void> | undefined) | undefined;
  private buffered: string[] = [];
  /**
   * The reader held this attempt's stream back at least once: its longest gap between tokens may then be the
   * reader's wait, and says nothing of the provider (the chain learns no idle clock from it).
   */
  heldBack = false;
  /** The adapter redacts each piece; a key a server echoed split across two pieces is caught here. */
  private readonly redactor = new StreamRedactor();
  private readonly fold = new StreamFold({
    keepContent: true,
    onFirstToken: () => this.tokenSeen(),
    onContent: (text) => this.pass(this.redactor.push(text)),
  });
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

  get gotToken(): boolean {
    return this.fold.firstTokenAt !== undefined;
  }

  /** Monotonic time of the first content or reasoning token. */
  get firstTokenAt(): number | null {
    return this.fold.firstTokenAt ?? null;
  }

  private pass(text: string): void {
    if (!text) return;
    if (this.listener) this.listener(text);
    else this.buffered.push(text);
  }

  /**
   * Sends content so far, and every later piece, to `fn` (the chain committed to this attempt); `behind`, when
   * given, holds the provider's stream back while it returns a promise (the reader of `fn`'s output lags).
   */
  pipe(fn: (t: string) => void, behind?: () => Promise<void> | undefined): void {
    for (const t of this.buffered) fn(t);
    this.buffered = [];
    this.listener = fn;
    this.behind = behind;
  }

  private async run(req: ChainRequest, deadline: number): Promise<Outcome> {
    const p = this.provider;
    const fold = this.fold;
    try {
      await foldStream(
        p.adapter,
        {
          messages: req.messages,
          maxTokens: req.maxTokens,
          temperature: req.temperature,
          reasoning: req.reasoning,
          sampling: req.sampling,
          stream: true,
          signal: this.controller.signal,
          deadline,
          ready: () => {
            const wait = this.behind?.();
            if (wait) this.heldBack = true;
            return wait;
          },
          timeouts: { connectMs: p.timeouts.connect, firstTokenMs: this.clocks.firstTokenMs, idleMs: this.clocks.idleMs, totalMs: p.timeouts.total },
        },
        fold,
      );
    } finally {
      this.tokenSeen();
    }
    // A complete answer's last word is released; a broken one's held end is dropped with the answer
    // (it could be half a key, which no later piece will complete).
    if (fold.ok) this.pass(this.redactor.end());
    const o: Outcome = {
      ok: fold.ok,
      content: fold.content,
      outputChars: fold.contentChars + fold.reasoningChars,
      usage: fold.usage ?? null,
      finish: fold.finish ?? null,
      error: fold.error ?? null,
      status: fold.status ?? null,
      start: this.startedAt,
      end: fold.endAt ?? now(),
      firstToken: fold.firstTokenAt ?? null,
      maxGap: fold.maxGap,
      responseId: fold.responseId,
      servedModel: fold.servedModel,
      sent: fold.sent,
    };
    if (o.ok && o.finish === 'content_filter') {
      // A finish_reason of content_filter is a refusal, not an answer.
      o.ok = false;
      o.error = new ProviderError({ errorClass: 'content_filter', provider: p.name, status: o.status ?? undefined, message: `${p.name}: the answer was stopped by the provider's content filter` });
    }
    return o;
  }
}

import { ioNow, now } from '../util/clock.js';
import { inSlice } from '../util/loop-slices.js';
import type { ProviderEvent } from './types.js';
import type { Agent } from './h1/agent.js';
import type { RawHeaders } from './h1/response-parser.js';
import { BodyDecoder, ContentCodingError, contentCoding, undecodable, type DecodedSink } from './content-coding.js';

/** Why a body longer than its reader keeps is not read further (the connection is closed, never reused). */
const BODY_NOT_READ = 'body longer than kept: not read further';

/** Chunks queued beyond this are held back by pausing the socket until the reader catches up. */
const HIGH_WATER_BYTES = 1024 * 1024;

/**
 * One HTTP request/response on the HTTP client's dispatcher (h1/agent.ts), as a queue of time-stamped
 * body chunks: no Readable body, no async iterator and no AbortController per request (those were most
 * of the client's CPU per request in `npm run perf`). Each chunk keeps the time it came off the socket,
 * so timings do not depend on when the reader gets to it.
 *
 * It is a handler of the kind undici also takes (onConnect/onHeaders/onData/onComplete/onError). The raw
 * headers are kept, and parsed only when someone reads `headers` (an error's Retry-After, the chain's
 * rate-limit figures); the content type is picked out as they arrive.
 */
export class Exchange {
  status = 0;
  /** The response's content-type ('' when none). */
  contentType = '';
  /** Body chunks not yet taken, with their arrival times. */
  private chunks: Buffer[] = [];
  private times: number[] = [];
  private queuedBytes = 0;
  private abortRequest: ((reason: Error) => void) | undefined;
  private resumeSocket: (() => void) | undefined;
  private paused = false;
  private pendingAbort: Error | undefined;
  /** Set by abort(): the exchange was ended by this side (a clock, the caller), not by the connection. */
  private aborted = false;
  private wake: (() => void) | undefined;
  /** Resolves `stopped()`: the exchange ended in an error (an abort, a clock, the connection). */
  private onStop: (() => void) | undefined;
  private rawHeaders: RawHeaders | undefined;
  private parsedHeaders: Record<string, string> | undefined;
  headersArrived = false;
  /** When the response headers came off the socket. */
  headersAt = 0;
  /** When the client began writing the request to its connection; undefined until then. */
  sentAt: number | undefined = undefined;
  ended = false;
  /** When the end of the response came off the socket (0 until then). */
  endedAt = 0;
  error: Error | undefined;
  /** The response's content coding, lower case ('' for none or identity). */
  coding = '';
  /** Decodes a compressed body (undefined for an identity body: that path is untouched). */
  private decoder: BodyDecoder | undefined;
  /** An error answer in a coding not decoded here: its body is not shown, this says why. */
  private undecodedBody: ContentCodingError | undefined;
  private readonly maxDecodedBytes: number;

  /** `maxDecodedBytes`: a compressed body is stopped once it decodes to more (the caller's own body cap, max_response_bytes). */
  constructor(agent: Agent, opts: { origin: string; path: string; method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; maxDecodedBytes: number }) {
    this.maxDecodedBytes = opts.maxDecodedBytes;
    agent.dispatch({ origin: opts.origin, path: opts.path, method: opts.method, headers: opts.headers, body: opts.body }, this);
  }

  /** The response headers, names in lower case, repeated ones joined with ", " (parsed on first use). */
  get headers(): Record<string, string> {
    if (this.parsedHeaders === undefined) {
      const out: Record<string, string> = {};
      const raw = this.rawHeaders;
      for (let i = 0; raw && i < raw.count; i++) {
        const k = raw.name(i).toLowerCase();
        const v = raw.value(i);
        out[k] = out[k] === undefined ? v : `${out[k]}, ${v}`;
      }
      this.parsedHeaders = out;
    }
    return this.parsedHeaders;
  }

  /** The response_headers event of this exchange; its `headers` are parsed only if a consumer reads them. */
  headersEvent(): ProviderEvent {
    return new HeadersEvent(this);
  }

  /** Ends the exchange with `reason` (a clock fired, the caller gave up); the reader sees it as `error`. */
  abort(reason: Error): void {
    if (this.ended || this.error) return;
    this.aborted = true;
    this.decoder?.destroy();
    if (this.abortRequest) this.abortRequest(reason);
    else this.pendingAbort = reason;
    // The client reports the abort through onError; until it does, the reader must not wait forever.
    this.error ??= reason;
    this.notify();
    this.stopNow();
  }

  onConnect(abort: (reason?: Error) => void): void {
    // The client calls this right before it writes the request to the socket (on loopback the write delivers
    // it at once, so a stamp taken after the write can fall after the server already took it up).
    this.sentAt = now();
    this.abortRequest = abort;
    if (this.pendingAbort) abort(this.pendingAbort);
  }

  onBodySent(): void {}

  onResponseStarted(): void {}

  /**
   * When the bytes being handled came off the network (see ioNow): the start of this run of socket reads,
   * unless that run began before this request was sent (a fast answer read in the same run as its request
   * was written), where the batch time says nothing about it and the time now is used.
   */
  private arrivedAt(): number {
    const t = ioNow();
    return this.sentAt !== undefined && t >= this.sentAt ? t : now();
  }

  onHeaders(statusCode: number, rawHeaders: RawHeaders, resume: () => void): boolean {
    this.headersAt = this.arrivedAt();
    this.status = statusCode;
    this.rawHeaders = rawHeaders;
    this.resumeSocket = resume;
    let coding = '';
    for (let i = 0; i < rawHeaders.count; i++) {
      // 'content-type', any case, without decoding every name.
      if (rawHeaders.nameIs(i, 'content-type')) this.contentType = this.contentType ? `${this.contentType}, ${rawHeaders.value(i)}` : rawHeaders.value(i);
      else if (rawHeaders.nameIs(i, 'content-encoding')) coding = coding ? `${coding}, ${rawHeaders.value(i)}` : rawHeaders.value(i);
    }
    if (coding) this.decodeAs(contentCoding(coding));
    this.headersArrived = true;
    this.notify();
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.decoder !== undefined) {
      this.decoder.write(chunk, this.arrivedAt());
      return !this.paused;
    }
    if (this.error !== undefined) return true; // a body refused at its headers (its coding), until the abort lands
    this.queue(chunk, this.arrivedAt());
    return !this.paused;
  }

  private queue(chunk: Buffer, t: number): void {
    this.chunks.push(chunk);
    this.times.push(t);
    this.queuedBytes += chunk.length;
    this.notify();
    if (this.queuedBytes > HIGH_WATER_BYTES && !this.paused) {
      this.paused = true;
      // A compressed body is held back at its decoder too: one coded chunk may decode to megabytes.
      this.decoder?.pause();
    }
  }

  onComplete(): void {
    this.endedAt = this.arrivedAt();
    // A compressed body ends when its decoder has handed on the last bytes (sink.end below).
    if (this.decoder !== undefined) return this.decoder.end();
    this.ended = true;
    this.notify();
  }

  /**
   * Sets up decoding for a response in `coding`. One not decoded here fails a successful answer at once (its
   * body is of no use); an error answer keeps its status, and its body is replaced by a note (errorText).
   */
  private decodeAs(coding: string): void {
    if (coding === '') return;
    this.coding = coding;
    const refused = undecodable(coding);
    if (refused === undefined) {
      this.decoder = new BodyDecoder(coding, this.maxDecodedBytes, this.decodedSink);
    } else if (this.status >= 300) {
      this.undecodedBody = refused;
    } else {
      this.error = refused;
      this.aborted = true;
      // Not from inside the parser's callback: the connection is ended once it has returned.
      queueMicrotask(() => this.abortRequest?.(refused));
    }
  }

  private readonly decodedSink: DecodedSink = {
    data: (chunk, t) => this.queue(chunk, t),
    end: () => {
      this.ended = true;
      this.notify();
    },
    error: (e) => {
      this.error ??= e;
      // A body still arriving is not read further (the connection is closed: it is mid-response).
      this.abortRequest?.(e);
      this.notify();
      this.stopNow();
    },
  };

  onError(error: Error): void {
    this.decoder?.destroy();
    this.error = error;
    this.notify();
    this.stopNow();
  }

  private stopNow(): void {
    const s = this.onStop;
    this.onStop = undefined;
    s?.();
  }

  /** Resolves when the exchange has failed or been aborted (a reader holding off for its own consumer still hears of it). */
  stopped(): Promise<void> {
    if (this.error) return Promise.resolve();
    return new Promise((resolve) => (this.onStop = resolve));
  }

  /**
   * Wakes the reader. What the network brought is handed on after the poll phase, in slices of processing
   * time (loop-slices.ts): the reads of a burst are all stamped before any is decoded, and a long run of
   * decoding never keeps the next reads waiting for more than a slice.
   */
  private notify(): void {
    const w = this.wake;
    if (w) {
      this.wake = undefined;
      inSlice(w);
    }
  }

  /** Resolves when there is something new: headers, a chunk, the end, or an error. */
  wait(): Promise<void> {
    if (this.chunks.length || this.ended || this.error) return Promise.resolve();
    return new Promise((resolve) => (this.wake = resolve));
  }

  /** Takes every queued chunk with its arrival time (oldest first). */
  take(): { chunks: Buffer[]; times: number[] } {
    const out = { chunks: this.chunks, times: this.times };
    this.chunks = [];
    this.times = [];
    this.queuedBytes = 0;
    if (this.paused) {
      this.paused = false;
      this.decoder?.resume();
      this.resumeSocket?.();
    }
    return out;
  }

  /** Waits for the response headers (or the error that came instead). */
  async headersReady(): Promise<void> {
    while (!this.headersArrived && !this.error) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    if (!this.headersArrived && this.error) throw this.error;
  }

  /**
   * The body of an answer whose status already says what happened (an HTTP error, a document where a stream
   * was expected), at most `max` bytes: the body only adds detail. A connection that breaks off after the
   * status (a proxy answering 407 then resetting a connection whose request it did not read, a server closing
   * on a request it refused) yields what came; an abort from this side (a clock, the caller) still throws.
   */
  errorText(max: number): Promise<string> {
    return this.text(max, true);
  }

  /**
   * Reads the rest of the body as text, keeping at most `max` bytes. A body longer than that is not read to
   * its end: the connection is closed once `max` bytes are kept, so a server that sends an endless error
   * page (or model list) costs those bytes, not the time left on the clock. The caller tells a body that
   * was cut from one that fit by asking for one byte more than it accepts (listModels does).
   */
  async text(max: number, keepPartial = false): Promise<string> {
    if (this.undecodedBody !== undefined) {
      if (!keepPartial) throw this.undecodedBody;
      // The status says what happened; the body is drained so the connection can be reused, up to `max`.
      let drained = 0;
      while (!this.ended && !this.error && drained <= max) {
        for (const c of this.take().chunks) drained += c.length;
        if (drained <= max) await this.wait();
      }
      this.take();
      if (!this.ended && !this.error) this.abort(new Error(BODY_NOT_READ));
      return `(body not shown: content-encoding ${this.coding}, which llm-fallback cannot decode)`;
    }
    const parts: Buffer[] = [];
    let n = 0;
    for (;;) {
      const { chunks } = this.take();
      for (const c of chunks) {
        if (n < max) parts.push(c.subarray(0, max - n));
        n += c.length;
      }
      if (n > max && !this.ended && !this.error) {
        this.abort(new Error(BODY_NOT_READ));
        break;
      }
      if (this.error) {
        if (keepPartial && !this.aborted) break;
        // A compressed body stopped at the decoded-size cap is longer than anything kept: the caller's size check says so.
        if (this.error instanceof ContentCodingError && this.error.kind === 'too_large' && n > max) break;
        throw this.error;
      }
      if (this.ended && this.chunks.length === 0) break;
      await this.wait();
    }
    return Buffer.concat(parts).toString('utf8');
  }
}

/** A response_headers event whose header object is built only when read. */
class HeadersEvent {
  readonly type = 'response_headers' as const;
  readonly t: number;
  readonly status: number;
  constructor(private readonly ex: Exchange) {
    this.t = ex.headersAt;
    this.status = ex.status;
  }
  get headers(): Record<string, string> {
    return this.ex.headers;
  }
}

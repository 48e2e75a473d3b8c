import type { Dispatcher } from 'undici';
import { now } from '../util/clock.js';
import type { Agent } from './undici-lite.js';

/** Chunks queued beyond this are held back by pausing the socket until the reader catches up. */
const HIGH_WATER_BYTES = 1024 * 1024;

/**
 * One HTTP request/response on undici's dispatcher, as a queue of time-stamped body chunks. It replaces
 * undici's request() for the hot path: no Readable body, no async iterator and no AbortController per
 * request (those were most of the client's CPU per request in `npm run perf`). Each chunk keeps the
 * time it came off the socket, so timings do not depend on when the reader gets to it.
 */
export class Exchange implements Dispatcher.DispatchHandler {
  status = 0;
  headers: Record<string, string> = {};
  /** Body chunks not yet taken, with their arrival times. */
  private chunks: Buffer[] = [];
  private times: number[] = [];
  private queuedBytes = 0;
  private controller: Dispatcher.DispatchController | undefined;
  private pendingAbort: Error | undefined;
  private wake: (() => void) | undefined;
  headersArrived = false;
  /** When the response headers came off the socket. */
  headersAt = 0;
  /**
   * When undici wrote the request to its connection (undici calls onRequestStart right before its socket
   * write, within dispatch when a connection is free); undefined until then.
   */
  sentAt: number | undefined = undefined;
  ended = false;
  error: Error | undefined;

  constructor(agent: Agent, opts: { origin: string; path: string; method: 'GET' | 'POST'; headers: Record<string, string>; body?: string }) {
    agent.dispatch({ origin: opts.origin, path: opts.path, method: opts.method, headers: opts.headers, body: opts.body }, this);
  }

  /** Ends the exchange with `reason` (a clock fired, the caller gave up); the reader sees it as `error`. */
  abort(reason: Error): void {
    if (this.ended || this.error) return;
    if (this.controller) this.controller.abort(reason);
    else this.pendingAbort = reason;
    // undici reports the abort through onResponseError; until it does, the reader must not wait forever.
    this.error ??= reason;
    this.notify();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.sentAt = now();
    this.controller = controller;
    if (this.pendingAbort) controller.abort(this.pendingAbort);
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.status = statusCode;
    for (const k in headers) {
      const v = headers[k];
      if (v !== undefined) this.headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    }
    this.headersArrived = true;
    this.headersAt = now();
    this.notify();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
    this.times.push(now());
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > HIGH_WATER_BYTES) controller.pause();
    this.notify();
  }

  onResponseEnd(): void {
    this.ended = true;
    this.notify();
  }

  onResponseError(_c: Dispatcher.DispatchController, error: Error): void {
    this.error = error;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    if (w) {
      this.wake = undefined;
      w();
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
    if (this.queuedBytes > HIGH_WATER_BYTES) this.controller?.resume();
    this.queuedBytes = 0;
    return out;
  }

  /** Waits for the response headers (or the error that came instead). */
  async headersReady(): Promise<void> {
    while (!this.headersArrived && !this.error) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    if (!this.headersArrived && this.error) throw this.error;
  }

  /** Reads the rest of the body as text, keeping at most `max` bytes (error bodies). */
  async text(max: number): Promise<string> {
    const parts: Buffer[] = [];
    let n = 0;
    for (;;) {
      const { chunks } = this.take();
      for (const c of chunks) {
        if (n < max) parts.push(c.subarray(0, max - n));
        n += c.length;
      }
      if (this.error) throw this.error;
      if (this.ended && this.chunks.length === 0) break;
      await this.wait();
    }
    return Buffer.concat(parts).toString('utf8');
  }
}

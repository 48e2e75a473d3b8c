/**
 * Streaming without lying. A gateway cannot take back text a client has already received, so the first
 * tokens of a streamed answer are held until the stream is committed: `tokens` of them arrived, or `ms`
 * passed since the first (0 of either: at the first token), counting from the first that is not whitespace. Before the commit, an answer that breaks off
 * (the chain's `restart`) is dropped unseen and the next provider's answer is streamed in its place;
 * after it, a failure ends the stream with the dialect's error event, never its clean ending, and the
 * chain call is aborted. The status line and the x-llm-fallback-* headers go out at the commit, when
 * the provider is known.
 *
 * Each dialect supplies its frames (`SseFrames`); this module decides when to write them.
 */
import type { ServerResponse } from 'node:http';
import type { ChainEvent, ChainResult } from '../chain/chain.js';
import type { ChainErrorClass } from '../chain/events.js';
import type { StreamCommit } from '../config/types.js';
import { SERVE_DEFAULTS } from '../defaults.js';
import type { Route } from '../router.js';
import { finalHead, replyHeaders, summary, type ReplyHead } from './reply-headers.js';
import { sliceTimeout, type SliceTimer } from '../util/loop-slices.js';

/** One dialect's SSE frames, each a complete `event:`/`data:` block. */
export interface SseFrames {
  /** The frames before the first text delta (OpenAI's role chunk; Anthropic's message_start, content_block_start, ping). */
  start(model: string): string;
  delta(text: string): string;
  /** The frames that close a complete answer (finish reason, usage), before the summary comment. */
  finish(result: ChainResult): string;
  /** The terminal frame of a complete answer ([DONE], message_stop). */
  readonly terminal: string;
  /** The error frame that ends a committed stream whose answer broke off. */
  error(e: { class: string; message: string }): string;
}

export interface StreamOutcome {
  result: ChainResult;
  /** The status line went out: the client got a stream (complete, or ended by an error event). */
  committed: boolean;
  /** Why a committed stream ended with an error event instead of its answer. */
  cut?: { class: ChainErrorClass; message: string };
}

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' } as const;

/**
 * Streams one chain call to `res` in the dialect of `frames`. `abort` stops the chain call (no more
 * upstream tokens) once a committed stream has failed. Returns the chain's result; when the stream was
 * not committed (no answer at all) nothing has been written and the caller sends the error reply.
 */
export async function streamAnswer(events: AsyncIterable<ChainEvent>, plan: StreamCommit, route: Route, frames: SseFrames, res: ServerResponse, abort: () => void, onCommit?: () => void, unread: { bytes: number; ms: number } = { bytes: SERVE_DEFAULTS.maxUnreadBytes, ms: SERVE_DEFAULTS.unreadMs }): Promise<StreamOutcome> {
  const held: string[] = [];
  const atOnce = plan.tokens <= 1 || plan.ms <= 0;
  let committed = false;
  let cut: StreamOutcome['cut'];
  let requests = 0;
  let provider: string | null = null;
  /** Some held text is not whitespace: only then may the stream commit. */
  let visible = false;
  let timer: SliceTimer | undefined;
  const t0 = performance.now();
  // The frames after the first write that arrive in one turn (the adapter hands the chain every token of
  // a network read together) go out in one write: the socket is corked at the first of them and uncorked
  // once this turn's microtasks are done. The commit's own write goes out at once: it carries the first token.
  // Frames are written as the chain hands them over, whatever the client reads, so a client that stops
  // reading (a paused reader, a zero receive window) would have the gateway buffer its whole answer, once
  // for each such client. What the socket could not take waits in the gateway: past `unread.bytes` a clock
  // starts, a drain (the client read it all) stops it, and when it runs out the response is dropped, and the
  // chain call (the provider's stream) cancelled with it. A client reading behind a fast burst drains in time.
  // Past `unread.bytes` no more events are taken until it drains: the chain then holds the provider back.
  let corked = false;
  let behind: NodeJS.Timeout | undefined;
  let watching = false;
  const caughtUp = () => {
    clearTimeout(behind);
    behind = undefined;
  };
  const giveUp = () => {
    behind = undefined;
    if (res.destroyed) return;
    res.destroy();
    abort();
  };
  const uncork = () => {
    corked = false;
    res.uncork();
    // A pipelined response still queued behind another (no socket yet) waits its turn, not for its reader.
    if (behind === undefined && res.socket !== null && res.writableLength > unread.bytes && !res.destroyed) {
      // 'drain': it all reached the socket; 'finish': the same once the answer has ended.
      if (!watching) res.on('drain', caughtUp).once('finish', caughtUp);
      watching = true;
      behind = setTimeout(giveUp, unread.ms);
      // An ended answer still unread keeps its clock, but never the process.
      behind.unref();
    }
  };
  /**
   * Resolves once what waits in the gateway has gone to the socket (or the response is gone). Until then no
   * more of the chain's events are taken, so the chain holds the provider's stream back (its queue is bounded)
   * instead of reading the whole answer into memory for a client that is not reading it.
   */
  const drained = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done).off('close', done);
        resolve();
      };
      res.on('drain', done).on('close', done);
    });
  const send = (s: string) => {
    if (res.destroyed) return;
    if (!corked) {
      corked = true;
      res.cork();
      process.nextTick(uncork);
    }
    res.write(s);
  };

  const commit = (head: ReplyHead) => {
    timer?.cancel();
    committed = true;
    onCommit?.();
    res.writeHead(200, replyHeaders(head, { ...SSE_HEADERS }));
    // The held text goes out with the headers in one write.
    let out = frames.start(head.model ?? route.name);
    for (let i = 0; i < held.length; i++) out += frames.delta(held[i]);
    held.length = 0;
    if (!res.destroyed) res.write(out);
  };
  const liveHead = (): ReplyHead => ({ provider, model: modelOf(route, provider), attempts: requests, source: 'live' });
  /** Ends a committed stream with an error event (the class may be the gateway's own, gateway_error). */
  const endWithError = (head: ReplyHead, latencyMs: number, e: { class: string; message: string }) => {
    if (!res.destroyed) res.end(summary(head, latencyMs, e.class) + frames.error(e));
    abort();
  };
  /** Ends a committed stream with the chain's error, kept as the outcome's `cut`. */
  const end = (head: ReplyHead, latencyMs: number, e: { class: ChainErrorClass; message: string }) => {
    cut = e;
    endWithError(head, latencyMs, e);
  };

  try {
    for await (const ev of events) {
      if (ev.type === 'token') {
        if (committed) {
          if (!cut) send(frames.delta(ev.text));
          if (!cut && !res.destroyed && res.writableLength > unread.bytes) await drained();
          continue;
        }
        held.push(ev.text);
        provider ??= ev.provider;
        // Whitespace alone is no answer yet (the chain fails an answer of only that as empty_response): the
        // commit waits for visible text, so blank lines never commit the stream to a provider that then fails.
        if (!visible) {
          if (!/\S/.test(ev.text)) continue;
          visible = true;
          // In a slice: a break-off read before the commit fell due is seen first (and shown to no one).
          if (!atOnce) timer = sliceTimeout(() => commit(liveHead()), plan.ms);
        }
        if (atOnce || held.length >= plan.tokens) commit(liveHead());
      } else if (ev.type === 'attempt_start') {
        requests++;
      } else if (ev.type === 'restart') {
        if (!committed) {
          // Nothing was shown: forget the held text; the next attempt's answer takes its place.
          held.length = 0;
          provider = null;
          visible = false;
          timer?.cancel();
        } else if (!cut) end({ ...liveHead(), source: 'none' }, performance.now() - t0, { class: ev.error.errorClass, message: named(ev.failed, ev.error.message) });
      } else if (ev.type === 'answer') {
        const r = ev.result;
        if (cut) return { result: { ...r, error: cut }, committed, cut };
        if (r.source === 'none' || (committed && r.source !== 'live')) {
          if (committed) end(finalHead(r, route), r.latency_ms, r.error ?? { class: 'unavailable', message: 'no answer' });
          return { result: r, committed, cut };
        }
        const head = finalHead(r, route);
        if (!committed) {
          // Done before the commit: the headers can say everything, cost included.
          if (r.source !== 'live' || held.length === 0) {
            held.length = 0;
            held.push(r.content);
          }
          commit(head);
        }
        if (!res.destroyed) res.end(frames.finish(r) + summary(head, r.latency_ms) + frames.terminal);
        return { result: r, committed: true };
      }
    }
  } catch (e) {
    // A committed stream must not end as if complete, whatever went wrong.
    if (committed && !cut) endWithError({ ...liveHead(), source: 'none' }, performance.now() - t0, { class: 'gateway_error', message: 'the gateway failed while streaming' });
    throw e;
  } finally {
    timer?.cancel();
  }
  throw new Error('the chain ended without an answer');
}

function modelOf(route: Route, provider: string | null): string | null {
  for (const p of route.providers) if (p.name === provider) return p.model;
  return null;
}

/** A provider's error message, naming the provider once. */
const named = (provider: string, message: string) => (message.startsWith(provider) ? message : `${provider}: ${message}`);

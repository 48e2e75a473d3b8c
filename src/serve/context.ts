/**
 * What the gateway's server gives each endpoint handler, and what a handler reports back: the seam
 * between the HTTP plumbing (server.ts: auth, limits, routing, lifecycle) and the dialects
 * (openai.ts, anthropic.ts), so each can change without the other.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChainResult } from '../chain/chain.js';
import type { StreamCommit } from '../config/types.js';
import type { Router } from '../router.js';
import type { CallTraceInput } from './otlp.js';

export type Endpoint = 'chat_completions' | 'messages';

/** One chain call as the gateway saw it: for metrics, traces and the access log. */
export interface CallRecord {
  endpoint: Endpoint;
  /** The route the client named (a chain or provider). */
  model: string;
  stream: boolean;
  /** The chain's result; for a stream cut after its commit, `error` says why it broke off (not the abort that followed). */
  result: ChainResult;
  /** The HTTP status the client got: 200 for every committed stream, including one that ended with an error event. */
  status?: number;
  /** A committed stream ended with an error event instead of its answer, for this reason. */
  cut?: { class: string; message: string };
  /** Epoch ms when the handler started the chain call. */
  startEpochMs: number;
  /** The client's W3C trace headers and generation settings, for the call's spans. */
  trace?: CallTraceInput;
}

export interface EndpointContext {
  router: Router;
  /** Aborted when the client goes away, the server gives up on in-flight calls at shutdown, or `abort` is called. */
  signal: AbortSignal;
  /** Ends the call (a committed stream that broke off: no more upstream tokens are wanted). */
  abort(): void;
  /** The stream commit for a route: the chain's own stream_commit over serve's over the defaults. */
  commit(route: string): StreamCommit;
  /** How long a stream may stay this far behind its reader before it is dropped (default SERVE_DEFAULTS' maxUnreadBytes, unreadMs). */
  unread?: { bytes: number; ms: number };
  /** Called exactly once per chain call that produced a result. */
  observe(call: CallRecord): void;
}

/** Handles one POST whose JSON body the server has already read (within the size limit) and parsed. */
export type EndpointHandler = (body: unknown, req: IncomingMessage, res: ServerResponse, ctx: EndpointContext) => Promise<void>;

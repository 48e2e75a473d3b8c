/**
 * One chat request through the chain, the same for every dialect: the dialect parses the body and
 * writes the answer in its own shape; this resolves the route, runs the call (streamed through the
 * hold-then-commit of stream-commit.ts, or folded), maps "no answer" to its status, and reports the
 * call to the server once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChainEvent, ChainResult } from '../chain/chain.js';
import { CALL_DEFAULTS } from '../defaults.js';
import { RefusedFieldError, UsageError } from '../errors.js';
import type { ChatMessage, Reasoning, Sampling } from '../providers/types.js';
import type { Route, Router } from '../router.js';
import type { Endpoint, EndpointContext } from './context.js';
import { sendError, type Dialect, type ErrorReply } from './errors.js';
import { nextId } from './ids.js';
import { serverText } from '../util/redact.js';
import { noAnswerReply } from './no-answer.js';
import { finalHead, replyHeaders } from './reply-headers.js';
import { expose } from './routes.js';
import { streamAnswer, type SseFrames } from './stream-commit.js';

/** A request body, read by its dialect into what the chain needs. */
export interface ParsedCall {
  /** The route: a chain, a provider, or provider/model. */
  model: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  reasoning?: Reasoning;
  sampling?: Sampling;
  stream: boolean;
  /** OpenAI stream_options.include_usage. */
  includeUsage: boolean;
  /** Where this body set a field the dialect has more than one name for (reasoning), over DialectSpec.wireNames. */
  wireNames?: Partial<Record<string, string>>;
}

export interface DialectSpec {
  name: Dialect;
  endpoint: Endpoint;
  /** The call, or a 400 saying what in the body is wrong. */
  parse(body: unknown): ParsedCall | ErrorReply;
  /** The SSE frames of one streamed answer. */
  frames(call: ParsedCall, id: string, created: number): SseFrames;
  /** The JSON body of a complete answer; `model` when no provider served it (the static message). */
  complete(result: ChainResult, call: ParsedCall, id: string, created: number): string;
  /** Response ids: chatcmpl-…, msg_…. */
  idPrefix: string;
  /** The dialect's name of each request field a provider may refuse (RefusedFieldError's field): the 400 names what the client sent. */
  wireNames: Partial<Record<string, string>>;
}

export async function handleCall(d: DialectSpec, body: unknown, req: IncomingMessage, res: ServerResponse, ctx: EndpointContext): Promise<void> {
  const call = d.parse(body);
  if ('status' in call) return sendError(res, d.name, call);
  let route: Route;
  try {
    route = ctx.router.route(call.model);
  } catch (e) {
    if (e instanceof UsageError) return sendError(res, d.name, routeError(ctx.router, call.model, e));
    throw e;
  }

  const startEpochMs = Date.now();
  // Once part of a streamed answer has gone out, a provider failing mid-answer ends the call: starting the
  // next provider would be a request nobody can see.
  let shown = false;
  const request = {
    model: call.model,
    messages: call.messages,
    maxTokens: call.maxTokens,
    temperature: call.temperature,
    reasoning: call.reasoning,
    sampling: call.sampling,
    signal: ctx.signal,
    timeoutMs: CALL_DEFAULTS.deadlineMs,
    afterMidStreamFailure: () => (shown ? ('stop' as const) : ('fallover' as const)),
  };
  const id = nextId(d.idPrefix);
  const created = Math.floor(startEpochMs / 1000);
  let result: ChainResult;
  let status = 200;
  let cut: { class: string; message: string } | undefined;
  if (call.stream) {
    let events: AsyncIterable<ChainEvent>;
    try {
      events = ctx.router.stream(request);
    } catch (e) {
      if (e instanceof UsageError) return sendError(res, d.name, requestError(d, call, e));
      throw e;
    }
    const out = await streamAnswer(events, ctx.commit(call.model), route, d.frames(call, id, created), res, ctx.abort, () => (shown = true), ctx.unread);
    result = out.result;
    cut = out.cut;
    if (!out.committed) status = replyNone(d, res, result, route, ctx.router);
  } else {
    try {
      result = await ctx.router.chat(request);
    } catch (e) {
      if (e instanceof UsageError) return sendError(res, d.name, requestError(d, call, e));
      throw e;
    }
    if (result.source === 'none') status = replyNone(d, res, result, route, ctx.router);
    else if (!res.destroyed) {
      const json = d.complete(result, call, id, created);
      res.writeHead(200, replyHeaders(finalHead(result, route), { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) }));
      res.end(json);
    }
  }
  const trace = { traceparent: header(req, 'traceparent'), tracestate: header(req, 'tracestate'), maxTokens: call.maxTokens, temperature: call.temperature, sampling: call.sampling };
  ctx.observe({ endpoint: d.endpoint, model: call.model, stream: call.stream, result, startEpochMs, trace, status, cut });
}

/** A request the router refused before calling anyone: a field a provider cannot be sent, or a prompt no provider's window fits. */
function requestError(d: DialectSpec, call: ParsedCall, e: UsageError): ErrorReply {
  if (e instanceof RefusedFieldError) {
    const param = call.wireNames?.[e.field] ?? d.wireNames[e.field] ?? e.field;
    return { status: 400, code: 'invalid_request', param, message: `${param}: ${e.reason}` };
  }
  return { status: 400, code: 'context_length_exceeded', param: 'messages', message: e.message };
}

/** Sends the status for a call without an answer; returns it. */
function replyNone(d: DialectSpec, res: ServerResponse, result: ChainResult, route: Route, router: Router): number {
  const reply = noAnswerReply(result, route, router, CALL_DEFAULTS.deadlineMs);
  // Anthropic says "overloaded, try later" with 529, and its SDK raises OverloadedError for it (a 503 is a
  // plain InternalServerError there): a chain with no provider serving now is that, to an Anthropic client.
  if (d.name === 'anthropic' && reply.status === 503 && reply.code === 'all_providers_unavailable') reply.status = 529;
  if (!res.destroyed) sendError(res, d.name, reply);
  return reply.status;
}

/** A model the gateway does not know is a 404 (as OpenAI and Anthropic answer); one it knows but cannot serve (no key set) is a 503. */
function routeError(router: Router, name: string, e: UsageError): ErrorReply {
  const cfg = router.config;
  const slash = name.indexOf('/');
  const known = cfg.chains.has(name) || cfg.providers.has(name) || (slash > 0 && cfg.providers.has(name.slice(0, slash)));
  const reason = e.message.replace(/^serve: /, '');
  if (known) {
    const what = cfg.chains.has(name) ? `chain "${name}"` : `"${name}"`;
    return { status: 503, code: 'route_unavailable', param: 'model', message: `the gateway cannot serve ${what} now: ${reason}` };
  }
  // The routes a client can use, as GET /v1/models lists them, not every name in the config.
  const served = expose(router).served.map((r) => r.name);
  const close = /did you mean "[^"]+"\?/.exec(reason)?.[0];
  // The name is the client's: shown cleaned and bounded, as the access log shows it.
  return { status: 404, code: 'model_not_found', param: 'model', message: `the gateway serves no model "${serverText(name, 80)}"${close ? `; ${close}` : ''}; it serves ${served.length ? served.join(', ') : 'nothing now'} (GET /v1/models lists them)` };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

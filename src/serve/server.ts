/**
 * The gateway's HTTP plumbing: routing, client auth, limits, the access log, readiness, router reload
 * and graceful shutdown. What a chat request means in each dialect is the endpoint handlers' job
 * (openai.ts, anthropic.ts), reached through the EndpointContext seam.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChainResult } from '../chain/chain.js';
import type { StreamCommit } from '../config/types.js';
import { SERVE_DEFAULTS } from '../defaults.js';
import { UsageError } from '../errors.js';
import type { BreakerView, Router } from '../router.js';
import { serverText } from '../util/redact.js';
import { ClientAuth } from './auth.js';
import type { CallRecord, Endpoint, EndpointContext, EndpointHandler } from './context.js';
import type { CallTraceInput } from './otlp.js';
import { sendError, type Dialect } from './errors.js';
import { nextId, requestIdHeader } from './ids.js';
import { attemptsMade } from './reply-headers.js';
import { BodyTooLarge, ClientGone, ClientSlots, lingerOnClose, readBody } from './limits.js';
import { expose, modelInfo, modelList, notReady, type Exposure } from './routes.js';

/** What the gateway reports to GatewayMetrics (metrics.ts); structural, so a test may pass its own. */
export interface GatewayMetricsSink {
  requestStarted(): void;
  requestFinished(r: { endpoint: string; model: string; status: number; durationMs: number; stream: boolean }): void;
  call(chain: string, result: ChainResult): void;
  setBreakerSource(fn: () => BreakerView[]): void;
  render(): string;
}

/** What the gateway hands the OTLP exporter (otlp.ts). */
export interface GatewayTraceSink {
  exportCall(chain: string, result: ChainResult, callStartEpochMs: number, call?: CallTraceInput): void;
}

export interface GatewayLimits {
  maxBodyBytes: number;
  maxConcurrentPerClient: number;
  headersReceiveMs: number;
  requestReceiveMs: number;
  keepAliveMs: number;
  maxConnections: number;
  maxUnreadBytes: number;
  unreadMs: number;
}

export interface GatewayOptions {
  router: Router;
  handlers: { chatCompletions: EndpointHandler; messages: EndpointHandler };
  /** The key clients must send; none: no client auth (loopback only, checked by the command). */
  clientKey?: string;
  limits?: Partial<GatewayLimits>;
  metrics?: GatewayMetricsSink;
  traces?: GatewayTraceSink;
  /** One line per request (no key, no prompt) and operational notes; default stderr. */
  log?: (line: string) => void;
}

/** How often Node checks connections against the header and request timeouts (its default, 30 s, would let a slow client stay 30 s past them). */
const TIMEOUT_CHECK_MS = 1_000;
/** How long /readyz waits for a shared breaker store before answering from what it has. */
const READY_LOAD_MS = 1_000;
/** After the grace period, how long aborted requests get to end their responses before their connections are cut. */
const ABORT_SETTLE_MS = 2_000;

type PathKind = 'chat_completions' | 'messages' | 'models' | 'model' | 'healthz' | 'readyz' | 'metrics';

/**
 * Paths, with and without /v1: OpenAI SDKs append /chat/completions to a base URL that usually ends in
 * /v1, Anthropic SDKs append /v1/messages to the bare host, and several tools append the endpoint to
 * whatever base they are given. Accepting both costs nothing and spares a confusing 404.
 */
const PATHS: Record<string, PathKind> = {
  '/v1/chat/completions': 'chat_completions',
  '/chat/completions': 'chat_completions',
  '/v1/messages': 'messages',
  '/messages': 'messages',
  '/v1/models': 'models',
  '/models': 'models',
  '/healthz': 'healthz',
  '/readyz': 'readyz',
  '/metrics': 'metrics',
};
const POSTS = new Set<PathKind>(['chat_completions', 'messages']);
/** `GET /v1/models/{id}`: one route, as `models.retrieve(id)` asks for it. */
const MODEL_PATH = /^(?:\/v1)?\/models\/[^/]+$/;

/** One router and the requests still using it: a reload installs a new one and closes the old one when its last request ends. */
interface RouterSlot {
  router: Router;
  exposure: Exposure;
  inFlight: number;
}

/** What one request did, for the access log and metrics. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  kind: PathKind | undefined;
  /** The envelope its errors are sent in. */
  dialect: Dialect;
  /** The request's id: its `x-request-id` (`request-id` on /v1/messages) and the access log's `id=`. */
  id: string;
  started: number;
  abort: AbortController;
  route?: string;
  call?: CallRecord;
  stream: boolean;
  /** It sent `Expect: 100-continue` and has not been asked for its body yet. */
  awaitsContinue: boolean;
}

export class Gateway {
  readonly server: Server;
  private slot: RouterSlot;
  private readonly handlers: GatewayOptions['handlers'];
  private readonly auth: ClientAuth | undefined;
  private readonly limits: GatewayLimits;
  private readonly slots: ClientSlots;
  private readonly metrics: GatewayMetricsSink | undefined;
  private readonly traces: GatewayTraceSink | undefined;
  private readonly log: (line: string) => void;
  private readonly inFlight = new Set<Exchange>();
  private readonly created = Math.floor(Date.now() / 1000);
  private draining = false;
  private readonly names = new ShownNames();
  private idle: (() => void) | undefined;

  constructor(opts: GatewayOptions) {
    this.handlers = opts.handlers;
    this.auth = opts.clientKey ? new ClientAuth(opts.clientKey) : undefined;
    this.limits = {
      maxBodyBytes: opts.limits?.maxBodyBytes ?? SERVE_DEFAULTS.maxBodyBytes,
      maxConcurrentPerClient: opts.limits?.maxConcurrentPerClient ?? SERVE_DEFAULTS.maxConcurrentPerClient,
      headersReceiveMs: opts.limits?.headersReceiveMs ?? SERVE_DEFAULTS.headersReceiveMs,
      requestReceiveMs: opts.limits?.requestReceiveMs ?? SERVE_DEFAULTS.requestReceiveMs,
      keepAliveMs: opts.limits?.keepAliveMs ?? SERVE_DEFAULTS.keepAliveMs,
      maxConnections: opts.limits?.maxConnections ?? SERVE_DEFAULTS.maxConnections,
      maxUnreadBytes: opts.limits?.maxUnreadBytes ?? SERVE_DEFAULTS.maxUnreadBytes,
      unreadMs: opts.limits?.unreadMs ?? SERVE_DEFAULTS.unreadMs,
    };
    this.slots = new ClientSlots(this.limits.maxConcurrentPerClient);
    this.metrics = opts.metrics;
    this.traces = opts.traces;
    this.log = opts.log ?? batchedLines(process.stderr);
    this.slot = { router: opts.router, exposure: expose(opts.router), inFlight: 0 };
    this.metrics?.setBreakerSource(() => this.slot.router.breakerStates());
    this.server = createServer(
      {
        headersTimeout: this.limits.headersReceiveMs,
        requestTimeout: this.limits.requestReceiveMs,
        keepAliveTimeout: this.limits.keepAliveMs,
        connectionsCheckingInterval: TIMEOUT_CHECK_MS,
      },
      (req, res) => void this.handle(req, res),
    );
    this.server.maxConnections = this.limits.maxConnections;
    // Expect: 100-continue (curl sends it for bodies over 1 MiB): the body is asked for only when it is about to
    // be read, so a request refused on its headers (no key, over max_body, a wrong path) is refused before it
    // is uploaded, as RFC 9110 (10.1.1) lets a server; node:http would otherwise answer 100 to every one.
    this.server.on('checkContinue', (req, res) => void this.handle(req, res, true));
  }

  get router(): Router {
    return this.slot.router;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  get exposure(): Exposure {
    return this.slot.exposure;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Installs a new router: new requests use it; requests in flight finish on the old one, which is closed after the last. */
  async swap(next: Router): Promise<void> {
    const old = this.slot;
    this.slot = { router: next, exposure: expose(next), inFlight: 0 };
    this.names.clear();
    if (old.inFlight === 0) await old.router.close();
  }

  /**
   * Graceful stop: no new connections, /readyz 503, in-flight requests get `graceMs` to finish; the rest
   * are then aborted (their handlers end the responses) and every connection is closed.
   */
  async shutdown(graceMs: number): Promise<{ finished: number; aborted: number }> {
    this.draining = true;
    const atStart = this.inFlight.size;
    for (const x of this.inFlight) if (!x.res.headersSent) x.res.setHeader('connection', 'close');
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const inTime = await this.whenIdle(graceMs);
    const aborted = inTime ? 0 : this.inFlight.size;
    if (!inTime) {
      for (const x of this.inFlight) x.abort.abort(new Error('the gateway is shutting down'));
      await this.whenIdle(ABORT_SETTLE_MS);
    }
    this.server.closeAllConnections();
    await closed;
    await this.slot.router.close();
    return { finished: atStart - aborted, aborted };
  }

  private whenIdle(ms: number): Promise<boolean> {
    if (this.inFlight.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idle = undefined;
        resolve(false);
      }, ms);
      this.idle = () => {
        clearTimeout(timer);
        this.idle = undefined;
        resolve(true);
      };
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse, awaitsContinue = false): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const kind = PATHS[path] ?? (MODEL_PATH.test(path) ? 'model' : undefined);
    // Anthropic's SDK calls more paths under /v1/messages (count_tokens, batches) than are served here: their
    // 404 is in its envelope too. The models endpoints are both SDKs': Anthropic's sends anthropic-version.
    const dialect: Dialect =
      kind === 'messages' || (kind === undefined && path.startsWith('/v1/messages/')) || ((kind === 'models' || kind === 'model') && req.headers['anthropic-version'] !== undefined) ? 'anthropic' : 'openai';
    const x: Exchange = { req, res, path, kind, dialect, id: nextId('req_'), started: performance.now(), abort: new AbortController(), stream: false, awaitsContinue };
    // Every answer names its request, as both services do, so a client's error can be found in the access log.
    res.setHeader(requestIdHeader(dialect), x.id);
    // Refused before its body was asked for, a client may send it anyway or not at all: the connection cannot be reused.
    if (this.draining || awaitsContinue) res.setHeader('connection', 'close');
    const counted = kind !== 'healthz' && kind !== 'readyz' && kind !== 'metrics';
    if (counted) this.metrics?.requestStarted();
    this.inFlight.add(x);
    res.once('close', () => this.finish(x, counted));
    closeWithConnection(req, res);
    try {
      await this.dispatch(x);
    } catch (e) {
      this.fail(x, e);
    }
  }

  private async dispatch(x: Exchange): Promise<void> {
    const { req, res, kind, dialect } = x;
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (kind === undefined) return sendError(res, dialect, { status: 404, message: `no such endpoint: ${req.method} ${shownPath(x.path)}; the gateway serves POST /v1/chat/completions, POST /v1/messages, GET /v1/models, GET /v1/models/{id}, /healthz, /readyz and /metrics`, code: 'not_found' });
    const allowed = POSTS.has(kind) ? 'POST, OPTIONS' : 'GET, HEAD, OPTIONS';
    if (method === 'OPTIONS') {
      res.writeHead(204, { allow: allowed });
      return void res.end();
    }
    if (!allowed.split(', ').includes(method ?? '')) {
      return sendError(res, dialect, { status: 405, message: `${req.method} is not allowed on ${x.path}; use ${allowed.split(', ')[0]}`, code: 'method_not_allowed', headers: { allow: allowed } });
    }
    // Probes carry no credentials and say only up or down; everything else needs the client key when one is set.
    if (kind === 'healthz') return sendText(res, 200, 'ok\n');
    if (kind === 'readyz') return this.ready(res);
    if (this.auth && !this.auth.check(req.headers)) {
      return sendError(res, dialect, { status: 401, message: 'missing or wrong API key: send the gateway\'s client key as "Authorization: Bearer <key>" or "x-api-key: <key>"', code: 'invalid_api_key', headers: { 'www-authenticate': 'Bearer' } });
    }
    if (kind === 'metrics') {
      if (!this.metrics) return sendError(res, 'openai', { status: 404, message: 'metrics are not enabled', code: 'not_found' });
      return sendText(res, 200, this.metrics.render(), 'text/plain; version=0.0.4; charset=utf-8');
    }
    if (kind === 'models') return sendJson(res, 200, modelList(this.slot.exposure, this.created, dialect));
    if (kind === 'model') {
      const raw = x.path.slice(x.path.lastIndexOf('/') + 1);
      let id = raw;
      try {
        id = decodeURIComponent(raw);
      } catch {} // a malformed escape names no route: its 404 says so
      const info = modelInfo(this.slot.exposure, this.created, id, dialect);
      if (info) return sendJson(res, 200, info);
      return sendError(res, dialect, { status: 404, message: `the gateway serves no model "${shownName(id)}"; GET /v1/models lists its chains and providers`, code: 'model_not_found', param: 'model' });
    }
    return this.call(x, kind, dialect);
  }

  private async call(x: Exchange, endpoint: Endpoint, dialect: Dialect): Promise<void> {
    const { req, res } = x;
    if (this.draining) return sendError(res, dialect, { status: 503, message: 'the gateway is shutting down; retry on another replica', code: 'shutting_down', headers: { 'retry-after': '1' } });
    // One client is its key when clients authenticate (one key, one client), else its address.
    const client = this.auth ? 'key' : (req.socket.remoteAddress ?? '?');
    if (!this.slots.take(client)) {
      return sendError(res, dialect, { status: 429, message: `too many requests in flight from this client (limit ${this.limits.maxConcurrentPerClient}); wait for one to finish`, code: 'too_many_requests', headers: { 'retry-after': '1' } });
    }
    res.once('close', () => this.slots.give(client));
    // A compressed body (content-encoding: gzip) read as JSON would fail with its binary bytes quoted back;
    // the gateway takes bodies as sent, and says so with the status RFC 9110 gives an unsupported coding.
    const coding = req.headers['content-encoding']?.trim().toLowerCase();
    if (coding && coding !== 'identity') {
      res.setHeader('connection', 'close');
      lingerOnClose(req, this.limits.requestReceiveMs);
      return sendError(res, dialect, { status: 415, message: `content-encoding ${shownName(coding)} is not supported: send the request body uncompressed`, code: 'unsupported_content_encoding', headers: { 'accept-encoding': 'identity' } });
    }
    if (x.awaitsContinue && !(Number(req.headers['content-length']) > this.limits.maxBodyBytes)) {
      x.awaitsContinue = false;
      if (!this.draining) res.removeHeader('connection');
      res.writeContinue();
    }
    let body: unknown;
    try {
      const bytes = await readBody(req, this.limits.maxBodyBytes);
      body = JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      if (e instanceof ClientGone) return;
      if (e instanceof BodyTooLarge) {
        res.setHeader('connection', 'close');
        lingerOnClose(req, this.limits.requestReceiveMs);
        return sendError(res, dialect, { status: 413, message: `${e.message}; send a smaller request (serve.max_body raises the limit)`, code: 'request_too_large' });
      }
      return sendError(res, dialect, { status: 400, message: `the request body is not valid JSON: ${(e as Error).message}`, code: 'invalid_json' });
    }
    const slot = this.slot;
    slot.inFlight++;
    const model = typeof body === 'object' && body !== null && typeof (body as { model?: unknown }).model === 'string' ? (body as { model: string }).model : undefined;
    x.route = model;
    x.stream = typeof body === 'object' && body !== null && (body as { stream?: unknown }).stream === true;
    // A client that goes away aborts its chain call (its providers stop being paid for).
    res.once('close', () => {
      if (!res.writableFinished) x.abort.abort(new Error('the client closed the connection'));
    });
    const ctx: EndpointContext = {
      router: slot.router,
      signal: x.abort.signal,
      abort: () => x.abort.abort(new Error('the stream broke off after its commit')),
      commit: (route) => streamCommit(slot.router, route),
      unread: { bytes: this.limits.maxUnreadBytes, ms: this.limits.unreadMs },
      observe: (call) => {
        x.call = call;
        this.metrics?.call(call.model, call.result);
        this.traces?.exportCall(call.model, call.result, call.startEpochMs, call.trace);
      },
    };
    try {
      await (endpoint === 'messages' ? this.handlers.messages : this.handlers.chatCompletions)(body, req, res, ctx);
    } finally {
      slot.inFlight--;
      if (slot !== this.slot && slot.inFlight === 0) void slot.router.close();
    }
  }

  private async ready(res: ServerResponse): Promise<void> {
    if (this.draining) return sendText(res, 503, 'shutting down\n');
    const slot = this.slot;
    // A shared store (Redis) is re-read here, so an idle replica reports what the others found out.
    await slot.router.breakers.load(Date.now() + READY_LOAD_MS).catch(() => {});
    const problems = notReady(slot.router, slot.exposure);
    sendText(res, problems.length ? 503 : 200, problems.length ? `not ready: ${problems.join('; ')}\n` : 'ready\n');
  }

  /** A handler threw: the client gets an error in its dialect (or the stream ends), the log gets one line. */
  private fail(x: Exchange, e: unknown): void {
    const dialect = x.dialect;
    if (e instanceof UsageError) return sendError(x.res, dialect, { status: 400, message: serverText(e.message), code: 'invalid_request' });
    this.log(`llm-fallback serve: ${x.req.method} ${shownPath(x.path)}: ${serverText((e as Error)?.message ?? String(e), 300)}`);
    if (x.res.headersSent) x.res.destroy();
    else sendError(x.res, dialect, { status: 500, message: 'internal error in the gateway (see its log)', code: 'internal_error' });
  }

  private finish(x: Exchange, counted: boolean): void {
    this.inFlight.delete(x);
    const ms = performance.now() - x.started;
    const status = x.res.writableFinished ? x.res.statusCode : 499;
    if (counted) {
      const endpoint = x.kind === 'chat_completions' || x.kind === 'messages' || x.kind === 'models' ? x.kind : x.kind === 'model' ? 'models' : 'other';
      this.metrics?.requestFinished({ endpoint, model: x.call?.model ?? x.route ?? '', status, durationMs: ms, stream: x.stream });
      this.log(accessLine(x, status, ms, this.names));
    } else if (status >= 400 && !(x.kind === 'readyz' && status === 503)) {
      this.log(accessLine(x, status, ms, this.names));
    }
    if (this.draining) {
      this.server.closeIdleConnections();
      if (this.inFlight.size === 0) this.idle?.();
    }
  }
}

/**
 * Node closes a response only once it has had the connection: a response pipelined behind another whose
 * connection went first is never closed (Node destroys only its request), so all that waits for its 'close'
 * (the in-flight count, the client's slot, the chain call, a stream waiting for a drain) would wait for ever.
 * Such a response is closed here when its connection closes.
 */
function closeWithConnection(req: IncomingMessage, res: ServerResponse): void {
  if (res.socket) return;
  const socket = req.socket;
  const gone = () => {
    if (res.socket) return; // it had its turn on the connection meanwhile: Node closes it
    res.destroy();
    res.emit('close');
  };
  socket.once('close', gone);
  res.once('close', () => socket.off('close', gone));
}

/**
 * A log that writes the lines of one event-loop turn together: under load one write per turn instead of
 * one per request (a write to a pipe or file is a blocking system call in Node).
 */
export function batchedLines(stream: NodeJS.WritableStream): (line: string) => void {
  let pending = '';
  const flush = () => {
    const text = pending;
    pending = '';
    stream.write(text);
  };
  return (line) => {
    if (!pending) setImmediate(flush);
    pending += `${line}\n`;
  };
}

/** The chain's own stream_commit over serve's over the defaults (field by field). */
export function streamCommit(router: Router, route: string): StreamCommit {
  const out: StreamCommit = { ...SERVE_DEFAULTS.streamCommit };
  for (const layer of [router.config.serve.streamCommit, router.config.chains.get(route)?.streamCommit]) {
    if (layer?.tokens !== undefined) out.tokens = layer.tokens;
    if (layer?.ms !== undefined) out.ms = layer.ms;
  }
  return out;
}

/**
 * method, path, status, route, provider, source, attempts, duration: never headers, keys or prompts.
 * 499 (nginx's "client closed request") marks a response the client did not wait for.
 */
function accessLine(x: Exchange, status: number, ms: number, names: ShownNames): string {
  const r = x.call?.result;
  // A known endpoint's path is one of PATHS: nothing of the client's in it to clean.
  const parts = [new Date().toISOString(), x.req.method ?? '-', PATHS[x.path] !== undefined ? x.path : shownPath(x.path), String(status)];
  if (x.route !== undefined || x.call) parts.push(`route=${names.shown(x.call?.model ?? x.route ?? '')}`);
  if (r) parts.push(`provider=${r.provider ?? '-'}`, `source=${r.source}`, `attempts=${attemptsMade(r.attempts)}`);
  if (x.call?.cut) parts.push(`cut=${x.call.cut.class}`);
  if (x.stream) parts.push('stream');
  parts.push(`${ms.toFixed(1)}ms`, `id=${x.id}`);
  return parts.join(' ');
}

/** A client-chosen string fit for one log field: no control characters or spaces, no secret, bounded. */
function shownName(s: string): string {
  return serverText(s, 80).replace(/\s/g, '_');
}

const shownPath = (p: string) => shownName(p.length > 200 ? p.slice(0, 200) : p);

/**
 * Route names as the access log shows them, remembered: clients name the same few routes over and over,
 * and cleaning one (secrets, controls) costs more than the rest of the line. Bounded, and cleared when a
 * reload may have brought new secrets to redact.
 */
class ShownNames {
  private readonly seen = new Map<string, string>();
  shown(name: string): string {
    let v = this.seen.get(name);
    if (v === undefined) {
      v = shownName(name);
      if (this.seen.size >= SHOWN_NAMES_KEPT) this.seen.clear();
      this.seen.set(name, v);
    }
    return v;
  }
  clear(): void {
    this.seen.clear();
  }
}
const SHOWN_NAMES_KEPT = 1_000;

function sendText(res: ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

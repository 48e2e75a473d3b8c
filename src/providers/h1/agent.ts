import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { now } from '../../util/clock.js';
import { ResponseParser, type RawHeaders, type ResponseSink } from './response-parser.js';
import { serialiseRequest, type ProxiedRequest, type RequestOptions } from './request.js';
import { proxyAuthHint, type ProxyRoute } from '../proxy.js';

/**
 * A lean HTTP/1.1 keep-alive client on plain `net`/`tls` sockets, in place of undici's Agent on the
 * adapters' hot path. It implements the one dispatcher call the adapters make — dispatch(request,
 * handler) with a handler of undici's original kind (onConnect/onHeaders/onData/onComplete/onError) —
 * and nothing else: one request per connection at a time (no pipelining), no redirects, no retries (a
 * POST is never resent), no body streams. Per request it allocates the request string, one small
 * record and its two callbacks; sockets, listeners and the parser live as long as the connection.
 */

/** What a request's caller gives the agent: undici's handler of the original kind. */
export interface DispatchHandler {
  /** Called right before the request's bytes are written; `abort` ends the request and frees its socket. */
  onConnect(abort: (reason?: Error) => void): void;
  /** Return false to pause reading until `resume` is called. */
  onHeaders(statusCode: number, rawHeaders: RawHeaders, resume: () => void): boolean;
  /** Return false to pause reading until `resume` is called. */
  onData(chunk: Buffer): boolean;
  onComplete(trailers: null): void;
  onError(err: Error): void;
}

/** Codes of the agent's own errors (socket errors keep Node's: ECONNREFUSED, ECONNRESET, ENOTFOUND...). */
export const CONNECT_TIMEOUT = 'ERR_H1_CONNECT_TIMEOUT';
export const SOCKET_CLOSED = 'ERR_H1_SOCKET_CLOSED';
export const EXTRA_BYTES = 'ERR_H1_EXTRA_BYTES';
export const AGENT_CLOSED = 'ERR_H1_AGENT_CLOSED';
/** A proxy answered CONNECT with something other than 2xx (`status` says what), or with something other than HTTP (status 0). */
export const PROXY_CONNECT = 'ERR_PROXY_CONNECT';
/** A proxy answered a plain-http request (absolute form) with 407: it wants credentials, the provider never saw the request. */
export const PROXY_AUTH = 'ERR_PROXY_AUTH';

export class H1Error extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status = 0,
    /** What the person reading the error may try, when the agent saw something that suggests it. */
    readonly hint?: string,
  ) {
    super(message);
  }
}

/**
 * A TLS server sent plain HTTP closes without a byte back (Node's https server, and openssl s_server, which
 * logs "http request"): to an http:// base_url that looks like any other close, so the agent says what it may be.
 */
const PLAIN_TO_TLS_HINT = 'if this port speaks TLS, its base_url takes https://';

const VIA = Symbol('proxy');
const AT_PROXY = Symbol('at proxy');
/** The proxy a connection error happened through (set on the error by the connection), if any. */
export function proxyOf(e: unknown): ProxyRoute | undefined {
  return e !== null && typeof e === 'object' ? (e as { [VIA]?: ProxyRoute })[VIA] : undefined;
}
/** True when the error happened while the proxy was the far end (before the tunnel was up): the proxy's failure, not the target's. */
export function failedAtProxy(e: unknown): boolean {
  return e !== null && typeof e === 'object' && (e as { [AT_PROXY]?: boolean })[AT_PROXY] === true;
}

/** The most of a proxy's answer to CONNECT read before it is refused as not HTTP. */
const MAX_CONNECT_REPLY = 16 * 1024;

export interface AgentOptions {
  /** TCP + TLS set-up limit, ms. */
  connectTimeoutMs: number;
  /** How long an idle connection is kept when the server gives no Keep-Alive hint, ms (undici's default 4 s is too short for bench's gaps; 30 s). */
  idleTimeoutMs?: number;
  /** The longest a server's Keep-Alive hint may keep a connection idle, ms. */
  maxIdleTimeoutMs?: number;
  /** Called with each connection's set-up time (TCP + TLS), ms. */
  onConnectTime?: (ms: number) => void;
  /** Extra trusted CA certificates (tests with a local TLS server); verification itself is never off. */
  ca?: string | Buffer;
  /** The proxy for an origin's connections (decided once per origin), or undefined for direct. */
  proxyFor?: (origin: URL) => ProxyRoute | undefined;
}

/** A server's Keep-Alive hint is cut by this much, so the client gives the connection up before the server does (undici's threshold). */
const KEEP_ALIVE_MARGIN_MS = 2000;
const SWEEP_EVERY_MS = 1000;

/** One origin's keep-alive pool. */
class OriginPool {
  readonly https: boolean;
  readonly hostname: string;
  readonly port: number;
  /** The Host header value. */
  readonly host: string;
  readonly servername: string | undefined;
  /** Idle connections, most recently used last (taken first: its socket is the least likely to be stale). */
  idle: Connection[] = [];
  /** The last TLS session ticket, offered by the next connection (resumption saves a round trip). */
  session: Buffer | undefined;
  /** The proxy connections go through: a CONNECT tunnel for https, absolute-form requests for http. */
  readonly proxy: ProxyRoute | undefined;
  /** For plain http through a proxy: what each request carries for it. */
  readonly via: ProxiedRequest | undefined;
  /** The proxy's credentials as a header line (`proxy-authorization: Basic …\r\n`), or empty: on CONNECT, or on each plain-http request. */
  readonly proxyAuthLine: string;

  constructor(url: URL, proxy: ProxyRoute | undefined) {
    this.https = url.protocol === 'https:';
    if (!this.https && url.protocol !== 'http:') throw new H1Error(`unsupported protocol ${url.protocol}`, 'ERR_H1_INVALID_REQUEST');
    this.hostname = url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(url.port || (this.https ? 443 : 80));
    this.host = url.host;
    this.servername = this.https && isIP(this.hostname) === 0 ? this.hostname : undefined;
    this.proxy = proxy;
    this.proxyAuthLine = proxy?.authorization ? `proxy-authorization: ${proxy.authorization}\r\n` : '';
    if (proxy && !this.https) this.via = { origin: `http://${this.host}`, lines: this.proxyAuthLine };
  }

  /** `host:port` as CONNECT names it (RFC 9110 section 9.3.6: the port is always given). */
  get authority(): string {
    return `${isIP(this.hostname) === 6 ? `[${this.hostname}]` : this.hostname}:${this.port}`;
  }
}

/** One request on its way: the handler, and the two callbacks handed to it. */
class Pending {
  conn: Connection | undefined;
  done = false;
  paused = false;

  constructor(
    readonly handler: DispatchHandler,
    readonly bytes: string | Buffer,
    readonly isHead: boolean,
  ) {}

  readonly abort = (reason?: Error): void => {
    if (this.done) return;
    // The socket may be mid-response: it is destroyed, never reused.
    this.conn?.fail(this, reason ?? new Error('request aborted'));
  };

  readonly resume = (): void => {
    if (!this.paused || this.done) return;
    this.paused = false;
    this.conn?.socket.resume();
  };
}

class Connection implements ResponseSink {
  /** The connection's socket: TLS, or TCP (to the proxy when there is one); the TCP socket under a tunnel's TLS is `raw`. */
  socket: Socket;
  private raw: Socket | undefined;
  /** Through a proxy: true until the tunnel is up (or, for http, the proxy connected), while errors are the proxy's. */
  private viaProxy = false;
  private connectReply: Buffer | undefined;
  private readonly parser = new ResponseParser(this);
  /** The request this connection serves (undefined while idle). */
  req: Pending | undefined;
  idle = false;
  dead = false;
  /** When an idle connection is given up (Date.now() ms). */
  idleDeadline = Infinity;
  /** A request that took this idle connection; sent once the event loop has polled it (Agent.validateLater). */
  waiting: Pending | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = now();
  /** Responses read whole on this connection: a close before the first one is a server that never answered us. */
  private answered = 0;

  constructor(
    private readonly agent: Agent,
    readonly pool: OriginPool,
    first: Pending | undefined,
    private onReady: ((err: Error | undefined) => void) | undefined,
  ) {
    this.req = first;
    if (first) first.conn = this;
    const ms = agent.connectTimeoutMs;
    if (pool.proxy) {
      // TCP to the proxy; then CONNECT and TLS (https), or requests in absolute form (http). The connect
      // timer covers all of it, and the connect time reported is all of it.
      this.viaProxy = true;
      const raw = netConnect({ host: pool.proxy.hostname, port: pool.proxy.port });
      this.socket = raw;
      raw.once('connect', this.onProxyConnected);
      if (!pool.https) raw.on('data', this.onData);
    } else if (pool.https) {
      const s = tlsConnect({
        host: pool.hostname,
        port: pool.port,
        servername: pool.servername,
        ALPNProtocols: ['http/1.1'],
        session: pool.session,
        ca: agent.ca,
      });
      s.on('session', (session: Buffer) => (pool.session = session));
      s.once('secureConnect', this.onConnected);
      this.socket = s;
    } else {
      // Reads land in the agent's one buffer and reach onRead directly, without a Readable stream's
      // push and 'data' event per read (the kept bytes are copied out: they outlive the next read).
      this.socket = netConnect({ host: pool.hostname, port: pool.port, onread: { buffer: agent.readBuffer, callback: this.onRead } });
      this.socket.once('connect', this.onConnected);
    }
    if (pool.https && !pool.proxy) this.socket.on('data', this.onData);
    this.socket.on('end', this.onEnd);
    this.socket.on('error', this.onSocketError);
    this.socket.on('close', this.onClose);
    this.connectTimer = setTimeout(() => this.onSocketError(new H1Error(`connect timeout after ${ms} ms`, CONNECT_TIMEOUT)), ms);
    agent.live++;
    if (!first) agent.opening.add(this);
  }

  private readonly onProxyConnected = (): void => {
    const pool = this.pool;
    if (!pool.https) {
      this.onConnected();
      return;
    }
    this.connectReply = Buffer.alloc(0);
    this.socket.on('data', this.onConnectReply);
    this.socket.write(`CONNECT ${pool.authority} HTTP/1.1\r\nhost: ${pool.authority}\r\n${pool.proxyAuthLine}\r\n`);
  };

  /** The proxy's answer to CONNECT: 2xx starts TLS over the tunnel; anything else is an error naming the proxy and the status. */
  private readonly onConnectReply = (chunk: Buffer): void => {
    const reply = Buffer.concat([this.connectReply!, chunk]);
    this.connectReply = reply;
    const end = reply.indexOf('\r\n\r\n');
    const proxy = this.pool.proxy!;
    const what = `proxy ${proxy.display} (${proxy.variable})`;
    if (end < 0) {
      if (reply.length > MAX_CONNECT_REPLY) this.onSocketError(new H1Error(`${what} answered CONNECT ${this.pool.authority} with something other than HTTP`, PROXY_CONNECT));
      return;
    }
    const m = /^HTTP\/1\.[01] (\d{3})(?: ([^\r\n]*))?\r\n/.exec(reply.toString('latin1', 0, Math.min(end + 2, 1024)));
    if (m === null) {
      this.onSocketError(new H1Error(`${what} answered CONNECT ${this.pool.authority} with something other than HTTP`, PROXY_CONNECT));
      return;
    }
    const status = Number(m[1]);
    if (status < 200 || status > 299) {
      const reason = (m[2] ?? '').replace(/[^\x20-\x7e]/g, '').slice(0, 100);
      // 401 too: some proxies (tinyproxy 1.11) answer wrong credentials with it rather than 407.
      const hint =
        status === 407 || status === 401
          ? `; ${proxyAuthHint(proxy)}`
          : status === 403
            ? '; the proxy does not allow this host or port'
            : '';
      this.onSocketError(new H1Error(`proxy ${proxy.display} refused CONNECT ${this.pool.authority}: HTTP ${status}${reason ? ` ${reason}` : ''}${hint}`, PROXY_CONNECT, status));
      return;
    }
    if (end + 4 < reply.length) {
      // TLS's client speaks first: bytes from the far end before our hello are not a tunnel.
      this.onSocketError(new H1Error(`${what} sent bytes after its answer to CONNECT ${this.pool.authority}`, PROXY_CONNECT));
      return;
    }
    this.connectReply = undefined;
    const raw = this.socket;
    raw.removeListener('data', this.onConnectReply);
    raw.removeListener('end', this.onEnd);
    raw.removeListener('close', this.onClose);
    this.raw = raw;
    this.viaProxy = false;
    const pool = this.pool;
    const s = tlsConnect({
      socket: raw,
      host: pool.hostname,
      servername: pool.servername,
      ALPNProtocols: ['http/1.1'],
      session: pool.session,
      ca: this.agent.ca,
    });
    s.on('session', (session: Buffer) => (pool.session = session));
    s.once('secureConnect', this.onConnected);
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('error', this.onSocketError);
    s.on('close', this.onClose);
    this.socket = s;
  };

  private readonly onConnected = (): void => {
    this.viaProxy = false;
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.agent.opening.delete(this);
    this.socket.setNoDelay(true);
    this.socket.setKeepAlive(true, 60_000);
    this.agent.onConnectTime?.(now() - this.startedAt);
    const ready = this.onReady;
    this.onReady = undefined;
    ready?.(undefined);
    const req = this.req;
    if (req) this.start(req);
    else if (!this.dead) this.release(Infinity);
  };

  /** Sends `req` on this connected socket. */
  start(req: Pending): void {
    this.req = req;
    req.conn = this;
    this.parser.expect(req.isHead);
    req.handler.onConnect(req.abort);
    // The handler may have aborted at once (its caller gave up while the connection was opening).
    if (req.done) return;
    this.socket.write(req.bytes);
  }

  private readonly isStopped = (): boolean => this.req === undefined || this.req.done;

  private readonly onRead = (n: number): boolean => {
    const chunk = Buffer.allocUnsafe(n);
    this.agent.readBuffer.copy(chunk, 0, 0, n);
    this.onData(chunk);
    // Pausing is done by socket.pause(), which works with this way of reading too.
    return true;
  };

  private readonly onData = (chunk: Buffer): void => {
    const req = this.req;
    if (req === undefined) {
      // Bytes on an idle connection (a late 408, junk): it is no longer in a known state.
      this.destroy();
      return;
    }
    let end: number;
    try {
      end = this.parser.execute(chunk, this.isStopped);
    } catch (e) {
      this.fail(req, e as Error);
      return;
    }
    if (end < 0 || req.done) return;
    if (end < chunk.length) {
      this.fail(req, new H1Error('malformed HTTP response: bytes after the end of the response', EXTRA_BYTES));
      return;
    }
    this.complete(req);
  };

  onResponseHead(statusCode: number, rawHeaders: RawHeaders): void {
    const req = this.req!;
    if (!req.handler.onHeaders(statusCode, rawHeaders, req.resume)) this.pause(req);
  }

  onResponseData(chunk: Buffer): void {
    const req = this.req!;
    if (!req.handler.onData(chunk)) this.pause(req);
  }

  private pause(req: Pending): void {
    if (req.done || req.paused) return;
    req.paused = true;
    this.socket.pause();
  }

  private complete(req: Pending): void {
    this.answered++;
    this.req = undefined;
    req.done = true;
    if (req.paused) {
      req.paused = false;
      this.socket.resume();
    }
    let keep = this.parser.reusable && !this.agent.closed;
    let idleMs = this.agent.idleTimeoutMs;
    if (keep && this.parser.keepAliveMs >= 0) {
      idleMs = Math.min(this.parser.keepAliveMs - KEEP_ALIVE_MARGIN_MS, this.agent.maxIdleTimeoutMs);
      if (idleMs <= 0) keep = false;
    }
    // Back in the pool before the handler hears of the end, so a request it sends at once reuses it.
    if (keep) this.release(idleMs);
    else this.destroy();
    req.handler.onComplete(null);
  }

  /** Ends `req` with `err` and destroys the connection. */
  fail(req: Pending, err: Error): void {
    if (req.done) return;
    req.done = true;
    if (this.req === req) this.req = undefined;
    if (this.waiting === req) this.waiting = undefined;
    this.destroy();
    req.handler.onError(err);
  }

  private release(idleMs: number): void {
    if (this.dead) return;
    if (this.agent.closed) {
      this.destroy();
      return;
    }
    this.idle = true;
    this.idleDeadline = idleMs === Infinity ? Infinity : Date.now() + idleMs;
    // An idle connection does not keep the process alive (a command that never closes its adapters can exit).
    this.socket.unref();
    this.pool.idle.push(this);
    this.agent.armSweep();
  }

  /** Takes this idle connection for a request; false when it is no longer usable. */
  take(): boolean {
    this.idle = false;
    if (this.dead || this.socket.destroyed || Date.now() >= this.idleDeadline) {
      this.destroy();
      return false;
    }
    this.socket.ref();
    return true;
  }

  destroy(): void {
    if (this.dead) return;
    this.dead = true;
    clearTimeout(this.connectTimer);
    this.agent.opening.delete(this);
    if (this.idle) this.unlist();
    this.socket.destroy();
    this.raw?.destroy();
    this.resendWaiting();
  }

  /** Validation done: sends the request that was waiting for it. */
  validate(): void {
    const w = this.waiting;
    if (w === undefined || this.dead) return;
    this.waiting = undefined;
    this.start(w);
  }

  /** A waiting request's bytes were never written: it goes to another connection (no retry of a sent request). */
  private resendWaiting(): void {
    const w = this.waiting;
    if (w === undefined) return;
    this.waiting = undefined;
    w.conn = undefined;
    this.agent.send(this.pool, w);
  }

  private unlist(): void {
    this.idle = false;
    const i = this.pool.idle.indexOf(this);
    if (i >= 0) this.pool.idle.splice(i, 1);
  }

  /** The proxy hung up before the tunnel was up (or, for http, before it connected). */
  private proxyClosed(): void {
    const proxy = this.pool.proxy!;
    const during = this.connectReply !== undefined ? `before answering CONNECT ${this.pool.authority}` : 'while connecting';
    this.onSocketError(new H1Error(`proxy ${proxy.display} (${proxy.variable}) closed the connection ${during}`, SOCKET_CLOSED));
  }

  private readonly onEnd = (): void => {
    if (this.viaProxy) return this.proxyClosed();
    const req = this.req;
    if (req === undefined) {
      this.destroy();
      return;
    }
    if (this.parser.finish()) {
      // A body delimited by the end of the connection.
      this.complete(req);
      return;
    }
    const untouched = this.parser.untouched;
    const hint = untouched && this.answered === 0 && !this.pool.https && !this.pool.proxy ? PLAIN_TO_TLS_HINT : undefined;
    this.fail(req, new H1Error(untouched ? 'closed by the server before answering' : 'closed by the server', SOCKET_CLOSED, 0, hint));
  };

  private readonly onSocketError = (err: Error): void => {
    // Errors while the proxy is the far end (refused, reset, timeout) say so; the tunnel's TLS errors are the
    // target's. So is a 5xx answer to CONNECT: the proxy tried the target and could not reach it (tinyproxy's
    // "500 Unable to connect", a 502 or 503), which is the provider down, not the proxy.
    const targetFailed = err instanceof H1Error && err.code === PROXY_CONNECT && err.status >= 500;
    if (this.pool.proxy && (this.viaProxy || (err as { code?: string }).code === CONNECT_TIMEOUT)) Object.assign(err, { [VIA]: this.pool.proxy, [AT_PROXY]: this.viaProxy && !targetFailed });
    const ready = this.onReady;
    this.onReady = undefined;
    ready?.(err);
    const req = this.req;
    if (req) this.fail(req, err);
    else this.destroy();
  };

  private readonly onClose = (): void => {
    if (this.viaProxy && !this.dead) this.proxyClosed();
    const req = this.req;
    if (req) this.fail(req, new H1Error('closed by the server', SOCKET_CLOSED));
    const ready = this.onReady;
    this.onReady = undefined;
    ready?.(new H1Error('closed by the server', SOCKET_CLOSED));
    if (!this.dead) {
      this.dead = true;
      clearTimeout(this.connectTimer);
      this.agent.opening.delete(this);
      if (this.idle) this.unlist();
    }
    this.resendWaiting();
    this.agent.closedOne();
  };
}

/** Keep-alive pools per origin; a request takes an idle connection or opens a new one (no limit). */
export class Agent {
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxIdleTimeoutMs: number;
  readonly onConnectTime: ((ms: number) => void) | undefined;
  readonly ca: string | Buffer | undefined;
  private readonly proxyFor: ((origin: URL) => ProxyRoute | undefined) | undefined;
  closed = false;
  /** Where plain-TCP reads land, shared by all connections (each read is copied out before the next). */
  readonly readBuffer = Buffer.allocUnsafe(64 * 1024);
  /** Connections not yet closed (connecting, busy or idle). */
  live = 0;
  /** Connections opened ahead of any request (preconnect) and still connecting: close() drops them at once. */
  readonly opening = new Set<Connection>();
  private readonly pools = new Map<string, OriginPool>();
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Connections taken since the last check phase, and those waiting for the next one. */
  private unvalidated: Connection[] = [];
  private validating: Connection[] = [];
  private validateImmediate: NodeJS.Immediate | undefined;
  private onAllClosed: (() => void) | undefined;

  constructor(opts: AgentOptions) {
    this.connectTimeoutMs = opts.connectTimeoutMs;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 30_000;
    this.maxIdleTimeoutMs = opts.maxIdleTimeoutMs ?? 600_000;
    this.onConnectTime = opts.onConnectTime;
    this.ca = opts.ca;
    this.proxyFor = opts.proxyFor;
  }

  /** Sends one request; its outcome reaches `handler` (an invalid request reaches it as onError, at once). */
  dispatch(opts: RequestOptions, handler: DispatchHandler): boolean {
    let pool: OriginPool;
    let req: Pending;
    try {
      if (this.closed) throw new H1Error('the HTTP client is closed', AGENT_CLOSED);
      pool = this.pool(opts.origin);
      req = new Pending(handler, serialiseRequest(opts, pool.host, pool.via), opts.method === 'HEAD');
    } catch (e) {
      handler.onError(e as Error);
      return false;
    }
    this.send(pool, req);
    return true;
  }

  /** Puts `req` on an idle connection of `pool`, or on a new one. */
  send(pool: OriginPool, req: Pending): void {
    if (this.closed) {
      req.done = true;
      req.handler.onError(new H1Error('the HTTP client is closed', AGENT_CLOSED));
      return;
    }
    const idle = pool.idle;
    for (let c = idle.pop(); c !== undefined; c = idle.pop()) {
      if (c.take()) {
        c.waiting = req;
        req.conn = c;
        this.validateLater(c);
        return;
      }
    }
    new Connection(this, pool, req, undefined);
  }

  /**
   * An idle connection carries the request that took it only after the event loop has polled sockets
   * once more: an end of file or stray bytes the server already sent are seen first, so the connection
   * is dropped and the request goes to another, instead of being written to it and answered by those
   * bytes (undici checks the same before each reuse, GHSA-35p6-xmwp-9g52). One setImmediate is not
   * enough: taken from an I/O callback, it runs before the next poll. The second one, scheduled from
   * the first, runs after a poll phase. Both are shared by every connection taken in the meantime, and
   * the wait is before onConnect, so it is not in any request's time.
   */
  validateLater(c: Connection): void {
    this.unvalidated.push(c);
    if (this.validateImmediate === undefined) this.validateImmediate = setImmediate(this.afterCheck);
  }

  private readonly afterCheck = (): void => {
    this.validateImmediate = setImmediate(this.validateAll);
    this.validating = this.unvalidated;
    this.unvalidated = [];
  };

  private readonly validateAll = (): void => {
    const list = this.validating;
    this.validating = [];
    this.validateImmediate = undefined;
    if (this.unvalidated.length) this.validateImmediate = setImmediate(this.afterCheck);
    for (let i = 0; i < list.length; i++) list[i].validate();
  };

  private pool(origin: string): OriginPool {
    let pool = this.pools.get(origin);
    if (pool === undefined) {
      const url = new URL(origin);
      pool = new OriginPool(url, this.proxyFor?.(url));
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /**
   * Opens `n` connections to `origin` now and keeps them idle (with no idle limit until first used), so
   * requests sent later do not pay TCP and TLS set-up. Resolves with how many could not be opened.
   */
  async preconnect(origin: URL, n: number): Promise<{ failed: number }> {
    if (this.closed) return { failed: n };
    const pool = this.pool(origin.origin);
    let failed = 0;
    await Promise.all(
      Array.from({ length: n }, () => new Promise<void>((resolve) => {
        new Connection(this, pool, undefined, (err) => {
          if (err) failed++;
          resolve();
        });
      })),
    );
    return { failed };
  }

  /** Drops idle connections past their deadline, once a second while any are idle. */
  armSweep(): void {
    if (this.sweepTimer !== undefined) return;
    this.sweepTimer = setInterval(() => {
      const t = Date.now();
      let idle = 0;
      for (const pool of this.pools.values()) {
        for (const c of pool.idle.slice()) if (t >= c.idleDeadline) c.destroy();
        idle += pool.idle.length;
      }
      if (idle === 0) {
        clearInterval(this.sweepTimer);
        this.sweepTimer = undefined;
      }
    }, SWEEP_EVERY_MS);
    this.sweepTimer.unref();
  }

  closedOne(): void {
    this.live--;
    if (this.live === 0 && this.onAllClosed) this.onAllClosed();
  }

  /**
   * Closes idle connections and those still opening for no request now (a host that drops SYNs would
   * otherwise hold close() for the connect timeout), busy ones when their response ends; resolves when all
   * are closed.
   */
  close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const pool of this.pools.values()) for (const c of pool.idle.slice()) c.destroy();
    for (const c of [...this.opening]) c.destroy();
    if (this.live === 0) return Promise.resolve();
    return new Promise((resolve) => (this.onAllClosed = resolve));
  }
}

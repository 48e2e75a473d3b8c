import { isIP } from 'node:net';
import { DEFAULT_MAX_VERSION, DEFAULT_MIN_VERSION } from 'node:tls';
import { Agent, CONNECT_TIMEOUT, EXTRA_BYTES, failedAtProxy, H1Error, PROXY_CONNECT, proxyOf, SOCKET_CLOSED } from './h1/agent.js';
import { MALFORMED_RESPONSE } from './h1/response-parser.js';
import { ContentCodingError } from './content-coding.js';
import type { ProxyRoute } from './proxy.js';
import { now } from '../util/clock.js';
import { sliceTimeout, type SliceTimer } from '../util/loop-slices.js';
import { ProviderError, type TimeoutPhase } from './errors.js';
import type { Timeouts } from './types.js';
import { redact } from '../util/redact.js';
import { unwatchAbort, watchAbort } from '../util/abort.js';

/** The rule, as messages state it. */
export const PLAIN_HTTP_RULE = 'use an https:// base_url (plain http is allowed only for loopback: 127.0.0.0/8, ::1 and localhost)';

/**
 * True when a URL hostname (as `new URL()` gives it) is a loopback address: 127.0.0.0/8, ::1, or the name
 * `localhost`. Decided on the parsed address, so 0.0.0.0, `[::ffff:127.0.0.1]` (a v4-mapped address,
 * which URL normalises to `[::ffff:7f00:1]`) and names like `127.0.0.1.example.com` are not loopback.
 * `localhost` is accepted because RFC 6761 reserves it for loopback and local servers (Ollama, vLLM) are
 * usually configured that way; `localhost.` and `*.localhost` are not.
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.split('.')[0] === '127';
  if (isIP(h) === 6) return h === '::1';
  return false;
}

/**
 * One keep-alive pool per origin, on our own HTTP/1.1 client (src/providers/h1): undici's Agent cost
 * about twice autocannon's CPU per request on bench's hot path. Our own clocks govern headers and body;
 * the agent enforces only the TCP/TLS connect timeout, the one place that can.
 */
export class ConnectionPool {
  readonly agent: Agent;
  /** How long each connection took to open (TCP + TLS), ms, since last drained. */
  private connectTimes: number[] = [];

  /** `proxy`: the proxy its adapter's origin goes through, decided once by the adapter (src/providers/proxy.ts). */
  constructor(connectTimeoutMs: number | undefined, proxy?: ProxyRoute) {
    this.agent = new Agent({
      proxyFor: proxy && (() => proxy),
      connectTimeoutMs: connectTimeoutMs && connectTimeoutMs > 0 ? connectTimeoutMs : 10_000,
      idleTimeoutMs: 30_000,
      maxIdleTimeoutMs: 600_000,
      onConnectTime: (ms) => this.connectTimes.push(ms),
    });
  }

  /**
   * Opens `n` connections to `origin` now (as wrk does before its clock starts), so the requests measured
   * later do not pay TCP and TLS set-up. Resolves with how many could not be opened (their requests will
   * try again, and pay the set-up inside their latency).
   */
  preconnect(origin: URL, n: number): Promise<{ failed: number }> {
    return this.agent.preconnect(origin, n);
  }

  /** Connect times (ms) recorded since the last call, pre-opened and opened during the run alike. */
  takeConnectTimes(): number[] {
    const out = this.connectTimes;
    this.connectTimes = [];
    return out;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/**
 * The three clocks of one attempt (connect is the agent's) under one overall deadline. Firing a clock aborts
 * the request through `signal`; `toError` then names the clock that fired, so the caller can tell a
 * silent provider (first_token) from a stalled stream (idle).
 *
 * One timer serves all three: it is set for the earliest deadline and, when it fires, checks which
 * deadline has passed and re-arms itself for the next. A token only notes its time (a timer operation
 * per token, or per request at the first token, was measurable in bench's CPU per request).
 */
export class AttemptClock {
  phase: TimeoutPhase | undefined;
  /** True once the caller's signal fired. */
  userAborted = false;
  private stop: ((reason: Error) => void) | undefined;
  private stopped: Error | undefined;
  private timer: SliceTimer | undefined;
  private readonly started = now();
  /** Monotonic deadlines (Infinity when that clock is off). */
  private readonly totalAt: number;
  /** The total clock's length (ms), and whether the call's deadline set it rather than the configured total. */
  private readonly totalMs: number | undefined;
  private readonly byDeadline: boolean;
  private readonly firstTokenAt: number;
  /** Set at the first token: from then on the idle clock runs instead of the first-token clock. */
  private sawToken = false;
  /** Monotonic time of the last data event, read by the timer when it fires. */
  private lastActivity = 0;
  private readonly onUserAbort = () => {
    this.userAborted = true;
    this.halt(new Error('cancelled by the caller'));
  };

  constructor(
    private readonly timeouts: Timeouts,
    deadlineInMs: number | undefined,
    private readonly userSignal: AbortSignal | undefined,
  ) {
    const total = minDefined(timeouts.totalMs, deadlineInMs);
    this.totalAt = total === undefined ? Infinity : this.started + Math.max(0, total);
    // The total clock is the call's deadline when that comes first: the message then says so, not the configured total.
    this.totalMs = total === undefined ? undefined : Math.max(0, Math.round(total));
    this.byDeadline = deadlineInMs !== undefined && total === deadlineInMs && deadlineInMs !== timeouts.totalMs;
    this.firstTokenAt = timeouts.firstTokenMs ? this.started + timeouts.firstTokenMs : Infinity;
    this.arm();
    if (userSignal) {
      if (userSignal.aborted) this.onUserAbort();
      else watchAbort(userSignal, this.onUserAbort);
    }
  }

  /** What to call when a clock fires or the caller aborts: ends the HTTP exchange in flight. */
  bind(stop: (reason: Error) => void): void {
    this.stop = stop;
    if (this.stopped) stop(this.stopped);
  }

  /** Ends the attempt as cancelled by its caller (a consumer that stopped reading). */
  cancel(reason: Error): void {
    this.userAborted = true;
    this.halt(reason);
  }

  private halt(reason: Error): void {
    if (this.userAborted) {
      const c = this.onCancel;
      this.onCancel = undefined;
      c?.();
    }
    if (this.stopped) return;
    this.stopped = reason;
    this.stop?.(reason);
  }

  /** The reader is holding the stream back (ChatRequest.ready): the idle clock waits for it, the total clock does not. */
  private holding = false;
  /** A clock (the total, or the call's deadline) ran out while the reader held the stream: the wait was the reader's. */
  private firedHolding = false;
  private onCancel: (() => void) | undefined;

  /**
   * Resolves when the caller cancels (its signal, or a consumer that stopped reading). A reader holding the
   * stream back waits for it too: with the whole response already read, there is no exchange left to abort.
   */
  whenCancelled(): Promise<void> {
    if (this.userAborted) return Promise.resolve();
    return new Promise((resolve) => (this.onCancel = resolve));
  }

  hold(): void {
    this.holding = true;
    this.arm();
  }

  /** The reader caught up: the idle clock starts again from now (what arrived meanwhile was not the provider's silence). */
  release(): void {
    this.holding = false;
    this.lastActivity = Math.max(this.lastActivity, now());
    this.arm();
  }

  /** The first token arrived (at monotonic time `t`): the first-token clock stops and the idle clock starts. */
  firstToken(t: number): void {
    // Never back in time: text read off the socket during a hold is decoded after release() restarted the idle clock.
    if (t > this.lastActivity) this.lastActivity = t;
    if (this.sawToken) return;
    this.sawToken = true;
    // Only an idle clock shorter than what is left of the current timer needs the timer moved.
    if (this.timeouts.idleMs && t + this.timeouts.idleMs < this.firstTokenAt && t + this.timeouts.idleMs < this.totalAt) this.arm();
  }

  /**
   * Bytes of a non-streamed body arrived at `t` (a stream's tokens go through `firstToken`; its keep-alives
   * never come here, so they cannot hold a stalled stream open). Only the time is noted: the timer checks it when it fires.
   */
  activity(t: number): void {
    this.lastActivity = t;
  }

  /** The deadline the timer must wake for next. */
  private nextDeadline(): number {
    const idle = this.sawToken && this.timeouts.idleMs && !this.holding ? this.lastActivity + this.timeouts.idleMs : Infinity;
    return Math.min(this.totalAt, this.sawToken ? Infinity : this.firstTokenAt, idle);
  }

  private arm(): void {
    this.timer?.cancel();
    this.timer = undefined;
    const at = this.nextDeadline();
    if (at === Infinity) return;
    // In a slice (sliceTimeout): a token read before the deadline but not yet decoded is seen first.
    this.timer = sliceTimeout(this.check, Math.max(0, Math.ceil(at - now())));
  }

  private readonly check = (): void => {
    this.timer = undefined;
    const t = now();
    // A timer can fire a little early against performance.now(): within 1 ms counts as due.
    const due = (at: number) => t + 1 >= at;
    if (!this.sawToken && due(this.firstTokenAt)) return this.fire('first_token');
    if (this.sawToken && this.timeouts.idleMs && !this.holding && due(this.lastActivity + this.timeouts.idleMs)) return this.fire('idle');
    if (due(this.totalAt)) return this.fire('total');
    this.arm();
  };

  private fire(phase: TimeoutPhase): void {
    if (this.phase || this.stopped) return;
    this.phase = phase;
    this.firedHolding = this.holding;
    this.halt(new Error(`${phase} timeout`));
  }

  dispose(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.userSignal) unwatchAbort(this.userSignal, this.onUserAbort);
  }

  get cancelledByUser(): boolean {
    return this.userAborted && this.phase === undefined;
  }

  timeoutError(provider: string, phase: TimeoutPhase = this.phase ?? 'total'): ProviderError {
    const limits: Record<TimeoutPhase, number | undefined> = {
      connect: this.timeouts.connectMs,
      first_token: this.timeouts.firstTokenMs,
      idle: this.timeouts.idleMs,
      total: this.totalMs,
    };
    const limit = limits[phase];
    // Run out while the reader held the stream back, the time was the reader's: not the provider's failure.
    const byReader = this.firedHolding && phase === this.phase;
    return new ProviderError({
      errorClass: 'timeout',
      provider,
      timeoutPhase: phase,
      byReader,
      message: `${provider}: ${phase.replace('_', ' ')} timeout${limit ? ` after ${limit}ms` : ''}${phase === 'total' && this.byDeadline ? ' (what was left of the call\'s deadline)' : ''}${byReader ? ', while the reader was behind (the provider was held back for it)' : ''}`,
    });
  }
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || a <= 0) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

function errorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; cur && depth < 5; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The host:port a socket error names (Node sets `address`/`port`, or `hostname` for DNS), if any. */
function errorAddress(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; cur && depth < 5; depth++) {
    const { address, port, hostname } = cur as { address?: unknown; port?: unknown; hostname?: unknown };
    if (typeof address === 'string') return typeof port === 'number' ? (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`) : address;
    if (typeof hostname === 'string') return hostname;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Maps a thrown transport error onto the taxonomy. `inBody` tells whether headers had arrived:
 * a connection lost after that is a cut stream (incomplete_stream), before it a network failure.
 */
export function transportError(provider: string, e: unknown, clock: AttemptClock, inBody: boolean): ProviderError {
  if (e instanceof ProviderError) return e;
  if (e instanceof ContentCodingError) {
    // A coding not decoded here or a body past its cap comes the same way again; a damaged body may not.
    return new ProviderError({ errorClass: 'malformed_response', provider, retryable: e.kind === 'corrupt' ? undefined : false, message: `${provider}: ${e.message}` });
  }
  if (clock.phase) return clock.timeoutError(provider);
  if (clock.cancelledByUser) {
    return new ProviderError({ errorClass: 'cancelled', provider, retryable: false, message: `${provider}: cancelled` });
  }
  const code = errorCode(e) ?? 'UNKNOWN';
  const text = redact(e instanceof Error ? e.message : String(e));
  const proxy = proxyOf(e);
  // A proxy that refused, dropped or never answered us says nothing about the provider behind it.
  const atProxy = failedAtProxy(e);
  if (code === CONNECT_TIMEOUT) {
    // Worded by the clock, as the other clocks' timeouts are: "connect timeout after 300ms".
    const t = clock.timeoutError(provider, 'connect');
    if (!proxy) return t;
    return new ProviderError({ errorClass: 'timeout', provider, timeoutPhase: 'connect', atProxy, message: `${t.message} (through proxy ${proxy.display} from ${proxy.variable})` });
  }
  if (code === PROXY_CONNECT || (proxy && code === SOCKET_CLOSED)) {
    // The agent's message names the proxy (never its credentials), the target and the answer.
    const status = (e as { status?: number }).status ?? 0;
    const settled = status === 401 || status === 403 || status === 407;
    return new ProviderError({ errorClass: 'network', provider, networkCode: code, atProxy, retryable: settled ? false : undefined, message: `${provider}: ${text}` });
  }
  if (inBody) {
    // A body the parser refused came over a live connection: saying the connection was lost would send the
    // user looking at the network, when the server's framing is what broke (the text says how).
    const malformed = code === MALFORMED_RESPONSE || code === EXTRA_BYTES;
    return new ProviderError({
      errorClass: 'incomplete_stream',
      provider,
      networkCode: code,
      message: malformed ? `${provider}: the answer broke off: ${text}` : `${provider}: connection lost mid-response (${text})`,
    });
  }
  const kind: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    [SOCKET_CLOSED]: 'connection closed by the server',
    EPIPE: 'connection closed by the server',
    ENOTFOUND: 'host not found (DNS)',
    EAI_AGAIN: 'DNS lookup failed',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
  };
  const hint = e instanceof H1Error ? e.hint : undefined;
  const what = `${kind[code] ?? tlsFailure(code, e) ?? text}${hint ? `; ${hint}` : ''}`;
  const where = errorAddress(e);
  // A TLS failure that comes back identical on every attempt is not worth a retry's backoff on the same provider;
  // it still counts against the provider's breaker and health (its class stays network).
  const retryable = tlsSettled(code) ? false : undefined;
  if (proxy) {
    return new ProviderError({ errorClass: 'network', provider, networkCode: code, atProxy, retryable, message: `${provider}: ${kind[code] ? `${what} at proxy` : `${what}; through proxy`} ${proxy.display} (from ${proxy.variable})` });
  }
  return new ProviderError({ errorClass: 'network', provider, networkCode: code, retryable, message: `${provider}: ${what}${where && kind[code] ? ` (${where})` : ''}` });
}

/**
 * What a TLS error code means to the person who has to fix it, or undefined when the code is not TLS's.
 * `e`, the error itself, adds what Node put on it: for a host name mismatch, the names the certificate is for.
 * OpenSSL's verify codes do not all say CERT (UNABLE_TO_VERIFY_LEAF_SIGNATURE: a server that sends its
 * certificate without the chain, or one signed by a private CA).
 */
export function tlsFailure(code: string, e?: unknown): string | undefined {
  // Both are judged by this machine's clock: a clock far off makes every server's certificate fail so.
  if (code === 'CERT_HAS_EXPIRED') return `TLS failure: the server's certificate has expired (${code}); the server must renew it, unless this machine's clock is wrong`;
  if (code === 'CERT_NOT_YET_VALID') return `TLS failure: the server's certificate is not valid yet (${code}); check this machine's clock`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = certificateNames(e);
    const host = (e as { host?: unknown } | undefined)?.host;
    if (!names || typeof host !== 'string') return `TLS failure: the server's certificate is not for this host name (${code})`;
    return `TLS failure: the server's certificate is for ${names}, not ${safeName(host)} (${code}); use a base_url with a name the certificate is for, or a certificate for ${safeName(host)}`;
  }
  if (code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY') {
    // OpenSSL cannot tell these two apart (openssl verify says "unable to get local issuer certificate" for
    // both): a CA nobody trusts, or a trusted CA's intermediate the server left out of its chain.
    return `TLS failure: the server's certificate is not trusted (${code}): its issuer is neither a trusted CA nor sent by the server; a server must send its intermediate certificates, and a private CA (or a missing intermediate) can be added with NODE_EXTRA_CA_CERTS`;
  }
  // A self-signed certificate is its own CA: listed in NODE_EXTRA_CA_CERTS, it is trusted (openssl verify -CAfile
  // cert.pem cert.pem says OK).
  if (code === 'DEPTH_ZERO_SELF_SIGNED_CERT') return `TLS failure: the server's certificate is self-signed, so not trusted (${code}); if it is yours, add it to NODE_EXTRA_CA_CERTS`;
  if (/SELF_SIGNED|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED|CERT_CHAIN_TOO_LONG|INVALID_CA/.test(code)) {
    return `TLS failure: the server's certificate is not trusted (${code}); a private CA can be added with NODE_EXTRA_CA_CERTS`;
  }
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG/.test(code)) return `TLS failure: the server did not answer in TLS (${code}); check the port, and a local server that speaks plain HTTP takes an http:// base_url`;
  // The server's alert when it offers no version Node offers: an OpenSSL server limited to TLS 1.1 or 1.0
  // answers Node's hello so, and a TLS 1.3-only server answers so a Node started with --tls-max-v1.2.
  if (code === 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION') {
    const limit = narrowedTlsVersions();
    if (limit) return `TLS failure: the server and this Node share no TLS version (${code}): Node offers only ${clientTlsVersions()}, as ${limit} limits it; remove that option, or the server must offer ${clientTlsVersions()}`;
    return `TLS failure: the server's TLS is too old (${code}): it offers no version Node accepts (${clientTlsVersions()}); the server must be upgraded`;
  }
  // The server chose an older version than Node allows: what a server that ignores TLS 1.3's version list
  // does (openssl s_server -tls1_1 answers a hello without that list, as Node's with --tls-max-v1.2, so).
  if (code === 'ERR_SSL_UNSUPPORTED_PROTOCOL') return `TLS failure: the server's TLS is too old (${code}): it chose a version older than Node accepts (${clientTlsVersions()}); the server must be upgraded`;
  // OpenSSL's answer when no cipher suite is shared, or when a TLS 1.2 server wants a client certificate.
  if (code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE') return `TLS failure: the server refused the TLS handshake (${code}): it shares no cipher suite with Node, or it requires a client certificate, which llm-fallback does not send; the server's TLS settings must change`;
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') return `TLS failure: the server requires a client certificate (${code}), which llm-fallback does not send; the server must accept clients without one`;
  if (/CERT|TLS|SSL/i.test(code) || code === 'EPROTO') return `TLS failure (${code})`;
  return undefined;
}

/**
 * Certificate verdicts (OpenSSL's verify codes as Node names them: the X509ErrorCode list in Node's
 * src/crypto/crypto_common.cc, less OUT_OF_MEM; and Node's own host name check) and handshake refusals that come back identical on every attempt to the same server: its certificate, its
 * TLS versions and its cipher suites do not change in the next second. A reset or a close during the
 * handshake (ECONNRESET, a connect timeout) is not here: that can be transient.
 */
const SETTLED_TLS_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
]);

/** True when a TLS failure comes back the same on every attempt, so the chain falls over instead of retrying. */
export function tlsSettled(code: string): boolean {
  return SETTLED_TLS_CODES.has(code);
}

/** "TLSv1.2" → "1.2"; Node names TLS 1.0 "TLSv1". */
const versionNumber = (name: string) => (name === 'TLSv1' ? '1.0' : name.replace(/^TLSv/, ''));

/** The TLS versions this Node offers, in words: "TLS 1.2 and 1.3", "TLS 1.2", "TLS 1.0 to 1.3". */
function clientTlsVersions(): string {
  const [min, max] = [DEFAULT_MIN_VERSION, DEFAULT_MAX_VERSION].map(versionNumber);
  if (min === max) return `TLS ${min}`;
  return min === '1.2' && max === '1.3' ? 'TLS 1.2 and 1.3' : `TLS ${min} to ${max}`;
}

/**
 * The node option that narrowed the versions Node offers below its default (1.2 and 1.3), if one did:
 * --tls-max-v1.2 or --tls-min-v1.3, in NODE_OPTIONS or on node's command line. The agent sets no versions
 * of its own, so Node's defaults are what it offers.
 */
function narrowedTlsVersions(): string | undefined {
  const flags: string[] = [];
  if (DEFAULT_MAX_VERSION < 'TLSv1.3') flags.push(`--tls-max-v${versionNumber(DEFAULT_MAX_VERSION)}`);
  if (DEFAULT_MIN_VERSION > 'TLSv1.2') flags.push(`--tls-min-v${versionNumber(DEFAULT_MIN_VERSION)}`);
  return flags.length ? `${flags.join(' and ')} (NODE_OPTIONS or node's command line)` : undefined;
}

/** The most names a mismatch message lists: a certificate may carry hundreds. */
const MAX_CERT_NAMES = 3;

/**
 * The names a certificate is for, as Node's check reads them (subjectAltName DNS and IP entries, else the
 * subject's CN), for a message. The server chose them: each is cleaned of what a terminal would act on.
 */
function certificateNames(e: unknown): string | undefined {
  const cert = (e as { cert?: { subjectaltname?: unknown; subject?: { CN?: unknown } } } | undefined)?.cert;
  if (!cert) return undefined;
  let names: string[] = [];
  if (typeof cert.subjectaltname === 'string') {
    names = cert.subjectaltname
      .split(', ')
      .filter((n) => n.startsWith('DNS:') || n.startsWith('IP Address:'))
      .map((n) => n.slice(n.indexOf(':') + 1));
  } else if (typeof cert.subject?.CN === 'string') names = [cert.subject.CN];
  if (names.length === 0) return undefined;
  const shown = names.slice(0, MAX_CERT_NAMES).map(safeName).join(', ');
  return names.length > MAX_CERT_NAMES ? `${shown} and ${names.length - MAX_CERT_NAMES} more` : shown;
}

function safeName(name: string): string {
  const clean = redact(name).replace(/[^\x21-\x7e]/g, '?');
  return clean.length > 100 ? `${clean.slice(0, 100)}…` : clean;
}

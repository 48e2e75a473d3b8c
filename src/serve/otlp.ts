import { readFileSync } from 'node:fs';
import type { ChainResult } from '../chain/chain.js';
import { TELEMETRY_DEFAULTS } from '../defaults.js';
import { UsageError } from '../errors.js';
import { isLoopbackHost } from '../providers/transport.js';
import { Agent, loadProxyAgent } from '../providers/undici-lite.js';
import { proxyFor } from '../providers/proxy.js';
import type { Dispatcher } from 'undici';
import { retryAfterMs } from '../providers/retry-after.js';
import { registerSecret } from '../util/redact.js';
import { randomHexId, parseTraceparent, parseTracestate } from './telemetry-ids.js';
import { callSpans, exportRequest, resourceAttributes, type RequestSettings } from './telemetry-spans.js';

/*
 * OTLP/HTTP trace export with the JSON encoding (the spans themselves: telemetry-spans.ts).
 *
 * Spans wait in a bounded queue and go out in batches, one request at a time, from a timer or when a
 * batch is full. Nothing here waits on the collector in a request's path: a full queue drops the call's
 * spans and counts them, a slow or failing collector costs dropped spans and a warning at most once a
 * minute, never an error.
 */

const OTLP_DEFAULTS = TELEMETRY_DEFAULTS.otlp;
/** Drop warnings are summed over this long, so a dead collector costs one line a minute. */
const WARN_EVERY_MS = 60_000;
/**
 * The status codes OTLP/HTTP says SHOULD be retried (429, 502, 503, 504); every other 4xx/5xx MUST NOT be
 * (opentelemetry-proto docs/specification.md, "Retryable Response Codes").
 */
const RETRYABLE = new Set([429, 502, 503, 504]);
/**
 * Failures to reach the collector that OTLP/HTTP says to retry with a jittered exponential backoff: it
 * could not be connected to ("OTLP/HTTP Connection"), or it closed the connection without an answer ("All
 * Other Responses"); the exporter spec (opentelemetry-specification protocol/exporter.md, "Retry") calls
 * both transient errors that MUST be retried. A collector slower than the timeout is not retried: sending
 * it the batch again would only add to its load while the queue backs up behind it.
 */
const TRANSIENT = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN',
  'ENOTFOUND', 'EAI_AGAIN', // a collector's name not (yet) resolvable, as at a cluster's start
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', // undici: the other side closed the connection
]);
/** The most response body read (the spec: a client MUST cap it, 4 MiB recommended; past it the response is a non-retryable error). */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const SCOPE = { name: 'llm-fallback', version: VERSION };

/** What a call's spans take from its request: the client's W3C trace headers and its generation settings. */
export interface CallTraceInput extends RequestSettings {
  traceparent?: string;
  /** Every tracestate field of the request, joined with commas (as node:http joins them). */
  tracestate?: string;
}

export interface OtlpTraceExporterOptions {
  /** The collector's traces URL, e.g. http://127.0.0.1:4318/v1/traces. */
  endpoint: string;
  /** Sent with every export (e.g. a hosted collector's API key): never logged. */
  headers?: Record<string, string>;
  /** Resource attribute service.name. */
  serviceName?: string;
  /** Spans per export request. */
  maxBatch?: number;
  /** Spans waiting at most; past this a call's spans are dropped and counted. */
  maxQueue?: number;
  /** How often the queue is sent when no batch fills up. */
  flushIntervalMs?: number;
  /** One export request, connect to last byte. */
  timeoutMs?: number;
  /** Retries of a batch the collector answered 429, 502, 503 or 504, refused the connection to, or closed it on. */
  retries?: number;
  /** First wait before a retry without Retry-After; it doubles each time (±20% jitter). */
  retryBaseMs?: number;
  /** A Retry-After longer than this drops the batch instead of holding the queue. */
  maxRetryWaitMs?: number;
  /** Where warnings go (stderr by default). */
  warn?: (m: string) => void;
}

export class OtlpTraceExporter {
  /** Spans delivered (accepted by the collector) and dropped (queue full, rejected, or the collector slow, down or refusing). */
  readonly stats = { exported: 0, dropped: 0 };
  /** Spans as JSON texts. */
  private queue: string[] = [];
  private sending: Promise<void> | null = null;
  private closed = false;
  private readonly agent: Dispatcher;
  private readonly origin: string;
  private readonly path: string;
  /** The collector as warnings name it: scheme, host and path, no credentials or query. */
  private where: string;
  private readonly headers: Record<string, string>;
  private readonly resource: string;
  private readonly maxBatch: number;
  private readonly maxQueue: number;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryBaseMs: number;
  private readonly maxRetryWaitMs: number;
  /** Ends a wait between retries at once (shutdown). */
  private wake: (() => void) | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly warn: (m: string) => void;
  private unreported = 0;
  private lastWarnAt = -Infinity;

  constructor(opts: OtlpTraceExporterOptions) {
    let url: URL;
    try {
      url = new URL(opts.endpoint);
    } catch {
      throw new UsageError('OTLP endpoint: not a URL; give the collector\'s traces URL, e.g. http://127.0.0.1:4318/v1/traces');
    }
    this.where = `${url.protocol}//${url.host}${url.pathname}`;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`OTLP endpoint ${this.where}: only http:// and https:// are supported (OTLP/HTTP)`);
    const headerValues = Object.values(opts.headers ?? {});
    for (const v of headerValues) registerSecret(v);
    if (url.password) registerSecret(decodeURIComponent(url.password));
    if (url.username || url.password) throw new UsageError(`OTLP endpoint ${this.where}: put credentials in headers, not in the URL`);
    if (headerValues.length && url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      throw new UsageError(`OTLP endpoint ${this.where}: refusing to send its headers (they may hold a key) over plain HTTP; use https:// (plain http is allowed only for loopback: 127.0.0.0/8, ::1 and localhost)`);
    }
    this.maxBatch = positive('maxBatch', opts.maxBatch ?? OTLP_DEFAULTS.maxBatch);
    this.maxQueue = Math.max(this.maxBatch, positive('maxQueue', opts.maxQueue ?? OTLP_DEFAULTS.maxQueue));
    this.timeoutMs = positive('timeoutMs', opts.timeoutMs ?? OTLP_DEFAULTS.timeoutMs);
    const every = positive('flushIntervalMs', opts.flushIntervalMs ?? OTLP_DEFAULTS.flushIntervalMs);
    this.retries = opts.retries ?? OTLP_DEFAULTS.retries;
    if (!Number.isInteger(this.retries) || this.retries < 0) throw new UsageError(`OTLP exporter: retries must be a whole number of at least 0 (got ${this.retries})`);
    this.retryBaseMs = positive('retryBaseMs', opts.retryBaseMs ?? OTLP_DEFAULTS.retryBaseMs);
    this.maxRetryWaitMs = positive('maxRetryWaitMs', opts.maxRetryWaitMs ?? OTLP_DEFAULTS.maxRetryWaitMs);
    this.origin = url.origin;
    this.path = url.pathname + url.search;
    this.headers = { ...opts.headers, 'content-type': 'application/json' };
    this.resource = resourceAttributes(opts.serviceName ?? OTLP_DEFAULTS.serviceName, VERSION);
    this.warn = opts.warn ?? ((m) => process.stderr.write(`${m}\n`));
    const agentOpts = { connections: 2, connect: { timeout: this.timeoutMs }, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs };
    // The same proxy variables as the providers' requests (src/providers/proxy.ts); a malformed one is a UsageError here.
    const proxy = proxyFor(url);
    if (proxy) {
      this.where += ` (through proxy ${proxy.display} from ${proxy.variable})`;
      // undici's ProxyAgent: a CONNECT tunnel for https, absolute-form requests for http, as our own client does.
      const ProxyAgent = loadProxyAgent();
      this.agent = new ProxyAgent({ ...agentOpts, uri: proxy.display, token: proxy.authorization, proxyTunnel: url.protocol === 'https:' });
    } else {
      this.agent = new Agent(agentOpts);
    }
    this.timer = setInterval(() => void this.pump(), every);
    this.timer.unref();
  }

  /**
   * Queues one span for the gateway call and one child span per attempt (attempt times are relative to
   * the call start, callStartEpochMs). With a valid incoming W3C `traceparent`, the spans join the
   * caller's trace under its span and carry its valid `tracestate`; a caller that marked its trace not
   * sampled gets no spans (the parent-based sampling the OpenTelemetry SDKs default to).
   */
  exportCall(chain: string, result: ChainResult, callStartEpochMs: number, call: CallTraceInput = {}): void {
    const parent = parseTraceparent(call.traceparent);
    if (parent && !parent.sampled) return;
    let spans: string[];
    try {
      spans = callSpans(chain, result, callStartEpochMs, {
        traceId: parent?.traceId ?? randomHexId(16),
        parentSpanId: parent?.parentSpanId,
        // Only beside a valid traceparent: a new trace starts with a clean tracestate.
        traceState: parent ? parseTracestate(call.tracestate) : undefined,
        maxTokens: call.maxTokens,
        temperature: call.temperature,
        sampling: call.sampling,
      });
    } catch (e) {
      // Telemetry never fails the request it describes: a result we cannot encode costs its trace only.
      this.dropped(1, `a call's spans could not be encoded (${(e as Error).name}), please report it`);
      return;
    }
    if (this.closed || this.queue.length + spans.length > this.maxQueue) {
      this.dropped(spans.length, this.closed ? 'the exporter is shut down' : `the queue is full (${this.maxQueue} spans): the collector is slower than the traffic`);
      return;
    }
    for (const s of spans) this.queue.push(s);
    if (this.queue.length >= this.maxBatch) void this.pump();
  }

  /** Sends every queued span; resolves when they are delivered or dropped (never rejects). */
  flush(): Promise<void> {
    return this.pump();
  }

  /** Stops the timer, sends what is queued (within one export timeout), then closes the connections. */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.wake?.(); // a batch waiting to be retried is dropped now, not after its wait
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), this.timeoutMs)));
    const done = await Promise.race([this.pump().then(() => 'done' as const), late]);
    clearTimeout(timer);
    if (done === 'late') {
      const left = this.queue.length;
      this.queue = [];
      await this.agent.destroy().catch(() => undefined);
      if (left) this.dropped(left, 'shutdown came before the collector took them');
    } else await this.agent.close().catch(() => undefined);
    this.reportDrops(true);
  }

  private pump(): Promise<void> {
    this.sending ??= this.drain().finally(() => (this.sending = null));
    return this.sending;
  }

  private async drain(): Promise<void> {
    while (this.queue.length) await this.post(this.queue.splice(0, this.maxBatch));
  }

  /**
   * Sends one batch. A 429, 502, 503 or 504 answer (after Retry-After, else a doubling backoff) and a
   * connection refused or closed without an answer (the backoff) are retried; anything else is final.
   * Only this batch waits: exportCall keeps queueing (up to maxQueue) meanwhile.
   */
  private async post(spans: string[]): Promise<void> {
    const body = exportRequest(this.resource, SCOPE, spans);
    for (let attempt = 0; ; attempt++) {
      const tries = `${attempt + 1} ${attempt ? 'tries' : 'try'}`;
      /** No retry left, or shutting down (checked once the answer is in: shutdown may come meanwhile). */
      const last = () => attempt >= this.retries || this.closed;
      let res: Awaited<ReturnType<Agent['request']>>;
      let text: string | null;
      try {
        res = await this.agent.request({ origin: this.origin, path: this.path, method: 'POST', headers: this.headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
        text = await readCapped(res.body, MAX_RESPONSE_BYTES);
      } catch (e) {
        const code = (e as { code?: string }).code ?? (e as Error).name;
        // The error's code only: its message could quote a URL, and the body is the collector's, not ours to echo.
        if (!TRANSIENT.has(code)) {
          this.dropped(spans.length, `the collector could not be reached in time (${code})`);
          return;
        }
        if (last()) {
          this.dropped(spans.length, `the collector could not be reached (${code}, ${tries})`);
          return;
        }
        if (!(await this.backoff(this.backoffMs(attempt)))) {
          this.dropped(spans.length, `the collector could not be reached (${code}) and the exporter shut down before the retry`);
          return;
        }
        continue;
      }
      if (text === null) {
        this.dropped(spans.length, `the collector's answer (HTTP ${res.statusCode}) was longer than ${MAX_RESPONSE_BYTES} bytes`);
        return;
      }
      if (res.statusCode >= 200 && res.statusCode <= 299) {
        const rejected = rejectedSpans(text, spans.length);
        this.stats.exported += spans.length - rejected;
        if (rejected) this.dropped(rejected, 'the collector rejected them (partial success)');
        return;
      }
      if (!RETRYABLE.has(res.statusCode) || last()) {
        this.dropped(spans.length, `the collector answered HTTP ${res.statusCode}${RETRYABLE.has(res.statusCode) ? ` (${tries})` : ''}`);
        return;
      }
      const header = res.headers['retry-after'];
      const asked = typeof header === 'string' ? retryAfterMs({ 'retry-after': header }) : undefined;
      if (asked !== undefined && asked > this.maxRetryWaitMs) {
        this.dropped(spans.length, `the collector answered HTTP ${res.statusCode} and asked to wait ${Math.ceil(asked / 1000)} s, longer than ${this.maxRetryWaitMs / 1000} s`);
        return;
      }
      if (!(await this.backoff(asked ?? this.backoffMs(attempt)))) {
        this.dropped(spans.length, `the collector answered HTTP ${res.statusCode} and the exporter shut down before the retry`);
        return;
      }
    }
  }

  /** The wait before retry number attempt + 1 when the collector named none: doubling, ±20% jitter. */
  private backoffMs(attempt: number): number {
    return this.retryBaseMs * 2 ** attempt * (0.8 + 0.4 * Math.random());
  }

  /** Waits `ms`, or less if the exporter shuts down meanwhile; false when it did. */
  private async backoff(ms: number): Promise<boolean> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wake = null;
    return !this.closed;
  }

  private dropped(n: number, why: string): void {
    this.stats.dropped += n;
    this.unreported += n;
    this.reportDrops(false, why);
  }

  /** One warning per WARN_EVERY_MS at most, with the count since the last one. */
  private reportDrops(final: boolean, why?: string): void {
    if (!this.unreported) return;
    const t = Date.now();
    if (!final && t - this.lastWarnAt < WARN_EVERY_MS) return;
    this.lastWarnAt = t;
    this.warn(`llm-fallback: OTLP traces to ${this.where}: dropped ${this.unreported} span(s)${why ? `: ${why}` : ''} (${this.stats.dropped} dropped in all)`);
    this.unreported = 0;
  }
}

/** The body as text, or null (and the rest left unread) past `max` bytes. */
async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }, max: number): Promise<string | null> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    n += chunk.length;
    if (n > max) {
      body.destroy();
      return null;
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** partialSuccess.rejectedSpans of an OTLP JSON response (0 when absent or unreadable), at most `sent`. */
function rejectedSpans(text: string, sent: number): number {
  if (!text) return 0;
  try {
    const n = Number((JSON.parse(text) as { partialSuccess?: { rejectedSpans?: string | number } }).partialSuccess?.rejectedSpans ?? 0);
    return Number.isFinite(n) && n > 0 ? Math.min(n, sent) : 0;
  } catch {
    return 0;
  }
}

function positive(what: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new UsageError(`OTLP exporter: ${what} must be a positive number (got ${v})`);
  return v;
}

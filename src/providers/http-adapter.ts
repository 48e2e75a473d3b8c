import type { Agent } from './h1/agent.js';
import { now } from '../util/clock.js';
import { ProviderError } from './errors.js';
import { httpError } from './classify.js';
import { describeHtmlPage, isHtmlPage } from './html-page.js';
import { Exchange } from './exchange.js';
import { SseOverflowError, SseParser, type SseEvent } from './sse.js';
import type { EveryField } from '../util/every-field.js';
import type { ThinkingForm } from './reasoning.js';
import type { ThinkTags } from './think-tags.js';
import { serverText } from '../util/redact.js';
import { AttemptClock, ConnectionPool, transportError } from './transport.js';
import { proxyAuthHint, proxyFor, type ProxyRoute } from './proxy.js';
import { PROXY_AUTH } from './h1/agent.js';
import type { ChatRequest, ModelList, ProviderAdapter, ProviderEvent, SentSettings, Timeouts } from './types.js';

/** What an adapter needs to know about one configured provider (resolved from providers.yaml). */
export interface ProviderSettings {
  name: string;
  api: 'openai' | 'anthropic';
  baseUrl: string;
  model: string;
  apiKey?: string;
  headers: Record<string, string>;
  /** Values sent in headers that must never be shown or sent in clear text (env-expanded header values). */
  secrets?: string[];
  /** Extra body fields sent with every request (temperature defaults, reasoning knobs, ...). */
  params: Record<string, unknown>;
  timeouts: Timeouts;
  maxOutputTokens?: number;
  /** OpenAI dialect: name of the max-tokens field (MiniMax prefers max_completion_tokens). */
  maxTokensParam?: 'max_tokens' | 'max_completion_tokens';
  /** OpenAI dialect: ask for stream usage with stream_options.include_usage (auto: yes, dropped if the server rejects it). */
  streamUsage?: 'auto' | 'never';
  /** How reasoning is sent (Anthropic: adaptive, budget or none; OpenAI dialect: effort or none); unset, the model name decides (reasoning.ts). */
  thinking?: ThinkingForm;
  /** OpenAI dialect: how `<think>` tags in the content are read (think-tags.ts); unset, `leading`. */
  thinkTags?: ThinkTags;
  maxResponseBytes?: number;
}

/** A decoded event before it is time-stamped with the arrival time of the bytes it came from. */
export type Decoded =
  | { type: 'content_delta'; text: string; sameChunk?: true }
  | { type: 'reasoning_delta'; text: string }
  | { type: 'usage'; usage: import('./types.js').Usage }
  | { type: 'finish'; reason: import('./types.js').FinishReason; rawReason: string; model?: string; responseId?: string }
  | { type: 'error'; error: ProviderError };

export type Emit = (ev: Decoded) => void;

/** Filled in by streamInto: ends the request as cancelled (a consumer that stopped reading). */
export interface Stopper {
  stop?: (reason: Error) => void;
}

/** Turns one response's SSE events into decoded events. One instance per request. */
export interface StreamDecoder {
  event(ev: SseEvent): void;
  /** The body ended; `clean` is false when it stopped inside a line. Emits finish or error if none was emitted. */
  end(clean: boolean): void;
}

export interface BuiltRequest {
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 256 * 1024;
/** One page of a model list: OpenRouter's whole list, unpaged, was 0.66 MB (414 models, maruel/genai's recording of 2026-08-17). */
const MAX_MODEL_LIST_BYTES = 8 * 1024 * 1024;
/** Pages a model list is followed for: 20,000 models at Anthropic's largest page. */
const MAX_MODEL_PAGES = 20;
/** Anthropic's largest model-list page (`limit` ranges 1 to 1000: its List Models reference, @anthropic-ai/sdk PageParams). */
const ANTHROPIC_MODEL_PAGE = 1000;

/** The fields of a model-list page that are read: the models, and each dialect's way to the next page. */
interface ModelListPage {
  data?: { id?: unknown; owned_by?: unknown }[];
  has_more?: unknown;
  last_id?: unknown;
  links?: { next?: unknown };
}

/**
 * The request/stream loop shared by every HTTP dialect: send, watch the clocks, cap the body, parse
 * SSE and let the dialect's decoder turn events into ProviderEvents. Dialect quirks live in the
 * subclasses' decoders, not here.
 */
export abstract class HttpAdapter implements ProviderAdapter {
  readonly name: string;
  readonly model: string;
  protected readonly agent: Agent;
  private readonly pool: ConnectionPool;
  private readonly origin: string;
  private readonly basePath: string;
  /** A query string of the base URL (e.g. Azure's ?api-version=), appended after the endpoint path. */
  private readonly search: string;

  protected readonly settings: ProviderSettings;
  private readonly proxy: ProxyRoute | undefined;

  constructor(settings: ProviderSettings) {
    this.settings = fixedSettings(settings);
    this.name = settings.name;
    this.model = settings.model;
    const url = new URL(settings.baseUrl);
    // A malformed HTTPS_PROXY this provider would use is a UsageError here, at start-up, not at its first request.
    this.proxy = proxyFor(url);
    this.pool = new ConnectionPool(settings.timeouts.connectMs, this.proxy);
    this.agent = this.pool.agent;
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.search = url.search;
    this.acceptEncoding = Object.keys(settings.headers).some((k) => k.toLowerCase() === 'accept-encoding') ? {} : { 'accept-encoding': 'identity' };
  }

  /**
   * A 407 to a plain-http request sent through a proxy is the proxy's (only a proxy answers 407, RFC 9110
   * 15.4.8): the same network error as a refused CONNECT, naming the variable, not the provider's bad request.
   */
  private proxyRefusal(status: number): ProviderError | undefined {
    if (status !== 407 || !this.proxy) return undefined;
    const message = `${this.name}: proxy ${this.proxy.display} refused the request to ${new URL(this.origin).host}: HTTP 407 Proxy Authentication Required; ${proxyAuthHint(this.proxy)}`;
    return new ProviderError({ errorClass: 'network', provider: this.name, status, networkCode: PROXY_AUTH, atProxy: true, retryable: false, message });
  }

  protected abstract build(req: ChatRequest): BuiltRequest;
  /** Headers that authenticate a request in this dialect. */
  protected abstract authHeaders(): Record<string, string>;

  /**
   * `accept-encoding: identity` unless providers.yaml sets an accept-encoding of its own: bench measures what
   * the provider sends, not a proxy's compression. A request without it would accept any coding (RFC 9110
   * section 12.5.3); a body that comes compressed anyway is decoded (exchange.ts, content-coding.ts).
   */
  private readonly acceptEncoding: Record<string, string>;

  /** The request headers per `accept` value, built once and frozen (see requestHeaders). */
  private readonly headerSets = new Map<string, Record<string, string>>();

  /**
   * A request's headers: JSON content type, `accept` when given, the configured headers, then the
   * dialect's authentication. Settings never change, so each set is built once and frozen, and the HTTP
   * client checks and serialises a frozen set once (h1/request.ts) instead of on every request.
   */
  protected requestHeaders(accept?: string): Record<string, string> {
    const key = accept ?? '';
    let headers = this.headerSets.get(key);
    if (headers === undefined) {
      headers = Object.freeze({ 'content-type': 'application/json', ...(accept ? { accept } : {}), ...this.acceptEncoding, ...this.settings.headers, ...this.authHeaders() });
      this.headerSets.set(key, headers);
    }
    return headers;
  }
  protected abstract streamDecoder(emit: Emit): StreamDecoder;
  protected abstract decodeBody(body: unknown, emit: Emit): void;
  /** A dialect may fix a rejected request once (e.g. drop stream_options). Returns true to resend. */
  protected adjustAfterRejection(_status: number, _bodyText: string, _req: ChatRequest): boolean {
    return false;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /** Opens `connections` keep-alive connections to the provider now, before any request is measured. */
  preconnect(connections: number): Promise<{ failed: number }> {
    return this.pool.preconnect(new URL(this.origin), connections);
  }

  /** How long each connection opened since the last call took to set up (TCP + TLS), ms. */
  takeConnectTimes(): number[] {
    return this.pool.takeConnectTimes();
  }

  /**
   * The same settings (dialect, model, headers, params, clocks, limits) aimed at `baseUrl`, without a
   * credential: the key and any header carrying a secret become placeholders of the same length, so the
   * requests a stand-in sends have this provider's shape and size but nothing worth stealing.
   */
  standInSettings(baseUrl: string): ProviderSettings {
    const s = this.settings;
    const secrets = (s.secrets ?? []).filter(Boolean);
    const placeholder = (v: string) => 'x'.repeat(v.length);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.headers)) headers[k] = secrets.some((x) => v.includes(x)) ? placeholder(v) : v;
    return { ...s, baseUrl, apiKey: s.apiKey === undefined ? undefined : placeholder(s.apiKey), headers, secrets: [] };
  }

  /**
   * GET {base_url}/models, every page of it, under one clock for the whole listing. Anthropic pages with
   * `limit` (1 to 1000, default 20) and `after_id`, answering `has_more` and `last_id` (its List Models
   * reference; @anthropic-ai/sdk's Page): the largest page is asked for, so its list is one page today.
   * OpenRouter answers `links.next`, a path on its own host, null on the last page. Other lists are one page.
   * A list that does not end (a repeated cursor or page, more than MAX_MODEL_PAGES) is an error, not a loop.
   */
  async listModels(timeoutMs: number, signal?: AbortSignal): Promise<ModelList> {
    const clock = new AttemptClock({ totalMs: timeoutMs }, undefined, signal);
    const t0 = now();
    let inBody = false;
    const models: string[] = [];
    const owners: string[] = [];
    const anthropic = this.settings.api === 'anthropic';
    const query = new URLSearchParams(this.search);
    if (anthropic) query.set('limit', String(ANTHROPIC_MODEL_PAGE));
    const endpoint = `${this.basePath}/models`;
    let path = `${endpoint}${query.size ? `?${query}` : ''}`;
    /** Every page asked for so far, by path and query: a server that sends a cursor or link again would loop. */
    const asked = new Set<string>([path]);
    const malformed = (message: string, status: number) => new ProviderError({ errorClass: 'malformed_response', provider: this.name, status, retryable: false, message: `${this.name}: ${message}` });
    try {
      for (let page = 1; ; page++) {
        inBody = false;
        const ex = new Exchange(this.agent, { origin: this.origin, path, method: 'GET', headers: { accept: 'application/json', ...this.acceptEncoding, ...this.settings.headers, ...this.authHeaders() }, maxDecodedBytes: MAX_MODEL_LIST_BYTES });
        clock.bind((reason) => ex.abort(reason));
        await ex.headersReady();
        inBody = true;
        if (ex.status >= 300) {
          const text = await ex.errorText(MAX_ERROR_BODY_BYTES);
          throw this.proxyRefusal(ex.status) ?? httpError(this.name, ex.status, ex.headers, text);
        }
        // One byte past the cap tells a list that is too large from one that fits exactly.
        const text = await ex.text(MAX_MODEL_LIST_BYTES + 1);
        if (Buffer.byteLength(text) > MAX_MODEL_LIST_BYTES) throw malformed(`model list page larger than ${MAX_MODEL_LIST_BYTES} bytes (GET /models)`, ex.status);
        let data: ModelListPage | undefined;
        try {
          data = JSON.parse(text);
        } catch {
          throw malformed('model list is not JSON', ex.status);
        }
        if (Array.isArray(data?.data)) {
          for (const m of data!.data) {
            const id = String(m?.id ?? '');
            if (id) models.push(id);
            if (typeof m?.owned_by === 'string') owners.push(m.owned_by);
          }
        }
        const next = anthropic ? this.anthropicNext(data, query, endpoint, ex.status, malformed) : this.linkedNext(data, ex.status, malformed);
        if (next === undefined) return { status: ex.status, latencyMs: (ex.endedAt || now()) - t0, models, owners };
        if (asked.has(next)) throw malformed(`its model list (GET /models) led back to a page already read after page ${page}, so it would never end; check ${this.name} without --shallow`, ex.status);
        if (page === MAX_MODEL_PAGES) throw malformed(`its model list (GET /models) had more than ${MAX_MODEL_PAGES} pages (${models.length} models so far) and was not read to the end; check ${this.name} without --shallow`, ex.status);
        asked.add(next);
        path = next;
      }
    } catch (e) {
      throw transportError(this.name, e, clock, inBody);
    } finally {
      clock.dispose();
    }
  }

  /** Anthropic's next page: after `last_id` while `has_more`, with the same query otherwise. */
  private anthropicNext(data: ModelListPage | undefined, query: URLSearchParams, endpoint: string, status: number, malformed: (m: string, s: number) => ProviderError): string | undefined {
    if (data?.has_more !== true) return undefined;
    if (typeof data.last_id !== 'string' || !data.last_id) throw malformed(`its model list (GET /models) says has_more but gives no last_id to continue after; check ${this.name} without --shallow`, status);
    query.set('after_id', data.last_id);
    return `${endpoint}?${query}`;
  }

  /** OpenRouter's next page: `links.next`, a path (or URL) on the provider's own host; credentials never go to another. */
  private linkedNext(data: ModelListPage | undefined, status: number, malformed: (m: string, s: number) => ProviderError): string | undefined {
    const next = data?.links?.next;
    if (typeof next !== 'string' || !next) return undefined;
    let url: URL;
    try {
      url = new URL(next, `${this.origin}${this.basePath}/models`);
    } catch {
      throw malformed(`its model list's next page (links.next) is not a URL: ${serverText(next, 120)}; check ${this.name} without --shallow`, status);
    }
    if (url.origin !== this.origin) throw malformed(`its model list's next page (links.next) is on another host, ${serverText(url.host, 120)}, and is not followed (credentials are never sent to another host); check ${this.name} without --shallow`, status);
    return url.pathname + url.search;
  }

  /**
   * One event at a time, for callers that act on each (the fallback chain, health): the push core below
   * fills a queue, and this hands it out. Stopping early (break, return) ends the exchange.
   */
  async *stream(req: ChatRequest): AsyncGenerator<ProviderEvent> {
    let queue: ProviderEvent[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    const stopper: Stopper = {};
    const run = this.streamInto(req, (ev) => {
      queue.push(ev);
      if (wake) {
        const w = wake;
        wake = undefined;
        w();
      }
    }, stopper).finally(() => {
      done = true;
      wake?.();
    });
    try {
      for (;;) {
        if (queue.length) {
          const batch = queue;
          queue = [];
          for (const ev of batch) yield ev;
          continue;
        }
        if (done) break;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      await run;
    } finally {
      if (!done) {
        // The consumer stopped reading: end the exchange so its socket is freed.
        stopper.stop?.(new Error('stream closed by the consumer'));
        await run.catch(() => {});
      }
    }
  }

  /**
   * Runs one request, handing each event to `sink` as soon as it is decoded, in order, each with its own
   * time: no async hop per event or per batch (that hop, an async generator's, was the largest share of
   * bench's CPU per streamed event). The only awaits are for the response headers and each network read.
   * Ends with exactly one finish or error event; rejects only with what `consumer` threw (the request is
   * ended first), as a for-await loop over the events would have.
   */
  async streamInto(req: ChatRequest, consumer: (ev: ProviderEvent) => void, stopper?: Stopper): Promise<void> {
    // What the consumer throws is the consumer's, not a transport failure: it ends the request and is rethrown.
    const sink = (ev: ProviderEvent) => {
      try {
        consumer(ev);
      } catch (e) {
        throw new ConsumerError(e);
      }
    };
    const timeouts = req.timeouts ? { ...this.settings.timeouts, ...definedOnly(req.timeouts) } : this.settings.timeouts;
    const deadlineIn = req.deadline !== undefined ? req.deadline - now() : undefined;
    const clock = new AttemptClock(timeouts, deadlineIn, req.signal);
    if (stopper) stopper.stop = (reason) => clock.cancel(reason);
    let ex: Exchange | undefined;
    let inBody = false;
    let terminal: 'finish' | 'error' | undefined;
    /**
     * A finish is handed on once the rest of its network read is processed: if that read breaks a limit,
     * the stream ends in the error alone, never in a finish and then an error.
     */
    let held: ProviderEvent | undefined;
    const release = () => {
      if (held) {
        const ev = held;
        held = undefined;
        sink(ev);
      }
    };
    /** Pushes the current attempt's request_sent, once. */
    let sent: (() => void) | undefined;
    let t = 0;
    const emit: Emit = (ev) => {
      if (terminal) return;
      if (ev.type === 'content_delta' || ev.type === 'reasoning_delta') {
        // Answer text is redacted where it is kept or shown, whole (StreamFold.content) or as it streams
        // (the chain's StreamRedactor): a piece alone cannot be, a key may be split across two.
        clock.firstToken(t);
      } else if (ev.type === 'finish') {
        // The served model, response id and raw finish reason are server text that reaches tables, files and spans.
        if (ev.model !== undefined) ev.model = this.cleanText(ev.model, 200);
        if (ev.responseId !== undefined) ev.responseId = this.cleanText(ev.responseId, 200);
        ev.rawReason = this.cleanText(ev.rawReason, 100);
      }
      if (ev.type === 'finish' || ev.type === 'error') terminal = ev.type;
      (ev as ProviderEvent).t = t;
      if (ev.type === 'finish') held = ev as ProviderEvent;
      else sink(ev as ProviderEvent);
    };
    try {
      for (let attempt = 1; ; attempt++) {
        const built = this.build(req);
        const dispatchedAt = now();
        const maxBytes = this.settings.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
        const current = new Exchange(this.agent, { origin: this.origin, path: this.basePath + built.path + this.search, method: 'POST', headers: built.headers, body: JSON.stringify(built.body), maxDecodedBytes: maxBytes });
        ex = current;
        // request_sent is the instant the bytes went to the connection, not when this request was asked for:
        // a client busy issuing a burst of requests (or waiting for a connection) must not count that wait
        // as the provider's latency. Connecting on demand is timed apart (connect_ms).
        sent = () => {
          sent = undefined;
          sink(new RequestSentEvent(current.sentAt ?? dispatchedAt, attempt, built.body));
        };
        clock.bind((reason) => current.abort(reason));
        await current.headersReady();
        sent();
        inBody = true;
        sink(current.headersEvent());
        if (current.status >= 300) {
          const text = await current.errorText(MAX_ERROR_BODY_BYTES);
          const headers = current.headers;
          if (current.status < 400) {
            throw new ProviderError({
              errorClass: 'bad_request',
              provider: this.name,
              status: current.status,
              headers,
              message: `${this.name}: HTTP ${current.status} redirect to ${headers.location === undefined ? '(no location)' : serverText(headers.location, 200)} not followed (credentials are never sent to a redirect target); set base_url to the final address`,
            });
          }
          if (attempt === 1 && this.adjustAfterRejection(current.status, text, req)) {
            inBody = false;
            continue;
          }
          throw this.proxyRefusal(current.status) ?? httpError(this.name, current.status, headers, text);
        }
        const contentType = current.contentType;
        const asStream = req.stream && !contentType.includes('application/json');
        if (asStream && contentType && !contentType.includes('event-stream')) {
          // A proxy's error page or some other document with status 200: name it instead of parsing it as SSE.
          const text = await current.errorText(MAX_ERROR_BODY_BYTES);
          throw new ProviderError({
            errorClass: 'malformed_response',
            provider: this.name,
            status: current.status,
            message: `${this.name}: expected text/event-stream, got ${contentType.split(';')[0]}: ${isHtmlPage(text, contentType) ? describeHtmlPage(text, current.headers.server) : serverText(text, 120)}`,
          });
        }
        let bytes = 0;
        let firstByte = true;
        const decoder = asStream ? this.streamDecoder(emit) : undefined;
        // In a stream only a token re-arms the idle clock (emit, through clock.firstToken): an SSE comment, an
        // Anthropic `event: ping`, a role-only or empty chunk is a keep-alive, and a server that sends nothing
        // else has stalled. The clock then measures what the learnt idle clock is made of, gaps between tokens.
        let parser = decoder ? new SseParser({ event: (e) => decoder.event(e), comment: () => {} }) : undefined;
        /** Whether a stream's body turned out to be SSE at all (see below); undefined until its first non-blank byte. */
        let sseBody: boolean | undefined;
        const parts: Buffer[] = [];
        let sawContent = false;
        for (;;) {
          const { chunks, times } = current.take();
          for (let i = 0; i < chunks.length; i++) {
            const chunk = chunks[i];
            t = times[i];
            if (firstByte) {
              firstByte = false;
              sink({ type: 'first_byte', t });
            }
            bytes += chunk.length;
            if (bytes > maxBytes) throw this.tooLarge(maxBytes);
            if (parser && sseBody === undefined) {
              // A body that opens with { or [ is JSON, not SSE (no SSE line can start so): an OpenAI-compatible
              // server that labels its error object, or a whole non-streamed answer, text/event-stream. Read
              // as a body, the error says what the server said instead of "closed mid-event".
              const b = firstNonSpace(chunk);
              if (b !== undefined) sseBody = b !== 0x7b && b !== 0x5b;
              if (sseBody === false) parser = undefined;
            }
            if (parser) {
              if (terminal) continue; // drain so the connection goes back to the pool
              parser.push(chunk);
            } else {
              parts.push(chunk);
              // DeepSeek sends blank lines while a non-streamed request is queued: only real bytes stop the first-token clock.
              if (!sawContent && hasNonSpace(chunk)) sawContent = true;
              if (sawContent) {
                clock.firstToken(t);
                clock.activity(t);
              }
            }
          }
          release();
          if (terminal === 'error') return;
          if (current.error) throw current.error;
          if (current.ended) break;
          // A reader far behind (the chain's consumer) holds the rest back: what arrives meanwhile queues in the
          // exchange, which pauses the socket once its queue is full, so the provider's writes wait too. Once the
          // finish is handed on only trailing bytes are drained: nothing is held then (a clock must not end a
          // complete answer while it waits).
          const behind = terminal ? undefined : req.ready?.();
          if (behind) {
            clock.hold();
            await Promise.race([behind, current.stopped(), clock.whenCancelled()]);
            clock.release();
            // Cancelled meanwhile: the rest is nobody's (and a response read to its end had nothing to abort).
            if (clock.userAborted) throw new Error('cancelled');
            continue;
          }
          await current.wait();
        }
        // The end's time is when its bytes were read, not when they were decoded (a slice later, under load).
        t = current.endedAt || now();
        if (decoder && parser) {
          if (!terminal) decoder.end(parser.end());
        } else {
          const text = (parts.length === 1 ? parts[0] : Buffer.concat(parts)).toString('utf8').trim();
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            throw new ProviderError({
              errorClass: 'malformed_response',
              provider: this.name,
              status: current.status,
              message: `${this.name}: response is not JSON (${contentType || 'no content-type'}): ${serverText(text, 120)}`,
            });
          }
          this.decodeBody(parsed, emit);
        }
        release();
        inBody = false;
        ex = undefined;
        if (!terminal) emit({ type: 'error', error: new ProviderError({ errorClass: 'malformed_response', provider: this.name, message: `${this.name}: response carried no answer` }) });
        release();
        // The agent put the socket back in its pool before it reported the end, so a caller that sends at once reuses it.
        return;
      }
    } catch (e) {
      if (e instanceof ConsumerError) throw e.cause;
      sent?.();
      let err: ProviderError;
      if (e instanceof SseOverflowError) err = this.tooLarge(e.limit);
      else err = transportError(this.name, e, clock, inBody);
      held = undefined;
      // An error after a finish already handed on (a cut while draining) still ends the stream as an error, as it always has.
      terminal = undefined;
      t = now();
      try {
        emit({ type: 'error', error: err });
      } catch (e2) {
        throw e2 instanceof ConsumerError ? e2.cause : e2;
      }
    } finally {
      clock.dispose();
      // An error (or a stop) leaves the exchange open: end it so the socket is freed.
      if (ex && !ex.ended) ex.abort(new Error('stream closed by the consumer'));
    }
  }

  /** serverText of the finish's model and reason, remembered: every answer repeats the same few strings. */
  private cleanText(text: string, max: number): string {
    const known = this.cleaned.get(text);
    if (known !== undefined) return known;
    const out = serverText(text, max);
    if (this.cleaned.size < 64) this.cleaned.set(text, out);
    return out;
  }
  private readonly cleaned = new Map<string, string>();

  private tooLarge(limit: number): ProviderError {
    return new ProviderError({
      errorClass: 'malformed_response',
      provider: this.name,
      retryable: false,
      message: `${this.name}: response larger than ${limit} bytes; raise max_response_bytes if this is expected`,
    });
  }

}

/**
 * The settings with every field present, in one order, however they were built (a config entry, the demo, a
 * stand-in): the request path is compiled for one shape of settings object, so bench's rehearsal on a
 * stand-in (bench/prewarm.ts) warms the code the measured run uses.
 */
function fixedSettings(s: ProviderSettings): ProviderSettings {
  const out: EveryField<ProviderSettings> = {
    name: s.name,
    api: s.api,
    baseUrl: s.baseUrl,
    model: s.model,
    apiKey: s.apiKey,
    headers: s.headers,
    secrets: s.secrets,
    params: s.params,
    timeouts: s.timeouts,
    maxOutputTokens: s.maxOutputTokens,
    maxTokensParam: s.maxTokensParam,
    streamUsage: s.streamUsage,
    thinking: s.thinking,
    thinkTags: s.thinkTags,
    maxResponseBytes: s.maxResponseBytes,
  };
  return out;
}

/**
 * A request_sent event whose `sent` settings are read from the built body only when a consumer asks (the
 * chain's spans and ask --json do; bench, on its hot path, never does).
 */
class RequestSentEvent {
  readonly type = 'request_sent' as const;
  private settings: SentSettings | undefined;
  constructor(
    readonly t: number,
    readonly attempt: number,
    private readonly body: Record<string, unknown>,
  ) {}
  get sent(): SentSettings {
    return (this.settings ??= sentSettings(this.body));
  }
}

/**
 * The answer settings a built body carries, as sent: read from the body itself, so the provider's defaults
 * and whatever the dialect added are in and nothing is derived a second time. Only numbers count (a params
 * value of another type is the server's to refuse, not a setting to report).
 */
function sentSettings(body: Record<string, unknown>): SentSettings {
  const num = (k: string) => (typeof body[k] === 'number' ? (body[k] as number) : undefined);
  const out: SentSettings = {};
  const maxTokens = num('max_completion_tokens') ?? num('max_tokens');
  if (maxTokens !== undefined) out.max_tokens = maxTokens;
  for (const k of ['temperature', 'top_p', 'top_k', 'seed', 'presence_penalty', 'frequency_penalty'] as const) {
    const v = num(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Wraps what a streamInto consumer threw, so it is told apart from the request's own failures. */
class ConsumerError {
  constructor(readonly cause: unknown) {}
}

function definedOnly(t: Timeouts | undefined): Timeouts {
  const out: Timeouts = {};
  if (!t) return out;
  for (const [k, v] of Object.entries(t)) if (v !== undefined) (out as Record<string, number>)[k] = v;
  return out;
}

function hasNonSpace(chunk: Buffer): boolean {
  return firstNonSpace(chunk) !== undefined;
}

/** The first byte that is not a space, tab, CR or LF. */
function firstNonSpace(chunk: Buffer): number | undefined {
  for (let i = 0; i < chunk.length; i++) {
    const b = chunk[i];
    if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) return b;
  }
  return undefined;
}

/** Parses an SSE data payload as JSON, or returns a malformed_response error. */
export function parseJsonData(provider: string, data: string): unknown | ProviderError {
  try {
    return JSON.parse(data);
  } catch {
    return new ProviderError({
      errorClass: 'malformed_response',
      provider,
      message: `${provider}: stream chunk is not JSON: ${serverText(data, 120)}`,
    });
  }
}

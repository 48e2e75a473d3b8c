import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ioNow, now, toEpochMs } from '../util/clock.js';
import { sleep } from '../util/time.js';
import { nextSlice, sliceAfter, Waits } from '../util/loop-slices.js';
import { Rng, hashSeed, sample } from './random.js';
import { requestId, serviceHeaders, spent } from './headers.js';
import { RateBudget, retryAfterSeconds, type BudgetLeft, type BudgetRefusal } from './rate-budget.js';
import { FAULT_KEYS, toFault, toProbabilisticFault, toStep, type Dialect, type Fault, type MockProfile, type MockProviderSpec, type ProbabilisticFault, type ScriptStep } from './profile.js';
import { PrefixCache, promptText } from './prefix-cache.js';
import { errorBody, missingField, requestProblem, statusReply, unknownModel } from './replies.js';
import { StreamWire, budgetReply, errorReply, nonStreamBody, type FinishReason, type TokenCounts } from './wire.js';
import { billedPromptTokens } from './prompt-size.js';
import { toolCallFor } from './tools.js';
import { cutAtStop, jsonAnswer, splitInto } from './answer-shape.js';
import { ServiceSlots } from './capacity.js';
import { UsageError } from '../errors.js';

export interface ProviderStats {
  requests: number;
  ok: number;
  faults: Record<string, number>;
}

/** What the emulator injected for one healthy request, so tests and perf can compare measured against truth. */
export interface InjectedTiming {
  /** Monotonic arrival time (same clock as the client's when the emulator runs in-process). */
  arrivedAt: number;
  /** The same instant in epoch ms at sub-ms resolution, comparable with another process's send time on this machine. */
  arrivedEpochMs: number;
  /** Planned delay to the first token, as drawn from the profile. */
  plannedTtftMs: number;
  /** Planned delay to the last token. */
  plannedTotalMs: number;
  /** Actual time from arrival to the first token being written (timers fire up to ~1 ms late). */
  ttftMs: number;
  /** Actual time from arrival to the last token being written. */
  totalMs: number;
  /** Gaps between consecutive tokens as written (the planned ones until the stream has been written). */
  gapsMs: number[];
  tokens: number;
  reasoningTokens: number;
  promptTokens: number;
}

/** Injected timings kept per provider (oldest dropped first): bounded memory under any load. */
const MAX_INJECTED = 20_000;

interface ProviderState {
  name: string;
  /** The provider's own listener (own_port), which a `refuse` step closes. */
  own?: { server: Server; port: number; refusing: boolean };
  refuseTimer?: NodeJS.Timeout;
  /** The own listener reopening after a refusal was ended early (a new script, a reset). */
  reopening?: Promise<void>;
  injected: InjectedTiming[];
  /** Next slot of the ring once `injected` is full. */
  injectedNext: number;
  spec: MockProviderSpec;
  /** The profile's per-minute budget (rate_limit), enforced and reported in rate-limit headers. */
  budget?: RateBudget;
  rng: Rng;
  stats: ProviderStats;
  script: ScriptStep[];
  stepIndex: number;
  stepCount: number;
  stepStart: number;
  /** With a `capacity` in the profile: the requests in service and those queued for a slot. */
  slots?: ServiceSlots;
  /** The prompt cache (used when the spec sets prefix_cache). */
  cache: PrefixCache;
  /** The last request bodies, oldest first (tests check what a client really sent). */
  received: Record<string, unknown>[];
}

export interface MockServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly profile: MockProfile;
  /** Base URL of one emulated provider, e.g. http://127.0.0.1:PORT/deepseek/v1 (its own port when own_port is set). */
  baseUrl(provider: string): string;
  /** Replaces a provider's fault script (steps are consumed one request at a time; a step without times or for lasts for good). */
  setScript(provider: string, steps: unknown[]): void;
  setFaults(provider: string, faults: ProbabilisticFault[]): void;
  stats(): Record<string, ProviderStats>;
  /** Timings injected into the provider's healthy answers, oldest first (at most 20,000 kept). */
  injected(provider: string): InjectedTiming[];
  /** Forgets injected timings and counters (between phases of a test or a perf run). */
  resetStats(): void;
  /** resetStats, and puts back each provider's scripts, faults and seeded draws as the profile set them and its budget whole (POST /_mock/reset). */
  reset(): void;
  /** TCP connections accepted on the main port since start. */
  connections(): number;
  /** How late the emulator's own event loop ran since the last reset (ms): requests it took up late waited this long unseen by its log. */
  eventLoopDelay(): EventLoopLateness | null;
  /** The provider's last request bodies as received (at most 256), oldest first. */
  received(provider: string): Record<string, unknown>[];
  close(): Promise<void>;
}

export interface EventLoopLateness {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Sampling interval of the emulator's event-loop monitor (ms). */
const LOOP_RESOLUTION_MS = 10;

export interface MockOptions {
  profile: MockProfile;
  port?: number;
  host?: string;
  /**
   * Serves without keeping the process alive by itself (the library's demo: a program that forgets
   * router.close() still exits). A request in flight keeps it alive through its client and timers.
   */
  background?: boolean;
}

const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
/** Request bodies kept per provider for received(). */
const MAX_RECEIVED = 256;

/**
 * vLLM and SGLang's length controls: ignore_eos runs to max tokens, min_tokens sets a floor. The emulator
 * honours them whatever its dialect (clients send them only to servers that say they are vLLM or SGLang).
 */
function outputWanted(body: Record<string, unknown>, maxTokens: number, sampled: number): number {
  if (body.ignore_eos === true && Number.isFinite(maxTokens)) return maxTokens;
  return typeof body.min_tokens === 'number' ? Math.max(sampled, body.min_tokens) : sampled;
}
const WORDS = [
  'the', 'cache', 'latency', 'token', 'stream', 'provider', 'retry', 'budget', 'fallback', 'circuit', 'breaker',
  'request', 'naïve', 'café', '数据', 'модель', 'π', 'deadline', 'window', 'context', 'rate', 'limit', 'queue',
  'p99', 'histogram', 'socket', 'keep-alive', 'jitter', 'backoff', 'gateway', 'région', '東京', 'résumé',
];

/** Starts the emulator on 127.0.0.1 (port 0 = any free port). */
export async function startMock(opts: MockOptions): Promise<MockServer> {
  const host = opts.host ?? '127.0.0.1';
  const states = new Map<string, ProviderState>();
  const byModel = new Map<string, ProviderState>();
  for (const [name, spec] of Object.entries(opts.profile.providers)) {
    const st: ProviderState = {
      name,
      spec,
      budget: spec.rate_limit ? new RateBudget(spec.rate_limit) : undefined,
      rng: new Rng(hashSeed(name, opts.profile.seed)),
      stats: { requests: 0, ok: 0, faults: {} },
      injected: [],
      injectedNext: 0,
      script: spec.script,
      stepIndex: 0,
      stepCount: 0,
      stepStart: now(),
      slots: spec.capacity ? new ServiceSlots(spec.capacity.slots) : undefined,
      cache: new PrefixCache(),
      received: [],
    };
    states.set(name, st);
    for (const model of [spec.model, ...(spec.models ?? [])]) if (!byModel.has(model)) byModel.set(model, st);
  }

  /** An HTTP server for the emulator; `prefix` routes a provider's own port to its /{name}/v1/... paths. */
  const emulatorServer = (prefix = ''): Server => {
    const s = createServer((req, res) => {
      if (prefix) req.url = `${prefix}${req.url ?? '/'}`;
      handle(req, res).catch((e) => {
        if (!res.headersSent) sendJson(res, 500, JSON.stringify({ error: { message: `emulator: ${(e as Error).message}`, type: 'server_error' } }));
        else res.destroy();
      });
    });
    // Streams may idle for as long as a scenario wants: no server-side timeouts.
    s.keepAliveTimeout = 60_000;
    s.headersTimeout = 0;
    s.requestTimeout = 0;
    s.on('connection', (socket) => {
      socket.setNoDelay(true);
      if (opts.background) socket.unref();
    });
    if (opts.background) s.unref();
    return s;
  };
  const server = emulatorServer();
  // A loop that was busy when requests came takes them up late (see handle): that wait is in the client's
  // figures but not in the log, so the loop's lateness is kept for a check to tell.
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  let accepted = 0;
  server.on('connection', () => accepted++);

  /**
   * GET /v1/models as each service answers it (test/models-endpoint.test.ts holds the recorded answers).
   * MiniMax has no model list: its gateway answers 404 "404 page not found" (MiniMax-AI/MiniMax-M2.5#19,
   * confirmed by MiniMax). Anthropic checks the key, then the version header as /v1/messages does, and
   * answers a page of ModelInfo (type, id, display_name, created_at; has_more, first_id, last_id) as its
   * limit, after_id and before_id ask (anthropicPage), the shape @anthropic-ai/sdk's models.list() pages
   * through. Gemini's OpenAI-compatible list names each model "models/<id>". The rest answer OpenAI's
   * list. /v1/models without a provider lists every one.
   */
  function modelList(req: IncomingMessage, res: ServerResponse, providerName: string | undefined): void {
    const one = providerName ? states.get(providerName) : undefined;
    if (!one) {
      const data = providerName ? [] : [...states.values()].map((s) => ({ id: s.spec.model, object: 'model', owned_by: s.spec.owned_by }));
      return sendJson(res, 200, JSON.stringify({ object: 'list', data }));
    }
    const spec = one.spec;
    if (spec.dialect === 'minimax') {
      const body = '404 page not found\n';
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const rid = requestId(spec.dialect);
    const headers = serviceHeaders(spec.dialect, rid, undefined);
    if (spec.api_key !== undefined && (bearer(req) ?? header(req, 'x-api-key')) !== spec.api_key) {
      const reply = errorReply(spec.dialect, 'auth', { key: '****' });
      return sendJson(res, reply.status, withRequestId(reply.body, rid), headers);
    }
    if (spec.dialect === 'anthropic' && header(req, 'anthropic-version') === undefined) {
      const reply = errorBody(spec.dialect, 400, ANTHROPIC_VERSION_REQUIRED);
      return sendJson(res, reply.status, withRequestId(reply.body, rid), headers);
    }
    if (one.script[one.stepIndex]?.kind === 'hang') return; // a hung provider hangs here too
    const ids = [spec.model, ...(spec.models ?? []).filter((m) => m !== spec.model)];
    if (spec.dialect === 'anthropic') {
      const page = anthropicPage(ids, new URL(req.url ?? '/', 'http://x').searchParams);
      if (typeof page === 'string') {
        const reply = errorBody(spec.dialect, 400, page);
        return sendJson(res, reply.status, withRequestId(reply.body, rid), headers);
      }
      const data = page.ids.map((id) => ({ type: 'model', id, display_name: id, created_at: MODEL_CREATED_AT }));
      return sendJson(res, 200, JSON.stringify({ data, has_more: page.hasMore, first_id: page.ids[0] ?? null, last_id: page.ids[page.ids.length - 1] ?? null }), headers);
    }
    const prefix = spec.dialect === 'gemini' ? 'models/' : '';
    return sendJson(res, 200, JSON.stringify({ object: 'list', data: ids.map((id) => ({ id: prefix + id, object: 'model', owned_by: spec.owned_by })) }), headers);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Injected latencies count from the request's arrival, before its body is read: when the run of socket
    // reads that brought it began (ioNow), not after the requests read before it in that run were parsed.
    const arrived = ioNow();
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    if (path.startsWith('/_mock')) return admin(req, res, path);
    const m = /^(?:\/([^/]+))?\/v1\/(chat\/completions|messages|models)$/.exec(path);
    if (!m) return sendJson(res, 404, JSON.stringify({ error: { message: `emulator: no route for ${req.method} ${path}; use /{provider}/v1/chat/completions, /{provider}/v1/messages or /v1/...`, type: 'not_found' } }));
    const [, providerName, endpoint] = m;
    if (endpoint === 'models') return modelList(req, res, providerName);
    if (req.method !== 'POST') return sendJson(res, 405, JSON.stringify({ error: { message: 'use POST', type: 'invalid_request_error' } }));
    // Requests are served in slices of the loop's time (loop-slices.ts), with polls for more arrivals between
    // them: served at once, a burst of 1,000 arrivals held the next ones back while it was answered, a wait
    // the client counts and this log did not. Token writes are sliced the same way (sliceAfter). The body is
    // read first: its 'data' and 'end' come in ticks, and the work after them belongs in the slice.
    const text = await readBody(req);
    await nextSlice();
    if (text === undefined) return sendJson(res, 413, JSON.stringify({ error: { message: 'request too large', type: 'invalid_request_error' } }));
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return sendJson(res, 400, JSON.stringify({ error: { message: 'We could not parse the JSON body of your request.', type: 'invalid_request_error' } }));
    }
    const state = providerName ? states.get(providerName) : byModel.get(String(body.model));
    if (!state) {
      const reply = errorBody(endpoint === 'messages' ? 'anthropic' : 'openai', 404, `emulator: unknown provider or model "${providerName ?? String(body.model)}"; known providers: ${[...states.keys()].join(', ')}; models: ${[...byModel.keys()].join(', ')}`, 'model_not_found');
      return sendJson(res, reply.status, reply.body);
    }
    const spec = state.spec;
    if ((endpoint === 'messages') !== (spec.dialect === 'anthropic')) {
      return sendJson(res, 404, JSON.stringify({ error: { message: `emulator: provider ${state.name} speaks ${spec.dialect}; use /${state.name}/v1/${spec.dialect === 'anthropic' ? 'messages' : 'chat/completions'}`, type: 'not_found' } }));
    }
    state.stats.requests++;
    state.received.push(body);
    if (state.received.length > MAX_RECEIVED) state.received.shift();
    const rid = requestId(spec.dialect);
    const messages = Array.isArray(body.messages) ? (body.messages as { content?: unknown }[]) : [];
    const promptTokens = billedPromptTokens(body.system, messages);
    for (const [k, v] of Object.entries(serviceHeaders(spec.dialect, rid, undefined))) res.setHeader(k, v);
    // A fault asked for but not understood is answered, never ignored: a chaos test must not pass because its fault was not sent.
    const override = header(req, 'x-mock-fault');
    const asked = override === undefined ? undefined : parseFaultHeader(override);
    if (asked && 'invalid' in asked) return fail(state, res, 'bad_fault_header', errorBody(spec.dialect, 400, asked.invalid), {}, rid);

    if (spec.api_key !== undefined) {
      const presented = bearer(req) ?? header(req, 'x-api-key') ?? '';
      if (presented !== spec.api_key) {
        const shown = spec.echo_key ? presented : `****${presented.slice(-4)}`;
        return fail(state, res, 'auth', errorReply(spec.dialect, 'auth', { key: shown }), {}, rid);
      }
    }
    // Anthropic refuses a request without its version header (its SDKs always send one).
    if (spec.dialect === 'anthropic' && header(req, 'anthropic-version') === undefined) {
      return fail(state, res, 'invalid_request', errorBody(spec.dialect, 400, ANTHROPIC_VERSION_REQUIRED), {}, rid);
    }
    // Validation as the real services do it: a model they do not serve, a field they require.
    if (spec.models && !spec.models.includes(String(body.model))) {
      return fail(state, res, 'unknown_model', body.model === undefined ? missingField(spec.dialect, 'model') : unknownModel(spec.dialect, String(body.model)), {}, rid);
    }
    if (spec.dialect === 'anthropic' && body.max_tokens === undefined) return fail(state, res, 'invalid_request', missingField(spec.dialect, 'max_tokens'), {}, rid);
    const invalid = requestProblem(body, spec.dialect);
    if (invalid) return fail(state, res, 'invalid_request', errorBody(spec.dialect, 400, invalid.message, null, invalid.param), {}, rid);
    if (spec.reject_stream_options && body.stream_options !== undefined) {
      return fail(state, res, 'stream_options', { status: 400, body: JSON.stringify({ error: { message: 'Unrecognized request argument supplied: stream_options', type: 'invalid_request_error', param: 'stream_options', code: null } }) }, {}, rid);
    }
    // The budget is the service's gate before the model: a refused request takes none of it and meets no
    // fault (scripted steps and seeded rolls are the model's, taken by admitted requests only). One clock
    // reading for the decision and the headers, so a 429 never reports a request's worth left.
    const maxTokens = Number(body.max_tokens ?? body.max_completion_tokens ?? Infinity);
    // OpenAI charges a request's max_tokens to its tokens-a-minute budget up front, with the prompt; the
    // others' budgets count the prompt (Anthropic's input-tokens limit; the rest document none).
    const requestTokens = promptTokens + (Number.isFinite(maxTokens) ? maxTokens : 0);
    const charged = spec.dialect === 'openai' ? requestTokens : promptTokens;
    if (state.budget) {
      const at = now();
      const refused = state.budget.take(charged, at);
      if (refused) return overBudget(state, res, refused, String(body.model ?? spec.model), rid, state.budget.left(at));
      for (const [k, v] of Object.entries(serviceHeaders(spec.dialect, rid, state.budget.left(at)))) res.setHeader(k, v);
    }
    const fault = asked ?? pickFault(state);
    // An injected rate limit refuses the request after all: it takes nothing from the budget.
    if (fault.kind === 'rate_limit') state.budget?.refund(charged);
    if (fault.kind === 'context_length' || requestTokens > spec.context_window) {
      return fail(state, res, 'context_length', errorReply(spec.dialect, 'context_length', { message: fault.message }), fault, rid);
    }
    if (fault.kind === 'rate_limit' && spec.dialect === 'openai' && fault.message === undefined) {
      // OpenAI words an injected limit as it words a spent budget: the model, the limit, the wait (openai/error-429-rate-limit-tpm.json).
      const limit = state.budget && Number.isFinite(state.budget.limit.requests_per_minute) ? state.budget.limit.requests_per_minute : 500;
      const waitMs = fault.retry_after_ms ?? (fault.retry_after ?? 1) * 1000;
      return fail(state, res, 'rate_limit', budgetReply(spec.dialect, { bucket: 'requests', limit, used: limit, requested: 1, waitMs, tooLarge: false, model: String(body.model ?? spec.model) }), fault, rid);
    }
    switch (fault.kind) {
      case 'auth':
      case 'billing':
      case 'rate_limit':
      case 'overloaded':
      case 'server':
      case 'content_filter':
        return fail(state, res, fault.kind, errorReply(spec.dialect, fault.kind, { message: fault.message, key: '****' }), fault, rid);
      case 'status':
        return fail(state, res, `status_${fault.status}`, statusReply(spec.dialect, fault.status ?? 500, fault.message), fault, rid);
      case 'reset':
        count(state, 'reset');
        req.socket.resetAndDestroy();
        return;
      case 'hang':
        count(state, 'hang');
        return; // never answer; the socket stays open until the client gives up or the server closes
      case 'refuse':
        // Reached only through x-mock-fault or a probabilistic fault: a connection already accepted
        // cannot be refused, so it is reset; scripted refuse steps close the provider's own port instead.
        count(state, 'refuse');
        req.socket.resetAndDestroy();
        return;
      case 'html': {
        // A proxy's error page with status 200: the wrong content type, and no answer in it.
        count(state, 'html');
        const page = '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>';
        res.writeHead(200, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(page) });
        res.end(page);
        return;
      }
    }
    // Only a request that is answered reaches the cache, as only those are prefilled.
    const cachedTokens = spec.prefix_cache ? Math.min(promptTokens, Math.floor(state.cache.lookupAndStore(promptText(body.system, messages as { role?: unknown; content?: unknown }[])) / 4)) : Math.floor(promptTokens * spec.cached_share);
    if (!state.slots) return respond(state, body, promptTokens, cachedTokens, maxTokens, fault, req, res, arrived);
    // A provider at capacity: the request waits for a slot and its service time counts from then.
    const served = await state.slots.take(res);
    if (served === undefined) return;
    try {
      await respond(state, body, promptTokens, cachedTokens, maxTokens, fault, req, res, served);
    } finally {
      state.slots.release();
    }
  }

  /** The fault of the provider's script or seeded rolls for the next admitted request. */
  function pickFault(state: ProviderState): Fault {
    while (state.stepIndex < state.script.length) {
      const step = state.script[state.stepIndex];
      const at = now();
      const outOfTime = step.for_ms !== undefined && at - state.stepStart >= step.for_ms;
      if (outOfTime || (step.times !== undefined && state.stepCount >= step.times)) {
        state.stepIndex++;
        state.stepCount = 0;
        // A step that ran out of time ended at its deadline, not at this request: the next step's `for`
        // counts from then, so timed steps play like an outage timeline however sparse the requests.
        state.stepStart = outOfTime ? state.stepStart + step.for_ms! : at;
        continue;
      }
      state.stepCount++;
      return step;
    }
    if (state.spec.faults.length) {
      let roll = state.rng.next();
      for (const f of state.spec.faults) {
        if (roll < f.p) return f;
        roll -= f.p;
      }
    }
    return { kind: 'ok' };
  }

  async function admin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method === 'GET' && (path === '/_mock' || path === '/_mock/stats')) {
      return sendJson(res, 200, JSON.stringify(api.stats()));
    }
    const inj = /^\/_mock\/providers\/([^/]+)\/injected$/.exec(path);
    if (inj && req.method === 'GET') {
      if (!states.has(inj[1])) return sendJson(res, 404, JSON.stringify({ error: { message: `unknown provider ${inj[1]}` } }));
      return sendJson(res, 200, JSON.stringify(api.injected(inj[1])));
    }
    if (req.method === 'GET' && path === '/_mock/event-loop') return sendJson(res, 200, JSON.stringify(api.eventLoopDelay()));
    if (path === '/_mock/reset' && req.method === 'POST') {
      api.reset();
      await reopened();
      return sendJson(res, 200, '{"ok":true}');
    }
    const m = /^\/_mock\/providers\/([^/]+)\/(script|faults)$/.exec(path);
    if (m && (req.method === 'PUT' || req.method === 'POST')) {
      const text = (await readBody(req)) ?? '';
      const route = `${req.method} ${path}`;
      let list: unknown;
      try {
        list = JSON.parse(text);
      } catch (e) {
        return sendJson(res, 400, JSON.stringify({ error: { message: `${route}: the body is not JSON (${(e as Error).message}); send a JSON list` } }));
      }
      try {
        if (m[2] === 'script') api.setScript(m[1], list as unknown[]);
        else api.setFaults(m[1], list as ProbabilisticFault[]);
        await reopened();
        return sendJson(res, 200, '{"ok":true}');
      } catch (e) {
        return sendJson(res, states.has(m[1]) ? 400 : 404, JSON.stringify({ error: { message: `${route}: ${(e as Error).message}` } }));
      }
    }
    return sendJson(res, 404, JSON.stringify({ error: { message: 'admin routes: GET /_mock/stats, GET /_mock/event-loop, GET /_mock/providers/{name}/injected, POST /_mock/reset, PUT /_mock/providers/{name}/script, PUT /_mock/providers/{name}/faults' } }));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const hostUrl = (p: number) => `http://${host.includes(':') ? `[${host}]` : host}:${p}`;

  const listenOwn = (st: ProviderState, p: number) =>
    new Promise<void>((resolve, reject) => {
      // A provider with its own port answers at /v1/... there.
      const s = emulatorServer(`/${st.name}`);
      s.once('error', reject);
      s.listen(p, host, () => {
        st.own = { server: s, port: (s.address() as AddressInfo).port, refusing: false };
        resolve();
      });
    });
  for (const st of states.values()) if (st.spec.own_port) await listenOwn(st, 0);

  /** Refuses connections for real: the provider's own listener closes (and its open connections with it), then reopens on the same port. */
  const refuseFor = (st: ProviderState, ms: number, onDone: () => void) => {
    if (!st.own) return;
    const own = st.own;
    count(st, 'refuse');
    if (!own.refusing) {
      own.refusing = true;
      own.server.close();
      own.server.closeAllConnections();
    }
    clearTimeout(st.refuseTimer);
    st.refuseTimer = setTimeout(() => {
      listenOwn(st, own.port).then(onDone, onDone);
    }, ms);
  };

  /** A script whose current step is `refuse` acts on its own: no request arrives to move it on. */
  const applyRefuseSteps = (st: ProviderState) => {
    const step = st.script[st.stepIndex];
    if (!step || step.kind !== 'refuse' || !st.own) return;
    refuseFor(st, step.for_ms ?? 0, () => {
      st.stepIndex++;
      st.stepCount = 0;
      st.stepStart = now();
      applyRefuseSteps(st);
    });
  };
  for (const st of states.values()) applyRefuseSteps(st);

  /** Ends a refusal before its step ran out (a new script, a reset): the old step's timer must not move the new script on. */
  const stopRefusing = (st: ProviderState) => {
    clearTimeout(st.refuseTimer);
    st.refuseTimer = undefined;
    if (st.own?.refusing) st.reopening = listenOwn(st, st.own.port).catch(() => undefined);
  };
  /** Admin answers once every listener a new script or a reset reopened takes connections again. */
  const reopened = () => Promise.all([...states.values()].map((st) => st.reopening));

  const api: MockServer = {
    url,
    port,
    profile: opts.profile,
    baseUrl: (provider) => {
      const own = states.get(provider)?.own;
      return own ? `${hostUrl(own.port)}/v1` : `${url}/${provider}/v1`;
    },
    setScript(provider, steps) {
      const st = mustGet(states, provider);
      // Checked whole before anything changes: a script refused with a 400 must not half-apply.
      if (!Array.isArray(steps)) throw new UsageError('script: expected a list of steps, e.g. [{"kind":"rate_limit","times":1},{"kind":"ok"}]');
      const script = steps.map((s, i) => toStep(s, `script[${i}]`));
      if (script.some((s) => s.kind === 'refuse') && !st.own) throw new UsageError(`provider ${provider}: a refuse step needs own_port: true`);
      if (script[0]?.kind !== 'refuse') stopRefusing(st);
      st.script = script;
      st.stepIndex = 0;
      st.stepCount = 0;
      st.stepStart = now();
      applyRefuseSteps(st);
    },
    setFaults(provider, faults) {
      const st = mustGet(states, provider);
      if (!Array.isArray(faults)) throw new UsageError('faults: expected a list of faults, e.g. [{"kind":"overloaded","p":0.1}]');
      st.spec = { ...st.spec, faults: faults.map((f, i) => toProbabilisticFault(f, `faults[${i}]`)) };
    },
    connections: () => accepted,
    received: (provider) => [...mustGet(states, provider).received],
    injected: (provider) => {
      const st = mustGet(states, provider);
      return [...st.injected.slice(st.injectedNext), ...st.injected.slice(0, st.injectedNext)];
    },
    resetStats() {
      for (const st of states.values()) {
        st.injected = [];
        st.injectedNext = 0;
        st.received = [];
        st.stats = { requests: 0, ok: 0, faults: {} };
      }
      loop.reset();
    },
    eventLoopDelay() {
      if (loop.count === 0) return null;
      // The histogram is in ns and counts the sampling interval itself.
      const late = (ns: number) => Math.round(Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS) * 1000) / 1000;
      return { count: loop.count, p50: late(loop.percentile(50)), p99: late(loop.percentile(99)), max: late(loop.max) };
    },
    reset() {
      api.resetStats();
      for (const [name, spec] of Object.entries(opts.profile.providers)) {
        const st = states.get(name)!;
        st.spec = spec;
        // The seeded draws start over too: after a reset the same requests meet the same faults and latencies as after start.
        st.rng = new Rng(hashSeed(name, opts.profile.seed));
        st.cache.clear();
        st.budget?.reset();
        api.setScript(name, spec.script);
      }
    },
    stats() {
      const out: Record<string, ProviderStats> = {};
      for (const [name, st] of states) out[name] = { ...st.stats, faults: { ...st.stats.faults } };
      return out;
    },
    close: async () => {
      loop.disable();
      for (const st of states.values()) {
        clearTimeout(st.refuseTimer);
        if (st.own && !st.own.refusing) {
          st.own.server.close();
          st.own.server.closeAllConnections();
        }
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return api;
}

function mustGet(states: Map<string, ProviderState>, name: string): ProviderState {
  const st = states.get(name);
  if (!st) throw new Error(`unknown emulated provider "${name}"; the providers are ${[...states.keys()].join(', ')}`);
  return st;
}

function count(state: ProviderState, kind: string): void {
  state.stats.faults[kind] = (state.stats.faults[kind] ?? 0) + 1;
}

/** Reads an x-mock-fault header (a kind, or a JSON fault); what it cannot read becomes a message for a 400. */
export function parseFaultHeader(text: string): Fault | { invalid: string } {
  const how = 'send a kind (e.g. x-mock-fault: rate_limit) or a JSON fault (e.g. {"kind":"cut","after_tokens":3})';
  let raw: unknown = text.trim();
  if ((raw as string).startsWith('{')) {
    try {
      raw = JSON.parse(raw as string);
    } catch (e) {
      return { invalid: `x-mock-fault: not valid JSON (${(e as Error).message}); ${how}` };
    }
    const unknown = Object.keys(raw as object).filter((k) => !(FAULT_KEYS as readonly string[]).includes(k));
    if (unknown.length) return { invalid: `x-mock-fault: unknown key ${unknown.map((k) => `"${k}"`).join(', ')}; a fault has ${FAULT_KEYS.join(', ')}` };
  }
  try {
    return toFault(raw, 'x-mock-fault');
  } catch (e) {
    return { invalid: (e as Error).message };
  }
}

/** Anthropic says when to retry a 429 even when the scenario does not: one second unless the fault sets it. */
const ANTHROPIC_RETRY_AFTER_S = 1;

function fail(state: ProviderState, res: ServerResponse, kind: string, reply: { status: number; body: string }, fault: Partial<Fault>, rid: string): void {
  count(state, kind);
  const headers: Record<string, string> = {};
  const dialect: Dialect = state.spec.dialect;
  if (reply.status === 429 && kind !== 'billing') {
    // A rate-limit fault tells the story of a spent budget: nothing left until the client may retry.
    if (state.budget) Object.assign(headers, serviceHeaders(dialect, rid, spent(state.budget.limit, fault.retry_after_ms ?? (fault.retry_after ?? ANTHROPIC_RETRY_AFTER_S) * 1000)));
    if (dialect === 'anthropic') headers['retry-after'] = String(ANTHROPIC_RETRY_AFTER_S);
  }
  if (fault.retry_after !== undefined) headers['retry-after'] = String(fault.retry_after);
  if (fault.retry_after_ms !== undefined) headers['retry-after-ms'] = String(fault.retry_after_ms);
  // The body names the same request id as the header, as Anthropic's do.
  sendJson(res, reply.status, withRequestId(reply.body, rid), headers);
}

/**
 * The 429 of a spent budget (wire.ts budgetReply words it per dialect), with Retry-After in whole seconds
 * until the request would be admitted, rounded up: a client that waits that long is admitted. A request
 * larger than the whole per-minute budget gets no Retry-After: waiting would not help.
 */
function overBudget(state: ProviderState, res: ServerResponse, refused: BudgetRefusal, model: string, rid: string, left: BudgetLeft): void {
  count(state, 'rate_limit_budget');
  const dialect = state.spec.dialect;
  const requests = refused.bucket === 'requests';
  const limit = requests ? left.limit.requests_per_minute : left.limit.tokens_per_minute;
  const used = limit - (requests ? left.requests : left.tokens);
  const reply = budgetReply(dialect, { bucket: refused.bucket, limit, used, requested: refused.requested, waitMs: refused.waitMs, tooLarge: refused.tooLarge, model });
  const headers = serviceHeaders(dialect, rid, left);
  if (!refused.tooLarge && !reply.retryInBody) headers['retry-after'] = String(retryAfterSeconds(refused.waitMs));
  sendJson(res, reply.status, withRequestId(reply.body, rid), headers);
}

/** The body (an error reply or event made with the placeholder req_mock) names the same request id as the header, as Anthropic's do. */
function withRequestId(body: string, rid: string): string {
  return body.replace('"request_id":"req_mock"', `"request_id":${JSON.stringify(rid)}`);
}

/**
 * Anthropic's answer to a request (messages or models) without its version header; the words are the live
 * API's, as quoted in PipedreamHQ/pipedream#9697 and envoyproxy/ai-gateway#1909.
 */
const ANTHROPIC_VERSION_REQUIRED = 'anthropic-version: header is required';

/** Anthropic's ModelInfo.created_at (RFC 3339): a fixed date, so the list is the same on every run. */
const MODEL_CREATED_AT = '2025-05-22T00:00:00Z';

function sendJson(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function bearer(req: IncomingMessage): string | undefined {
  const auth = header(req, 'authorization');
  return auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
}

/** The request body as text, or undefined past MAX_REQUEST_BYTES (the rest is drained, not kept). Events, not an async iterator: this is the emulator's hottest path. */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (chunk: Buffer) => {
      n += chunk.length;
      if (n > MAX_REQUEST_BYTES) {
        parts.length = 0;
        resolve(undefined);
      } else parts.push(chunk);
    });
    req.on('end', () => resolve(n > MAX_REQUEST_BYTES ? undefined : parts.length === 1 ? parts[0].toString('utf8') : Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}


async function respond(state: ProviderState, body: Record<string, unknown>, promptTokens: number, cachedTokens: number, maxTokens: number, fault: Fault, req: IncomingMessage, res: ServerResponse, t0: number): Promise<void> {
  const spec = state.spec;
  const rng = state.rng;
  const stream = body.stream === true;
  const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  // MiniMax moves its thinking out of the content only when asked to (wire.ts StreamWire).
  const inlineThinking = spec.dialect === 'minimax' && body.reasoning_split !== true;
  // Prefill: the uncached part of the prompt delays the first token (when the profile gives it a cost).
  const prefill = (spec.prefill_ms_per_1k * (promptTokens - cachedTokens)) / 1000;
  const ttft = fault.kind === 'slow_first_token' ? (fault.delay_ms ?? 5000) : sample(spec.ttft, rng) + prefill;
  const wanted = outputWanted(body, maxTokens, Math.max(1, Math.round(sample(spec.output_tokens, rng))));
  const reasoningCount = Math.min(spec.reasoning_tokens, Number.isFinite(maxTokens) ? Math.max(0, maxTokens - 1) : spec.reasoning_tokens);
  const tool = toolCallFor(body, spec.dialect, rng);
  // A tool call is streamed as one step after the reasoning, in place of the text.
  const contentCount = tool ? 1 : Math.max(1, Math.min(wanted, Number.isFinite(maxTokens) ? maxTokens - reasoningCount : wanted));
  const truncated = !tool && Number.isFinite(maxTokens) && wanted + reasoningCount > maxTokens;
  let n = reasoningCount + contentCount;
  const totalMs = spec.total ? sample(spec.total, rng) : undefined;
  const gaps: number[] = [];
  for (let i = 1; i < n; i++) gaps.push(totalMs !== undefined ? Math.max(0, totalMs - ttft) / Math.max(1, n - 1) : sample(spec.itl, rng));
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(`${WORDS[rng.int(WORDS.length)]} `);
  // What the request asks of the text (a JSON response format, stop sequences) reshapes the words drawn,
  // and takes no draw of its own: a seeded run answers the same with or without them.
  let stopSequence: string | undefined;
  if (!tool) {
    const json = jsonAnswer(body, spec.dialect, words.slice(reasoningCount).join(''));
    if (json !== undefined) words.splice(reasoningCount, Infinity, ...splitInto(json, contentCount));
    const stop = cutAtStop(body, spec.dialect, words.slice(reasoningCount));
    if (stop) {
      words.splice(reasoningCount, Infinity, ...stop.tokens);
      stopSequence = stop.sequence;
    }
    n = words.length;
    gaps.length = Math.max(0, n - 1);
  }
  const reasoningText = words.slice(0, reasoningCount).join('');
  const contentText = words.slice(reasoningCount).join('');
  const counts: TokenCounts = { prompt: promptTokens, cached: cachedTokens, completion: n, reasoning: reasoningCount };
  const reason: FinishReason = tool ? 'tool_calls' : stopSequence === undefined && truncated ? 'length' : 'stop';
  const id = `${spec.dialect === 'anthropic' ? 'msg_' : 'chatcmpl-'}${state.stats.requests.toString(16)}${rng.int(1 << 30).toString(16)}`;
  let closed = false;
  // A client that goes (or the emulator closing) ends every wait at once: a long injected delay left
  // pending would hold the process open after Ctrl-C until it ran out. The AbortController is made only
  // for the waits that take a signal (keep-alives, a delayed non-streamed answer): made for every request
  // and aborted at its close, it cost a quarter of the emulator's CPU at full load (the abort's
  // DOMException captures a stack trace; --cpu-prof, non-streamed `instant` under autocannon -c 50).
  let gone: AbortController | undefined;
  const goneSignal = (): AbortSignal => {
    gone ??= new AbortController();
    if (closed) gone.abort();
    return gone.signal;
  };
  const waits = new Waits();
  res.on('close', () => {
    closed = true;
    gone?.abort();
    waits.end();
  });
  const planned = ttft + gaps.reduce((a, b) => a + b, 0);
  const timing: InjectedTiming = { arrivedAt: t0, arrivedEpochMs: toEpochMs(t0), plannedTtftMs: ttft, plannedTotalMs: planned, ttftMs: ttft, totalMs: planned, gapsMs: gaps, tokens: n, reasoningTokens: reasoningCount, promptTokens };
  if (fault.kind === 'ok' || fault.kind === 'slow_first_token') {
    if (state.injected.length < MAX_INJECTED) state.injected.push(timing);
    else {
      state.injected[state.injectedNext] = timing;
      state.injectedNext = (state.injectedNext + 1) % MAX_INJECTED;
    }
  }

  if (!stream) {
    const doneAt = t0 + planned;
    if (doneAt > now() || spec.keepalive_ms) {
      res.writeHead(200, { 'content-type': 'application/json' });
      // DeepSeek sends blank lines while a non-streamed request waits.
      while (!closed && now() < doneAt) {
        if (spec.keepalive_ms && spec.dialect === 'deepseek') res.write('\n');
        await sleep(Math.min(spec.keepalive_ms || Infinity, doneAt - now()), goneSignal());
      }
      if (closed) return;
    }
    if (fault.kind === 'cut' || fault.kind === 'stall') {
      if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/json' });
      res.write(nonStreamBody(spec.dialect, id, spec.model, contentText, reasoningText, reason, counts, undefined, undefined, inlineThinking).slice(0, 40));
      count(state, fault.kind);
      // cut: the connection closes mid-body; stall: it stays open and no more comes, until the client gives up.
      if (fault.kind === 'cut') req.socket.end();
      return;
    }
    timing.ttftMs = timing.totalMs = now() - t0;
    let payload: string;
    if (fault.kind === 'filtered') {
      const kept = words.slice(reasoningCount, reasoningCount + (fault.after_tokens ?? 0)).join('');
      payload = nonStreamBody(spec.dialect, id, spec.model, kept, reasoningText, 'content_filter', counts, undefined, undefined, inlineThinking);
    } else payload = nonStreamBody(spec.dialect, id, spec.model, contentText, reasoningText, reason, counts, tool, stopSequence, inlineThinking);
    // Malformed: a complete HTTP answer whose JSON breaks off half-way (the html fault is the wrong-content-type case).
    if (fault.kind === 'malformed') payload = payload.slice(0, payload.length >> 1);
    if (fault.kind === 'malformed' || fault.kind === 'filtered') count(state, fault.kind);
    else state.stats.ok++;
    if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
    return;
  }

  const wire = new StreamWire(spec.dialect, id, spec.model, includeUsage, inlineThinking);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const instant = ttft === 0 && gaps.every((g) => g === 0) && !spec.split_writes && fault.kind === 'ok';
  const out: string[] = [];
  const send = async (text: string) => {
    if (!text || closed) return;
    const frame = spec.crlf ? text.replace(/\n/g, '\r\n') : text;
    if (instant) {
      out.push(frame);
      return;
    }
    if (spec.split_writes) {
      const buf = Buffer.from(frame);
      let cut = buf.findIndex((b) => b >= 0x80);
      cut = cut > 0 ? cut + 1 : Math.max(1, buf.length >> 1); // inside a multibyte character when there is one
      res.write(buf.subarray(0, cut));
      await sleep(2);
      if (!closed) res.write(buf.subarray(cut));
      return;
    }
    res.write(frame);
  };

  await send(spec.dialect === 'anthropic' ? wire.anthropicStart(counts, reasoningCount > 0 ? 'thinking' : (tool ?? 'text')) : wire.start());
  const firstAt = t0 + ttft;
  while (!closed && now() < firstAt) {
    if (spec.keepalive_ms) {
      await send(wire.keepalive());
      await sleep(Math.min(spec.keepalive_ms, firstAt - now()), goneSignal());
    } else {
      await sliceAfter(firstAt - now(), waits);
    }
  }
  const midStream = fault.kind === 'stall' || fault.kind === 'cut' || fault.kind === 'malformed' || fault.kind === 'error_event' || fault.kind === 'filtered';
  const cutAt = fault.after_tokens ?? 0;
  /** The fault that breaks a stream after `after_tokens` tokens were sent. */
  const breakStream = async (generated: number): Promise<void> => {
    count(state, fault.kind);
    if (fault.kind === 'stall') return; // keep the connection open, send nothing more
    if (fault.kind === 'cut') {
      // Close after what was written is flushed: the client gets the tokens, then a body that never ends properly.
      req.socket.end();
      return;
    }
    if (fault.kind === 'malformed') await send(wire.malformed());
    else if (fault.kind === 'filtered') await send(wire.finish('content_filter', { ...counts, completion: generated }, '', { done: true, finishReason: true }));
    else await send(withRequestId(wire.errorEvent('overloaded'), String(res.getHeader('request-id'))));
    res.end();
  };
  // Tokens actually written: silent thinking (OpenAI, Gemini) writes nothing, so it neither counts toward
  // after_tokens nor moves the dialect's first-visible-chunk markers (role).
  let sent = 0;
  let at = firstAt;
  let lastWrite = 0;
  for (let i = 0; i < n; i++) {
    if (closed) return;
    if (i > 0) {
      at += gaps[i - 1];
      if (!instant) await sliceAfter(at - now(), waits);
    }
    const kind = i < reasoningCount ? 'reasoning' : 'content';
    const frame = tool && kind === 'content' ? wire.toolCall(tool, sent) : wire.token(kind, words[i], sent);
    if (frame && midStream && sent === cutAt) return breakStream(i);
    await send(frame);
    if (!frame) continue;
    sent++;
    if (!instant) {
      // The gaps logged are the ones that happened between written tokens (a late timer shortens the next one);
      // the first visible token is what a client sees as the first token.
      const wroteAt = now();
      if (sent === 1) {
        timing.ttftMs = wroteAt - t0;
        timing.gapsMs = [];
      } else timing.gapsMs.push(wroteAt - lastWrite);
      lastWrite = wroteAt;
      if (i === n - 1) timing.totalMs = now() - t0;
    }
  }
  // A fault asked for after more tokens than the answer has still happens, before the answer ends.
  if (midStream && !closed) return breakStream(n);
  const finishOpts = { done: fault.kind !== 'no_done', finishReason: fault.kind !== 'no_finish', stopSequence };
  await send(wire.finish(reason, counts, contentText, finishOpts));
  if (closed) return;
  if (fault.kind === 'no_done' || fault.kind === 'no_finish') count(state, fault.kind);
  else state.stats.ok++;
  if (instant) res.end(out.join(''));
  else res.end();
}

/** Anthropic's model-list page size when `limit` is not sent, and the largest it takes (its List Models reference). */
const ANTHROPIC_LIST_LIMIT = { default: 20, max: 1000 } as const;

/**
 * One page of an Anthropic model list, as its List Models reference describes the query: `limit` (1 to
 * 1000, default 20), `after_id` (the page after that model) or `before_id` (the page before it, for
 * @anthropic-ai/sdk's reverse paging); `has_more` says whether more lie in that direction. A limit out of
 * range or a cursor naming no listed model is a 400 (the emulator's wording: the live text is not recorded).
 */
function anthropicPage(ids: string[], q: URLSearchParams): { ids: string[]; hasMore: boolean } | string {
  const rawLimit = q.get('limit');
  const limit = rawLimit === null ? ANTHROPIC_LIST_LIMIT.default : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > ANTHROPIC_LIST_LIMIT.max) return `limit: Input should be an integer from 1 to ${ANTHROPIC_LIST_LIMIT.max} (emulator wording)`;
  const cursor = (name: 'after_id' | 'before_id') => {
    const id = q.get(name);
    if (id === null) return undefined;
    const at = ids.indexOf(id);
    return at < 0 ? `${name}: no listed model has id "${id}" (emulator wording)` : at;
  };
  const before = cursor('before_id');
  if (typeof before === 'string') return before;
  if (before !== undefined) {
    const from = Math.max(0, before - limit);
    return { ids: ids.slice(from, before), hasMore: from > 0 };
  }
  const after = cursor('after_id');
  if (typeof after === 'string') return after;
  const from = after === undefined ? 0 : after + 1;
  return { ids: ids.slice(from, from + limit), hasMore: from + limit < ids.length };
}

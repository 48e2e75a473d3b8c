/**
 * The chain core that `ask`, `serve` and the library share: providers.yaml in, one opened handle per
 * provider, and each call as a stream of chain events (`stream`) or their fold (`chat`). The CLI is never
 * loaded from here; a library user imports this through src/index.ts.
 */
import { stringify } from 'yaml';
import { FallbackChain, type ChainEvent, type ChainRequest, type ChainResult, type LiveSink } from './chain/chain.js';
import type { HedgeSetting } from './chain/policy.js';
import { hasKey, loadConfig, parseConfig, requireSomeProviders, SHIPPED_CONFIG, TRY_DEMO } from './config/load.js';
import type { ChainConfig, Config, ProviderConfig } from './config/types.js';
import { CALL_DEFAULTS } from './defaults.js';
import { RefusedFieldError, UsageError } from './errors.js';
import type { MockServer } from './mock/server.js';
import { handleFrom, openProvider, type ProviderHandle } from './providers/handle.js';
import { REASONING_EFFORTS, SAMPLING_RANGES, type ChatMessage, type Reasoning, type Sampling } from './providers/types.js';
import { MIN_THINKING_BUDGET } from './providers/reasoning.js';
import { MemoryBreakers, type Breakers } from './state/breaker.js';
import { cacheKey, MemoryAnswerCache, type AnswerCache } from './state/cache.js';
import { MemoryLatencyHistory, type LatencyHistory } from './state/latency.js';
import { closest } from './util/suggest.js';
import { estimatePromptTokens } from './util/tokens.js';

export interface RouterOptions {
  /**
   * providers.yaml: a path, or the same content as an object. Default: --config's lookup order
   * ($LLM_FALLBACK_CONFIG, ./providers.yaml, the shipped file).
   */
  config?: string | Record<string, unknown> | Config;
  /** The shipped chains and the article's four providers on the built-in emulator, in-process on loopback (no keys, no network). */
  demo?: boolean;
  /** Where API keys and ${VAR}s are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Where breaker state, cached answers and latency history live (default: in memory, per router). */
  stores?: { breakers?: Breakers; cache?: AnswerCache | null; history?: LatencyHistory };
  /** Non-fatal notes (a provider left out for lack of a key); default: ignored. */
  warn?: (message: string) => void;
  /** Names messages after the caller (a flag, a command); default "router". */
  who?: string;
}

export interface CallRequest {
  /** A chain name, a provider name, or `provider/model` (the provider's settings with another model). Default "default". */
  model?: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  /**
   * How hard a reasoning model thinks: `effort` (OpenAI's reasoning_effort: none, minimal, low, medium, high,
   * xhigh) or `budgetTokens` (Anthropic's thinking budget, at least 1024). Each provider gets it in its own
   * dialect, mapped where it must be (src/providers/reasoning.ts).
   */
  reasoning?: Reasoning;
  /** top_p (both dialects), top_k (Anthropic's only), seed and the penalties (OpenAI's only). */
  sampling?: Sampling;
  signal?: AbortSignal;
  /** One deadline for the whole call (default 120 s). */
  timeoutMs?: number;
  /** Read and write the answer cache (default true when the router has one). */
  cache?: boolean;
  /** Overrides of the chain's policy for this call. */
  hedge?: 'auto' | 'off' | number;
  retries?: number;
  onContentFilter?: 'stop' | 'fallover';
  /** Asked when a streamed answer breaks off after its tokens were passed on: 'stop' ends the call (see ChainOptions). */
  afterMidStreamFailure?: () => 'fallover' | 'stop';
}

/** What a name resolves to: the opened providers in order, and the chain settings that apply. */
export interface Route {
  name: string;
  kind: 'chain' | 'provider';
  providers: ProviderHandle[];
  chain?: ChainConfig;
  /** Providers named by the route but left out, with why (no key). */
  leftOut: { name: string; reason: string }[];
}

export interface RouteInfo {
  name: string;
  kind: 'chain' | 'provider';
  /** Provider names in order (one for a provider route). */
  providers: string[];
}

export type BreakerView = { provider: string; model: string; state: 'closed' | 'open' | 'half_open' };

/**
 * The fixes a message gives a library caller, who has no --config or --demo flag to reach for. A command
 * names itself (`who`); a caller that gives no `who` is a program using the library.
 */
const LIBRARY_FIX = {
  tryDemo: 'or pass demo: true to createRouter (no keys needed)',
  config: { given: 'check the config path passed to createRouter', none: 'create it or pass createRouter a config' },
};

/** A `provider/model` route opens an adapter per distinct model; past this many the oldest is closed. */
const MAX_MODEL_ROUTES = 32;

export class Router {
  private readonly handles = new Map<string, ProviderHandle>();
  private readonly routesByName = new Map<string, Route>();
  private readonly modelRoutes: string[] = [];
  private readonly pending = new Set<Promise<void>>();
  private closed = false;
  readonly breakers: Breakers;
  readonly cache: AnswerCache | null;
  readonly history: LatencyHistory;
  private readonly warn: (m: string) => void;
  private readonly who: string;
  private readonly tryDemo: string;

  constructor(
    readonly config: Config,
    private readonly env: NodeJS.ProcessEnv,
    opts: RouterOptions,
    /** The demo: the emulator, its handles, and the names it emulates (only these and chains of them are routable). */
    private readonly demo?: { server: MockServer; open: (name: string) => ProviderHandle | undefined; names: string[] },
  ) {
    this.warn = opts.warn ?? (() => {});
    this.who = opts.who ?? 'router';
    this.tryDemo = opts.who === undefined ? LIBRARY_FIX.tryDemo : TRY_DEMO;
    this.breakers = opts.stores?.breakers ?? new MemoryBreakers({ failures: config.ask.breakerFailures, cooldownMs: config.ask.breakerCooldownMs, probeTimeoutMs: CALL_DEFAULTS.deadlineMs });
    this.cache = opts.stores?.cache === undefined ? new MemoryAnswerCache(config.ask.cacheTtlMs) : opts.stores.cache;
    this.history = opts.stores?.history ?? new MemoryLatencyHistory();
  }

  /** Every chain and provider a request may name. */
  routes(): RouteInfo[] {
    const out: RouteInfo[] = [...this.config.chains.values()].map((c) => ({ name: c.name, kind: 'chain' as const, providers: c.providers }));
    for (const p of this.config.providers.values()) if (!this.config.chains.has(p.name)) out.push({ name: p.name, kind: 'provider', providers: [p.name] });
    const emulated = this.demo?.names;
    return emulated ? out.filter((r) => r.providers.every((n) => emulated.includes(n))) : out;
  }

  /**
   * The route a name stands for, its providers opened (once). A chain's providers without their key are
   * left out with a warning; a route with none left is a UsageError saying which variables to set.
   * `kind` restricts the lookup (ask's --chain and --provider); otherwise chains come first, then providers,
   * then `provider/model`.
   */
  route(name = 'default', kind?: 'chain' | 'provider', who = this.who): Route {
    if (this.closed) throw new UsageError(`${who}: this router is closed; create a new one with createRouter for more calls`);
    const known = this.routesByName.get(name);
    if (known && (!kind || known.kind === kind)) return known;
    const cfg = this.config;
    // providers: {} leaves the default chain empty: name that, not an empty list of key variables.
    requireSomeProviders(cfg, this.tryDemo);
    let route: Route;
    const chain = kind !== 'provider' ? cfg.chains.get(name) : undefined;
    const provider = kind !== 'chain' && !chain ? cfg.providers.get(name) : undefined;
    // `provider/model`: a provider of the config serving another model (only when no kind restricts the lookup).
    const slash = !chain && !provider && kind === undefined ? name.indexOf('/') : -1;
    const base = slash > 0 ? cfg.providers.get(name.slice(0, slash)) : undefined;
    if (this.demo) {
      const members = chain ? chain.providers : provider ? [provider.name] : base ? [base.name] : undefined;
      const refusal = this.demoRefusal(name, chain !== undefined, members, kind, who);
      if (refusal) throw refusal;
    }
    if (chain) route = this.build(name, 'chain', chain.providers.map((n) => cfg.providers.get(n)!), who, chain);
    else if (provider) route = this.build(name, 'provider', [provider], who);
    else {
      if (!base) throw unknownRoute(cfg, name, kind, who);
      route = this.build(name, 'provider', [base], who, undefined, name.slice(slash + 1));
      this.modelRoutes.push(name);
      if (this.modelRoutes.length > MAX_MODEL_ROUTES) this.forget(this.modelRoutes.shift()!);
    }
    if (!known) this.routesByName.set(name, route);
    return route;
  }

  /**
   * Every step of one call, up to exactly one `answer` event. Route and fit problems throw a UsageError
   * here, at once; the call itself starts on the first read, as an async iterable's work does: one built
   * and never read (or read later) has sent nothing until then. Leaving the loop before the answer
   * (break, return) cancels the call; read once, it ends.
   */
  stream(req: CallRequest): AsyncIterable<ChainEvent> {
    const { chain, body } = this.prepare(req);
    const start = (): AsyncIterable<ChainEvent> => {
      const events = chain.stream(body);
      this.track(chain);
      return events;
    };
    // An async generator runs nothing until its first next(); yield* hands a return() on to the chain's
    // stream, whose abandonment aborts the attempts in flight.
    return (async function* () {
      yield* start();
    })();
  }

  /** One call, folded: the answer (live, cached or static) or why none came. `sink` gets the live tokens. */
  async chat(req: CallRequest, sink?: LiveSink): Promise<ChainResult> {
    const { chain, body } = this.prepare(req, sink);
    const result = chain.run(body);
    this.track(chain);
    return result;
  }

  /** The breaker state of every provider opened so far, from the loaded state. */
  breakerStates(nowMs = Date.now()): BreakerView[] {
    const out: BreakerView[] = [];
    for (const h of this.handles.values()) {
      const a = this.breakers.admit(h.breakerKey, h.name, nowMs);
      out.push({ provider: h.name, model: h.model, state: !a.allowed ? 'open' : a.probe ? 'half_open' : 'closed' });
    }
    return out;
  }

  /** Resolves when every call's state writes (breaker, history, cache) have finished. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  /** Waits for state writes, then closes every connection (and the demo emulator). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.settled();
    await Promise.all([...this.handles.values()].map((h) => h.adapter.close()));
    await this.demo?.server.close();
  }

  private prepare(req: CallRequest, sink?: LiveSink): { chain: FallbackChain; body: ChainRequest } {
    checkRequest(req, this.who);
    const route = this.route(req.model ?? 'default');
    checkFitsSomewhere(req, route, this.who);
    checkSendable(req, route, this.who);
    const c = route.chain;
    const useCache = req.cache !== false && this.cache !== null;
    const chain = new FallbackChain(route.providers, {
      retries: req.retries ?? this.config.ask.retries,
      retrySameFirst: c?.retrySameFirst,
      deadlineMs: req.timeoutMs ?? CALL_DEFAULTS.deadlineMs,
      hedge: hedgeSetting(req.hedge ?? c?.hedge),
      onContentFilter: req.onContentFilter ?? c?.onContentFilter ?? CALL_DEFAULTS.onContentFilter,
      firstTokenMsPerPromptToken: CALL_DEFAULTS.firstTokenMsPerPromptToken,
      breakers: this.breakers,
      history: this.history,
      cache: useCache ? { store: this.cache!, key: once(() => cacheKey({ messages: req.messages, maxTokens: req.maxTokens, temperature: req.temperature, reasoning: req.reasoning, sampling: req.sampling, route: route.name })) } : undefined,
      staticMessage: c?.staticMessage ?? this.config.staticMessage,
      signal: req.signal,
      sink,
      afterMidStreamFailure: req.afterMidStreamFailure,
    });
    return { chain, body: { messages: req.messages, maxTokens: req.maxTokens, temperature: req.temperature, reasoning: req.reasoning, sampling: req.sampling } };
  }

  /** Keeps the call's state writes (which finish after its answer) until `settled`/`close`. */
  private track(chain: FallbackChain): void {
    const p = chain.settled.catch(() => {});
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /**
   * Under the demo only the emulated providers, and chains made of them, can be asked for: a name outside
   * them is refused naming what the demo does run, not every route of the shipped file (most of which it
   * cannot run), nor one provider of a chain as if the chain had been asked for by that name.
   */
  private demoRefusal(name: string, isChain: boolean, members: string[] | undefined, kind: 'chain' | 'provider' | undefined, who: string): UsageError | undefined {
    const emulated = this.demo!.names;
    if (members && members.every((n) => emulated.includes(n))) return undefined;
    const runs = this.routes()
      .filter((r) => kind === undefined || r.kind === kind)
      .map((r) => r.name);
    const listed = `${kind ?? 'route'}s the demo runs: ${runs.join(', ')}`;
    if (!members) {
      const hint = closest(name, runs);
      return new UsageError(`${who}: "${name}" is not a ${kind ?? 'chain or provider'} the demo runs; ${hint ? `did you mean "${hint}"?` : listed}`);
    }
    const missing = members.filter((n) => !emulated.includes(n));
    if (isChain) return new UsageError(`${who}: chain "${name}" needs ${missing.join(', ')}, which the demo does not emulate; ${listed}`);
    return new UsageError(`${who}: "${missing[0]}" is not emulated by the demo; ${listed}`);
  }

  private build(name: string, kind: 'chain' | 'provider', members: ProviderConfig[], who: string, chain?: ChainConfig, model?: string): Route {
    const providers: ProviderHandle[] = [];
    const leftOut: Route['leftOut'] = [];
    for (const p of members) {
      if (!this.demo && !hasKey(p, this.env)) {
        leftOut.push({ name: p.name, reason: `${p.apiKeyEnv} is not set` });
        continue;
      }
      providers.push(this.open(p, model));
    }
    for (const l of leftOut) this.warn(`${l.name} left out of ${kind === 'chain' ? `chain "${name}"` : 'the route'}: ${l.reason}`);
    if (providers.length === 0) {
      const vars = members.map((p) => p.apiKeyEnv).filter(Boolean);
      throw new UsageError(`${who}: no provider of ${kind === 'chain' ? `chain "${name}"` : `"${name}"`} has its API key set; export ${vars.join(' or ')}, ${this.tryDemo}`);
    }
    return { name, kind, providers, chain, leftOut };
  }

  private open(p: ProviderConfig, model?: string): ProviderHandle {
    const id = model ? `${p.name}/${model}` : p.name;
    let h = this.handles.get(id);
    if (!h) {
      h = this.demo ? this.demo.open(p.name) : openProvider(p, this.env, { model });
      if (!h) throw new UsageError(`${this.who}: "${p.name}" is not an emulated demo provider; choose from ${this.demo!.names.join(', ')}`);
      this.handles.set(id, h);
    }
    return h;
  }

  /** Drops a `provider/model` route and closes its adapter once in-flight calls on it are done. */
  private forget(name: string): void {
    this.routesByName.delete(name);
    const h = this.handles.get(name);
    if (!h) return;
    this.handles.delete(name);
    void this.settled().then(() => h.adapter.close());
  }
}

/** Loads the config (or uses the demo) and returns a router over it. */
export async function createRouter(opts: RouterOptions = {}): Promise<Router> {
  const env = opts.env ?? process.env;
  const given = opts.config;
  // From plain JavaScript: a number here was a TypeError from the path module.
  if (given !== undefined && typeof given !== 'string' && (typeof given !== 'object' || given === null)) {
    throw new UsageError(`${opts.who ?? 'router'}: config must be a path to a providers.yaml or its content as an object (got ${given === null ? 'null' : typeof given})`);
  }
  if (opts.demo) {
    // The demo runs the shipped file (a caller that has parsed it already passes it in).
    const cfg = isParsed(opts.config) ? opts.config : loadConfig(SHIPPED_CONFIG, env);
    // The emulator is loaded only for the demo: a router over real providers does not pay for it.
    const { startDemo } = await import('./mock/demo.js');
    // In the background: like a router over real providers, one whose close() was forgotten lets the program exit.
    const { server, providers } = await startDemo([], opts.who ?? 'router --demo', cfg, true);
    const byName = new Map(providers.map((d) => [d.settings.name, d]));
    const open = (name: string) => {
      const d = byName.get(name);
      return d ? handleFrom(d.config, d.settings, `demo:${name}`) : undefined;
    };
    return new Router(cfg, env, opts, { server, open, names: [...byName.keys()] });
  }
  const c = opts.config;
  const cfg = isParsed(c) ? c : typeof c === 'object' && c !== null ? parseConfig(stringify(c, { aliasDuplicateObjects: false }), '(config object)') : loadConfig(c, env, opts.who === undefined ? LIBRARY_FIX.config : undefined);
  return new Router(cfg, env, opts);
}

const isParsed = (c: RouterOptions['config']): c is Config => typeof c === 'object' && c !== null && c.providers instanceof Map;

/** `f`'s value, computed on the first call (a cache key is hashed after the answer, or not at all). */
function once<T>(f: () => T): () => T {
  let v: { value: T } | undefined;
  return () => (v ??= { value: f() }).value;
}

function hedgeSetting(v: number | 'auto' | 'off' | undefined): HedgeSetting {
  return v === undefined || v === 'auto' ? { kind: 'auto' } : v === 'off' ? { kind: 'off' } : { kind: 'fixed', ms: v };
}

function unknownRoute(cfg: Config, name: string, kind: 'chain' | 'provider' | undefined, who: string): UsageError {
  const pool = kind === 'chain' ? [...cfg.chains.keys()] : kind === 'provider' ? [...cfg.providers.keys()] : [...cfg.chains.keys(), ...cfg.providers.keys()];
  const what = kind ?? 'chain or provider';
  const hint = closest(name, pool);
  return new UsageError(`${who}: "${name}" is not a ${what} in ${cfg.file}${hint ? `; did you mean "${hint}"?` : `; ${kind ?? 'route'}s: ${pool.join(', ')}`}`);
}

const ROLES: readonly string[] = ['system', 'user', 'assistant'] satisfies ChatMessage['role'][];

/**
 * A request from plain JavaScript is not checked by the types: what they say is checked here, as a
 * UsageError before anything is sent. Otherwise a wrong shape became a TypeError from deep inside (a
 * message's text parts, only once every provider had failed and the cache key was computed), or the
 * same 400 asked of every provider in the chain.
 */
function checkRequest(req: CallRequest, who: string): void {
  const bad = (what: string) => new UsageError(`${who}: ${what}`);
  const show = (v: unknown) => (Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : typeof v === 'object' ? 'an object' : String(v));
  if (typeof req !== 'object' || req === null) throw bad(`a request must be an object with messages (got ${show(req)})`);
  if (!Array.isArray(req.messages) || req.messages.length === 0) throw bad('messages must be a non-empty list');
  req.messages.forEach((m: unknown, i) => {
    if (typeof m !== 'object' || m === null) throw bad(`messages[${i}] must be an object with role and content (got ${show(m)})`);
    const { role, content } = m as Record<string, unknown>;
    if (typeof role !== 'string' || !ROLES.includes(role)) throw bad(`messages[${i}].role: ${show(role)} is not one of ${ROLES.join(', ')}`);
    if (typeof content !== 'string') throw bad(`messages[${i}].content must be a string (got ${show(content)}); text parts and images are not supported`);
  });
  if (req.model !== undefined && (typeof req.model !== 'string' || req.model === '')) throw bad(`model must be a chain, provider or provider/model name (got ${show(req.model)})`);
  const whole = (v: unknown, min: number) => v === undefined || (typeof v === 'number' && Number.isSafeInteger(v) && v >= min);
  if (!whole(req.maxTokens, 1)) throw bad(`maxTokens must be a whole number of at least 1 (got ${show(req.maxTokens)})`);
  if (!whole(req.retries, 0)) throw bad(`retries must be a whole number of at least 0 (got ${show(req.retries)})`);
  if (req.temperature !== undefined && !(typeof req.temperature === 'number' && Number.isFinite(req.temperature) && req.temperature >= 0)) throw bad(`temperature must be a number of at least 0 (got ${show(req.temperature)})`);
  checkGeneration(req, bad, show);
  if (req.timeoutMs !== undefined && !(typeof req.timeoutMs === 'number' && Number.isFinite(req.timeoutMs) && req.timeoutMs > 0)) throw bad(`timeoutMs must be a number of milliseconds above 0 (got ${show(req.timeoutMs)})`);
  const h = req.hedge;
  if (h !== undefined && h !== 'auto' && h !== 'off' && !(typeof h === 'number' && Number.isFinite(h) && h >= 0)) throw bad(`hedge must be "auto", "off" or a number of milliseconds (got ${show(h)})`);
  if (req.onContentFilter !== undefined && req.onContentFilter !== 'stop' && req.onContentFilter !== 'fallover') throw bad(`onContentFilter must be "stop" or "fallover" (got ${show(req.onContentFilter)})`);
  if (req.signal !== undefined && !isSignal(req.signal)) throw bad(`signal must be an AbortSignal (got ${show(req.signal)})`);
}

/** reasoning and sampling, as CallRequest types them. */
function checkGeneration(req: CallRequest, bad: (what: string) => UsageError, show: (v: unknown) => string): void {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const r: unknown = req.reasoning;
  if (r !== undefined) {
    if (!isObj(r)) throw bad(`reasoning must be an object like { effort: "high" } or { budgetTokens: 4096 } (got ${show(r)})`);
    if (r.effort !== undefined && !REASONING_EFFORTS.includes(r.effort as never)) throw bad(`reasoning.effort must be one of ${REASONING_EFFORTS.join(', ')} (got ${show(r.effort)})`);
    if (r.budgetTokens !== undefined && !(typeof r.budgetTokens === 'number' && Number.isSafeInteger(r.budgetTokens) && r.budgetTokens >= MIN_THINKING_BUDGET)) throw bad(`reasoning.budgetTokens must be a whole number of at least ${MIN_THINKING_BUDGET}, Anthropic's minimum (got ${show(r.budgetTokens)})`);
  }
  const s: unknown = req.sampling;
  if (s === undefined) return;
  if (!isObj(s)) throw bad(`sampling must be an object like { topP: 0.9 } (got ${show(s)})`);
  for (const [key, [min, max]] of Object.entries(SAMPLING_RANGES)) {
    const v = s[key];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max)) throw bad(`sampling.${key} must be a number from ${min} to ${max} (got ${show(v)})`);
  }
  if (s.topK !== undefined && !(typeof s.topK === 'number' && Number.isSafeInteger(s.topK) && s.topK >= 0)) throw bad(`sampling.topK must be a whole number of at least 0 (got ${show(s.topK)})`);
  if (s.seed !== undefined && !(typeof s.seed === 'number' && Number.isSafeInteger(s.seed))) throw bad(`sampling.seed must be a whole number (got ${show(s.seed)})`);
}

/**
 * Every provider of the route must be able to take what the request asks (adapter.refuse): a field one of
 * them cannot express is refused before the first is called, not dropped when the chain reaches it.
 */
function checkSendable(req: CallRequest, route: Route, who: string): void {
  for (const p of route.providers) {
    const r = p.adapter.refuse?.(req);
    if (r) throw new RefusedFieldError(r.field === 'reasoning' || r.field === 'temperature' ? r.field : `sampling.${r.field}`, r.reason, who);
  }
}

/**
 * A prompt larger than every provider's context window cannot be helped by retrying or by the static
 * message: a UsageError saying so. Providers without a known window might take it.
 */
function checkFitsSomewhere(req: CallRequest, route: Route, who: string): void {
  const need = estimatePromptTokens(req.messages) + (req.maxTokens ?? 0);
  const ps = route.providers;
  if (ps.some((p) => p.contextWindow === undefined || need <= p.contextWindow)) return;
  const widest = ps.reduce((a, b) => ((b.contextWindow ?? 0) > (a.contextWindow ?? 0) ? b : a));
  const what = route.kind === 'chain' ? `chain "${route.name}"` : `"${route.name}"`;
  throw new UsageError(
    `${who}: the prompt (~${need.toLocaleString('en-US')} tokens${req.maxTokens ? ` with max tokens ${req.maxTokens}` : ''}) does not fit the context window of any provider of ${what} (largest: ${widest.name}, ${widest.contextWindow!.toLocaleString('en-US')} tokens); shorten it or use a provider with a larger window`,
  );
}

/** An AbortSignal by what the chain uses of it (one from another realm or a polyfill is fine too). */
const isSignal = (s: unknown): boolean => typeof s === 'object' && s !== null && typeof (s as AbortSignal).aborted === 'boolean' && typeof (s as AbortSignal).addEventListener === 'function';

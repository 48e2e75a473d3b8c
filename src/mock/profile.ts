import { parse as parseYaml } from 'yaml';
import { UsageError } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import { InputFileError, readFileBounded } from '../util/read-input.js';
import { yamlErrorAt } from '../util/yaml-error.js';

/** The most a profile file may be: a profile is a few dozen lines, like a config. */
export const PROFILE_FILE_BYTES = 1024 * 1024;
import type { Dist } from './random.js';
import type { RateLimit } from './rate-budget.js';

export const DIALECTS = ['openai', 'deepseek', 'moonshot', 'minimax', 'gemini', 'openrouter', 'anthropic'] as const;
export type Dialect = (typeof DIALECTS)[number];

/**
 * Faults the emulator injects. Class-named faults (auth, billing, rate_limit, overloaded, server,
 * context_length, content_filter) are sent in the dialect's real wire form, e.g. `billing` is an OpenAI
 * 429 insufficient_quota, a DeepSeek 402, a MiniMax 500 "(1008)".
 */
export const FAULT_KINDS = [
  'ok',
  'status',
  'auth',
  'billing',
  'rate_limit',
  'overloaded',
  'server',
  'context_length',
  'content_filter',
  'reset',
  'hang',
  'slow_first_token',
  'stall',
  'cut',
  'malformed',
  'no_done',
  'no_finish',
  'error_event',
  'html',
  'refuse',
  'filtered',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  kind: FaultKind;
  /** For kind "status". */
  status?: number;
  /** Seconds, sent as Retry-After. */
  retry_after?: number;
  /** Sent as retry-after-ms. */
  retry_after_ms?: number;
  message?: string;
  /** For slow_first_token. */
  delay_ms?: number;
  /** For stall, cut, malformed, error_event: how many tokens are sent first. */
  after_tokens?: number;
}

export interface ScriptStep extends Fault {
  /** The step serves this many requests, then the next step takes over. */
  times?: number;
  /** The step is active for this long after the script was set. */
  for_ms?: number;
}

export interface ProbabilisticFault extends Fault {
  p: number;
}

export interface MockProviderSpec {
  dialect: Dialect;
  model: string;
  ttft: Dist;
  itl: Dist;
  /** When set, overrides itl: the whole response takes this long (spread evenly over the tokens). */
  total?: Dist;
  output_tokens: Dist;
  reasoning_tokens: number;
  /** Interval of keep-alive comments (DeepSeek, OpenRouter) or pings (Anthropic) while waiting for the first token; 0 = none. */
  keepalive_ms: number;
  /**
   * Model ids this provider serves; a request for any other id gets the provider's real "model not found"
   * answer. Unset: any id is served (a catch-all test double). The built-in profiles set it.
   */
  models?: string[];
  /** Share of prompt tokens reported as cache hits (when prefix_cache is off). */
  cached_share: number;
  /** Model a prompt cache: a prompt opening as an earlier one did reports that part as cached tokens and skips its prefill. */
  prefix_cache: boolean;
  /** Prefill time added to the first token per 1,000 uncached prompt tokens (0: TTFT does not depend on the prompt). */
  prefill_ms_per_1k: number;
  /** `owned_by` in the model list: "vllm" or "sglang" makes a client send ignore_eos/min_tokens, which the emulator honours. */
  owned_by: string;
  context_window: number;
  /** When set, requests must carry this key (Bearer or x-api-key). */
  api_key?: string;
  /** Echo the presented key in 401 messages, as careless servers do (for secret-redaction tests). */
  echo_key: boolean;
  /** Answer 400 to requests carrying stream_options (as some vLLM/llama.cpp builds do). */
  reject_stream_options: boolean;
  /** Write each SSE event in pieces, cutting inside multibyte characters, with a pause between pieces. */
  split_writes: boolean;
  /** End SSE lines with \r\n instead of \n (some proxies and servers do). */
  crlf: boolean;
  /** Serve this provider on a port of its own too, so that a `refuse` step can refuse connections for real. */
  own_port: boolean;
  faults: ProbabilisticFault[];
  script: ScriptStep[];
  /**
   * At most `slots` requests in service at once, the rest queue in arrival order (src/mock/capacity.ts):
   * a capacity knee at slots / service time requests per second, the service time being the profile's
   * ttft + token gaps. Injected timings then count from the start of service, not from arrival.
   */
  capacity?: { slots: number };
  /**
   * The account's per-minute budget, enforced as the services do (src/mock/rate-budget.ts): past it a
   * request gets the dialect's rate-limit 429 with Retry-After, and OpenAI and Anthropic answers report
   * what is left in their rate-limit headers. Unset: no budget, and no rate-limit headers.
   */
  rate_limit?: RateLimit;
}

export interface MockProfile {
  seed: number;
  providers: Record<string, MockProviderSpec>;
}

const DEFAULT_MODEL: Record<Dialect, string> = {
  openai: 'gpt-5.4-mini',
  deepseek: 'deepseek-v4-flash',
  moonshot: 'kimi-k2.6',
  minimax: 'MiniMax-M2.7',
  gemini: 'gemini-3.5-flash',
  openrouter: 'deepseek/deepseek-v4-flash',
  anthropic: 'claude-sonnet-4-6',
};

const c = (value: number): Dist => ({ dist: 'constant', value });

/** Fills the defaults of a partial spec (zero latency, 16 tokens, healthy). */
export function providerSpec(partial: Partial<Omit<MockProviderSpec, 'rate_limit'>> & { dialect?: Dialect; rate_limit?: Partial<RateLimit> }): MockProviderSpec {
  const dialect = partial.dialect ?? 'openai';
  return {
    dialect,
    model: partial.model ?? DEFAULT_MODEL[dialect],
    models: partial.models,
    ttft: partial.ttft ?? c(0),
    itl: partial.itl ?? c(0),
    total: partial.total,
    output_tokens: partial.output_tokens ?? c(16),
    reasoning_tokens: partial.reasoning_tokens ?? 0,
    keepalive_ms: partial.keepalive_ms ?? 0,
    cached_share: partial.cached_share ?? 0,
    prefix_cache: partial.prefix_cache ?? false,
    prefill_ms_per_1k: partial.prefill_ms_per_1k ?? 0,
    owned_by: partial.owned_by ?? 'llm-fallback-mock',
    context_window: partial.context_window ?? 131_072,
    api_key: partial.api_key,
    echo_key: partial.echo_key ?? false,
    reject_stream_options: partial.reject_stream_options ?? false,
    split_writes: partial.split_writes ?? false,
    crlf: partial.crlf ?? false,
    own_port: partial.own_port ?? false,
    faults: partial.faults ?? [],
    script: partial.script ?? [],
    capacity: partial.capacity,
    // A limit left out is no limit; with neither there is no budget.
    rate_limit:
      partial.rate_limit && (partial.rate_limit.requests_per_minute !== undefined || partial.rate_limit.tokens_per_minute !== undefined)
        ? { requests_per_minute: partial.rate_limit.requests_per_minute ?? Infinity, tokens_per_minute: partial.rate_limit.tokens_per_minute ?? Infinity }
        : undefined,
  };
}

const lognormal = (median: number, sigma: number): Dist => ({ dist: 'lognormal', median, sigma });
const uniform = (min: number, max: number): Dist => ({ dist: 'uniform', min, max });

/**
 * The article's four providers with different speed profiles; MiniMax is the flaky one. Numbers are
 * plausible shapes for a demo, not measurements of the real services.
 */
function demoProviders(): Record<string, MockProviderSpec> {
  return {
    holysheep: providerSpec({ dialect: 'openai', model: 'deepseek-v3.2', ttft: lognormal(280, 0.25), itl: lognormal(14, 0.3), output_tokens: uniform(60, 120), cached_share: 0.2 }),
    deepseek: providerSpec({ dialect: 'deepseek', model: 'deepseek-v4-flash', ttft: lognormal(520, 0.35), itl: lognormal(22, 0.3), output_tokens: uniform(60, 120), reasoning_tokens: 24, keepalive_ms: 150, cached_share: 0.3 }),
    kimi: providerSpec({ dialect: 'moonshot', model: 'kimi-k2.6', ttft: lognormal(700, 0.3), itl: lognormal(30, 0.25), output_tokens: uniform(60, 120), cached_share: 0.25 }),
    minimax: providerSpec({
      dialect: 'minimax',
      model: 'MiniMax-M2.7',
      ttft: lognormal(400, 0.4),
      itl: lognormal(18, 0.35),
      output_tokens: uniform(60, 120),
      faults: [
        { kind: 'rate_limit', retry_after: 1, p: 0.08 },
        { kind: 'overloaded', p: 0.05 },
      ],
    }),
  };
}

/**
 * The budget of the built-in `openai` and `anthropic` providers, the two services that report theirs in
 * headers: a high paid tier's order of magnitude, which a demo never reaches and a load test can.
 */
const BUILTIN_RATE_LIMIT: RateLimit = { requests_per_minute: 10_000, tokens_per_minute: 2_000_000 };

/** The built-in profiles serve only their own model ids, as the real services do. */
const servingOwnModel = (providers: Record<string, MockProviderSpec>): Record<string, MockProviderSpec> =>
  Object.fromEntries(Object.entries(providers).map(([name, spec]) => [name, { ...spec, models: spec.models ?? [spec.model] }]));

export const BUILTIN_PROFILES: Record<string, () => MockProfile> = {
  demo: () => ({ seed: 42, providers: servingOwnModel(demoProviders()) }),
  default: () => ({
    seed: 42,
    providers: servingOwnModel({
      ...demoProviders(),
      openai: providerSpec({ dialect: 'openai', ttft: lognormal(350, 0.3), itl: lognormal(15, 0.3), output_tokens: uniform(40, 100), rate_limit: BUILTIN_RATE_LIMIT }),
      anthropic: providerSpec({ dialect: 'anthropic', ttft: lognormal(600, 0.3), itl: lognormal(20, 0.3), output_tokens: uniform(40, 100), keepalive_ms: 200, rate_limit: BUILTIN_RATE_LIMIT }),
      gemini: providerSpec({ dialect: 'gemini', ttft: lognormal(450, 0.3), itl: lognormal(10, 0.3), output_tokens: uniform(40, 100), reasoning_tokens: 30 }),
      openrouter: providerSpec({ dialect: 'openrouter', ttft: lognormal(500, 0.3), itl: lognormal(20, 0.3), output_tokens: uniform(40, 100), keepalive_ms: 200 }),
      instant: providerSpec({ dialect: 'openai', model: 'instant' }),
    }),
  }),
  instant: () => ({ seed: 42, providers: servingOwnModel({ instant: providerSpec({ dialect: 'openai', model: 'instant' }) }) }),
  /**
   * Servers with a prompt cache whose prefill costs time (a cached prefix answers sooner), one of them a vLLM
   * server (it honours ignore_eos/min_tokens): for bench's --input-tokens, --shared-prefix-tokens and --turns.
   */
  workloads: () => ({
    seed: 42,
    providers: servingOwnModel({
      vllm: providerSpec({ dialect: 'openai', model: 'qwen3-8b', owned_by: 'vllm', ttft: lognormal(60, 0.2), itl: lognormal(8, 0.2), output_tokens: uniform(20, 60), prefix_cache: true, prefill_ms_per_1k: 80 }),
      deepseek: providerSpec({ dialect: 'deepseek', model: 'deepseek-v4-flash', ttft: lognormal(150, 0.2), itl: lognormal(12, 0.2), output_tokens: uniform(20, 60), prefix_cache: true, prefill_ms_per_1k: 120 }),
      anthropic: providerSpec({ dialect: 'anthropic', ttft: lognormal(200, 0.2), itl: lognormal(15, 0.2), output_tokens: uniform(20, 60), prefix_cache: true, prefill_ms_per_1k: 100 }),
    }),
  }),
};

/** Loads a profile by built-in name or from a YAML/JSON file. */
export function loadProfile(nameOrFile: string): MockProfile {
  const builtin = BUILTIN_PROFILES[nameOrFile];
  if (builtin) return builtin();
  let text: string;
  try {
    text = readFileBounded(nameOrFile, PROFILE_FILE_BYTES).toString('utf8');
  } catch (e) {
    if (!(e instanceof InputFileError)) throw e;
    if (e.reason === 'missing') throw new UsageError(`--profile: "${nameOrFile}" is neither a built-in profile (${Object.keys(BUILTIN_PROFILES).join(', ')}) nor a readable file`);
    throw new UsageError(`--profile: "${nameOrFile}" ${e.detail}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new UsageError(`--profile: ${yamlErrorAt(nameOrFile, e)}`);
  }
  return profileFromObject(raw, nameOrFile);
}

/** Validates a profile given as plain data (from a file or from a test). Durations: "250ms", "1s", or a number of ms. */
export function profileFromObject(raw: unknown, where = 'profile'): MockProfile {
  const o = raw as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || !o.providers || typeof o.providers !== 'object') {
    throw new UsageError(`${where}: expected a mapping with a "providers" mapping`);
  }
  const providers: Record<string, MockProviderSpec> = {};
  for (const [name, value] of Object.entries(o.providers as Record<string, unknown>)) {
    providers[name] = specFromObject(value, `${where}: providers.${name}`);
  }
  return { seed: typeof o.seed === 'number' ? o.seed : 42, providers };
}

function specFromObject(raw: unknown, where: string): MockProviderSpec {
  if (!raw || typeof raw !== 'object') throw new UsageError(`${where}: expected a mapping`);
  const o = raw as Record<string, unknown>;
  const dialect = (o.dialect ?? 'openai') as Dialect;
  if (!DIALECTS.includes(dialect)) throw new UsageError(`${where}.dialect: "${String(o.dialect)}" is not one of ${DIALECTS.join(', ')}`);
  const partial: Partial<MockProviderSpec> = { dialect };
  if (o.model !== undefined) partial.model = String(o.model);
  if (o.models !== undefined) partial.models = toArray(o.models, `${where}.models`).map(String);
  for (const key of ['ttft', 'itl', 'total'] as const) if (o[key] !== undefined) partial[key] = toDist(o[key], `${where}.${key}`, true);
  if (o.output_tokens !== undefined) partial.output_tokens = toDist(o.output_tokens, `${where}.output_tokens`, false);
  for (const key of ['reasoning_tokens', 'cached_share', 'context_window', 'prefill_ms_per_1k'] as const) {
    if (o[key] !== undefined) partial[key] = toNumber(o[key], `${where}.${key}`);
  }
  if (o.keepalive_ms !== undefined) partial.keepalive_ms = toMs(o.keepalive_ms, `${where}.keepalive_ms`);
  if (o.api_key !== undefined) partial.api_key = String(o.api_key);
  if (o.owned_by !== undefined) partial.owned_by = String(o.owned_by);
  for (const key of ['prefix_cache', 'echo_key', 'reject_stream_options', 'split_writes', 'crlf', 'own_port'] as const) if (o[key] !== undefined) partial[key] = Boolean(o[key]);
  if (o.faults !== undefined) partial.faults = toArray(o.faults, `${where}.faults`).map((f, i) => toProbabilisticFault(f, `${where}.faults[${i}]`));
  if (o.script !== undefined) partial.script = toArray(o.script, `${where}.script`).map((f, i) => toStep(f, `${where}.script[${i}]`));
  if (o.capacity !== undefined) partial.capacity = toCapacity(o.capacity, `${where}.capacity`);
  if (o.rate_limit !== undefined) partial.rate_limit = toRateLimit(o.rate_limit, `${where}.rate_limit`);
  return providerSpec(partial);
}

function toCapacity(v: unknown, where: string): { slots: number } {
  const slots = (v as { slots?: unknown } | null)?.slots;
  if (!v || typeof v !== 'object' || typeof slots !== 'number' || !Number.isInteger(slots) || slots < 1) {
    throw new UsageError(`${where}: expected {slots: N} with N a whole number of requests served at once (1 or more), got ${JSON.stringify(v)}`);
  }
  return { slots };
}

const RATE_LIMIT_KEYS = ['requests_per_minute', 'tokens_per_minute'] as const;

function toRateLimit(v: unknown, where: string): RateLimit {
  const example = 'e.g. {requests_per_minute: 500, tokens_per_minute: 200000}';
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new UsageError(`${where}: expected a mapping, ${example}`);
  const o = v as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !(RATE_LIMIT_KEYS as readonly string[]).includes(k));
  if (unknown.length) throw new UsageError(`${where}: unknown key ${unknown.map((k) => `"${k}"`).join(', ')}; a rate limit has ${RATE_LIMIT_KEYS.join(' and/or ')}, ${example}`);
  if (o.requests_per_minute === undefined && o.tokens_per_minute === undefined) throw new UsageError(`${where}: give requests_per_minute and/or tokens_per_minute, ${example}`);
  const perMinute = (key: (typeof RATE_LIMIT_KEYS)[number]): number => {
    const n = o[key];
    if (n === undefined) return Infinity;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new UsageError(`${where}.${key}: expected a whole number of 1 or more per minute, got ${JSON.stringify(n)}`);
    return n;
  };
  return { requests_per_minute: perMinute('requests_per_minute'), tokens_per_minute: perMinute('tokens_per_minute') };
}

export function toStep(raw: unknown, where: string): ScriptStep {
  const step: ScriptStep = toFault(raw, where);
  const o = raw as Record<string, unknown>;
  knownKeys(o, STEP_KEYS, where);
  if (o.times !== undefined) step.times = toNumber(o.times, `${where}.times`);
  if (o.for !== undefined) step.for_ms = toMs(o.for, `${where}.for`);
  if (o.for_ms !== undefined) step.for_ms = toMs(o.for_ms, `${where}.for_ms`);
  if (step.kind === 'refuse' && step.for_ms === undefined) throw new UsageError(`${where}: a refuse step needs "for" (e.g. for: 5s): no request arrives to count while connections are refused`);
  return step;
}

/** The keys a fault may carry (a fault header with any other key is a typo, answered 400). */
export const FAULT_KEYS = ['kind', 'status', 'retry_after', 'retry_after_ms', 'message', 'delay', 'delay_ms', 'after_tokens'] as const;
const STEP_KEYS: readonly string[] = [...FAULT_KEYS, 'times', 'for', 'for_ms'];
const PROBABILISTIC_KEYS: readonly string[] = [...FAULT_KEYS, 'p'];

/** A key a fault does not have is a typo (`tims: 2` would make a step last for good), refused rather than ignored. */
function knownKeys(o: unknown, allowed: readonly string[], where: string): void {
  if (!o || typeof o !== 'object') return;
  const unknown = Object.keys(o).filter((k) => !allowed.includes(k));
  if (unknown.length) throw new UsageError(`${where}: unknown key ${unknown.map((k) => `"${k}"`).join(', ')}; it may have ${allowed.join(', ')}`);
}

/** A seeded fault: a fault and the probability `p` (0 to 1) that a request meets it. */
export function toProbabilisticFault(raw: unknown, where: string): ProbabilisticFault {
  const f = toFault(raw, where);
  knownKeys(raw, PROBABILISTIC_KEYS, where);
  const p = (raw as Record<string, unknown>).p;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new UsageError(`${where}.p: expected the probability of the fault, a number from 0 to 1, got ${JSON.stringify(p)}`);
  return { ...f, p };
}

export function toFault(raw: unknown, where: string): Fault {
  if (typeof raw === 'string') raw = { kind: raw };
  if (!raw || typeof raw !== 'object') throw new UsageError(`${where}: expected a fault mapping like {kind: rate_limit}`);
  const o = raw as Record<string, unknown>;
  const kind = o.kind as FaultKind;
  if (!FAULT_KINDS.includes(kind)) throw new UsageError(`${where}.kind: "${String(o.kind)}" is not one of ${FAULT_KINDS.join(', ')}`);
  const f: Fault = { kind };
  if (o.status !== undefined) f.status = toNumber(o.status, `${where}.status`);
  if (kind === 'status' && f.status === undefined) throw new UsageError(`${where}: kind "status" needs a status code, e.g. {"kind":"status","status":503}`);
  if (f.status !== undefined && !(Number.isInteger(f.status) && f.status >= 300 && f.status <= 599)) throw new UsageError(`${where}.status: ${f.status} is not a redirect or error status (300-599)`);
  if (o.retry_after !== undefined) f.retry_after = toNumber(o.retry_after, `${where}.retry_after`);
  if (o.retry_after_ms !== undefined) f.retry_after_ms = toNumber(o.retry_after_ms, `${where}.retry_after_ms`);
  if (o.message !== undefined) f.message = String(o.message);
  if (o.delay !== undefined) f.delay_ms = toMs(o.delay, `${where}.delay`);
  if (o.delay_ms !== undefined) f.delay_ms = toMs(o.delay_ms, `${where}.delay_ms`);
  if (o.after_tokens !== undefined) f.after_tokens = toNumber(o.after_tokens, `${where}.after_tokens`);
  return f;
}

function toArray(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) throw new UsageError(`${where}: expected a list`);
  return v;
}

function toNumber(v: unknown, where: string): number {
  const n = typeof v === 'number' ? v : Number.NaN;
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${where}: expected a non-negative number, got ${JSON.stringify(v)}`);
  return n;
}

function toMs(v: unknown, where: string): number {
  if (typeof v === 'number') return toNumber(v, where);
  const ms = typeof v === 'string' ? parseDuration(v) : undefined;
  if (ms === undefined) throw new UsageError(`${where}: expected a duration like "250ms" or "2s", got ${JSON.stringify(v)}`);
  return ms;
}

function toDist(v: unknown, where: string, isTime: boolean): Dist {
  const scalar = (x: unknown, w: string) => (isTime ? toMs(x, w) : toNumber(x, w));
  if (typeof v === 'number' || typeof v === 'string') return { dist: 'constant', value: scalar(v, where) };
  if (!v || typeof v !== 'object') throw new UsageError(`${where}: expected a value or {dist: ...}`);
  const o = v as Record<string, unknown>;
  switch (o.dist) {
    case 'constant':
      return { dist: 'constant', value: scalar(o.value, `${where}.value`) };
    case 'uniform':
      return { dist: 'uniform', min: scalar(o.min, `${where}.min`), max: scalar(o.max, `${where}.max`) };
    case 'normal':
      return { dist: 'normal', mean: scalar(o.mean, `${where}.mean`), stddev: scalar(o.stddev, `${where}.stddev`) };
    case 'lognormal':
      return { dist: 'lognormal', median: scalar(o.median, `${where}.median`), sigma: toNumber(o.sigma, `${where}.sigma`) };
    default:
      throw new UsageError(`${where}.dist: "${String(o.dist)}" is not one of constant, uniform, normal, lognormal`);
  }
}

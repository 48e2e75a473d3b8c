import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, isMap, isNode, isPair, isScalar, isSeq, parseDocument, visit, type Node, type ParsedNode } from 'yaml';
import { ConfigError, UsageError } from '../errors.js';
import type { ProviderSettings } from '../providers/index.js';
import { parseDuration } from '../util/duration.js';
import { InputFileError, readFileBounded } from '../util/read-input.js';
import { closest } from '../util/suggest.js';
import { CONFIG_DEFAULTS, DEFAULT_TIMEOUTS } from '../defaults.js';
import type { ThinkingForm } from '../providers/reasoning.js';
import type { ThinkTags } from '../providers/think-tags.js';
import { CONFIG, HEADER_VALUE_BAD } from './schema.js';
import { VALUE_BAD_RE } from '../providers/h1/request.js';
import type { ChainConfig, Config, ProviderConfig, StreamCommit, TimeoutsMs } from './types.js';
import { Validator, type Problem } from './validate.js';


/** The providers.yaml shipped in the package (two levels above dist/config/). */
export const SHIPPED_CONFIG = fileURLToPath(new URL('../../providers.yaml', import.meta.url));

/** The way to a run without keys, as a command's user asks for it (the library names its own `demo: true`). */
export const TRY_DEMO = 'or try --demo (no keys needed)';

/**
 * providers: {} is a valid file but leaves nothing to run: say that, not "export , or try --demo" (an empty
 * list of key variables). Commands that need a provider call this first; the library says its own way to the demo.
 */
export function requireSomeProviders(cfg: Config, tryDemo = TRY_DEMO): void {
  if (cfg.providers.size === 0) throw new UsageError(`${cfg.file}: no providers configured (providers: is empty); add one under providers: (see the shipped providers.yaml), ${tryDemo}`);
}

/** Lookup order: --config, $LLM_FALLBACK_CONFIG, ./providers.yaml, the shipped file. */
export function findConfigFile(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  if (explicit) return resolve(cwd, explicit);
  if (env.LLM_FALLBACK_CONFIG) return resolve(cwd, env.LLM_FALLBACK_CONFIG);
  const local = resolve(cwd, 'providers.yaml');
  if (existsSync(local)) return local;
  return SHIPPED_CONFIG;
}

/** How a command's user names a config file, for the fix an unreadable file's message gives; the library passes its own. */
export const CONFIG_FIX = { given: 'check the --config path', none: 'create it or pass --config FILE' };

export function loadConfig(explicit?: string, env: NodeJS.ProcessEnv = process.env, fix = CONFIG_FIX): Config {
  const file = findConfigFile(explicit, env);
  let text: string;
  try {
    text = readBounded(file);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const how = explicit ? fix.given : env.LLM_FALLBACK_CONFIG ? 'check $LLM_FALLBACK_CONFIG' : fix.none;
    if (e instanceof InputFileError && e.reason === 'missing') throw new ConfigError([`${display(file)}: cannot read config (no such file); ${how}`]);
    if (e instanceof InputFileError) throw new ConfigError([`${display(file)}: cannot read config: it ${e.detail}${e.reason === 'pipe' || e.reason === 'denied' ? '' : `; ${how}`}`]);
    throw e;
  }
  return parseConfig(text, file);
}

/**
 * Limits that keep a hostile or broken config from exhausting memory or the stack: the file's size, one
 * value's size, nesting depth and alias expansion (the "billion laughs"). Each is a config error with a position.
 */
export const CONFIG_LIMITS = { fileBytes: 1024 * 1024, valueChars: 64 * 1024, depth: 32, aliasExpansions: 100 } as const;

/** Reads at most the size limit through the shared bounded reader: /dev/zero, a huge file or a FIFO cannot fill memory or hang. */
function readBounded(file: string): string {
  try {
    return readFileBounded(file, CONFIG_LIMITS.fileBytes).toString('utf8');
  } catch (e) {
    if (e instanceof InputFileError && e.reason === 'too-big') throw new ConfigError([`${display(file)}:1:1: the file is larger than ${CONFIG_LIMITS.fileBytes / 1024} KiB, the most a config may be; is this the right file?`]);
    throw e;
  }
}

/** Depth and value-size problems, found without recursion (a deep tree must not overflow our own stack). */
function limitProblems(root: Node, lines: LineCounter): Problem[] {
  const problems: Problem[] = [];
  const at = (node: Node, message: string) => {
    const pos = lines.linePos(node.range?.[0] ?? 0);
    problems.push({ line: pos.line, col: pos.col, message });
  };
  const stack: [Node, number][] = [[root, 1]];
  while (stack.length && problems.length < 5) {
    const [node, depth] = stack.pop()!;
    if (depth > CONFIG_LIMITS.depth) {
      at(node, `nested more than ${CONFIG_LIMITS.depth} levels deep; a config never needs that many, flatten it`);
      continue;
    }
    if (isScalar(node) && typeof node.value === 'string' && node.value.length > CONFIG_LIMITS.valueChars) {
      at(node, `a value of ${node.value.length.toLocaleString('en-US')} characters; values may be at most ${CONFIG_LIMITS.valueChars / 1024} KiB`);
    }
    if (isMap(node) || isSeq(node)) {
      for (const item of node.items as unknown[]) {
        if (isPair(item)) {
          if (item.key && isNode(item.key)) stack.push([item.key, depth + 1]);
          if (item.value && isNode(item.value)) stack.push([item.value, depth + 1]);
        } else if (isNode(item)) stack.push([item, depth + 1]);
      }
    }
  }
  return problems;
}

function firstAlias(root: Node): Node {
  let found: Node = root;
  visit(root, {
    Alias(_, node) {
      found = node;
      return visit.BREAK;
    },
  });
  return found;
}

function display(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

/** Parses and validates config text; throws ConfigError listing every problem as file:line:col. */
export function parseConfig(text: string, file: string): Config {
  const name = display(file);
  if (Buffer.byteLength(text) > CONFIG_LIMITS.fileBytes) throw new ConfigError([`${name}:1:1: the file is larger than ${CONFIG_LIMITS.fileBytes / 1024} KiB, the most a config may be; is this the right file?`]);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: Problem[] = [];
  for (const err of doc.errors) {
    const pos = lines.linePos(err.pos[0]);
    let msg = excerpt(err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''));
    if (/call stack/i.test(err.message)) {
      msg = `nested too deeply to read; a config never needs more than ${CONFIG_LIMITS.depth} levels, flatten it`;
    } else if (err.code === 'DUPLICATE_KEY') {
      const key = /^[^:\n]*/.exec(text.slice(err.pos[0]))?.[0].trim() ?? '';
      msg = `duplicate key "${key}"; each name may appear only once in a mapping: rename or remove one`;
    } else {
      msg = `YAML syntax error: ${msg}`;
    }
    problems.push({ line: pos.line, col: pos.col, message: msg });
  }
  if (problems.length) throw new ConfigError(format(name, problems));
  if (doc.contents === null) throw new ConfigError([`${name}:1:1: the file is empty; it needs at least a "providers:" mapping (see the shipped providers.yaml)`]);
  const limits = limitProblems(doc.contents, lines);
  if (limits.length) throw new ConfigError(format(name, limits));

  const v = new Validator(lines);
  v.check(doc.contents as ParsedNode, CONFIG, '');
  // Cross-references only make sense once the shape is right.
  if (v.problems.length === 0) crossCheck(doc.contents as ParsedNode, v);
  if (v.problems.length) throw new ConfigError(format(name, v.problems));

  let raw: RawConfig;
  try {
    raw = doc.toJS({ maxAliasCount: CONFIG_LIMITS.aliasExpansions }) as RawConfig;
  } catch (e) {
    const pos = lines.linePos(firstAlias(doc.contents).range?.[0] ?? 0);
    throw new ConfigError([`${name}:${pos.line}:${pos.col}: aliases (*name) expand to too many values (${(e as Error).message.replace(/\.$/, '')}); write the values out instead`]);
  }
  return build(raw, name, doc.contents as ParsedNode, lines);
}

/** The parser quotes the offending text; binary garbage made that a line of thousands of characters. */
const EXCERPT_CHARS = 80;
function excerpt(message: string): string {
  const quote = message.indexOf('"');
  if (quote < 0 || message.length - quote - 1 <= EXCERPT_CHARS) return message;
  return `${message.slice(0, quote + 1 + EXCERPT_CHARS)}…" (cut; is this a text file?)`;
}

function format(file: string, problems: Problem[]): string[] {
  return problems.sort((a, b) => a.line - b.line || a.col - b.col).map((p) => `${file}:${p.line}:${p.col}: ${p.message}`);
}

function crossCheck(root: ParsedNode, v: Validator): void {
  if (!isMap(root)) return;
  const providersNode = root.get('providers', true) as ParsedNode | undefined;
  const names = new Set<string>();
  if (isMap(providersNode)) for (const p of providersNode.items) if (isScalar(p.key)) names.add(String(p.key.value));
  if (isMap(providersNode)) {
    for (const p of providersNode.items) {
      const api = isMap(p.value) ? p.value.get('api', true) : undefined;
      if (!isMap(p.value) || !isScalar(api)) continue;
      // thinking says how reasoning is written: adaptive and budget are Anthropic's thinking field, effort is
      // OpenAI's reasoning_effort; none (the model does not reason) is either's.
      const anthropic = String(api.value) === 'anthropic';
      const name = isScalar(p.key) ? String(p.key.value) : '?';
      // The Messages API sends thinking in blocks of its own, read as reasoning: tags in the text are the answer's.
      const tags = p.value.get('think_tags', true) as ParsedNode | undefined;
      if (anthropic && isScalar(tags)) v.at(tags, `providers.${name}.think_tags: is for an api: openai provider (an api: anthropic provider's thinking comes in thinking blocks, which are read as reasoning, and its text is read as sent); remove it`);
      const value = p.value.get('thinking', true) as ParsedNode | undefined;
      if (!isScalar(value)) continue;
      const form = String(value.value);
      const at = `providers.${name}.thinking`;
      if (anthropic && form === 'effort') v.at(value, `${at}: "effort" is for an OpenAI-dialect provider, which is sent reasoning_effort (an api: anthropic provider is sent thinking); use adaptive, budget or none`);
      if (!anthropic && (form === 'adaptive' || form === 'budget')) v.at(value, `${at}: "${form}" is for an api: anthropic provider (an api: ${String(api.value)} provider is sent reasoning_effort); use effort or none, or remove it`);
    }
  }
  const chainsNode = root.get('chains', true) as ParsedNode | undefined;
  if (!isMap(chainsNode)) return;
  for (const pair of chainsNode.items) {
    const chainName = isScalar(pair.key) ? String(pair.key.value) : '?';
    let list = pair.value as ParsedNode | null;
    if (isMap(list)) list = list.get('providers', true) as ParsedNode | null;
    if (!isSeq(list)) continue;
    const seen = new Set<string>();
    for (const item of list.items) {
      if (!isScalar(item)) continue;
      const ref = String(item.value);
      if (!names.has(ref)) {
        const hint = closest(ref, names);
        v.at(item as ParsedNode, `chains.${chainName}: unknown provider "${ref}"${hint ? ` (did you mean "${hint}"?)` : ''}; define it under providers: or remove it from the chain`);
      }
      else if (seen.has(ref)) v.at(item as ParsedNode, `chains.${chainName}: provider "${ref}" is listed twice; list each provider once (retries are per provider)`);
      seen.add(ref);
    }
  }
}

interface RawTimeouts {
  connect?: string;
  first_token?: string;
  idle?: string;
  total?: string;
}

interface RawProvider {
  api: 'openai' | 'anthropic';
  base_url: string;
  model: string;
  api_key_env?: string;
  description?: string;
  headers?: Record<string, string>;
  params?: Record<string, unknown>;
  price?: { input: number; cached_input?: number; cache_write?: number; output: number; priced_at?: string; source?: string };
  context_window?: number;
  max_output_tokens?: number;
  max_tokens_param?: 'max_tokens' | 'max_completion_tokens';
  stream_usage?: 'auto' | 'never';
  thinking?: ThinkingForm;
  think_tags?: ThinkTags;
  max_response_bytes?: number;
  timeouts?: RawTimeouts;
  required?: boolean;
  thresholds?: string[];
}

interface RawStreamCommit {
  tokens?: number;
  after?: string;
}

function streamCommit(raw: RawStreamCommit | undefined): Partial<StreamCommit> | undefined {
  if (!raw) return undefined;
  return { ...(raw.tokens !== undefined ? { tokens: raw.tokens } : {}), ...(raw.after !== undefined ? { ms: parseDuration(raw.after)! } : {}) };
}

interface RawConfig {
  defaults?: { timeouts?: RawTimeouts; max_output_tokens?: number; retries?: number; breaker_failures?: number; breaker_cooldown?: string; cache_ttl?: string };
  providers: Record<string, RawProvider>;
  chains?: Record<string, string[] | { providers: string[]; static_message?: string; hedge?: string; retry_same_first?: boolean; on_content_filter?: 'stop' | 'fallover'; stream_commit?: RawStreamCommit }>;
  serve?: { host?: string; port?: number; api_key_env?: string; state?: string; max_body?: number; max_concurrent_per_client?: number; stream_commit?: RawStreamCommit; otlp_endpoint?: string; shutdown_grace?: string };
  static_message?: string;
  thresholds?: string[];
  currency?: { code?: string; rate?: number };
}

function timeouts(base: TimeoutsMs, raw: RawTimeouts | undefined): TimeoutsMs {
  if (!raw) return base;
  return {
    connect: raw.connect ? parseDuration(raw.connect)! : base.connect,
    firstToken: raw.first_token ? parseDuration(raw.first_token)! : base.firstToken,
    idle: raw.idle ? parseDuration(raw.idle)! : base.idle,
    total: raw.total ? parseDuration(raw.total)! : base.total,
  };
}

/** "file:line:col" of the value at `path`, if the config has one. */
function valueAt(root: ParsedNode, path: string[], file: string, lines: LineCounter): string | undefined {
  let node: unknown = root;
  for (const key of path) node = isMap(node) ? node.get(key, true) : undefined;
  const off = isNode(node) ? node.range?.[0] : undefined;
  if (off === undefined) return undefined;
  const pos = lines.linePos(off);
  return `${file}:${pos.line}:${pos.col}`;
}

function build(raw: RawConfig, file: string, root: ParsedNode, lines: LineCounter): Config {
  const defaults = timeouts(DEFAULT_TIMEOUTS, raw.defaults?.timeouts);
  const providers = new Map<string, ProviderConfig>();
  const providersNode = isMap(root) ? (root.get('providers', true) as ParsedNode) : undefined;
  for (const [name, p] of Object.entries(raw.providers)) {
    let where = file;
    if (isMap(providersNode)) {
      const pair = providersNode.items.find((it) => isScalar(it.key) && String(it.key.value) === name);
      const off = (pair?.key as ParsedNode | undefined)?.range?.[0];
      if (off !== undefined) {
        const pos = lines.linePos(off);
        where = `${file}:${pos.line}:${pos.col}`;
      }
    }
    providers.set(name, {
      name,
      api: p.api,
      baseUrl: p.base_url,
      model: p.model,
      apiKeyEnv: p.api_key_env,
      description: p.description,
      headers: p.headers ?? {},
      params: p.params ?? {},
      price: p.price
        ? {
            input: p.price.input,
            cachedInput: p.price.cached_input ?? p.price.input,
            // Only Anthropic bills cache writes apart (its default, 1.25 × input, is usage-cost's); the automatic
            // caches of OpenAI-dialect providers charge nothing extra to write, so a write costs the input price
            // there (what `cost --from` charges them for a write share measured on Anthropic).
            cacheWrite: p.price.cache_write ?? (p.api === 'anthropic' ? undefined : p.price.input),
            output: p.price.output,
            pricedAt: p.price.priced_at,
            source: p.price.source,
          }
        : undefined,
      contextWindow: p.context_window,
      maxOutputTokens: p.max_output_tokens ?? raw.defaults?.max_output_tokens,
      maxTokensParam: p.max_tokens_param,
      streamUsage: p.stream_usage,
      thinking: p.thinking,
      thinkTags: p.think_tags,
      maxResponseBytes: p.max_response_bytes,
      timeouts: timeouts(defaults, p.timeouts),
      required: p.required ?? false,
      thresholds: p.thresholds ?? [],
      where,
    });
  }
  const chains = new Map<string, ChainConfig>();
  for (const [name, c] of Object.entries(raw.chains ?? {})) {
    if (Array.isArray(c)) chains.set(name, { name, providers: c });
    else chains.set(name, { name, providers: c.providers, staticMessage: c.static_message, hedge: c.hedge === 'auto' || c.hedge === 'off' || c.hedge === undefined ? c.hedge : parseDuration(c.hedge), retrySameFirst: c.retry_same_first, onContentFilter: c.on_content_filter, streamCommit: streamCommit(c.stream_commit) });
  }
  if (!chains.has('default')) chains.set('default', { name: 'default', providers: [...providers.keys()] });
  return {
    file,
    providers,
    chains,
    staticMessage: raw.static_message,
    thresholds: raw.thresholds ?? [],
    serve: {
      host: raw.serve?.host,
      port: raw.serve?.port,
      apiKeyEnv: raw.serve?.api_key_env,
      state: raw.serve?.state,
      maxBodyBytes: raw.serve?.max_body,
      maxConcurrentPerClient: raw.serve?.max_concurrent_per_client,
      streamCommit: streamCommit(raw.serve?.stream_commit),
      otlpEndpoint: raw.serve?.otlp_endpoint,
      shutdownGraceMs: raw.serve?.shutdown_grace ? parseDuration(raw.serve.shutdown_grace)! : undefined,
      where: { host: valueAt(root, ['serve', 'host'], file, lines), state: valueAt(root, ['serve', 'state'], file, lines) },
    },
    currency: raw.currency?.code && raw.currency.rate ? { code: raw.currency.code, rate: raw.currency.rate } : undefined,
    ask: {
      retries: raw.defaults?.retries ?? CONFIG_DEFAULTS.retries,
      breakerFailures: raw.defaults?.breaker_failures ?? CONFIG_DEFAULTS.breakerFailures,
      breakerCooldownMs: raw.defaults?.breaker_cooldown ? parseDuration(raw.defaults.breaker_cooldown)! : CONFIG_DEFAULTS.breakerCooldownMs,
      cacheTtlMs: raw.defaults?.cache_ttl ? parseDuration(raw.defaults.cache_ttl)! : CONFIG_DEFAULTS.cacheTtlMs,
    },
  };
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Expands ${VAR} in a config string; undefined names are reported by the caller, used values collected in `used`. */
export function expandEnv(text: string, env: NodeJS.ProcessEnv, missing: string[], used: string[] = []): string {
  return text.replace(ENV_REF, (_, v: string) => {
    const value = env[v];
    if (value === undefined) {
      missing.push(v);
      return '';
    }
    used.push(value);
    return value;
  });
}

/** The ${VAR} names a config string refers to. */
export function envRefs(text: string): string[] {
  return [...text.matchAll(ENV_REF)].map((m) => m[1]);
}

/** Header names that carry credentials whatever their value looks like. */
const CREDENTIAL_HEADER = /^(authorization|proxy-authorization|cookie|api-key|x-api-key|x-goog-api-key|.*(token|secret|key|auth).*)$/i;

/**
 * A header value is a secret when it comes from the environment (`api-key: ${AZURE_KEY}`) or the header's
 * name says it carries credentials: it is redacted everywhere and never sent over plain HTTP to a remote host.
 */
export function isSecretHeader(name: string, rawValue: string): boolean {
  return envRefs(rawValue).length > 0 || CREDENTIAL_HEADER.test(name);
}

/**
 * The raw values of a base URL's query parameters that carry a credential from the environment
 * (`?key=${GEMINI_API_KEY}`, as some gateways and Google's APIs take one): a credential-looking name and a
 * ${VAR} in the value. They are kept from every output and from plain HTTP, as a key is; a variable in
 * any other parameter (`api-version=${V}`) is not, or its value would be redacted wherever it appears.
 */
export function queryCredentials(rawBaseUrl: string): string[] {
  const q = rawBaseUrl.indexOf('?');
  if (q < 0) return [];
  return rawBaseUrl
    .slice(q + 1)
    .split('&')
    .map((pair) => [pair.slice(0, Math.max(0, pair.indexOf('='))), pair.slice(pair.indexOf('=') + 1)] as const)
    .filter(([name, value]) => CREDENTIAL_HEADER.test(name) && envRefs(value).length > 0)
    .map(([, value]) => value);
}

/**
 * Everything an adapter needs, with the key read from the environment. Only providers that are actually
 * used come through here, so a missing key is an error for them alone.
 */
export function resolveProvider(p: ProviderConfig, env: NodeJS.ProcessEnv = process.env): ProviderSettings {
  const missing: string[] = [];
  const baseUrl = expandEnv(p.baseUrl, env, missing);
  const model = expandEnv(p.model, env, missing);
  const headers: Record<string, string> = {};
  const secrets: string[] = [];
  for (const [k, v] of Object.entries(p.headers)) {
    const used: string[] = [];
    headers[k] = expandEnv(v, env, missing, used);
    if (isSecretHeader(k, v)) secrets.push(headers[k], ...used);
  }
  for (const value of queryCredentials(p.baseUrl)) expandEnv(value, env, [], secrets);
  const broken = Object.keys(headers).find((k) => VALUE_BAD_RE.test(headers[k]));
  if (broken) throw new ConfigError([`${p.where}: provider ${p.name}: header ${broken} holds ${HEADER_VALUE_BAD} once its variables are expanded; no HTTP header may carry one`]);
  if (missing.length) {
    throw new ConfigError([`${p.where}: provider ${p.name} uses \${${missing[0]}}, which is not set; export ${missing[0]}=... or edit the provider`]);
  }
  let apiKey: string | undefined;
  if (p.apiKeyEnv) {
    apiKey = env[p.apiKeyEnv];
    if (!apiKey) {
      throw new ConfigError([`${p.where}: provider ${p.name} needs an API key: set the environment variable ${p.apiKeyEnv} (export ${p.apiKeyEnv}=...), or leave ${p.name} out of the run`]);
    }
  }
  try {
    new URL(baseUrl);
  } catch {
    throw new ConfigError([`${p.where}: provider ${p.name}: base_url "${baseUrl}" is not a valid URL after expanding variables`]);
  }
  return {
    name: p.name,
    api: p.api,
    baseUrl,
    model,
    apiKey,
    headers,
    secrets,
    params: p.params,
    timeouts: { connectMs: p.timeouts.connect, firstTokenMs: p.timeouts.firstToken, idleMs: p.timeouts.idle, totalMs: p.timeouts.total },
    maxOutputTokens: p.maxOutputTokens,
    maxTokensParam: p.maxTokensParam,
    streamUsage: p.streamUsage,
    thinking: p.thinking,
    thinkTags: p.thinkTags,
    maxResponseBytes: p.maxResponseBytes,
  };
}

/** A provider by name, or a UsageError naming who asked (a flag or a command), with a did-you-mean. */
export function findProvider(cfg: Config, name: string, who: string): ProviderConfig {
  const p = cfg.providers.get(name);
  if (p) return p;
  const hint = closest(name, cfg.providers.keys());
  throw new UsageError(`${who}: "${name}" is not a provider in ${cfg.file}${hint ? `; did you mean "${hint}"?` : `; providers: ${[...cfg.providers.keys()].join(', ')}`}`);
}

/** A chain by name, or a UsageError naming who asked, with a did-you-mean. */
export function findChain(cfg: Config, name: string, who: string): ChainConfig {
  const c = cfg.chains.get(name);
  if (c) return c;
  const hint = closest(name, cfg.chains.keys());
  throw new UsageError(`${who}: "${name}" is not a chain in ${cfg.file}${hint ? `; did you mean "${hint}"?` : `; chains: ${[...cfg.chains.keys()].join(', ')}`}`);
}

/** True when the provider's key variable is set (or it needs none). */
export function hasKey(p: ProviderConfig, env: NodeJS.ProcessEnv = process.env): boolean {
  return !p.apiKeyEnv || Boolean(env[p.apiKeyEnv]);
}

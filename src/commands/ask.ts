import { FallbackChain, type ChainProvider, type LiveSink } from '../chain/chain.js';
import { findChain, findProvider, loadConfig, resolveProvider, hasKey, SHIPPED_CONFIG, type Config } from '../config/load.js';
import { UsageError } from '../errors.js';
import { checkDuration } from '../util/duration.js';
import { askJson, askSummary, attemptLines } from '../format/ask.js';
import type { MockServer } from '../mock/server.js';
import { createAdapter } from '../providers/index.js';
import type { ChatMessage } from '../providers/types.js';
import { FileBreakers, breakerKey } from '../state/breaker.js';
import { FileAnswerCache, cacheKey } from '../state/cache.js';
import { FileLatencyHistory } from '../state/latency.js';
import type { HedgeSetting } from '../chain/policy.js';
import { formatMs } from '../util/duration.js';
import { readInputFile, readInputStream, type InputLimits } from '../util/read-input.js';
import { StopSignals } from '../util/signals.js';
import { estimatePromptTokens } from '../util/tokens.js';
import { choiceFlag, durationFlag, intFlag, numberFlag } from './options.js';

/** Exit codes of `ask`, so scripts can tell a live answer from a fallback tier. */
export const ASK_EXIT = { live: 0, none: 1, usage: 2, cache: 3, static: 4, interrupted: 130 } as const;

const MAX_PROMPT_BYTES = 8 * 1024 * 1024;
/** Long prompts get a longer first-token clock: +1 s per 10,000 prompt tokens. */
const FIRST_TOKEN_MS_PER_PROMPT_TOKEN = 0.1;

export interface AskOptions {
  file?: string;
  system?: string;
  chain?: string;
  provider?: string;
  maxTokens?: string;
  temperature?: string;
  timeout?: string;
  cache: boolean;
  json?: boolean;
  hedge?: string;
  retries?: string;
  onContentFilter?: string;
  quiet?: boolean;
  demo?: boolean;
}

function decodeStrict(bytes: Buffer, where: string): string {
  if (bytes.length > MAX_PROMPT_BYTES) throw new UsageError(`${where}: the prompt is ${(bytes.length / 1048576).toFixed(1)} MiB; the limit is ${MAX_PROMPT_BYTES / 1048576} MiB`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${where}: the prompt is not valid UTF-8 text; convert it (e.g. iconv -t UTF-8) and try again`);
  }
}

/**
 * The first chunk of a stream, or null when it ends, fails or sends nothing within `ms` (then it is
 * released: an open pipe nobody writes to, as some CI runners and `docker run -i` give, must not block).
 */
function firstChunk(stream: NodeJS.ReadStream, ms: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const done = (chunk: Buffer | null, release: boolean) => {
      clearTimeout(timer);
      stream.off('data', onData).off('end', onEnd).off('error', onEnd);
      stream.pause();
      if (release) stream.destroy();
      resolve(chunk);
    };
    const onData = (chunk: Buffer) => done(chunk, false);
    const onEnd = () => done(null, true);
    const timer = setTimeout(() => done(null, true), ms);
    stream.on('data', onData).once('end', onEnd).once('error', onEnd);
  });
}

/** How long a silent stdin is waited for when the prompt also came as arguments. */
const STDIN_WITH_ARGS_WAIT_MS = 2_000;

/** The prompt: the arguments, then piped stdin appended after a blank line (like `git diff | ask "Review:"`); or --file; or stdin alone. */
async function readPrompt(words: string[], opts: AskOptions, stallMs: number): Promise<string> {
  let text: string;
  // Reading the prompt never outgrows the limit nor waits longer than the call's own deadline for a byte.
  const limits: InputLimits = { limit: MAX_PROMPT_BYTES, stallMs, stallName: 'the --timeout' };
  if (words.length) {
    text = words.join(' ');
    if (!process.stdin.isTTY && !opts.file) {
      const first = await firstChunk(process.stdin, Math.min(STDIN_WITH_ARGS_WAIT_MS, stallMs));
      if (first) {
        // The rest under the same bounds; the listener is attached before the stream flows again.
        const rest = readInputStream(process.stdin, 'stdin', { ...limits, limit: limits.limit - first.length });
        process.stdin.resume();
        text = `${text}\n\n${decodeStrict(Buffer.concat([first, await rest]), 'stdin')}`;
      }
    }
  } else if (opts.file) text = decodeStrict(await readInputFile(opts.file, limits), `--file ${opts.file}`);
  else if (!process.stdin.isTTY) text = decodeStrict(await readInputStream(process.stdin, 'stdin', limits), 'stdin');
  else {
    throw new UsageError('ask: no prompt; pass it as an argument (llm-fallback ask "..."), with --file FILE, or on stdin');
  }
  if (!text.trim()) throw new UsageError('ask: the prompt is empty');
  return text;
}

export async function askCommand(words: string[], opts: AskOptions, global: { config?: string }): Promise<number> {
  // Installed first: a Ctrl-C or SIGTERM while the call is being set up is still the user's stop, reported as such.
  const abort = new AbortController();
  const signals = new StopSignals(() => abort.abort());
  const maxTokens = intFlag('--max-tokens', opts.maxTokens);
  const temperature = numberFlag('--temperature', opts.temperature, 0, 2);
  const timeoutMs = durationFlag('--timeout', opts.timeout) ?? 120_000;
  const hedgeFlag = opts.hedge === 'off' || opts.hedge === 'auto' ? opts.hedge : hedgeDuration(opts.hedge);
  const retriesFlag = intFlag('--retries', opts.retries, 0);
  const onContentFilterFlag = choiceFlag('--on-content-filter', opts.onContentFilter, ['stop', 'fallover'] as const);
  if (opts.chain && opts.provider) throw new UsageError('--chain and --provider: choose one');
  const prompt = await readPrompt(words, opts, timeoutMs);
  const messages: ChatMessage[] = [];
  if (opts.system) messages.push({ role: 'system', content: opts.system });
  messages.push({ role: 'user', content: prompt });

  const warn = (msg: string) => {
    if (!opts.quiet) process.stderr.write(`llm-fallback: warning: ${msg}\n`);
  };
  let cfg: Config;
  let server: MockServer | undefined;
  let providers: ChainProvider[];
  let chainName: string;
  if (opts.demo) {
    // The emulated providers stand in for the shipped ones of the same names: --provider and --chain pick among them.
    const shipped = loadConfig(SHIPPED_CONFIG);
    chainName = opts.provider ?? opts.chain ?? 'default';
    const names = opts.provider ? [findProvider(shipped, opts.provider, '--provider').name] : findChain(shipped, chainName, '--chain').providers;
    ({ cfg, server, providers } = await demoChain(shipped, names));
  } else {
    cfg = loadConfig(global.config);
    let names: string[];
    if (opts.provider) {
      names = [findProvider(cfg, opts.provider, '--provider').name];
      chainName = opts.provider;
    } else {
      chainName = opts.chain ?? 'default';
      names = findChain(cfg, chainName, '--chain').providers;
    }
    const usable = names.map((n) => cfg.providers.get(n)!).filter((p) => {
      if (hasKey(p)) return true;
      warn(`${p.name} left out of the chain: ${p.apiKeyEnv} is not set`);
      return false;
    });
    if (usable.length === 0) {
      const vars = names.map((n) => cfg.providers.get(n)!.apiKeyEnv).filter(Boolean);
      throw new UsageError(`ask: no provider of ${opts.provider ? `"${opts.provider}"` : `chain "${chainName}"`} has its API key set; export ${vars.join(' or ')}, or try "llm-fallback ask --demo"`);
    }
    providers = usable.map((p) => {
      const settings = resolveProvider(p);
      return {
        name: p.name,
        model: settings.model,
        adapter: createAdapter(settings),
        price: p.price,
        contextWindow: p.contextWindow,
        timeouts: p.timeouts,
        breakerKey: breakerKey(p.name, settings.baseUrl, settings.model),
      };
    });
  }
  // From here on every path closes what it started (sockets, the demo emulator).
  const closeAll = async () => {
    await Promise.all(providers.map((p) => p.adapter.close()));
    await server?.close();
  };
  try {
    checkFitsSomewhere(messages, maxTokens, providers, opts.provider ? `"${opts.provider}"` : `chain "${chainName}"`);
  } catch (e) {
    await closeAll();
    throw e;
  }
  const chainCfg = cfg.chains.get(chainName);
  const breakers = new FileBreakers({ failures: cfg.ask.breakerFailures, cooldownMs: cfg.ask.breakerCooldownMs, probeTimeoutMs: Math.max(timeoutMs, 10_000) }, process.env, warn);
  const key = cacheKey({ messages, maxTokens, temperature });
  const live = process.stdout.isTTY && !opts.json;
  // On a terminal, stderr shows which provider and attempt the call is waiting on, until the answer flows.
  const waiting = process.stderr.isTTY && !opts.quiet ? new WaitingLine(process.stderr) : undefined;
  const attemptsOf = new Map<string, number>();
  let answering = false;
  let streamed = false;
  const sink: LiveSink | undefined =
    live || waiting
      ? {
          attemptStart: (provider, model) => {
            const n = (attemptsOf.get(provider) ?? 0) + 1;
            attemptsOf.set(provider, n);
            if (!answering) waiting?.show(`waiting for ${provider} (${model})${n > 1 ? `, attempt ${n}` : ''}…`);
          },
          token: (t) => {
            answering = true;
            waiting?.clear();
            if (!live) return;
            streamed = true;
            process.stdout.write(t);
          },
          restart: (failed, error, next) => {
            answering = false;
            if (live) process.stdout.write(`\n\n[llm-fallback: ${failed} failed mid-answer (${error.detail}); ${next ? `the complete answer from ${next} follows` : 'no other provider to try'}]\n\n`);
          },
        }
      : undefined;

  const chain = new FallbackChain(providers, {
    retries: retriesFlag ?? cfg.ask.retries,
    retrySameFirst: chainCfg?.retrySameFirst,
    deadlineMs: timeoutMs,
    hedge: hedgeSetting(hedgeFlag ?? chainCfg?.hedge),
    onContentFilter: onContentFilterFlag ?? chainCfg?.onContentFilter ?? 'stop',
    firstTokenMsPerPromptToken: FIRST_TOKEN_MS_PER_PROMPT_TOKEN,
    breakers,
    history: new FileLatencyHistory(process.env, warn),
    cache: opts.cache ? { store: new FileAnswerCache(cfg.ask.cacheTtlMs, process.env, warn), key } : undefined,
    staticMessage: chainCfg?.staticMessage ?? cfg.staticMessage,
    signal: abort.signal,
    sink,
  });
  try {
    let result;
    try {
      result = await chain.run({ messages, maxTokens, temperature });
    } finally {
      waiting?.clear();
      await closeAll();
    }

    // Stopped by the user (or SIGTERM) before a live answer was complete: say so, not "a provider failed".
    if (signals.received && result.source !== 'live') {
      if (opts.json) process.stdout.write(askJson({ ...result, source: 'none', content: '', error: { class: 'cancelled', message: `interrupted (${signals.received})` } }));
      if (streamed) process.stdout.write('\n');
      process.stderr.write(`llm-fallback: interrupted (${signals.received === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'}) after ${formatMs(result.latency_ms)}; no answer\n`);
      return signals.exitCode;
    }
    if (opts.json) {
      process.stdout.write(askJson(result));
    } else if (result.source !== 'none') {
      // On a TTY the live answer was already shown as it came; cache and static answers are printed now.
      if (!(result.source === 'live' && streamed)) process.stdout.write(result.content);
      if (!result.content.endsWith('\n')) process.stdout.write('\n');
    }
    if (!opts.quiet && !opts.json) process.stderr.write(`${askSummary(result)}\n`);
    if (result.source === 'none') {
      if (!opts.json) {
        process.stderr.write(`llm-fallback: nothing could answer. Attempts:\n${attemptLines(result).join('\n')}\n`);
      }
      return ASK_EXIT.none;
    }
    return result.source === 'live' ? ASK_EXIT.live : result.source === 'cache' ? ASK_EXIT.cache : ASK_EXIT.static;
  } finally {
    signals.finish();
  }
}

/**
 * A prompt larger than every provider's context window cannot be helped by retrying or by the static
 * message: a usage error (exit 2) saying so. Providers without a known window might take it.
 */
function checkFitsSomewhere(messages: ChatMessage[], maxTokens: number | undefined, providers: ChainProvider[], what: string): void {
  const need = estimatePromptTokens(messages) + (maxTokens ?? 0);
  if (providers.some((p) => p.contextWindow === undefined || need <= p.contextWindow)) return;
  const widest = providers.reduce((a, b) => ((b.contextWindow ?? 0) > (a.contextWindow ?? 0) ? b : a));
  throw new UsageError(
    `ask: the prompt (~${need.toLocaleString('en-US')} tokens${maxTokens ? ` with --max-tokens ${maxTokens}` : ''}) does not fit the context window of any provider of ${what} (largest: ${widest.name}, ${widest.contextWindow!.toLocaleString('en-US')} tokens); shorten it or use a provider with a larger window`,
  );
}

/** One status line on a terminal's stderr, rewritten in place and erased before anything else is shown. */
class WaitingLine {
  private shown = false;
  constructor(private readonly stream: NodeJS.WriteStream) {}
  show(text: string): void {
    this.stream.write(`\r\x1b[2K${text}`);
    this.shown = true;
  }
  clear(): void {
    if (!this.shown) return;
    this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}

/** `--hedge` takes a duration (within the timer limit), auto or off. */
function hedgeDuration(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const d = checkDuration(value);
  if ('problem' in d) throw new UsageError(`--hedge: ${d.problem}${/not a duration/.test(d.problem) ? ' (or auto, or off)' : ''}`);
  return d.ms;
}

function hedgeSetting(v: number | 'auto' | 'off' | undefined): HedgeSetting {
  return v === undefined || v === 'auto' ? { kind: 'auto' } : v === 'off' ? { kind: 'off' } : { kind: 'fixed', ms: v };
}

/** `ask --demo`: the article's chain against the in-process emulator (no keys, no network). */
async function demoChain(cfg: Config, names: string[]): Promise<{ cfg: Config; server: MockServer; providers: ChainProvider[] }> {
  // The emulator is loaded only for --demo: ask's start-up should not pay for it.
  const { startDemo } = await import('../mock/demo.js');
  const { server, providers } = await startDemo(names, 'ask --demo');
  return {
    cfg,
    server,
    providers: providers.map(({ config, settings }) => ({
      name: settings.name,
      model: settings.model,
      adapter: createAdapter(settings),
      price: config.price,
      contextWindow: config.contextWindow,
      timeouts: config.timeouts,
      breakerKey: `demo:${settings.name}`,
    })),
  };
}

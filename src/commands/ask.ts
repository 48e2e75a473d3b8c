import type { LiveSink } from '../chain/chain.js';
import { loadConfig, SHIPPED_CONFIG } from '../config/load.js';
import { ASK_EXIT, CALL_DEFAULTS } from '../defaults.js';
import { RefusedFieldError, UsageError } from '../errors.js';
import { askJson, askSummary, attemptLines } from '../format/ask.js';
import { REASONING_EFFORTS, type ChatMessage } from '../providers/types.js';
import { createRouter } from '../router.js';
import { progressWanted } from '../report/progress.js';
import { FileBreakers } from '../state/breaker.js';
import { FileAnswerCache } from '../state/cache.js';
import { FileLatencyHistory } from '../state/latency.js';
import { checkDuration, formatMs } from '../util/duration.js';
import { readInputFile, readInputStream, type InputLimits } from '../util/read-input.js';
import { forTerminal } from '../util/redact.js';
import { StopSignals } from '../util/signals.js';
import { choiceFlag, durationFlag, intFlag, numberFlag } from './options.js';

/** The flag that set each field the router may refuse (RefusedFieldError.field). */
const FLAG_OF: Record<string, string> = { reasoning: '--reasoning-effort', temperature: '--temperature' };

const MAX_PROMPT_BYTES = 8 * 1024 * 1024;

export interface AskOptions {
  file?: string;
  system?: string;
  chain?: string;
  provider?: string;
  maxTokens?: string;
  temperature?: string;
  reasoningEffort?: string;
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
  const effort = choiceFlag('--reasoning-effort', opts.reasoningEffort, REASONING_EFFORTS);
  const timeoutMs = durationFlag('--timeout', opts.timeout) ?? CALL_DEFAULTS.deadlineMs;
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
  const env = process.env;
  // The demo's providers have breaker and history keys of their own (demo:NAME), so it never sways real calls.
  const cfg = loadConfig(opts.demo ? SHIPPED_CONFIG : global.config);
  const router = await createRouter({
    demo: opts.demo,
    config: cfg,
    who: opts.demo ? 'ask --demo' : 'ask',
    warn,
    stores: {
      breakers: new FileBreakers({ failures: cfg.ask.breakerFailures, cooldownMs: cfg.ask.breakerCooldownMs, probeTimeoutMs: Math.max(timeoutMs, CALL_DEFAULTS.minProbeTimeoutMs) }, env, warn),
      history: new FileLatencyHistory(env, warn),
      cache: opts.cache ? new FileAnswerCache(cfg.ask.cacheTtlMs, env, warn) : null,
    },
  });
  const routeName = opts.provider ?? opts.chain ?? 'default';
  try {
    router.route(routeName, opts.provider ? 'provider' : 'chain', opts.provider ? '--provider' : '--chain');
  } catch (e) {
    await router.close();
    throw e;
  }
  const live = process.stdout.isTTY && !opts.json;
  // On a terminal, stderr shows which provider and attempt the call is waiting on, until the answer flows;
  // not on TERM=dumb, which cannot clear a line (no `el` in its terminfo), as bench's progress.
  const waiting = progressWanted(process.stderr, process.env, Boolean(opts.quiet)) ? new WaitingLine(process.stderr) : undefined;
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
            process.stdout.write(forTerminal(t));
          },
          restart: (failed, error, next) => {
            answering = false;
            if (live) process.stdout.write(`\n\n[llm-fallback: ${failed} failed mid-answer (${error.detail}); ${next ? `the complete answer from ${next} follows` : 'no other provider to try'}]\n\n`);
          },
        }
      : undefined;

  try {
    let result;
    try {
      result = await router.chat(
        { model: routeName, messages, maxTokens, temperature, reasoning: effort ? { effort } : undefined, timeoutMs, cache: opts.cache, hedge: hedgeFlag, retries: retriesFlag, onContentFilter: onContentFilterFlag, signal: abort.signal },
        sink,
      );
    } catch (e) {
      // The router names the library's fields; a command-line user set flags.
      if (e instanceof RefusedFieldError) throw new UsageError(`ask: ${FLAG_OF[e.field] ?? e.field}: ${e.reason.replace(/\bmax tokens\b/g, '--max-tokens')}`);
      throw e;
    } finally {
      waiting?.clear();
      await router.close();
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
      if (!(result.source === 'live' && streamed)) process.stdout.write(process.stdout.isTTY ? forTerminal(result.content) : result.content);
      if (!result.content.endsWith('\n')) process.stdout.write('\n');
    }
    if (!opts.quiet && !opts.json) process.stderr.write(`${askSummary(result, result.provider === null || cfg.providers.get(result.provider)?.price !== undefined)}\n`);
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

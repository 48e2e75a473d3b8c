import { UsageError } from '../../errors.js';
import { intFlag, numberFlag, ratioFlag } from '../../commands/options.js';
import type { ChatMessage } from '../../providers/types.js';
import { TextSynth } from './text.js';
import { DEFAULT_TOKENIZER, loadTokenizer, TOKENIZERS } from './tokenizer.js';
import { checkTrace, parseTraceSpeed } from './trace.js';
import { Workload, type WorkloadSettings } from './workload.js';

/** The workload flags as commander hands them over. */
export interface WorkloadOptions {
  inputTokens?: string;
  inputTokensStddev?: string;
  outputTokens?: string;
  tokenizer?: string;
  sharedPrefixTokens?: string;
  cacheBust?: string | boolean;
  turns?: string;
  trace?: string;
  traceSpeed?: string;
  /** Other bench flags the workload flags cannot be combined with. */
  rate?: string;
  concurrency?: string;
  maxTokens?: string;
  prompt?: string[];
  prompts?: string;
  shard?: string;
}

/** A synthetic prompt or answer longer than this is past any model's context. */
const MAX_SYNTH_TOKENS = 1_000_000;
const MAX_TURNS = 100;

export interface WorkloadFlags {
  settings: Omit<WorkloadSettings, 'trace'>;
  trace?: { file: string; speed: number };
}

/** Checks the workload flags (each problem one line naming the flag); undefined when none is given. */
export function workloadFlags(o: WorkloadOptions): WorkloadFlags | undefined {
  const input = intFlag('--input-tokens', o.inputTokens, 1, MAX_SYNTH_TOKENS);
  const stddev = numberFlag('--input-tokens-stddev', o.inputTokensStddev, 0, MAX_SYNTH_TOKENS);
  const output = intFlag('--output-tokens', o.outputTokens, 1, MAX_SYNTH_TOKENS);
  const prefix = intFlag('--shared-prefix-tokens', o.sharedPrefixTokens, 1, MAX_SYNTH_TOKENS);
  const bust = o.cacheBust === undefined || o.cacheBust === false ? undefined : o.cacheBust === true ? 1 : ratioFlag('--cache-bust', o.cacheBust);
  const turns = intFlag('--turns', o.turns, 1, MAX_TURNS);
  const trace = o.trace;
  if (o.traceSpeed !== undefined && trace === undefined) throw new UsageError('--trace-speed: only applies with --trace FILE.jsonl');
  const speed = parseTraceSpeed(o.traceSpeed);
  if (stddev !== undefined && input === undefined) throw new UsageError('--input-tokens-stddev: only applies with --input-tokens N (the mean)');
  if (bust !== undefined && prefix === undefined) throw new UsageError('--cache-bust: only applies with --shared-prefix-tokens N (it makes that prefix unique per request)');
  if (prefix !== undefined && input !== undefined && input <= prefix) throw new UsageError(`--shared-prefix-tokens: ${prefix} leaves nothing of --input-tokens ${input}; the prefix is part of the input, so make --input-tokens larger`);
  // Synthetic prompts replace the listed ones whole; a --prompt or --prompts beside them would be ignored.
  if (input !== undefined) {
    const clash = o.prompt?.length ? '--prompt' : o.prompts !== undefined ? '--prompts' : undefined;
    if (clash) throw new UsageError(`--input-tokens and ${clash}: choose one; --input-tokens N sends synthetic prompts of N tokens in place of any listed prompt`);
  }
  if (output !== undefined && o.maxTokens !== undefined) throw new UsageError('--output-tokens and --max-tokens: choose one; --output-tokens N sets max tokens to N and asks the provider to use them all');
  if (turns !== undefined && o.rate !== undefined) throw new UsageError('--turns: a session sends each turn after the answer before it, so it runs in a closed loop; use --concurrency (sessions at once) instead of --rate');
  if (trace !== undefined) {
    const clash = [['--rate', o.rate], ['--concurrency', o.concurrency], ['--input-tokens', input], ['--output-tokens', output], ['--shared-prefix-tokens', prefix], ['--turns', turns], ['--prompt', o.prompt?.length ? o.prompt : undefined], ['--prompts', o.prompts], ['--shard', o.shard]].find(([, v]) => v !== undefined);
    if (clash) throw new UsageError(`--trace and ${clash[0]}: choose one; a trace sets each request's time and token lengths itself`);
  }
  const any = input !== undefined || output !== undefined || prefix !== undefined || turns !== undefined || trace !== undefined;
  if (!any) {
    if (o.tokenizer !== undefined) throw new UsageError('--tokenizer: only applies with --input-tokens, --output-tokens, --shared-prefix-tokens, --turns or --trace');
    return undefined;
  }
  if (o.tokenizer !== undefined && !(TOKENIZERS as readonly string[]).includes(o.tokenizer)) throw new UsageError(`--tokenizer: "${o.tokenizer}" is not one of ${TOKENIZERS.join(', ')}`);
  return {
    settings: {
      tokenizer: o.tokenizer ?? DEFAULT_TOKENIZER,
      input_tokens: input ?? null,
      input_tokens_stddev: stddev ?? null,
      output_tokens: output ?? null,
      shared_prefix_tokens: prefix ?? null,
      cache_bust: bust ?? null,
      turns: turns ?? null,
    },
    trace: trace !== undefined ? { file: trace, speed } : undefined,
  };
}

/** Loads the tokenizer (only now: it takes about half a second) and reads the trace through once to check it. */
export async function buildWorkload(flags: WorkloadFlags, prompts: ChatMessage[][], seed: number): Promise<Workload> {
  const trace = flags.trace ? await checkTrace(flags.trace.file, flags.trace.speed) : null;
  const tokenizer = await loadTokenizer(flags.settings.tokenizer);
  return new Workload({ ...flags.settings, trace }, new TextSynth(tokenizer), prompts, seed, flags.trace);
}

import { randomBytes } from 'node:crypto';
import { Rng, hashSeed } from '../../mock/random.js';
import type { ChatMessage } from '../../providers/types.js';
import type { RequestRecord } from '../measure.js';
import type { BenchTarget } from '../runner.js';
import { WorkloadStats, type WorkloadReport } from './stats.js';
import type { TextSynth } from './text.js';
import { readTrace, TRACE_BLOCK_TOKENS, type TraceEntry, type TraceSummary } from './trace.js';

/** The workload flags as the result file records them (`run.workload`). */
export interface WorkloadSettings {
  tokenizer: string;
  input_tokens: number | null;
  input_tokens_stddev: number | null;
  output_tokens: number | null;
  shared_prefix_tokens: number | null;
  /** Share of requests (0..1) whose prefix is made unique, so that no prompt cache can serve it. */
  cache_bust: number | null;
  turns: number | null;
  trace: TraceSummary | null;
}

/**
 * How a provider is asked to produce exactly the output tokens wanted: `ignore_eos` sends vLLM/SGLang's
 * `ignore_eos: true` and `min_tokens` (only to a server whose model list says it is one: hosted OpenAI-style
 * APIs, Gemini's among them, answer 400 to fields they do not know); `instruction` asks in the prompt.
 */
export type OutputControl = 'ignore_eos' | 'instruction';
/** `owned_by` values of servers known to take ignore_eos and min_tokens (vLLM's and SGLang's ModelCard defaults). */
const IGNORE_EOS_OWNERS = new Set(['vllm', 'sglang']);
const PROBE_TIMEOUT_MS = 5_000;

export interface Arrival {
  atMs: number;
  entry: TraceEntry;
}

export interface PlannedRequest {
  messages: ChatMessage[];
  maxTokens?: number;
  extraBody?: Record<string, unknown>;
}

interface Pending {
  requested: number;
  turn: number;
  outputTokens?: number;
}

interface Made {
  user: ChatMessage[];
  tokens: number;
  chars: number;
}

/** Synthetic prompt text kept for reuse across providers (and made ahead of the run), in characters. */
const MAX_MADE_CHARS = 64 * 1024 * 1024;

/** Most distinct trace blocks kept as text at once (each is 512 tokens, about 2.5 KB). */
const MAX_BLOCKS = 4096;

/**
 * Makes each request of a synthetic or replayed workload (src/bench/runner.ts asks it per request) and folds
 * what came back into the per-provider workload figures. Prompts depend on the request's index and the seed,
 * not on the provider, so every provider gets the same prompts.
 */
export class Workload {
  readonly turns: number;
  private readonly controls = new Map<string, OutputControl>();
  private readonly sharedPrefix: string | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly sessions = new Map<string, { messages: ChatMessage[]; tokens: number; asked?: number }>();
  private readonly made = new Map<string, Made>();
  private madeChars = 0;
  /** --shard: the whole load's request number of this shard's request, so shards make different prompts. */
  private seedIndex: (local: number) => number = (i) => i;
  private readonly stats = new Map<string, WorkloadStats>();
  private readonly blocks = new Map<number, string>();
  /**
   * Part of every cache-bust marker, new each run: the rest of a prompt follows the seed, so with the seed's
   * marker a second run (same seed, same server) found each "busted" prefix in the cache the first had filled.
   */
  private readonly runTag = randomBytes(4).toString('hex');

  constructor(
    readonly settings: WorkloadSettings,
    private readonly synth: TextSynth,
    private readonly basePrompts: ChatMessage[][],
    private readonly seed: number,
    private readonly traceFile?: { file: string; speed: number },
  ) {
    this.turns = settings.turns ?? 1;
    if (settings.shared_prefix_tokens) this.sharedPrefix = synth.exact(settings.shared_prefix_tokens, new Rng(hashSeed('shared-prefix', seed)));
  }

  /** Multi-turn sessions carry each answer into the next request, so the answer text must be kept. */
  get needsText(): boolean {
    return this.turns > 1;
  }

  get tracing(): boolean {
    return this.traceFile !== undefined;
  }

  private wantsOutput(): boolean {
    return this.settings.output_tokens !== null || this.traceFile !== undefined;
  }

  /**
   * Before the run: asks each OpenAI-style provider's model list whether it is a vLLM or SGLang server, then
   * makes the first `requests` synthetic prompts, so that tokenizing them does not hold up the event loop
   * (and so the timestamps of answers in flight) during the run.
   */
  async prepare(targets: BenchTarget[], requests?: number, seedIndex?: (local: number) => number): Promise<void> {
    if (seedIndex) this.seedIndex = seedIndex;
    for (const t of targets) this.stats.set(t.name, new WorkloadStats(this.turns));
    if (this.wantsOutput()) await this.probe(targets);
    const asks = (outputTokens: number | undefined) => new Set(targets.map((t) => this.instruction(t.name, outputTokens)));
    if (this.tracing) {
      let i = 0;
      for await (const { entry } of this.arrivals()) {
        if ((requests !== undefined && i >= requests) || this.madeChars >= MAX_MADE_CHARS) break;
        for (const ask of asks(entry.outputTokens)) this.userPart(i, 0, ask, entry);
        i++;
      }
      return;
    }
    if (requests === undefined || this.settings.input_tokens === null) return;
    for (let i = 0; i < requests && this.madeChars < MAX_MADE_CHARS; i++) for (const ask of asks(this.settings.output_tokens ?? undefined)) this.userPart(i, 0, ask);
  }

  private async probe(targets: BenchTarget[]): Promise<void> {
    await Promise.all(
      targets.map(async (t) => {
        let control: OutputControl = 'instruction';
        if (t.api !== 'anthropic') {
          const list = await t.adapter.listModels(PROBE_TIMEOUT_MS).catch(() => undefined);
          if (list?.owners.some((o) => IGNORE_EOS_OWNERS.has(o))) control = 'ignore_eos';
        }
        this.controls.set(t.name, control);
      }),
    );
  }

  control(target: string): OutputControl | null {
    return this.wantsOutput() ? (this.controls.get(target) ?? 'instruction') : null;
  }

  /** Trace replay: the trace's arrivals for one provider, read from the file as they are due. */
  async *arrivals(): AsyncGenerator<Arrival> {
    if (!this.traceFile) return;
    for await (const entry of readTrace(this.traceFile.file, this.traceFile.speed)) yield { atMs: entry.atMs, entry };
  }

  private inputLength(rng: Rng, entry?: TraceEntry): number | undefined {
    if (entry) return entry.inputTokens;
    const { input_tokens: mean, input_tokens_stddev: sd } = this.settings;
    if (mean === null) return undefined;
    const n = sd ? Math.round(mean + sd * rng.normal()) : mean;
    // Clamped so that something follows the shared prefix.
    return Math.max(1 + (this.settings.shared_prefix_tokens ?? 0), n);
  }

  /** A cold request's prefix: as long as the shared one, but opening with a marker no other request has. */
  private prefixFor(index: number, rng: Rng): string | undefined {
    if (!this.sharedPrefix) return undefined;
    if (this.settings.cache_bust && rng.next() < this.settings.cache_bust) {
      const n = this.seedIndex(index);
      return this.synth.exact(this.settings.shared_prefix_tokens!, new Rng(hashSeed(`bust:${n}`, this.seed)), `Request ${n.toString(36)}-${this.runTag}.`);
    }
    return this.sharedPrefix;
  }

  /** Trace blocks: equal hash ids give equal text, so prompts share prefixes as the traced ones did. */
  private blockText(id: number): string {
    let text = this.blocks.get(id);
    if (text === undefined) {
      text = this.synth.exact(TRACE_BLOCK_TOKENS, new Rng(hashSeed(`block:${id}`, this.seed)));
      if (this.blocks.size >= MAX_BLOCKS) this.blocks.delete(this.blocks.keys().next().value!);
      this.blocks.set(id, text);
    }
    return text;
  }

  private instruction(target: string, outputTokens: number | undefined): string {
    if (outputTokens === undefined || this.control(target) !== 'instruction') return '';
    return `Write a reply of at least ${outputTokens} words about the text below, and keep writing until you reach them.`;
  }

  /**
   * The new user part of request `index`: the same for every provider asked the same way, so it is made once
   * (before the clock where the run's length is known, see prepare) and kept while it fits MAX_MADE_CHARS.
   */
  private userPart(index: number, promptIndex: number, ask: string, entry?: TraceEntry): Made {
    // A synthetic prompt does not depend on the provider's prompt order; one built on a listed prompt does.
    const key = `${index}:${this.settings.input_tokens === null && !entry ? promptIndex : '-'}:${ask ? 1 : 0}`;
    const kept = this.made.get(key);
    if (kept) return kept;
    const rng = new Rng(hashSeed(`request:${this.seedIndex(index)}`, this.seed));
    const length = this.inputLength(rng, entry);
    let head = index % this.turns === 0 ? (this.prefixFor(index, rng) ?? '') : '';
    if (entry?.hashIds?.length) {
      const whole = Math.min(entry.hashIds.length - 1, Math.floor((entry.inputTokens - 1) / TRACE_BLOCK_TOKENS));
      head = entry.hashIds.slice(0, whole).map((id) => this.blockText(id)).join(' ');
    }
    head = [head, ask].filter(Boolean).join(head && ask ? '\n\n' : '');
    let user: ChatMessage[];
    if (length !== undefined) {
      const blockRng = entry?.hashIds?.length ? new Rng(hashSeed(`block:${entry.hashIds[entry.hashIds.length - 1]}`, this.seed)) : rng;
      user = [{ role: 'user', content: this.synth.exact(length, blockRng, head) }];
    } else {
      const base = this.basePrompts[promptIndex];
      const last = base.length - 1;
      user = base.map((m, i) => (i === last && head ? { ...m, content: `${head}\n\n${m.content}` } : m));
    }
    const made = { user, tokens: user.reduce((n, m) => n + this.synth.count(m.content), 0), chars: user.reduce((n, m) => n + m.content.length, 0) };
    this.made.set(key, made);
    this.madeChars += made.chars;
    for (const [k, old] of this.made) {
      if (this.madeChars <= MAX_MADE_CHARS) break;
      this.made.delete(k);
      this.madeChars -= old.chars;
    }
    return made;
  }

  /** The request at `index` (its prompt from the shipped/`--prompts` list at `promptIndex` when no length is set). */
  request(target: string, index: number, promptIndex: number, arrival?: Arrival): PlannedRequest {
    const entry = arrival?.entry;
    const turn = index % this.turns;
    const sessionKey = `${target}:${Math.floor(index / this.turns)}`;
    const outputTokens = entry ? entry.outputTokens : (this.settings.output_tokens ?? undefined);
    const part = this.userPart(index, promptIndex, this.instruction(target, outputTokens), entry);
    const history = turn > 0 ? (this.sessions.get(sessionKey) ?? { messages: [], tokens: 0 }) : { messages: [], tokens: 0 };
    const messages = [...history.messages, ...part.user];
    // A copy: the answer appended to the session must not change the messages this request's record holds.
    if (this.turns > 1) this.sessions.set(sessionKey, { messages: [...messages], tokens: history.tokens + part.tokens, asked: part.tokens });
    this.pending.set(`${target}:${index}`, { requested: history.tokens + part.tokens, turn, outputTokens });
    const control = this.control(target);
    return {
      messages,
      maxTokens: outputTokens,
      extraBody: control === 'ignore_eos' && outputTokens !== undefined ? { ignore_eos: true, min_tokens: outputTokens } : undefined,
    };
  }

  /** After each request: its figures, and for a session the answer the next turn carries. */
  finished(target: string, index: number, rec: RequestRecord): void {
    const key = `${target}:${index}`;
    const p = this.pending.get(key);
    this.pending.delete(key);
    if (this.turns > 1) {
      const session = `${target}:${Math.floor(index / this.turns)}`;
      const s = this.sessions.get(session);
      // A failed turn leaves the conversation as it was: its question is dropped with it.
      if (s && rec.ok) {
        const answer = rec.text ?? '';
        s.messages.push({ role: 'assistant', content: answer });
        s.tokens += this.synth.count(answer);
      } else if (s) {
        s.messages.pop();
        s.tokens -= s.asked ?? 0;
      }
      if (index % this.turns === this.turns - 1) this.sessions.delete(session);
    }
    if (p && !rec.warmup) this.stats.get(target)?.add(rec, p.requested, p.turn, p.outputTokens);
  }

  report(target: string): WorkloadReport {
    const stats = this.stats.get(target) ?? new WorkloadStats(this.turns);
    return stats.report(this.settings, this.control(target));
  }
}

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encode as encodeCl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import { encode as encodeO200k } from 'gpt-tokenizer/encoding/o200k_base';
import { encode as encodeP50k } from 'gpt-tokenizer/encoding/p50k_base';
import { encode as encodeR50k } from 'gpt-tokenizer/encoding/r50k_base';
import { buildWorkload, workloadFlags } from '../src/bench/workloads/options.js';
import { TextSynth } from '../src/bench/workloads/text.js';
import { benchCsv, benchMarkdown, benchTable } from '../src/format/bench.js';
import { loadTokenizer, TOKENIZERS } from '../src/bench/workloads/tokenizer.js';
import { Rng } from '../src/mock/random.js';
import { run } from './cli-helpers.js';
import { emulator } from './helpers.js';
import { validate } from './json-schema.js';

/*
 * Workloads against the emulator on loopback, through the real CLI: what the emulator received is checked
 * (token counts by encoding with gpt-tokenizer here, independently of the tool), and what the tool reported.
 */
const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  // A vLLM server (its model list says owned_by: vllm): it is sent ignore_eos/min_tokens.
  vllm: { dialect: 'openai', owned_by: 'vllm', ttft: c(5), output_tokens: c(8) },
  plain: { dialect: 'openai', ttft: c(5), output_tokens: c(8) },
  claude: { dialect: 'anthropic', ttft: c(5), output_tokens: c(8) },
  // Prompt caches whose prefill costs 100 ms per 1,000 uncached tokens, in three dialects' usage fields.
  cache_oa: { dialect: 'openai', ttft: c(5), output_tokens: c(4), prefix_cache: true, prefill_ms_per_1k: 100 },
  cache_ds: { dialect: 'deepseek', ttft: c(5), output_tokens: c(4), prefix_cache: true, prefill_ms_per_1k: 100 },
  cache_an: { dialect: 'anthropic', ttft: c(5), output_tokens: c(4), prefix_cache: true, prefill_ms_per_1k: 100 },
  // No cache: every turn pays for the whole context.
  chat: { dialect: 'openai', ttft: c(5), output_tokens: c(40), prefill_ms_per_1k: 200 },
});
const dir = mkdtempSync(join(tmpdir(), 'llmf-workloads-'));
const config = join(dir, 'providers.yaml');
const price = '{ input: 1, cached_input: 0.1, output: 2, priced_at: 2026-11-24 }';
writeFileSync(
  config,
  `providers:\n${Object.entries(server.profile.providers)
    .map(([name, spec]) => `  ${name}: { api: ${spec.dialect === 'anthropic' ? 'anthropic' : 'openai'}, base_url: "${server.baseUrl(name)}", model: ${spec.model}, price: ${price} }`)
    .join('\n')}\n`,
);
const schema = JSON.parse(readFileSync(new URL('../schema/bench-result.schema.json', import.meta.url), 'utf8'));
const env = { GITHUB_STEP_SUMMARY: '', HOME: dir };
const bench = (args: string[]) => run(['bench', '--config', config, '-q', ...args], { env, timeoutMs: 60_000 });

type Body = { messages: { role: string; content: string }[]; max_tokens?: number; ignore_eos?: unknown; min_tokens?: unknown; system?: string };
const bodies = (provider: string) => server.received(provider) as unknown as Body[];
const userText = (b: Body) => b.messages.filter((m) => m.role === 'user').map((m) => m.content);

interface WorkloadJson {
  requests: number;
  input_tokens: { requested_mean: number; reported_mean: number; ratio: number };
  output_tokens: { control: string; requested_mean: number; reported_mean: number } | null;
  prompt_cache: { cached_share: number; cached_requests: number; uncached_requests: number; ttft_cached_ms: { p50: number } | null; ttft_uncached_ms: { p50: number } | null } | null;
  turns: { turn: number; requests: number; input_tokens_mean: number; ttft_ms: { p50: number } }[] | null;
}
const workloadOf = (stdout: string, name: string) => {
  const result = JSON.parse(stdout);
  expect(validate(result, schema)).toEqual([]);
  const p = result.providers.find((x: { name: string }) => x.name === name);
  return { result, p, w: p.workload as WorkloadJson };
};

describe('synthetic text of an exact token length', () => {
  const encoders = { o200k_base: encodeO200k, cl100k_base: encodeCl100k, p50k_base: encodeP50k, r50k_base: encodeR50k };
  it.each(TOKENIZERS.map((t) => [t]))('%s: every length from 1 to 200, and 5,000, encodes to exactly that many tokens', async (name) => {
    const synth = new TextSynth(await loadTokenizer(name));
    const encode = encoders[name];
    for (const n of [...Array.from({ length: 200 }, (_, i) => i + 1), 5000]) expect(encode(synth.exact(n, new Rng(n))).length, `${n} tokens`).toBe(n);
  });

  it('is sentences of varied words, the same for the same seed and different for another', async () => {
    const synth = new TextSynth(await loadTokenizer('o200k_base'));
    const text = synth.exact(400, new Rng(3));
    expect(text).toMatch(/^[A-Z][a-z]* [a-z]+ [a-z]+/);
    expect(text.split('.').length).toBeGreaterThan(10);
    // Real text: many distinct tokens, not one token repeated.
    expect(new Set(encodeO200k(text)).size).toBeGreaterThan(60);
    expect(synth.exact(400, new Rng(3))).toBe(text);
    expect(synth.exact(400, new Rng(4))).not.toBe(text);
  });
});

describe('bench --input-tokens / --output-tokens', () => {
  it('sends prompts of exactly N tokens (by the tokenizer asked for) and reports requested vs server-reported tokens', async () => {
    server.resetStats();
    const r = await bench(['plain', '--input-tokens', '300', '--tokenizer', 'cl100k_base', '-n', '5', '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const sent = bodies('plain');
    expect(sent).toHaveLength(5);
    for (const b of sent) expect(encodeCl100k(userText(b).join('')).length).toBe(300);
    // Each request gets its own text.
    expect(new Set(sent.map((b) => userText(b)[0])).size).toBe(5);
    const { w, result } = workloadOf(r.stdout, 'plain');
    expect(result.run.workload).toMatchObject({ tokenizer: 'cl100k_base', input_tokens: 300, output_tokens: null });
    expect(w.input_tokens.requested_mean).toBe(300);
    // The emulator counts characters/4 plus 4 a message: the ratio is its count over ours.
    const emulated = sent.map((b) => Math.ceil(b.messages[0].content.length / 4) + 4);
    const mean = emulated.reduce((a, b) => a + b, 0) / 5;
    expect(w.input_tokens.reported_mean).toBeCloseTo(mean, 1);
    expect(w.input_tokens.ratio).toBeCloseTo(mean / 300, 3);
  });

  it('--input-tokens-stddev varies the length per request (at least 1 token), reproducibly from --seed', async () => {
    server.resetStats();
    const r = await bench(['plain', '--input-tokens', '40', '--input-tokens-stddev', '30', '--seed', '5', '-n', '12']);
    expect(r.code).toBe(0);
    const sent = bodies('plain').map((b) => encodeO200k(userText(b)[0]).length);
    expect(new Set(sent).size).toBeGreaterThan(4);
    expect(Math.min(...sent)).toBeGreaterThanOrEqual(1);
    const mean = sent.reduce((x, y) => x + y, 0) / sent.length;
    expect(mean).toBeGreaterThan(20);
    expect(mean).toBeLessThan(60);
    // The same seed makes the same lengths (whichever order the requests went in); another seed others.
    const lengths = async (seed: number) => {
      const flags = workloadFlags({ inputTokens: '40', inputTokensStddev: '30' })!;
      const w = await buildWorkload(flags, [[{ role: 'user', content: 'x' }]], seed);
      return Array.from({ length: 12 }, (_, i) => encodeO200k(w.request('plain', i, 0).messages[0].content).length).sort();
    };
    expect(await lengths(5)).toEqual([...sent].sort());
    expect(await lengths(6)).not.toEqual([...sent].sort());
  });

  it('with --shard, synthetic prompts follow the whole load\'s request numbers: two shards send what one process would', async () => {
    const flags = workloadFlags({ inputTokens: '50' })!;
    const prompts = async (count: number, seedIndex?: (i: number) => number) => {
      const w = await buildWorkload(flags, [[{ role: 'user', content: 'x' }]], 9);
      await w.prepare([], count, seedIndex);
      return Array.from({ length: count }, (_, i) => w.request('p', i, 0).messages[0].content);
    };
    const whole = await prompts(4);
    const [a, b] = [await prompts(2, (i) => i * 2), await prompts(2, (i) => i * 2 + 1)];
    expect([a[0], b[0], a[1], b[1]]).toEqual(whole);
  });

  it('--output-tokens: ignore_eos and min_tokens only to a vLLM server, which then answers exactly N tokens; others get max tokens and an instruction', async () => {
    server.resetStats();
    const r = await bench(['vllm', 'plain', 'claude', '--input-tokens', '100', '--output-tokens', '30', '-n', '3', '--format', 'json']);
    expect(r.code).toBe(0);
    for (const b of bodies('vllm')) {
      expect(b).toMatchObject({ ignore_eos: true, min_tokens: 30, max_tokens: 30 });
      expect(userText(b)[0]).not.toMatch(/at least/);
      expect(encodeO200k(userText(b)[0]).length).toBe(100);
    }
    for (const name of ['plain', 'claude']) {
      for (const b of bodies(name)) {
        // Hosted APIs answer 400 to fields they do not know: none is sent; the prompt asks instead, within the 100 tokens.
        expect(b.ignore_eos).toBeUndefined();
        expect(b.min_tokens).toBeUndefined();
        expect(b.max_tokens).toBe(30);
        expect(userText(b)[0]).toMatch(/^Write a reply of at least 30 words/);
        expect(encodeO200k(userText(b)[0]).length).toBe(100);
      }
    }
    const vllm = workloadOf(r.stdout, 'vllm').w;
    expect(vllm.output_tokens).toEqual({ control: 'ignore_eos', requested_mean: 30, reported_mean: 30, ratio: 1 });
    // The emulator's own answer length (8) is kept where nothing asks it to go on.
    expect(workloadOf(r.stdout, 'plain').w.output_tokens).toMatchObject({ control: 'instruction', requested_mean: 30, reported_mean: 8 });
  });

  it('shows the figures in the table, --wide table, markdown and CSV', async () => {
    const out = join(dir, 'formats.json');
    const r = await bench(['vllm', 'plain', '--input-tokens', '64', '--output-tokens', '12', '-n', '2', '--turns', '2', '--wide', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/│ provider │ in asked │ in reported │ in ratio │ out asked │ out reported │\s+asked by │/);
    // Turn 2 carries turn 1 and its answer: the mean asked is over both turns.
    expect(r.stdout).toMatch(/│ vllm\s+│\s+[\d.]+ │\s+[\d.]+ │\s+[\d.]+× │\s+12 │\s+12 │\s+ignore_eos │/);
    expect(r.stdout).toMatch(/│ provider │ turn 1 TTFT p50 │ turn 2 TTFT p50 │/);
    const result = JSON.parse(readFileSync(out, 'utf8'));
    // Compact: within 100 columns, without tokens reported, how output was asked for and hit/miss counts.
    const compact = benchTable(result);
    expect(compact).toMatch(/│ provi\S* *│ in asked │ in ratio │ out asked │ out reported │ cached │ TTFT hit p50 │ TTFT miss p50 │/);
    for (const line of compact.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
    expect(benchTable(result, { wide: true })).toMatch(/│ plain\s+│\s+[\d.]+ │\s+\d+ │\s+[\d.]+× │\s+12 │\s+8 │\s+instruction │/);
    expect(benchMarkdown(result, { wide: true })).toMatch(/\| provider \| in asked \| in reported \| in ratio \| out asked \| out reported \| asked by \| cached \| hit\/miss \| TTFT hit p50 \| TTFT miss p50 \|\n\|---(\|--:){10}\|\n\| vllm \| [\d.]+ \| [\d.]+ \| [\d.]+× \| 12 \| 12 \| ignore_eos \|/);
    const [head, row] = benchCsv(result).trim().split('\n').map((l) => l.split(','));
    const col = (name: string) => row[head.indexOf(name)];
    expect(Number(col('input_tokens_requested_mean'))).toBe(result.providers[0].workload.input_tokens.requested_mean);
    expect(col('output_tokens_reported_mean')).toBe('12');
    expect(col('output_control')).toBe('ignore_eos');
    expect(Number(col('turn_2_ttft_p50_ms'))).toBe(result.providers[0].workload.turns[1].ttft_ms.p50);
  });
});

describe('bench --shared-prefix-tokens / --cache-bust', () => {
  it('every prompt opens with the same prefix; the cache serves it in each dialect, sooner, and cached tokens are priced as cached', async () => {
    server.resetStats();
    const r = await bench(['cache_oa', 'cache_ds', 'cache_an', '--input-tokens', '1200', '--shared-prefix-tokens', '1000', '-c', '1', '-n', '6', '--format', 'json']);
    expect(r.code).toBe(0);
    const prompts = bodies('cache_ds').map((b) => userText(b)[0]);
    const prefix = new TextSynthPrefix(prompts);
    expect(encodeO200k(prefix.common).length).toBeGreaterThanOrEqual(999);
    for (const p of prompts) expect(encodeO200k(p).length).toBe(1200);
    for (const name of ['cache_oa', 'cache_ds', 'cache_an']) {
      const { w, p } = workloadOf(r.stdout, name);
      // The first request fills the cache; the other five find the prefix there.
      expect(w.prompt_cache, name).toMatchObject({ cached_requests: 5, uncached_requests: 1 });
      expect(w.prompt_cache!.cached_share).toBeGreaterThan(0.6);
      expect(w.prompt_cache!.cached_share).toBeLessThan(0.85);
      // Prefill is 100 ms per 1,000 uncached tokens: a miss waits for about 1,600 emulated tokens, a hit for a few hundred
      // (measured: 174-195 ms against 34-37 ms). Without the cache the difference is 0; the bound sits halfway,
      // 70 ms (at 100 ms, the hits' median running ~40 ms late on a loaded machine would fail it).
      expect(w.prompt_cache!.ttft_uncached_ms!.p50 - w.prompt_cache!.ttft_cached_ms!.p50).toBeGreaterThan(70);
      const t = p.tokens;
      expect(t.cached_input).toBeGreaterThan(0);
      expect(p.cost_usd).toBeCloseTo(((t.input - t.cached_input) * 1 + t.cached_input * 0.1 + t.output * 2) / 1e6, 9);
    }
  });

  it('--cache-bust makes every prefix unique (no hits); --cache-bust 50% busts about half, giving cold and warm figures in one run', async () => {
    server.resetStats();
    const cold = await bench(['cache_oa', '--input-tokens', '1200', '--shared-prefix-tokens', '1000', '--cache-bust', '-c', '1', '-n', '5', '--format', 'json']);
    expect(cold.code).toBe(0);
    const prompts = bodies('cache_oa').map((b) => userText(b)[0]);
    expect(new Set(prompts.map((p) => p.slice(0, 200))).size).toBe(5);
    for (const p of prompts) expect(encodeO200k(p).length).toBe(1200);
    expect(workloadOf(cold.stdout, 'cache_oa').w.prompt_cache).toMatchObject({ cached_share: 0, cached_requests: 0, uncached_requests: 5 });
    // The same command again (same seed, same server, its cache still full of the first run's prompts): still cold.
    const again = await bench(['cache_oa', '--input-tokens', '1200', '--shared-prefix-tokens', '1000', '--cache-bust', '-c', '1', '-n', '5', '--format', 'json']);
    expect(again.code).toBe(0);
    expect(workloadOf(again.stdout, 'cache_oa').w.prompt_cache).toMatchObject({ cached_share: 0, cached_requests: 0, uncached_requests: 5 });
    const second = bodies('cache_oa').map((b) => userText(b)[0]).slice(5);
    expect(second).toHaveLength(5);
    for (const p of second) expect(encodeO200k(p).length).toBe(1200);

    const mixed = await bench(['cache_ds', '--input-tokens', '1200', '--shared-prefix-tokens', '1000', '--cache-bust', '50%', '-c', '1', '-n', '12', '--seed', '3', '--format', 'json']);
    const w = workloadOf(mixed.stdout, 'cache_ds').w.prompt_cache!;
    expect(w.cached_requests).toBeGreaterThan(2);
    expect(w.uncached_requests).toBeGreaterThan(2);
    expect(w.ttft_uncached_ms!.p50).toBeGreaterThan(w.ttft_cached_ms!.p50 + 50);
  });
});

/** The longest text every prompt starts with. */
class TextSynthPrefix {
  readonly common: string;
  constructor(texts: string[]) {
    let n = 0;
    while (texts.every((t) => t[n] !== undefined && t[n] === texts[0][n])) n++;
    this.common = texts[0].slice(0, n);
  }
}

describe('bench --turns', () => {
  it('each turn carries the earlier questions and the answers the server really gave; TTFT grows turn by turn', async () => {
    server.resetStats();
    const raw = join(dir, 'turns.jsonl');
    const r = await bench(['chat', '--turns', '3', '--input-tokens', '200', '-c', '1', '-n', '6', '--raw', raw, '--raw-include-text', '--format', 'json']);
    expect(r.code).toBe(0);
    const sent = bodies('chat');
    const rawLines = readFileSync(raw, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).sort((a, b) => a.index - b.index);
    const answers = rawLines.map((l) => l.text as string);
    // --raw-include-text shows the messages really sent, not an entry of the prompt list.
    expect(rawLines.map((l) => l.prompt)).toEqual(sent.map((b) => b.messages));
    expect(sent.map((b) => b.messages.map((m) => m.role))).toEqual([['user'], ['user', 'assistant', 'user'], ['user', 'assistant', 'user', 'assistant', 'user'], ['user'], ['user', 'assistant', 'user'], ['user', 'assistant', 'user', 'assistant', 'user']]);
    // Turn 2 carries turn 1's question and its real answer; turn 3 carries both earlier turns.
    expect(sent[1].messages.slice(0, 2)).toEqual([sent[0].messages[0], { role: 'assistant', content: answers[0] }]);
    expect(sent[2].messages.slice(0, 4)).toEqual([...sent[1].messages, { role: 'assistant', content: answers[1] }]);
    expect(answers[0].length).toBeGreaterThan(20);
    for (const b of sent) expect(encodeO200k(b.messages[b.messages.length - 1].content).length).toBe(200);
    const { w } = workloadOf(r.stdout, 'chat');
    expect(w.turns!.map((t) => t.requests)).toEqual([2, 2, 2]);
    expect(w.turns![0].input_tokens_mean).toBe(200);
    expect(w.turns![1].input_tokens_mean).toBeGreaterThan(400);
    // 200 ms of prefill per 1,000 emulated tokens: each turn's longer context shows in its first token.
    expect(w.turns![1].ttft_ms.p50).toBeGreaterThan(w.turns![0].ttft_ms.p50 + 20);
    expect(w.turns![2].ttft_ms.p50).toBeGreaterThan(w.turns![1].ttft_ms.p50 + 20);
  });
});

describe('bench --trace', () => {
  it('replays a Mooncake trace at its times (sped up 2x), with prompts of its lengths and blocks shared by hash id', async () => {
    const trace = join(dir, 'mooncake.jsonl');
    writeFileSync(
      trace,
      [
        { timestamp: 0, input_length: 600, output_length: 9, hash_ids: [7, 8] },
        { timestamp: 1000, input_length: 700, output_length: 5, hash_ids: [7, 9] },
        { timestamp: 1000, input_length: 50, output_length: 3 },
        { timestamp: 3000, input_length: 1100, output_length: 7, hash_ids: [7, 8, 10] },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n') + '\n',
    );
    server.resetStats();
    const raw = join(dir, 'trace-raw.jsonl');
    const r = await bench(['vllm', '--trace', trace, '--trace-speed', '2x', '--raw', raw, '--format', 'json']);
    expect(r.code).toBe(0);
    // Lines 2 and 3 are due at the same time: either may reach the server first.
    const sent = bodies('vllm').sort((x, y) => (x.max_tokens === 3 ? 1 : 0) - (y.max_tokens === 3 ? 1 : 0) || 0);
    expect(sent.map((b): [number, number | undefined] => [encodeO200k(userText(b)[0]).length, b.max_tokens]).sort((x, y) => x[0] - y[0])).toEqual([[50, 3], [600, 9], [700, 5], [1100, 7]]);
    // hash id 7 is the first 512-token block of three prompts; 7 then 8 opens the first and the last.
    const byOut = (n: number) => userText(sent.find((x) => x.max_tokens === n)!)[0];
    const [a, b, d] = [byOut(9), byOut(5), byOut(7)];
    const block7 = a.slice(0, 1500);
    expect(b.startsWith(block7)).toBe(true);
    expect(d.startsWith(a.slice(0, 2400))).toBe(true);
    const lines = readFileSync(raw, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).sort((x, y) => x.index - y.index);
    const t0 = lines[0].scheduled_ms;
    expect(lines.map((l) => Math.round(l.scheduled_ms - t0))).toEqual([0, 500, 500, 1500]);
    // Sent on time: never early, and late by less than half the 500 ms a replay at the trace's own speed
    // (ignoring 2x) would add to line 2; a stalled timer of up to 250 ms passes. (The trace spanned 600 ms
    // with a 60 ms bound before: one send 60 ms late would have failed it.)
    for (const l of lines) {
      expect(l.sent_ms - l.scheduled_ms, `line ${l.index + 1}`).toBeGreaterThanOrEqual(-1);
      expect(l.sent_ms - l.scheduled_ms, `line ${l.index + 1}`).toBeLessThan(250);
    }
    const { result } = workloadOf(r.stdout, 'vllm');
    expect(result.run.workload.trace).toEqual({ file: trace, requests: 4, span_ms: 1500, speed: 2 });
    expect(result.providers[0].workload.output_tokens).toMatchObject({ control: 'ignore_eos', requested_mean: 6, reported_mean: 6 });
  });

  /** The longest run of tokens two texts open with. */
  const sharedTokens = (a: string, b: string) => {
    const [x, y] = [encodeO200k(a), encodeO200k(b)];
    let n = 0;
    while (n < x.length && n < y.length && x[n] === y[n]) n++;
    return n;
  };
  const fixture = (name: string) => new URL(`./fixtures/traces/${name}`, import.meta.url).pathname;
  const rawLines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).sort((x, y) => x.index - y.index);

  it("replays Mooncake's published conversation trace: its lengths to the token, its ms times, its 512-token blocks as shared prefixes", async () => {
    // Lines 1-6 of the trace: all at 0 ms, every prompt opening with block 0 and then going its own way.
    const head = fixture('mooncake-conversation-head.jsonl');
    const lines = readFileSync(head, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { timestamp: number; input_length: number; output_length: number; hash_ids: number[] });
    server.resetStats();
    const r = await bench(['vllm', '--trace', head, '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const sent = bodies('vllm').map((b) => ({ text: userText(b)[0], max: b.max_tokens, min: b.min_tokens }));
    const key = (x: number[]) => x.join(':');
    expect(sent.map((s) => key([encodeO200k(s.text).length, s.max!, s.min as number])).sort()).toEqual(lines.map((l) => key([l.input_length, l.output_length, l.output_length])).sort());
    for (let i = 1; i < sent.length; i++) {
      const n = sharedTokens(sent[0].text, sent[i].text);
      expect(n, `prompt ${i + 1}`).toBeGreaterThanOrEqual(512);
      expect(n, `prompt ${i + 1}`).toBeLessThan(512 + 16);
    }

    // Lines 379, 428, 860 and 915, at 135, 147, 282 and 297 s: replayed 1000x faster, due at 0, 12, 147 and 162 ms.
    const shared = fixture('mooncake-conversation-shared.jsonl');
    const raw = join(dir, 'mooncake-raw.jsonl');
    server.resetStats();
    const s = await bench(['vllm', '--trace', shared, '--trace-speed', '1000x', '--raw', raw, '--raw-include-text', '--format', 'json']);
    expect(s.code, s.stderr).toBe(0);
    const got = rawLines(raw);
    expect(got.map((l) => Math.round(l.scheduled_ms - got[0].scheduled_ms))).toEqual([0, 12, 147, 162]);
    const text = got.map((l) => l.prompt[0].content as string);
    expect(text.map((t) => encodeO200k(t).length)).toEqual([9553, 9553, 7909, 8252]);
    expect(got.map((l) => l.output_tokens)).toEqual([61, 71, 396, 39]);
    // The first pair has the same 19 ids and length: the same prompt. The second shares 15 blocks, 7,680 tokens.
    expect(text[1]).toBe(text[0]);
    expect(sharedTokens(text[2], text[3])).toBeGreaterThanOrEqual(15 * 512);
    expect(sharedTokens(text[2], text[3])).toBeLessThan(15 * 512 + 16);
    expect(sharedTokens(text[0], text[2])).toBeLessThan(512 + 16);
    expect(JSON.parse(s.stdout).run.workload.trace).toMatchObject({ requests: 4, span_ms: 162, speed: 1000 });
  }, 60_000);

  it("replays the Azure LLM inference trace as published, a CSV file (TIMESTAMP,ContextTokens,GeneratedTokens)", async () => {
    const csv = fixture('azure-llm-conv-2023.csv');
    const rows = readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    // Times to the 100 ns the file gives (the tool keeps ms): "2023-11-16 18:15:46.6805900".
    const at = ([t]: string[]) => Date.parse(`${t.slice(0, 19).replace(' ', 'T')}Z`) + Number(`0.${t.slice(20)}`) * 1000;
    const raw = join(dir, 'azure-raw.jsonl');
    server.resetStats();
    const r = await bench(['vllm', '--trace', csv, '--trace-speed', '10x', '--raw', raw, '--raw-include-text', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const got = rawLines(raw);
    expect(got).toHaveLength(20);
    for (const [i, l] of got.entries()) {
      expect(encodeO200k(l.prompt[0].content).length, `row ${i + 2}`).toBe(Number(rows[i][1]));
      expect(l.output_tokens, `row ${i + 2}`).toBe(Number(rows[i][2]));
      expect(Math.abs(l.scheduled_ms - got[0].scheduled_ms - (at(rows[i]) - at(rows[0])) / 10), `row ${i + 2}`).toBeLessThan(0.2);
    }
    expect(JSON.parse(r.stdout).run.workload.trace).toMatchObject({ file: csv, requests: 20, speed: 10 });
  }, 60_000);

  it.each([
    ['a row short of a field', 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396\n', /^--trace: .*bad\.csv:3: 2 fields, but the header line names 3 \(TIMESTAMP,ContextTokens,GeneratedTokens\)$/],
    ['BurstGPT columns (Timestamp in seconds is not read as ms)', 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,472,18,490,Conversation log\n', /^--trace: .*bad\.csv:2: no time; give "timestamp"/],
    ['quoted fields', 'TIMESTAMP,ContextTokens,GeneratedTokens\n"2023-11-16 18:15:46",374,44\n', /^--trace: .*bad\.csv:2: quoted CSV fields are not read/],
  ])('a CSV trace with %s is refused with file:line, exit 2', async (_, text, message) => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, text);
    const r = await bench(['plain', '--trace', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(message);
  });

  it('reads Azure LLM inference trace fields with ISO times', async () => {
    const trace = join(dir, 'azure.jsonl');
    writeFileSync(trace, '{"TIMESTAMP": "2023-11-16 18:15:46.6805900", "ContextTokens": 120, "GeneratedTokens": 4}\n{"TIMESTAMP": "2023-11-16 18:15:46.8805900", "ContextTokens": 80, "GeneratedTokens": 6}\n');
    server.resetStats();
    const r = await bench(['plain', '--trace', trace, '--format', 'json']);
    expect(r.code).toBe(0);
    expect(bodies('plain').map((b) => [encodeO200k(userText(b)[0]).length, b.max_tokens])).toEqual([[120, 4], [80, 6]]);
    expect(JSON.parse(r.stdout).run.workload.trace).toMatchObject({ requests: 2, span_ms: 200 });
  });

  it.each([
    ['not JSON', '{"timestamp": 0, "input_length": 5, "output_length": 2}\n{"timestamp": 5, input_length: 5}\n', /^--trace: .*bad\.jsonl:2: not valid JSON; each line is an object such as/],
    ['a missing length', '{"timestamp": 0, "input_length": 5}\n', /^--trace: .*bad\.jsonl:1: no output length; give one of "output_length", "output_tokens", "completion_tokens", "GeneratedTokens"$/],
    ['a bad count', '\n{"timestamp": 0, "input_length": 5, "output_length": 2}\n{"timestamp": 1, "input_length": -3, "output_length": 2}\n', /^--trace: .*bad\.jsonl:3: "input_length" is -3; expected a whole number of tokens/],
    ['a bad time', '{"timestamp": "yesterday", "input_length": 5, "output_length": 2}\n', /^--trace: .*bad\.jsonl:1: "timestamp" is "yesterday"; expected ms since the trace began/],
    ['a time beyond a number', '{"timestamp": 1e400, "input_length": 5, "output_length": 2}\n', /^--trace: .*bad\.jsonl:1: "timestamp" is Infinity; expected ms since the trace began/],
    ['time going back', '{"timestamp": 500, "input_length": 5, "output_length": 2}\n{"timestamp": 100, "input_length": 5, "output_length": 2}\n', /^--trace: .*bad\.jsonl:2: the time goes back .*; sort the trace by time$/],
    ['bad hash ids', '{"timestamp": 0, "input_length": 5, "output_length": 2, "hash_ids": ["a"]}\n', /^--trace: .*bad\.jsonl:1: "hash_ids" must be a list of whole numbers ≥ 0$/],
  ])('a trace with %s is refused with file:line, exit 2, before anything is sent', async (_, text, message) => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, text);
    server.resetStats();
    const r = await bench(['plain', '--trace', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(server.stats().plain.requests).toBe(0);
  });
});

describe('workload flags', () => {
  it.each([
    [['--input-tokens', '0'], /^--input-tokens: "0" is not a whole number between 1 and 1,000,000$/],
    [['--input-tokens-stddev', '5'], /^--input-tokens-stddev: only applies with --input-tokens N/],
    [['--input-tokens', '100', '--shared-prefix-tokens', '100'], /^--shared-prefix-tokens: 100 leaves nothing of --input-tokens 100/],
    [['--input-tokens', '100', '--cache-bust'], /^--cache-bust: only applies with --shared-prefix-tokens N/],
    [['--shared-prefix-tokens', '10', '--cache-bust', '150%'], /^--cache-bust: /],
    [['--output-tokens', '10', '--max-tokens', '5'], /^--output-tokens and --max-tokens: choose one/],
    // Synthetic prompts replace the listed ones: a --prompt or --prompts beside them was once dropped without a word.
    [['--input-tokens', '10', '--prompt', 'hello'], /^--input-tokens and --prompt: choose one; --input-tokens N sends synthetic prompts of N tokens in place of any listed prompt$/],
    [['--input-tokens', '10', '--prompts', 'prompts'], /^--input-tokens and --prompts: choose one/],
    [['--prompt', 'hello', '--prompts', 'prompts'], /^--prompt and --prompts: choose one; --prompt "\.\.\." sends the prompts given on the command line, --prompts prompts those of the file$/],
    [['--turns', '3', '--rate', '2'], /^--turns: a session sends each turn after the answer before it/],
    [['--trace', 'x.jsonl', '--rate', '2'], /^--trace and --rate: choose one/],
    [['--trace-speed', '2x'], /^--trace-speed: only applies with --trace/],
    [['--trace', 'x.jsonl', '--trace-speed', '0x'], /^--trace-speed: "0x" is not a speed-up such as 2x/],
    [['--trace', join(tmpdir(), 'no-such-trace.jsonl')], /^--trace: cannot read ".*no-such-trace\.jsonl" \(no such file\)$/],
    [['--tokenizer', 'o200k_base'], /^--tokenizer: only applies with --input-tokens/],
    [['--input-tokens', '10', '--repeat', '2'], /^--repeat: not combined with --input-tokens, --output-tokens, --shared-prefix-tokens, --turns or --trace yet/],
    [['--input-tokens', '10', '--tokenizer', 'llama3'], /^--tokenizer: "llama3" is not one of o200k_base, cl100k_base, p50k_base, r50k_base$/],
  ])('%j is a one-line usage error (exit 2)', async (args, message) => {
    const r = await bench(['plain', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim().replace(/^llm-fallback: /, '')).toMatch(message);
  });

  it('the tokenizer is loaded only by a run that uses a workload flag (a dynamic import, nowhere else)', () => {
    const built = readFileSync(new URL('../dist/bench/workloads/tokenizer.js', import.meta.url), 'utf8');
    expect(built).toMatch(/await import\(`gpt-tokenizer\/encoding\/\$\{name\}`\)/);
    expect(built).not.toMatch(/^import .*gpt-tokenizer/m);
  });
});

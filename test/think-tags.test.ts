import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultThinkTags, splitThinkTags, ThinkTagSplitter, type ThinkTags } from '../src/providers/think-tags.js';
import { createAdapter } from '../src/providers/index.js';
import { run } from './cli-helpers.js';
import { ask, collect, textOf } from './helpers.js';
import { FIXTURES, leadingThink, openThink, rawBytes, recordedAnswer, recordedText, replayServer, wireBody, type WireFixture } from './wire-fixtures.js';

// MiniMax-M2.x writes its thinking into the answer text between <think> tags unless asked for reasoning_split
// (docs/providers.md §4a). The evidence is MiniMax's own traffic: GoModel's production captures of a streamed
// M2.7 answer and of a buffered M2 answer cut inside its thinking. The check on the streaming splitter is a
// second reading of the same text, whole, by one regular expression (wire-fixtures.ts leadingThink).
const m27 = FIXTURES.find((f) => f.file === 'minimax/gomodel-prod-m27-stream.sse')!;
const m2Length = FIXTURES.find((f) => f.file === 'minimax/gomodel-prod-m2-length.json')!;
const mistral = FIXTURES.find((f) => f.file === 'mistral/vercel-mistral-text.chunks.txt')!;
const m27Content = rawContent(m27Body());

function m27Body(): string {
  return wireBody(m27).toString();
}

/** The recorded content, tags and all (what an adapter reading no tags would print). */
function rawContent(body: string): string {
  let out = '';
  for (const line of body.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    const o = JSON.parse(line.slice(6)) as { choices?: { delta?: { content?: unknown } }[] };
    const c = o.choices?.[0]?.delta?.content;
    if (typeof c === 'string') out += c;
  }
  return out;
}

/** Feeds `text` to a splitter in the given pieces and joins what comes out. */
function streamed(pieces: string[], mode: Exclude<ThinkTags, 'off'>) {
  const s = new ThinkTagSplitter(mode);
  let reasoning = '';
  let content = '';
  for (const p of [...pieces.map((x) => s.push(x)), s.flush()]) {
    reasoning += p.reasoning;
    content += p.content;
  }
  return { reasoning, content };
}

/** Deterministic pseudo-random cut points (a small LCG), so a failure names a reproducible split. */
function randomPieces(text: string, seed: number): string[] {
  let x = seed;
  const pieces: string[] = [];
  let at = 0;
  while (at < text.length) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const len = 1 + (x % 12);
    pieces.push(text.slice(at, at + len));
    at += len;
  }
  return pieces;
}

describe('the <think> splitter against the recorded MiniMax-M2.7 content', () => {
  it('the recording is what this test says it is: thinking in tags, then the answer', () => {
    expect(m27Content.startsWith('<think>\nThe user wants a proof')).toBe(true);
    expect(m27Content).toContain('\n</think>\n\n**Proof.**');
  });

  it('gives the whole-text reading for every two-piece split of the content', () => {
    const want = leadingThink(m27Content);
    expect(want.reasoning).toBe("\nThe user wants a proof that the sum of two odd numbers is even. I'll keep this straightforward and concise.\n");
    expect(want.content.startsWith('**Proof.**')).toBe(true);
    for (let cut = 0; cut <= m27Content.length; cut++) {
      const got = streamed([m27Content.slice(0, cut), m27Content.slice(cut)], 'leading');
      if (got.reasoning !== want.reasoning || got.content !== want.content) throw new Error(`split at ${cut}: ${JSON.stringify(got).slice(0, 200)}`);
    }
  });

  it('gives the whole-text reading when cut into many small pieces (tags split across pieces)', () => {
    const want = leadingThink(m27Content);
    for (let seed = 1; seed <= 200; seed++) expect(streamed(randomPieces(m27Content, seed), 'leading'), `seed ${seed}`).toEqual(want);
  });

  it('reads the buffered M2 answer that spent its budget thinking as reasoning only', () => {
    const content = (JSON.parse(rawBytes(m2Length).toString()) as { choices: { message: { content: string } }[] }).choices[0].message.content;
    const got = splitThinkTags(content, 'leading');
    expect(got).toEqual(leadingThink(content));
    expect(got.content).toBe('');
    expect(got.reasoning.length).toBe(1261);
  });
});

// The same check on every other recording with tags in its content, from servers that run a model without a
// reasoning parser (test/fixtures/wire/index.json): Qwen3 on the Hugging Face router and on Groq, Perplexity's
// sonar-reasoning-pro, llama.cpp's empty block, and the think_tags: open case, Qwen3-235B-A22B-Thinking-2507 on
// Cerebras and Together, whose content starts inside the thinking and has only the closing tag.
/** The content a recording carries, tags and all: the streamed deltas joined, or the answer's message. */
function taggedContent(f: WireFixture): string {
  if (f.kind === 'stream') return rawContent(wireBody(f).toString());
  const message = (JSON.parse(rawBytes(f).toString()) as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message;
  return typeof message?.content === 'string' ? message.content : '';
}
const TAGGED = FIXTURES.filter((f) => f.api === 'openai' && (f.kind === 'stream' || f.kind === 'answer') && !f.file.startsWith('minimax/') && taggedContent(f).includes('</think>'));

describe('the <think> splitter against the other recorded servers', () => {
  it('the recordings are here: both modes, the open ones without an opening tag, an empty block', () => {
    const open = TAGGED.filter((f) => f.settings?.thinkTags === 'open');
    expect(open.map((f) => f.file).sort()).toEqual([
      'cerebras/genai-qwen3-235b-thinking-2507-open.json',
      'cerebras/genai-qwen3-235b-thinking-2507-open.sse',
      'together/genai-qwen3-235b-thinking-2507-open.json',
      'together/genai-qwen3-235b-thinking-2507-open.sse',
    ]);
    for (const f of open) expect(taggedContent(f), f.file).not.toContain('<think>');
    for (const f of TAGGED.filter((x) => !x.settings)) expect(taggedContent(f).startsWith('<think>'), f.file).toBe(true);
    expect(TAGGED.filter((f) => /^<think>\s*<\/think>/.test(taggedContent(f))).map((f) => f.file)).toEqual(['llamacpp/solofox-blog-llama-server-b6176-empty-think.json']);
  });

  describe.each(TAGGED.map((f) => [f.file, f] as const))('%s', (_file, f) => {
    const mode = f.settings?.thinkTags === 'open' ? 'open' : 'leading';
    const content = taggedContent(f);
    const want = mode === 'open' ? openThink(content) : leadingThink(content);

    it(`${mode}: the whole-text reading parts thinking and answer at the closing tag`, () => {
      expect(want.reasoning + '</think>').toBe(content.slice(mode === 'leading' ? '<think>'.length : 0, content.indexOf('</think>') + '</think>'.length));
      expect(want.content).toBe(content.slice(content.indexOf('</think>') + '</think>'.length).trimStart());
    });

    it(`${mode}: the streaming splitter gives that reading at every two-piece cut and at many small cuts`, () => {
      for (let cut = 0; cut <= content.length; cut++) {
        const got = streamed([content.slice(0, cut), content.slice(cut)], mode);
        if (got.reasoning !== want.reasoning || got.content !== want.content) throw new Error(`split at ${cut}: ${JSON.stringify(got).slice(0, 200)}`);
      }
      for (let seed = 1; seed <= 200; seed++) expect(streamed(randomPieces(content, seed), mode), `seed ${seed}`).toEqual(want);
      expect(splitThinkTags(content, mode)).toEqual(want);
    });
  });
});

// Hand-written cases (labelled so): the edges the recordings do not show.
describe('the <think> splitter at its edges (hand-written inputs)', () => {
  it.each([
    ['an answer without tags is left alone, blank lines and all', ['\n\nHello'], 'leading', { reasoning: '', content: '\n\nHello' }],
    ['a <think> inside the answer is the answer’s text', ['Use the <think> tag', ' like this.'], 'leading', { reasoning: '', content: 'Use the <think> tag like this.' }],
    ['text that starts like the tag but is not it', ['<thi', 'ngs> are'], 'leading', { reasoning: '', content: '<things> are' }],
    ['blank space before the tag is passed on at once, not held', ['\n  ', '<think>x</think>', 'y'], 'leading', { reasoning: 'x', content: '\n  y' }],
    ['the closing tag split over three pieces', ['<think>ab</', 'thi', 'nk>\n\nanswer'], 'leading', { reasoning: 'ab', content: 'answer' }],
    ['a "</" in the thinking that is not the tag', ['<think>a </b', '> c</think>d'], 'leading', { reasoning: 'a </b> c', content: 'd' }],
    ['an empty thinking block (Qwen3 with thinking off)', ['<think>\n\n</think>\n\n', 'Hi'], 'leading', { reasoning: '\n\n', content: 'Hi' }],
    ['a block never closed is reasoning to the end', ['<think>still going'], 'leading', { reasoning: 'still going', content: '' }],
    ['only a partial tag before the end is the answer', ['<thi'], 'leading', { reasoning: '', content: '<thi' }],
    ['open: the template opened the block', ['Let me think.', '</think>\n\nAnswer.'], 'open', { reasoning: 'Let me think.', content: 'Answer.' }],
    ['open: an explicit opening tag is dropped too', ['<think>\nhm', '</think>A'], 'open', { reasoning: '\nhm', content: 'A' }],
    ['open: no closing tag at all is all reasoning', ['thinking'], 'open', { reasoning: 'thinking', content: '' }],
  ] as const)('%s', (_name, pieces, mode, want) => {
    expect(streamed([...pieces], mode)).toEqual(want);
  });

  it('a first piece of blank space comes out at once, so the first token is timed where it came', () => {
    const s = new ThinkTagSplitter('leading');
    expect(s.push('\n')).toEqual({ reasoning: '', content: '\n' });
    expect(s.push('<thi')).toEqual({ reasoning: '', content: '' });
    expect(s.push('nk>a')).toEqual({ reasoning: 'a', content: '' });
    expect(new ThinkTagSplitter('open').push('\n')).toEqual({ reasoning: '\n', content: '' });
  });

  it('the default reading by model name: open only for Qwen3 Thinking-2507 models, in any host’s spelling', () => {
    expect(['Qwen/Qwen3-235B-A22B-Thinking-2507', 'qwen-3-235b-a22b-thinking-2507', 'qwen/qwen3-30b-a3b-thinking-2507', 'Qwen3-4B-Thinking-2507-FP8'].map(defaultThinkTags)).toEqual(['open', 'open', 'open', 'open']);
    expect(['MiniMax-M2.7', 'Qwen/Qwen3-235B-A22B-Instruct-2507', 'qwen3-32b', 'deepseek-r1', 'gpt-5.4-mini'].map(defaultThinkTags)).toEqual(['leading', 'leading', 'leading', 'leading', 'leading']);
  });

  it('open turns leading when the server sends reasoning in a field of its own before any content', () => {
    const s = new ThinkTagSplitter('open');
    s.structuredReasoning();
    expect(s.reading).toBe('leading');
    expect(s.push('The answer.')).toEqual({ reasoning: '', content: 'The answer.' });
    const late = new ThinkTagSplitter('open');
    expect(late.push('thinking')).toEqual({ reasoning: 'thinking', content: '' });
    late.structuredReasoning();
    expect(late.reading).toBe('open');
  });

  it('off leaves the content as sent', () => {
    expect(splitThinkTags('<think>x</think>y', 'off')).toEqual({ reasoning: '', content: '<think>x</think>y' });
  });
});

// Through the CLI, against the recordings replayed over loopback.
const m27Raw = m27Body();
/** A recorded stream with each delta's content string replaced by `rewrite` (its other fields and chunks kept). */
function withContents(body: string, rewrite: (content: string) => string): string {
  return body
    .split('\n')
    .map((line) => {
      if (!line.startsWith('data: {')) return line;
      const o = JSON.parse(line.slice(6)) as { choices?: { delta?: { content?: string } }[] };
      const delta = o.choices?.[0]?.delta;
      if (typeof delta?.content !== 'string') return line;
      delta.content = rewrite(delta.content);
      return `data: ${JSON.stringify(o)}`;
    })
    .join('\n');
}
// Derived from the M2.7 recording (labelled): every chunk's content after "</think>\n\n" emptied, the chunks
// themselves (finish, usage) kept: a model that "finished" having only thought, which an adapter reading no
// tags took for an answer.
const thinkingOnly = (() => {
  let closed = false;
  return withContents(m27Raw, (content) => {
    if (closed) return '';
    if (!content.includes('</think>')) return content;
    closed = true;
    return content.slice(0, content.indexOf('</think>') + '</think>\n\n'.length);
  });
})();
// Derived from the M2.7 recording (labelled): the opening "<think>\n" removed, as a model whose chat template
// opened the block in the prompt streams it (DeepSeek-R1 distills, QwQ).
const templateOpened = m27Raw.replace('"content":"<think>\\n', '"content":"');
// Recorded (maruel/genai): Qwen3-235B-A22B-Thinking-2507 on Cerebras, a template-opened block from a live server.
const cerebrasOpen = FIXTURES.find((f) => f.file === 'cerebras/genai-qwen3-235b-thinking-2507-open.sse')!;
// Derived from the Cerebras recording (labelled): every delta's content emptied, the role and finish chunks kept:
// a Thinking-2507 model that sent no text at all, so nothing was read as thinking.
const cerebrasSilent = withContents(wireBody(cerebrasOpen).toString(), () => '');
const deepseekReasoning = FIXTURES.find((f) => f.file === 'deepseek/vercel-deepseek-reasoning.chunks.txt')!;
// Recorded non-streamed answers (maruel/genai): one with reasoning_content beside its content, one plain text.
const deepseekAnswer = FIXTURES.find((f) => f.file === 'deepseek/genai-deepseek-v4-flash-reasoning.json')!;
const mistralAnswer = FIXTURES.find((f) => f.file === 'mistral/genai-mistral-small-text.json')!;

const server = await replayServer({
  minimax: { status: 200, contentType: 'text/event-stream', body: Buffer.from(m27Raw) },
  thinker: { status: 200, contentType: 'text/event-stream', body: Buffer.from(thinkingOnly) },
  opened: { status: 200, contentType: 'text/event-stream', body: Buffer.from(templateOpened) },
  good: { status: 200, contentType: 'text/event-stream', body: wireBody(mistral) },
  cerebras: { status: 200, contentType: 'text/event-stream', body: wireBody(cerebrasOpen) },
  parsed: { status: 200, contentType: 'text/event-stream', body: wireBody(deepseekReasoning) },
  silent: { status: 200, contentType: 'text/event-stream', body: Buffer.from(cerebrasSilent) },
  parsedAnswer: { status: 200, contentType: 'application/json', body: rawBytes(deepseekAnswer) },
  plainAnswer: { status: 200, contentType: 'application/json', body: rawBytes(mistralAnswer) },
});
afterAll(() => server.close());

function config(extra = ''): { config: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), 'llmf-think-'));
  const file = join(dir, 'providers.yaml');
  writeFileSync(
    file,
    `providers:
  minimax: { api: openai, base_url: "${server.url('minimax')}", model: MiniMax-M2.7 }
  verbatim: { api: openai, base_url: "${server.url('minimax')}", model: MiniMax-M2.7, think_tags: off }
  thinker: { api: openai, base_url: "${server.url('thinker')}", model: MiniMax-M2.7 }
  opened: { api: openai, base_url: "${server.url('opened')}", model: deepseek-r1-distill, think_tags: open }
  opened_default: { api: openai, base_url: "${server.url('opened')}", model: deepseek-r1-distill }
  good: { api: openai, base_url: "${server.url('good')}", model: mistral-small-latest }
  cerebras: { api: openai, base_url: "${server.url('cerebras')}", model: qwen-3-235b-a22b-thinking-2507, think_tags: open }
  cerebras_default: { api: openai, base_url: "${server.url('cerebras')}", model: qwen-3-235b-a22b-thinking-2507 }
  cerebras_leading: { api: openai, base_url: "${server.url('cerebras')}", model: qwen-3-235b-a22b-thinking-2507, think_tags: leading }
  parsed: { api: openai, base_url: "${server.url('parsed')}", model: Qwen/Qwen3-235B-A22B-Thinking-2507 }
  silent: { api: openai, base_url: "${server.url('silent')}", model: qwen-3-235b-a22b-thinking-2507 }
  untagged: { api: openai, base_url: "${server.url('good')}", model: Qwen/Qwen3-30B-A3B-Thinking-2507 }
${extra}chains:
  default: [thinker, good]
`,
  );
  return { config: file, env: { XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') } };
}

describe('ask and bench read MiniMax’s thinking as reasoning', () => {
  it('the derived streams are what they say', () => {
    expect(rawContent(thinkingOnly)).toBe(`<think>${leadingThink(m27Content).reasoning}</think>\n\n`);
    expect(rawContent(templateOpened)).toBe(m27Content.slice('<think>\n'.length));
  });

  it('ask prints the answer without the thinking; think_tags: off prints it as sent', async () => {
    const c = config();
    const tagged = await run(['ask', '--config', c.config, '--provider', 'minimax', '--no-cache', 'Prove it.'], { env: c.env });
    expect(tagged.code).toBe(0);
    expect(tagged.stdout.trim()).toBe(leadingThink(m27Content).content.trim());
    expect(tagged.stdout).not.toContain('think>');
    const verbatim = await run(['ask', '--config', c.config, '--provider', 'verbatim', '--no-cache', 'Prove it.'], { env: c.env });
    expect(verbatim.code).toBe(0);
    expect(verbatim.stdout.trim()).toBe(m27Content.trim());
  });

  it('an answer that is only thinking is empty: the chain falls over to the next provider', async () => {
    const c = config();
    const r = await run(['ask', '--config', c.config, '--json', '--no-cache', 'Prove it.'], { env: c.env });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { provider: string; content: string; attempts: { provider: string; error_class: string | null; error_message: string | null }[] };
    expect(out.provider).toBe('good');
    expect(out.content).toBe(recordedText(mistral).content);
    const first = out.attempts[0];
    expect(first.provider).toBe('thinker');
    expect(first.error_class).toBe('empty_response');
    expect(first.error_message).toContain(`only reasoning (${leadingThink(m27Content).reasoning.length} characters) arrived`);
  });

  it('open: a block the chat template opened is read as reasoning; left at leading, the answer shows the stray tag', async () => {
    const c = config();
    const open = await run(['ask', '--config', c.config, '--provider', 'opened', '--no-cache', 'Prove it.'], { env: c.env });
    expect(open.code).toBe(0);
    expect(open.stdout.trim()).toBe(leadingThink(m27Content).content.trim());
    const leading = await run(['ask', '--config', c.config, '--provider', 'opened_default', '--no-cache', 'Prove it.'], { env: c.env });
    expect(leading.code).toBe(0);
    expect(leading.stdout).toContain('</think>');
  });

  it('open, on the recorded Cerebras stream: ask prints the one-word answer, by default for a Thinking-2507 model; set to leading, the thinking and the tag', async () => {
    const c = config();
    const recorded = rawContent(wireBody(cerebrasOpen).toString());
    for (const provider of ['cerebras', 'cerebras_default']) {
      const open = await run(['ask', '--config', c.config, '--provider', provider, '--no-cache', 'Say hello.'], { env: c.env });
      expect(open.code, provider).toBe(0);
      expect(open.stdout.trim(), provider).toBe('Hello');
    }
    const leading = await run(['ask', '--config', c.config, '--provider', 'cerebras_leading', '--no-cache', 'Say hello.'], { env: c.env });
    expect(leading.code).toBe(0);
    expect(leading.stdout.trim()).toBe(recorded.trim());
  });

  // The recorded DeepSeek reasoning stream (reasoning_content, then content), under a Thinking-2507 name: a
  // server that parses the thinking out itself. The open default must not take its answer for thinking.
  it('a Thinking-2507 model whose server sends reasoning_content first: the content is the answer', async () => {
    const c = config();
    const r = await run(['ask', '--config', c.config, '--provider', 'parsed', '--no-cache', 'Say hello.'], { env: c.env });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(recordedText(deepseekReasoning).content.trim());
  });

  it('a Thinking-2507 model whose server sent neither tags nor a reasoning field: empty, and the message says what to set', async () => {
    const c = config();
    const r = await run(['ask', '--config', c.config, '--provider', 'untagged', '--no-cache', '--json', 'Say hello.'], { env: c.env });
    expect(r.code).not.toBe(0);
    const out = JSON.parse(r.stdout) as { attempts: { error_class: string | null; error_message: string | null }[] };
    expect(out.attempts[0].error_class).toBe('empty_response');
    expect(out.attempts[0].error_message).toContain('think_tags is open by default for Qwen/Qwen3-30B-A3B-Thinking-2507');
    expect(out.attempts[0].error_message).toContain('set think_tags: leading on it in providers.yaml');
  });

  it('not streamed, a Thinking-2507 model reads the recorded answers as the stream does: a reasoning field keeps the content the answer; plain text is empty, with the hint', async () => {
    const adapter = (name: string) => createAdapter({ name, api: 'openai', baseUrl: server.url(name), model: 'Qwen/Qwen3-235B-A22B-Thinking-2507', headers: {}, params: {}, timeouts: {} });
    const parsed = adapter('parsedAnswer');
    const plain = adapter('plainAnswer');
    try {
      const events = await collect(parsed, ask('Say hello.', { stream: false }));
      expect(events.at(-1)?.type).toBe('finish');
      expect(textOf(events)).toBe(recordedAnswer(deepseekAnswer).content);
      expect(textOf(events, 'reasoning_delta')).toBe(recordedAnswer(deepseekAnswer).reasoning);
      const end = (await collect(plain, ask('Say hello.', { stream: false }))).at(-1);
      if (end?.type !== 'error') throw new Error(`expected an error, got ${end?.type}`);
      expect(end.error.errorClass).toBe('empty_response');
      expect(end.error.message).toContain(`only reasoning (${recordedAnswer(mistralAnswer).content.length} characters) arrived`);
      expect(end.error.message).toContain('set think_tags: leading on it in providers.yaml');
    } finally {
      await Promise.all([parsed.close(), plain.close()]);
    }
  });

  it('a Thinking-2507 model that sent no text at all: empty, and no hint about a thinking nothing was read as', async () => {
    expect(rawContent(cerebrasSilent)).toBe('');
    expect(cerebrasSilent).toContain('"finish_reason":"stop"');
    const c = config();
    const r = await run(['ask', '--config', c.config, '--provider', 'silent', '--no-cache', '--json', 'Say hello.'], { env: c.env });
    expect(r.code).not.toBe(0);
    const out = JSON.parse(r.stdout) as { attempts: { error_class: string | null; error_message: string | null }[] };
    expect(out.attempts[0].error_class).toBe('empty_response');
    expect(out.attempts[0].error_message).toMatch(/no content and no tool call arrived$/);
  });

  it('bench counts the thinking-only answer as an error and the tagged one as ok', async () => {
    const c = config();
    const r = await run(['bench', 'minimax', 'thinker', '--config', c.config, '-n', '2', '-c', '1', '--format', 'json', '-q'], { env: c.env, timeoutMs: 60_000 });
    const out = JSON.parse(r.stdout) as { providers: { name: string; ok: number; failed: number; errors: Record<string, number> }[] };
    const by = Object.fromEntries(out.providers.map((p) => [p.name, p]));
    expect(by.minimax.ok).toBe(2);
    expect(by.thinker.ok).toBe(0);
    expect(Object.keys(by.thinker.errors)).toEqual(['empty_response']);
    expect(r.code).not.toBe(2);
  });
});

describe('think_tags in providers.yaml', () => {
  it('an unknown value is refused with its position and the values it takes', async () => {
    const c = config();
    writeFileSync(c.config, `providers:\n  m: { api: openai, base_url: "${server.url('minimax')}", model: x, think_tags: strip }\n`);
    const r = await run(['config', 'check', '--config', c.config], { env: c.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/providers\.yaml:2:\d+: .*think_tags.*leading, open, off/);
  });

  it('on an api: anthropic provider it is refused: Claude’s thinking comes in blocks', async () => {
    const c = config();
    writeFileSync(c.config, `providers:\n  a: { api: anthropic, base_url: "${server.url('minimax')}", model: claude-sonnet-5, think_tags: leading }\n`);
    const r = await run(['config', 'check', '--config', c.config], { env: c.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/providers\.yaml:2:\d+: providers\.a\.think_tags: is for an api: openai provider/);
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import type { ProviderAdapter, ProviderEvent } from '../src/providers/types.js';
import { spawnEmulator } from './cli-helpers.js';
import { FIXTURES, rawBytes, recordedAnswer, recordingAdapter, replayServer, type Reply, type WireFixture } from './wire-fixtures.js';

// Every recorded non-streamed answer of test/fixtures/wire (kind "answer": real stream:false bodies of
// OpenAI, Anthropic, DeepSeek, Groq, Mistral, Qwen, OpenRouter, Perplexity, Gemini, xAI, Moonshot, MiniMax,
// Azure) served over loopback with its recorded Content-Type, in awkward pieces, and read by the adapter the
// commands build, asked with stream:false (what `bench --no-stream` sends). Expected values come from the
// index (read off each body by hand) and from recordedAnswer(), never from the adapter.

const ANSWERS = FIXTURES.filter((f) => f.kind === 'answer');
const replies: Record<string, Reply> = {};
for (const f of ANSWERS) replies[f.file] = { status: f.status ?? 200, contentType: f.contentType ?? 'application/json', body: rawBytes(f) };
const sent = new Map<string, Record<string, unknown>>();
const server = await replayServer(replies, (name, body) => sent.set(name, JSON.parse(body) as Record<string, unknown>));
afterAll(() => server.close());

async function answer(f: WireFixture): Promise<ProviderEvent[]> {
  const adapter: ProviderAdapter = recordingAdapter(f, server.url(f.file));
  try {
    const out: ProviderEvent[] = [];
    for await (const ev of adapter.stream({ messages: [{ role: 'user', content: 'replay' }], stream: false })) out.push(ev);
    return out;
  } finally {
    await adapter.close();
  }
}

const text = (events: ProviderEvent[], type: 'content_delta' | 'reasoning_delta') => events.map((e) => (e.type === type ? e.text : '')).join('');

it('every dialect the adapters speak has a recorded non-streamed answer', () => {
  expect(new Set(ANSWERS.map((f) => f.provider))).toEqual(new Set(['openai', 'anthropic', 'deepseek', 'groq', 'mistral', 'qwen', 'openrouter', 'perplexity', 'gemini', 'xai', 'moonshot', 'minimax', 'azure', 'cerebras', 'together', 'huggingface', 'llamacpp']));
  for (const f of ANSWERS) expect(f.handwritten, f.file).toBe(false);
});

describe.each(ANSWERS.filter((f) => !f.expect.errorClass))('recorded answer $file', (f) => {
  it(`is "${f.expect.rawFinish}" (${f.expect.finish}) with the recorded text, usage, model and id`, async () => {
    const events = await answer(f);
    expect(sent.get(f.file)?.stream).toBe(false);
    const end = events.at(-1)!;
    expect(end.type === 'error' ? end.error.message : end.type).toBe('finish');
    if (end.type !== 'finish') return;
    expect({ reason: end.reason, rawReason: end.rawReason, model: end.model, responseId: end.responseId }).toEqual({
      reason: f.expect.finish,
      rawReason: f.expect.rawFinish,
      model: f.expect.model,
      responseId: f.expect.responseId,
    });

    const recorded = recordedAnswer(f);
    expect(text(events, 'content_delta')).toBe(recorded.content);
    expect(text(events, 'reasoning_delta')).toBe(recorded.reasoning);
    if (f.expect.content !== undefined) expect(text(events, 'content_delta')).toBe(f.expect.content);
    if (f.expect.reasoning !== undefined) expect(text(events, 'reasoning_delta')).toBe(f.expect.reasoning);
    // A tool call is what the answer is: no text, finish tool_calls (the events carry no tool-call payload).
    expect(recorded.toolCalls).toBe(f.expect.toolCalls ?? 0);
    if (f.expect.toolCalls) expect(end.reason).toBe('tool_calls');

    expect(events.filter((e) => e.type === 'usage').map((e) => e.type === 'usage' && e.usage)).toEqual([f.expect.usage]);
  });
});

describe.each(ANSWERS.filter((f) => f.expect.errorClass))('recorded answer $file', (f) => {
  it(`is refused as ${f.expect.errorClass} (${f.expect.providerCode})`, async () => {
    const events = await answer(f);
    const end = events.at(-1)!;
    if (end.type !== 'error') throw new Error(`expected an error, got ${end.type}`);
    expect(end.error.errorClass).toBe(f.expect.errorClass);
    expect(end.error.providerCode).toBe(f.expect.providerCode);
    if (f.expect.messageContains) expect(end.error.message).toContain(f.expect.messageContains);
    // What did come is still told apart: reasoning (MiniMax's inside <think> tags) is never answer text.
    const recorded = recordedAnswer(f);
    expect(text(events, 'content_delta')).toBe(recorded.content);
    expect(text(events, 'reasoning_delta')).toBe(recorded.reasoning);
    expect(events.filter((e) => e.type === 'usage').map((e) => e.type === 'usage' && e.usage)).toEqual([f.expect.usage]);
  });
});

// The emulator follows the recordings: for each dialect it speaks, its non-streamed answer (from
// `llm-fallback mock`, its own process) must have the recorded answer's shape: the same keys with the same
// value types at the top level, in choices[0], its message and all through usage (Anthropic: top level,
// the kinds of content blocks and their keys, usage). Values are not compared. Where a difference is kept
// on purpose, KEPT names the path and why; src/mock/wire.ts changes for everything else.

type Obj = Record<string, unknown>;
const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** path → type of every key under `o`, descending into objects (not arrays) unless `flat`. */
function paths(o: unknown, prefix: string, flat = false, out: Record<string, string> = {}): Record<string, string> {
  if (!o || typeof o !== 'object' || Array.isArray(o)) return out;
  for (const [k, v] of Object.entries(o as Obj)) {
    out[`${prefix}.${k}`] = typeOf(v);
    if (!flat && typeOf(v) === 'object') paths(v, `${prefix}.${k}`, false, out);
  }
  return out;
}

function shape(api: 'openai' | 'anthropic', body: Obj): Record<string, string> {
  if (api === 'anthropic') {
    const blocks: Record<string, string> = {};
    (body.content as Obj[]).forEach((b) => Object.assign(blocks, paths(b, `content[${String(b.type)}]`, true)));
    return { ...paths(body, 'top', true), ...blocks, ...paths(body.usage, 'usage') };
  }
  const choice = (body.choices as Obj[])[0];
  return { ...paths(body, 'top', true), ...paths(choice, 'choice', true), ...paths(choice.message, 'message', true), ...paths(body.usage, 'usage') };
}

const emu = await spawnEmulator({
  seed: 7,
  providers: {
    openai: { dialect: 'openai', output_tokens: 4 },
    anthropic: { dialect: 'anthropic', output_tokens: 4 },
    anthropicThinking: { dialect: 'anthropic', output_tokens: 6, reasoning_tokens: 2 },
    deepseek: { dialect: 'deepseek', output_tokens: 6, reasoning_tokens: 2 },
    moonshot: { dialect: 'moonshot', output_tokens: 6, reasoning_tokens: 2 },
    minimax: { dialect: 'minimax', output_tokens: 4 },
    gemini: { dialect: 'gemini', output_tokens: 4 },
    openrouter: { dialect: 'openrouter', output_tokens: 6, reasoning_tokens: 2 },
  },
});
afterAll(() => emu.close());

async function emulatedAnswer(name: string, api: 'openai' | 'anthropic'): Promise<Obj> {
  const res = await fetch(`${emu.baseUrl(name)}${api === 'anthropic' ? '/messages' : '/chat/completions'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Say hello.' }], stream: false, max_tokens: 64 }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as Obj;
}

const JUDGES: { name: string; api: 'openai' | 'anthropic'; recording: string; kept?: Record<string, string> }[] = [
  {
    name: 'openai',
    api: 'openai',
    recording: 'openai/genai-gpt-5.6-luna-text.json',
    kept: { 'top.system_fingerprint': 'null from gpt-5.6-luna, a string from o3-mini (openai/gomodel-o3-mini-reasoning.json) and gpt-4o-mini; the emulator sends a string, as its streams do' },
  },
  { name: 'anthropic', api: 'anthropic', recording: 'anthropic/genai-claude-sonnet-5-text.json' },
  { name: 'anthropicThinking', api: 'anthropic', recording: 'anthropic/genai-claude-opus-5-thinking.json' },
  { name: 'deepseek', api: 'openai', recording: 'deepseek/genai-deepseek-v4-flash-reasoning.json' },
  { name: 'moonshot', api: 'openai', recording: 'moonshot/vercel-kimi-k3-usage-live.json' },
  {
    name: 'minimax',
    api: 'openai',
    recording: 'minimax/gomodel-prod-m2-length.json',
    kept: Object.fromEntries(
      ['usage.completion_tokens_details', 'usage.completion_tokens_details.reasoning_tokens', 'usage.prompt_tokens_details', 'usage.prompt_tokens_details.cached_tokens'].map((p) => [
        p,
        "the buffered MiniMax-M2 capture has no usage details; the emulator serves MiniMax-M2.7, whose captured usage has them (minimax/gomodel-prod-m27-stream.sse), and the same usage goes in its streams",
      ]),
    ),
  },
  { name: 'gemini', api: 'openai', recording: 'gemini/gomodel-gemini-2.5-flash.json' },
  { name: 'openrouter', api: 'openai', recording: 'openrouter/genai-qwen3.5-35b-reasoning.json' },
];

describe('the emulator answers without streaming in the recorded shape', () => {
  it.each(JUDGES)('$name: as $recording', async ({ name, api, recording, kept = {} }) => {
    const f = FIXTURES.find((x) => x.file === recording)!;
    const want = shape(api, JSON.parse(rawBytes(f).toString('utf8')) as Obj);
    const got = shape(api, await emulatedAnswer(name, api));
    for (const path of Object.keys(kept)) {
      delete want[path];
      delete got[path];
    }
    expect(got).toEqual(want);
  });
});

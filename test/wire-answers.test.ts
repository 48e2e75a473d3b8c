import { afterAll, describe, expect, it } from 'vitest';
import type { ProviderAdapter, ProviderEvent } from '../src/providers/types.js';
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
  expect(new Set(ANSWERS.map((f) => f.provider))).toEqual(new Set(['openai', 'anthropic', 'deepseek', 'groq', 'mistral', 'qwen', 'openrouter', 'perplexity', 'gemini', 'xai', 'moonshot', 'minimax', 'azure']));
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
    expect(events.filter((e) => e.type === 'usage').map((e) => e.type === 'usage' && e.usage)).toEqual([f.expect.usage]);
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import type { ProviderAdapter, ProviderEvent } from '../src/providers/types.js';
import { FIXTURES, dataObjects, recordedText, recordingAdapter, replayServer, wireBody, type Reply, type WireFixture } from './wire-fixtures.js';

// Every recorded stream and error body of test/fixtures/wire, served over loopback in awkward pieces and
// read by the real adapters built the way the commands build them (createAdapter). Expected values come
// from the index (read off the recording by hand) and from recordedText(), never from the adapter.

const replies: Record<string, Reply> = {};
for (const f of FIXTURES) {
  replies[f.file] = { status: f.status ?? 200, contentType: f.kind === 'error' ? 'application/json' : 'text/event-stream', body: wireBody(f) };
}
const server = await replayServer(replies);
afterAll(() => server.close());

function adapterFor(f: WireFixture, name = f.file): ProviderAdapter {
  const adapter = recordingAdapter(f, server.url(name));
  afterAll(() => adapter.close());
  return adapter;
}

async function replay(adapter: ProviderAdapter): Promise<ProviderEvent[]> {
  const out: ProviderEvent[] = [];
  for await (const ev of adapter.stream({ messages: [{ role: 'user', content: 'replay' }], stream: true })) out.push(ev);
  return out;
}

const text = (events: ProviderEvent[], type: 'content_delta' | 'reasoning_delta') => events.map((e) => (e.type === type ? e.text : '')).join('');
const last = (events: ProviderEvent[]) => events[events.length - 1];

describe.each(FIXTURES.filter((f) => f.kind === 'stream' && f.expect.finish))('recorded stream $file', (f) => {
  const adapter = adapterFor(f);

  it(`completes with finish "${f.expect.finish}", the recorded text and the recorded usage`, async () => {
    const events = await replay(adapter);
    const end = last(events);
    expect(end.type === 'error' ? end.error.message : end.type).toBe('finish');
    expect(end.type === 'finish' && end.reason).toBe(f.expect.finish);

    const recorded = recordedText(f);
    // Some text was recorded (a tool call's only text may be the thinking before it).
    expect(recorded.content.length + recorded.reasoning.length).toBeGreaterThan(0);
    expect(text(events, 'content_delta')).toBe(recorded.content);
    expect(text(events, 'reasoning_delta')).toBe(recorded.reasoning);
    if (f.expect.content !== undefined) expect(text(events, 'content_delta')).toBe(f.expect.content);
    if (f.expect.reasoning !== undefined) expect(text(events, 'reasoning_delta')).toBe(f.expect.reasoning);

    const usage = events.filter((e) => e.type === 'usage');
    if (f.expect.usage === null) expect(usage).toHaveLength(0);
    else expect(usage.map((e) => e.type === 'usage' && e.usage)).toEqual([f.expect.usage]);
  });
});

// The provider's response id and served model ride on the finish event (the gateway's spans report them as
// gen_ai.response.id / gen_ai.response.model). Two read off the recordings by hand, then every recording
// against what its own frames say: OpenAI-style chunks carry `id` and `model`; Anthropic's message_start
// carries `message.id` and `message.model`.
describe('the response id and served model of recorded streams', () => {
  const byHand: Record<string, { responseId: string; model: string }> = {
    'openai/gomodel-gpt-4o-mini.sse': { responseId: 'chatcmpl-D0q8CZXN1uEzngZGkU7FuV92lnXWq', model: 'gpt-4o-mini-2024-07-18' },
    'anthropic/gomodel-claude-sonnet-4.sse': { responseId: 'msg_01SJmPi7XXP8qscFQiHPR9oy', model: 'claude-sonnet-4-20250514' },
  };
  const finishing = FIXTURES.filter((f) => f.kind === 'stream' && f.expect.finish);
  const adapters = new Map(finishing.map((f) => [f.file, adapterFor(f, f.file)]));

  it.each(Object.entries(byHand))('%s', async (file, want) => {
    const end = last(await replay(adapters.get(file)!));
    expect(end.type === 'finish' && { responseId: end.responseId, model: end.model }).toEqual(want);
  });

  it.each(finishing.map((f) => [f.file, f] as const))('%s: as its frames say', async (_file, f) => {
    const frames = dataObjects(wireBody(f));
    const start = frames.find((o) => o.type === 'message_start')?.message as Record<string, unknown> | undefined;
    const ids = f.api === 'anthropic' ? [start?.id] : frames.map((o) => o.id);
    const models = f.api === 'anthropic' ? [start?.model] : frames.map((o) => o.model);
    const first = ids.find((x): x is string => typeof x === 'string' && x !== '');
    const lastModel = models.filter((x): x is string => typeof x === 'string').at(-1);
    const end = last(await replay(adapters.get(f.file)!));
    expect(end.type).toBe('finish');
    expect(end.type === 'finish' && end.responseId).toBe(first);
    expect(end.type === 'finish' && end.model).toBe(lastModel);
  });
});

describe.each(FIXTURES.filter((f) => f.kind === 'stream' && f.expect.errorClass))('recorded failing stream $file', (f) => {
  const adapter = adapterFor(f);

  it(`streams what came before, then fails as ${f.expect.errorClass}`, async () => {
    const events = await replay(adapter);
    expect(events.some((e) => e.type === 'finish')).toBe(false);
    expect(text(events, 'content_delta')).toBe(f.expect.contentBefore);
    const end = last(events);
    expect(end.type === 'error' && end.error.errorClass).toBe(f.expect.errorClass);
    if (f.expect.providerCode) expect(end.type === 'error' && end.error.providerCode).toBe(f.expect.providerCode);
  });
});

describe.each(FIXTURES.filter((f) => f.kind === 'error'))('recorded error body $file', (f) => {
  const adapter = adapterFor(f);

  it(`HTTP ${f.status} is ${f.expect.errorClass}${f.expect.retryable ? ', retryable' : ', not retried'}`, async () => {
    const end = last(await replay(adapter));
    if (end.type !== 'error') throw new Error(`expected an error, got ${end.type}`);
    expect(end.error.errorClass).toBe(f.expect.errorClass);
    expect(end.error.isRetryable).toBe(f.expect.retryable);
    expect(end.error.status).toBe(f.status);
    if (f.expect.retryAfterMs !== undefined) expect(end.error.retryAfterMs).toBe(f.expect.retryAfterMs);
    if (f.expect.messageContains) expect(end.error.message).toContain(f.expect.messageContains);
  });
});

describe('the completion rule on recorded OpenAI-style streams', () => {
  const minimax = FIXTURES.find((f) => f.file === 'minimax/gomodel-prod-m27-stream.sse')!;
  const openai = FIXTURES.find((f) => f.file === 'openai/gomodel-gpt-4o-mini.sse')!;

  it('MiniMax: a finish reason and a clean end of body complete the stream without [DONE], and the trailing usage is kept', async () => {
    const body = wireBody(minimax);
    expect(body.toString()).not.toContain('[DONE]');
    const events = await replay(adapterFor(minimax));
    expect(last(events).type).toBe('finish');
    expect(events.filter((e) => e.type === 'usage')).toHaveLength(1);
  });

  const insideLastEvent = (body: Buffer) => body.lastIndexOf('data: {') + 20;
  // A whole event arrived, but the body never got its chunked terminator.
  const afterFinishEvent = (body: Buffer) => body.indexOf('\n\n', body.indexOf('"finish_reason":"stop"')) + 2;
  it.each([
    ['minimax', minimax, 'inside its last event', insideLastEvent],
    ['openai', openai, 'inside its last event', insideLastEvent],
    ['minimax', minimax, 'right after its finish event', afterFinishEvent],
    ['openai', openai, 'right after its finish event', afterFinishEvent],
  ])('%s: the same recording cut %s is incomplete_stream, never an answer', async (_, f, where, cutAt) => {
    const body = wireBody(f);
    const name = `${f.file}#cut ${where}`;
    replies[name] = { status: 200, contentType: 'text/event-stream', body, cutAfter: cutAt(body) };
    const events = await replay(adapterFor(f, name));
    expect(events.some((e) => e.type === 'finish')).toBe(false);
    const end = last(events);
    expect(end.type === 'error' && end.error.errorClass).toBe('incomplete_stream');
  });

  it.each([
    ['minimax', minimax],
    ['openai', openai],
  ])('%s: the same recording without its finish_reason chunks is incomplete_stream', async (_, f) => {
    const kept = wireBody(f)
      .toString()
      .split('\n\n')
      .filter((ev) => !/"finish_reason":"[a-z_]+"/.test(ev))
      .join('\n\n');
    replies[`${f.file}#nofinish`] = { status: 200, contentType: 'text/event-stream', body: Buffer.from(kept) };
    const end = last(await replay(adapterFor(f, `${f.file}#nofinish`)));
    expect(end.type === 'error' && end.error.message).toMatch(/no finish_reason/);
    expect(end.type === 'error' && end.error.errorClass).toBe('incomplete_stream');
  });
});

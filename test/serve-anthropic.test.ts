import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { emulator } from './helpers.js';
import { collect as collectStream, gateway } from './serve-harness.js';

/*
 * POST /v1/messages through the dialect handler, judged by the official @anthropic-ai/sdk and curl, over
 * a chain whose first provider refuses connections and whose second is the emulator (an Anthropic-dialect
 * provider; the chain may mix dialects, the client sees Anthropic's either way).
 */
const run = promisify(execFile);
const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  claude: { dialect: 'anthropic', output_tokens: c(10), itl: c(1), cached_share: 0.5 },
  gpt: { dialect: 'openai', output_tokens: c(10), itl: c(1) },
  cut3: { dialect: 'anthropic', output_tokens: c(12), itl: c(1), script: [{ kind: 'cut', after_tokens: 3 }] },
  cut5: { dialect: 'openai', output_tokens: c(12), itl: c(2), script: [{ kind: 'cut', after_tokens: 5 }] },
  late: { dialect: 'anthropic', ttft: c(300), output_tokens: c(6) },
  r1: { dialect: 'anthropic', script: [{ kind: 'rate_limit', retry_after_ms: 30 }] },
  r2: { dialect: 'openai', script: [{ kind: 'rate_limit', retry_after_ms: 1500 }] },
  o1: { dialect: 'anthropic', faults: [{ kind: 'overloaded', p: 1 }] },
  o2: { dialect: 'openai', faults: [{ kind: 'server', p: 1 }] },
  silent: { dialect: 'anthropic', ttft: c(3000) },
});
const { h } = await gateway(
  server,
  { down: null, claude: 'claude', gpt: 'gpt', cut3: 'cut3', cut5: 'cut5', late: 'late', r1: 'r1', r2: 'r2', o1: 'o1', o2: 'o2', silent: 'silent' },
  {
    main: ['down', 'claude'],
    mixed: ['down', 'gpt'],
    early: ['cut3', 'claude'],
    committed: { providers: ['cut5', 'late'], stream_commit: { tokens: 2 } },
    limited: ['r1', 'r2'],
    overloaded: ['o1', 'o2'],
    mute: ['silent'],
  },
  { over: { silent: { timeouts: { first_token: '300ms' } } } },
);

const client = new Anthropic({ apiKey: 'unused', baseURL: h.url, maxRetries: 0, timeout: 10_000 });
const messages = [{ role: 'user' as const, content: 'Explain the CAP theorem briefly.' }];
const words = (s: string) => s.trim().split(/\s+/).filter(Boolean).length;
const lastCall = () => h.calls[h.calls.length - 1];

const eventText = (ev: Anthropic.MessageStreamEvent) => (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta' ? ev.delta.text : '');
const collect = async (stream: AsyncIterable<Anthropic.MessageStreamEvent>) => {
  const { items: events, ...rest } = await collectStream(stream, eventText);
  return { events, ...rest };
};

describe('a chain whose first provider is down, through the Anthropic SDK', () => {
  it('non-streaming: a message object from the second provider, with Anthropic usage and the headers', async () => {
    const before = h.calls.length;
    const { data, response } = await client.messages.create({ model: 'main', max_tokens: 200, system: 'Be brief.', messages }).withResponse();
    expect(h.calls.length).toBe(before + 1);
    const r = lastCall().result;
    expect(data).toMatchObject({ type: 'message', role: 'assistant', model: server.profile.providers.claude.model, stop_reason: 'end_turn', stop_sequence: null });
    expect(data.id).toMatch(/^msg_/);
    expect(data.content).toEqual([{ type: 'text', text: r.content }]);
    expect(words(r.content)).toBe(10);
    // Anthropic counts cache reads apart from input_tokens.
    expect(data.usage.input_tokens + (data.usage.cache_read_input_tokens ?? 0)).toBe(r.usage!.inputTokens);
    expect(data.usage.cache_read_input_tokens).toBe(r.usage!.cachedInputTokens);
    expect(data.usage.cache_read_input_tokens).toBeGreaterThan(0);
    expect(data.usage.output_tokens).toBe(10);
    expect(response.headers.get('x-llm-fallback-provider')).toBe('claude');
    expect(response.headers.get('x-llm-fallback-attempts')).toBe('2');
    expect(response.headers.get('x-llm-fallback-source')).toBe('live');
    expect(Number(response.headers.get('x-llm-fallback-cost-usd'))).toBeCloseTo(r.cost_usd, 10);
  });

  it('streaming: the event sequence of the Messages API, and the second provider in the headers', async () => {
    const { data: stream, response } = await client.messages.create({ model: 'main', max_tokens: 200, messages, stream: true }).withResponse();
    expect(response.headers.get('x-llm-fallback-provider')).toBe('claude');
    expect(response.headers.get('x-llm-fallback-source')).toBe('live');
    const { text, events, error } = await collect(stream);
    expect(error).toBeUndefined();
    expect(text).toBe(lastCall().result.content);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('message_start');
    expect(types[1]).toBe('content_block_start');
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(types.filter((t) => t === 'content_block_delta')).toHaveLength(types.length - 5);
    const delta = events[events.length - 2] as Anthropic.MessageDeltaEvent;
    expect(delta.delta.stop_reason).toBe('end_turn');
    expect(delta.usage.output_tokens).toBe(10);
    // message_start carries the prompt's size before any provider has counted it (clients that read the
    // input count only there booked every stream at 0 input tokens), with the fields the SDK's Usage has.
    const start = events[0] as Anthropic.MessageStartEvent;
    // The estimate: 32 characters at 4 a token, plus 4 for the one message.
    expect(start.message.usage).toMatchObject({ input_tokens: 12, cache_read_input_tokens: 0, output_tokens: 0 });
    expect('cache_creation_input_tokens' in start.message.usage).toBe(true);
  });

  it('stream helper: finalMessage() has the text and the whole usage (input counts from message_delta)', async () => {
    const msg = await client.messages.stream({ model: 'mixed', max_tokens: 200, messages }).finalMessage();
    const r = lastCall().result;
    expect(r.provider).toBe('gpt');
    expect(msg.content).toEqual([{ type: 'text', text: r.content }]);
    expect(msg.model).toBe(server.profile.providers.gpt.model);
    expect(msg.usage.input_tokens).toBe(r.usage!.inputTokens - r.usage!.cachedInputTokens);
    expect(msg.usage.output_tokens).toBe(10);
  });

  it('a max_tokens cut is stop_reason "max_tokens"', async () => {
    const m = await client.messages.create({ model: 'main', max_tokens: 4, messages });
    expect(m.stop_reason).toBe('max_tokens');
  });
});

describe('streaming without lying', () => {
  it('a failure before the commit falls over unseen: the text is exactly the next provider answer', async () => {
    const { data: stream, response } = await client.messages.create({ model: 'early', max_tokens: 200, messages, stream: true }).withResponse();
    const { text, error } = await collect(stream);
    expect(error).toBeUndefined();
    const r = lastCall().result;
    expect(r.attempts.map((a) => [a.provider, a.decision])).toEqual([
      ['cut3', 'fallover'],
      ['claude', 'success'],
    ]);
    expect(r.attempts[0].output_chars).toBeGreaterThan(0);
    expect(text).toBe(r.content);
    expect(response.headers.get('x-llm-fallback-provider')).toBe('claude');
  });

  it('a failure after the commit: the SDK raises the error event after the text so far; no message_stop', async () => {
    const { data: stream } = await client.messages.create({ model: 'committed', max_tokens: 200, messages, stream: true }).withResponse();
    const { text, events, error } = await collect(stream);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as Error).message).toMatch(/broke off after it had begun streaming \(incomplete_stream\)/);
    expect(words(text)).toBe(5);
    expect(events.some((e) => e.type === 'message_stop' || e.type === 'message_delta')).toBe(false);
    expect(lastCall().cut?.class).toBe('incomplete_stream');
  });

  it('curl: the raw events, ping included; a cut stream ends with event: error', async () => {
    const body = (model: string) => JSON.stringify({ model, max_tokens: 100, messages, stream: true });
    const ok = (await run('curl', ['-sN', '-H', 'content-type: application/json', '-d', body('main'), `${h.url}/v1/messages`])).stdout;
    const names = [...ok.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(names.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping']);
    expect(names.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(ok).toMatch(/\n: llm-fallback provider=claude attempts=2 source=live cost_usd=0\.\d+ latency_ms=\d+\n\nevent: message_stop\n/);
    const cut = (await run('curl', ['-sN', '-H', 'content-type: application/json', '-d', body('committed'), `${h.url}/v1/messages`])).stdout;
    expect(cut).toMatch(/\nevent: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"the answer broke off[^\n]*\}\}\n\n$/);
    expect(cut).not.toContain('message_stop');
  });
});

describe('errors in Anthropic envelopes', () => {
  it('every provider rate-limited → RateLimitError (429) with Retry-After, across dialects', async () => {
    const e = (await client.messages.create({ model: 'limited', max_tokens: 50, messages: [{ role: 'user', content: 'Rate-limited everywhere?' }] }).catch((x: unknown) => x)) as InstanceType<typeof Anthropic.RateLimitError>;
    expect(e).toBeInstanceOf(Anthropic.RateLimitError);
    expect(e.headers?.get('retry-after')).toBe('1');
    expect(e.headers?.get('retry-after-ms')).toBe('30');
    expect(e.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
  });

  it('no provider serving now → OverloadedError (529 overloaded_error), as Anthropic says it', async () => {
    const e = (await client.messages.create({ model: 'overloaded', max_tokens: 50, messages }).catch((x: unknown) => x)) as InstanceType<typeof Anthropic.APIError>;
    expect(e).toBeInstanceOf(Anthropic.OverloadedError);
    expect(e.status).toBe(529);
    expect(e.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(lastCall().status).toBe(529);
  });

  it('no answer in time → 504 timeout_error with x-should-retry: false: the SDK does not run the chain twice more', async () => {
    // @anthropic-ai/sdk 1.x retries any 5xx twice by default unless x-should-retry says otherwise (its shouldRetry).
    let sent = 0;
    const counting = new Anthropic({ apiKey: 'unused', baseURL: h.url, maxRetries: 2, timeout: 10_000, fetch: (u, init) => (sent++, fetch(u, init)) });
    const before = server.stats().silent?.requests ?? 0;
    for (const stream of [false, true]) {
      sent = 0;
      const e = (await counting.messages.create({ model: 'mute', max_tokens: 50, messages: [{ role: 'user', content: `Silent, stream ${stream}?` }], stream }).catch((x: unknown) => x)) as InstanceType<typeof Anthropic.APIError>;
      expect(e).toBeInstanceOf(Anthropic.APIError);
      expect(e.status).toBe(504);
      expect(e.error).toMatchObject({ type: 'error', error: { type: 'timeout_error' } });
      expect(e.headers?.get('x-should-retry')).toBe('false');
      expect(sent).toBe(1);
    }
    expect(server.stats().silent.requests - before).toBe(2);
  });

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['no max_tokens (Anthropic requires it)', { messages }, /^max_tokens: Field required$/],
    ['image block', { max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] }] }, /^messages\[0\]\.content\[0\]\.type: content block type "image" is not supported: llm-fallback serve passes text only/],
    ['system as a message role', { max_tokens: 10, messages: [{ role: 'system', content: 'x' }] }, /^messages\[0\]\.role: Unexpected role "system"/],
    ['tools', { max_tokens: 10, messages, tools: [{ name: 'f', input_schema: { type: 'object' } }] }, /^tools: tool use is not supported/],
    ['temperature above Anthropic range', { max_tokens: 10, messages, temperature: 1.5 }, /^temperature: must be a number from 0 to 1 \(got 1\.5\)/],
    ['tool_result block', { max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'x', content: '1' }] }] }, /content block type "tool_result" is not supported/],
  ];
  for (const [what, extra, message] of cases) {
    it(`400: ${what}`, async () => {
      const calls = h.calls.length;
      const e = (await client.messages.create({ model: 'main', ...extra } as never).catch((x: unknown) => x)) as InstanceType<typeof Anthropic.BadRequestError>;
      expect(e).toBeInstanceOf(Anthropic.BadRequestError);
      expect(e.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      expect((e.error as { error: { message: string } }).error.message).toMatch(message);
      expect(h.calls.length).toBe(calls);
    });
  }

  it('system as text blocks is accepted', async () => {
    const m = await client.messages.create({ model: 'main', max_tokens: 50, system: [{ type: 'text', text: 'Be brief.' }], messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }] });
    expect(m.content[0]).toMatchObject({ type: 'text', text: lastCall().result.content });
  });
});

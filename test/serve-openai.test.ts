import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { emulator } from './helpers.js';
import { collect as collectStream, gateway } from './serve-harness.js';

/*
 * POST /v1/chat/completions through the dialect handler, judged by the official openai SDK and curl,
 * over a chain whose first provider refuses connections and whose second is the emulator. Mid-stream
 * faults come from the emulator's scripts (a `cut` closes the stream after N tokens).
 */
const run = promisify(execFile);
const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  b: { dialect: 'openai', output_tokens: c(12), itl: c(1), reasoning_tokens: 2, cached_share: 0.5 },
  cut3: { dialect: 'openai', output_tokens: c(12), itl: c(1), script: [{ kind: 'cut', after_tokens: 3 }] },
  cut5: { dialect: 'openai', output_tokens: c(12), itl: c(2), script: [{ kind: 'cut', after_tokens: 5 }] },
  late: { dialect: 'openai', ttft: c(300), output_tokens: c(6) },
  r1: { dialect: 'openai', script: [{ kind: 'rate_limit', retry_after_ms: 40 }] },
  r2: { dialect: 'openai', script: [{ kind: 'rate_limit', retry_after_ms: 20 }] },
  r900: { dialect: 'openai', script: [{ kind: 'rate_limit', retry_after_ms: 900_000 }] },
  slow: { dialect: 'openai', output_tokens: c(20), itl: c(60) },
  long: { dialect: 'openai', output_tokens: c(40), itl: c(20) },
  flaky: { dialect: 'openai', output_tokens: c(5), script: [{ kind: 'ok', times: 1 }, { kind: 'server' }] },
  silent: { dialect: 'openai', ttft: c(3000) },
  toolong: { dialect: 'openai', script: [{ kind: 'context_length' }] },
  badkey: { dialect: 'openai', script: [{ kind: 'auth' }] },
  rejects: { dialect: 'openai', script: [{ kind: 'status', status: 400 }] },
  garbled: { dialect: 'openai', script: [{ kind: 'malformed' }] },
});
const { h } = await gateway(
  server,
  { down: null, down2: null, b: 'b', cut3: 'cut3', cut5: 'cut5', late: 'late', r1: 'r1', r2: 'r2', r900: 'r900', slow: 'slow', long: 'long', flaky: 'flaky', silent: 'silent', toolong: 'toolong', toolong2: 'toolong', badkey: 'badkey', rejects: 'rejects', garbled: 'garbled' },
  {
    main: ['down', 'b'],
    early: ['cut3', 'b'],
    committed: { providers: ['cut5', 'late'], stream_commit: { tokens: 2 } },
    limited: ['r1', 'r2'],
    later: ['r900'],
    dead: ['down', 'down2'],
    apology: { providers: ['down'], static_message: 'Sorry, try again later.' },
    flaky: ['flaky'],
    at_once: { providers: ['slow'], stream_commit: { tokens: 0 } },
    held: { providers: ['slow'], stream_commit: { tokens: 10, after: '5s' } },
    gone: { providers: ['long'], stream_commit: { tokens: 0 } },
    mute: ['silent'],
    narrow: ['toolong', 'toolong2'],
    refused: ['badkey', 'rejects'],
    garbled: ['garbled'],
  },
  { over: { silent: { timeouts: { first_token: '300ms' } } } },
);

const client = new OpenAI({ apiKey: 'unused', baseURL: `${h.url}/v1`, maxRetries: 0, timeout: 10_000 });
const messages = [{ role: 'user' as const, content: 'Explain the CAP theorem briefly.' }];
const words = (s: string) => s.trim().split(/\s+/).filter(Boolean).length;
const lastCall = () => h.calls[h.calls.length - 1];

const chunkText = (ch: OpenAI.ChatCompletionChunk) => ch.choices[0]?.delta?.content ?? '';
const collect = async (stream: AsyncIterable<OpenAI.ChatCompletionChunk>) => {
  const { items: chunks, ...rest } = await collectStream(stream, chunkText);
  return { chunks, ...rest };
};

describe('a chain whose first provider is down, through the openai SDK', () => {
  it('non-streaming: the second provider answers; headers say who, how many requests, live, the cost', async () => {
    const before = h.calls.length;
    const { data, response } = await client.chat.completions.create({ model: 'main', messages, max_completion_tokens: 100 }).withResponse();
    expect(h.calls.length).toBe(before + 1); // observe() exactly once
    const r = lastCall().result;
    expect(data.object).toBe('chat.completion');
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.model).toBe(server.profile.providers.b.model);
    expect(data.choices[0].message).toMatchObject({ role: 'assistant', content: r.content });
    expect(words(data.choices[0].message.content!)).toBe(12);
    expect(data.choices[0].finish_reason).toBe('stop');
    expect(data.usage).toMatchObject({ prompt_tokens: r.usage!.inputTokens, completion_tokens: 14, total_tokens: r.usage!.inputTokens + 14 });
    expect(data.usage!.prompt_tokens_details!.cached_tokens).toBe(Math.floor(r.usage!.inputTokens * 0.5));
    expect(data.usage!.completion_tokens_details!.reasoning_tokens).toBe(2);
    expect(response.headers.get('x-llm-fallback-provider')).toBe('b');
    expect(response.headers.get('x-llm-fallback-model')).toBe(server.profile.providers.b.model);
    expect(response.headers.get('x-llm-fallback-attempts')).toBe('2');
    expect(response.headers.get('x-llm-fallback-source')).toBe('live');
    expect(Number(response.headers.get('x-llm-fallback-cost-usd'))).toBeCloseTo(r.cost_usd, 10);
    expect(r.cost_usd).toBeGreaterThan(0);
    expect(r.attempts.map((a) => [a.provider, a.decision, a.error_detail])).toEqual([
      ['down', 'fallover', 'network:ECONNREFUSED'],
      ['b', 'success', null],
    ]);
  });

  it('streaming: OpenAI chunk shape, usage chunk with include_usage, the second provider in the headers', async () => {
    const { data: stream, response } = await client.chat.completions.create({ model: 'main', messages, stream: true, stream_options: { include_usage: true } }).withResponse();
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('x-llm-fallback-provider')).toBe('b');
    expect(response.headers.get('x-llm-fallback-attempts')).toBe('2');
    expect(response.headers.get('x-llm-fallback-source')).toBe('live');
    const { text, chunks, error } = await collect(stream);
    expect(error).toBeUndefined();
    expect(text).toBe(lastCall().result.content);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '', refusal: null });
    expect(chunks.every((ch) => ch.object === 'chat.completion.chunk' && ch.id === chunks[0].id && ch.model === server.profile.providers.b.model)).toBe(true);
    const finish = chunks[chunks.length - 2];
    expect(finish.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    const usage = chunks[chunks.length - 1];
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toMatchObject({ completion_tokens: 14, prompt_tokens: lastCall().result.usage!.inputTokens });
  });

  it('stream helper: finalChatCompletion() assembles the same answer', async () => {
    const done = await client.chat.completions.stream({ model: 'main', messages }).finalChatCompletion();
    expect(done.choices[0].message.content).toBe(lastCall().result.content);
    expect(done.choices[0].finish_reason).toBe('stop');
  });

  it('a max_tokens cut is passed on honestly as finish_reason "length"', async () => {
    const plain = await client.chat.completions.create({ model: 'main', messages, max_tokens: 5 });
    expect(plain.choices[0].finish_reason).toBe('length');
    const s = await client.chat.completions.create({ model: 'main', messages, max_tokens: 5, stream: true });
    const { chunks } = await collect(s);
    expect(chunks[chunks.length - 1].choices[0].finish_reason).toBe('length');
  });
});

describe('streaming without lying', () => {
  it('a failure before the commit falls over unseen: the client gets exactly the next provider answer', async () => {
    const { data: stream, response } = await client.chat.completions.create({ model: 'early', messages, stream: true }).withResponse();
    const { text, error } = await collect(stream);
    expect(error).toBeUndefined();
    const call = lastCall();
    expect(call.result.attempts.map((a) => [a.provider, a.decision])).toEqual([
      ['cut3', 'fallover'],
      ['b', 'success'],
    ]);
    expect(call.result.attempts[0].output_chars).toBeGreaterThan(0); // cut3 did stream three tokens, held back
    expect(text).toBe(call.result.content);
    expect(words(text)).toBe(12);
    expect(response.headers.get('x-llm-fallback-provider')).toBe('b');
    expect(response.headers.get('x-llm-fallback-attempts')).toBe('2');
  });

  it('a failure after the commit ends the stream with an error the SDK raises, after the text so far, and no further provider answers', async () => {
    const lateOk = server.stats().late.ok;
    const lateAsked = server.stats().late.requests;
    const calls = h.calls.length;
    const { data: stream, response } = await client.chat.completions.create({ model: 'committed', messages, stream: true }).withResponse();
    expect(response.headers.get('x-llm-fallback-provider')).toBe('cut5');
    const { text, error } = await collect(stream);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as Error).message).toMatch(/broke off after it had begun streaming \(incomplete_stream\)/);
    expect(words(text)).toBe(5);
    expect(h.calls.length).toBe(calls + 1); // observe() once, with the cut
    const call = lastCall();
    expect(call.cut?.class).toBe('incomplete_stream');
    expect(call.result.error?.class).toBe('incomplete_stream');
    expect(call.status).toBe(200);
    // The chain stopped at the cut: the next provider was not even asked (a request nobody could see), let alone answered.
    await new Promise((r) => setTimeout(r, 400));
    expect(server.stats().late.ok).toBe(lateOk);
    expect(server.stats().late.requests).toBe(lateAsked);
  });

  it('curl: a cut stream has the error data line and no [DONE]; a clean one ends with the summary comment and [DONE]', async () => {
    const body = (model: string) => JSON.stringify({ model, messages, stream: true });
    const cut = (await run('curl', ['-sN', '-H', 'content-type: application/json', '-d', body('committed'), `${h.url}/v1/chat/completions`])).stdout;
    expect(cut).toMatch(/\ndata: \{"error":\{"message":"the answer broke off[^\n]*"code":"incomplete_stream"\}\}\n\n$/);
    expect(cut).not.toContain('[DONE]');
    expect(cut).toMatch(/\n: llm-fallback provider=cut5 attempts=\d+ source=none[^\n]* error=incomplete_stream latency_ms=\d+\n/);
    const ok = await run('curl', ['-sN', '-D', '-', '-H', 'content-type: application/json', '-d', body('main'), `${h.url}/v1/chat/completions`]);
    expect(ok.stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(ok.stdout).toMatch(/\r\nx-llm-fallback-provider: b\r\n/i);
    expect(ok.stdout).toMatch(/\n: llm-fallback provider=b attempts=2 source=live cost_usd=0\.\d+ latency_ms=\d+\n\ndata: \[DONE\]\n\n$/);
  });

  it('tokens 0 streams the first token long before the answer ends; a held stream shows nothing until its tokens came', async () => {
    const timing = async (model: string) => {
      const t0 = performance.now();
      const stream = await client.chat.completions.create({ model, messages, stream: true });
      let first = 0;
      for await (const ch of stream) if (!first && ch.choices[0]?.delta?.content) first = performance.now() - t0;
      return { first, end: performance.now() - t0 };
    };
    // 20 tokens 60 ms apart: ~1140 ms from first to last. Held by the default commit (20 tokens or 1 s), the
    // first token would come at ~1000 ms; streamed at once, it comes in the first half. The emulator writes
    // on a fixed schedule, so a stall before the first token delays it but not the end: 570 ms of room
    // (the old 'end - 500' with 40 ms gaps left 260 ms).
    const now = await timing('at_once');
    expect(now.first).toBeLessThan(now.end / 2);
    const held = await timing('held'); // the first 10 tokens are held: ~540 ms after the first
    expect(held.first).toBeGreaterThanOrEqual(300);
  });

  it('a client that goes away aborts the chain: the emulator sees its request cancelled', async () => {
    const before = { ...server.stats().long };
    const calls = h.calls.length;
    const ac = new AbortController();
    const res = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gone', messages, stream: true }), signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read(); // the first token is through (tokens 0): the upstream stream is running
    ac.abort();
    const t0 = performance.now();
    while (h.calls.length === calls && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    expect(lastCall().result.error?.class).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 900)); // the whole answer would take 40 × 20 ms
    expect(server.stats().long.requests).toBe(before.requests + 1);
    expect(server.stats().long.ok).toBe(before.ok); // it never finished writing the answer
  });
});

describe('no answer: the status an SDK can act on', () => {
  // Each asks its own question: the answer cache would otherwise serve an earlier test's answer.
  const ask = (content: string) => [{ role: 'user' as const, content }];

  it('every provider rate-limited → RateLimitError (429) with Retry-After', async () => {
    const messages = ask('Rate-limited everywhere?');
    const e = await client.chat.completions.create({ model: 'limited', messages }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenAI.RateLimitError);
    const err = e as InstanceType<typeof OpenAI.RateLimitError>;
    expect(err.headers.get('retry-after')).toBe('1');
    expect(err.headers.get('retry-after-ms')).toBe('20');
    expect(err.message).toMatch(/every provider of chain "limited" is rate-limiting requests; tried r1 \(rate_limit\), r2 \(rate_limit\)/);
    expect(err.headers.get('x-llm-fallback-source')).toBe('none');
    expect(err.headers.get('x-llm-fallback-attempts')).toBe('2');
    // Streamed, the same: nothing was committed, so the status line can still say 429.
    const s = await client.chat.completions.create({ model: 'limited', messages, stream: true }).catch((x: unknown) => x);
    expect(s).toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('a wait past a minute is not left to the SDK to sleep through: x-should-retry: false, Retry-After kept', async () => {
    let sent = 0;
    const counting = new OpenAI({ apiKey: 'unused', baseURL: `${h.url}/v1`, maxRetries: 2, timeout: 10_000, fetch: (u, init) => (sent++, fetch(u, init)) });
    const started = Date.now();
    const e = (await counting.chat.completions.create({ model: 'later', messages: ask('Rate-limited for 15 minutes?') }).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e).toBeInstanceOf(OpenAI.RateLimitError);
    expect(e.headers.get('retry-after')).toBe('900');
    expect(e.headers.get('x-should-retry')).toBe('false');
    expect(sent).toBe(1); // without the header the SDK sleeps the 900 s, twice
    expect(Date.now() - started).toBeLessThan(5_000);
    // A short wait is the SDK's to honour, as a provider's own would be.
    const short = (await client.chat.completions.create({ model: 'limited', messages: ask('Briefly rate-limited?') }).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.RateLimitError>;
    expect(short).toBeInstanceOf(OpenAI.RateLimitError);
    expect(short.headers.get('x-should-retry')).toBeNull();
  });

  it('every provider refused in a way resending will not change → 502 with x-should-retry: false: the SDK does not run the chain twice more', async () => {
    let sent = 0;
    const counting = new OpenAI({ apiKey: 'unused', baseURL: `${h.url}/v1`, maxRetries: 2, timeout: 10_000, fetch: (u, init) => (sent++, fetch(u, init)) });
    const before = server.stats();
    const e = (await counting.chat.completions.create({ model: 'refused', messages: ask('Wrong key, then a 400?') }).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(e).toBeInstanceOf(OpenAI.InternalServerError);
    expect(e.status).toBe(502);
    expect(e.message).toMatch(/tried badkey \(auth\), rejects \(bad_request\)/);
    expect(e.headers?.get('x-should-retry')).toBe('false');
    expect(sent).toBe(1);
    const after = server.stats();
    expect(after.badkey.requests - (before.badkey?.requests ?? 0)).toBe(1);
    expect(after.rejects.requests - (before.rejects?.requests ?? 0)).toBe(1);
    // A failure that may pass (a garbled answer) is left to the SDK's own retries.
    sent = 0;
    const g = (await counting.chat.completions.create({ model: 'garbled', messages: ask('Garbled?') }).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(g.status).toBe(502);
    expect(g.headers?.get('x-should-retry')).toBeNull();
    expect(sent).toBe(3);
  });

  it('every provider down → 503 all_providers_unavailable', async () => {
    const e = (await client.chat.completions.create({ model: 'dead', messages: ask('Down everywhere?') }).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(e).toBeInstanceOf(OpenAI.InternalServerError);
    expect(e.status).toBe(503);
    expect(e.code).toBe('all_providers_unavailable');
    expect(e.message).toMatch(/no provider of chain "dead" is available: .*tried down \(network:ECONNREFUSED\), down2 \(network:ECONNREFUSED\)/);
  });

  it('no first token in time → 504 timeout', async () => {
    const e = (await client.chat.completions.create({ model: 'mute', messages: ask('Silent?') }).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(504);
    expect(e.code).toBe('timeout');
    expect(e.message).toMatch(/chain "mute": no answer in time: .*tried silent \(timeout:first_token\)/);
  });

  it('a 504 carries x-should-retry: false: the SDK does not run the chain for another deadline, twice', async () => {
    // The SDK retries any 5xx twice by default (openai 6.x shouldRetry): each retry would be the whole chain again.
    let sent = 0;
    const counting = new OpenAI({ apiKey: 'unused', baseURL: `${h.url}/v1`, maxRetries: 2, timeout: 10_000, fetch: (u, init) => (sent++, fetch(u, init)) });
    const before = server.stats().silent?.requests ?? 0;
    for (const stream of [false, true]) {
      sent = 0;
      const e = (await counting.chat.completions.create({ model: 'mute', messages: ask(`Silent, stream ${stream}?`), stream }).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
      expect(e).toBeInstanceOf(OpenAI.APIError);
      expect(e.status).toBe(504);
      expect(e.headers?.get('x-should-retry')).toBe('false');
      expect(sent).toBe(1);
    }
    expect(server.stats().silent.requests - before).toBe(2);
  });

  it('the prompt is too long for every provider → 400 context_length_exceeded', async () => {
    const e = (await client.chat.completions.create({ model: 'narrow', messages: ask('Too long?') }).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    expect(e.code).toBe('context_length_exceeded');
  });

  it('the static message and a cached answer are served, and say so', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'apology', messages: ask('Anyone there?') }).withResponse();
    expect(data.choices[0].message.content).toBe('Sorry, try again later.');
    expect(response.headers.get('x-llm-fallback-source')).toBe('static');
    expect(response.headers.get('x-llm-fallback-provider')).toBeNull();
    expect(data.usage?.total_tokens).toBe(0);
    const q = ask('A question asked twice.');
    const first = await client.chat.completions.create({ model: 'flaky', messages: q });
    const { data: again, response: r2 } = await client.chat.completions.create({ model: 'flaky', messages: q, stream: true }).withResponse();
    const { text } = await collect(again);
    expect(text).toBe(first.choices[0].message.content);
    expect(r2.headers.get('x-llm-fallback-source')).toBe('cache');
    expect(r2.headers.get('x-llm-fallback-provider')).toBe('flaky');
    expect(r2.headers.get('x-llm-fallback-cost-usd')).toBe('0');
  });
});

describe('bad requests: a 400 that says what and where, and no chain call', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['image part', { messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] }, /^messages\[0\]\.content\[1\]\.type: content part type "image_url" is not supported: llm-fallback serve passes text only/],
    ['tool message', { messages: [...messages, { role: 'tool', content: '42', tool_call_id: 'x' }] }, /^messages\[1\]\.role: role "tool" is not supported/],
    ['tools', { messages, tools: [{ type: 'function', function: { name: 'f', parameters: {} } }] }, /^tools: tool calling is not supported/],
    ['n > 1', { messages, n: 3 }, /^n: only one choice per request is supported \(got 3\)/],
    ['no messages', { messages: [] }, /^messages: must be a non-empty list/],
    ['bad max_tokens', { messages, max_tokens: -1 }, /^max_tokens: must be a positive integer \(got -1\)/],
    // Past 2^53 a number is no exact integer: the library's request check would refuse it as a UsageError,
    // which serve reported as context_length_exceeded on messages, in the library's words (maxTokens).
    ['max_tokens past 2^53', { messages, max_tokens: 2 ** 53 }, /^max_tokens: must be a positive integer \(got 9007199254740992\)/],
    ['bad temperature', { messages, temperature: 7 }, /^temperature: must be a number from 0 to 2 \(got 7\)/],
    ['bad role', { messages: [{ role: 'robot', content: 'hi' }] }, /^messages\[0\]\.role: must be system, developer, user or assistant \(got "robot"\)/],
  ];
  for (const [what, extra, message] of cases) {
    it(what, async () => {
      const calls = h.calls.length;
      const e = await client.chat.completions.create({ model: 'main', ...extra } as never).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(OpenAI.BadRequestError);
      expect((e as Error).message.replace(/^400 /, '')).toMatch(message);
      expect(h.calls.length).toBe(calls);
    });
  }

  it('an unknown model is a 404 naming the close match', async () => {
    const e = (await client.chat.completions.create({ model: 'mian', messages }).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(e).toBeInstanceOf(OpenAI.NotFoundError);
    expect(e.code).toBe('model_not_found');
    expect(e.message).toMatch(/the gateway serves no model "mian"; did you mean "main"\?; it serves main, .*\(GET \/v1\/models lists them\)$/);
    // The client's name comes back bounded and without control characters.
    const long = (await client.chat.completions.create({ model: `${'x'.repeat(500)}\u001b[31m`, messages }).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(long.message).toMatch(/serves no model "x{80}…"; it serves/);
  });

  it('developer messages and text parts are accepted (developer → system)', async () => {
    const r = await client.chat.completions.create({ model: 'main', messages: [{ role: 'developer', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: 'Hi' }] }] });
    expect(r.choices[0].message.content).toBe(lastCall().result.content);
  });
});

describe('breakers open', () => {
  it('every provider skipped by its open breaker → 503 with Retry-After until the first reopens', async () => {
    const { h: g } = await gateway(server, { down: null }, { solo: ['down'] }, { defaults: { breaker_failures: 1, breaker_cooldown: '30s' } });
    const c2 = new OpenAI({ apiKey: 'unused', baseURL: `${g.url}/v1`, maxRetries: 0, timeout: 10_000 });
    const first = (await c2.chat.completions.create({ model: 'solo', messages }).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(first.status).toBe(503); // refused: the breaker opens on this failure
    await new Promise((r) => setTimeout(r, 50)); // its state write follows the answer
    const e = (await c2.chat.completions.create({ model: 'solo', messages }).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.InternalServerError>;
    expect(e).toBeInstanceOf(OpenAI.InternalServerError);
    expect(e.status).toBe(503);
    expect(e.code).toBe('all_providers_unavailable');
    expect(g.calls[1].result.attempts.map((a) => a.decision)).toEqual(['skipped_breaker_open']);
    expect(Number(e.headers.get('retry-after'))).toBeGreaterThanOrEqual(29);
    expect(Number(e.headers.get('retry-after'))).toBeLessThanOrEqual(30);
    expect(e.headers.get('x-llm-fallback-attempts')).toBe('0');
  });
});

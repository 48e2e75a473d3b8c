import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { providerSpec, type Dialect, type MockProviderSpec } from '../src/mock/profile.js';
import { startMock } from '../src/mock/server.js';
import { untilThrows } from './helpers.js';
import { leadingThink } from './wire-fixtures.js';

/*
 * The official openai SDK (6.x) judges the emulator: what the SDK makes of an answer is what an
 * application using it would see from the real service. Where the SDK and the emulator disagree, the
 * emulator is wrong. Retry counts are the requests the emulator received for one SDK call.
 */
const c = (value: number) => ({ dist: 'constant' as const, value });
const OPENAI_STYLE: Dialect[] = ['openai', 'deepseek', 'moonshot', 'minimax', 'gemini', 'openrouter'];
const TOKENS = 8;
const REASONING = 3;
const providers: Record<string, MockProviderSpec> = {};
for (const d of OPENAI_STYLE) {
  // itl > 0 takes the emulator's timed path (token by token); the strict model list enables validation.
  providers[d] = providerSpec({ dialect: d, output_tokens: c(TOKENS), itl: c(1), reasoning_tokens: REASONING });
  providers[d].models = [providers[d].model];
}
// The services report a budget in headers only where there is one: the same order as the built-in profile's.
providers.openai.rate_limit = { requests_per_minute: 10_000, tokens_per_minute: 2_000_000 };
// A budget small enough to spend in a test: one request a second.
providers.budget = providerSpec({ dialect: 'openai', rate_limit: { requests_per_minute: 60 } });
providers.tokens = providerSpec({ dialect: 'openai', rate_limit: { tokens_per_minute: 100 } });
providers.hang = providerSpec({ dialect: 'openai', ttft: c(60_000) });
providers.instant = providerSpec({ dialect: 'openai' }); // zero latency: the whole answer is written at once
const server = await startMock({ profile: { seed: 11, providers } });
afterAll(() => server.close());

const client = (name: string, fault?: object | string, maxRetries = 2) =>
  new OpenAI({
    apiKey: 'sk-test',
    baseURL: server.baseUrl(name),
    maxRetries,
    timeout: 5000,
    defaultHeaders: fault === undefined ? {} : { 'x-mock-fault': typeof fault === 'string' ? fault : JSON.stringify(fault) },
  });
const messages = [{ role: 'user' as const, content: 'Explain the CAP theorem briefly.' }];
const model = (name: string) => server.profile.providers[name].model;
const requests = (name: string) => server.stats()[name].requests;

/** Runs one SDK call; returns what it threw (or undefined) and how many requests reached the emulator. */
async function attempt(name: string, call: () => Promise<unknown>): Promise<{ error: unknown; requests: number; value: unknown }> {
  const before = requests(name);
  let error: unknown;
  let value: unknown;
  try {
    value = await call();
  } catch (e) {
    error = e;
  }
  return { error, value, requests: requests(name) - before };
}

const words = (s: string | null | undefined) => (s ?? '').trim().split(' ').filter(Boolean).length;

/**
 * The answer in a message's content. MiniMax writes its thinking there, between <think> tags, when the request
 * does not ask for reasoning_split (as its recorded streams show): the SDK hands the content over as it came,
 * so the thinking is checked to be there, of its length, and the answer is what follows it.
 */
function answerOf(d: string, content: string | null): string {
  if (d !== 'minimax') return content ?? '';
  const tagged = leadingThink(content ?? '');
  expect(content).toMatch(/^<think>\n/);
  expect(words(tagged.reasoning)).toBe(REASONING);
  return tagged.content;
}

/** Tokens of text or reasoning in one chunk, whichever field the dialect streams reasoning in (MiniMax sends the same reasoning in two: counted once). */
function visibleTokens(chunk: OpenAI.ChatCompletionChunk): number {
  const delta = (chunk.choices[0]?.delta ?? {}) as Record<string, unknown>;
  const details = delta.reasoning_details as { text?: string }[] | undefined;
  const reasoning = delta.reasoning_content ?? delta.reasoning ?? details?.map((p) => p.text).join('');
  return [delta.content, reasoning].reduce<number>((n, t) => n + words(typeof t === 'string' ? t : ''), 0);
}

describe('every OpenAI-style dialect, healthy, through the openai SDK', () => {
  for (const d of OPENAI_STYLE) {
    it(`${d}: stream.finalChatCompletion() has the whole text and the finish reason`, async () => {
      const stream = client(d).chat.completions.stream({ model: model(d), messages, stream_options: { include_usage: true } });
      let deltas = '';
      stream.on('content', (delta) => (deltas += delta));
      const done = await stream.finalChatCompletion();
      expect(done.choices).toHaveLength(1);
      expect(done.choices[0].message.role).toBe('assistant');
      expect(words(answerOf(d, done.choices[0].message.content))).toBe(TOKENS);
      expect(done.choices[0].message.content).toBe(deltas);
      expect(done.choices[0].finish_reason).toBe('stop');
      expect(done.model).toBe(model(d));
      // Usage where the SDK reads it (the top-level usage field); Moonshot puts it inside choices[0] instead.
      if (d !== 'moonshot') expect(done.usage?.total_tokens).toBe(done.usage!.prompt_tokens + TOKENS + REASONING);
    });

    it(`${d}: a non-streamed answer has text, finish reason and usage`, async () => {
      const done = await client(d).chat.completions.create({ model: model(d), messages });
      expect(words(answerOf(d, done.choices[0].message.content))).toBe(TOKENS);
      expect(done.choices[0].finish_reason).toBe('stop');
      expect(done.usage!.total_tokens).toBe(done.usage!.prompt_tokens + TOKENS + REASONING);
    });

    it(`${d}: a tool-call request gets a tool call the SDK assembles`, async () => {
      const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] } } }];
      const done = await client(d).chat.completions.stream({ model: model(d), messages, tools }).finalChatCompletion();
      const call = done.choices[0].message.tool_calls?.[0];
      expect(call?.type).toBe('function');
      if (call?.type !== 'function') throw new Error('no function call');
      expect(call.function.name).toBe('get_weather');
      expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris', days: 1 });
      expect(call.id).toMatch(/^call_/);
      expect(done.choices[0].finish_reason).toBe('tool_calls');
      const plain = await client(d).chat.completions.create({ model: model(d), messages, tools });
      expect(plain.choices[0].message.tool_calls?.[0]).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
      expect(plain.choices[0].finish_reason).toBe('tool_calls');
    });
  }

  it('openai: the SDK\'s tool runner comes to an end: a call, then a text answer to its result', async () => {
    let called = 0;
    const runner = client('openai').chat.completions.runTools({
      model: model('openai'),
      messages,
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } }, function: (args: { city: string }) => (called++, `20 degrees in ${args.city}`), parse: JSON.parse } }],
    });
    const content = await runner.finalContent();
    expect(called).toBe(1);
    expect(words(content)).toBe(TOKENS);
    expect((await runner.finalChatCompletion()).choices[0].finish_reason).toBe('stop');
  });

  it('openai: a named tool_choice calls that tool, with arguments fitting a strict schema (anyOf, $ref, format, bounds)', async () => {
    const strict = {
      type: 'object',
      properties: {
        unit: { anyOf: [{ type: 'string', enum: ['c', 'f'] }, { type: 'null' }] },
        loc: { $ref: '#/$defs/Loc' },
        when: { type: 'string', format: 'date' },
        days: { type: 'integer', minimum: 3, maximum: 10 },
        tags: { type: 'array', items: { type: 'string', minLength: 6 }, minItems: 2 },
      },
      required: ['unit', 'loc', 'when', 'days', 'tags'],
      additionalProperties: false,
      $defs: { Loc: { type: 'object', properties: { city: { type: 'string' }, zip: { type: ['string', 'null'] } }, required: ['city', 'zip'], additionalProperties: false } },
    };
    const tools = [
      { type: 'function' as const, function: { name: 'first', parameters: { type: 'object', properties: {} } } },
      { type: 'function' as const, function: { name: 'forecast', strict: true, parameters: strict } },
    ];
    const r = await client('openai').chat.completions.create({ model: model('openai'), messages, tools, tool_choice: { type: 'function', function: { name: 'forecast' } } });
    const call = r.choices[0].message.tool_calls?.[0];
    if (call?.type !== 'function') throw new Error('no function call');
    expect(call.function.name).toBe('forecast');
    expect(JSON.parse(call.function.arguments)).toEqual({ unit: 'c', loc: { city: 'Paris', zip: 'Paris' }, when: '2026-01-01', days: 3, tags: ['Parisx', 'Parisx'] });
    // A schema that requires itself (six times over) gets a bounded value, not an emulator out of memory.
    const recursive = { type: 'object', properties: Object.fromEntries('abcdef'.split('').map((k) => [k, { $ref: '#' }])), required: [...'abcdef'] };
    const deep = await client('openai').chat.completions.create({ model: model('openai'), messages, tools: [{ type: 'function', function: { name: 'tree', parameters: recursive } }] });
    const args = deep.choices[0].message.tool_calls?.[0];
    if (args?.type !== 'function') throw new Error('no function call');
    expect(args.function.arguments.length).toBeLessThan(1_000_000);
    expect(Object.keys(JSON.parse(args.function.arguments))).toEqual([...'abcdef']);
    const missing = await client('openai', undefined, 0).chat.completions.create({ model: model('openai'), messages, tools, tool_choice: { type: 'function', function: { name: 'third' } } }).catch((e) => e);
    expect(missing).toBeInstanceOf(OpenAI.BadRequestError);
    expect(missing.error).toMatchObject({ type: 'invalid_request_error', param: 'tool_choice' });
  });

  it('openai: requests the API refuses are refused as it words them: temperature above 2, no messages, stream_options without stream', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ temperature: 3 }, 'temperature', /^Invalid 'temperature': decimal above maximum value/],
      [{ messages: [] }, 'messages', /^Invalid 'messages': empty array/],
      [{ stream_options: { include_usage: true } }, 'stream_options', /^The 'stream_options' parameter is only allowed when 'stream' is enabled\.$/],
    ];
    for (const [extra, param, message] of cases) {
      const e = await client('openai', undefined, 0).chat.completions.create({ model: model('openai'), messages, ...extra } as never).catch((x) => x);
      expect(e).toBeInstanceOf(OpenAI.BadRequestError);
      expect(e.error).toMatchObject({ type: 'invalid_request_error', param });
      expect(e.error.message).toMatch(message);
    }
  });

  it('openai: response_format gives JSON (json_object; json_schema a value of the schema, as parse() reads it); stop ends the text before the sequence', async () => {
    const obj = await client('openai').chat.completions.create({ model: model('openai'), messages, response_format: { type: 'json_object' } });
    expect(Object.keys(JSON.parse(obj.choices[0].message.content!))).toEqual(['answer']);
    const schema = { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 2 } }, required: ['city', 'days'], additionalProperties: false };
    const parsed = await client('openai').chat.completions.parse({ model: model('openai'), messages, response_format: { type: 'json_schema', json_schema: { name: 'trip', strict: true, schema } } });
    expect(parsed.choices[0].message.parsed).toEqual({ city: 'Paris', days: 2 });
    const streamed = await client('openai').chat.completions.stream({ model: model('openai'), messages, response_format: { type: 'json_schema', json_schema: { name: 'trip', strict: true, schema } } }).finalChatCompletion();
    expect(JSON.parse(streamed.choices[0].message.content!)).toEqual({ city: 'Paris', days: 2 });
    // Every word the emulator draws ends in a space: the answer stops before the first one.
    for (const stream of [false, true]) {
      const r = await client('openai').chat.completions.stream({ model: model('openai'), messages, stop: [' '], stream } as never).finalChatCompletion();
      expect(r.choices[0].message.content).toMatch(/^\S+$/);
      expect(r.choices[0].finish_reason).toBe('stop');
    }
    const several = await client('openai', undefined, 0).chat.completions.create({ model: model('openai'), messages, n: 2 }).catch((e) => e);
    expect(several).toBeInstanceOf(OpenAI.BadRequestError);
    expect(several.error).toMatchObject({ param: 'n' });
  });

  it('openai: request id and rate-limit headers as the real service sends them', async () => {
    const sent = client('openai').chat.completions.create({ model: model('openai'), messages });
    const { response, request_id } = await sent.withResponse();
    // The same APIPromise awaited: the same parsed body (the SDK parses once), typed with its _request_id.
    const data = await sent;
    expect(request_id).toMatch(/^req_[0-9a-f]{32}$/);
    expect(data._request_id).toBe(request_id);
    expect(Number(response.headers.get('x-ratelimit-limit-requests'))).toBeGreaterThan(0);
    expect(Number(response.headers.get('x-ratelimit-remaining-requests'))).toBeLessThan(Number(response.headers.get('x-ratelimit-limit-requests')));
    expect(response.headers.get('x-ratelimit-reset-tokens')).toMatch(/^(\d+ms|[\d.]+s|\d+m[\d.]+s)$/);
  });
});

describe('faults: the SDK error class and the retries the real service would cause', () => {
  // [fault, SDK error class, requests for one call with maxRetries 2]
  const cases: [object, new (...a: never[]) => Error, number][] = [
    [{ kind: 'rate_limit', retry_after_ms: 5 }, OpenAI.RateLimitError, 3],
    [{ kind: 'billing', retry_after_ms: 5 }, OpenAI.RateLimitError, 3], // OpenAI's insufficient_quota is a 429: the SDK retries it
    [{ kind: 'overloaded', retry_after_ms: 5 }, OpenAI.InternalServerError, 3],
    [{ kind: 'server', retry_after_ms: 5 }, OpenAI.InternalServerError, 3],
    [{ kind: 'auth' }, OpenAI.AuthenticationError, 1],
    [{ kind: 'context_length' }, OpenAI.BadRequestError, 1],
    [{ kind: 'content_filter' }, OpenAI.BadRequestError, 1],
    [{ kind: 'status', status: 400 }, OpenAI.BadRequestError, 1],
    [{ kind: 'status', status: 403 }, OpenAI.PermissionDeniedError, 1],
    [{ kind: 'status', status: 404 }, OpenAI.NotFoundError, 1],
    [{ kind: 'status', status: 408, retry_after_ms: 5 }, OpenAI.APIError, 3],
    [{ kind: 'status', status: 409, retry_after_ms: 5 }, OpenAI.ConflictError, 3],
    [{ kind: 'status', status: 413 }, OpenAI.APIError, 1],
    [{ kind: 'status', status: 418 }, OpenAI.APIError, 1],
    [{ kind: 'status', status: 422 }, OpenAI.UnprocessableEntityError, 1],
    [{ kind: 'status', status: 502, retry_after_ms: 5 }, OpenAI.InternalServerError, 3],
    [{ kind: 'reset' }, OpenAI.APIConnectionError, 3],
    [{ kind: 'refuse' }, OpenAI.APIConnectionError, 3], // through the header an accepted connection can only be reset
  ];
  for (const [fault, cls, tries] of cases) {
    it(`${JSON.stringify(fault)} → ${cls.name}, ${tries} request(s)`, async () => {
      const r = await attempt('openai', () => client('openai', fault).chat.completions.create({ model: model('openai'), messages }));
      expect(r.error).toBeInstanceOf(cls);
      expect(r.requests).toBe(tries);
      const status = (fault as { status?: number }).status;
      if (status) expect((r.error as InstanceType<typeof OpenAI.APIError>).status).toBe(status);
    });
  }

  it('a 4xx status fault carries the body the real service sends for that code', async () => {
    const forbidden = (await attempt('openai', () => client('openai', { kind: 'status', status: 403 }).chat.completions.create({ model: model('openai'), messages }))).error as InstanceType<typeof OpenAI.APIError>;
    expect(forbidden.type).toBe('request_forbidden');
    const missing = (await attempt('openai', () => client('openai', { kind: 'status', status: 404 }).chat.completions.create({ model: model('openai'), messages }))).error as InstanceType<typeof OpenAI.APIError>;
    expect(missing.type).toBe('invalid_request_error');
    expect(missing.message).not.toMatch(/safety|content/i);
  });

  it('a 429 reports the exhausted budget in x-ratelimit headers', async () => {
    const r = await attempt('openai', () => client('openai', { kind: 'rate_limit' }, 0).chat.completions.create({ model: model('openai'), messages }));
    const e = r.error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(e.requestID).toMatch(/^req_/);
  });

  it('a spent budget: RateLimitError with the service’s type, code and headers; the SDK’s retry after Retry-After is admitted', async () => {
    const call = (maxRetries: number) => client('budget', undefined, maxRetries).chat.completions.create({ model: model('budget'), messages });
    // Spend it: 60 at once, and the one a second that comes back while they are sent.
    const { returned: admitted, thrown: refused } = await untilThrows(() => call(0), 100);
    expect(admitted).toBeGreaterThanOrEqual(60);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    const e = refused as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.code).toBe('rate_limit_exceeded');
    expect(e.type).toBe('requests');
    expect(e.message).toMatch(/on requests per min \(RPM\): Limit 60, Used 60, Requested 1\. Please try again in \d+ms\./);
    expect(e.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(e.headers.get('retry-after')).toBe('1');
    // The SDK waits the second it is told and its retry is admitted: the header told the truth. (Its first
    // try is refused unless the bucket refilled in the milliseconds since: then it needs no retry.)
    const t0 = Date.now();
    const r = await attempt('budget', () => call(1));
    expect(r.error).toBeUndefined();
    expect([1, 2]).toContain(r.requests);
    if (r.requests === 2) expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
  });

  it('a request larger than the whole token budget: RateLimitError that names it, no Retry-After', async () => {
    const long = [{ role: 'user' as const, content: 'word '.repeat(400) }];
    const r = await attempt('tokens', () => client('tokens', undefined, 0).chat.completions.create({ model: model('tokens'), messages: long }));
    const e = r.error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e).toBeInstanceOf(OpenAI.RateLimitError);
    expect(e.type).toBe('tokens');
    expect(e.message).toMatch(/^429 Request too large for .* on tokens per min \(TPM\): Limit 100, Requested \d+\. The input or output tokens must be reduced/);
    expect(e.headers.get('retry-after')).toBeNull();
    expect(Number(e.headers.get('x-ratelimit-limit-tokens'))).toBe(100);
  });

  it('a hung provider ends in APIConnectionTimeoutError after the SDK’s retries', async () => {
    const r = await attempt('hang', () => new OpenAI({ apiKey: 'k', baseURL: server.baseUrl('hang'), maxRetries: 1, timeout: 200 }).chat.completions.create({ model: model('hang'), messages }));
    expect(r.error).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(r.requests).toBe(2);
  });

  for (const name of ['openai', 'instant']) {
    it(`${name}: a non-streamed malformed answer is broken JSON, an error, not a success`, async () => {
      const r = await attempt(name, () => client(name, { kind: 'malformed' }).chat.completions.create({ model: model(name), messages }));
      expect(r.error).toBeInstanceOf(SyntaxError);
      expect(r.value).toBeUndefined();
    });
  }

  it('an unknown model is 404 model_not_found, not retried', async () => {
    const r = await attempt('openai', () => client('openai').chat.completions.create({ model: 'gpt-nonexistent', messages }));
    expect(r.error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((r.error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    expect(r.requests).toBe(1);
  });
});

describe('mid-stream faults surface as errors thrown by the SDK, never as a short success', () => {
  for (const d of OPENAI_STYLE) {
    for (const kind of ['cut', 'malformed', 'error_event']) {
      it(`${d}: ${kind} after 2 tokens`, async () => {
        const stream = client(d, { kind, after_tokens: 2 }).chat.completions.stream({ model: model(d), messages, stream_options: { include_usage: true } });
        let visible = 0;
        stream.on('chunk', (chunk) => (visible += visibleTokens(chunk)));
        // The SDK logs the frame it cannot parse; that log is the expected symptom here.
        const error = await stream.finalChatCompletion().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(Error);
        // after_tokens counts the tokens sent (streamed reasoning or text), not silent thinking: exactly two arrived first
        expect(visible).toBe(2);
      });
    }
  }

  it('a stall never completes: only the caller’s abort ends it', async () => {
    const ac = new AbortController();
    // The stall is watched for 300 ms from the token before it (a timer from the start bet on that token
    // coming within 300 ms); 10 s bounds a stream that never brings one.
    const timers = [setTimeout(() => ac.abort(), 10_000)];
    const stream = client('gemini', { kind: 'stall', after_tokens: 1 }).chat.completions.stream({ model: model('gemini'), messages }, { signal: ac.signal });
    let deltas = '';
    stream.on('content', (delta) => {
      if (!deltas) timers.push(setTimeout(() => ac.abort(), 300));
      deltas += delta;
    });
    await expect(stream.finalChatCompletion()).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
    timers.forEach(clearTimeout);
    expect(words(deltas)).toBe(1);
  });

  it('a fault asked for after more tokens than the answer has still breaks the answer before its end', async () => {
    const stream = client('openai', { kind: 'cut', after_tokens: 100 }).chat.completions.stream({ model: model('openai'), messages });
    let visible = 0;
    stream.on('chunk', (chunk) => (visible += visibleTokens(chunk)));
    await expect(stream.finalChatCompletion()).rejects.toBeInstanceOf(Error);
    expect(visible).toBe(TOKENS);
    expect(server.stats().openai.faults.cut).toBeGreaterThan(0);
  });

  it('a slow first token is slow and still a whole answer', async () => {
    const t0 = Date.now();
    const done = await client('openai', { kind: 'slow_first_token', delay_ms: 300 }).chat.completions.stream({ model: model('openai'), messages }).finalChatCompletion();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(299);
    expect(words(done.choices[0].message.content)).toBe(TOKENS);
  });

  it('no [DONE] after the finish reason and a clean end of body is a complete answer to the SDK', async () => {
    const done = await client('openai', { kind: 'no_done' }).chat.completions.stream({ model: model('openai'), messages }).finalChatCompletion();
    expect(done.choices[0].finish_reason).toBe('stop');
    expect(words(done.choices[0].message.content)).toBe(TOKENS);
  });

  it('a proxy’s HTML page with status 200 is no completion: text to a plain call, an error to a stream', async () => {
    const r = await attempt('openai', () => client('openai', { kind: 'html' }).chat.completions.create({ model: model('openai'), messages }));
    expect(r.value).toMatch(/502 Bad Gateway/);
    await expect(client('openai', { kind: 'html' }).chat.completions.stream({ model: model('openai'), messages }).finalChatCompletion()).rejects.toBeInstanceOf(Error);
  });

  it('no finish reason makes finalChatCompletion() throw', async () => {
    await expect(client('openai', { kind: 'no_finish' }).chat.completions.stream({ model: model('openai'), messages }).finalChatCompletion()).rejects.toThrow(/finish_reason/);
  });

  it('a content-filter ending reaches the caller as finish_reason content_filter', async () => {
    const done = await client('openai', { kind: 'filtered', after_tokens: 3 }).chat.completions.stream({ model: model('openai'), messages }).finalChatCompletion();
    expect(done.choices[0].finish_reason).toBe('content_filter');
    expect(words(done.choices[0].message.content)).toBe(3);
    const plain = await client('openai', { kind: 'filtered', after_tokens: 3 }).chat.completions.create({ model: model('openai'), messages });
    expect(plain.choices[0].finish_reason).toBe('content_filter');
  });
});

describe('a fault header the emulator cannot read is answered 400, never ignored', () => {
  for (const header of ['rate_limt', '{"kind":"cut",', '{"kind":"status"}', '{"kind":"stall","after_token":2}', '{"kind":"status","status":42}']) {
    it(`x-mock-fault: ${header}`, async () => {
      const r = await attempt('openai', () => client('openai', header).chat.completions.create({ model: model('openai'), messages }));
      expect(r.error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((r.error as Error).message).toMatch(/x-mock-fault/);
      expect(r.requests).toBe(1);
    });
  }
});

import Anthropic from '@anthropic-ai/sdk';
import { jsonSchemaOutputFormat } from '@anthropic-ai/sdk/helpers/json-schema';
import { afterAll, describe, expect, it } from 'vitest';
import { providerSpec, type MockProviderSpec } from '../src/mock/profile.js';
import { startMock } from '../src/mock/server.js';
import { untilThrows } from './helpers.js';

/*
 * The official @anthropic-ai/sdk judges the emulator's `anthropic` dialect: what the SDK makes of an
 * answer is what an application would see from the real Messages API. Retry counts are the requests
 * the emulator received for one SDK call.
 */
const c = (value: number) => ({ dist: 'constant' as const, value });
const TOKENS = 8;
const REASONING = 3;
const strict = (spec: MockProviderSpec) => ({ ...spec, models: [spec.model] });
const providers: Record<string, MockProviderSpec> = {
  // The API reports a budget in headers where there is one: the same order as the built-in profile's.
  plain: strict(providerSpec({ dialect: 'anthropic', output_tokens: c(TOKENS), itl: c(1), rate_limit: { requests_per_minute: 10_000, tokens_per_minute: 2_000_000 } })),
  // A budget small enough to spend in a test.
  budget: strict(providerSpec({ dialect: 'anthropic', rate_limit: { requests_per_minute: 30 } })),
  thinking: strict(providerSpec({ dialect: 'anthropic', output_tokens: c(TOKENS), itl: c(1), reasoning_tokens: REASONING })),
};
const server = await startMock({ profile: { seed: 5, providers } });
afterAll(() => server.close());

const client = (name: string, fault?: object | string, maxRetries = 2) =>
  new Anthropic({
    apiKey: 'sk-ant-test',
    baseURL: server.baseUrl(name).replace(/\/v1$/, ''),
    maxRetries,
    timeout: 5000,
    defaultHeaders: fault === undefined ? {} : { 'x-mock-fault': typeof fault === 'string' ? fault : JSON.stringify(fault) },
  });
const model = (name: string) => server.profile.providers[name].model;
const params = (name: string) => ({ model: model(name), max_tokens: 1024, messages: [{ role: 'user' as const, content: 'Explain the CAP theorem briefly.' }] });
const requests = (name: string) => server.stats()[name].requests;
const words = (s: string) => s.trim().split(' ').filter(Boolean).length;

async function attempt(name: string, call: () => Promise<unknown>): Promise<{ error: unknown; requests: number }> {
  const before = requests(name);
  let error: unknown;
  try {
    await call();
  } catch (e) {
    error = e;
  }
  return { error, requests: requests(name) - before };
}

describe('healthy answers through the Anthropic SDK', () => {
  it('stream.finalMessage(): the text block, stop reason and usage', async () => {
    const stream = client('plain').messages.stream(params('plain'));
    let text = '';
    stream.on('text', (delta) => (text += delta));
    const message = await stream.finalMessage();
    expect(message.content).toHaveLength(1);
    expect(message.content[0].type).toBe('text');
    expect(message.content[0].type === 'text' && message.content[0].text).toBe(text);
    expect(words(text)).toBe(TOKENS);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage.output_tokens).toBe(TOKENS);
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    expect(message.model).toBe(model('plain'));
  });

  it('thinking streams as its own thinking block, signed, before the text block', async () => {
    const stream = client('thinking').messages.stream(params('thinking'));
    let thinking = '';
    let text = '';
    stream.on('thinking', (delta) => (thinking += delta));
    stream.on('text', (delta) => (text += delta));
    const message = await stream.finalMessage();
    expect(message.content.map((b) => b.type)).toEqual(['thinking', 'text']);
    const [think, answer] = message.content;
    expect(think.type === 'thinking' && think.thinking).toBe(thinking);
    expect(think.type === 'thinking' && think.signature.length).toBeGreaterThan(8);
    expect(words(thinking)).toBe(REASONING);
    expect(answer.type === 'text' && words(answer.text)).toBe(TOKENS);
    expect(text).toBe(answer.type === 'text' ? answer.text : '');
    expect(message.usage.output_tokens).toBe(TOKENS + REASONING);
  });

  it('a non-streamed answer has the same blocks', async () => {
    const message = await client('thinking').messages.create(params('thinking'));
    expect(message.content.map((b) => b.type)).toEqual(['thinking', 'text']);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage.output_tokens).toBe(TOKENS + REASONING);
  });

  it('a request with tools gets a tool_use block the SDK assembles', async () => {
    const tools = [{ name: 'get_weather', description: 'weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] } }];
    const message = await client('plain').messages.stream({ ...params('plain'), tools }).finalMessage();
    const use = message.content.find((b) => b.type === 'tool_use');
    expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris', days: 1 } });
    expect(use?.type === 'tool_use' && use.id).toMatch(/^toolu_/);
    expect(message.stop_reason).toBe('tool_use');
    const plain = await client('plain').messages.create({ ...params('plain'), tools });
    expect(plain.content[0]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris', days: 1 } });
    expect(plain.stop_reason).toBe('tool_use');
  });

  it('tool_choice naming a tool calls that tool; tool results get a text answer; a named tool not offered is a 400', async () => {
    const tools = [
      { name: 'first', input_schema: { type: 'object' as const, properties: { q: { type: 'string' } } } },
      { name: 'second', input_schema: { type: 'object' as const, properties: { n: { type: 'integer', minimum: 3 } }, required: ['n'] } },
    ];
    const named = await client('plain').messages.create({ ...params('plain'), tools, tool_choice: { type: 'tool', name: 'second' } });
    expect(named.content[0]).toMatchObject({ type: 'tool_use', name: 'second', input: { n: 3 } });
    const use = named.content[0] as Anthropic.ToolUseBlock;
    // The next turn carries the result: the model answers it in text, so an agent's loop ends.
    const withResult: Anthropic.MessageParam[] = [...params('plain').messages, { role: 'assistant', content: named.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '42' }] }];
    const answered = await client('plain').messages.create({ ...params('plain'), tools, messages: withResult });
    expect(answered.stop_reason).toBe('end_turn');
    expect(answered.content.map((b) => b.type)).toEqual(['text']);
    // Forced ("any"), a tool is called even after a result, as the API does.
    const forced = await client('plain').messages.create({ ...params('plain'), tools, tool_choice: { type: 'any' }, messages: withResult });
    expect(forced.stop_reason).toBe('tool_use');
    const missing = await client('plain').messages.create({ ...params('plain'), tools, tool_choice: { type: 'tool', name: 'third' } }).catch((e) => e);
    expect(missing).toBeInstanceOf(Anthropic.BadRequestError);
    expect(missing.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(missing.error.error.message).toMatch(/Tool 'third' not found/);
  });

  it('stop_sequences end the text before the first one met, with stop_reason "stop_sequence" naming it', async () => {
    for (const stream of [false, true]) {
      const m = stream
        ? await client('plain').messages.stream({ ...params('plain'), stop_sequences: ['zzz', ' '] }).finalMessage()
        : await client('plain').messages.create({ ...params('plain'), stop_sequences: ['zzz', ' '] });
      expect(m.stop_reason).toBe('stop_sequence');
      expect(m.stop_sequence).toBe(' ');
      expect(m.content[0].type === 'text' && m.content[0].text).toMatch(/^\S+$/);
    }
  });

  it('structured outputs: output_config.format json_schema gets a value of the schema as the text, which messages.parse() reads', async () => {
    const format = jsonSchemaOutputFormat({ type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1 } }, required: ['city', 'days'], additionalProperties: false });
    const parsed = await client('plain').messages.parse({ ...params('plain'), output_config: { format } });
    expect(parsed.parsed_output).toEqual({ city: expect.any(String), days: expect.any(Number) });
    expect(parsed.parsed_output!.days).toBeGreaterThanOrEqual(1);
    expect(parsed.stop_reason).toBe('end_turn');
    const streamed = await client('plain').messages.stream({ ...params('plain'), output_config: { format } }).finalMessage();
    expect(streamed.parsed_output).toEqual(parsed.parsed_output);
  });

  it('requests the API refuses are refused: a "system" message role, temperature above 1, no messages', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ messages: [{ role: 'system', content: 'x' }, ...params('plain').messages] }, /^messages\.0\.role: Unexpected role "system"/],
      [{ temperature: 1.5 }, /^temperature: Input should be less than or equal to 1$/],
      [{ messages: [] }, /^messages: at least one message is required$/],
    ];
    for (const [extra, message] of cases) {
      const e = await client('plain', undefined, 0).messages.create({ ...params('plain'), ...extra } as never).catch((x) => x);
      expect(e).toBeInstanceOf(Anthropic.BadRequestError);
      expect(e.error.error.message).toMatch(message);
    }
  });

  it('a refusal ends the stream with stop_reason refusal', async () => {
    const message = await client('plain', { kind: 'filtered', after_tokens: 2 }).messages.stream(params('plain')).finalMessage();
    expect(message.stop_reason).toBe('refusal');
    expect(message.content[0].type === 'text' && words(message.content[0].text)).toBe(2);
  });

  it('request-id and anthropic-ratelimit headers as the real API sends them', async () => {
    const sent = client('plain').messages.create(params('plain'));
    const { response, request_id } = await sent.withResponse();
    // The same APIPromise awaited: the same parsed body (the SDK parses once), typed with its _request_id.
    const data = await sent;
    expect(request_id).toMatch(/^req_011C/);
    expect(data._request_id).toBe(request_id);
    expect(Number(response.headers.get('anthropic-ratelimit-requests-limit'))).toBeGreaterThan(0);
    expect(response.headers.get('anthropic-ratelimit-tokens-reset')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Number(response.headers.get('anthropic-ratelimit-tokens-remaining')) % 1000).toBe(0);
  });
});

describe('faults: the SDK error class, error type and retries', () => {
  // [fault, SDK error class, error.type in the body, requests for one call with maxRetries 2]
  const cases: [object, new (...a: never[]) => Error, string, number][] = [
    [{ kind: 'rate_limit', retry_after_ms: 5 }, Anthropic.RateLimitError, 'rate_limit_error', 3],
    [{ kind: 'overloaded', retry_after_ms: 5 }, Anthropic.OverloadedError, 'overloaded_error', 3], // 529, as the API sends it
    [{ kind: 'server', retry_after_ms: 5 }, Anthropic.InternalServerError, 'api_error', 3],
    [{ kind: 'auth' }, Anthropic.AuthenticationError, 'authentication_error', 1],
    [{ kind: 'billing' }, Anthropic.BadRequestError, 'invalid_request_error', 1], // out of credit, as recorded: a 400
    [{ kind: 'status', status: 402 }, Anthropic.APIError, 'billing_error', 1],
    [{ kind: 'context_length' }, Anthropic.BadRequestError, 'invalid_request_error', 1],
    [{ kind: 'status', status: 403 }, Anthropic.PermissionDeniedError, 'permission_error', 1],
    [{ kind: 'status', status: 404 }, Anthropic.NotFoundError, 'not_found_error', 1],
    [{ kind: 'status', status: 409, retry_after_ms: 5 }, Anthropic.ConflictError, 'conflict_error', 3],
    [{ kind: 'status', status: 413 }, Anthropic.APIError, 'request_too_large', 1],
    [{ kind: 'status', status: 529, retry_after_ms: 5 }, Anthropic.InternalServerError, 'overloaded_error', 3],
  ];
  for (const [fault, cls, type, tries] of cases) {
    it(`${JSON.stringify(fault)} → ${cls.name} ${type}, ${tries} request(s)`, async () => {
      const r = await attempt('plain', () => client('plain', fault).messages.create(params('plain')));
      expect(r.error).toBeInstanceOf(cls);
      const e = r.error as InstanceType<typeof Anthropic.APIError>;
      expect((e.error as { error?: { type?: string } }).error?.type).toBe(type);
      // the body's request_id is the request-id header, as the API's are
      expect((e.error as { request_id?: string }).request_id).toBe(e.requestID);
      expect(r.requests).toBe(tries);
    });
  }

  it('a 429 carries retry-after, which the SDK waits out', async () => {
    const t0 = Date.now();
    const r = await attempt('plain', () => client('plain', { kind: 'rate_limit' }, 1).messages.create(params('plain')));
    expect(r.error).toBeInstanceOf(Anthropic.RateLimitError);
    const e = r.error as InstanceType<typeof Anthropic.RateLimitError>;
    expect(e.headers?.get('retry-after')).toBe('1');
    expect(e.headers?.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    expect(r.requests).toBe(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
  });

  it('a spent budget: RateLimitError worded as the API words it, with the headers and Retry-After the SDK waits out', async () => {
    const { returned: admitted, thrown: refused } = await untilThrows(() => client('budget', undefined, 0).messages.create(params('budget')), 60);
    expect(admitted).toBeGreaterThanOrEqual(30);
    expect(refused).toBeInstanceOf(Anthropic.RateLimitError);
    const e = refused as InstanceType<typeof Anthropic.RateLimitError>;
    expect((e.error as { error?: { type?: string } }).error?.type).toBe('rate_limit_error');
    expect(e.message).toMatch(/would exceed the rate limit for your organization \(org-mock\) of 30 requests per minute/);
    expect(e.headers?.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    expect(e.headers?.get('anthropic-ratelimit-requests-limit')).toBe('30');
    // one request comes back every 2 s: the wait is 1 or 2 whole seconds
    expect(['1', '2']).toContain(e.headers?.get('retry-after'));
    // The SDK waits what it is told and its retry is admitted: the header told the truth. (Its first try is
    // refused unless the bucket refilled in the milliseconds since: then it needs no retry.)
    const t0 = Date.now();
    const r = await attempt('budget', () => client('budget', undefined, 1).messages.create(params('budget')));
    expect(r.error).toBeUndefined();
    expect([1, 2]).toContain(r.requests);
    if (r.requests === 2) expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
  });

  it('a request without max_tokens is 400 invalid_request_error, as the API answers it', async () => {
    const { max_tokens: _, ...without } = params('plain');
    const r = await attempt('plain', () => client('plain').messages.create(without as Anthropic.MessageCreateParamsNonStreaming));
    expect(r.error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((r.error as Error).message).toMatch(/max_tokens: Field required/);
    expect(r.requests).toBe(1);
  });

  it('an unknown model is 404 not_found_error', async () => {
    const r = await attempt('plain', () => client('plain').messages.create({ ...params('plain'), model: 'claude-nonexistent' }));
    expect(r.error).toBeInstanceOf(Anthropic.NotFoundError);
    expect((r.error as Error).message).toMatch(/claude-nonexistent/);
  });

  it('a fault header with a typo is 400 with a message that names the header', async () => {
    const r = await attempt('plain', () => client('plain', '{"kind":"overload"}').messages.create(params('plain')));
    expect(r.error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((r.error as Error).message).toMatch(/x-mock-fault.*overload/);
  });
});

describe('mid-stream faults surface as errors thrown by the SDK', () => {
  for (const name of ['plain', 'thinking']) {
    for (const kind of ['cut', 'malformed', 'error_event']) {
      it(`${name}: ${kind} after 2 tokens`, async () => {
        const stream = client(name, { kind, after_tokens: 2 }).messages.stream(params(name));
        let sent = '';
        stream.on('text', (delta) => (sent += delta));
        stream.on('thinking', (delta) => (sent += delta));
        const error = await stream.finalMessage().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(Error);
        if (kind === 'error_event') {
          const e = error as InstanceType<typeof Anthropic.APIError>;
          expect(e.type).toBe('overloaded_error');
          // the event names the request as the response's request-id header does, as the recorded one does
          expect((e.error as { request_id?: string }).request_id).toBe(e.requestID);
          expect(e.requestID).toMatch(/^req_011C/);
        }
        // the broken frame is an Anthropic event the SDK reads (and fails to parse), not a line it skips
        if (kind === 'malformed') expect((error as Error).message).toMatch(/JSON/);
        expect(words(sent)).toBe(2);
      });
    }
  }

  it('a stall never completes: only the caller’s abort ends it', async () => {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 300);
    const stream = client('plain', { kind: 'stall', after_tokens: 1 }).messages.stream(params('plain'), { signal: ac.signal });
    await expect(stream.finalMessage()).rejects.toBeInstanceOf(Anthropic.APIUserAbortError);
    clearTimeout(timer);
  });
});

/*
 * The Vercel AI SDK (ai 6 with @ai-sdk/openai, @ai-sdk/openai-compatible and @ai-sdk/anthropic) as a
 * client of the gateway (src/serve/server.ts with its real dialect handlers, on 127.0.0.1:0) and of the
 * emulator directly. The SDK validates every response and every streamed chunk against its own zod
 * schemas, so what it accepts, and what it makes of an answer (text, finish reason, usage, errors), is an
 * outside judge of both wire formats. Where the SDK and serve or mock disagree, ours is wrong unless the
 * official openai and @anthropic-ai/sdk packages (test/sdk-*.test.ts, test/serve-*.test.ts) say otherwise.
 */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { APICallError, generateText, Output, RetryError, jsonSchema, stepCountIs, streamText, tool, type LanguageModel, type TextStreamPart, type ToolSet } from 'ai';
import { afterAll, describe, expect, it } from 'vitest';
import { createRouter } from '../src/router.js';
import { messages } from '../src/serve/anthropic.js';
import { chatCompletions } from '../src/serve/openai.js';
import { Gateway } from '../src/serve/server.js';
import { countingRelay, emulator, until } from './helpers.js';

const c = (value: number) => ({ dist: 'constant' as const, value });
const TOKENS = 8;
const REASONING = 2;
const mock = await emulator({
  // itl > 0 takes the emulator's timed path: the answer streams token by token. Half the prompt is a cache hit.
  gpt: { dialect: 'openai', model: 'gpt-e', output_tokens: c(TOKENS), itl: c(1), reasoning_tokens: REASONING, cached_share: 0.5 },
  claude: { dialect: 'anthropic', model: 'claude-e', output_tokens: c(TOKENS), itl: c(1), cached_share: 0.5 },
  // A stream that breaks after three tokens: past serve's commit, the break reaches the client mid-answer.
  cutter: { dialect: 'openai', model: 'cut-e', output_tokens: c(TOKENS), itl: c(1), script: [{ kind: 'cut', after_tokens: 3 }] },
  // Long, paced answers, for a client that hangs up mid-stream.
  gptslow: { dialect: 'openai', model: 'gpt-slow', output_tokens: c(400), itl: c(25) },
  claudeslow: { dialect: 'anthropic', model: 'claude-slow', output_tokens: c(400), itl: c(25) },
  // What serve answers when its only provider fails: the provider's fault on the gateway's wire.
  limited: { dialect: 'openai', model: 'limited-e', script: [{ kind: 'rate_limit', retry_after: 1 }] },
  rejects: { dialect: 'openai', model: 'rejects-e', script: [{ kind: 'status', status: 400 }] },
});

// The paced providers are reached through relays that count what the emulator sent: a cancelled answer stops the count.
const relays = { gptslow: await countingRelay(mock.baseUrl('gptslow')), claudeslow: await countingRelay(mock.baseUrl('claudeslow')) };
const baseUrlOf = (name: string) => (name === 'gptslow' || name === 'claudeslow' ? relays[name].url : mock.baseUrl(name));

const CLIENT_KEY = 'gw-client-key';
const providerYaml = (name: string) => ({ api: mock.profile.providers[name].dialect === 'anthropic' ? 'anthropic' : 'openai', base_url: baseUrlOf(name), model: mock.profile.providers[name].model });
const router = await createRouter({
  config: {
    defaults: { retries: 0, breaker_failures: 1000, timeouts: { connect: '2s', first_token: '10s', idle: '5s', total: '20s' } },
    providers: Object.fromEntries(Object.keys(mock.profile.providers).map((n) => [n, providerYaml(n)])),
    chains: { main: ['gpt'], claude_chain: ['claude'], broken: { providers: ['cutter'], stream_commit: { tokens: 0 } } },
  },
  who: 'serve',
});
// The clients send their key the way each SDK does (Authorization: Bearer, or x-api-key for Anthropic).
const logs: string[] = [];
const gw = new Gateway({ router, handlers: { chatCompletions, messages }, clientKey: CLIENT_KEY, log: (l) => logs.push(l) });
const { port } = await gw.listen(0, '127.0.0.1');
const gwUrl = `http://127.0.0.1:${port}/v1`;
afterAll(async () => {
  await gw.shutdown(0);
  await router.close();
});

/** A model of one of the three AI SDK providers, pointed at a base URL. */
type Flavour = 'openai' | 'compatible' | 'anthropic';
function modelOf(flavour: Flavour, baseURL: string, id: string, headers: Record<string, string> = {}, apiKey = baseURL === gwUrl ? CLIENT_KEY : 'sk-test'): LanguageModel {
  if (flavour === 'openai') return createOpenAI({ baseURL, apiKey, headers }).chat(id);
  // Without includeUsage the provider asks for no usage in a stream; without supportsStructuredOutputs it asks a
  // schema'd output as json_object (any object), which the emulator answers as the services do, not with the schema.
  if (flavour === 'compatible') return createOpenAICompatible({ name: 'llmf', baseURL, apiKey, headers, includeUsage: true, supportsStructuredOutputs: true }).chatModel(id);
  return createAnthropic({ baseURL, apiKey, headers })(id);
}

interface Target {
  label: string;
  flavour: Flavour;
  /** The model for a healthy answer, and for a long paced one; where the requests land in the emulator. */
  model: (headers?: Record<string, string>) => LanguageModel;
  slow: () => LanguageModel;
  emulated: string;
  slowEmulated: 'gptslow' | 'claudeslow';
}
const targets: Target[] = [];
for (const flavour of ['openai', 'compatible', 'anthropic'] as const) {
  const [fast, slow] = flavour === 'anthropic' ? (['claude', 'claudeslow'] as const) : (['gpt', 'gptslow'] as const);
  targets.push({
    label: `${flavour} provider → serve`,
    flavour,
    model: (h) => modelOf(flavour, gwUrl, flavour === 'anthropic' ? 'claude_chain' : 'main', h),
    slow: () => modelOf(flavour, gwUrl, slow),
    emulated: fast,
    slowEmulated: slow,
  });
  targets.push({
    label: `${flavour} provider → mock`,
    flavour,
    model: (h) => modelOf(flavour, mock.baseUrl(fast), mock.profile.providers[fast].model, h),
    slow: () => modelOf(flavour, baseUrlOf(slow), mock.profile.providers[slow].model),
    emulated: fast,
    slowEmulated: slow,
  });
}

const prompt = 'Explain the CAP theorem briefly.';
// The SDK's Anthropic provider caps an unknown model's answer (with a warning) unless told the maximum.
const maxOutputTokens = 1000;
const words = (s: string) => s.trim().split(/\s+/).filter(Boolean).length;

/** Reads a streamText result's full stream to its end: every part, in order. */
async function parts<T extends ToolSet>(stream: AsyncIterable<TextStreamPart<T>>): Promise<TextStreamPart<T>[]> {
  const out: TextStreamPart<T>[] = [];
  for await (const p of stream) out.push(p);
  return out;
}

describe.each(targets)('$label', (t) => {
  const emulatedModel = () => mock.profile.providers[t.emulated].model;
  // OpenAI's usage has the reasoning tokens inside completion_tokens; Anthropic's wire has no count of them.
  const output = t.emulated === 'gpt' ? TOKENS + REASONING : TOKENS;

  it('generateText: the text, finish reason "stop", the usage the SDK reads and the model that answered', async () => {
    const r = await generateText({ model: t.model(), prompt, maxRetries: 0, maxOutputTokens });
    expect(words(r.text)).toBe(TOKENS);
    expect(r.finishReason).toBe('stop');
    expect(r.rawFinishReason).toBe(t.flavour === 'anthropic' ? 'end_turn' : 'stop');
    expect(r.usage.inputTokens).toBeGreaterThan(0);
    // Half the prompt was read from the cache, and the SDK sees that however the dialect says it.
    expect(r.usage.inputTokenDetails.cacheReadTokens).toBe(Math.floor(r.usage.inputTokens! * 0.5));
    expect(r.usage.inputTokenDetails.noCacheTokens).toBe(r.usage.inputTokens! - r.usage.inputTokenDetails.cacheReadTokens!);
    expect(r.usage.outputTokens).toBe(output);
    if (t.flavour !== 'anthropic') expect(r.usage.outputTokenDetails).toEqual({ textTokens: TOKENS, reasoningTokens: REASONING });
    expect(r.usage.totalTokens).toBe(r.usage.inputTokens! + output);
    expect(r.response.modelId).toBe(emulatedModel());
    expect(r.response.id).toMatch(t.flavour === 'anthropic' ? /^msg_/ : /^chatcmpl-/);
    expect(r.warnings ?? []).toEqual([]);
  });

  it('streamText: text deltas in order, one finish with "stop" and the usage, no error part', async () => {
    const r = streamText({ model: t.model(), prompt, maxRetries: 0, maxOutputTokens });
    const all = await parts(r.fullStream);
    const types = all.map((p) => p.type);
    expect(types).not.toContain('error');
    expect(types).not.toContain('abort');
    const deltas = all.flatMap((p) => (p.type === 'text-delta' ? [p.text] : []));
    expect(deltas.length).toBeGreaterThanOrEqual(TOKENS);
    const text = await r.text;
    expect(deltas.join('')).toBe(text);
    expect(words(text)).toBe(TOKENS);
    // The text parts open before their deltas and close after them; the stream ends with one finish.
    expect(types.indexOf('text-start')).toBeLessThan(types.indexOf('text-delta'));
    expect(types.lastIndexOf('text-end')).toBeGreaterThan(types.lastIndexOf('text-delta'));
    expect(types.filter((x) => x === 'finish')).toEqual(['finish']);
    expect(types[types.length - 1]).toBe('finish');
    expect(await r.finishReason).toBe('stop');
    // The same counts as the answer not streamed: Anthropic's message_delta corrects message_start's estimate.
    const usage = await r.totalUsage;
    const whole = await generateText({ model: t.model(), prompt, maxRetries: 0, maxOutputTokens });
    expect(usage.inputTokens).toBe(whole.usage.inputTokens);
    expect(usage.inputTokenDetails.cacheReadTokens).toBe(whole.usage.inputTokenDetails.cacheReadTokens);
    expect(usage.outputTokens).toBe(output);
    expect(usage.totalTokens).toBe(usage.inputTokens! + output);
    expect((await r.response).modelId).toBe(emulatedModel());
  });

  it('an abort mid-stream ends the stream with an abort part and stops the answer at its source', async () => {
    const controller = new AbortController();
    const before = mock.stats()[t.slowEmulated];
    const relay = relays[t.slowEmulated];
    const bytesBefore = relay.bytes();
    const r = streamText({ model: t.slow(), prompt, maxRetries: 0, maxOutputTokens, abortSignal: controller.signal });
    const seen: string[] = [];
    let deltas = 0;
    for await (const p of r.fullStream) {
      seen.push(p.type);
      if (p.type === 'text-delta' && ++deltas === 3) controller.abort();
    }
    expect(deltas).toBeGreaterThanOrEqual(3);
    expect(deltas).toBeLessThan(400);
    expect(seen[seen.length - 1]).toBe('abort');
    expect(seen).not.toContain('finish');
    expect(seen).not.toContain('error');
    // The emulator saw the request and did not complete it (a 400-token answer at 25 ms a token): its
    // connection was closed, so what it sends stops (two reads 200 ms apart agree, where eight tokens would come).
    const after = mock.stats()[t.slowEmulated];
    expect(after.requests).toBe(before.requests + 1);
    expect(after.ok).toBe(before.ok);
    let last = -1;
    await until(async () => {
      const now = relay.bytes();
      const still = now === last;
      last = now;
      if (!still) await new Promise((r) => setTimeout(r, 200));
      return still;
    }, 'the emulator to stop sending the aborted answer', 5000);
    expect(relay.bytes() - bytesBefore).toBeLessThan(30_000);
  });
});

// serve answers text only (it refuses tools with a 400), so tool calls are the emulator's alone.
describe.each(targets.filter((t) => t.label.endsWith('mock')))('$label: tools', (t) => {
  it('a tool call round-trip: the call the SDK validates and runs, then a text answer to its result', async () => {
    const calls: unknown[] = [];
    const tools = {
      get_weather: tool({
        description: 'The weather in a city',
        inputSchema: jsonSchema<{ city: string; days?: number }>({ type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'], additionalProperties: false }),
        execute: async (input) => {
          calls.push(input);
          return `20 degrees in ${input.city}`;
        },
      }),
    };
    const r = await generateText({ model: t.model(), prompt, tools, stopWhen: stepCountIs(3), maxRetries: 0, maxOutputTokens });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ city: expect.any(String) });
    expect(r.steps).toHaveLength(2);
    expect(r.steps[0].finishReason).toBe('tool-calls');
    expect(r.steps[0].toolCalls).toHaveLength(1);
    expect(r.steps[0].toolCalls[0].toolName).toBe('get_weather');
    expect(r.steps[0].toolResults[0].output).toBe(`20 degrees in ${(calls[0] as { city: string }).city}`);
    expect(r.finishReason).toBe('stop');
    expect(words(r.text)).toBe(TOKENS);

    // Streamed, the same round-trip: the call's input arrives as deltas the SDK assembles.
    calls.length = 0;
    const s = streamText({ model: t.model(), prompt, tools, stopWhen: stepCountIs(3), maxRetries: 0, maxOutputTokens });
    const all = await parts(s.fullStream);
    expect(all.map((p) => p.type)).not.toContain('error');
    const call = all.find((p) => p.type === 'tool-call');
    expect(call).toMatchObject({ toolName: 'get_weather' });
    expect(calls).toHaveLength(1);
    expect((await s.steps).map((st) => st.finishReason)).toEqual(['tool-calls', 'stop']);
    expect(words(await s.text)).toBe(TOKENS);
  });
});

// serve answers plain text only (it refuses response_format with a 400), so structured output is the emulator's alone.
describe.each(targets.filter((t) => t.label.endsWith('mock')))('$label: structured output', (t) => {
  it('Output.object: the SDK parses and validates a value of the schema, generated and streamed', async () => {
    const schema = jsonSchema<{ city: string; days: number }>({ type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1 } }, required: ['city', 'days'], additionalProperties: false });
    const output = Output.object({ schema });
    const r = await generateText({ model: t.model(), prompt, output, maxRetries: 0, maxOutputTokens });
    expect(r.output).toEqual({ city: expect.any(String), days: expect.any(Number) });
    expect(r.output.days).toBeGreaterThanOrEqual(1);
    expect(r.finishReason).toBe('stop');
    const s = streamText({ model: t.model(), prompt, output, maxRetries: 0, maxOutputTokens });
    await s.consumeStream();
    expect(await s.output).toEqual(r.output);
    // The Anthropic provider asks for it as structured outputs (output_config.format), not as a forced tool.
    if (t.flavour === 'anthropic') expect(mock.received(t.emulated).at(-1)).toMatchObject({ output_config: { format: { type: 'json_schema' } } });
  });
});

describe('an upstream error surfaces as the SDK\'s APICallError', () => {
  const direct = targets.filter((t) => t.label.endsWith('mock'));
  for (const t of direct) {
    it(`${t.label}: a 429 is retryable, a 400 is not; the status and the emulator's message come through`, async () => {
      const limited = await generateText({ model: t.model({ 'x-mock-fault': '{"kind":"rate_limit","retry_after":1}' }), prompt, maxRetries: 0, maxOutputTokens }).catch((e: unknown) => e);
      expect(APICallError.isInstance(limited)).toBe(true);
      expect((limited as APICallError).statusCode).toBe(429);
      expect((limited as APICallError).isRetryable).toBe(true);
      const refused = await generateText({ model: t.model({ 'x-mock-fault': '{"kind":"status","status":400,"message":"bad thing"}' }), prompt, maxRetries: 0, maxOutputTokens }).catch((e: unknown) => e);
      expect(APICallError.isInstance(refused)).toBe(true);
      expect((refused as APICallError).statusCode).toBe(400);
      expect((refused as APICallError).isRetryable).toBe(false);
      expect((refused as APICallError).message).toContain('bad thing');
      // Streamed, the same error is the stream's error part (the request fails before any chunk).
      const s = streamText({ model: t.model({ 'x-mock-fault': '{"kind":"overloaded"}' }), prompt, maxRetries: 0, maxOutputTokens, onError: () => {} });
      const all = await parts(s.fullStream);
      const error = all.find((p) => p.type === 'error');
      expect(error).toBeDefined();
      const e = (error as { error: unknown }).error;
      expect(APICallError.isInstance(e)).toBe(true);
      expect((e as APICallError).statusCode).toBe(t.flavour === 'anthropic' ? 529 : 503);
      expect((e as APICallError).isRetryable).toBe(true);
    });
  }

  for (const flavour of ['openai', 'compatible', 'anthropic'] as const) {
    it(`${flavour} provider → serve: a chain whose provider is rate limited, and one whose provider refuses the request`, async () => {
      const limited = await generateText({ model: modelOf(flavour, gwUrl, 'limited'), prompt, maxRetries: 0, maxOutputTokens }).catch((e: unknown) => e);
      expect(APICallError.isInstance(limited)).toBe(true);
      expect((limited as APICallError).statusCode).toBe(429);
      expect((limited as APICallError).isRetryable).toBe(true);
      // Every provider refused in a way resending will not change: serve answers 502 with x-should-retry: false,
      // which the openai and Anthropic SDKs obey (test/serve-openai.test.ts). The AI SDK judges by the status
      // alone (5xx is retryable) and does not read that header: its own retries would run the chain again.
      const refused = await generateText({ model: modelOf(flavour, gwUrl, 'rejects'), prompt, maxRetries: 0, maxOutputTokens }).catch((e: unknown) => e);
      expect(APICallError.isInstance(refused)).toBe(true);
      expect((refused as APICallError).statusCode).toBe(502);
      expect((refused as APICallError).responseHeaders?.['x-should-retry']).toBe('false');
      expect((refused as APICallError).message).toMatch(/rejects \(bad_request\)/);
      if (flavour === 'openai') {
        // What that costs (README, "When the chain itself has no answer"): with one retry allowed, the SDK runs the chain again.
        const before = mock.stats().rejects.requests;
        const retried = await generateText({ model: modelOf(flavour, gwUrl, 'rejects'), prompt, maxRetries: 1, maxOutputTokens }).catch((e: unknown) => e);
        expect(RetryError.isInstance(retried)).toBe(true);
        expect(mock.stats().rejects.requests - before).toBe(2);
      }
      // A key the gateway does not know: 401, not retryable, and the key is in nothing the SDK reports or serve logs.
      const wrongKey = await generateText({ model: modelOf(flavour, gwUrl, 'main', {}, 'sk-wrong-secret'), prompt, maxRetries: 0, maxOutputTokens }).catch((e: unknown) => e);
      expect(APICallError.isInstance(wrongKey)).toBe(true);
      expect((wrongKey as APICallError).statusCode).toBe(401);
      expect((wrongKey as APICallError).isRetryable).toBe(false);
      expect(`${(wrongKey as APICallError).message} ${(wrongKey as APICallError).responseBody}`).not.toContain('wrong-secret');
      expect(logs.join('\n')).not.toContain('wrong-secret');
    });
  }
});

describe('a stream that breaks after it has begun', () => {
  for (const flavour of ['openai', 'compatible', 'anthropic'] as const) {
    it(`${flavour} provider → serve: the text so far, then an error part naming the break, and finish reason "error"`, async () => {
      const r = streamText({ model: modelOf(flavour, gwUrl, 'broken'), prompt, maxRetries: 0, maxOutputTokens, onError: () => {} });
      const all = await parts(r.fullStream);
      const types = all.map((p) => p.type);
      const deltas = all.flatMap((p) => (p.type === 'text-delta' ? [p.text] : []));
      expect(words(deltas.join(''))).toBe(3);
      const error = all.find((p) => p.type === 'error');
      expect(types.indexOf('error')).toBeGreaterThan(types.lastIndexOf('text-delta'));
      expect(JSON.stringify((error as { error: unknown }).error)).toMatch(/broke off after it had begun streaming.*retry the request/);
      expect(types[types.length - 1]).toBe('finish');
      expect(await r.finishReason).toBe('error');
    });
  }

  for (const [flavour, fast] of [['openai', 'gpt'], ['compatible', 'gpt'], ['anthropic', 'claude']] as const) {
    it(`${flavour} provider → mock: the emulator's in-stream error event after three tokens is the SDK's error part`, async () => {
      const model = modelOf(flavour, mock.baseUrl(fast), mock.profile.providers[fast].model, { 'x-mock-fault': '{"kind":"error_event","after_tokens":3}' });
      const r = streamText({ model, prompt, maxRetries: 0, maxOutputTokens, onError: () => {} });
      const all = await parts(r.fullStream);
      const types = all.map((p) => p.type);
      expect(types.filter((x) => x === 'text-delta').length).toBeGreaterThanOrEqual(1);
      expect(types.indexOf('error')).toBeGreaterThan(types.lastIndexOf('text-delta'));
      expect(await r.finishReason).toBe('error');
    });
  }
});

describe('what the emulator bills for a prompt the AI SDK sends as content blocks', () => {
  it('the Anthropic provider\'s block-form system and message cost what the same text costs as strings (through serve)', async () => {
    const system = 'You answer in one short paragraph for an engineer who knows distributed systems well.';
    const direct = await generateText({ model: modelOf('anthropic', mock.baseUrl('claude'), 'claude-e'), system, prompt, maxRetries: 0, maxOutputTokens });
    const sent = mock.received('claude').at(-1)!;
    expect(sent.system).toEqual([{ type: 'text', text: system }]);
    expect(sent.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: prompt }] }]);
    // serve's Anthropic adapter sends the same system prompt and message as strings.
    const viaServe = await generateText({ model: modelOf('anthropic', gwUrl, 'claude_chain'), system, prompt, maxRetries: 0, maxOutputTokens });
    expect(mock.received('claude').at(-1)!).toMatchObject({ system, messages: [{ role: 'user', content: prompt }] });
    expect(direct.usage.inputTokens).toBe(viaServe.usage.inputTokens);
    // The emulator's estimate: the text at four characters a token, and four a message.
    expect(direct.usage.inputTokens).toBe(Math.ceil((system.length + prompt.length) / 4) + 4);
  });
});

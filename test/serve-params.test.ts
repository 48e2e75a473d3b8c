import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { createRouter } from '../src/router.js';
import { emulator } from './helpers.js';
import { gateway } from './serve-harness.js';

/*
 * Request fields beyond the messages, sent by the official openai (6.x) and @anthropic-ai/sdk clients to
 * the gateway, judged by the bodies the emulator received upstream (MockServer.received): reasoning controls
 * cross the chain in each provider's own dialect, sampling fields pass where the provider's dialect has them,
 * and what a provider cannot be sent is one 400 naming the field and the provider, never silently dropped.
 */
const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  gpt: { dialect: 'openai', output_tokens: c(4), itl: c(1) },
  claude: { dialect: 'anthropic', output_tokens: c(4), itl: c(1) },
});
const { h } = await gateway(
  server,
  { gpt: 'gpt', claude: 'claude', tuned: 'gpt', capped: 'claude', opus: 'claude', adaptive46: 'claude', budget47: 'claude', fable: 'claude', gpt4o: 'gpt', quiet: 'gpt', forced: 'gpt', m3: 'claude', m27: 'claude' },
  { both: ['gpt', 'claude'], newer: ['claude', 'opus'] },
  {
    over: {
      // The provider's own params: the request's fields win over the same ones, the rest still go.
      tuned: { params: { reasoning_effort: 'low', top_p: 0.5, service_tier: 'flex' } },
      capped: { max_output_tokens: 2000 },
      // The same emulated service asked for other models: one that takes only adaptive thinking (its form
      // inferred from the name), one that takes both and is set to adaptive, one set against its model.
      opus: { model: 'claude-opus-4-7' },
      adaptive46: { model: 'claude-sonnet-4-6', thinking: 'adaptive' },
      budget47: { model: 'claude-opus-4-7', thinking: 'budget' },
      // A Claude that always thinks; an OpenAI model from before reasoning (known by its name), a reasoning
      // model set to thinking: none, and gpt-4o set to thinking: effort against its name.
      fable: { model: 'claude-fable-5' },
      gpt4o: { model: 'gpt-4o' },
      quiet: { thinking: 'none' },
      forced: { model: 'gpt-4o', thinking: 'effort' },
      // MiniMax's Anthropic-compatible API: M3 thinks only adaptively, M2.x takes budgets.
      m3: { model: 'MiniMax-M3' },
      m27: { model: 'MiniMax-M2.7' },
    },
  },
);

const openai = new OpenAI({ apiKey: 'unused', baseURL: `${h.url}/v1`, maxRetries: 0, timeout: 10_000 });
const anthropic = new Anthropic({ apiKey: 'unused', baseURL: h.url, maxRetries: 0, timeout: 10_000 });
const messages = [{ role: 'user' as const, content: 'Is 9.11 larger than 9.8?' }];
/**
 * top_p and top_k are Messages API fields under anthropic-version 2023-06-01 (the one the gateway's adapter
 * sends); @anthropic-ai/sdk 1.x types follow API version 2026-10-21 and no longer list them, so a client
 * sends them as extra fields, which the SDK passes on as they are.
 */
type Sampled = Anthropic.MessageCreateParamsNonStreaming & { top_p?: number; top_k?: number };
const sampled = (p: Sampled) => p as Anthropic.MessageCreateParamsNonStreaming;
/** The message of an Anthropic-dialect error body, as the SDK parsed it. */
const anthropicMessage = (e: unknown) => ((e as InstanceType<typeof Anthropic.APIError>).error as { error?: { message?: string } } | undefined)?.error?.message ?? '';

/** The body the emulated provider received for the call just made (both routes' providers share an emulator entry). */
const lastBody = (emulated: 'gpt' | 'claude') => {
  const all = server.received(emulated);
  return all[all.length - 1];
};
const count = (emulated: 'gpt' | 'claude') => server.received(emulated).length;

describe('OpenAI reasoning_effort and sampling through the openai SDK', () => {
  it('reaches an OpenAI-dialect provider as reasoning_effort, with top_p, seed and the penalties as sent', async () => {
    const r = await openai.chat.completions.create({ model: 'gpt', messages, reasoning_effort: 'high', top_p: 0.9, seed: 42, presence_penalty: 0.5, frequency_penalty: -0.25, max_completion_tokens: 300 });
    expect(r.choices[0].message.content).toBeTruthy();
    expect(lastBody('gpt')).toMatchObject({ reasoning_effort: 'high', top_p: 0.9, seed: 42, presence_penalty: 0.5, frequency_penalty: -0.25, max_tokens: 300 });
  });

  it('reaches an Anthropic-dialect provider as thinking with the mapped budget, max_tokens left room for the answer', async () => {
    const stream = await openai.chat.completions.create({ model: 'claude', messages, reasoning_effort: 'medium', top_p: 0.95, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBeTruthy();
    const body = lastBody('claude');
    // medium is 8,192 thinking tokens (src/providers/reasoning.ts); no max tokens asked: the default answer size beside it.
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 8192 });
    expect(body.max_tokens).toBe(8192 + 1024);
    expect(body.top_p).toBe(0.95);
    expect(body).not.toHaveProperty('reasoning_effort');
  });

  it('"none" turns an Anthropic provider\'s thinking off', async () => {
    await openai.chat.completions.create({ model: 'claude', messages, reasoning_effort: 'none' });
    expect(lastBody('claude').thinking).toEqual({ type: 'disabled' });
  });

  it('an effort whose budget does not fit below max tokens is one 400 naming reasoning_effort and the provider, and nothing is sent', async () => {
    const before = count('claude');
    const err = await openai.chat.completions.create({ model: 'both', messages, reasoning_effort: 'high', max_tokens: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const e = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(e.param).toBe('reasoning_effort');
    expect(e.message).toContain('reasoning_effort: reasoning effort "high" is a thinking budget of 24576 tokens for provider "claude", which must be less than max_tokens (1000)');
    expect(count('claude')).toBe(before);
  });

  it('a provider\'s max_output_tokens is the limit the budget must fit below when the request sets none', async () => {
    const err = await openai.chat.completions.create({ model: 'capped', messages, reasoning_effort: 'medium' }).catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).status).toBe(400);
    expect((err as Error).message).toContain('must be less than max_tokens (2000, max_output_tokens of "capped")');
    await openai.chat.completions.create({ model: 'capped', messages, reasoning_effort: 'low' });
    expect(lastBody('claude')).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 1024 }, max_tokens: 2000 });
  });

  it('seed to a chain with an Anthropic provider is one 400 naming seed and the provider, and nothing is sent', async () => {
    const before = count('gpt');
    const err = await openai.chat.completions.create({ model: 'both', messages, seed: 7 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('seed');
    expect((err as Error).message).toContain(`seed: provider "claude" speaks Anthropic's Messages API, which has no seed`);
    expect(count('gpt')).toBe(before);
  });

  it('the request\'s fields win over the provider\'s params, whose other fields still go', async () => {
    await openai.chat.completions.create({ model: 'tuned', messages, reasoning_effort: 'minimal', top_p: 0.8 });
    expect(lastBody('gpt')).toMatchObject({ reasoning_effort: 'minimal', top_p: 0.8, service_tier: 'flex' });
    await openai.chat.completions.create({ model: 'tuned', messages });
    expect(lastBody('gpt')).toMatchObject({ reasoning_effort: 'low', top_p: 0.5, service_tier: 'flex' });
  });

  it('a reasoning_effort outside the SDK\'s values and an out-of-range top_p are 400s naming them', async () => {
    const bad = await openai.chat.completions.create({ model: 'gpt', messages, reasoning_effort: 'extreme' as 'high' }).catch((e: unknown) => e);
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('reasoning_effort');
    expect((bad as Error).message).toContain('must be one of none, minimal, low, medium, high, xhigh, max (got "extreme")');
    const range = await openai.chat.completions.create({ model: 'gpt', messages, top_p: 1.5 }).catch((e: unknown) => e);
    expect((range as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('top_p');
  });
});

/**
 * Fields the openai 6.x SDK does not type for chat completions: OpenRouter's `reasoning` object, which the
 * SDK passes on as sent.
 */
type Extra = OpenAI.ChatCompletionCreateParamsNonStreaming & { reasoning?: Record<string, unknown> };
const extra = (p: Extra) => p as OpenAI.ChatCompletionCreateParamsNonStreaming;
const openaiError = (e: unknown) => e as InstanceType<typeof OpenAI.BadRequestError>;

describe('OpenRouter\'s reasoning object and the answer-changing OpenAI fields through the openai SDK', () => {
  it('reasoning.effort reaches an OpenAI-dialect provider as reasoning_effort and an Anthropic one as its budget', async () => {
    await openai.chat.completions.create(extra({ model: 'gpt', messages, reasoning: { effort: 'high', exclude: true } }));
    const body = lastBody('gpt');
    expect(body).toMatchObject({ reasoning_effort: 'high' });
    expect(body).not.toHaveProperty('reasoning');
    await openai.chat.completions.create(extra({ model: 'claude', messages, reasoning: { effort: 'low' }, max_tokens: 3000 }));
    expect(lastBody('claude')).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 1024 }, max_tokens: 3000 });
  });

  it('reasoning.max_tokens is a thinking budget: the same budget to Anthropic, the effort it reaches to OpenAI; enabled: false turns thinking off', async () => {
    await openai.chat.completions.create(extra({ model: 'claude', messages, reasoning: { max_tokens: 10_000 }, max_tokens: 12_000 }));
    expect(lastBody('claude')).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 10_000 }, max_tokens: 12_000 });
    await openai.chat.completions.create(extra({ model: 'gpt', messages, reasoning: { max_tokens: 10_000 } }));
    expect(lastBody('gpt')).toMatchObject({ reasoning_effort: 'medium' });
    await openai.chat.completions.create(extra({ model: 'claude', messages, reasoning: { enabled: false } }));
    expect(lastBody('claude').thinking).toEqual({ type: 'disabled' });
  });

  it('a reasoning object that cannot be carried is one 400 naming its field; a refused budget names reasoning.effort; nothing is sent', async () => {
    const before = count('gpt') + count('claude');
    const cases: [Record<string, unknown>, string, string][] = [
      [{ effort: 'high', max_tokens: 4000 }, 'reasoning', 'reasoning: send one of effort, max_tokens and enabled: false (got effort and max_tokens)'],
      [{ enabled: true }, 'reasoning.enabled', "reasoning.enabled: enabled without an effort asks for each model's default reasoning"],
      [{ effort: 'low' }, 'reasoning.effort', 'reasoning.effort: conflicts with reasoning_effort "high"; send one of them'],
      [{ max_tokens: 500 }, 'reasoning.max_tokens', 'reasoning.max_tokens: must be a whole number of at least 1024 (got 500)'],
    ];
    for (const [reasoning, param, message] of cases) {
      const err = await openai.chat.completions.create(extra({ model: 'gpt', messages, reasoning, ...(param === 'reasoning.effort' ? { reasoning_effort: 'high' } : {}) })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(openaiError(err).param).toBe(param);
      expect(openaiError(err).message).toContain(message);
    }
    const big = await openai.chat.completions.create(extra({ model: 'both', messages, reasoning: { effort: 'high' }, max_tokens: 1000 })).catch((e: unknown) => e);
    expect(openaiError(big).param).toBe('reasoning.effort');
    expect(openaiError(big).message).toContain('reasoning.effort: reasoning effort "high" is a thinking budget of 24576 tokens for provider "claude"');
    expect(count('gpt') + count('claude')).toBe(before);
  });

  it('verbosity, logit_bias and web_search_options are one 400 each naming the field and the provider\'s params, and nothing is sent', async () => {
    const before = count('gpt');
    const cases: [Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>, string][] = [
      [{ verbosity: 'low' }, 'verbosity'],
      [{ logit_bias: { '1734': -100 } }, 'logit_bias'],
      [{ web_search_options: {} }, 'web_search_options'],
    ];
    for (const [field, param] of cases) {
      const err = await openai.chat.completions.create({ model: 'gpt', messages, ...field }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(openaiError(err).param).toBe(param);
      expect(openaiError(err).message).toMatch(new RegExp(`^400 ${param}: .* not supported: .*in the provider's params in providers\\.yaml`));
    }
    expect(count('gpt')).toBe(before);
  });

  it('fields that leave the answer as it is are not passed on: an empty logit_bias, prediction, user, metadata, store, service_tier', async () => {
    const r = await openai.chat.completions.create({ model: 'gpt', messages, logit_bias: {}, prediction: { type: 'content', content: 'No.' }, user: 'u1', metadata: { team: 'a' }, store: true, service_tier: 'priority', verbosity: null });
    expect(r.choices[0].message.content).toBeTruthy();
    const body = lastBody('gpt');
    for (const key of ['logit_bias', 'prediction', 'user', 'metadata', 'store', 'service_tier', 'verbosity']) expect(body).not.toHaveProperty(key);
  });
});

describe('Anthropic thinking and sampling through the @anthropic-ai/sdk', () => {
  it('reaches an Anthropic-dialect provider as the same thinking, max_tokens, top_p and top_k', async () => {
    const m = await anthropic.messages.create(sampled({ model: 'claude', max_tokens: 3000, thinking: { type: 'enabled', budget_tokens: 2048 }, top_p: 0.95, messages }));
    expect(m.content.some((b) => b.type === 'text')).toBe(true);
    expect(lastBody('claude')).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 2048 }, max_tokens: 3000, top_p: 0.95 });
    await anthropic.messages.create(sampled({ model: 'claude', max_tokens: 3000, top_p: 0.9, top_k: 40, messages }));
    expect(lastBody('claude')).toMatchObject({ max_tokens: 3000, top_p: 0.9, top_k: 40 });
  });

  /*
   * The Messages API's own 400s while thinking is enabled, as clients met them: "`temperature` may only be set
   * to 1 when thinking is enabled" (MartialBE/one-hub#529), "`top_k` must be unset when thinking is enabled"
   * (quarkiverse/quarkus-langchain4j#1812, the whole body quoted), top_p at least 0.95 (SEMOSS/Semoss#1655).
   * Sent on, the provider would refuse and the chain fall over to one that answers a different question.
   */
  it('temperature, top_k or a low top_p beside thinking is one 400 naming the field and the provider, and nothing is sent', async () => {
    const before = count('claude') + count('gpt');
    const temp = await openai.chat.completions.create({ model: 'both', messages, reasoning_effort: 'low', temperature: 0.5 }).catch((e: unknown) => e);
    expect(temp).toBeInstanceOf(OpenAI.BadRequestError);
    expect((temp as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('temperature');
    expect((temp as Error).message).toContain('temperature: provider "claude" speaks Anthropic\'s Messages API, which refuses it while thinking is enabled (the request\'s reasoning): temperature may only be 1 there');
    const topK = await anthropic.messages.create(sampled({ model: 'claude', max_tokens: 3000, thinking: { type: 'enabled', budget_tokens: 2048 }, top_k: 40, messages })).catch((e: unknown) => e);
    expect(topK).toBeInstanceOf(Anthropic.BadRequestError);
    expect(anthropicMessage(topK)).toMatch(/^top_k: provider "claude" .*: top_k must be unset there/);
    const topP = await anthropic.messages.create(sampled({ model: 'claude', max_tokens: 3000, thinking: { type: 'enabled', budget_tokens: 2048 }, top_p: 0.9, messages })).catch((e: unknown) => e);
    expect(anthropicMessage(topP)).toMatch(/^top_p: provider "claude" .*: top_p must be from 0.95 to 1 there/);
    expect(count('claude') + count('gpt')).toBe(before);
    // temperature 1, or thinking turned off, is what the API takes.
    await openai.chat.completions.create({ model: 'claude', messages, reasoning_effort: 'low', temperature: 1 });
    await openai.chat.completions.create({ model: 'claude', messages, reasoning_effort: 'none', temperature: 0.5 });
    expect(lastBody('claude')).toMatchObject({ thinking: { type: 'disabled' }, temperature: 0.5 });
  });

  it('reaches an OpenAI-dialect provider as the effort the budget stands for', async () => {
    const stream = anthropic.messages.stream({ ...sampled({ model: 'gpt', max_tokens: 20_000, thinking: { type: 'enabled', budget_tokens: 10_000 }, top_p: 0.7, messages }), stream: true });
    await stream.finalMessage();
    const body = lastBody('gpt');
    // 10,000 reaches medium's 8,192 but not high's 24,576 (src/providers/reasoning.ts).
    expect(body).toMatchObject({ reasoning_effort: 'medium', top_p: 0.7, max_tokens: 20_000 });
    expect(body).not.toHaveProperty('thinking');
  });

  it('top_k to a chain with an OpenAI-dialect provider is one 400 naming top_k and the provider', async () => {
    const err = await anthropic.messages.create(sampled({ model: 'both', max_tokens: 100, top_k: 5, messages })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(anthropicMessage(err)).toMatch(/^top_k: provider "gpt" speaks the OpenAI chat-completions dialect, which has no top_k; leave it out/);
  });

  it('a budget not below max_tokens is refused in the API\'s own words; below 1024 is refused too', async () => {
    const before = count('claude');
    const over = await anthropic.messages.create({ model: 'claude', max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 2048 }, messages }).catch((e: unknown) => e);
    expect(over).toBeInstanceOf(Anthropic.BadRequestError);
    expect(anthropicMessage(over)).toContain('`max_tokens` must be greater than `thinking.budget_tokens`');
    const small = await anthropic.messages.create({ model: 'claude', max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 500 }, messages }).catch((e: unknown) => e);
    expect(anthropicMessage(small)).toBe('thinking.budget_tokens: must be a whole number of at least 1024 (got 500)');
    expect(count('claude')).toBe(before);
  });
});

/*
 * Adaptive thinking and output_config.effort, the reasoning controls of @anthropic-ai/sdk 1.x (API version
 * 2026-10-21, which the SDK sends as anthropic-version): the chain's reasoning effort, written upstream as
 * reasoning_effort or as the thinking budget reasoning.ts maps the effort to (the Anthropic adapter speaks
 * 2023-06-01, where thinking is a budget).
 */
describe('adaptive thinking and output_config.effort through the @anthropic-ai/sdk', () => {
  it('adaptive thinking with an effort reaches an OpenAI-dialect provider as that reasoning_effort', async () => {
    const m = await anthropic.messages.create({ model: 'gpt', max_tokens: 4000, thinking: { type: 'adaptive' }, output_config: { effort: 'low' }, messages });
    expect(m.content.some((b) => b.type === 'text')).toBe(true);
    const body = lastBody('gpt');
    expect(body).toMatchObject({ reasoning_effort: 'low', max_tokens: 4000 });
    expect(body).not.toHaveProperty('thinking');
    expect(body).not.toHaveProperty('output_config');
  });

  it('reaches an Anthropic-dialect provider as thinking enabled with the effort\'s budget, streamed too', async () => {
    const stream = anthropic.messages.stream({ model: 'claude', max_tokens: 12_000, thinking: { type: 'adaptive' }, output_config: { effort: 'medium' }, messages });
    const m = await stream.finalMessage();
    expect(m.content.some((b) => b.type === 'text')).toBe(true);
    const body = lastBody('claude');
    // medium is 8,192 thinking tokens (src/providers/reasoning.ts), below the request's max_tokens.
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 8192 });
    expect(body.max_tokens).toBe(12_000);
    expect(body).not.toHaveProperty('output_config');
  });

  it('adaptive thinking without an effort is the API\'s default effort, high', async () => {
    await anthropic.messages.create({ model: 'gpt', max_tokens: 4000, thinking: { type: 'adaptive' }, messages });
    expect(lastBody('gpt')).toMatchObject({ reasoning_effort: 'high' });
    await anthropic.messages.create({ model: 'claude', max_tokens: 30_000, thinking: { type: 'adaptive', display: 'omitted' }, messages });
    expect(lastBody('claude')).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 24_576 }, max_tokens: 30_000 });
  });

  it('"max" reaches an OpenAI-dialect provider as xhigh, the highest reasoning_effort the openai SDK types, and a budget provider as the table\'s highest budget', async () => {
    await anthropic.messages.create({ model: 'both', max_tokens: 40_000, thinking: { type: 'adaptive' }, output_config: { effort: 'max' }, messages });
    expect(lastBody('gpt')).toMatchObject({ reasoning_effort: 'xhigh' });
    server.setScript('gpt', [{ kind: 'overloaded' }]);
    try {
      await anthropic.messages.create({ model: 'both', max_tokens: 40_000, thinking: { type: 'adaptive' }, output_config: { effort: 'max' }, messages });
    } finally {
      server.setScript('gpt', [{ kind: 'ok' }]);
    }
    expect(lastBody('claude')).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 32_768 }, max_tokens: 40_000 });
  });

  it('an effort whose budget does not fit below max_tokens is one 400 naming output_config.effort and the provider, and nothing is sent', async () => {
    const before = count('gpt') + count('claude');
    const err = await anthropic.messages.create({ model: 'both', max_tokens: 16_000, thinking: { type: 'adaptive' }, output_config: { effort: 'high' }, messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(anthropicMessage(err)).toContain('output_config.effort: reasoning effort "high" is a thinking budget of 24576 tokens for provider "claude", which must be less than max_tokens (16000)');
    const bare = await anthropic.messages.create({ model: 'claude', max_tokens: 16_000, thinking: { type: 'adaptive' }, messages }).catch((e: unknown) => e);
    expect(anthropicMessage(bare)).toMatch(/^thinking: reasoning effort "high" is a thinking budget of 24576 tokens/);
    expect(count('gpt') + count('claude')).toBe(before);
  });

  it('effort without adaptive thinking, an unknown effort and other thinking types are 400s saying what to send, and nothing is sent', async () => {
    const before = count('gpt') + count('claude');
    const alone = await anthropic.messages.create({ model: 'gpt', max_tokens: 2048, output_config: { effort: 'low' }, messages }).catch((e: unknown) => e);
    expect(alone).toBeInstanceOf(Anthropic.BadRequestError);
    expect(anthropicMessage(alone)).toBe(
      'output_config.effort: effort without thinking is not supported: llm-fallback serve carries effort as the model\'s reasoning, which every provider takes as thinking; send thinking {"type":"adaptive"} with it, or leave output_config.effort out',
    );
    const budget = await anthropic.messages.create({ model: 'gpt', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2048 }, output_config: { effort: 'low' }, messages }).catch((e: unknown) => e);
    expect(anthropicMessage(budget)).toMatch(/^output_config\.effort: effort with thinking "enabled" is not supported: .*leave output_config\.effort out and keep the thinking budget$/);
    const unknown = await anthropic.messages.create({ model: 'gpt', max_tokens: 2048, thinking: { type: 'adaptive' }, output_config: { effort: 'extreme' as 'high' }, messages }).catch((e: unknown) => e);
    expect(anthropicMessage(unknown)).toBe('output_config.effort: must be one of low, medium, high, xhigh, max (got "extreme")');
    const between = await anthropic.messages.create({ model: 'gpt', max_tokens: 2048, thinking: { type: 'between_tools' }, messages }).catch((e: unknown) => e);
    expect(anthropicMessage(between)).toMatch(/^thinking\.type: "between_tools" is not supported: .*send \{"type":"adaptive"\} \(with output_config\.effort\)/);
    expect(count('gpt') + count('claude')).toBe(before);
  });
});

describe('the emulator judges thinking as the Messages API does', () => {
  it('answers a budget not below max_tokens with the API\'s 400', async () => {
    const direct = new Anthropic({ apiKey: 'unused', baseURL: server.baseUrl('claude').replace(/\/v1$/, ''), maxRetries: 0, timeout: 10_000 });
    const err = await direct.messages.create({ model: server.profile.providers.claude.model, max_tokens: 1024, thinking: { type: 'enabled', budget_tokens: 1024 }, messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('`max_tokens` must be greater than `thinking.budget_tokens`') } });
  });

  it('answers thinking beside a temperature other than 1, or beside top_k, with the API\'s 400s; temperature 1 is taken', async () => {
    const direct = new Anthropic({ apiKey: 'unused', baseURL: server.baseUrl('claude').replace(/\/v1$/, ''), maxRetries: 0, timeout: 10_000 });
    const model = server.profile.providers.claude.model;
    // The SDK's newest types no longer list temperature and top_k (anthropic-version 2026-10-21); the API of the version our adapter speaks takes them.
    const create = (fields: Record<string, unknown>) => direct.messages.create({ model, messages, stream: false, ...fields } as unknown as Parameters<typeof direct.messages.create>[0]) as Promise<{ type: string; content: unknown[] }>;
    const thinking = { type: 'enabled', budget_tokens: 1024 };
    const refused = async (extra: Record<string, unknown>) => {
      const err = await create({ max_tokens: 2048, thinking, ...extra }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.BadRequestError);
      return ((err as InstanceType<typeof Anthropic.BadRequestError>).error as { error: { message: string } }).error.message;
    };
    // recorded wordings: MartialBE/one-hub#529 (temperature), quarkiverse/quarkus-langchain4j#1812 (top_k)
    expect(await refused({ temperature: 0.2 })).toMatch(/^`temperature` may only be set to 1 when thinking is enabled\. Please consult our documentation at https:\/\/docs\.claude\.com\//);
    expect(await refused({ top_k: 40 })).toMatch(/^`top_k` must be unset when thinking is enabled\. Please consult our documentation at https:\/\/docs\.claude\.com\//);
    expect((await create({ max_tokens: 2048, thinking, temperature: 1 })).content.length).toBeGreaterThan(0);
    // without thinking both are taken
    expect((await create({ max_tokens: 64, temperature: 0.2, top_k: 40 })).type).toBe('message');
  });
});

/*
 * Claude 4.7 and later take only adaptive thinking: a budget is a 400 ("thinking.type.enabled" is not
 * supported for this model, Anthropic's errors page; Bedrock's and Vercel's docs say the same of Opus 4.7).
 * Such a provider is sent thinking {"type":"adaptive"} with output_config.effort, and a budget asked of it is
 * refused before any call. The bodies are the ones the emulator received upstream.
 */
describe('a Claude that takes only adaptive thinking', () => {
  const emulated = new Anthropic({ apiKey: 'unused', baseURL: server.baseUrl('claude').replace(/\/v1$/, ''), maxRetries: 0, timeout: 10_000 });

  it('is sent adaptive thinking and output_config.effort for an effort, streamed too, with no budget anywhere', async () => {
    const stream = anthropic.messages.stream({ model: 'opus', max_tokens: 12_000, thinking: { type: 'adaptive' }, output_config: { effort: 'medium' }, messages });
    expect(await stream.finalText()).toBeTruthy();
    const body = lastBody('claude');
    expect(body.model).toBe('claude-opus-4-7');
    expect(body.thinking).toEqual({ type: 'adaptive' });
    expect(body.output_config).toEqual({ effort: 'medium' });
    expect(body.max_tokens).toBe(12_000);
    expect(JSON.stringify(body)).not.toContain('budget_tokens');

    await openai.chat.completions.create({ model: 'opus', messages, reasoning_effort: 'xhigh' });
    // No max tokens asked: the default answer size beside the room the effort stands for (xhigh, 32,768 in reasoning.ts).
    expect(lastBody('claude')).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'xhigh' }, max_tokens: 32_768 + 1024 });
    await openai.chat.completions.create({ model: 'opus', messages, reasoning_effort: 'minimal', max_tokens: 500 });
    // "minimal" is not one of output_config.effort's levels: its lowest, low; max_tokens as asked (no budget to fit below it).
    expect(lastBody('claude')).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'low' }, max_tokens: 500 });
    await openai.chat.completions.create({ model: 'opus', messages, reasoning_effort: 'none' });
    expect(lastBody('claude').thinking).toEqual({ type: 'disabled' });
    expect(lastBody('claude')).not.toHaveProperty('output_config');
  });

  it('while a Claude 4.6 keeps the budget unless its provider is set to thinking: adaptive, and thinking: budget is sent as set', async () => {
    await anthropic.messages.create({ model: 'claude', max_tokens: 30_000, thinking: { type: 'adaptive' }, output_config: { effort: 'low' }, messages });
    expect(lastBody('claude')).toMatchObject({ model: 'claude-sonnet-4-6', thinking: { type: 'enabled', budget_tokens: 1024 } });
    expect(lastBody('claude')).not.toHaveProperty('output_config');
    await anthropic.messages.create({ model: 'adaptive46', max_tokens: 30_000, thinking: { type: 'adaptive' }, output_config: { effort: 'low' }, messages });
    expect(lastBody('claude')).toMatchObject({ model: 'claude-sonnet-4-6', thinking: { type: 'adaptive' }, output_config: { effort: 'low' } });
    // thinking: budget overrides the name; the service then answers as Anthropic documents (a 400, which the chain reports).
    const err = await anthropic.messages.create({ model: 'budget47', max_tokens: 30_000, thinking: { type: 'adaptive' }, output_config: { effort: 'low' }, messages }).catch((e: unknown) => e);
    expect(lastBody('claude')).toMatchObject({ model: 'claude-opus-4-7', thinking: { type: 'enabled', budget_tokens: 1024 } });
    expect(err).toBeInstanceOf(Anthropic.APIError);
  });

  it('a thinking budget is one 400 naming thinking, the provider and the fix, and nothing is sent', async () => {
    const before = count('claude');
    const err = await anthropic.messages.create({ model: 'newer', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2048 }, messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(anthropicMessage(err)).toBe('thinking: a thinking budget of 2048 tokens cannot go to provider "opus": it serves claude-opus-4-7, which takes only adaptive thinking (Claude 4.7 and later refuse budgets); ask for a reasoning effort (low, medium, high, xhigh, max) instead');
    const set = await openai.chat.completions.create({ model: 'adaptive46', messages, reasoning: { max_tokens: 2048 } } as OpenAI.ChatCompletionCreateParamsNonStreaming).catch((e: unknown) => e);
    expect(set).toBeInstanceOf(OpenAI.BadRequestError);
    expect((set as Error).message).toContain('reasoning.max_tokens: a thinking budget of 2048 tokens cannot go to provider "adaptive46": it is set to thinking: adaptive; ask for a reasoning effort (low, medium, high, xhigh, max) instead, or set thinking: budget on the provider');
    expect(count('claude')).toBe(before);
  });

  // MiniMax's docs for its Anthropic-compatible API (platform.minimax.io/docs/api-reference/text-anthropic-api,
  // quoted in earendil-works/pi#6658): "For MiniMax-M3, adaptive is equivalent to thinking on"; only adaptive
  // or disabled. Its M2.x models keep budgets (src/providers/reasoning.ts minimaxM3).
  it('MiniMax-M3 on the Anthropic route is sent adaptive thinking, and a budget is refused naming MiniMax; M2.7 keeps the budget', async () => {
    await openai.chat.completions.create({ model: 'm3', messages, reasoning_effort: 'high' });
    expect(lastBody('claude')).toMatchObject({ model: 'MiniMax-M3', thinking: { type: 'adaptive' }, output_config: { effort: 'high' } });
    expect(JSON.stringify(lastBody('claude'))).not.toContain('budget_tokens');
    const before = count('claude');
    const err = await openai.chat.completions.create({ model: 'm3', messages, reasoning: { max_tokens: 2048 } } as OpenAI.ChatCompletionCreateParamsNonStreaming).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain('it serves MiniMax-M3, which takes only adaptive thinking (MiniMax\'s Anthropic-compatible API lets MiniMax-M3 think only adaptively); ask for a reasoning effort');
    expect(count('claude')).toBe(before);
    await openai.chat.completions.create({ model: 'm27', messages, reasoning_effort: 'low', max_tokens: 4000 });
    expect(lastBody('claude')).toMatchObject({ model: 'MiniMax-M2.7', thinking: { type: 'enabled', budget_tokens: 1024 } });
  });

  it('refuses temperature beside adaptive thinking as beside a budget', async () => {
    const before = count('claude');
    const err = await openai.chat.completions.create({ model: 'opus', messages, reasoning_effort: 'low', temperature: 0.3 }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('temperature: provider "opus" speaks Anthropic\'s Messages API, which refuses it while thinking is enabled');
    expect(count('claude')).toBe(before);
  });

  it('the emulator answers a budget to it with the API\'s 400, takes adaptive thinking with output_config.effort, and refuses adaptive thinking to Claude 4.5', async () => {
    const err = await emulated.messages.create({ model: 'claude-opus-4-7', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2048 }, messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    // The words of platform.claude.com/docs/en/api/errors, and the body Anthropic's Agent SDK quickstart shows for claude-opus-4-7.
    expect((err as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.' },
    });
    const m = await emulated.messages.create({ model: 'claude-opus-4-7', max_tokens: 4000, thinking: { type: 'adaptive' }, output_config: { effort: 'xhigh' }, messages });
    expect(m.type).toBe('message');
    expect(m.content.some((b) => b.type === 'text' && b.text)).toBe(true);
    const old = await emulated.messages.create({ model: 'claude-haiku-4-5', max_tokens: 4000, thinking: { type: 'adaptive' }, messages }).catch((e: unknown) => e);
    expect((old as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ error: { type: 'invalid_request_error', message: 'adaptive thinking is not supported on this model' } });
  });
});

describe('the library', () => {
  it('takes reasoning and sampling on a call, keys the answer cache by them, and refuses what a provider cannot be sent with a RefusedFieldError', async () => {
    const provider = (name: 'gpt' | 'claude') => ({ api: server.profile.providers[name].dialect, base_url: server.baseUrl(name), model: server.profile.providers[name].model });
    const router = await createRouter({ config: { defaults: { retries: 0 }, providers: { gpt: provider('gpt'), claude: provider('claude') } }, who: 'lib' });
    try {
      const r = await router.chat({ model: 'claude', messages, reasoning: { effort: 'low' }, sampling: { topP: 0.96 } });
      expect(r.source).toBe('live');
      expect(lastBody('claude')).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 1024 }, max_tokens: 2048, top_p: 0.96 });
      // The answer cache (the tier after every provider failed) tells requests apart by their reasoning and
      // sampling: a cached low-effort answer never stands in for a high-effort question.
      server.setScript('claude', [{ kind: 'overloaded' }]);
      try {
        expect((await router.chat({ model: 'claude', messages, reasoning: { effort: 'high' }, sampling: { topP: 0.96 } })).source).toBe('none');
        expect((await router.chat({ model: 'claude', messages, reasoning: { effort: 'low' }, sampling: { topP: 0.97 } })).source).toBe('none');
        expect((await router.chat({ model: 'claude', messages, reasoning: { effort: 'low' }, sampling: { topP: 0.96 } })).source).toBe('cache');
      } finally {
        server.setScript('claude', [{ kind: 'ok' }]);
      }
      await expect(router.chat({ model: 'gpt', messages, sampling: { topK: 3 } })).rejects.toMatchObject({ name: 'RefusedFieldError', field: 'sampling.topK' });
      await expect(router.chat({ model: 'claude', messages, reasoning: { effort: 'low' }, temperature: 0.2 })).rejects.toMatchObject({ name: 'RefusedFieldError', field: 'temperature' });
      await expect(router.chat({ model: 'gpt', messages, reasoning: { budgetTokens: 100 } })).rejects.toThrow('lib: reasoning.budgetTokens must be a whole number of at least 1024');
      // A budget to a Claude that takes only adaptive thinking is refused before any call.
      const opus = await createRouter({ config: { providers: { opus: { ...provider('claude'), model: 'claude-opus-4-7' } } }, who: 'lib' });
      try {
        const before = count('claude');
        await expect(opus.chat({ model: 'opus', messages, reasoning: { budgetTokens: 4096 } })).rejects.toMatchObject({ name: 'RefusedFieldError', field: 'reasoning', message: expect.stringContaining('a thinking budget of 4096 tokens cannot go to provider "opus"') });
        expect(count('claude')).toBe(before);
      } finally {
        await opus.close();
      }
    } finally {
      await router.close();
    }
  });
});

/*
 * Reasoning controls the target model refuses, each with a 400 upstream that the chain would fall over on for
 * a field it chose to send: thinking turned off for a Claude that always thinks (Fable, Mythos), xhigh to a
 * Claude 4.6 (its recorded efforts are low, medium, high and max; maruel/genai providers/anthropic/models.json),
 * reasoning_effort to an OpenAI model that does not reason. Bodies as the emulator received them upstream.
 */
describe('reasoning a model refuses', () => {
  const direct = new Anthropic({ apiKey: 'unused', baseURL: server.baseUrl('claude').replace(/\/v1$/, ''), maxRetries: 0, timeout: 10_000 });
  const directOpenAI = new OpenAI({ apiKey: 'unused', baseURL: server.baseUrl('gpt'), maxRetries: 0, timeout: 10_000 });

  it('effort "none" to a Claude that always thinks is one 400 naming the field, the provider and the fix, and nothing is sent', async () => {
    const before = count('claude');
    const err = await openai.chat.completions.create({ model: 'fable', messages, reasoning_effort: 'none' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(openaiError(err).param).toBe('reasoning_effort');
    expect(openaiError(err).message).toBe(
      '400 reasoning_effort: reasoning effort "none" cannot go to provider "fable": it serves claude-fable-5, which always thinks (Anthropic refuses thinking {"type":"disabled"} for Claude Fable and Mythos); ask for the lowest effort, low, or use a route without this provider',
    );
    const off = await anthropic.messages.create({ model: 'fable', max_tokens: 2000, thinking: { type: 'disabled' }, messages }).catch((e: unknown) => e);
    expect(anthropicMessage(off)).toMatch(/^thinking: reasoning effort "none" cannot go to provider "fable"/);
    expect(count('claude')).toBe(before);
    // The lowest effort it takes goes as adaptive thinking; left out, nothing is sent and the model thinks as it does.
    await openai.chat.completions.create({ model: 'fable', messages, reasoning_effort: 'low' });
    expect(lastBody('claude')).toMatchObject({ model: 'claude-fable-5', thinking: { type: 'adaptive' }, output_config: { effort: 'low' } });
    await openai.chat.completions.create({ model: 'fable', messages });
    expect(lastBody('claude')).not.toHaveProperty('thinking');
  });

  it('xhigh to a Claude 4.6 in adaptive form goes as max, the level it has next to it; max goes as max to 4.6 and 4.7', async () => {
    await openai.chat.completions.create({ model: 'adaptive46', messages, reasoning_effort: 'xhigh' });
    expect(lastBody('claude')).toMatchObject({ model: 'claude-sonnet-4-6', thinking: { type: 'adaptive' }, output_config: { effort: 'max' }, max_tokens: 32_768 + 1024 });
    await anthropic.messages.create({ model: 'adaptive46', max_tokens: 40_000, thinking: { type: 'adaptive' }, output_config: { effort: 'max' }, messages });
    expect(lastBody('claude')).toMatchObject({ model: 'claude-sonnet-4-6', output_config: { effort: 'max' }, max_tokens: 40_000 });
    await anthropic.messages.create({ model: 'opus', max_tokens: 40_000, thinking: { type: 'adaptive' }, output_config: { effort: 'max' }, messages });
    expect(lastBody('claude')).toMatchObject({ model: 'claude-opus-4-7', thinking: { type: 'adaptive' }, output_config: { effort: 'max' } });
    await openai.chat.completions.create({ model: 'opus', messages, reasoning_effort: 'xhigh' });
    expect(lastBody('claude')).toMatchObject({ model: 'claude-opus-4-7', output_config: { effort: 'xhigh' } });
  });

  it('reasoning to an OpenAI model that does not reason is one 400 naming the field, the provider and the fix, and nothing is sent; "none" sends no reasoning_effort', async () => {
    const before = count('gpt');
    const err = await openai.chat.completions.create({ model: 'gpt4o', messages, reasoning_effort: 'low' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(openaiError(err).param).toBe('reasoning_effort');
    expect(openaiError(err).message).toBe(
      '400 reasoning_effort: provider "gpt4o" serves gpt-4o, which does not reason (OpenAI answers reasoning_effort to it with a 400), so it cannot be sent the request\'s reasoning; leave the reasoning out, use a route without this provider, or set thinking: effort on it if its model does reason',
    );
    const budget = await anthropic.messages.create({ model: 'gpt4o', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2048 }, messages }).catch((e: unknown) => e);
    expect(anthropicMessage(budget)).toMatch(/^thinking: provider "gpt4o" serves gpt-4o, which does not reason/);
    const set = await openai.chat.completions.create({ model: 'quiet', messages, reasoning_effort: 'high' }).catch((e: unknown) => e);
    expect(openaiError(set).message).toContain('reasoning_effort: provider "quiet" is set to thinking: none (its model does not reason), so it cannot be sent the request\'s reasoning; leave the reasoning out, use a route without this provider, or remove thinking: none from it');
    expect(count('gpt')).toBe(before);
    const r = await openai.chat.completions.create({ model: 'gpt4o', messages, reasoning_effort: 'none' });
    expect(r.choices[0].message.content).toBeTruthy();
    expect(lastBody('gpt')).toMatchObject({ model: 'gpt-4o' });
    expect(lastBody('gpt')).not.toHaveProperty('reasoning_effort');
  });

  it('thinking: effort sends reasoning_effort whatever the name says', async () => {
    await openai.chat.completions.create({ model: 'forced', messages, reasoning_effort: 'medium' }).catch(() => undefined);
    expect(lastBody('gpt')).toMatchObject({ model: 'gpt-4o', reasoning_effort: 'medium' });
  });

  it('the emulator answers them as the services do', async () => {
    const off = await direct.messages.create({ model: 'claude-fable-5', max_tokens: 2000, thinking: { type: 'disabled' }, messages }).catch((e: unknown) => e);
    // As recorded against claude-fable-5 and claude-mythos-5 in ex-machina-co/opencode-anthropic-auth#159.
    expect((off as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: '"thinking.type.disabled" is not supported for this model. Thinking defaults to adaptive mode when not specified; use "thinking.type.enabled" with "budget_tokens" for extended thinking.' },
    });
    expect((await direct.messages.create({ model: 'claude-opus-4-7', max_tokens: 2000, thinking: { type: 'disabled' }, messages })).type).toBe('message');
    const xhigh = await direct.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 40_000, thinking: { type: 'adaptive' }, output_config: { effort: 'xhigh' }, messages }).catch((e: unknown) => e);
    expect(xhigh).toBeInstanceOf(Anthropic.BadRequestError);
    expect((await direct.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 40_000, thinking: { type: 'adaptive' }, output_config: { effort: 'max' }, messages })).type).toBe('message');
    const gpt4o = await directOpenAI.chat.completions.create({ model: 'gpt-4o-mini', messages, reasoning_effort: 'low' }).catch((e: unknown) => e);
    // The whole body as recorded for gpt-4o-mini in davidmigloz/langchain_dart#712.
    expect(gpt4o).toBeInstanceOf(OpenAI.BadRequestError);
    expect(openaiError(gpt4o).error).toEqual({ message: 'Unrecognized request argument supplied: reasoning_effort', type: 'invalid_request_error', param: null, code: null });
    expect((await directOpenAI.chat.completions.create({ model: 'gpt-5.4-mini', messages, reasoning_effort: 'low' })).choices.length).toBe(1);
  });
});

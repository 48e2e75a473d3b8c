import { describe, expect, it } from 'vitest';
import { adapterFor, collect, emulator } from './helpers.js';
import { FIXTURES, dataObjects, wireBody, type WireFixture } from './wire-fixtures.js';

// The emulator follows the recordings: for each dialect, its healthy stream must have the frame shapes,
// field placements (role chunk, usage, finish chunk) and terminator of that provider's recorded streams.
// Where they differ the recording wins and src/mock/wire.ts is what changes. Dialects without a real
// recording (moonshot: only a handwritten one; openrouter: none) are not judged here.

const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  openai: { dialect: 'openai', output_tokens: c(4) },
  deepseek: { dialect: 'deepseek', output_tokens: c(6), reasoning_tokens: 2 },
  minimax: { dialect: 'minimax', output_tokens: c(5) },
  minimaxReasoning: { dialect: 'minimax', output_tokens: c(6), reasoning_tokens: 2 },
  gemini: { dialect: 'gemini', output_tokens: c(4) },
  anthropic: { dialect: 'anthropic', output_tokens: c(4) },
});

/** The emulator's raw response body for a streamed request shaped like the recorded one. */
async function emulated(name: string, api: 'openai' | 'anthropic', includeUsage: boolean, extra: Record<string, unknown> = {}): Promise<string> {
  const model = server.profile.providers[name].model;
  const body: Record<string, unknown> = { model, messages: [{ role: 'user', content: 'Say hello.' }], stream: true, max_tokens: 64, ...extra };
  if (includeUsage) body.stream_options = { include_usage: true };
  const res = await fetch(`${server.baseUrl(name)}${api === 'anthropic' ? '/messages' : '/chat/completions'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return res.text();
}

type Obj = Record<string, unknown>;
const keys = (o: unknown) => (o && typeof o === 'object' ? Object.keys(o).sort() : []);
const choice0 = (o: Obj) => (o.choices as Obj[])[0];
const delta0 = (o: Obj) => choice0(o).delta as Obj;
const hasText = (d: Obj) => (typeof d.content === 'string' && d.content !== '') || Array.isArray(d.content) || (typeof d.reasoning_content === 'string' && d.reasoning_content !== '');
const counts = (u: unknown) => !!u && typeof u === 'object' && typeof (u as Obj).prompt_tokens === 'number';

/** Where an OpenAI-style stream puts things, reduced to what can be compared across answers of any length. */
function openaiShape(body: string) {
  const objs = dataObjects(body);
  const withChoice = objs.filter((o) => Array.isArray(o.choices) && o.choices.length > 0);
  const first = withChoice[0];
  const finish = withChoice.find((o) => typeof choice0(o).finish_reason === 'string')!;
  const middle = withChoice.find((o) => o !== first && o !== finish && typeof delta0(o).content === 'string' && delta0(o).content !== '');
  const usageChunk = objs.find((o) => Array.isArray(o.choices) && o.choices.length === 0 && counts(o.usage));
  return {
    terminator: body.trimEnd().endsWith('data: [DONE]') ? '[DONE]' : 'body ends',
    roleOnlyFirstChunk: 'role' in delta0(first) && !hasText(delta0(first)),
    usage: usageChunk ? 'separate choices:[] chunk' : counts(finish.usage) ? 'on the finish chunk' : counts(choice0(finish).usage) ? 'inside choices[0]' : 'none',
    firstChunkKeys: keys(first),
    firstChoiceKeys: keys(choice0(first)),
    firstDeltaKeys: keys(delta0(first)),
    middleChunkKeys: middle ? keys(middle) : undefined,
    middleChoiceKeys: middle ? keys(choice0(middle)) : undefined,
    middleDeltaKeys: middle ? keys(delta0(middle)) : undefined,
    finishChoiceKeys: keys(choice0(finish)),
    finishDeltaKeys: keys(delta0(finish)),
    usageChunkKeys: usageChunk ? keys(usageChunk) : undefined,
  };
}

const fixture = (file: string): WireFixture => FIXTURES.find((f) => f.file === file)!;

// [emulator dialect, recording, stream_options.include_usage the recording was made with, other request fields]
// MiniMax thinks inline (<think> in the content) unless asked for reasoning_split, as both recordings were made.
const openaiCases: [string, string, boolean, Record<string, unknown>][] = [
  ['openai', 'openai/vercel-openai-text.chunks.txt', true, {}],
  ['openai', 'openai/gomodel-gpt-4o-mini.sse', false, {}],
  ['deepseek', 'deepseek/vercel-deepseek-reasoning.chunks.txt', true, {}],
  ['minimax', 'minimax/gomodel-prod-m27-stream.sse', true, {}],
  ['minimaxReasoning', 'minimax/gomodel-prod-m27-stream.sse', true, {}],
  ['minimaxReasoning', 'minimax/gomodel-m27-reasoning-split.sse', true, { reasoning_split: true }],
  ['gemini', 'gemini/gomodel-gemini-2.5-flash.sse', false, {}],
];

describe.each(openaiCases)('emulated %s against %s', (dialect, file, includeUsage, extra) => {
  it('has the recorded frame shapes, field placements and terminator', async () => {
    const f = fixture(file);
    expect(f.handwritten).toBe(false);
    const recorded = openaiShape(wireBody(f).toString());
    const mine = openaiShape(await emulated(dialect, 'openai', includeUsage, extra));
    // Vercel's recorder keeps neither [DONE] nor its absence: only raw captures say how a stream ends.
    if (f.framing === 'json-lines') delete (recorded as Partial<typeof recorded>).terminator, delete (mine as Partial<typeof mine>).terminator;
    // A one-chunk answer (Gemini's recording) shows no middle chunk, and cannot tell whether a longer
    // answer's finish chunk carries the last text: those fields are compared only where recorded.
    if (!recorded.middleChunkKeys) for (const k of ['middleChunkKeys', 'middleChoiceKeys', 'middleDeltaKeys', 'finishDeltaKeys'] as const) delete recorded[k], delete mine[k];
    expect(mine).toEqual(recorded);
  });
});

// Where MiniMax writes its thinking without reasoning_split, and how the tags sit (recorded: "<think>\nThe"
// opens the content, "…concise.\n</think>\n\n**Proof" parts it from the answer): the emulator's text must read
// the same, so that what the adapters make of the tags is tried on the emulator as on the recording.
describe("MiniMax's inline thinking", () => {
  const text = (body: string) =>
    dataObjects(body)
      .map((o) => (Array.isArray(o.choices) && o.choices.length > 0 ? (delta0(o).content as string | undefined) ?? '' : ''))
      .join('');
  const form = (s: string) => ({ opens: s.startsWith('<think>\n'), closesBeforeAnswer: /\n<\/think>\n\n\S/.test(s), tags: (s.match(/<\/?think>/g) ?? []).length });

  it('is in the content between <think> tags, as recorded', async () => {
    const recorded = text(wireBody(fixture('minimax/gomodel-prod-m27-stream.sse')).toString());
    expect(form(recorded)).toEqual({ opens: true, closesBeforeAnswer: true, tags: 2 });
    const body = await emulated('minimaxReasoning', 'openai', true);
    expect(form(text(body))).toEqual(form(recorded));
    expect(body).not.toContain('reasoning_content');
  });

  it('moves to reasoning_content with reasoning_split, as recorded', async () => {
    expect(text(wireBody(fixture('minimax/gomodel-m27-reasoning-split.sse')).toString())).not.toContain('<think>');
    const body = await emulated('minimaxReasoning', 'openai', true, { reasoning_split: true });
    expect(text(body)).not.toContain('<think>');
    expect(body).toContain('"reasoning_content"');
  });
});

/** Anthropic: the event sequence (repeats collapsed), event names, and the usage fields of each event. */
function anthropicShape(body: string) {
  const events = body
    .split(/\r?\n\r?\n/)
    .filter((e) => e.trim())
    .map((e) => {
      const name = /^event: ?(.*)$/m.exec(e)?.[1];
      const data = JSON.parse(/^data: ?(.*)$/m.exec(e)![1]) as Obj;
      return { name, data };
    });
  const sequence = events.map((e) => e.data.type as string).filter((t, i, all) => t !== all[i - 1]);
  const start = events.find((e) => e.data.type === 'message_start')!.data.message as Obj;
  const delta = events.find((e) => e.data.type === 'message_delta')!.data;
  return {
    sequence,
    everyEventNamed: events.every((e) => e.name === e.data.type),
    messageKeys: keys(start),
    startUsageKeys: keys(start.usage),
    deltaUsageKeys: keys(delta.usage),
    doneMarker: body.includes('[DONE]'),
  };
}

describe('emulated anthropic against the recorded Anthropic streams', () => {
  it.each(['anthropic/gomodel-claude-sonnet-4.sse', 'anthropic/vercel-anthropic-text.chunks.txt'])('%s: same event sequence, names and usage placement', async (file) => {
    const recorded = anthropicShape(wireBody(fixture(file)).toString());
    const mine = anthropicShape(await emulated('anthropic', 'anthropic', false));
    expect(mine.sequence).toEqual(recorded.sequence);
    expect(mine.everyEventNamed).toBe(recorded.everyEventNamed);
    expect(mine.doneMarker).toBe(false);
    // Fields grow over API versions (inference_geo, and Claude 5's stop_details and output_tokens_details, are
    // newer): the emulator sends every one these Claude 4 recordings have; test/wire-stream-shapes.test.ts
    // judges the newer ones by a Claude 5 stream.
    expect(mine.messageKeys).toEqual(expect.arrayContaining(recorded.messageKeys));
    expect(mine.deltaUsageKeys).toEqual(expect.arrayContaining(recorded.deltaUsageKeys));
    expect(mine.startUsageKeys).toEqual(expect.arrayContaining(recorded.startUsageKeys));
  });
});

describe('emulated anthropic without the anthropic-version header', () => {
  // The live API's answer, as users pasted it: {"type":"error","error":{"type":"invalid_request_error",
  // "message":"anthropic-version: header is required"}} (PipedreamHQ/pipedream#9697, 2024-01-04), with a
  // request_id beside it in later captures (envoyproxy/ai-gateway#1909, 2026-03-02).
  const post = (headers: Record<string, string>) =>
    fetch(`${server.baseUrl('anthropic')}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: server.profile.providers.anthropic.model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });

  it("is refused with a 400 in the API's words; with the header the same request is answered", async () => {
    const refused = await post({});
    expect(refused.status).toBe(400);
    const body = JSON.parse(await refused.text()) as { request_id: string };
    expect(body).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' }, request_id: body.request_id });
    expect(body.request_id).toBe(refused.headers.get('request-id'));
    const answered = await post({ 'anthropic-version': '2023-06-01' });
    expect(answered.status).toBe(200);
    await answered.arrayBuffer();
  });

  it('our Anthropic adapter sends the header: its request is answered', async () => {
    const adapter = adapterFor(server, 'anthropic');
    const events = await collect(adapter, { messages: [{ role: 'user', content: 'hi' }], stream: true });
    await adapter.close();
    expect(events.find((e) => e.type === 'error')).toBeUndefined();
    expect(events.at(-1)?.type).toBe('finish');
  });
});

/** An error body's envelope: the key paths of its JSON, with Google's error JSON-in-a-string opened up. */
function envelope(body: string): string[] {
  const paths: string[] = [];
  const walk = (v: unknown, at: string): void => {
    if (typeof v === 'string' && v.trimStart().startsWith('{')) walk(JSON.parse(v), `${at}<json>`);
    else if (Array.isArray(v)) {
      if (v.length) walk(v[0], `${at}[]`);
      else paths.push(`${at}[]`);
    } else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
    else paths.push(at);
  };
  walk(JSON.parse(body), '');
  return paths.filter((p) => !p.includes('.details')).sort();
}

describe('emulated gemini quota errors against the recorded ones', () => {
  it.each([
    ['rate_limit', 'gemini/error-429-per-minute-retryinfo.json'],
    ['billing', 'gemini/error-429-free-tier-limit-0.json'],
  ])('%s: HTTP 429 with the recorded envelope (Google error JSON as a string in error.message)', async (kind, file) => {
    const res = await fetch(`${server.baseUrl('gemini')}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-mock-fault': JSON.stringify({ kind }) },
      body: JSON.stringify({ model: server.profile.providers.gemini.model, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(fixture(file).status);
    expect(envelope(await res.text())).toEqual(envelope(wireBody(fixture(file)).toString()));
  });
});

describe('emulated error faults against the recorded error bodies', () => {
  const errors = emulator({
    gemini: { dialect: 'gemini' },
    openai: { dialect: 'openai' },
    deepseek: { dialect: 'deepseek' },
    anthropic: { dialect: 'anthropic' },
  });
  type Err = { type?: string; code?: unknown; message?: string };
  const inner = (body: string): Err => (JSON.parse(body) as { error: Err }).error;
  // [emulated provider, fault, recording, the recorded message is the emulator's word for word]
  it.each([
    ['openai', 'auth', 'openai/error-401-invalid-api-key.json', false],
    ['openai', 'billing', 'openai/error-429-insufficient-quota.json', true],
    ['deepseek', 'billing', 'deepseek/error-402-insufficient-balance.json', true],
    ['anthropic', 'billing', 'anthropic/error-400-credit-balance-too-low.json', true],
    ['anthropic', 'overloaded', 'anthropic/error-529-overloaded.json', false],
    ['anthropic', 'context_length', 'anthropic/error-400-prompt-too-long.json', false],
    ['gemini', 'auth', 'gemini/error-400-api-key-invalid.json', false],
  ] as const)('%s %s: the status, envelope, type and code of %s', async (name, kind, file, sameWords) => {
    const server = await errors;
    const res = await fetch(`${server.baseUrl(name)}${name === 'anthropic' ? '/messages' : '/chat/completions'}`, {
      method: 'POST',
      headers: { 'x-mock-fault': kind, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: server.profile.providers[name].model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const mine = await res.text();
    const recorded = wireBody(fixture(file)).toString();
    expect(res.status).toBe(fixture(file).status);
    expect(envelope(mine)).toEqual(envelope(recorded));
    expect([inner(mine).type, inner(mine).code]).toEqual([inner(recorded).type, inner(recorded).code]);
    if (sameWords) expect(inner(mine).message).toBe(inner(recorded).message);
  });

  it('openai rate_limit: worded as the recorded limit is, naming the model, with the wait the fault sets', async () => {
    const server = await errors;
    const res = await fetch(`${server.baseUrl('openai')}/chat/completions`, {
      method: 'POST',
      headers: { 'x-mock-fault': '{"kind":"rate_limit","retry_after":2}' },
      body: JSON.stringify({ model: server.profile.providers.openai.model, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const mine = await res.text();
    const recorded = wireBody(fixture('openai/error-429-rate-limit-tpm.json')).toString();
    expect(res.status).toBe(429);
    expect(envelope(mine)).toEqual(envelope(recorded));
    expect(inner(mine).code).toBe(inner(recorded).code);
    // The recording's bucket is tokens (type "tokens"); the fault's is requests, typed as OpenAI types it.
    expect(inner(mine).type).toBe('requests');
    const close = /Please try again in \d+(\.\d+)?(ms|s)\. Visit https:\/\/platform\.openai\.com\/account\/rate-limits to learn more\.$/;
    expect(inner(recorded).message).toMatch(close);
    expect(inner(mine).message).toMatch(close);
    expect(inner(mine).message).toMatch(new RegExp(`^Rate limit reached for ${server.profile.providers.openai.model} in organization \\S+ on requests per min \\(RPM\\): Limit \\d+, Used \\d+, Requested 1\\. Please try again in 2s\\.`));
  });
});

describe('emulated budget 429s against the recorded ones', () => {
  /** The recorded message as a pattern: its account ids, numbers and wait become wildcards, the words stay. */
  const pattern = (recorded: string): RegExp => {
    let re = recorded.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    re = re.replace(/\\\([0-9a-f-]{36}\\\)/g, '\\([^)]+\\)'); // Anthropic's organisation id
    re = re.replace(/org-[0-9a-f]+/g, 'org-\\S+').replace(/ak-\\\*\\\*\\\*\\\*/g, 'ak-\\S+'); // Moonshot's account and key ids
    re = re.replace(/\d[\d,]*/g, '[\\d,]+');
    return new RegExp(`^${re}$`);
  };
  const budgeted = emulator({
    moonshot: { dialect: 'moonshot', rate_limit: { requests_per_minute: 1 } },
    anthropic: { dialect: 'anthropic', rate_limit: { tokens_per_minute: 100 } },
    openai: { dialect: 'openai', rate_limit: { tokens_per_minute: 100 } },
    gemini: { dialect: 'gemini', rate_limit: { requests_per_minute: 1 } },
  });
  /** Two requests: the first admitted, the second refused by the budget. */
  async function refusedSecond(name: string, prompt: string): Promise<{ status: number; body: string; retryAfter: string | null }> {
    const server = await budgeted;
    const api = name === 'anthropic' ? '/messages' : '/chat/completions';
    const send = () =>
      fetch(`${server.baseUrl(name)}${api}`, {
        method: 'POST',
        headers: { 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: server.profile.providers[name].model, max_tokens: 10, messages: [{ role: 'user', content: prompt }] }),
      });
    const first = await send();
    await first.arrayBuffer();
    expect(first.status).toBe(200);
    const second = await send();
    return { status: second.status, body: await second.text(), retryAfter: second.headers.get('retry-after') };
  }
  const messageOf = (body: string) => (JSON.parse(body) as { error: { message: string; type?: string; code?: string } }).error;
  const recordedBody = (file: string) => wireBody(fixture(file)).toString();

  it.each([
    ['moonshot', 'moonshot/error-429-rate-limit-rpm.json', 'hi'],
    ['anthropic', 'anthropic/error-429-rate-limit.json', 'word '.repeat(70)],
  ])('%s: the recorded envelope and wording, with Retry-After', async (name, file, prompt) => {
    const r = await refusedSecond(name, prompt);
    expect(r.status).toBe(fixture(file).status);
    expect(envelope(r.body).filter((p) => p !== '.request_id')).toEqual(envelope(recordedBody(file)));
    expect(messageOf(r.body).message).toMatch(pattern(messageOf(recordedBody(file)).message));
    expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('gemini: the recorded quota error with the limit and the wait in it, and no Retry-After header, as Gemini sends none', async () => {
    const file = 'gemini/error-429-per-minute-retryinfo.json';
    const r = await refusedSecond('gemini', 'hi');
    expect(r.status).toBe(fixture(file).status);
    expect(envelope(r.body)).toEqual(envelope(recordedBody(file)));
    type Detail = { '@type': string; retryDelay?: string; violations?: { quotaValue: string }[] };
    const details = (b: string) => (JSON.parse(JSON.parse(b).error.message) as { error: { details: Detail[] } }).error.details;
    expect(details(r.body).map((d) => d['@type'])).toEqual(details(recordedBody(file)).map((d) => d['@type']));
    const mine = details(r.body);
    expect(mine[0].violations?.[0].quotaValue).toBe('1');
    // a minute for the next request, less what came back since the first, in whole seconds
    expect(Number(/^(\d+)s$/.exec(mine[2].retryDelay ?? '')?.[1])).toBeGreaterThanOrEqual(55);
    expect(r.retryAfter).toBeNull();
  });

  it("openai: the recorded envelope, type and code; today's (RPM)/(TPM) wording with Used and Requested", async () => {
    const file = 'openai/error-429-rate-limit-tpm.json';
    const r = await refusedSecond('openai', 'word '.repeat(40)) // with max_tokens 10, more than half the 100;
    const mine = messageOf(r.body);
    const recorded = messageOf(recordedBody(file));
    expect(r.status).toBe(fixture(file).status);
    expect(envelope(r.body)).toEqual(envelope(recordedBody(file)));
    expect([mine.type, mine.code]).toEqual([recorded.type, recorded.code]);
    // The recording is of an older wording ("on tokens per min. Limit: 10000 / min."); both open and close alike.
    const open = /^Rate limit reached for \S+ in organization \S+ on tokens per min\b/;
    const close = /Please try again in \d+(\.\d+)?(ms|s)\. Visit https:\/\/platform\.openai\.com\/account\/rate-limits to learn more\.$/;
    for (const m of [recorded.message, mine.message]) expect(m).toMatch(open), expect(m).toMatch(close);
    expect(mine.message).toMatch(/on tokens per min \(TPM\): Limit 100, Used \d+, Requested \d+\./);
  });
});

import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { spawnEmulator } from './cli-helpers.js';
import { emulator, until } from './helpers.js';
import { profileFromObject } from '../src/mock/profile.js';

/*
 * `llm-fallback mock` as a user's chaos tool: the emulator run as a real child process (as a user runs it
 * beside their own application), faults asked for over HTTP, and what the user sees of it.
 */

const chat = (stream: boolean) => JSON.stringify({ model: 'gpt-5.4-mini', stream, messages: [{ role: 'user', content: 'hi' }] });

describe('stopping the emulator', () => {
  // A minute-long first token, a hung request and a stalled stream, open when the signal comes: the
  // process must go at once, not when the longest injected delay runs out.
  it.each(['SIGTERM', 'SIGINT'] as const)('%s ends it promptly with slow, hung and stalled requests open', async (signal) => {
    const mock = await spawnEmulator({ providers: { p: { dialect: 'openai', model: 'gpt-5.4-mini' } } });
    const faults = ['{"kind":"slow_first_token","delay":"60s"}', 'hang', '{"kind":"stall","after_tokens":1}'];
    const open = faults.flatMap((fault) =>
      [true, false].map((stream) =>
        fetch(`${mock.baseUrl('p')}/chat/completions`, { method: 'POST', headers: { 'x-mock-fault': fault }, body: chat(stream) })
          .then((r) => r.text())
          .catch(() => 'connection closed'),
      ),
    );
    await until(async () => ((await (await fetch(`${mock.url}/_mock/stats`)).json()) as { p: { requests: number } }).p.requests === open.length, 'all requests to arrive');
    const t0 = Date.now();
    expect(await mock.close(signal)).toBe(0);
    // Well inside the 60 s delay (it held the process for all of it before).
    expect(Date.now() - t0).toBeLessThan(20_000);
    await Promise.all(open);
  }, 40_000);
});

describe('admin endpoints answer bad input with a 400 that says what is wrong, and change nothing', () => {
  const served = emulator({ p: { dialect: 'openai', model: 'gpt-5.4-mini' } });
  const put = async (what: string, body: string) => {
    const r = await fetch(`${(await served).url}/_mock/providers/p/${what}`, { method: 'PUT', body });
    return { status: r.status, message: ((await r.json()) as { error?: { message: string } }).error?.message };
  };
  const status = async () => (await fetch(`${(await served).baseUrl('p')}/chat/completions`, { method: 'POST', body: chat(false) })).status;

  it.each([
    ['faults', '[{"kind":"server"}]', /faults\[0\]\.p: expected the probability of the fault, a number from 0 to 1, got undefined/],
    ['faults', '[{"kind":"server","p":"half"}]', /faults\[0\]\.p: .*got "half"/],
    ['faults', '[{"kind":"server","p":7}]', /faults\[0\]\.p: .*got 7/],
    ['faults', '{"kind":"server","p":1}', /faults: expected a list of faults/],
    ['script', 'null', /script: expected a list of steps/],
    ['script', '[{"kind":"server","tims":2}]', /script\[0\]: unknown key "tims"/],
    ['script', '[{"kind":"refuse","for":"1s"}]', /a refuse step needs own_port: true/],
    ['script', 'not json', /the body is not JSON/],
  ])('PUT %s %s', async (what, body, message) => {
    const r = await put(what, body);
    expect(r.status).toBe(400);
    expect(r.message).toMatch(message);
    expect(r.message).toMatch(new RegExp(`^PUT /_mock/providers/p/${what}: `));
    // Refused means not applied: the provider still answers (a refuse step, half-applied, reset every request).
    expect(await status()).toBe(200);
  });

  it('an unknown provider is a 404 that names the known ones', async () => {
    const r = await fetch(`${(await served).url}/_mock/providers/nope/script`, { method: 'PUT', body: '[]' });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/unknown emulated provider "nope"; the providers are p/);
  });

  it('a profile file with a typo in a step or a fault without p is refused the same way', () => {
    expect(() => profileFromObject({ providers: { p: { script: [{ kind: 'server', tims: 2 }] } } }, 'mock.yaml')).toThrow(/mock.yaml: providers.p.script\[0\]: unknown key "tims"/);
    expect(() => profileFromObject({ providers: { p: { faults: [{ kind: 'server', p: 1.5 }] } } }, 'mock.yaml')).toThrow(/providers.p.faults\[0\].p: expected the probability/);
  });
});

describe('seeded faults replay', () => {
  const profile = { seed: 7, providers: { p: { dialect: 'openai', model: 'gpt-5.4-mini', faults: [{ kind: 'server', p: 0.5 }] } } };
  const statuses = async (baseUrl: string) => {
    const seen: number[] = [];
    for (let i = 0; i < 16; i++) seen.push((await fetch(`${baseUrl}/chat/completions`, { method: 'POST', body: chat(false) })).status);
    return seen;
  };

  it('the same sequence after a restart with the same seed, and after POST /_mock/reset', async () => {
    const first = await spawnEmulator(profile);
    const run1 = await statuses(first.baseUrl('p'));
    await first.reset();
    const afterReset = await statuses(first.baseUrl('p'));
    await first.close();
    const second = await spawnEmulator(profile);
    const run2 = await statuses(second.baseUrl('p'));
    await second.close();
    expect(run1).toContain(500);
    expect(run1).toContain(200);
    expect(run2).toEqual(run1);
    expect(afterReset).toEqual(run1);
  }, 30_000);
});

describe('scripts', () => {
  const served = emulator({ p: { dialect: 'openai', model: 'gpt-5.4-mini' } });
  const status = async () => (await fetch(`${(await served).baseUrl('p')}/chat/completions`, { method: 'POST', body: chat(false) })).status;
  const statuses = async (n: number) => {
    const seen: number[] = [];
    for (let i = 0; i < n; i++) seen.push(await status());
    return seen;
  };

  it('a counted step runs its requests, a step without times or for lasts for good, and after the last step the provider is healthy', async () => {
    (await served).setScript('p', [{ kind: 'server', times: 2 }, { kind: 'overloaded' }]);
    expect(await statuses(5)).toEqual([500, 500, 503, 503, 503]);
    (await served).setScript('p', [{ kind: 'server', times: 2 }]);
    expect(await statuses(4)).toEqual([500, 500, 200, 200]);
  });

  it('timed steps follow each other like an outage timeline: each counts from the end of the one before, not from the next request', async () => {
    (await served).setScript('p', [{ kind: 'rate_limit', for: '1s' }, { kind: 'server', for: '1s' }]);
    expect(await status()).toBe(429);
    // No request during the second step: at 2.5 s both windows are over (a second step timed from this request served 500).
    await new Promise((r) => setTimeout(r, 2500));
    expect(await status()).toBe(200);
  });
});

describe('a stall is a stall for a non-streamed request too', () => {
  const served = emulator({ p: { dialect: 'openai', model: 'gpt-5.4-mini' } });
  it('the openai SDK gets the status and part of the body, then nothing: only the caller’s abort ends it', async () => {
    const server = await served;
    const client = new OpenAI({ apiKey: 'k', baseURL: server.baseUrl('p'), maxRetries: 0, defaultHeaders: { 'x-mock-fault': '{"kind":"stall"}' } });
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 500);
    const call = client.chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'hi' }] }, { signal: ac.signal });
    // It was answered as if healthy: a chaos test of a non-streaming client passed without meeting its fault.
    // (The abort lands while the SDK reads the body, which it rethrows as the platform's AbortError.)
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    clearTimeout(timer);
    expect(server.stats().p.faults.stall).toBe(1);
  });
});

describe('a refusal ended early by a new script or a reset', () => {
  const served = emulator({ p: { dialect: 'openai', model: 'gpt-5.4-mini', own_port: true, script: [{ kind: 'server', times: 1 }, { kind: 'ok' }] } });
  // A fresh connection each time: a refused port is what a new connection meets.
  const status = async () =>
    fetch(`${(await served).baseUrl('p')}/chat/completions`, { method: 'POST', headers: { connection: 'close' }, body: chat(false) }).then(
      (r) => r.status,
      (e: Error) => (e.cause as { code?: string } | undefined)?.code ?? e.message,
    );
  const admin = async (path: string, method: string, body?: unknown) => (await fetch(`${(await served).url}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) })).status;

  it('POST /_mock/reset reopens the port at once and the profile’s script starts from its first step', async () => {
    expect(await admin('/_mock/providers/p/script', 'PUT', [{ kind: 'refuse', for: '3s' }, { kind: 'ok' }])).toBe(200);
    expect(await status()).toBe('ECONNREFUSED');
    expect(await admin('/_mock/reset', 'POST')).toBe(200);
    // It stayed refused until the old step's 3 s ran out, whose end then skipped the profile's first step.
    expect(await status()).toBe(500);
    expect(await status()).toBe(200);
    await new Promise((r) => setTimeout(r, 3200));
    expect(await status()).toBe(200);
  }, 10_000);

  it('a new script without a refuse step takes connections at once', async () => {
    expect(await admin('/_mock/providers/p/script', 'PUT', [{ kind: 'refuse', for: '3s' }])).toBe(200);
    expect(await status()).toBe('ECONNREFUSED');
    expect(await admin('/_mock/providers/p/script', 'PUT', [{ kind: 'overloaded', times: 1 }, { kind: 'ok' }])).toBe(200);
    expect(await status()).toBe(503);
    expect(await status()).toBe(200);
  });
});

describe('a fault’s own message', () => {
  const dialects = ['openai', 'deepseek', 'moonshot', 'minimax', 'gemini', 'openrouter', 'anthropic'] as const;
  const served = emulator(Object.fromEntries(dialects.map((d) => [d, { dialect: d }])));
  it.each(dialects.flatMap((d) => (['rate_limit', 'server', 'auth'] as const).map((kind) => [d, kind] as const)))('%s %s: the body stays JSON, with the message where the dialect puts it', async (dialect, kind) => {
    const server = await served;
    const res = await fetch(`${server.baseUrl(dialect)}${dialect === 'anthropic' ? '/messages' : '/chat/completions'}`, {
      method: 'POST',
      headers: { 'x-mock-fault': JSON.stringify({ kind, message: 'scenario "A": quota gone' }), 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: server.profile.providers[dialect].model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = JSON.parse(await res.text()) as { error: { message: string } };
    // Gemini's OpenAI-compatible endpoint carries Google's error JSON as a string in error.message.
    const message = dialect === 'gemini' ? (JSON.parse(body.error.message) as { error: { message: string } }).error.message : body.error.message;
    expect(message).toBe('scenario "A": quota gone');
  });
});

describe('an OpenAI error after HTTP 200', () => {
  const served = emulator({ openai: { dialect: 'openai' } });
  it('is the recorded server_error data line, then [DONE], and the SDK throws it with its type', async () => {
    const server = await served;
    const url = `${server.baseUrl('openai')}/chat/completions`;
    const init = { method: 'POST', headers: { 'x-mock-fault': '{"kind":"error_event","after_tokens":1}' }, body: JSON.stringify({ model: 'gpt-5.4-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }) };
    // Recorded from OpenAI (sashabaranov/go-openai#396): data: {"error":{"message":"The server experienced an error ...","type":"server_error","param":null,"code":null}} then data: [DONE].
    const raw = await (await fetch(url, init)).text();
    const frames = raw.trim().split('\n\n');
    expect(frames.at(-1)).toBe('data: [DONE]');
    expect(JSON.parse(frames.at(-2)!.slice('data: '.length))).toEqual({ error: { message: expect.stringMatching(/^The server experienced an error while processing your request/), type: 'server_error', param: null, code: null } });
    const client = new OpenAI({ apiKey: 'k', baseURL: server.baseUrl('openai'), maxRetries: 0, defaultHeaders: { 'x-mock-fault': '{"kind":"error_event","after_tokens":1}' } });
    const error = await client.chat.completions.stream({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'hi' }] }).finalChatCompletion().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).type).toBe('server_error');
  });
});

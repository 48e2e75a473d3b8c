import { describe, expect, it } from 'vitest';
import { DIALECTS, profileFromObject, type Dialect } from '../src/mock/profile.js';
import { RateBudget } from '../src/mock/rate-budget.js';
import { adapterFor, ask, collect, emulator, errorOf, last } from './helpers.js';

/*
 * The emulator's per-minute budget (a profile's `rate_limit`): enforced as the services describe
 * theirs, and reported truthfully. Before it, every OpenAI and Anthropic answer carried a fixed
 * 10,000-a-minute budget that nothing enforced: past 10,000 requests the headers said none was left
 * while answers kept coming. The official SDKs judge the wire form (sdk-openai, sdk-anthropic tests).
 */

describe('RateBudget: two buckets that refill continuously', () => {
  it('admits a minute’s worth at once, then one request per 1/rpm of a minute', () => {
    const b = new RateBudget({ requests_per_minute: 3, tokens_per_minute: Infinity }, 0);
    expect([b.take(10, 0), b.take(10, 0), b.take(10, 0)]).toEqual([undefined, undefined, undefined]);
    expect(b.take(10, 0)).toEqual({ bucket: 'requests', tooLarge: false, waitMs: 20_000, requested: 10 });
    // a refused request takes nothing: 15 s later a third of a request is missing, not more
    expect(b.take(10, 15_000)?.waitMs).toBeCloseTo(5_000, 6);
    expect(b.take(10, 20_000)).toBeUndefined();
    expect(b.left(20_000)).toMatchObject({ requests: 0, requestsResetMs: 60_000, tokensResetMs: 0 });
    expect(b.left(80_000)).toMatchObject({ requests: 3, requestsResetMs: 0 });
  });

  it('counts prompt tokens, waits for the missing ones, and refuses for good a request larger than the minute', () => {
    const b = new RateBudget({ requests_per_minute: 100, tokens_per_minute: 600 }, 0);
    expect(b.take(500, 0)).toBeUndefined();
    // 100 left, 300 asked: 200 missing at 10 a second
    expect(b.take(300, 0)).toEqual({ bucket: 'tokens', tooLarge: false, waitMs: 20_000, requested: 300 });
    expect(b.take(601, 0)).toEqual({ bucket: 'tokens', tooLarge: true, waitMs: Infinity, requested: 601 });
    expect(b.left(0)).toMatchObject({ requests: 99, tokens: 100, tokensResetMs: 50_000 });
    expect(b.take(300, 20_000)).toBeUndefined();
  });
});

describe('profile: rate_limit', () => {
  const load = (rate_limit: unknown) => profileFromObject({ providers: { p: { dialect: 'openai', rate_limit } } }, 'profile.yaml');
  it('reads either limit alone; the other is not limited', () => {
    expect(load({ requests_per_minute: 500 }).providers.p.rate_limit).toEqual({ requests_per_minute: 500, tokens_per_minute: Infinity });
    expect(load({ tokens_per_minute: 30_000 }).providers.p.rate_limit).toEqual({ requests_per_minute: Infinity, tokens_per_minute: 30_000 });
  });
  it('says what is wrong and where', () => {
    expect(() => load({})).toThrow('profile.yaml: providers.p.rate_limit: give requests_per_minute and/or tokens_per_minute');
    expect(() => load({ rpm: 5 })).toThrow('profile.yaml: providers.p.rate_limit: unknown key "rpm"');
    expect(() => load({ requests_per_minute: 0.5 })).toThrow('providers.p.rate_limit.requests_per_minute: expected a whole number of 1 or more per minute, got 0.5');
    expect(() => load({ tokens_per_minute: '1k' })).toThrow('providers.p.rate_limit.tokens_per_minute: expected a whole number');
    expect(() => load(500)).toThrow('providers.p.rate_limit: expected a mapping');
  });
});

describe('the emulator enforces the budget its headers report', () => {
  it('answers while the headers say there is budget, and 429s once they say there is none', async () => {
    const server = await emulator({ oa: { dialect: 'openai', rate_limit: { requests_per_minute: 5, tokens_per_minute: 1_000_000 } } });
    const seen: [number, string | null, string | null][] = [];
    for (let i = 0; i < 8; i++) {
      const r = await fetch(`${server.baseUrl('oa')}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: server.profile.providers.oa.model, messages: [{ role: 'user', content: 'hi' }] }) });
      await r.arrayBuffer();
      seen.push([r.status, r.headers.get('x-ratelimit-remaining-requests'), r.headers.get('retry-after')]);
    }
    expect(seen.map((s) => s[0])).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(seen.map((s) => s[1])).toEqual(['4', '3', '2', '1', '0', '0', '0', '0']);
    // A twelfth of a minute (12 s) for the next request, less what has come back since the last one was
    // taken, in whole seconds rounded up: 12 unless this machine stalled past a second (the bucket's
    // arithmetic itself is checked to the millisecond above).
    const waits = seen.slice(5).map((s) => Number(s[2]));
    for (const w of waits) expect(w).toBeGreaterThanOrEqual(10), expect(w).toBeLessThanOrEqual(12);
    expect(waits).toEqual([...waits].sort((a, b) => b - a));
    expect(server.stats().oa).toMatchObject({ requests: 8, ok: 5, faults: { rate_limit_budget: 3 } });
  });

  it('a provider without a budget sends no rate-limit headers', async () => {
    const server = await emulator({ oa: { dialect: 'openai' }, an: { dialect: 'anthropic' } });
    const oa = await fetch(`${server.baseUrl('oa')}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: server.profile.providers.oa.model, messages: [{ role: 'user', content: 'hi' }] }) });
    const an = await fetch(`${server.baseUrl('an')}/messages`, { method: 'POST', headers: { 'anthropic-version': '2023-06-01' }, body: JSON.stringify({ model: server.profile.providers.an.model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }) });
    await Promise.all([oa.arrayBuffer(), an.arrayBuffer()]);
    expect([oa.status, an.status]).toEqual([200, 200]);
    expect(oa.headers.get('x-request-id')).toMatch(/^req_/);
    expect(an.headers.get('request-id')).toMatch(/^req_011C/);
    const rateHeaders = [...oa.headers.keys(), ...an.headers.keys()].filter((k) => k.includes('ratelimit'));
    expect(rateHeaders).toEqual([]);
  });

  const chat = (server: Awaited<ReturnType<typeof emulator>>, name: string, prompt: string, headers: Record<string, string> = {}) =>
    fetch(`${server.baseUrl(name)}/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model: server.profile.providers[name].model, messages: [{ role: 'user', content: prompt }] }) }).then(async (r) => ({
      status: r.status,
      headers: r.headers,
      body: await r.text(),
    }));

  it('openai charges max_tokens to the token budget with the prompt, as OpenAI does; anthropic the prompt alone', async () => {
    const server = await emulator({ oa: { dialect: 'openai', rate_limit: { tokens_per_minute: 100 } }, an: { dialect: 'anthropic', rate_limit: { tokens_per_minute: 100 } } });
    const send = (name: string, api: string) =>
      fetch(`${server.baseUrl(name)}${api}`, { method: 'POST', headers: { 'anthropic-version': '2023-06-01' }, body: JSON.stringify({ model: server.profile.providers[name].model, max_tokens: 200, messages: [{ role: 'user', content: 'hi' }] }) }).then(async (r) => ({ status: r.status, body: await r.text(), retryAfter: r.headers.get('retry-after') }));
    const oa = await send('oa', '/chat/completions');
    expect(oa.status).toBe(429);
    expect(JSON.parse(oa.body).error.message).toMatch(/^Request too large for .* on tokens per min \(TPM\): Limit 100, Requested 20\d\./);
    expect(oa.retryAfter).toBeNull();
    expect((await send('an', '/messages')).status).toBe(200);
  });

  it('a request the budget refuses meets no scripted fault: the script waits for admitted requests', async () => {
    const server = await emulator({ oa: { dialect: 'openai', rate_limit: { tokens_per_minute: 100 }, script: [{ kind: 'overloaded', times: 2 }, { kind: 'ok' }] } });
    const tokens = (n: number) => 'word '.repeat(n);
    const first = await chat(server, 'oa', tokens(45)); // about 60 of the 100 tokens: admitted, the script's first 503
    const refused = await chat(server, 'oa', tokens(45)); // 40 left: refused by the budget
    const third = await chat(server, 'oa', 'hi'); // admitted: the script's second 503, not eaten by the refusal
    expect([first.status, refused.status, third.status]).toEqual([503, 429, 503]);
    expect(JSON.parse(refused.body).error).toMatchObject({ type: 'tokens', code: 'rate_limit_exceeded' });
    expect(JSON.parse(refused.body).error.message).toMatch(/on tokens per min \(TPM\): Limit 100, Used \d+, Requested \d+\. Please try again in [\d.]+s\./);
    expect(server.stats().oa.faults).toEqual({ overloaded: 2, rate_limit_budget: 1 });
  });

  it('an injected rate-limit fault takes nothing from the budget, and its headers say it is spent', async () => {
    const server = await emulator({ oa: { dialect: 'openai', rate_limit: { requests_per_minute: 1 } } });
    const faulted = await chat(server, 'oa', 'hi', { 'x-mock-fault': JSON.stringify({ kind: 'rate_limit', retry_after_ms: 1500 }) });
    expect(faulted.status).toBe(429);
    expect(faulted.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(faulted.headers.get('x-ratelimit-reset-requests')).toBe('1.5s');
    expect((await chat(server, 'oa', 'hi')).status).toBe(200);
    expect((await chat(server, 'oa', 'hi')).status).toBe(429);
  });

  it('Anthropic reset times are never before the bucket is whole again', async () => {
    const server = await emulator({ an: { dialect: 'anthropic', rate_limit: { requests_per_minute: 60, tokens_per_minute: 6_000 } } });
    for (let i = 0; i < 3; i++) {
      const before = Date.now();
      const r = await fetch(`${server.baseUrl('an')}/messages`, { method: 'POST', headers: { 'anthropic-version': '2023-06-01' }, body: JSON.stringify({ model: server.profile.providers.an.model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }) });
      await r.arrayBuffer();
      // one request taken at 1 a second: whole again a second after it was taken, at the earliest
      const reset = Date.parse(r.headers.get('anthropic-ratelimit-requests-reset')!);
      expect(reset).toBeGreaterThanOrEqual(before + 1000);
      expect(reset).toBeLessThanOrEqual(Date.now() + 2000);
      await new Promise((resolve) => setTimeout(resolve, 1100)); // whole again
    }
  });

  it('POST /_mock/reset makes the budget whole again', async () => {
    const server = await emulator({ oa: { dialect: 'openai', rate_limit: { requests_per_minute: 1 } } });
    const once = async () => {
      const r = await fetch(`${server.baseUrl('oa')}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: server.profile.providers.oa.model, messages: [{ role: 'user', content: 'hi' }] }) });
      await r.arrayBuffer();
      return r.status;
    };
    expect([await once(), await once()]).toEqual([200, 429]);
    await fetch(`${server.url}/_mock/reset`, { method: 'POST' });
    expect(await once()).toBe(200);
  });

  // Our adapters read each dialect's budget 429 as a rate limit to retry after the time it names.
  const budgeted = Object.fromEntries(DIALECTS.map((d) => [d, { dialect: d, rate_limit: { requests_per_minute: 1 } }])) as Record<Dialect, { dialect: Dialect; rate_limit: { requests_per_minute: number } }>;
  for (const dialect of DIALECTS) {
    it(`${dialect}: the adapter reads a spent budget as a retryable rate limit with its Retry-After`, async () => {
      const server = await emulator({ [dialect]: budgeted[dialect] });
      const adapter = adapterFor(server, dialect);
      const req = ask('hi', { maxTokens: 50 });
      expect(last(await collect(adapter, req)).type).toBe('finish');
      const error = errorOf(await collect(adapter, req));
      expect(error).toMatchObject({ errorClass: 'rate_limit', status: 429, isRetryable: true });
      // a minute for the next request, less what came back since the first (whole seconds, rounded up)
      expect(error.retryAfterMs).toBeGreaterThanOrEqual(55_000);
      expect(error.retryAfterMs).toBeLessThanOrEqual(60_000);
    });
  }
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FallbackChain, type ChainOptions, type ChainProvider } from '../src/chain/chain.js';
import { refusedUrl } from '../src/mock/server.js';
import type { MockServer } from '../src/mock/server.js';
import { createAdapter } from '../src/providers/index.js';
import { BreakerStore } from '../src/state/breaker.js';
import { AnswerCache, cacheKey } from '../src/state/cache.js';
import { emulator } from './helpers.js';

const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  a: { dialect: 'openai', output_tokens: c(6) },
  b: { dialect: 'deepseek', output_tokens: c(7) },
  cc: { dialect: 'anthropic', output_tokens: c(8) },
  slow: { dialect: 'openai', ttft: c(1500), output_tokens: c(5) },
  small: { dialect: 'openai', output_tokens: c(5), context_window: 100_000 },
});

const T = { connect: 1000, firstToken: 2000, idle: 1000, total: 10_000 };

function providers(s: MockServer, names: string[], over: Record<string, Partial<ChainProvider> & { fault?: object }> = {}): ChainProvider[] {
  return names.map((name) => {
    const spec = s.profile.providers[name];
    const o = over[name] ?? {};
    const headers: Record<string, string> = o.fault ? { 'x-mock-fault': JSON.stringify(o.fault) } : {};
    return {
      name,
      model: spec.model,
      adapter: createAdapter({ name, api: spec.dialect === 'anthropic' ? 'anthropic' : 'openai', baseUrl: s.baseUrl(name), model: spec.model, headers, params: {}, timeouts: {} }),
      price: { input: 1, cachedInput: 0.5, output: 2, pricedAt: '2026-11-24' },
      timeouts: T,
      breakerKey: `test:${name}:${Math.random()}`,
      ...o,
    };
  });
}

const opts = (over: Partial<ChainOptions> = {}): ChainOptions => ({
  retries: 2,
  backoffBaseMs: 20,
  backoffCapMs: 100,
  deadlineMs: 10_000,
  onContentFilter: 'stop',
  firstTokenMsPerPromptToken: 0,
  random: () => 0.5,
  ...over,
});

const q = { messages: [{ role: 'user' as const, content: 'What is a circuit breaker?' }] };
const words = (s: string) => s.trim().split(' ').length;

describe('fallback chain decisions per error class', () => {
  it.each(['rate_limit', 'overloaded', 'server', 'reset'])('%s: retries the same provider (1 + 2 tries), then falls over', async (kind) => {
    const before = server.stats().a.requests;
    const r = await new FallbackChain(providers(server, ['a', 'b'], { a: { fault: { kind } } }), opts()).run(q);
    expect(r.source).toBe('live');
    expect(r.provider).toBe('b');
    expect(r.attempts.map((a) => [a.provider, a.decision])).toEqual([
      ['a', 'retry'],
      ['a', 'retry'],
      ['a', 'fallover'],
      ['b', 'success'],
    ]);
    expect(server.stats().a.requests - before).toBe(3);
    expect(words(r.content)).toBe(7);
  });

  it.each(['auth', 'billing'])('%s: no retry, falls over at once', async (kind) => {
    const r = await new FallbackChain(providers(server, ['a', 'b'], { a: { fault: { kind } } }), opts()).run(q);
    expect(r.attempts.map((a) => [a.provider, a.decision, a.error_class])).toEqual([
      ['a', 'fallover', kind],
      ['b', 'success', null],
    ]);
  });

  it('honours Retry-After on every attempt', async () => {
    const t0 = Date.now();
    const r = await new FallbackChain(providers(server, ['a', 'b'], { a: { fault: { kind: 'rate_limit', retry_after_ms: 300 } } }), opts({ retries: 1 })).run(q);
    expect(r.attempts[0].wait_ms).toBe(300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(r.provider).toBe('b');
  });

  it('falls over at once instead of sleeping past the deadline', async () => {
    const t0 = Date.now();
    const r = await new FallbackChain(providers(server, ['a', 'b'], { a: { fault: { kind: 'rate_limit', retry_after: 30 } } }), opts({ deadlineMs: 5000 })).run(q);
    expect(r.attempts.map((a) => a.decision)).toEqual(['fallover', 'success']);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('context_length: skips providers whose window cannot fit the prompt, without a request', async () => {
    const before = server.stats().small.requests;
    const long = { messages: [{ role: 'user' as const, content: 'x'.repeat(500_000) }] };
    const r = await new FallbackChain(providers(server, ['small', 'a'], { small: { contextWindow: 100_000 }, a: { contextWindow: 200_000 } }), opts()).run(long);
    expect(r.provider).toBe('a');
    expect(r.attempts[0].decision).toBe('skipped_context_window');
    expect(server.stats().small.requests).toBe(before);
  });

  it('context_length from a provider: never resent to it, and a clear error when nothing fits', async () => {
    const r = await new FallbackChain(providers(server, ['a', 'b'], { a: { fault: { kind: 'context_length' }, contextWindow: 8000 }, b: { contextWindow: 8000 } }), opts()).run(q);
    expect(r.attempts.map((a) => [a.provider, a.decision])).toEqual([
      ['a', 'fallover'],
      ['b', 'skipped_context_window'],
    ]);
    expect(r.source).toBe('none');
    const none = await new FallbackChain(providers(server, ['a', 'b'], { a: { contextWindow: 5 }, b: { contextWindow: 8 } }), opts()).run(q); // the prompt is ~11 tokens
    expect(none.source).toBe('none');
    expect(none.error!.message).toMatch(/does not fit any provider's context window in this chain \(largest: 8\)/);
  });

  it('content_filter: returns the refusal without trying others; fallover when configured', async () => {
    const stop = await new FallbackChain(providers(server, ['a', 'b'], { a: { fault: { kind: 'content_filter' } } }), opts({ staticMessage: 'static' })).run(q);
    expect(stop.source).toBe('none');
    expect(stop.error!.class).toBe('content_filter');
    expect(stop.attempts).toHaveLength(1);
    const go = await new FallbackChain(providers(server, ['a', 'b'], { a: { fault: { kind: 'content_filter' } } }), opts({ onContentFilter: 'fallover' })).run(q);
    expect(go.provider).toBe('b');
  });

  it('the caller’s abort stops everything at once, with no fallback', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const t0 = Date.now();
    const r = await new FallbackChain(providers(server, ['slow', 'a']), opts({ signal: ac.signal, staticMessage: 'static' })).run(q);
    expect(r.source).toBe('none');
    expect(r.error!.class).toBe('cancelled');
    expect(r.attempts.map((a) => a.provider)).toEqual(['slow']);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('a silent provider costs one first-token timeout, not several request timeouts', async () => {
    const t0 = Date.now();
    // default policy (2 retries): silence is not retried
    const r = await new FallbackChain(providers(server, ['a', 'b'], { a: { fault: { kind: 'hang' }, timeouts: { ...T, firstToken: 300 } } }), opts()).run(q);
    expect(r.provider).toBe('b');
    expect(r.attempts.map((a) => [a.provider, a.error_detail, a.decision])).toEqual([
      ['a', 'timeout:first_token', 'fallover'],
      ['b', null, 'success'],
    ]);
    expect(Date.now() - t0).toBeLessThan(300 + 1500);
  });

  it('a refused connection falls over to the next provider', async () => {
    const dead = { ...providers(server, ['a'])[0], name: 'dead', adapter: createAdapter({ name: 'dead', api: 'openai', baseUrl: await refusedUrl(), model: 'm', headers: {}, params: {}, timeouts: {} }) };
    const r = await new FallbackChain([dead, ...providers(server, ['b'])], opts({ retries: 1 })).run(q);
    expect(r.attempts.map((a) => [a.provider, a.error_detail, a.decision])).toEqual([
      ['dead', 'network:ECONNREFUSED', 'retry'],
      ['dead', 'network:ECONNREFUSED', 'fallover'],
      ['b', null, 'success'],
    ]);
  });
});

describe('mid-stream failures are never an answer', () => {
  it.each([
    { kind: 'cut', after_tokens: 3 },
    { kind: 'stall', after_tokens: 3 },
    { kind: 'malformed', after_tokens: 3 },
    { kind: 'error_event', after_tokens: 3 },
    { kind: 'no_finish' },
  ])('%j: the caller gets only the next provider’s complete answer', async (fault) => {
    const r = await new FallbackChain(providers(server, ['a', 'b'], { a: { fault, timeouts: { ...T, idle: 300 } } }), opts()).run(q);
    expect(r.source).toBe('live');
    expect(r.provider).toBe('b');
    expect(words(r.content)).toBe(7); // b's whole answer, nothing of a's
    expect(r.attempts[0].decision).toBe('fallover'); // output had started: not retried on the same provider
  });

  it('on a live sink, shows tokens, a restart marker, then the complete answer from the next provider', async () => {
    const out: string[] = [];
    const sink = { token: (t: string) => out.push(t), restart: (f: string, e: { detail: string }, n: string | null) => out.push(`[${f} failed: ${e.detail}; next ${n}]`) };
    const r = await new FallbackChain(providers(server, ['a', 'b'], { a: { fault: { kind: 'cut', after_tokens: 2 } } }), opts({ sink })).run(q);
    const marker = out.findIndex((s) => s.startsWith('['));
    expect(marker).toBe(2); // two tokens of a shown first
    expect(out[marker]).toMatch(/^\[a failed: incomplete_stream(:\w+)?; next b\]$/);
    expect(out.slice(marker + 1).join('')).toBe(r.content);
  });
});

describe('cache and static tiers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmf-chain-'));
  const env = { XDG_CACHE_HOME: join(dir, 'cache'), XDG_STATE_HOME: join(dir, 'state') };
  const key = cacheKey(q);

  it('serves the last good answer for the same request when every live provider fails, then the static message', async () => {
    const store = new AnswerCache(60_000, env);
    const good = await new FallbackChain(providers(server, ['a']), opts({ cache: { store, key } })).run(q);
    expect(good.source).toBe('live');
    const down = providers(server, ['a', 'b'], { a: { fault: { kind: 'overloaded' } }, b: { fault: { kind: 'overloaded' } } });
    const cached = await new FallbackChain(down, opts({ retries: 0, cache: { store, key }, staticMessage: 'sorry' })).run(q);
    expect(cached.source).toBe('cache');
    expect(cached.content).toBe(good.content);
    expect(cached.provider).toBe('a');
    const other = await new FallbackChain(down, opts({ retries: 0, cache: { store, key: cacheKey({ messages: [{ role: 'user', content: 'another question' }] }) }, staticMessage: 'sorry' })).run(q);
    expect(other.source).toBe('static');
    expect(other.content).toBe('sorry');
    const none = await new FallbackChain(down, opts({ retries: 0 })).run(q);
    expect(none.source).toBe('none');
    expect(none.attempts).toHaveLength(2);
  });

  it('never caches a truncated answer', async () => {
    const store = new AnswerCache(60_000, env);
    const k = cacheKey({ ...q, maxTokens: 2 });
    const r = await new FallbackChain(providers(server, ['a']), opts({ cache: { store, key: k } })).run({ ...q, maxTokens: 2 });
    expect(r.truncated).toBe(true);
    expect(r.finish_reason).toBe('length');
    expect(store.get(k)).toBeUndefined();
  });
});

describe('circuit breaker across calls', () => {
  it('opens during an outage, skips the dead provider without a request, and returns to it after it recovers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmf-breaker-'));
    const breakers = new BreakerStore({ failures: 3, cooldownMs: 600, probeTimeoutMs: 5000 }, { XDG_STATE_HOME: dir });
    const s = await emulator({ primary: { dialect: 'openai', output_tokens: c(4) }, backup: { dialect: 'openai', output_tokens: c(5) } });
    s.setScript('primary', [{ kind: 'overloaded', for: '1s' }, { kind: 'ok' }]);
    const chain = () => new FallbackChain(providers(s, ['primary', 'backup'], { primary: { breakerKey: 'primary' }, backup: { breakerKey: 'backup' } }), opts({ retries: 2, breakers }));
    const first = await chain().run(q); // 3 failures: opens
    expect(first.provider).toBe('backup');
    expect(breakers.get('primary')!.state).toBe('open');
    const hits = s.stats().primary.requests;
    const second = await chain().run(q);
    expect(second.provider).toBe('backup');
    expect(second.attempts[0].decision).toBe('skipped_breaker_open');
    expect(s.stats().primary.requests).toBe(hits); // not touched while open
    await new Promise((r) => setTimeout(r, 1100)); // cooldown over, outage over
    const third = await chain().run(q);
    expect(third.provider).toBe('primary'); // the half-open probe succeeded
    expect(breakers.get('primary')!.state).toBe('closed');
  });
});

describe('hedging', () => {
  it('starts the next provider when the first gives no token in time, keeps the first to answer, aborts the other', async () => {
    const t0 = Date.now();
    const r = await new FallbackChain(providers(server, ['slow', 'a']), opts({ hedgeMs: 200 })).run(q);
    expect(r.provider).toBe('a');
    expect(Date.now() - t0).toBeLessThan(1200);
    expect(r.attempts.map((a) => [a.provider, a.decision, a.hedged])).toEqual([
      ['slow', 'hedge_lost', true],
      ['a', 'success', true],
    ]);
  });

  it('does not hedge when the first provider answers in time', async () => {
    const r = await new FallbackChain(providers(server, ['a', 'b']), opts({ hedgeMs: 500 })).run(q);
    expect(r.attempts.map((a) => a.provider)).toEqual(['a']);
  });
});

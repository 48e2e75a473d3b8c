import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FallbackChain, type ChainEvent, type ChainOptions, type ChainProvider } from '../src/chain/chain.js';
import type { MockServer } from '../src/mock/server.js';
import { createAdapter } from '../src/providers/index.js';
import { FileBreakers, MemoryBreakers } from '../src/state/breaker.js';
import { MemoryLatencyHistory } from '../src/state/latency.js';
import { FileAnswerCache, cacheKey } from '../src/state/cache.js';
import { CHAIN_TEST_TIMEOUTS as T, chainProviders, emulator, refusedUrl } from './helpers.js';

const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  a: { dialect: 'openai', output_tokens: c(6) },
  b: { dialect: 'deepseek', output_tokens: c(7) },
  cc: { dialect: 'anthropic', output_tokens: c(8) },
  slow: { dialect: 'openai', ttft: c(1500), output_tokens: c(5) },
  long: { dialect: 'openai', itl: c(10), output_tokens: c(30) },
  thinker: { dialect: 'deepseek', ttft: c(50), itl: c(40), reasoning_tokens: 40, output_tokens: c(5) },
  small: { dialect: 'openai', output_tokens: c(5), context_window: 100_000 },
});

/** `over[name]` may carry a `fault` (sent as x-mock-fault on every request) beside fields to replace. */
function providers(s: MockServer, names: string[], over: Record<string, Partial<ChainProvider> & { fault?: object }> = {}): ChainProvider[] {
  const faults: Record<string, object> = {};
  const fields: Record<string, Partial<ChainProvider>> = {};
  for (const [name, { fault, ...rest }] of Object.entries(over)) {
    if (fault) faults[name] = fault;
    fields[name] = rest;
  }
  return chainProviders(s, names, { faults, over: fields });
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
  it.each(['rate_limit', 'overloaded', 'server', 'reset'])('%s with a healthy next provider: falls over at once, one request to the failing one', async (kind) => {
    const before = server.stats().a.requests;
    const r = await new FallbackChain(providers(server, ['a', 'b'], { a: { fault: { kind } } }), opts()).run(q);
    expect(r.source).toBe('live');
    expect(r.provider).toBe('b');
    expect(r.attempts.map((a) => [a.provider, a.decision, a.wait_ms])).toEqual([
      ['a', 'fallover', null],
      ['b', 'success', null],
    ]);
    expect(server.stats().a.requests - before).toBe(1);
    expect(words(r.content)).toBe(7);
  });

  it.each(['rate_limit', 'overloaded', 'server', 'reset'])('%s on the last live option: retried with backoff (1 + 2 tries)', async (kind) => {
    const before = server.stats().a.requests;
    const r = await new FallbackChain(providers(server, ['a'], { a: { fault: { kind } } }), opts({ staticMessage: 'sorry' })).run(q);
    expect(r.source).toBe('static');
    expect(r.attempts.map((a) => [a.provider, a.decision])).toEqual([
      ['a', 'retry'],
      ['a', 'retry'],
      ['a', 'stop'], // nothing is asked after it: the static message stands in
    ]);
    expect(r.attempts[0].wait_ms).toBe(10); // full jitter: random 0.5 × base 20
    expect(r.attempts[1].wait_ms).toBe(20); // 0.5 × 20·2
    expect(server.stats().a.requests - before).toBe(3);
  });

  it('retry_same_first: the pre-#10 policy, the same provider first, then the next', async () => {
    const before = server.stats().a.requests;
    const r = await new FallbackChain(providers(server, ['a', 'b'], { a: { fault: { kind: 'overloaded' } } }), opts({ retrySameFirst: true })).run(q);
    expect(r.attempts.map((a) => [a.provider, a.decision])).toEqual([
      ['a', 'retry'],
      ['a', 'retry'],
      ['a', 'fallover'],
      ['b', 'success'],
    ]);
    expect(server.stats().a.requests - before).toBe(3);
  });

  it('comes back to a provider that failed fast once the providers after it failed too', async () => {
    const s = await emulator({ p: { dialect: 'openai', output_tokens: c(4) }, q: { dialect: 'openai', output_tokens: c(5) } });
    s.setScript('p', [{ kind: 'overloaded', times: 1 }, { kind: 'ok' }]);
    s.setScript('q', [{ kind: 'auth' }]);
    const r = await new FallbackChain(providers(s, ['p', 'q']), opts()).run(q);
    expect(r.provider).toBe('p');
    expect(r.attempts.map((a) => [a.provider, a.decision, a.error_class])).toEqual([
      ['p', 'fallover', 'overloaded'],
      ['q', 'fallover', 'auth'],
      ['p', 'success', null],
    ]);
  });
  it.each(['auth', 'billing'])('%s: no retry, falls over at once', async (kind) => {
    const r = await new FallbackChain(providers(server, ['a', 'b'], { a: { fault: { kind } } }), opts()).run(q);
    expect(r.attempts.map((a) => [a.provider, a.decision, a.error_class])).toEqual([
      ['a', 'fallover', kind],
      ['b', 'success', null],
    ]);
  });

  it('honours Retry-After when the provider is the last live option', async () => {
    const s = await emulator({ one: { dialect: 'openai', output_tokens: c(4) } });
    s.setScript('one', [{ kind: 'rate_limit', retry_after_ms: 300, times: 1 }, { kind: 'ok' }]);
    const t0 = Date.now();
    const r = await new FallbackChain(providers(s, ['one']), opts()).run(q);
    expect(r.provider).toBe('one');
    expect(r.attempts.map((a) => [a.decision, a.wait_ms])).toEqual([
      ['retry', 300],
      ['success', null],
    ]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
  });

  it('does not wait for a Retry-After when a healthy provider is next', async () => {
    const t0 = Date.now();
    const r = await new FallbackChain(providers(server, ['a', 'b'], { a: { fault: { kind: 'rate_limit', retry_after: 5 } } }), opts()).run(q);
    expect(r.attempts.map((a) => a.decision)).toEqual(['fallover', 'success']);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('falls over at once instead of sleeping past the deadline, however long the server asks', async () => {
    for (const fault of [{ kind: 'rate_limit', retry_after: 99999999999999 }, { kind: 'rate_limit', retry_after_ms: 1e300 }, { kind: 'rate_limit', retry_after: 30 }]) {
      const t0 = Date.now();
      const r = await new FallbackChain(providers(server, ['a'], { a: { fault } }), opts({ deadlineMs: 5000, staticMessage: 'sorry' })).run(q);
      expect(r.attempts.map((a) => a.decision)).toEqual(['stop']);
      expect(r.source).toBe('static');
      expect(Date.now() - t0).toBeLessThan(2000);
    }
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
    // the last live option stays silent: not retried (hedge off, so only the clock acts)
    const r = await new FallbackChain(providers(server, ['a'], { a: { fault: { kind: 'hang' }, timeouts: { ...T, firstToken: 300 } } }), opts({ hedge: { kind: 'off' }, staticMessage: 'sorry' })).run(q);
    expect(r.attempts.map((a) => [a.provider, a.error_detail, a.decision])).toEqual([['a', 'timeout:first_token', 'stop']]);
    expect(Date.now() - t0).toBeLessThan(300 + 1500);
  });

  it('a refused connection (the emulator’s own port, refusing) falls over at once, and is retried when it is the last option', async () => {
    const s = await emulator({ dc: { dialect: 'openai', own_port: true, output_tokens: c(4) }, ok: { dialect: 'openai', output_tokens: c(5) } });
    s.setScript('dc', [{ kind: 'refuse', for: '60s' }]);
    const r = await new FallbackChain(providers(s, ['dc', 'ok']), opts({ retries: 1 })).run(q);
    expect(r.attempts.map((a) => [a.provider, a.error_detail, a.decision])).toEqual([
      ['dc', 'network:ECONNREFUSED', 'fallover'],
      ['ok', null, 'success'],
    ]);
    const last = await new FallbackChain(providers(s, ['dc']), opts({ retries: 1 })).run(q);
    expect(last.attempts.map((a) => [a.provider, a.error_detail, a.decision])).toEqual([
      ['dc', 'network:ECONNREFUSED', 'retry'],
      ['dc', 'network:ECONNREFUSED', 'stop'],
    ]);
  });

  it('a refused loopback port with nothing listening falls over at once', async () => {
    const dead = { ...providers(server, ['a'])[0], name: 'dead', adapter: createAdapter({ name: 'dead', api: 'openai', baseUrl: await refusedUrl(), model: 'm', headers: {}, params: {}, timeouts: {} }) };
    const r = await new FallbackChain([dead, ...providers(server, ['b'])], opts()).run(q);
    expect(r.attempts.map((a) => [a.provider, a.error_detail, a.decision])).toEqual([
      ['dead', 'network:ECONNREFUSED', 'fallover'],
      ['b', null, 'success'],
    ]);
  });
});

describe('the chain as a stream of events', () => {
  const steps = (events: ChainEvent[]) =>
    events.filter((e) => e.type !== 'token').map((e) => (e.type === 'attempt_start' ? `start:${e.provider}` : e.type === 'attempt_end' ? `end:${e.attempt.provider}:${e.attempt.decision}` : e.type === 'tier' ? `tier:${e.tier}` : e.type));
  it('yields each attempt, the tokens of the one it committed to, and one answer; run() is its fold', async () => {
    const events: ChainEvent[] = [];
    for await (const ev of new FallbackChain(providers(server, ['a', 'b'], { a: { fault: { kind: 'overloaded' } } }), opts()).stream(q)) events.push(ev);
    expect(steps(events)).toEqual(['start:a', 'end:a:fallover', 'start:b', 'end:b:success', 'answer']);
    const answer = events.at(-1) as Extract<ChainEvent, { type: 'answer' }>;
    const tokens = events.filter((e) => e.type === 'token').map((e) => (e as { text: string }).text);
    expect(tokens.join('')).toBe(answer.result.content);
    expect(events.filter((e) => e.type === 'token').every((e) => (e as { provider: string }).provider === 'b')).toBe(true);
  });

  it('names the tier that answered when no live provider could', async () => {
    const events: ChainEvent[] = [];
    for await (const ev of new FallbackChain(providers(server, ['a'], { a: { fault: { kind: 'auth' } } }), opts({ staticMessage: 'sorry' })).stream(q)) events.push(ev);
    expect(steps(events)).toEqual(['start:a', 'end:a:stop', 'tier:static', 'answer']);
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

  it("a caller that has shown the answer stops the chain at the cut: no next provider is asked, and no tier stands in", async () => {
    const asked = server.stats().b.requests;
    const events: ChainEvent[] = [];
    const chain = new FallbackChain(providers(server, ['a', 'b'], { a: { fault: { kind: 'cut', after_tokens: 3 } } }), opts({ staticMessage: 'sorry', afterMidStreamFailure: () => 'stop' }));
    for await (const ev of chain.stream(q)) events.push(ev);
    const restart = events.find((e) => e.type === 'restart') as Extract<ChainEvent, { type: 'restart' }>;
    expect(restart.next).toBeNull();
    const r = (events.at(-1) as Extract<ChainEvent, { type: 'answer' }>).result;
    expect(r.source).toBe('none');
    expect(r.error?.class).toBe('incomplete_stream');
    expect(r.attempts.map((a) => `${a.provider}:${a.decision}`)).toEqual(['a:stop']);
    expect(server.stats().b.requests).toBe(asked);
    // Asked 'fallover', the same cut goes on to b as before.
    const on = await new FallbackChain(providers(server, ['a', 'b'], { a: { fault: { kind: 'cut', after_tokens: 3 } } }), opts({ afterMidStreamFailure: () => 'fallover' })).run(q);
    expect(on.provider).toBe('b');
  });

  it('an answer cut by the call deadline names no next provider: none will be asked', async () => {
    const asked = server.stats().b.requests;
    const events: ChainEvent[] = [];
    // a stalls after 3 tokens under a long idle clock: the call's deadline (800 ms) is what ends it.
    const chain = new FallbackChain(providers(server, ['a', 'b'], { a: { fault: { kind: 'stall', after_tokens: 3 }, timeouts: { ...T, idle: 30_000 } } }), opts({ deadlineMs: 800 }));
    for await (const ev of chain.stream(q)) events.push(ev);
    const restart = events.find((e) => e.type === 'restart') as Extract<ChainEvent, { type: 'restart' }>;
    expect(restart.error.detail).toBe('timeout:total');
    expect(restart.next).toBeNull();
    expect(events.filter((e) => e.type === 'attempt_start').map((e) => e.provider)).toEqual(['a']);
    expect((events.at(-1) as Extract<ChainEvent, { type: 'answer' }>).result.source).toBe('none');
    expect(server.stats().b.requests).toBe(asked);
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
    const store = new FileAnswerCache(60_000, env);
    const goodChain = new FallbackChain(providers(server, ['a']), opts({ cache: { store, key: () => key } }));
    const good = await goodChain.run(q);
    await goodChain.settled; // cached after the answer
    expect(good.source).toBe('live');
    const down = providers(server, ['a', 'b'], { a: { fault: { kind: 'overloaded' } }, b: { fault: { kind: 'overloaded' } } });
    const cached = await new FallbackChain(down, opts({ retries: 0, cache: { store, key: () => key }, staticMessage: 'sorry' })).run(q);
    expect(cached.source).toBe('cache');
    expect(cached.content).toBe(good.content);
    expect(cached.provider).toBe('a');
    const other = await new FallbackChain(down, opts({ retries: 0, cache: { store, key: () => cacheKey({ messages: [{ role: 'user', content: 'another question' }] }) }, staticMessage: 'sorry' })).run(q);
    expect(other.source).toBe('static');
    expect(other.content).toBe('sorry');
    const none = await new FallbackChain(down, opts({ retries: 0 })).run(q);
    expect(none.source).toBe('none');
    expect(none.attempts).toHaveLength(2);
  });

  it('never caches a truncated answer', async () => {
    const store = new FileAnswerCache(60_000, env);
    const k = cacheKey({ ...q, maxTokens: 2 });
    const chain = new FallbackChain(providers(server, ['a']), opts({ cache: { store, key: () => k } }));
    const r = await chain.run({ ...q, maxTokens: 2 });
    await chain.settled;
    expect(r.truncated).toBe(true);
    expect(r.finish_reason).toBe('length');
    expect(await store.get(k)).toBeUndefined();
  });
});

describe('circuit breaker across calls', () => {
  it('opens during an outage, skips the dead provider without a request or a write, and returns to it after it recovers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmf-breaker-'));
    const breakers = new FileBreakers({ failures: 1, cooldownMs: 600, probeTimeoutMs: 5000 }, { XDG_STATE_HOME: dir });
    const s = await emulator({ primary: { dialect: 'openai', output_tokens: c(4) }, backup: { dialect: 'openai', output_tokens: c(5) } });
    s.setScript('primary', [{ kind: 'overloaded', for: '1s' }, { kind: 'ok' }]);
    const chain = () => new FallbackChain(providers(s, ['primary', 'backup'], { primary: { breakerKey: 'primary' }, backup: { breakerKey: 'backup' } }), opts({ breakers }));
    const call = async () => {
      const ch = chain();
      const r = await ch.run(q);
      await ch.settled; // the state is written after the answer
      return r;
    };
    const first = await call(); // 1 failure: opens
    expect(first.provider).toBe('backup');
    expect((await breakers.get('primary'))!.state).toBe('open');
    const hits = s.stats().primary.requests;
    const file = join(dir, 'llm-fallback', 'breakers.json');
    const written = statSync(file).mtimeMs;
    const second = await call();
    expect(second.provider).toBe('backup');
    expect(second.attempts[0].decision).toBe('skipped_breaker_open');
    expect(second.attempts[0].error_message).toMatch(/^circuit open until \d{4}-\d\d-\d\dT/);
    expect(s.stats().primary.requests).toBe(hits); // not touched while open
    expect(statSync(file).mtimeMs).toBe(written); // skipping wrote nothing
    await new Promise((r) => setTimeout(r, 1100)); // cooldown over, outage over
    const third = await call();
    expect(third.provider).toBe('primary'); // the half-open probe succeeded
    expect((await breakers.get('primary'))!.state).toBe('closed');
  });

  it('a hostile Retry-After opens the breaker for at most an hour, and later calls still fall over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmf-breaker-'));
    const warnings: string[] = [];
    const breakers = new FileBreakers({ failures: 1, cooldownMs: 600, probeTimeoutMs: 5000 }, { XDG_STATE_HOME: dir }, (m) => warnings.push(m));
    const chain = (fault?: object) => new FallbackChain(providers(server, ['a', 'b'], { a: { breakerKey: 'a', fault }, b: { breakerKey: 'b' } }), opts({ breakers }));
    const t0 = Date.now();
    const hostile = chain({ kind: 'rate_limit', retry_after: 99999999999999 });
    const first = await hostile.run(q);
    await hostile.settled;
    expect(first.provider).toBe('b');
    const rec = (await breakers.get('a'))!;
    expect(rec.open_until! - t0).toBeLessThanOrEqual(3_600_000 + 5_000);
    expect(rec.open_until! - t0).toBeGreaterThan(3_000_000);
    const second = await chain().run(q);
    expect(second.provider).toBe('b');
    expect(second.attempts[0].decision).toBe('skipped_breaker_open');
    expect(warnings).toEqual([]);
  });

  it('the memory store keeps the same rules (for tests and long-running processes)', async () => {
    const breakers = new MemoryBreakers({ failures: 2, cooldownMs: 60_000, probeTimeoutMs: 5000 });
    const call = async () => {
      const ch = new FallbackChain(providers(server, ['a', 'b'], { a: { breakerKey: 'a', fault: { kind: 'server' } }, b: { breakerKey: 'b' } }), opts({ breakers }));
      const r = await ch.run(q);
      await ch.settled;
      return r.attempts[0].decision;
    };
    expect(await call()).toBe('fallover');
    expect(await call()).toBe('fallover');
    expect(await call()).toBe('skipped_breaker_open');
  });
});

describe('hedging', () => {
  it('starts the next provider when the first gives no token in time, keeps the first to answer, aborts the other', async () => {
    const t0 = Date.now();
    const r = await new FallbackChain(providers(server, ['slow', 'a']), opts({ hedge: { kind: 'fixed', ms: 200 } })).run(q);
    expect(r.provider).toBe('a');
    expect(Date.now() - t0).toBeLessThan(1200);
    expect(r.attempts.map((a) => [a.provider, a.decision, a.hedged])).toEqual([
      ['slow', 'hedge_lost', true],
      ['a', 'success', true],
    ]);
  });

  it('does not hedge when the first provider answers in time', async () => {
    const r = await new FallbackChain(providers(server, ['a', 'b']), opts({ hedge: { kind: 'fixed', ms: 500 } })).run(q);
    expect(r.attempts.map((a) => a.provider)).toEqual(['a']);
  });

  it.each([
    ['silent', { kind: 'hang' }],
    ['slow first token (20 s)', { kind: 'slow_first_token', delay: '20s' }],
  ])('default (no history): a %s provider is hedged after 3 s and the call ends in seconds', async (_label, fault) => {
    const t0 = Date.now();
    const r = await new FallbackChain(providers(server, ['a', 'b'], { a: { fault, timeouts: { ...T, firstToken: 30_000 } } }), opts({ deadlineMs: 60_000 })).run(q);
    const took = Date.now() - t0;
    expect(r.provider).toBe('b');
    expect(r.attempts.map((a) => [a.provider, a.decision, a.hedged])).toEqual([
      ['a', 'hedge_lost', true],
      ['b', 'success', true],
    ]);
    expect(r.attempts[0].clocks).toEqual({ first_token_ms: 30_000, idle_ms: 1000, hedge_ms: 3000, basis: 'default' });
    expect(r.attempts[1].start_ms).toBeGreaterThanOrEqual(3000);
    expect(took).toBeLessThan(8000); // seconds, not the 30 s first-token clock
  });

  it('the hedge delay and first-token clock come from the provider’s own history', async () => {
    const history = new MemoryLatencyHistory();
    const seed = (key: string, ttft: number[]) => history.records[key] = { name: key, ttft_ms: ttft, max_gap_ms: ttft.map(() => 50), updated_at: 0 };
    seed('slow', [2400, 2500, 2300, 2450, 2500, 2350, 2400, 2500, 2450, 2400]);
    // A provider that habitually takes 1.5 s (history p95 2.5 s) is not hedged at the 3 s default's expense, nor cut:
    const patientChain = new FallbackChain(providers(server, ['slow', 'a'], { slow: { breakerKey: 'slow', timeouts: { ...T, firstToken: 30_000 } } }), opts({ history }));
    const patient = await patientChain.run(q);
    await patientChain.settled;
    expect(patient.attempts.map((a) => [a.provider, a.decision])).toEqual([['slow', 'success']]);
    expect(patient.attempts[0].clocks).toEqual({ first_token_ms: 7500, idle_ms: 1000, hedge_ms: 2500, basis: 'history' });
    // A provider known to answer in ~100 ms that goes silent is hedged at its p95, not after 3 s:
    seed('fast', [90, 100, 110, 95, 105, 100, 98, 120, 101, 99]);
    const t0 = Date.now();
    const hedgedChain = new FallbackChain(providers(server, ['a', 'b'], { a: { breakerKey: 'fast', fault: { kind: 'hang' } } }), opts({ history }));
    const r = await hedgedChain.run(q);
    expect(r.attempts.map((a) => [a.provider, a.decision])).toEqual([
      ['a', 'hedge_lost'],
      ['b', 'success'],
    ]);
    expect(r.attempts[0].clocks!.hedge_ms).toBe(300); // p95 110 ms, raised to the 300 ms floor
    expect(Date.now() - t0).toBeLessThan(1500);
    // and each answer adds to the history (TTFT at the commit, the longest gap at the end), flushed after the answer
    await hedgedChain.settled;
    expect(history.records.slow.ttft_ms).toHaveLength(11);
    expect(Object.entries(history.records).filter(([k]) => k.startsWith('test:b:')).map(([, v]) => [v.ttft_ms.length, v.max_gap_ms.length])).toEqual([[1, 1]]);
  });

  it('a reasoning model that streams its thinking is alive: neither hedged nor cut while it thinks', async () => {
    // The first reasoning token comes at 50 ms, the first content at 50 + 40 × 40 = 1650 ms. Hedge (800 ms)
    // and first-token clock (900 ms) fall between: counting content only, both would fire; counting
    // reasoning, a stall of 750 ms is needed to fire them (at 300 / 400 ms, 250 ms was enough).
    const r = await new FallbackChain(providers(server, ['thinker', 'a'], { thinker: { timeouts: { ...T, firstToken: 900 } } }), opts({ hedge: { kind: 'fixed', ms: 800 } })).run(q);
    expect(r.attempts.map((a) => [a.provider, a.decision])).toEqual([['thinker', 'success']]);
    expect(r.attempts[0].ttft_ms).toBeLessThan(800); // the first reasoning token, not the first content (~1.6 s later)
    expect(r.latency_ms).toBeGreaterThan(1000);
  });
});

describe('the idle clock once tokens flow', () => {
  it('default (no history): a stream that stalls after 20 tokens is cut after 10 s and the next provider answers', async () => {
    const t0 = Date.now();
    const r = await new FallbackChain(providers(server, ['long', 'b'], { long: { fault: { kind: 'stall', after_tokens: 20 }, timeouts: { ...T, idle: 30_000, total: 60_000 } } }), opts({ deadlineMs: 60_000 })).run(q);
    expect(r.provider).toBe('b');
    expect(r.attempts.map((a) => [a.provider, a.error_detail, a.decision])).toEqual([
      ['long', 'timeout:idle', 'fallover'],
      ['b', null, 'success'],
    ]);
    expect(r.attempts[0].clocks!.idle_ms).toBe(10_000);
    expect(Date.now() - t0).toBeLessThan(16_000);
  }, 30_000);

  it('with history: the idle clock is 3 × the p99 of the longest gaps, at least 2 s', async () => {
    const history = new MemoryLatencyHistory();
    history.records.fast = { name: 'a', ttft_ms: Array(10).fill(100), max_gap_ms: [40, 50, 45, 60, 55, 50, 40, 45, 50, 60], updated_at: 0 };
    const t0 = Date.now();
    const r = await new FallbackChain(providers(server, ['a', 'b'], { a: { breakerKey: 'fast', fault: { kind: 'stall', after_tokens: 3 }, timeouts: { ...T, idle: 30_000 } } }), opts({ history })).run(q);
    expect(r.attempts.map((a) => [a.provider, a.error_detail])).toEqual([
      ['a', 'timeout:idle'],
      ['b', null],
    ]);
    expect(r.attempts[0].clocks!.idle_ms).toBe(2000);
    expect(Date.now() - t0).toBeLessThan(4000);
  });
});

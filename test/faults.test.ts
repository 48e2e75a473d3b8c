import { describe, expect, it } from 'vitest';
import { DIALECTS, toStep, type Dialect } from '../src/mock/profile.js';
import type { ErrorClass } from '../src/providers/errors.js';
import { createAdapter } from '../src/providers/index.js';
import { now } from '../src/util/clock.js';
import { adapterFor, ask, collect, emulator, errorOf, last, only, refusedUrl } from './helpers.js';

const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  ...Object.fromEntries(DIALECTS.map((d) => [d, { dialect: d, output_tokens: c(8), itl: c(1) }])),
  slow: { dialect: 'deepseek', ttft: c(5000), keepalive_ms: 20 },
  slowstream: { dialect: 'openai', itl: c(60), output_tokens: c(100) },
  small: { dialect: 'openai', context_window: 200 },
  big: { dialect: 'openai', output_tokens: c(3000) },
  scripted: { dialect: 'openai' },
  flaky: { dialect: 'minimax', faults: [{ kind: 'overloaded', p: 0.5 }] },
});

const withFault = (dialect: string, fault: object, timeouts = {}) =>
  adapterFor(server, dialect, { headers: { 'x-mock-fault': JSON.stringify(fault) }, timeouts: { connectMs: 2000, firstTokenMs: 5000, idleMs: 5000, totalMs: 10_000, ...timeouts } });

// Every dialect's real error envelope for each class must land in that class.
const classFaults: ErrorClass[] = ['auth', 'billing', 'rate_limit', 'overloaded', 'server', 'context_length', 'content_filter'];
const statusOf: Record<string, Partial<Record<Dialect, number>>> = {
  billing: { openai: 429, deepseek: 402, moonshot: 429, minimax: 500, gemini: 429, openrouter: 402, anthropic: 400 },
  overloaded: { moonshot: 429, anthropic: 529 },
};

describe('error classification against each dialect’s wire form', () => {
  for (const dialect of DIALECTS) {
    for (const kind of classFaults) {
      it(`${dialect}: ${kind}`, async () => {
        const error = errorOf(await collect(withFault(dialect, { kind }), ask()));
        expect(error.errorClass).toBe(kind);
        expect(error.isRetryable).toBe(['rate_limit', 'overloaded', 'server'].includes(kind));
        const status = statusOf[kind]?.[dialect];
        if (status) expect(error.status).toBe(status);
      });
    }
  }
});

describe('retry hints', () => {
  it('reads Retry-After seconds', async () => {
    const error = errorOf(await collect(withFault('openai', { kind: 'rate_limit', retry_after: 2 }), ask()));
    expect(error.errorClass).toBe('rate_limit');
    expect(error.retryAfterMs).toBe(2000);
    expect(error.headers['retry-after']).toBe('2');
  });

  it('prefers retry-after-ms', async () => {
    const error = errorOf(await collect(withFault('anthropic', { kind: 'overloaded', retry_after: 9, retry_after_ms: 1500 }), ask()));
    expect(error.errorClass).toBe('overloaded');
    expect(error.retryAfterMs).toBe(1500);
  });
});

describe('connection faults', () => {
  it('classifies a refused connection as network:ECONNREFUSED', async () => {
    const adapter = createAdapter({ name: 'dead', api: 'openai', baseUrl: await refusedUrl(), model: 'm', headers: {}, params: {}, timeouts: { connectMs: 1000 } });
    const events = await collect(adapter, ask());
    const error = errorOf(events);
    expect(error.errorClass).toBe('network');
    expect(error.networkCode).toBe('ECONNREFUSED');
    expect(error.isRetryable).toBe(true);
    await adapter.close();
  });

  it('classifies a reset before the answer as a network error', async () => {
    const error = errorOf(await collect(withFault('openai', { kind: 'reset' }), ask()));
    expect(error.errorClass).toBe('network');
    expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain(error.networkCode);
  });

  it('abandons a provider that never answers at its first-token clock', async () => {
    const t0 = now();
    const error = errorOf(await collect(withFault('openai', { kind: 'hang' }, { firstTokenMs: 300 }), ask()));
    expect(error.errorClass).toBe('timeout');
    expect(error.timeoutPhase).toBe('first_token');
    expect(now() - t0).toBeLessThan(300 + 1500);
  });

  it('does not let keep-alive comments hold the first-token clock open', async () => {
    const t0 = now();
    const events = await collect(adapterFor(server, 'slow', { timeouts: { firstTokenMs: 400, idleMs: 100 } }), ask());
    const error = errorOf(events);
    expect(error.timeoutPhase).toBe('first_token');
    expect(only(events, 'first_byte')).toHaveLength(1); // keep-alives did arrive
    expect(now() - t0).toBeLessThan(400 + 1500);
  });

  it('gives up on a stream that stalls mid-answer at the idle clock, keeping what arrived', async () => {
    const events = await collect(withFault('openai', { kind: 'stall', after_tokens: 3 }, { idleMs: 250 }), ask());
    expect(only(events, 'content_delta')).toHaveLength(3);
    const error = errorOf(events);
    expect(error.errorClass).toBe('timeout');
    expect(error.timeoutPhase).toBe('idle');
  });

  it('stops a slow stream at the total clock', async () => {
    // Tokens come 60 ms apart and the idle clock is 10 s: the total clock is what stops it, mid-answer. How many
    // tokens came first depends on the machine's load (one, on a loaded CI run), so only "some" is asserted.
    const events = await collect(adapterFor(server, 'slowstream', { timeouts: { totalMs: 800 } }), ask());
    expect(errorOf(events).timeoutPhase).toBe('total');
    expect(only(events, 'content_delta').length).toBeGreaterThan(0);
    expect(only(events, 'content_delta').length).toBeLessThan(100);
  });

  it('honours an absolute deadline given with the request', async () => {
    const t0 = now();
    const events = await collect(adapterFor(server, 'slowstream'), ask(undefined, { deadline: now() + 300 }));
    expect(errorOf(events).timeoutPhase).toBe('total');
    expect(now() - t0).toBeLessThan(300 + 1500);
  });

  it('turns the caller’s abort into a cancelled error', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    const error = errorOf(await collect(adapterFor(server, 'slowstream'), ask(undefined, { signal: ac.signal })));
    expect(error.errorClass).toBe('cancelled');
    expect(error.isRetryable).toBe(false);
  });
});

describe('broken streams are never a success', () => {
  const cases: [string, object, ErrorClass, number][] = [
    ['openai', { kind: 'cut', after_tokens: 3 }, 'incomplete_stream', 3],
    ['anthropic', { kind: 'cut', after_tokens: 2 }, 'incomplete_stream', 2],
    ['openai', { kind: 'malformed', after_tokens: 2 }, 'malformed_response', 2],
    ['openai', { kind: 'no_finish' }, 'incomplete_stream', 8],
    ['anthropic', { kind: 'no_done' }, 'incomplete_stream', 8],
    ['deepseek', { kind: 'no_finish' }, 'incomplete_stream', 8],
    ['openai', { kind: 'error_event', after_tokens: 2 }, 'server', 2], // OpenAI's recorded mid-stream error is a server_error
    ['deepseek', { kind: 'error_event', after_tokens: 2 }, 'overloaded', 2],
    ['anthropic', { kind: 'error_event', after_tokens: 4 }, 'overloaded', 4],
    ['openrouter', { kind: 'error_event', after_tokens: 1 }, 'server', 1],
  ];
  it.each(cases)('%s %j → %s', async (dialect, fault, cls, tokensBefore) => {
    const events = await collect(withFault(dialect, fault), ask());
    expect(only(events, 'finish')).toHaveLength(0);
    expect(only(events, 'content_delta')).toHaveLength(tokensBefore);
    expect(errorOf(events).errorClass).toBe(cls);
  });

  it('a non-streamed body that is not JSON is malformed', async () => {
    const error = errorOf(await collect(withFault('openai', { kind: 'malformed' }), ask(undefined, { stream: false })));
    expect(error.errorClass).toBe('malformed_response');
  });

  it('caps the response size', async () => {
    const adapter = adapterFor(server, 'big', { maxResponseBytes: 4096 });
    const error = errorOf(await collect(adapter, ask(undefined, { stream: false })));
    expect(error.errorClass).toBe('malformed_response');
    expect(error.message).toMatch(/larger than 4096 bytes/);
  });

  it('refuses a prompt larger than the context window with context_length, not a retryable error', async () => {
    const error = errorOf(await collect(adapterFor(server, 'small'), ask('x'.repeat(2000))));
    expect(error.errorClass).toBe('context_length');
    expect(error.isRetryable).toBe(false);
  });

  it('does not follow a redirect with credentials', async () => {
    const before = server.stats().openai.requests;
    const error = errorOf(await collect(withFault('openai', { kind: 'status', status: 307 }), ask()));
    expect(error.errorClass).toBe('bad_request');
    expect(error.message).toMatch(/redirect/);
    expect(server.stats().openai.requests).toBe(before + 1);
  });
});

describe('scripted and seeded faults', () => {
  it('refuses connections for real during a scripted refuse step, then answers on the same port', async () => {
    const s = await emulator({ r: { dialect: 'openai', own_port: true, script: [{ kind: 'refuse', for_ms: 1000 }, { kind: 'ok' }] } });
    const adapter = adapterFor(s, 'r');
    const refused = errorOf(await collect(adapter, ask()));
    expect(refused.errorClass).toBe('network');
    expect(refused.networkCode).toBe('ECONNREFUSED');
    await new Promise((r) => setTimeout(r, 1100));
    expect(last(await collect(adapter, ask())).type).toBe('finish');
    expect(s.stats().r.faults.refuse).toBe(1);
    // and again, set at run time: pooled keep-alive connections are dropped too (a 1 s window: the request
    // right after must land inside it, which a 300 ms window left to a stall's mercy)
    s.setScript('r', [{ kind: 'refuse', for: '1s' }, { kind: 'ok' }]);
    expect(errorOf(await collect(adapter, ask())).networkCode).toBe('ECONNREFUSED');
    await new Promise((r) => setTimeout(r, 1100));
    expect(last(await collect(adapter, ask())).type).toBe('finish');
  });

  it('rejects a refuse step without a duration', () => {
    expect(() => toStep({ kind: 'refuse' }, 'script[0]')).toThrow(/a refuse step needs "for"/);
  });

  it('plays a script: first attempt 429 with Retry-After 1, then healthy', async () => {
    server.setScript('scripted', [{ kind: 'rate_limit', retry_after: 1, times: 1 }, { kind: 'ok' }]);
    const adapter = adapterFor(server, 'scripted');
    const first = errorOf(await collect(adapter, ask()));
    expect(first.errorClass).toBe('rate_limit');
    expect(first.retryAfterMs).toBe(1000);
    expect(last(await collect(adapter, ask())).type).toBe('finish');
    expect(last(await collect(adapter, ask())).type).toBe('finish');
  });

  it('plays a time-based script: 503 for the first second, then healthy', async () => {
    // The first request must land inside the window: 1 s leaves a stall nearly all of it (300 ms did not).
    server.setScript('scripted', [{ kind: 'overloaded', for: '1s' }, { kind: 'ok' }]);
    const adapter = adapterFor(server, 'scripted');
    expect(errorOf(await collect(adapter, ask())).errorClass).toBe('overloaded');
    await new Promise((r) => setTimeout(r, 1050));
    expect(last(await collect(adapter, ask())).type).toBe('finish');
  });

  it('POST /_mock/reset puts back the profile’s script and faults after PUT /script and /faults', async () => {
    const s = await emulator({ p: { dialect: 'openai', script: [{ kind: 'server', times: 1 }, { kind: 'ok' }] } });
    const adapter = adapterFor(s, 'p');
    const put = (what: string, body: unknown) => fetch(`${s.url}/_mock/providers/p/${what}`, { method: 'PUT', body: JSON.stringify(body) });
    expect((await put('script', [{ kind: 'overloaded' }])).status).toBe(200);
    expect((await put('faults', [{ kind: 'auth', p: 1 }])).status).toBe(200);
    expect(errorOf(await collect(adapter, ask())).errorClass).toBe('overloaded');
    expect((await fetch(`${s.url}/_mock/reset`, { method: 'POST' })).status).toBe(200);
    expect(s.stats().p.requests).toBe(0);
    // the profile's own script again, from its first step, and no probabilistic auth fault left over
    expect(errorOf(await collect(adapter, ask())).errorClass).toBe('server');
    expect(last(await collect(adapter, ask())).type).toBe('finish');
  });

  it('rejects a fault whose status is not an HTTP error code, in a profile too', () => {
    expect(() => toStep({ kind: 'status', status: 42 }, 'script[0]')).toThrow(/script\[0\]\.status: 42 is not a redirect or error status/);
    expect(() => toStep({ kind: 'status' }, 'script[1]')).toThrow(/script\[1\]: kind "status" needs a status code/);
  });

  it('draws probabilistic faults from the seed, reproducibly', async () => {
    const outcomes = async () => {
      const s = await emulator({ flaky: { dialect: 'minimax', faults: [{ kind: 'overloaded', p: 0.5 }] } }, 99);
      const a = adapterFor(s, 'flaky');
      const out: string[] = [];
      for (let i = 0; i < 30; i++) out.push(last(await collect(a, ask())).type);
      return out;
    };
    const a = await outcomes();
    const b = await outcomes();
    expect(a).toEqual(b);
    const errors = a.filter((t) => t === 'error').length;
    expect(errors).toBeGreaterThan(5);
    expect(errors).toBeLessThan(25);
  });
});

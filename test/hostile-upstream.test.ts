import { mkdtempSync, readdirSync, readFileSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FallbackChain } from '../src/chain/chain.js';
import { FileBreakers, type Breakers } from '../src/state/breaker.js';
import { createAdapter } from '../src/providers/index.js';
import type { ProviderAdapter } from '../src/providers/types.js';
import { run } from './cli-helpers.js';
import { createRouter } from '../src/router.js';
import { startHarness } from './serve-harness.js';
import { ask, collect, errorOf, last, routeServer, textOf, until } from './helpers.js';
import { FIXTURES, wireBody } from './wire-fixtures.js';

/*
 * Upstreams that fail the way real ones do, each built from a recorded real stream or error body
 * (test/fixtures/wire) changed only where the failure is: a reply of blank lines, Gemini's own
 * finish reasons passed through its OpenAI-compatible endpoint, keep-alives after the answer stalled,
 * rate-limit headers without a Retry-After.
 */
const fixture = (file: string) => wireBody(FIXTURES.find((f) => f.file === file)!).toString();
const gpt = fixture('openai/gomodel-gpt-4o-mini.sse');
const claude = fixture('anthropic/vercel-anthropic-text.chunks.txt');
const gemini = fixture('gemini/gomodel-gemini-2.5-flash.sse');
const rateLimited = fixture('openai/error-429-rate-limit-tpm.json');

/** Every text delta of a recorded stream replaced by `text` (JSON-escaped in place). */
const openaiText = (body: string, text: string) => body.replace(/"content":"[^"]+"/g, `"content":${JSON.stringify(text)}`);
const claudeText = (body: string, text: string) => body.replace(/"text_delta","text":"[^"]*"/g, `"text_delta","text":${JSON.stringify(text)}`);
/** The recorded stream up to its first text delta (message_start, content_block_start, ping, "Hello"). */
const claudeHead = claude.slice(0, claude.indexOf('\n\n', claude.indexOf('text_delta')) + 2);
const gptHead = gpt.split('\n\n').slice(0, 2).join('\n\n') + '\n\n';

const sse = { 'content-type': 'text/event-stream' };
/** Writes `head`, then `beat` every 100 ms until the client goes away. */
const beating = (head: string, beat: string) => (res: import('node:http').ServerResponse) => {
  res.writeHead(200, sse).write(head);
  const t = setInterval(() => res.write(beat), 100);
  res.on('close', () => clearInterval(t)).on('finish', () => clearInterval(t));
};

let letFirstFinish!: () => void;
const finishFirst = new Promise<void>((resolve) => (letFirstFinish = resolve));

const server = await routeServer({
  'openai-blank': (res) => res.writeHead(200, sse).end(openaiText(gpt, '\n\n ')),
  // 25 blank deltas: more than a gateway's stream commit (20 tokens) holds back.
  'openai-blank-long': (res) => res.writeHead(200, sse).end(`${gptHead.split('\n\n')[0]}\n\n${`${openaiText(gptHead.split('\n\n')[1], '\n')}\n\n`.repeat(25)}${openaiText(gpt.slice(gptHead.length), '\n')}`),
  'claude-blank': (res) => res.writeHead(200, sse).end(claudeText(claude, '\n')),
  good: (res) => res.writeHead(200, sse).end(gpt),
  'gemini-SAFETY': (res) => res.writeHead(200, sse).end(gemini.replace('"finish_reason":"stop"', '"finish_reason":"SAFETY"')),
  'gemini-RECITATION': (res) => res.writeHead(200, sse).end(gemini.replace('"finish_reason":"stop"', '"finish_reason":"RECITATION"')),
  'gemini-MAX_TOKENS': (res) => res.writeHead(200, sse).end(gemini.replace('"finish_reason":"stop"', '"finish_reason":"MAX_TOKENS"')),
  'claude-window-full': (res) => res.writeHead(200, sse).end(claude.replace('"stop_reason":"end_turn"', '"stop_reason":"model_context_window_exceeded"')),
  'claude-pings': beating(claudeHead, 'event: ping\ndata: {"type":"ping"}\n\n'),
  'openai-empty-chunks': beating(gptHead, gptHead.split('\n\n')[0].replace('"role":"assistant",', '') + '\n\n'),
  'openai-slow': beating(gptHead, gptHead.split('\n\n')[1] + '\n\n'),
  'reset-budget': (res, n) => {
    if (n > 1) return void res.writeHead(200, sse).end(gpt);
    res
      .writeHead(429, {
        'content-type': 'application/json',
        'x-ratelimit-limit-requests': '500',
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '1.5s',
        'x-ratelimit-limit-tokens': '10000',
        'x-ratelimit-remaining-tokens': '9000',
        'x-ratelimit-reset-tokens': '6m0s',
      })
      .end(rateLimited);
  },
  'anthropic-budget': (res) =>
    res
      .writeHead(429, {
        'content-type': 'application/json',
        'anthropic-ratelimit-requests-remaining': '0',
        'anthropic-ratelimit-requests-reset': new Date(Date.now() + 90_000).toISOString().replace(/\.\d+Z$/, 'Z'),
        'anthropic-ratelimit-tokens-remaining': '29000',
        'anthropic-ratelimit-tokens-reset': new Date(Date.now() + 600_000).toISOString(),
      })
      .end(fixture('anthropic/error-429-rate-limit.json')),
  // Down once (its breaker opens), then a stream that never ends (the probe, cancelled), then well.
  recovering: (res, n) => {
    if (n === 1) return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"The server had an error while processing your request.","type":"server_error"}}');
    if (n === 2) return beating(gptHead, gptHead.split('\n\n')[1] + '\n\n')(res);
    res.writeHead(200, sse).end(gpt);
  },
  'json-as-sse-401': (res) => res.writeHead(200, sse).end(fixture('openai/error-401-invalid-api-key.json')),
  'json-as-sse-529': (res) => res.writeHead(200, sse).end(fixture('anthropic/error-529-overloaded.json')),
  // The first request streams until the test lets it finish; the ones after it fail.
  interleaved: (res, n) => {
    if (n > 1) return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"The server had an error while processing your request.","type":"server_error"}}');
    beating(gptHead, gptHead.split('\n\n')[1] + '\n\n')(res); // tokens every 100 ms: alive under the idle clock
    void finishFirst.then(() => res.end(gpt.slice(gptHead.length)));
  },
  'negative-retry-after': (res) => res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '-5' }).end(rateLimited),
});

const clocks = { connectMs: 2000, firstTokenMs: 5000, idleMs: 400, totalMs: 20_000 };
function adapter(name: string, api: 'openai' | 'anthropic' = 'openai'): ProviderAdapter {
  return createAdapter({ name, api, baseUrl: server.url(name), model: 'm', headers: {}, params: {}, timeouts: clocks });
}
const chainOf = (names: [string, 'openai' | 'anthropic'][], over: { retries?: number; breakers?: Breakers; signal?: AbortSignal; key?: string } = {}) =>
  new FallbackChain(
    names.map(([name, api]) => ({
      name,
      model: 'm',
      adapter: adapter(name, api),
      price: { input: 1, cachedInput: 1, output: 2, pricedAt: '2026-11-30' }, // cachedInput: the loader's default (= input)
      timeouts: { connect: 2000, firstToken: 5000, idle: 400, total: 20_000 },
      breakerKey: over.key ?? `hostile:${name}:${Math.random()}`,
    })),
    { retries: over.retries ?? 0, deadlineMs: 15_000, onContentFilter: 'stop', firstTokenMsPerPromptToken: 0, hedge: { kind: 'off' }, random: () => 0.5, breakers: over.breakers, signal: over.signal },
  );

describe('an answer of whitespace only is no answer', () => {
  it('OpenAI and Anthropic streams of blank lines end in empty_response, and the chain falls over to a real answer', async () => {
    for (const [name, api] of [['openai-blank', 'openai'], ['claude-blank', 'anthropic']] as const) {
      const events = await collect(adapter(name, api), ask());
      expect(textOf(events).trim()).toBe('');
      expect(errorOf(events).errorClass).toBe('empty_response');
      expect(errorOf(events).message).toMatch(/only whitespace \(\d+ characters\) arrived$/);
      const r = await chainOf([[name, api], ['good', 'openai']]).run(ask());
      expect(r.source).toBe('live');
      expect(r.provider).toBe('good');
      expect(r.attempts.map((a) => [a.provider, a.error_class, a.decision])).toEqual([
        [name, 'empty_response', 'fallover'],
        ['good', null, 'success'],
      ]);
    }
  });

  it('ask alone with it: exit 1, nothing on stdout, and nothing cached', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmf-hostile-'));
    const config = join(dir, 'providers.yaml');
    writeFileSync(config, `providers:\n  blank: { api: openai, base_url: "${server.url('openai-blank')}", model: m }\nchains:\n  default: [blank]\n`);
    const env = { XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') };
    const r = await run(['ask', '--config', config, '--retries', '0', 'hi'], { env, timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('blank (m) at +');
    expect(r.stderr).toContain('empty_response HTTP 200: empty answer with finish_reason "stop": only whitespace (12 characters) arrived');
    const cacheDir = join(dir, 'cache', 'llm-fallback');
    expect(existsSync(cacheDir) ? readdirSync(cacheDir) : []).toEqual([]);
  });
});

describe('a gateway stream of blank lines', () => {
  it('is not committed by whitespace: the stream commit holds it, and the next provider answers the stream as it answers the plain request', async () => {
    const router = await createRouter({
      config: { providers: { blank: { api: 'openai', base_url: server.url('openai-blank-long'), model: 'm' }, good: { api: 'openai', base_url: server.url('good'), model: 'm' } }, chains: { default: ['blank', 'good'] } },
      env: {},
      who: 'serve',
    });
    const h = await startHarness(router);
    try {
      const post = (stream: boolean) =>
        fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'default', stream, messages: [{ role: 'user', content: 'hi' }] }) });
      const plain = (await (await post(false)).json()) as { choices: { message: { content: string } }[] };
      expect(plain.choices[0].message.content).toBe('Hello, World!');
      const res = await post(true);
      expect(res.status).toBe(200);
      const text = (await res.text()).split('\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6)) as { choices?: { delta: { content?: string } }[]; error?: unknown });
      expect(text.filter((c) => c.error)).toEqual([]);
      expect(text.map((c) => c.choices?.[0]?.delta.content ?? '').join('')).toBe('Hello, World!');
      expect(res.headers.get('x-llm-fallback-provider')).toBe('good');
    } finally {
      await h.close();
      await router.close();
    }
  });
});

describe("Gemini's own finish reasons through its OpenAI-compatible endpoint", () => {
  it('SAFETY and RECITATION are a refusal, MAX_TOKENS a cut answer, never a complete one', async () => {
    for (const reason of ['SAFETY', 'RECITATION']) {
      const events = await collect(adapter(`gemini-${reason}`), ask());
      const end = last(events);
      expect(end.type === 'finish' && [end.reason, end.rawReason]).toEqual(['content_filter', reason]);
      const r = await chainOf([[`gemini-${reason}`, 'openai'], ['good', 'openai']]).run(ask());
      expect([r.source, r.content, r.error?.class]).toEqual(['none', '', 'content_filter']);
      expect(r.attempts.map((a) => [a.error_class, a.decision])).toEqual([['content_filter', 'stop']]);
    }
    const cut = await chainOf([['gemini-MAX_TOKENS', 'openai']]).run(ask());
    expect([cut.source, cut.content, cut.finish_reason, cut.truncated]).toEqual(['live', 'Hello World', 'length', true]);
  });
});

describe("Anthropic's model_context_window_exceeded", () => {
  it('is a cut answer (length, truncated), as max_tokens is, not a complete one', async () => {
    const cut = await chainOf([['claude-window-full', 'anthropic']]).run(ask());
    expect([cut.source, cut.content, cut.finish_reason, cut.truncated]).toEqual(['live', "Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?", 'length', true]);
  });
});

describe('keep-alives after the first token do not hold a stalled stream open', () => {
  it('Anthropic pings, or OpenAI chunks that carry no text, every 100 ms: the idle clock (400 ms) still fires, not the total clock', async () => {
    for (const [name, api] of [['claude-pings', 'anthropic'], ['openai-empty-chunks', 'openai']] as const) {
      const events = await collect(adapter(name, api), ask());
      expect(textOf(events)).toBe('Hello');
      expect(errorOf(events).detail).toBe('timeout:idle');
      expect(errorOf(events).message).toBe(`${name}: idle timeout after 400ms`);
    }
  });

  it('the total clock cut short by the call deadline says so, not the configured 20 s', async () => {
    const events = await collect(adapter('openai-slow'), ask('hi', { deadline: performance.now() + 1000 }));
    expect(errorOf(events).detail).toBe('timeout:total');
    expect(errorOf(events).message).toMatch(/^openai-slow: total timeout after (9\d\d|1000)ms \(what was left of the call's deadline\)$/);
  });
});

describe('rate-limit budgets without a Retry-After', () => {
  it("OpenAI's x-ratelimit-reset-* of the spent budget (1.5s) is the wait, and the retry is taken after it", async () => {
    const r = await chainOf([['reset-budget', 'openai']], { retries: 1 }).run(ask());
    expect(r.source).toBe('live');
    expect(r.attempts.map((a) => [a.decision, a.retry_after_ms, a.wait_ms])).toEqual([
      ['retry', 1500, 1500],
      ['success', null, null],
    ]);
  });

  it("Anthropic's spent requests budget resets in 90 s: past the deadline, so no retry; a negative Retry-After is no date", async () => {
    const anthropic = errorOf(await collect(adapter('anthropic-budget', 'anthropic'), ask()));
    expect(anthropic.errorClass).toBe('rate_limit');
    expect(anthropic.retryAfterMs).toBeGreaterThan(85_000);
    expect(anthropic.retryAfterMs).toBeLessThanOrEqual(90_000);
    const r = await chainOf([['anthropic-budget', 'anthropic']], { retries: 2 }).run(ask());
    expect(r.attempts.map((a) => a.decision)).toEqual(['stop']);
    expect(errorOf(await collect(adapter('negative-retry-after'), ask())).retryAfterMs).toBeUndefined();
  });
});

describe('a success in one process while another counts failures', () => {
  it('ends the run of failures: the breaker does not open at the next one', async () => {
    const env = { XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'llmf-hostile-')) };
    const store = () => new FileBreakers({ failures: 3, cooldownMs: 60_000, probeTimeoutMs: 60_000 }, env);
    const call = async () => {
      const chain = chainOf([['interleaved', 'openai']], { breakers: store(), key: 'interleaved#1' });
      const r = await chain.run(ask());
      await chain.settled;
      return r;
    };
    const slow = call(); // streams until let finish
    await until(() => (server.hits.interleaved ?? 0) >= 1, 'the first request');
    for (let i = 0; i < 2; i++) expect((await call()).attempts.map((a) => a.error_class)).toEqual(['server']);
    expect((await store().get('interleaved#1'))?.consecutive_failures).toBe(2);
    letFirstFinish();
    expect((await slow).source).toBe('live');
    expect(await store().get('interleaved#1')).toMatchObject({ state: 'closed', consecutive_failures: 0 });
    expect((await call()).attempts.map((a) => a.error_class)).toEqual(['server']);
    expect(await store().get('interleaved#1')).toMatchObject({ state: 'closed', consecutive_failures: 1 });
  });
});

describe('an error object sent as text/event-stream', () => {
  it('is read as the error it is (auth: not retried; overloaded), not as a stream closed mid-event', async () => {
    const auth = errorOf(await collect(adapter('json-as-sse-401'), ask()));
    expect([auth.errorClass, auth.status, auth.isRetryable]).toEqual(['auth', 200, false]);
    expect(auth.message).toMatch(/^json-as-sse-401: error inside a 200 response: Incorrect API key provided/);
    const overloaded = errorOf(await collect(adapter('json-as-sse-529', 'anthropic'), ask()));
    expect([overloaded.errorClass, overloaded.message]).toEqual(['overloaded', 'json-as-sse-529: error inside a 200 response: Overloaded. https://docs.claude.com/en/api/errors']);
    const r = await chainOf([['json-as-sse-401', 'openai'], ['good', 'openai']], { retries: 2 }).run(ask());
    expect(r.attempts.map((a) => [a.provider, a.error_class, a.decision])).toEqual([
      ['json-as-sse-401', 'auth', 'fallover'],
      ['good', null, 'success'],
    ]);
  });
});

describe('a corrupt breakers.json', () => {
  it('is one warning line, however many times the call reads the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmf-hostile-'));
    const config = join(dir, 'providers.yaml');
    writeFileSync(config, `providers:\n  blank: { api: openai, base_url: "${server.url('openai-blank')}", model: m }\n  good: { api: openai, base_url: "${server.url('good')}", model: m }\nchains:\n  default: [blank, good]\n`);
    const state = join(dir, 'state', 'llm-fallback');
    mkdirSync(state, { recursive: true, mode: 0o700 });
    writeFileSync(join(state, 'breakers.json'), '{"blank#0":', { mode: 0o600 });
    const r = await run(['ask', '--config', config, '--no-cache', 'hi'], { env: { XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') }, timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Hello, World!\n');
    expect(r.stderr.split('\n').filter((l) => l.includes('warning'))).toEqual([`llm-fallback: warning: breaker state ${join(state, 'breakers.json')} is not valid JSON; ignoring it (it will be rewritten)`]);
  });
});

describe('a half-open probe that ends with no verdict', () => {
  it('is given back: after a cancelled probe the next process probes at once, instead of skipping the provider for the probe timeout', async () => {
    const env = { XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'llmf-hostile-')) };
    // Each call reads and writes breakers.json through its own store, as separate ask processes do.
    const store = () => new FileBreakers({ failures: 1, cooldownMs: 100, probeTimeoutMs: 120_000 }, env);
    const call = async (signal?: AbortSignal) => {
      const chain = chainOf([['recovering', 'openai']], { breakers: store(), signal, key: 'recovering#1' });
      const r = await chain.run(ask());
      await chain.settled;
      return r;
    };
    expect((await call()).attempts.map((a) => a.error_class)).toEqual(['server']);
    await new Promise((r) => setTimeout(r, 150)); // the cooldown passes: the next call is the half-open probe
    const stop = new AbortController();
    const probing = call(stop.signal);
    await until(() => (server.hits.recovering ?? 0) >= 2, 'the probe request');
    stop.abort();
    expect((await probing).attempts.map((a) => [a.error_class, a.decision])).toEqual([['cancelled', 'stop']]);
    expect((await store().get('recovering#1'))?.probe_started_at).toBeNull();
    const next = await call();
    expect(next.attempts.map((a) => a.decision)).toEqual(['success']);
    expect((await store().get('recovering#1'))?.state).toBe('closed');
  });
});

describe('the cache tier stands in only with an answer, within the TTL configured now', () => {
  it('a cached entry of blank text is no answer (static message, exit 4); one written under a 24 h cache_ttl expires at a 1 h one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmf-hostile-'));
    const config = join(dir, 'providers.yaml');
    const write = (name: string) =>
      writeFileSync(config, `defaults:\n  cache_ttl: 1h\nproviders:\n  p: { api: openai, base_url: "${server.url(name)}", model: m }\nchains:\n  default: [p]\nstatic_message: "Unavailable, try later."\n`);
    const env = { XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') };
    const ask1 = () => run(['ask', '--config', config, '--retries', '0', 'hi'], { env, timeoutMs: 30_000 });
    write('good');
    expect((await ask1()).code).toBe(0);
    const answers = join(dir, 'cache', 'llm-fallback', 'answers');
    const [entry] = readdirSync(answers);
    const cached = JSON.parse(readFileSync(join(answers, entry), 'utf8'));
    expect(cached.content).toBe('Hello, World!');
    write('json-as-sse-529'); // down from now on
    const served = await ask1();
    expect([served.code, served.stdout]).toEqual([3, 'Hello, World!\n']);
    writeFileSync(join(answers, entry), JSON.stringify({ ...cached, content: '\n\n' }));
    const blank = await ask1();
    expect([blank.code, blank.stdout]).toEqual([4, 'Unavailable, try later.\n']);
    expect(blank.stderr).toContain(`warning: cached answer ${join(answers, entry)} is corrupt; ignoring it`);
    const twoHoursAgo = Date.now() - 2 * 3_600_000;
    writeFileSync(join(answers, entry), JSON.stringify({ ...cached, created_at: twoHoursAgo, expires_at: twoHoursAgo + 24 * 3_600_000 }));
    const stale = await ask1();
    expect([stale.code, stale.stdout]).toEqual([4, 'Unavailable, try later.\n']);
  });
});

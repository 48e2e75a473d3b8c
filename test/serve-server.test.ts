/*
 * The gateway's HTTP plumbing (src/serve/server.ts) over loopback: routing, client auth, limits,
 * readiness, router swap and graceful stop. The chat endpoints here use a STAND-IN handler written for
 * this file (labelled below): what a request means in each dialect is tested with the official SDKs
 * in the dialect handlers' own tests; this file tests what the server does around any handler.
 */
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { createRouter, type Router } from '../src/router.js';
import type { EndpointHandler } from '../src/serve/context.js';
import { Gateway, type GatewayOptions } from '../src/serve/server.js';
import { emulator, refusedUrl, until } from './helpers.js';

const mock = await emulator({
  fast: { dialect: 'openai', model: 'fast-1', ttft: { dist: 'constant', value: 1 }, itl: { dist: 'constant', value: 0 }, output_tokens: { dist: 'constant', value: 4 } },
  slow: { dialect: 'openai', model: 'slow-1', ttft: { dist: 'constant', value: 1500 }, itl: { dist: 'constant', value: 0 }, output_tokens: { dist: 'constant', value: 4 } },
});
const refused = await refusedUrl();

function config(extra = ''): string {
  return `defaults: { breaker_failures: 1, breaker_cooldown: 1h }
providers:
  fast: { api: openai, base_url: "${mock.baseUrl('fast')}", model: fast-1 }
  slow: { api: openai, base_url: "${mock.baseUrl('slow')}", model: slow-1 }
  down: { api: openai, base_url: "${refused}", model: d, timeouts: { connect: 1s } }
  keyed: { api: openai, base_url: "${mock.baseUrl('fast')}", model: k, api_key_env: SERVE_TEST_UNSET_KEY }
chains:
  default: [fast, slow]
  solo: [down]
${extra}`;
}

const routers: Router[] = [];
async function router(yaml = config()): Promise<Router> {
  const r = await createRouter({ config: parseConfig(yaml, 'test.yaml'), env: {} });
  routers.push(r);
  return r;
}

/**
 * STAND-IN chat handler (hand-written for this test, not a dialect): folds the chain and answers
 * `{ content, provider }`, or 502 when nothing answered. Reports the call through ctx.observe.
 */
const standIn: EndpointHandler = async (body, _req, res, ctx) => {
  const b = body as { model?: string; messages: { role: 'user'; content: string }[] };
  const startEpochMs = Date.now();
  const result = await ctx.router.chat({ model: b.model, messages: b.messages, signal: ctx.signal, cache: false });
  ctx.observe({ endpoint: 'chat_completions', model: b.model ?? 'default', stream: false, result, startEpochMs });
  const text = JSON.stringify({ content: result.content, provider: result.provider, source: result.source, aborted: ctx.signal.aborted });
  res.writeHead(result.source === 'none' ? 502 : 200, { 'content-type': 'application/json' });
  res.end(text);
};

interface Started {
  gw: Gateway;
  url: string;
  logs: string[];
}
const gateways: Gateway[] = [];
async function start(over: Partial<GatewayOptions> = {}, r?: Router): Promise<Started> {
  const logs: string[] = [];
  const gw = new Gateway({ router: r ?? (await router()), handlers: { chatCompletions: standIn, messages: standIn }, log: (l) => logs.push(l), ...over });
  const a = await gw.listen(0, '127.0.0.1');
  gateways.push(gw);
  return { gw, url: `http://127.0.0.1:${a.port}`, logs };
}
afterAll(async () => {
  for (const g of gateways) if (g.server.listening) await g.shutdown(0);
  for (const r of routers) await r.close();
});

/**
 * Posts to the slow route and resolves once the emulator has its request (1.5 s from its answer): the
 * request is in flight. A fixed 200 ms wait bet on the gateway getting it there in time.
 */
async function inFlight(url: string): Promise<{ response: Promise<Response> }> {
  const before = mock.stats().slow?.requests ?? 0;
  const response = post(`${url}/v1/chat/completions`, chat('slow'));
  await until(() => (mock.stats().slow?.requests ?? 0) > before, 'the request to reach the emulator');
  return { response }; // wrapped: an async function would wait for a promise it returned
}

const chat = (model: string, content = 'hello') => JSON.stringify({ model, messages: [{ role: 'user', content }] });
const post = (url: string, body: string, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

describe('routing', () => {
  it('lists the served routes as an OpenAI model list, read by the official openai SDK', async () => {
    const { url } = await start();
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused' });
    const models = [];
    for await (const m of client.models.list()) models.push(m as unknown as { id: string; owned_by: string; providers: { name: string }[] });
    const ids = models.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['default', 'solo', 'fast', 'slow', 'down']));
    // A provider without its key is not served (no client could use it).
    expect(ids).not.toContain('keyed');
    const def = models.find((m) => m.id === 'default')!;
    expect(def.owned_by).toBe('llm-fallback');
    expect(def.providers.map((p) => p.name)).toEqual(['fast', 'slow']);
  });

  it('lists and retrieves routes as each official SDK reads models: OpenAI Model, Anthropic ModelInfo pages; 404 for an unknown one', async () => {
    const { url } = await start();
    const oa = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const one = (await oa.models.retrieve('default')) as unknown as { id: string; object: string; created: number; providers: { name: string }[] };
    expect(one).toMatchObject({ id: 'default', object: 'model', owned_by: 'llm-fallback' });
    expect(one.created).toBeGreaterThan(1_700_000_000);
    expect(one.providers.map((p) => p.name)).toEqual(['fast', 'slow']);
    const missing = await oa.models.retrieve('no-such-route').catch((e) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing.error).toMatchObject({ code: 'model_not_found', param: 'model' });

    const an = new Anthropic({ baseURL: url, apiKey: 'unused', maxRetries: 0 });
    const listed = [];
    for await (const m of an.models.list()) listed.push(m);
    expect(listed.map((m) => m.id)).toEqual(expect.arrayContaining(['default', 'solo', 'fast', 'slow', 'down']));
    for (const m of listed) {
      expect(m).toMatchObject({ type: 'model', display_name: m.id });
      expect(Date.parse(m.created_at)).toBeGreaterThan(Date.parse('2020-01-01'));
    }
    expect(await an.models.retrieve('fast')).toMatchObject({ type: 'model', id: 'fast', display_name: 'fast' });
    const anMissing = await an.models.retrieve('no-such-route').catch((e) => e);
    expect(anMissing).toBeInstanceOf(Anthropic.NotFoundError);
    expect(anMissing.error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    // A path Anthropic's SDK calls that the gateway does not serve is refused in its envelope, so the SDK reads it.
    const count = await an.messages.countTokens({ model: 'default', messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    expect(count).toBeInstanceOf(Anthropic.NotFoundError);
    expect(count.error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });

  it('names every request with an id each SDK reads, in its header and (Anthropic) its error body, and logs it', async () => {
    const { url, logs } = await start();
    const oa = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const listed = await oa.models.list().withResponse();
    expect(listed.request_id).toMatch(/^req_[0-9a-f]{12}[0-9a-z]+$/);
    const oaErr = await oa.models.retrieve('no-such-route').catch((e) => e);
    expect(oaErr.requestID).toMatch(/^req_/);
    expect(oaErr.requestID).not.toBe(listed.request_id);

    const an = new Anthropic({ baseURL: url, apiKey: 'unused', maxRetries: 0 });
    const anErr = await an.messages.create({ model: 'no-such-route', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    expect(anErr).toBeInstanceOf(Anthropic.APIError);
    expect(anErr.requestID).toMatch(/^req_/);
    expect(anErr.error.request_id).toBe(anErr.requestID);
    // The access log's line for each request carries the id its client saw.
    for (const id of [listed.request_id, oaErr.requestID, anErr.requestID]) expect(logs.filter((l) => l.endsWith(` id=${id}`))).toHaveLength(1);
  });

  it('serves the paths without /v1 too, answers 404 and 405 in the OpenAI envelope, HEAD and OPTIONS', async () => {
    const { url } = await start();
    const bare = await (await fetch(`${url}/models`)).json();
    expect(bare.data.map((m: { id: string }) => m.id)).toContain('default');
    const ok = await post(`${url}/chat/completions`, chat('fast'));
    expect(ok.status).toBe(200);
    expect((await ok.json()).provider).toBe('fast');

    const nf = await fetch(`${url}/v2/nothing`);
    expect(nf.status).toBe(404);
    const nfBody = await nf.json();
    expect(nfBody.error).toMatchObject({ type: 'invalid_request_error', code: 'not_found' });
    expect(nfBody.error.message).toContain('/v2/nothing');

    const na = await fetch(`${url}/v1/chat/completions`);
    expect(na.status).toBe(405);
    expect(na.headers.get('allow')).toBe('POST, OPTIONS');
    expect((await na.json()).error.code).toBe('method_not_allowed');
    const naMessages = await fetch(`${url}/v1/messages`, { method: 'PUT', body: '{}' });
    expect(naMessages.status).toBe(405);
    // The Anthropic envelope on its path, with a client-error type (a 4xx is never the server's api_error).
    expect(await naMessages.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });

    const head = await fetch(`${url}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const opt = await fetch(`${url}/v1/models`, { method: 'OPTIONS' });
    expect(opt.status).toBe(204);
    expect(opt.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });
});

describe('health and readiness', () => {
  it('/healthz is 200; /readyz turns 503 naming the chain whose every breaker is open', async () => {
    const { url } = await start();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const before = await fetch(`${url}/readyz`);
    expect(before.status).toBe(200);
    expect(await before.text()).toBe('ready\n');
    // One failure opens "down"'s breaker (breaker_failures: 1): chain "solo" has nothing left.
    const failed = await post(`${url}/v1/chat/completions`, chat('solo'));
    expect(failed.status).toBe(502);
    const after = await fetch(`${url}/readyz`);
    expect(after.status).toBe(503);
    const text = await after.text();
    expect(text).toContain('chain "solo"');
    expect(text).not.toContain('chain "default"');
  });
});

describe('client auth', () => {
  const key = 'client-key-0123456789abcdef';
  it('401 without the key, in each dialect\'s envelope as the official SDKs read it; Bearer and x-api-key both work', async () => {
    const { url, logs } = await start({ clientKey: key });
    const noKey = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'wrong-key-xxxxxxxx', maxRetries: 0 });
    await expect(noKey.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const anth = new Anthropic({ baseURL: url, apiKey: 'wrong-key-xxxxxxxx', maxRetries: 0 });
    const err = await anth.messages.create({ model: 'default', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });

    expect((await post(`${url}/v1/chat/completions`, chat('fast'))).status).toBe(401);
    expect((await post(`${url}/v1/chat/completions`, chat('fast'), { authorization: `Bearer ${key}x` })).status).toBe(401);
    expect((await post(`${url}/v1/chat/completions`, chat('fast'), { authorization: `Bearer ${key}` })).status).toBe(200);
    expect((await post(`${url}/v1/chat/completions`, chat('fast'), { 'x-api-key': key })).status).toBe(200);
    const ok = new OpenAI({ baseURL: `${url}/v1`, apiKey: key });
    expect((await ok.models.list()).data.length).toBeGreaterThan(0);
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    // Probes need no key.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(logs.join('\n')).not.toContain(key);
    expect(logs.join('\n')).not.toContain('wrong-key');
  });
});

describe('limits', () => {
  it('413 for a declared or streamed body over the limit (cut off while it streams in), 400 for bad JSON', async () => {
    const { url } = await start({ limits: { maxBodyBytes: 2048 } });
    const big = chat('fast', 'x'.repeat(4000));
    const declared = await post(`${url}/v1/chat/completions`, big);
    expect(declared.status).toBe(413);
    expect((await declared.json()).error.code).toBe('request_too_large');

    // Chunked, no length: the server answers 413 after the first 4 KiB while the client keeps the upload open.
    const { port } = new URL(url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/messages', headers: { 'transfer-encoding': 'chunked' } }, (res) => resolve(res.statusCode!));
      req.on('error', reject);
      req.write('{"model":"fast","messages":[{"role":"user","content":"');
      req.write('y'.repeat(4096));
      // ...and never ends it: only a limit counted while the body streams in can answer.
    });
    expect(status).toBe(413);

    const bad = await post(`${url}/v1/chat/completions`, '{"model": "fast", ');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('invalid_json');
  });

  it('Expect: 100-continue: a request refused on its headers is answered before its body is asked for, and the connection closed; an accepted one gets 100 first', async () => {
    const key = 'client-key-0123456789abcdef';
    const { url } = await start({ clientKey: key, limits: { maxBodyBytes: 2048 } });
    const { port } = new URL(url);
    const body = chat('fast');
    /** Sends only the headers, as curl does for a large body, and returns what the gateway answers to them alone. */
    const headersOnly = async (headers: string): Promise<{ head: string; s: ReturnType<typeof connect> }> => {
      const s = connect(Number(port), '127.0.0.1');
      let got = '';
      s.setEncoding('utf8').on('data', (d: string) => (got += d));
      s.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nexpect: 100-continue\r\n${headers}\r\n`);
      await until(() => got.includes('\r\n\r\n'), 'an answer to the headers');
      return { head: got, s };
    };
    const noKey = await headersOnly(`content-length: ${body.length}\r\n`);
    expect(noKey.head).toMatch(/^HTTP\/1\.1 401 /);
    expect(noKey.head.toLowerCase()).toContain('connection: close');
    noKey.s.destroy();
    const tooBig = await headersOnly(`authorization: Bearer ${key}\r\ncontent-length: 1000000\r\n`);
    expect(tooBig.head).toMatch(/^HTTP\/1\.1 413 /);
    expect(tooBig.head.toLowerCase()).toContain('connection: close');
    tooBig.s.destroy();
    const accepted = await headersOnly(`authorization: Bearer ${key}\r\ncontent-length: ${body.length}\r\n`);
    expect(accepted.head).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    let answer = '';
    accepted.s.on('data', (d: string) => (answer += d));
    accepted.s.write(body);
    await until(() => answer.includes('"provider":"fast"'), 'the answer');
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.toLowerCase()).not.toContain('connection: close');
    accepted.s.destroy();
  });

  it('415 naming the coding for a compressed body (content-encoding: gzip), in each dialect; identity is read as sent', async () => {
    const { url } = await start();
    const gz = gzipSync(chat('fast'));
    const openai = await fetch(`${url}/v1/chat/completions`, { method: 'POST', body: gz, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
    expect(openai.status).toBe(415);
    expect(openai.headers.get('accept-encoding')).toBe('identity');
    expect(await openai.json()).toMatchObject({ error: { code: 'unsupported_content_encoding', message: 'content-encoding gzip is not supported: send the request body uncompressed' } });
    const anthropic = await fetch(`${url}/v1/messages`, { method: 'POST', body: gz, headers: { 'content-encoding': 'GZIP' } });
    expect(anthropic.status).toBe(415);
    expect((await anthropic.json()).error.message).toBe('content-encoding gzip is not supported: send the request body uncompressed');
    const identity = await post(`${url}/v1/chat/completions`, chat('fast'), { 'content-encoding': 'identity' });
    expect(identity.status).toBe(200);
  });

  it('413 reaches the official SDKs, each in its own process, as a 413 while they are still uploading a body far over the limit, and is not sent again', async () => {
    // Closed at once with the rest of the body unread, the connection was reset under the client: the SDKs
    // then read a connection error (at random, more often the larger the body), retried, and uploaded it
    // up to three times. Several rounds, as the reset was a race.
    const { url, logs } = await start({ limits: { maxBodyBytes: 64 * 1024 } });
    const outcomes: { sdk: string; error: string; status: number | null; type: string | null; sends: number }[] = [];
    for (const megabytes of [8, 8]) {
      const child = spawn(process.execPath, [fileURLToPath(new URL('./clients/sdk-upload.mjs', import.meta.url)), url, String(megabytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      await once(child, 'exit');
      outcomes.push(...out.trim().split('\n').map((l) => JSON.parse(l)));
    }
    expect(outcomes).toHaveLength(4);
    for (const o of outcomes) {
      expect(o).toMatchObject({ status: 413, sends: 1 });
      expect(o.error).toBe(o.sdk === 'openai' ? 'APIError' : 'ContentTooLargeError');
    }
    expect(outcomes.filter((o) => o.sdk === 'anthropic').map((o) => o.type)).toEqual(Array(2).fill('request_too_large'));
    expect(logs.filter((l) => / 413 /.test(l))).toHaveLength(4);
  });

  it('429 with Retry-After past the per-client concurrency limit, and a slot frees when a request ends', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let admitted = 0;
    const held: EndpointHandler = async (_b, _req, res) => {
      admitted++;
      await gate;
      res.end('done');
    };
    const { url } = await start({ handlers: { chatCompletions: held, messages: held }, limits: { maxConcurrentPerClient: 2 } });
    const first = [post(`${url}/v1/chat/completions`, chat('fast')), post(`${url}/v1/chat/completions`, chat('fast'))];
    // Both hold their slots before the third is sent (a fixed 100 ms wait let a slow first request be overtaken).
    await until(() => admitted === 2, 'both first requests admitted');
    const third = await post(`${url}/v1/chat/completions`, chat('fast'));
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('1');
    expect((await third.json()).error.type).toBe('rate_limit_error');
    release();
    expect((await Promise.all(first)).map((r) => r.status)).toEqual([200, 200]);
    expect((await post(`${url}/v1/chat/completions`, chat('fast'))).status).toBe(200);
  });

  it('closes a slowloris connection within the header timeout while serving other clients', async () => {
    const { url } = await start({ limits: { headersReceiveMs: 1000, requestReceiveMs: 2000 } });
    const { port } = new URL(url);
    const sock = connect(Number(port), '127.0.0.1');
    await once(sock, 'connect');
    const t0 = Date.now();
    sock.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n');
    const dribble = setInterval(() => sock.writable && sock.write('X'), 200);
    let reply = '';
    sock.on('data', (d) => (reply += d));
    const closed = once(sock, 'close');
    // Meanwhile another client is served at once.
    const h0 = Date.now();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(Date.now() - h0).toBeLessThan(500);
    await closed;
    clearInterval(dribble);
    const ms = Date.now() - t0;
    // Header timeout 1 s, checked every second: closed between 1 and 2 s (plus scheduling slack).
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(3500);
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
  });

  it('caps open connections: past maxConnections a new one is closed at once', async () => {
    const { url } = await start({ limits: { maxConnections: 2 } });
    const { port } = new URL(url);
    const open = async () => {
      const s = connect(Number(port), '127.0.0.1');
      await once(s, 'connect');
      return s;
    };
    const kept = [await open(), await open()];
    const third = await open();
    const t0 = Date.now();
    await once(third, 'close');
    expect(Date.now() - t0).toBeLessThan(1000);
    kept[0].destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    kept[1].destroy();
  });
});

describe('access log and errors', () => {
  it('counts attempts in the log as the x-llm-fallback-attempts header does: requests sent, not providers skipped', async () => {
    const { url, logs } = await start();
    await post(`${url}/v1/chat/completions`, chat('solo')); // refused: its breaker opens (breaker_failures: 1)
    const solo = () => logs.filter((l) => l.includes('route=solo'));
    await until(async () => {
      await post(`${url}/v1/chat/completions`, chat('solo'));
      return solo().some((l) => / attempts=0 /.test(l)); // skipped by its open breaker: no request sent
    }, 'a call with its only provider skipped');
    expect(solo()[0]).toMatch(/ attempts=1 /);
  });

  it('logs one line per request: method, path, status, route, provider, attempts, duration; never the prompt', async () => {
    const { url, logs } = await start();
    await post(`${url}/v1/chat/completions`, chat('default', 'a secret prompt about kittens'));
    await fetch(`${url}/v1/models`);
    await fetch(`${url}/healthz`);
    const line = logs.find((l) => l.includes('/v1/chat/completions'))!;
    expect(line).toMatch(/^\d{4}-\d\d-\d\dT\S+Z POST \/v1\/chat\/completions 200 route=default provider=fast source=live attempts=1 \d+\.\dms id=req_\w+$/);
    expect(logs.some((l) => / GET \/v1\/models 200 /.test(l))).toBe(true);
    // Successful probes stay out of the log.
    expect(logs.some((l) => l.includes('/healthz'))).toBe(false);
    expect(logs.join('\n')).not.toContain('kittens');
  });

  it('a handler that throws: 500 in the envelope and one log line, the server stays up', async () => {
    const boom: EndpointHandler = async () => {
      throw new Error('handler bug');
    };
    const { url, logs } = await start({ handlers: { chatCompletions: boom, messages: boom } });
    const r = await post(`${url}/v1/chat/completions`, chat('fast'));
    expect(r.status).toBe(500);
    expect((await r.json()).error.code).toBe('internal_error');
    expect(logs.some((l) => l.includes('handler bug'))).toBe(true);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('reports each request and call to the metrics sink, and serves its text with the Prometheus content type', async () => {
    const seen: string[] = [];
    const metrics = {
      requestStarted: () => seen.push('started'),
      requestFinished: (r: { endpoint: string; model: string; status: number }) => seen.push(`finished ${r.endpoint} ${r.model} ${r.status}`),
      call: (chain: string, result: { provider: string | null }) => seen.push(`call ${chain} ${result.provider}`),
      setBreakerSource: () => seen.push('breakers'),
      render: () => '# metrics\n',
    };
    const { url } = await start({ metrics });
    await post(`${url}/v1/chat/completions`, chat('default'));
    const m = await fetch(`${url}/metrics`);
    expect(m.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await m.text()).toBe('# metrics\n');
    expect(seen).toEqual(['breakers', 'started', 'call default fast', 'finished chat_completions default 200']);
  });
});

describe('reload and shutdown', () => {
  it('swap: a request in flight finishes on the old router; new requests and /v1/models see the new one; the old one is closed after', async () => {
    const old = await router();
    const { gw, url } = await start({}, old);
    const { response: slow } = await inFlight(url);
    const next = await router(config('  extra: [fast]\n'));
    await gw.swap(next);
    const ids = (await (await fetch(`${url}/v1/models`)).json()).data.map((m: { id: string }) => m.id);
    expect(ids).toContain('extra');
    expect((await post(`${url}/v1/chat/completions`, chat('extra'))).status).toBe(200);
    // The old router is still serving its request...
    expect(() => old.route('fast')).not.toThrow();
    const r = await slow;
    expect(r.status).toBe(200);
    expect((await r.json()).provider).toBe('slow');
    // ...and is closed once it is done.
    await new Promise((res) => setTimeout(res, 50));
    expect(() => old.route('fast')).toThrow(/closed/);
  });

  it('shutdown: in-flight requests finish within the grace, new connections are refused, the response says connection: close', async () => {
    const { gw, url } = await start();
    const { response: slow } = await inFlight(url);
    const stopping = gw.shutdown(10_000);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    const r = await slow;
    expect(r.status).toBe(200);
    expect(r.headers.get('connection')).toBe('close');
    expect(await stopping).toEqual({ finished: 1, aborted: 0 });
  });

  it('shutdown: past the grace the rest is aborted through ctx.signal', async () => {
    const { gw, url } = await start();
    const { response: slow } = await inFlight(url);
    const t0 = Date.now();
    const result = await gw.shutdown(300);
    expect(Date.now() - t0).toBeLessThan(1400);
    expect(result).toEqual({ finished: 0, aborted: 1 });
    const r = await slow;
    const body = await r.json();
    expect(body.aborted).toBe(true);
    expect(body.provider).toBeNull();
  });
});

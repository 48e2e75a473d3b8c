/*
 * The whole gateway: `llm-fallback serve` as a child process with its real dialect handlers, metrics and
 * state stores, driven by the official openai and @anthropic-ai/sdk clients through a chain whose first
 * provider is down; and two replicas sharing breaker state through a real redis-server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnServe, type ServeProcess } from '../src/perf/gateway.js';
import { spawnEmulator } from './cli-helpers.js';
import { freePort } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'llmf-gw-'));
const emu = await spawnEmulator({
  seed: 2,
  providers: {
    fast: { dialect: 'openai', model: 'fast-1', output_tokens: { dist: 'constant', value: 5 } },
    claude: { dialect: 'anthropic', model: 'claude-x', output_tokens: { dist: 'constant', value: 5 } },
    dead: { dialect: 'openai', model: 'dead-1', script: [{ kind: 'overloaded' }] },
  },
});
const served: ServeProcess[] = [];
afterAll(async () => {
  for (const s of served) await s.close();
  await emu.close();
});

function config(name: string, extra = ''): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `defaults: { breaker_failures: 1, breaker_cooldown: 1h }
providers:
  fast: { api: openai, base_url: "${emu.baseUrl('fast')}", model: fast-1 }
  claude: { api: anthropic, base_url: "${emu.baseUrl('claude')}", model: claude-x }
  dead: { api: openai, base_url: "${emu.baseUrl('dead')}", model: dead-1 }
chains:
  default: [dead, fast]
  anthropic-first: [dead, claude]
  solo: [dead]
${extra}`,
  );
  return file;
}

async function serve(args: string[]): Promise<ServeProcess> {
  const s = await spawnServe(args);
  served.push(s);
  return s;
}

describe('serve with the official SDKs', () => {
  it('answers through a chain whose first provider is down, streaming and not, in both dialects; /metrics counts it', async () => {
    const s = await serve(['--config', config('sdk.yaml'), 'serve']);
    const openai = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const { data, response } = await openai.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(data.choices[0].message.content?.trim().split(/\s+/)).toHaveLength(5);
    expect(response.headers.get('x-llm-fallback-provider')).toBe('fast');

    const stream = await openai.chat.completions.create({ model: 'default', stream: true, messages: [{ role: 'user', content: 'hi again' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text.trim().split(/\s+/)).toHaveLength(5);

    const anthropic = new Anthropic({ baseURL: s.url, apiKey: 'unused', maxRetries: 0 });
    const msg = await anthropic.messages.create({ model: 'anthropic-first', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    expect(msg.content[0].type === 'text' && msg.content[0].text.trim().split(/\s+/)).toHaveLength(5);

    const metrics = await fetch(`${s.url}/metrics`);
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text2 = await metrics.text();
    expect(text2).toMatch(/^llm_fallback_requests_total\{endpoint="chat_completions",model="default",status="200"\} 2$/m);
    expect(text2).toMatch(/^llm_fallback_requests_total\{endpoint="messages",model="anthropic-first",status="200"\} 1$/m);
    expect(text2).toMatch(/^llm_fallback_breaker_state\{provider="dead",model="dead-1"\} 2$/m);
  });
});

describe('serve --otlp-endpoint', () => {
  it('sends one span per call and per attempt to the collector, flushed at SIGTERM', async () => {
    const posts: { path: string; body: string }[] = [];
    const collector = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        posts.push({ path: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', () => r()));
    afterAll(() => void collector.close());
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`;
    const s = await serve(['--config', config('otlp.yaml'), 'serve', '--otlp-endpoint', endpoint]);
    // Two tracestate fields, as a client behind two tracing systems may send them (W3C: combined in order).
    const headers = new Headers({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    headers.append('tracestate', 'rojo=00f067aa0ba902b7');
    headers.append('tracestate', 'congo=t61rcWkgMzE');
    const r = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'default', max_tokens: 50, temperature: 0.5, top_p: 0.9, seed: 7, frequency_penalty: 0.25, messages: [{ role: 'user', content: 'a prompt that stays private' }] }) });
    expect(r.status).toBe(200);
    expect(await s.close()).toBe(143);
    expect(posts.length).toBeGreaterThanOrEqual(1);
    expect(posts[0].path).toBe('/v1/traces');
    const spans = posts.flatMap((p) => JSON.parse(p.body).resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans)));
    // The call and its two attempts (dead, then fast), in the client's trace.
    expect(spans).toHaveLength(3);
    for (const span of spans) expect(span.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    for (const span of spans) expect(span.traceState).toBe('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
    const attr = (span: any, key: string) => span.attributes.find((a: any) => a.key === key)?.value;
    const [, dead, fast] = spans;
    expect(attr(dead, 'server.port')).toEqual({ intValue: new URL(emu.baseUrl('dead')).port });
    expect(attr(fast, 'server.address')).toEqual({ stringValue: '127.0.0.1' });
    expect(attr(fast, 'server.port')).toEqual({ intValue: new URL(emu.baseUrl('fast')).port });
    expect(attr(fast, 'gen_ai.response.model')).toEqual({ stringValue: 'fast-1' });
    expect(attr(fast, 'gen_ai.response.id')?.stringValue).toMatch(/^chatcmpl-/);
    for (const span of spans) expect([attr(span, 'gen_ai.request.max_tokens'), attr(span, 'gen_ai.request.temperature')]).toEqual([{ intValue: '50' }, { doubleValue: 0.5 }]);
    for (const span of spans) {
      expect([attr(span, 'gen_ai.request.top_p'), attr(span, 'gen_ai.request.seed'), attr(span, 'gen_ai.request.frequency_penalty')]).toEqual([{ doubleValue: 0.9 }, { intValue: '7' }, { doubleValue: 0.25 }]);
      expect(attr(span, 'gen_ai.request.presence_penalty')).toBeUndefined(); // not in the request
    }
    expect(posts.map((p) => p.body).join('')).not.toContain('stays private');
  });
});

/* A real redis-server (Debian's package) on a free loopback port, without persistence. */
const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
/** Every redis-server this file started, stopped when the file ends (a hook registered inside a test would never run). */
const redisChildren: ChildProcess[] = [];
afterAll(() => {
  for (const c of redisChildren) c.kill('SIGKILL');
});

async function startRedis(): Promise<{ url: string; child: ChildProcess }> {
  accessSync(REDIS_SERVER, constants.X_OK);
  const port = await freePort();
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--logfile', ''], { stdio: 'ignore' });
  redisChildren.push(child);
  for (const until = Date.now() + 10_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
    const pong = await new Promise<string>((resolve) => {
      const sock = connect(port, '127.0.0.1', () => sock.write('PING\r\n'));
      sock.on('data', (d) => (sock.destroy(), resolve(String(d))));
      sock.on('error', () => resolve(''));
    });
    if (pong.startsWith('+PONG')) return { url: `redis://127.0.0.1:${port}`, child };
  }
  throw new Error(`redis-server did not answer on 127.0.0.1:${port}`);
}

describe('replicas share breaker state through Redis', () => {
  it('one replica finds a provider down; the other skips it and turns unready for the chain that has nothing else', async () => {
    const redis = await startRedis();
    const cfg = config('replicas.yaml');
    const a = await serve(['--config', cfg, 'serve', '--state', redis.url]);
    const b = await serve(['--config', cfg, 'serve', '--state', redis.url]);
    expect((await fetch(`${b.url}/readyz`)).status).toBe(200);
    // Replica A meets the failure (breaker_failures: 1 opens "dead" for an hour).
    const viaA = await fetch(`${a.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'default', messages: [{ role: 'user', content: 'x' }] }) });
    expect(viaA.headers.get('x-llm-fallback-attempts')).toBe('2');
    // Replica B sees it (its view of Redis is at most a second old) and does not ask "dead" at all.
    await new Promise((r) => setTimeout(r, 1_200));
    const ready = await fetch(`${b.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toContain('chain "solo"');
    const viaB = await fetch(`${b.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'default', messages: [{ role: 'user', content: 'y' }] }) });
    expect(viaB.status).toBe(200);
    expect(viaB.headers.get('x-llm-fallback-provider')).toBe('fast');
    expect(viaB.headers.get('x-llm-fallback-attempts')).toBe('1');
  });
});

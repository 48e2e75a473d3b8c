// bench's rehearsal before the clock (src/bench/prewarm.ts, replay-server.ts): stand-ins without credentials,
// a replaying server that hands on the emulator's answers, and nothing sent to the providers measured.
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { prewarmRequestPath } from '../src/bench/prewarm.js';
import { startReplay } from '../src/bench/replay-server.js';
import { BenchRunner } from '../src/bench/runner.js';
import { createAdapter, type ProviderSettings } from '../src/providers/index.js';
import type { ProviderAdapter, ProviderEvent } from '../src/providers/types.js';
import { emulator } from './helpers.js';
import { PRICE, target } from './bench-helpers.js';

const server = await emulator({ fast: { dialect: 'openai', output_tokens: { dist: 'constant', value: 5 } }, claude: { dialect: 'anthropic', output_tokens: { dist: 'constant', value: 5 } } });

async function collect(adapter: ProviderAdapter, stream: boolean, content = 'hi'): Promise<ProviderEvent[]> {
  const out: ProviderEvent[] = [];
  for await (const ev of adapter.stream({ messages: [{ role: 'user', content }], stream })) out.push(ev);
  return out;
}
const text = (evs: ProviderEvent[]) => evs.flatMap((e) => (e.type === 'content_delta' ? [e.text] : [])).join('');

describe('the replaying server', () => {
  it('asks the emulator once per path and hands its answer, byte for byte, to every later request (chunked and content-length framing)', async () => {
    // An upstream that counts requests and answers each path with different framing.
    let upstreamRequests = 0;
    const upstream = createHttpServer((req, res) => {
      upstreamRequests++;
      req.resume();
      req.on('end', () => {
        if (req.url!.endsWith('/stream/chat/completions')) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          for (const w of ['Hel', 'lo', '!']) res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: w }, finish_reason: null }] })}\n\n`);
          res.end(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`);
        } else {
          const body = JSON.stringify({ id: 'x', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: `answer ${upstreamRequests}` }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        }
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const replay = await startReplay({ host: '127.0.0.1', port: (upstream.address() as { port: number }).port });
    const streamed = createAdapter({ name: 's', api: 'openai', baseUrl: `${replay.url}/stream`, model: 'm', headers: {}, params: {}, timeouts: { totalMs: 5000 } });
    const json = createAdapter({ name: 'j', api: 'openai', baseUrl: `${replay.url}/json`, model: 'm', headers: {}, params: {}, timeouts: { totalMs: 5000 } });
    try {
      for (let i = 0; i < 5; i++) {
        const s = await collect(streamed, true);
        expect(text(s)).toBe('Hello!');
        expect(s.at(-1)!.type).toBe('finish');
        const j = await collect(json, false);
        // The first answer, kept: the upstream's later ones would have said "answer 3", "answer 4"...
        expect(text(j)).toBe('answer 2');
        expect(j.at(-1)!.type).toBe('finish');
      }
      expect(upstreamRequests).toBe(2);
    } finally {
      await streamed.close();
      await json.close();
      await replay.close();
      upstream.close();
    }
  });

  it('passes on a real emulator answer in either dialect, streamed or not', async () => {
    const replay = await startReplay({ host: '127.0.0.1', port: server.port });
    try {
      for (const name of ['fast', 'claude'] as const) {
        const api = name === 'claude' ? 'anthropic' : 'openai';
        const a = createAdapter({ name, api, baseUrl: replay.url + new URL(server.baseUrl(name)).pathname, model: 'm', headers: {}, params: {}, timeouts: { totalMs: 5000 } });
        try {
          for (const stream of [true, false]) {
            server.resetStats();
            const first = await collect(a, stream);
            const again = await collect(a, stream);
            expect(first.at(-1), `${name} stream=${stream}: ${JSON.stringify(first.at(-1))}`).toMatchObject({ type: 'finish', reason: 'stop' });
            expect(text(again)).toBe(text(first));
            expect(text(first).length).toBeGreaterThan(0);
            // One of the two reached the emulator; the other was replayed.
            expect(server.stats()[name].requests).toBe(1);
          }
        } finally {
          await a.close();
        }
      }
    } finally {
      await replay.close();
    }
  });
});

describe('stand-ins', () => {
  const settings: ProviderSettings = {
    name: 'azure',
    api: 'openai',
    baseUrl: 'https://example.invalid/openai/deployments/d?api-version=2024-10-21',
    model: 'gpt',
    apiKey: 'sk-live-0123456789abcdef',
    headers: { 'api-key': 'azure-secret-value-42', authorization: 'Bearer token-from-env-77', 'x-team': 'search' },
    secrets: ['azure-secret-value-42', 'Bearer token-from-env-77', 'token-from-env-77'],
    params: { temperature: 0.2 },
    timeouts: { connectMs: 1000, totalMs: 9000 },
    maxOutputTokens: 64,
  };

  it('keep every setting but the credentials, which become placeholders of the same length', () => {
    const adapter = createAdapter(settings);
    const s = adapter.standInSettings!('http://127.0.0.1:9/openai/v1');
    expect(s.baseUrl).toBe('http://127.0.0.1:9/openai/v1');
    expect(s.apiKey).toBe('x'.repeat(settings.apiKey!.length));
    expect(s.headers).toEqual({ 'api-key': 'x'.repeat(21), authorization: 'x'.repeat(24), 'x-team': 'search' });
    expect(s.secrets).toEqual([]);
    expect({ ...s, baseUrl: 0, apiKey: 0, headers: 0, secrets: 0 }).toEqual({ ...settings, baseUrl: 0, apiKey: 0, headers: 0, secrets: 0 });
  });

  it('send the provider\'s request shape with none of its secrets', async () => {
    // A raw server that keeps the bytes it is sent and answers one chat completion.
    const seen: Buffer[] = [];
    const raw = createServer((socket: Socket) => {
      socket.on('data', (d: Buffer) => {
        seen.push(d);
        const body = JSON.stringify({ id: 'x', model: 'gpt', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] });
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      });
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    const standIn = createAdapter(createAdapter(settings).standInSettings!(`http://127.0.0.1:${(raw.address() as { port: number }).port}/openai/v1`));
    try {
      const evs = await collect(standIn, false, 'a prompt of the run');
      expect(evs.at(-1)!.type).toBe('finish');
      const sent = Buffer.concat(seen).toString('latin1');
      expect(sent).toContain('a prompt of the run');
      expect(sent).toContain('"temperature":0.2');
      expect(sent).toContain('x-team: search');
      for (const secret of [settings.apiKey!, 'azure-secret-value-42', 'token-from-env-77']) expect(sent).not.toContain(secret);
    } finally {
      await standIn.close();
      raw.close();
    }
  });
});

describe('the rehearsal', () => {
  it('runs stand-ins of the targets (same name, model, dialect and price) against the replaying server, never the targets', async () => {
    server.resetStats();
    const real = [target(server, 'fast'), target(server, 'claude')];
    let rehearsed = 0;
    await prewarmRequestPath(real, async (standIns, plan) => {
      expect(standIns.map((s) => [s.name, s.model, s.api, s.price])).toEqual(real.map((t) => [t.name, t.model, t.api, PRICE]));
      expect(plan.requestsEach).toBeGreaterThan(0);
      for (const s of standIns) {
        expect(s.adapter).not.toBe(real.find((t) => t.name === s.name)!.adapter);
        const evs = await collect(s.adapter, true);
        expect(evs.at(-1)!.type).toBe('finish');
        rehearsed++;
      }
    });
    expect(rehearsed).toBe(2);
    expect(server.stats().fast?.requests ?? 0).toBe(0);
    expect(server.stats().claude?.requests ?? 0).toBe(0);
  });

  it('before a run, sends nothing to the providers, and the run\'s time series counts from its clock', async () => {
    server.resetStats();
    const t = target(server, 'fast');
    const runner = new BenchRunner([t], { mode: 'closed', concurrency: 2, rate: 0, arrival: 'constant', requests: 6, warmup: 0, stream: true, seed: 1, prompts: [[{ role: 'user', content: 'hi' }]], keepText: false, maxInflight: 100 });
    const out = await runner.run();
    expect(out.accumulators.get('fast')!.ok).toBe(6);
    // Only the measured requests reached the provider: the rehearsal's went to the replaying server.
    expect(server.stats().fast.requests).toBe(6);
    // The preparation took a while (connections, then the rehearsal); the time series starts after it.
    expect(out.client.prepare_ms).toBeGreaterThan(50);
    const origin = out.accumulators.get('fast')!.timeline.state().originEpochMs;
    expect(Math.abs(origin - out.startedAt.getTime())).toBeLessThan(20);
  });
});

afterAll(() => server.close());

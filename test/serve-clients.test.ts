/*
 * The gateway (src/serve/server.ts with its real dialect handlers) under clients as they really behave
 * on the wire: raw sockets on loopback that stop reading a stream, against the emulator.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { createRouter } from '../src/router.js';
import { messages } from '../src/serve/anthropic.js';
import { chatCompletions } from '../src/serve/openai.js';
import { Gateway, type GatewayLimits } from '../src/serve/server.js';
import { countingRelay, emulator, until, untilSettled } from './helpers.js';

const mock = await emulator({
  // A long answer paced over 20 s, far more than the socket buffers of a client that reads nothing take.
  long: { dialect: 'openai', model: 'long-1', ttft: { dist: 'constant', value: 1 }, total: { dist: 'constant', value: 20_000 }, output_tokens: { dist: 'constant', value: 100_000 } },
  paced: { dialect: 'openai', model: 'paced-1', ttft: { dist: 'constant', value: 1 }, total: { dist: 'constant', value: 1_500 }, output_tokens: { dist: 'constant', value: 100 } },
  // Paced for longer than a loaded machine may take from a request being taken to its client going away.
  held: { dialect: 'openai', model: 'held-1', ttft: { dist: 'constant', value: 1 }, total: { dist: 'constant', value: 6_000 }, output_tokens: { dist: 'constant', value: 100 } },
  burst: { dialect: 'openai', model: 'burst-1', ttft: { dist: 'constant', value: 1 }, itl: { dist: 'constant', value: 0 }, output_tokens: { dist: 'constant', value: 20_000 } },
  // 100,000 tokens as fast as the emulator writes them: some 30 MB of SSE, far more than the kernel's socket buffers take.
  flood: { dialect: 'openai', model: 'flood-1', ttft: { dist: 'constant', value: 1 }, itl: { dist: 'constant', value: 0 }, output_tokens: { dist: 'constant', value: 100_000 } },
});
// What reaches the gateway's connection to the flood provider, counted.
const floodRelay = await countingRelay(mock.baseUrl('flood'));

const router = await createRouter({
  config: parseConfig(
    `defaults: { retries: 0 }
providers:
  long: { api: openai, base_url: "${mock.baseUrl('long')}", model: long-1 }
  burst: { api: openai, base_url: "${mock.baseUrl('burst')}", model: burst-1 }
  paced: { api: openai, base_url: "${mock.baseUrl('paced')}", model: paced-1 }
  held: { api: openai, base_url: "${mock.baseUrl('held')}", model: held-1 }
  flood: { api: openai, base_url: "${floodRelay.url}", model: flood-1, timeouts: { idle: 400ms } }
`,
    'test.yaml',
  ),
  env: {},
});

async function start(limits: Partial<GatewayLimits>): Promise<{ gw: Gateway; port: number; logs: string[] }> {
  const logs: string[] = [];
  const gw = new Gateway({ router, handlers: { chatCompletions, messages }, log: (l) => logs.push(l), limits });
  const { port } = await gw.listen(0, '127.0.0.1');
  return { gw, port, logs };
}
const gateways: Gateway[] = [];
afterAll(async () => {
  for (const g of gateways) await g.shutdown(0);
  await router.close();
});

const streamed = (model: string) => {
  const body = JSON.stringify({ model, stream: true, max_tokens: 100_000, messages: [{ role: 'user', content: 'hi' }] });
  return `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
};

/** Sends streamed chat requests (pipelined, when more than one) on a raw socket and returns the socket, paused: it reads nothing. */
async function pausedClient(port: number, ...models: string[]): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  await new Promise((resolve) => s.once('connect', resolve));
  s.pause();
  s.write(models.map(streamed).join(''));
  return s;
}

describe('a client that stops reading a stream', () => {
  it('is dropped once its unread answer stays past the limit, and the provider\'s stream is cancelled', async () => {
    const { gw, port, logs } = await start({ maxUnreadBytes: 64 * 1024, unreadMs: 300 });
    gateways.push(gw);
    mock.resetStats();
    const clients = [await pausedClient(port, 'long'), await pausedClient(port, 'long')];
    // Each is given up (499: the client did not take its answer) while the emulator is still streaming it.
    await until(() => logs.filter((l) => / 499 route=long /.test(l)).length === 2, 'both paused clients to be dropped', 15_000);
    expect(gw.inFlightCount).toBe(0);
    // The provider's streams were closed: neither ran to its end.
    await until(() => mock.stats().long.requests === 2, 'the emulator to count both requests');
    expect(mock.stats().long.ok).toBe(0);
    for (const c of clients) c.destroy();
  }, 30_000);

  it('a client that pauses, then reads, keeps its whole answer: the clock starts only past the limit and its drain stops it', async () => {
    const { gw, port, logs } = await start({ maxUnreadBytes: 16 * 1024, unreadMs: 1_000 });
    gateways.push(gw);
    for (let i = 0; i < 3; i++) {
      // The whole answer (about 4 MB of frames) comes at once, while the client reads nothing for 300 ms.
      const s = await pausedClient(port, 'burst');
      await new Promise((resolve) => setTimeout(resolve, 300));
      let text = '';
      s.setEncoding('utf8').on('data', (d: string) => (text += d));
      s.resume();
      await until(() => text.includes('data: [DONE]') || s.destroyed, 'the stream to end');
      expect(text).toContain('data: [DONE]');
      s.destroy();
    }
    expect(logs.filter((l) => / 200 route=burst /.test(l))).toHaveLength(3);
  }, 30_000);

  it('holds the provider back while it is not read (before it is dropped): the upstream stalls, and a reader that comes back gets the whole answer', async () => {
    // 10 s before a drop: the client is paused far shorter, so this is the time before that clock runs out,
    // when the gateway used to read the whole answer into memory for it.
    const { gw, port, logs } = await start({ maxUnreadBytes: 64 * 1024, unreadMs: 10_000 });
    gateways.push(gw);
    const before = floodRelay.bytes();
    const s = await pausedClient(port, 'flood');
    const stalled = (await untilSettled(() => floodRelay.bytes(), 'the provider\'s stream to stall')) - before;
    // Over twice the provider's 400 ms idle clock: the wait is the client's, not a stalled provider.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(floodRelay.bytes() - before).toBe(stalled);
    let text = '';
    s.setEncoding('utf8').on('data', (d: string) => (text += d));
    s.resume();
    await until(() => text.includes('data: [DONE]') || s.destroyed, 'the stream to end', 20_000);
    s.destroy();
    expect(text).toContain('data: [DONE]');
    let words = 0;
    for (const m of text.matchAll(/^data: (\{.*\})$/gm)) words += ((JSON.parse(m[1]) as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta?.content ?? '').split(/\s+/).filter(Boolean).length;
    expect(words).toBe(100_000);
    expect(logs.filter((l) => / 200 route=flood /.test(l))).toHaveLength(1);
    // While the client read nothing, most of the answer waited upstream (in kernel buffers and at the emulator), not in the gateway.
    expect(floodRelay.bytes() - before).toBeGreaterThan(stalled * 1.5);
  }, 40_000);

  it('a client that pipelines streams and goes away ends them all: their calls are cancelled and its slots come back', async () => {
    // Node closes a response only once it has had the connection: the ones queued behind the first never heard
    // their connection go, and stayed in flight for ever, holding the client's slots and their chain calls.
    const { gw, port, logs } = await start({ maxConcurrentPerClient: 3 });
    gateways.push(gw);
    mock.resetStats();
    // More rounds than the client has slots for a leaked one: a leak shows as a round that never ends (or a 429).
    for (let round = 1; round <= 3; round++) {
      // The burst's 4 MB wait in the gateway (past max_unread it waits to drain); the held answer waits its turn.
      const s = await pausedClient(port, 'long', 'burst', 'held');
      await until(() => gw.inFlightCount === 3, 'the three requests to be taken', 10_000);
      s.destroy();
      await until(() => gw.inFlightCount === 0, `round ${round}: every request to end`, 10_000);
      expect(logs.filter((l) => / 499 route=(long|burst|held) /.test(l))).toHaveLength(3 * round);
    }
    // The held answer takes 6 s from its request: a call that was not cancelled would have run to its end by now.
    // (Paced over 1.5 s, one of three ran to its end in a loaded full run: its client went away only after that.)
    await new Promise((resolve) => setTimeout(resolve, 6_500));
    expect(mock.stats().held).toMatchObject({ requests: 3, ok: 0 });
  }, 40_000);

  it('a pipelined stream queued behind another is not taken for an unread one: both reach a client that reads', async () => {
    const { gw, port, logs } = await start({ maxUnreadBytes: 16 * 1024, unreadMs: 300 });
    gateways.push(gw);
    // The burst's 4 MB wait in the gateway for the 1.5 s the paced answer before it takes, while the client reads all it is sent.
    const s = await pausedClient(port, 'paced', 'burst');
    let text = '';
    s.setEncoding('utf8').on('data', (d: string) => (text += d));
    s.resume();
    await until(() => text.split('data: [DONE]').length === 3 || s.destroyed, 'both streams to end', 15_000);
    expect(text.split('data: [DONE]')).toHaveLength(3);
    s.destroy();
    expect(logs.filter((l) => / 200 route=(paced|burst) /.test(l))).toHaveLength(2);
  }, 30_000);
});

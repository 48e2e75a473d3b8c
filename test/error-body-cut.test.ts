import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAdapter } from '../src/providers/index.js';
import { ask, collect, errorOf, until } from './helpers.js';
import { run } from './cli-helpers.js';
import { FIXTURES, wireBody } from './wire-fixtures.js';

/*
 * An error answer whose body breaks off after the status line: the status is what the server said, the
 * body only detail. Real servers do this: tinyproxy answers 407 and closes a connection whose request body
 * it never read, so the kernel resets it and the client's read fails (CI met it as ECONNRESET instead of the
 * proxy's 407). Each server here writes its head and part of the body, then resets the connection.
 */

/** A recorded OpenAI 429 body (test/fixtures/wire), of which only the first half is sent. */
const rateLimited = wireBody(FIXTURES.find((f) => f.file === 'openai/error-429-rate-limit-tpm.json')!).toString();

const servers: Server[] = [];
afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

/** A raw server: on the end of each request head, `answer` writes to the socket. */
async function rawServer(answer: (socket: Socket) => void): Promise<string> {
  const server = createServer((socket) => {
    let head = '';
    socket.on('error', () => {});
    socket.on('data', (d) => {
      if (head.includes('\r\n\r\n')) return;
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) answer(socket);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return `127.0.0.1:${port}`;
}

/** Writes a head announcing the whole body, half of the body, then resets the connection (RST, not FIN). */
const cutAfterHalf = (status: string, headers: string, body: string) => (socket: Socket) => {
  socket.write(`HTTP/1.1 ${status}\r\n${headers}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, body.length >> 1)}`, () => setTimeout(() => socket.resetAndDestroy(), 20));
};

const adapter = (host: string, totalMs = 10_000) => {
  const a = createAdapter({ name: 'p', api: 'openai', baseUrl: `http://${host}/v1`, model: 'm', headers: {}, params: {}, timeouts: { connectMs: 2000, firstTokenMs: totalMs, idleMs: totalMs, totalMs } });
  afterAll(() => a.close());
  return a;
};

describe('an error answer cut off after its status', () => {
  it('a 429 reset mid-body is still the rate limit it said, with its Retry-After, for stream and one-piece requests', async () => {
    const host = await rawServer(cutAfterHalf('429 Too Many Requests', 'retry-after: 7\r\n', rateLimited));
    const a = adapter(host);
    for (const stream of [true, false]) {
      const e = errorOf(await collect(a, ask('hi', { stream })));
      expect([e.errorClass, e.status, e.retryAfterMs, e.isRetryable]).toEqual(['rate_limit', 429, 7000, true]);
      expect(e.message).toMatch(/^p: HTTP 429/);
    }
  });

  it('a 500 whose body never ends is still ended by the clock (a deadline is not a partial body)', async () => {
    const host = await rawServer((socket) => socket.write('HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"error":'));
    const a = adapter(host, 600);
    const t0 = performance.now();
    const e = errorOf(await collect(a, ask('hi')));
    expect(e.errorClass).toBe('timeout');
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it("a proxy's 407 reset mid-body is the proxy's refusal naming the variable, not a lost connection", async () => {
    const proxy = await rawServer(cutAfterHalf('407 Proxy Authentication Required', 'proxy-authenticate: Basic realm="p"\r\n', '{"error":"Proxy Authentication Required, give a user and password"}'));
    const d = mkdtempSync(join(tmpdir(), 'llmf-cut-'));
    const config = join(d, 'providers.yaml');
    // 192.0.2.2 (TEST-NET-1) is never reached: the proxy answers for it.
    writeFileSync(config, 'defaults:\n  retries: 0\nproviders:\n  p1: { api: openai, base_url: "http://192.0.2.2:8080/v1", model: m }\nchains:\n  default: [p1]\n');
    const env: NodeJS.ProcessEnv = { XDG_STATE_HOME: join(d, 'state'), XDG_CACHE_HOME: join(d, 'cache') };
    for (const v of ['https_proxy', 'HTTPS_PROXY', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY', 'no_proxy', 'NO_PROXY']) env[v] = '';
    env.http_proxy = `http://${proxy}`;
    const r = await run(['ask', '--no-cache', '--json', '--config', config, 'hello'], { env });
    expect(r.code).toBe(1);
    const a = JSON.parse(r.stdout).attempts[0];
    expect([a.error_detail, a.status, a.error_message]).toEqual([
      'network:ERR_PROXY_AUTH',
      407,
      `p1: proxy http://${proxy} refused the request to 192.0.2.2:8080: HTTP 407 Proxy Authentication Required; the proxy wants a user and password: give them in http_proxy as http://user:password@host:port`,
    ]);
  });

  it('an error body that never ends costs the bytes kept, not the clock: the status answers and the connection is closed', async () => {
    let closedAt = 0;
    const host = await rawServer((socket) => {
      socket.write('HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n');
      const piece = `10000\r\n${'x'.repeat(0x10000)}\r\n`;
      const t = setInterval(() => socket.write(piece), 5);
      socket.on('close', () => {
        clearInterval(t);
        closedAt = performance.now();
      });
    });
    const a = adapter(host, 20_000);
    const t0 = performance.now();
    const e = errorOf(await collect(a, ask('hi')));
    expect([e.errorClass, e.status]).toEqual(['server', 500]);
    // 256 KiB kept at 64 KiB per 5 ms: well under a second, where reading to the end would run out the 20 s clock.
    expect(performance.now() - t0).toBeLessThan(3000);
    await until(() => closedAt > 0, 'the server to see its connection closed', 3000);
  });

  it('a model list that never ends is refused as too large once past the cap, not read until the clock', async () => {
    const host = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n6\r\n{"data\r\n');
      const piece = `10000\r\n${' '.repeat(0x10000)}\r\n`;
      const t = setInterval(() => socket.write(piece), 1);
      socket.on('close', () => clearInterval(t));
    });
    const a = adapter(host, 30_000);
    const t0 = performance.now();
    await expect(a.listModels(30_000)).rejects.toThrow(/model list page larger than 8388608 bytes/);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it('an error body in a coding not decoded here is drained only up to what would be kept, then the connection is closed', async () => {
    const host = await rawServer((socket) => {
      socket.write('HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-encoding: zstd\r\ntransfer-encoding: chunked\r\n\r\n');
      const piece = `10000\r\n${'z'.repeat(0x10000)}\r\n`;
      const t = setInterval(() => socket.write(piece), 5);
      socket.on('close', () => clearInterval(t));
    });
    const a = adapter(host, 20_000);
    const t0 = performance.now();
    const e = errorOf(await collect(a, ask('hi')));
    expect([e.errorClass, e.status]).toEqual(['overloaded', 503]);
    expect(e.message).toContain('(body not shown: content-encoding zstd');
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});


import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRouter } from '../src/index.js';
import { run } from './cli-helpers.js';
import { emulator, freePort, until } from './helpers.js';
import { nginxTempPaths, startNginx } from './nginx-process.js';

/*
 * A real nginx (Debian's package) between the client and the provider, as real providers sit behind
 * reverse proxies: it closes keep-alive connections after N requests or an idle second, answers with its
 * own HTML error pages when the upstream is down or slow, and buffers SSE unless told not to. nginx is
 * started here in the foreground on a free loopback port with the config below, a temporary prefix and its
 * own logs; its access log records, for every request, the connection it came on and how many requests that
 * connection had carried: what the client did, seen from the server side.
 */

const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  fast: { dialect: 'openai', output_tokens: c(8) },
  // Never answers: behind proxy_read_timeout, nginx's 504.
  hang: { dialect: 'openai', faults: [{ kind: 'hang', p: 1 }] },
  // 600 ms to the first token, then 4 more 150 ms apart: a buffering proxy holds all of it for 1.2 s.
  spaced: { dialect: 'openai', ttft: c(600), itl: c(150), output_tokens: c(5) },
});
const upstream = new URL(server.url).host;

const dir = mkdtempSync(join(tmpdir(), 'llmf-nginx-'));
const port = await freePort();
const deadPort = await freePort();

/** One server; each location is a proxy behaviour, reached as base_url http://127.0.0.1:PORT/<location>/<provider>/v1. */
const nginxConf = `
# One process, no master: a kill of the process the test started stops all of nginx (a killed master leaves its workers listening).
master_process off;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  log_format conns '$connection $connection_requests $status $request_uri';
  access_log ${dir}/access.log conns;
  ${nginxTempPaths(dir)}
  server {
    listen 127.0.0.1:${port};
    # A connection is closed after its 10th request (the 10th answer says Connection: close).
    location /ka10/ { keepalive_requests 10; proxy_pass http://${upstream}/; }
    # An idle connection is closed after one second (no Keep-Alive header tells the client so).
    location /idle1s/ { keepalive_timeout 1s; proxy_pass http://${upstream}/; }
    # The upstream is down: nginx's 502 page.
    location /down/ { proxy_pass http://127.0.0.1:${deadPort}/; }
    # The upstream takes longer than nginx waits: nginx's 504 page.
    location /slow/ { proxy_read_timeout 500ms; proxy_pass http://${upstream}/; }
    # SSE held until the upstream's answer is complete (nginx's default), or passed on as it comes.
    location /buffered/ { proxy_pass http://${upstream}/; }
    location /unbuffered/ { proxy_buffering off; proxy_pass http://${upstream}/; }
  }
}
`;

let nginx: Awaited<ReturnType<typeof startNginx>> | undefined;
beforeAll(async () => {
  mkdirSync(join(dir, 'tmp'));
  nginx = await startNginx(dir, nginxConf, port, 'nginx tests');
});
afterAll(() => nginx?.stop());

/** What nginx logged for requests under `/<location>/`: each one's connection number and its count on that connection. */
function logged(location: string): { connection: number; nth: number; status: number }[] {
  const log = existsSync(join(dir, 'access.log')) ? readFileSync(join(dir, 'access.log'), 'utf8') : '';
  return log
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f[3]?.startsWith(`/${location}/`))
    .map((f) => ({ connection: Number(f[0]), nth: Number(f[1]), status: Number(f[2]) }));
}

/**
 * A relay in front of nginx that holds nginx's FIN from the client until the client writes again, then
 * resets the connection: what a real network does when nginx closes an idle connection while a request is
 * already on its way (the FIN is in flight; the server's kernel answers the request with RST). On loopback
 * the FIN arrives in microseconds and the race cannot be met by timing; here it is met every time.
 */
const relayed = { held: 0, reset: 0 };
const relaySockets = new Set<Socket>();
const relay: Server = createNetServer((client) => {
  const up = netConnect(port, '127.0.0.1');
  for (const s of [client, up]) {
    relaySockets.add(s);
    s.on('error', () => undefined).on('close', () => relaySockets.delete(s));
  }
  let upEnded = false;
  client.on('data', (d) => {
    if (!upEnded) return void up.write(d);
    relayed.reset++;
    client.resetAndDestroy();
  });
  up.on('data', (d) => client.write(d));
  up.on('end', () => {
    upEnded = true;
    relayed.held++;
  });
  client.on('end', () => up.end());
  client.on('close', () => up.destroy());
});
await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
const relayPort = (relay.address() as AddressInfo).port;
afterAll(() => {
  for (const s of relaySockets) s.destroy();
  return new Promise<void>((r) => relay.close(() => r()));
});

const base = (location: string, provider: string) => `http://127.0.0.1:${port}/${location}/${provider}/v1`;
const config = join(dir, 'providers.yaml');
writeFileSync(
  config,
  `defaults:
  retries: 0
providers:
  ka10: { api: openai, base_url: "${base('ka10', 'fast')}", model: m }
  idle1s: { api: openai, base_url: "${base('idle1s', 'fast')}", model: m }
  racing: { api: openai, base_url: "http://127.0.0.1:${relayPort}/idle1s/fast/v1", model: m }
  down: { api: openai, base_url: "${base('down', 'fast')}", model: m }
  slow: { api: openai, base_url: "${base('slow', 'hang')}", model: m }
  direct: { api: openai, base_url: "${server.baseUrl('fast')}", model: m }
  buffered: { api: openai, base_url: "${base('buffered', 'spaced')}", model: m }
  unbuffered: { api: openai, base_url: "${base('unbuffered', 'spaced')}", model: m }
chains:
  default: [down, slow, direct]
`,
);
const env = { XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') };

interface ProviderFigures {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  statuses: Record<string, number>;
  error_examples: Record<string, string>;
  connect_ms: { count: number } | null;
  ttft_ms: { p50: number } | null;
  ttfb_ms: { p50: number } | null;
  latency_ms: { p50: number } | null;
  itl_ms: { p50: number } | null;
  tpot_ms: { p50: number } | null;
}
async function bench(args: string[], timeoutMs = 60_000): Promise<ProviderFigures[]> {
  const r = await run(['bench', '--config', config, ...args, '--format', 'json', '-q'], { env, timeoutMs });
  expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  return JSON.parse(r.stdout).providers;
}

describe('nginx in front of the provider', () => {
  it('keepalive_requests 10: bench -n 200 -c 4 gets 200 answers, and connect_ms counts every connection nginx saw', { timeout: 90_000 }, async () => {
    const [p] = await bench(['ka10', '-n', '200', '-c', '4']);
    expect(p.ok).toBe(200);
    expect(p.failed).toBe(0);
    expect(p.errors).toEqual({});
    const seen = logged('ka10');
    expect(seen).toHaveLength(200);
    expect(seen.every((r) => r.status === 200)).toBe(true);
    // nginx took at most 10 requests on a connection and the client reused them up to that: 200 requests
    // need 20 connections at least, and LIFO reuse over 4 loops leaves a few partly used at the end.
    expect(Math.max(...seen.map((r) => r.nth))).toBe(10);
    const connections = new Set(seen.map((r) => r.connection)).size;
    expect(connections).toBeGreaterThanOrEqual(20);
    expect(connections).toBeLessThanOrEqual(24);
    // Every connection bench opened (4 before the clock, the rest when nginx closed one) carried requests,
    // and each one's set-up time is in connect_ms: its count is the number nginx saw.
    expect(p.connect_ms?.count).toBe(connections);
  });

  it('keepalive_timeout 1s: an open loop with 1.7 s between requests never writes to a connection nginx closed', { timeout: 60_000 }, async () => {
    const [p] = await bench(['idle1s', '-n', '4', '-r', '0.6']);
    expect(p.errors).toEqual({});
    expect(p.ok).toBe(4);
    const seen = logged('idle1s');
    expect(seen.map((r) => r.nth)).toEqual([1, 1, 1, 1]);
    expect(new Set(seen.map((r) => r.connection)).size).toBe(4);
    // One opened before the clock, three more after nginx closed each idle one.
    expect(p.connect_ms?.count).toBe(4);
  });

  it('keepalive_timeout 1s: two calls of one router 1.5 s apart both answer, with no retry, the second on a new connection', async () => {
    const router = await createRouter({ config, env: {} });
    try {
      const before = logged('idle1s').length;
      const messages = [{ role: 'user' as const, content: 'Say something.' }];
      const first = await router.chat({ model: 'idle1s', messages, cache: false, retries: 0 });
      await new Promise((r) => setTimeout(r, 1500));
      const second = await router.chat({ model: 'idle1s', messages, cache: false, retries: 0 });
      for (const answer of [first, second]) {
        expect(answer.provider).toBe('idle1s');
        expect(answer.attempts.map((a) => `${a.provider}:${a.decision}:${a.error_class}`)).toEqual(['idle1s:success:null']);
      }
      const seen = logged('idle1s').slice(before);
      expect(seen.map((r) => r.nth)).toEqual([1, 1]);
      expect(seen[0].connection).not.toBe(seen[1].connection);
    } finally {
      await router.close();
    }
  });

  it("keepalive_timeout 1s with nginx's FIN still in flight: the request written to the dead connection fails as a network error before nginx saw it, and a retry answers", async () => {
    const router = await createRouter({ config, env: {} });
    try {
      const messages = [{ role: 'user' as const, content: 'Say something.' }];
      const call = async (retries: number) => {
        const warm = await router.chat({ model: 'racing', messages, cache: false, retries: 0 });
        expect(warm.provider).toBe('racing');
        const held = relayed.held;
        // nginx closes the idle connection after 1 s; the relay holds the FIN, so the client still sees it open.
        await until(() => relayed.held > held, "nginx's close of the idle connection", 5000);
        const before = logged('idle1s').length;
        const reset = relayed.reset;
        const answer = await router.chat({ model: 'racing', messages, cache: false, retries });
        expect(relayed.reset).toBe(reset + 1);
        return { answer, reachedNginx: logged('idle1s').length - before };
      };

      const once = await call(0);
      expect(once.answer.source).toBe('none');
      expect(once.answer.attempts.map((a) => `${a.provider}:${a.decision}:${a.error_class}`)).toEqual(['racing:stop:network']);
      expect(once.answer.attempts[0].error_message).toBe('racing: connection reset');
      // nginx never saw it: the failed request was not processed, so resending it is safe.
      expect(once.reachedNginx).toBe(0);

      const retried = await call(1);
      expect(retried.answer.provider).toBe('racing');
      expect(retried.answer.attempts.map((a) => `${a.provider}:${a.decision}:${a.error_class}`)).toEqual(['racing:retry:network', 'racing:success:null']);
      expect(retried.reachedNginx).toBe(1);
    } finally {
      await router.close();
    }
  });

  it("ask falls over nginx's 502 and 504 pages, naming each by provider, status and the page's title, never its HTML", async () => {
    const r = await run(['ask', '--no-cache', '--config', config, 'hello there'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^llm-fallback: served by direct .* attempts: down server→fallover, slow server→fallover$/m);

    const down = await run(['ask', '--no-cache', '--config', config, '--provider', 'down', 'hello there'], { env });
    expect(down.code).toBe(1);
    expect(down.stderr.split('\n')[0]).toMatch(/^llm-fallback: no answer: down: HTTP 502: HTML page "502 Bad Gateway" \(server: nginx\/[\d.]+\), not an API answer: a proxy or load balancer in front of the provider answered · attempts: down server→stop$/);
    const slow = await run(['ask', '--no-cache', '--config', config, '--provider', 'slow', 'hello there'], { env });
    expect(slow.code).toBe(1);
    expect(slow.stderr.split('\n')[0]).toMatch(/^llm-fallback: no answer: slow: HTTP 504: HTML page "504 Gateway Time-out" \(server: nginx\/[\d.]+\), not an API answer/);
    for (const out of [down.stderr, slow.stderr]) {
      expect(out).not.toMatch(/<|invalid JSON|not JSON|malformed/i);
      expect(out).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect(logged('down').map((x) => x.status)).toContain(502);
    expect(logged('slow').map((x) => x.status)).toContain(504);
  });

  it("bench counts nginx's 502 and 504 pages as server errors with their statuses", async () => {
    const [down, slow] = await bench(['down', 'slow', '-n', '3']);
    expect([down.ok, down.errors, down.statuses]).toEqual([0, { server: 3 }, { '502': 3 }]);
    expect([slow.ok, slow.errors, slow.statuses]).toEqual([0, { server: 3 }, { '504': 3 }]);
    expect(down.error_examples.server).toMatch(/^down: HTTP 502: HTML page "502 Bad Gateway" \(server: nginx\/[\d.]+\)/);
    expect(slow.error_examples.server).toMatch(/^slow: HTTP 504: HTML page "504 Gateway Time-out" \(server: nginx\/[\d.]+\)/);
    expect(down.error_examples.server + slow.error_examples.server).not.toMatch(/</);
  });

  it('SSE through proxy_buffering on shows as TTFT ≈ TTFB ≈ latency with no gap between tokens; off, the emulator\'s timing comes through', { timeout: 60_000 }, async () => {
    const [buffered, unbuffered] = await bench(['buffered', 'unbuffered', '-n', '3']);
    expect([buffered.ok, unbuffered.ok]).toEqual([3, 3]);
    // The emulator planned 600 ms to the first token and 1,200 ms in all.
    const b = { ttft: buffered.ttft_ms!.p50, ttfb: buffered.ttfb_ms!.p50, latency: buffered.latency_ms!.p50, itl: buffered.itl_ms!.p50 };
    expect(b.latency).toBeGreaterThanOrEqual(1190);
    expect(b.ttft).toBeGreaterThanOrEqual(b.latency - 20);
    expect(b.ttfb).toBeGreaterThanOrEqual(b.latency - 20);
    expect(b.itl).toBeLessThan(20);
    // Every token came in one read: no time between tokens was seen, so there is no TPOT (not 0 ms).
    expect(buffered.tpot_ms).toBeNull();
    const u = { ttft: unbuffered.ttft_ms!.p50, ttfb: unbuffered.ttfb_ms!.p50, latency: unbuffered.latency_ms!.p50, itl: unbuffered.itl_ms!.p50 };
    expect(u.latency).toBeGreaterThanOrEqual(1190);
    expect(u.ttft).toBeGreaterThanOrEqual(595);
    expect(u.ttft).toBeLessThan(900);
    expect(u.ttfb).toBeLessThan(300);
    expect(u.itl).toBeGreaterThanOrEqual(120);
    expect(unbuffered.tpot_ms!.p50).toBeGreaterThanOrEqual(120);
  });
});

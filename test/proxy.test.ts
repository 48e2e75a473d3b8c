import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FallbackChain } from '../src/chain/chain.js';
import { Agent } from '../src/providers/h1/agent.js';
import { chooseRoute, describeRoute, parseNoProxy, parseProxy } from '../src/providers/proxy.js';
import { OtlpTraceExporter } from '../src/serve/otlp.js';
import { run } from './cli-helpers.js';
import { chainProviders, emulator, freePort, until } from './helpers.js';

/*
 * Outbound proxy support (HTTPS_PROXY, HTTP_PROXY, NO_PROXY...) against a real proxy: Debian's tinyproxy,
 * started here in the foreground on a free loopback port with a config file written here, and stopped
 * after the file's tests (and on exit, should the worker die). Loopback always goes direct, so the targets
 * listen on this machine's non-loopback address: a TLS relay (certificate for that address, made by
 * openssl, trusted by the CLI through NODE_EXTRA_CA_CERTS) and a plain TCP relay, both to the emulator.
 * tinyproxy's own log says which requests went through it.
 */

const c = (value: number) => ({ dist: 'constant' as const, value });
const KEY = 'sk-test-PROXY-KEY-0123456789';
const PASSWORD = 'Pr0xyPa55w0rd';
const server = await emulator({ p1: { dialect: 'openai', output_tokens: c(5), api_key: KEY }, open: { dialect: 'openai', output_tokens: c(4) } });

/** This machine's first non-loopback IPv4 address (CI machines have one, as this one does). */
const IP = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
if (!IP) throw new Error('proxy tests need a non-loopback IPv4 address on this machine (os.networkInterfaces())');

const dir = mkdtempSync(join(tmpdir(), 'llmf-proxy-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=llmf proxy test', '-addext', `subjectAltName=IP:${IP}`], { stdio: 'ignore' });
const CERT = join(dir, 'cert.pem');

const servers: Server[] = [];
const children: ChildProcess[] = [];
/** Connections to the silent servers below: ended here, or closing their servers would wait for them. */
const silentSockets: Socket[] = [];
afterAll(async () => {
  for (const ch of children) ch.kill('SIGKILL');
  for (const s of silentSockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});
// A worker that dies mid-test leaves no tinyproxy behind.
process.once('exit', () => children.forEach((ch) => ch.kill('SIGKILL')));

const emulatorPort = Number(new URL(server.url).port);
/** Pipes each connection to the emulator. */
function relayTo(sock: Socket) {
  const up = netConnect(emulatorPort, '127.0.0.1');
  sock.on('error', () => up.destroy());
  up.on('error', () => sock.destroy());
  sock.pipe(up).pipe(sock);
}
async function listen(s: Server, host: string): Promise<number> {
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, host, () => r()));
  return (s.address() as AddressInfo).port;
}

/** TLS on the non-loopback address, then the emulator's plain HTTP; counts TLS handshakes and resumed sessions. */
const tlsSeen = { handshakes: 0, resumed: 0 };
const tlsRelay = createTlsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(CERT) }, (s) => {
  tlsSeen.handshakes++;
  if (s.isSessionReused()) tlsSeen.resumed++;
  relayTo(s);
});
const TLS_PORT = await listen(tlsRelay, IP);
const PLAIN_PORT = await listen(createNetServer(relayTo), IP);

interface Tinyproxy {
  url: string;
  log: () => string;
  /** CONNECT and plain requests tinyproxy logged, e.g. "CONNECT 192.0.2.2:443". */
  requests: () => string[];
}

/** Starts tinyproxy in the foreground on a free loopback port, allowing CONNECT to the TLS relay's port; resolves once it accepts connections. */
async function tinyproxy(extra = ''): Promise<Tinyproxy> {
  const port = await freePort();
  const conf = join(dir, `tinyproxy-${port}.conf`);
  writeFileSync(conf, `Port ${port}\nListen 127.0.0.1\nTimeout 30\nLogLevel Connect\nMaxClients 50\nConnectPort ${TLS_PORT}\n${extra}`);
  const child = spawn('/usr/bin/tinyproxy', ['-d', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  await until(
    () =>
      new Promise<boolean>((r) => {
        if (child.exitCode !== null) throw new Error(`tinyproxy exited: ${log}`);
        const s = netConnect(port, '127.0.0.1', () => (s.destroy(), r(true)));
        s.on('error', () => r(false));
      }),
    'tinyproxy accepting',
    10_000,
  );
  return {
    url: `http://127.0.0.1:${port}`,
    log: () => log,
    requests: () => [...log.matchAll(/Request \(file descriptor \d+\): (\S+) (\S+) HTTP/g)].map((m) => `${m[1]} ${m[2]}`),
  };
}

/** A server on `host` that accepts connections and never sends a byte; resolves to its port. */
const silentServer = (host: string) =>
  listen(
    createNetServer((s) => {
      silentSockets.push(s);
      s.on('error', () => undefined);
    }),
    host,
  );

/** A loopback port where nothing listens. */
const deadProxy = async () => `http://127.0.0.1:${await freePort()}`;

function setup(providers: string) {
  const d = mkdtempSync(join(dir, 'run-'));
  const config = join(d, 'providers.yaml');
  writeFileSync(config, `defaults:\n  retries: 0\n  timeouts: { connect: 1500ms, total: 15s }\nproviders:\n${providers}\nchains:\n  default: [p1]\n`);
  // The proxy variables the parent may have are dropped: each test sets its own.
  const env: NodeJS.ProcessEnv = { P1_KEY: KEY, NODE_EXTRA_CA_CERTS: CERT, XDG_STATE_HOME: join(d, 'state'), XDG_CACHE_HOME: join(d, 'cache') };
  for (const v of ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY', 'no_proxy', 'NO_PROXY']) env[v] = '';
  return { config, env, dir: d };
}
const tlsTarget = `https://${IP}:${TLS_PORT}/p1/v1`;
const p1 = (base = tlsTarget, extra = '') => `  p1: { api: openai, base_url: "${base}", model: m, api_key_env: P1_KEY${extra} }`;

describe('proxy: https providers through a real proxy (tinyproxy)', () => {
  let proxy: Tinyproxy;
  beforeAll(async () => {
    proxy = await tinyproxy();
  });

  it('ask goes through a CONNECT tunnel with the certificate verified; without HTTPS_PROXY the proxy sees nothing', async () => {
    const { config, env } = setup(p1());
    const before = proxy.requests().length;
    const r = await run(['ask', '--no-cache', '--config', config, 'hello there'], { env: { ...env, HTTPS_PROXY: proxy.url } });
    expect(r.stderr).toMatch(/^llm-fallback: served by p1 /);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split(/\s+/)).toHaveLength(5);
    expect(proxy.requests().slice(before)).toEqual([`CONNECT ${IP}:${TLS_PORT}`]);
    // The lower-case name wins over the upper-case one (curl's order): a dead HTTPS_PROXY is not used.
    const lower = await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, https_proxy: proxy.url, HTTPS_PROXY: await deadProxy() } });
    expect(lower.code).toBe(0);
    expect(proxy.requests().slice(before)).toHaveLength(2);
    // Direct (no variable): the answer still comes, tinyproxy logs nothing more.
    const direct = await run(['ask', '--no-cache', '--config', config, 'hello'], { env });
    expect(direct.code).toBe(0);
    expect(proxy.requests().slice(before)).toHaveLength(2);
  });

  it('the certificate is still verified through the tunnel: an untrusted one is a TLS failure', async () => {
    const { config, env } = setup(p1());
    const r = await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, NODE_EXTRA_CA_CERTS: '', HTTPS_PROXY: proxy.url } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/p1: TLS failure: the server's certificate is self-signed, so not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\); if it is yours, add it to NODE_EXTRA_CA_CERTS · attempts/);
  });

  it('bench: connections warmed through the proxy, reused for the run, their set-up reported as connect_ms; TLS sessions resumed', async () => {
    const { config, env } = setup(p1());
    const before = proxy.requests().length;
    const hs = { ...tlsSeen };
    const r = await run(['bench', 'p1', '--config', config, '--requests', '12', '--concurrency', '2', '--format', 'json'], { env: { ...env, HTTPS_PROXY: proxy.url }, timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout).providers[0];
    expect(p.failed).toBe(0);
    expect(p.ok).toBe(12);
    // Two connections, opened before the clock through two CONNECTs, carry all 12 requests.
    expect(p.connect_ms.count).toBe(2);
    expect(p.connect_ms.max).toBeGreaterThan(0);
    expect(proxy.requests().slice(before)).toEqual([`CONNECT ${IP}:${TLS_PORT}`, `CONNECT ${IP}:${TLS_PORT}`]);
    expect(tlsSeen.handshakes - hs.handshakes).toBe(2);
  });

  it('what a proxy sees of an https provider: a CONNECT with host and proxy-authorization only, never the API key; bench times the slow CONNECT as connect_ms and keeps it out of latency', async () => {
    // A CONNECT proxy of our own that records every byte the client sends it and answers CONNECT after
    // 800 ms, then relays to the TLS server: tinyproxy's log does not show request headers.
    const seen: Buffer[] = [];
    const recording = createNetServer((sock) => {
      sock.on('error', () => undefined);
      sock.on('data', (d) => seen.push(d));
      sock.once('data', (head) => {
        const [, host, port] = /^CONNECT ([^:]+):(\d+) HTTP\/1\.1\r\n/.exec(head.toString('latin1')) ?? [];
        const up = netConnect(Number(port), host);
        up.on('error', () => sock.destroy());
        sock.on('close', () => up.destroy());
        setTimeout(() => {
          sock.write('HTTP/1.1 200 Connection established\r\n\r\n');
          sock.pipe(up).pipe(sock);
        }, 800);
      });
    });
    const url = `http://127.0.0.1:${await listen(recording, '127.0.0.1')}`;
    const { config, env } = setup(p1());
    const r = await run(['bench', 'p1', '--config', config, '--requests', '4', '--concurrency', '1', '--format', 'json'], { env: { ...env, HTTPS_PROXY: url.replace('http://', `http://alice:${PASSWORD}@`) }, timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout).providers[0];
    expect(p.ok).toBe(4);
    // One connection through the proxy, opened before the clock: CONNECT's 800 ms are its connect_ms, in no request's latency.
    expect(p.connect_ms.count).toBe(1);
    expect(p.connect_ms.max).toBeGreaterThanOrEqual(800);
    expect(p.latency_ms.max).toBeLessThan(800);
    const bytes = Buffer.concat(seen);
    const head = bytes.subarray(0, bytes.indexOf('\r\n\r\n') + 4).toString('latin1');
    expect(head).toBe(`CONNECT ${IP}:${TLS_PORT} HTTP/1.1\r\nhost: ${IP}:${TLS_PORT}\r\nproxy-authorization: Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}\r\n\r\n`);
    // The rest is TLS records (content type 22 = handshake first): the key and the prompt are inside them.
    expect(bytes[head.length]).toBe(22);
    expect(bytes.includes(KEY)).toBe(false);
    expect(bytes.includes('chat/completions')).toBe(false);
  });

  it('a proxy that refuses the port (403) is one network error naming the proxy, the target and the status', async () => {
    const { config, env } = setup(p1(`https://${IP}:${PLAIN_PORT}/p1/v1`));
    const r = await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, HTTPS_PROXY: proxy.url } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`p1: proxy ${proxy.url} refused CONNECT ${IP}:${PLAIN_PORT}: HTTP 403`);
    expect(r.stderr).toContain('the proxy does not allow this host or port');
  });
});

describe('proxy: the HTTP client through a tunnel', () => {
  it('a new tunnel resumes the TLS session of the last one (the server closes each connection)', async () => {
    const reused: boolean[] = [];
    const closing = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(CERT) }, (req, res) => {
      req.resume();
      res.setHeader('connection', 'close');
      res.end('through');
    });
    closing.on('secureConnection', (s: TLSSocket) => reused.push(s.isSessionReused()));
    const port = await listen(closing, IP);
    const proxy = await tinyproxy(`ConnectPort ${port}\n`);
    const before = proxy.requests().length;
    const agent = new Agent({ connectTimeoutMs: 5000, ca: readFileSync(CERT), proxyFor: () => parseProxy('HTTPS_PROXY', proxy.url) });
    const get = () =>
      new Promise<string>((resolve, reject) => {
        let body = '';
        agent.dispatch(
          { origin: `https://${IP}:${port}`, path: '/', method: 'GET', headers: {} },
          { onConnect() {}, onHeaders: () => true, onData: (d) => ((body += d), true), onComplete: () => resolve(body), onError: reject },
        );
      });
    expect(await get()).toBe('through');
    await new Promise((r) => setTimeout(r, 50));
    expect(await get()).toBe('through');
    await agent.close();
    expect(reused).toEqual([false, true]);
    expect(proxy.requests().slice(before)).toEqual([`CONNECT ${IP}:${port}`, `CONNECT ${IP}:${port}`]);
  });
});

describe('proxy: credentials (tinyproxy BasicAuth)', () => {
  let proxy: Tinyproxy;
  beforeAll(async () => {
    proxy = await tinyproxy(`BasicAuth alice ${PASSWORD}\n`);
  });
  const withCreds = (user: string, pass: string) => proxy.url.replace('http://', `http://${user}:${pass}@`);

  it('without credentials: 407, and how to give them', async () => {
    const { config, env } = setup(p1());
    const r = await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, HTTPS_PROXY: proxy.url } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`p1: proxy ${proxy.url} refused CONNECT ${IP}:${TLS_PORT}: HTTP 407 Proxy Authentication Required; the proxy wants a user and password: give them in HTTPS_PROXY as http://user:password@host:port`);
  });

  it('with a wrong password: 407 naming the variable to check, the password nowhere in the output or the result file', async () => {
    const { config, env, dir: d } = setup(p1());
    const wrong = 'Wr0ngPa55w0rd!x';
    const out = join(d, 'bench.json');
    const r = await run(['ask', '--no-cache', '--config', config, '--json', 'hello'], { env: { ...env, HTTPS_PROXY: withCreds('alice', encodeURIComponent(wrong)) } });
    expect(r.code).toBe(1);
    // tinyproxy 1.11 answers wrong credentials with 401 (no credentials with 407): either says which variable to check.
    expect(r.stdout + r.stderr).toContain(`proxy ${proxy.url} refused CONNECT ${IP}:${TLS_PORT}: HTTP 401 Unauthorized; check the user and password in HTTPS_PROXY`);
    const b = await run(['bench', 'p1', '--config', config, '--requests', '2', '--format', 'json', '--out', out], { env: { ...env, HTTPS_PROXY: withCreds('alice', encodeURIComponent(wrong)) }, timeoutMs: 60_000 });
    expect(b.stdout + b.stderr).toContain('HTTP 401 Unauthorized; check the user and password in HTTPS_PROXY');
    for (const text of [r.stdout, r.stderr, b.stdout, b.stderr, readFileSync(out, 'utf8')]) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(encodeURIComponent(wrong));
      expect(text).not.toContain(Buffer.from(`alice:${wrong}`).toString('base64'));
    }
  });

  it('a plain http provider: the proxy\'s 407 is a network error naming the variable (not the provider\'s bad request); with the credentials it is served', async () => {
    const { config, env } = setup(`  p1: { api: openai, base_url: "http://${IP}:${PLAIN_PORT}/open/v1", model: m }`);
    const r = await run(['ask', '--no-cache', '--json', '--config', config, 'hello'], { env: { ...env, http_proxy: proxy.url } });
    expect(r.code).toBe(1);
    const a = JSON.parse(r.stdout).attempts[0];
    expect([a.error_detail, a.status, a.error_message]).toEqual([
      'network:ERR_PROXY_AUTH',
      407,
      `p1: proxy ${proxy.url} refused the request to ${IP}:${PLAIN_PORT}: HTTP 407 Proxy Authentication Required; the proxy wants a user and password: give them in http_proxy as http://user:password@host:port`,
    ]);
    const before = proxy.requests().length;
    const ok = await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, http_proxy: withCreds('alice', PASSWORD) } });
    expect(ok.stderr).toMatch(/^llm-fallback: served by p1 /);
    expect(proxy.requests().slice(before)).toEqual([`POST http://${IP}:${PLAIN_PORT}/open/v1/chat/completions`]);
  });

  it('with the right credentials (percent-decoded): the answer, through the proxy; providers --wide and config check show the proxy without them', async () => {
    const { config, env } = setup(p1());
    const before = proxy.requests().length;
    const url = withCreds('alice', PASSWORD.replace('P', '%50'));
    const r = await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, HTTPS_PROXY: url } });
    expect(r.stderr).toMatch(/^llm-fallback: served by p1 /);
    expect(r.code).toBe(0);
    expect(proxy.requests().slice(before)).toEqual([`CONNECT ${IP}:${TLS_PORT}`]);
    const wide = await run(['providers', '--wide', '--config', config], { env: { ...env, HTTPS_PROXY: url } });
    expect(wide.code).toBe(0);
    expect(wide.stdout).toMatch(new RegExp(`│ p1 .*│ ${proxy.url.replace(/[.]/g, '\\.')} \\(HTTPS_PROXY\\) +│`));
    const json = await run(['providers', '--format', 'json', '--config', config], { env: { ...env, HTTPS_PROXY: url } });
    expect(JSON.parse(json.stdout).providers[0].route).toBe(`${proxy.url} (HTTPS_PROXY)`);
    const check = await run(['config', 'check', config], { env: { ...env, HTTPS_PROXY: url } });
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(`through proxy ${proxy.url} (HTTPS_PROXY): p1\n`);
    for (const text of [wide.stdout, json.stdout, check.stdout, check.stderr]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain('%50');
      expect(text).not.toContain('alice');
    }
  });
});

describe('proxy: a failing proxy is not the provider\'s fault (circuit breaker)', () => {
  // Three failures in a row open a provider's breaker (defaults.breaker_failures). Counted, a wrong proxy
  // password would keep the provider skipped after it is fixed, and on one replica open the breakers
  // every replica shares through Redis.
  it('a wrong proxy password, a dead proxy or a silent one: ask and health fall over or report DOWN, the breaker stays closed; the right password is served at once', async () => {
    const proxy = await tinyproxy(`BasicAuth alice ${PASSWORD}\n`);
    const { config, env, dir: d } = setup(`${p1()}\n  local: { api: openai, base_url: "${server.baseUrl('open')}", model: m }`);
    writeFileSync(config, readFileSync(config, 'utf8').replace('default: [p1]', 'default: [p1, local]'));
    const silent = `http://127.0.0.1:${await silentServer('127.0.0.1')}`;
    const wrong = proxy.url.replace('http://', 'http://alice:Wr0ngPa55w0rd@');
    for (const url of [wrong, wrong, wrong, wrong, await deadProxy(), silent]) {
      const r = await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, HTTPS_PROXY: url }, timeoutMs: 20_000 });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^llm-fallback: served by local .* attempts: p1 (network:ERR_PROXY_CONNECT|network:ECONNREFUSED|timeout:connect)→fallover\n$/);
      const h = await run(['health', 'p1', '--config', config], { env: { ...env, HTTPS_PROXY: url }, timeoutMs: 20_000 });
      expect(h.code).toBe(1);
    }
    const show = await run(['breaker', 'show'], { env });
    expect(show.stdout).toBe(`0 breaker records in ${join(d, 'state', 'llm-fallback', 'breakers.json')}\n`);
    const right = await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, HTTPS_PROXY: proxy.url.replace('http://', `http://alice:${PASSWORD}@`) } });
    expect(right.stderr).toMatch(/^llm-fallback: served by p1 /);
  });

  it('a provider that fails behind a working proxy still counts: its TLS never answering through the tunnel opens the breaker', async () => {
    const port = await silentServer(IP);
    const proxy = await tinyproxy(`ConnectPort ${port}\n`);
    const { config, env } = setup(p1(`https://${IP}:${port}/p1/v1`, ', timeouts: { connect: 400ms }'));
    for (let i = 0; i < 3; i++) {
      const r = await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, HTTPS_PROXY: proxy.url }, timeoutMs: 20_000 });
      expect(r.stderr).toContain(`p1: connect timeout after 400ms (through proxy ${proxy.url} from HTTPS_PROXY)`);
    }
    expect(proxy.requests()).toEqual([`CONNECT ${IP}:${port}`, `CONNECT ${IP}:${port}`, `CONNECT ${IP}:${port}`]);
    const show = await run(['breaker', 'show'], { env });
    expect(show.stdout).toMatch(/^1 breaker record in .*\n {2}p1 {2}open \d+s more \(timeout\)/);
  });

  it('a provider the proxy cannot reach counts: CONNECT answered "500 Unable to connect" opens the breaker, and the next ask skips it', async () => {
    const port = await freePort(); // nothing listens there: the provider is down
    const proxy = await tinyproxy(`ConnectPort ${port}\n`);
    const { config, env } = setup(p1(`https://${IP}:${port}/p1/v1`));
    for (let i = 0; i < 3; i++) {
      const r = await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, HTTPS_PROXY: proxy.url }, timeoutMs: 20_000 });
      expect(r.stderr).toContain(`p1: proxy ${proxy.url} refused CONNECT ${IP}:${port}: HTTP 500 Unable to connect`);
    }
    const show = await run(['breaker', 'show'], { env });
    expect(show.stdout).toMatch(/^1 breaker record in .*\n {2}p1 {2}open \d+s more \(network\)/);
    const skipped = await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, HTTPS_PROXY: proxy.url }, timeoutMs: 20_000 });
    expect(skipped.stderr).toContain('p1 skipped breaker open');
    expect(proxy.requests()).toEqual([`CONNECT ${IP}:${port}`, `CONNECT ${IP}:${port}`, `CONNECT ${IP}:${port}`]);
  });
});

describe('proxy: what goes direct', () => {
  it('NO_PROXY: an address, a CIDR block or * sends the provider direct, past a dead proxy; without it the dead proxy is the error', async () => {
    const { config, env } = setup(p1());
    const dead = await deadProxy();
    for (const noProxy of [IP, `${IP.split('.').slice(0, 3).join('.')}.0/24`, `example.com, ${IP}:${TLS_PORT}`, '*']) {
      const r = await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, HTTPS_PROXY: dead, NO_PROXY: noProxy } });
      expect({ noProxy, code: r.code, stderr: r.stderr }).toEqual({ noProxy, code: 0, stderr: expect.stringMatching(/^llm-fallback: served by p1 /) });
    }
    const wrongPort = await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, HTTPS_PROXY: dead, no_proxy: `${IP}:1` } });
    expect(wrongPort.code).toBe(1);
    expect(wrongPort.stderr).toContain(`p1: connection refused at proxy ${dead} (from HTTPS_PROXY)`);
    const check = await run(['config', 'check', config], { env: { ...env, HTTPS_PROXY: dead, NO_PROXY: IP } });
    expect(check.stdout).toContain('direct (NO_PROXY): p1\n');
  });

  it('loopback always goes direct: --demo, ask against the emulator and providers work with every proxy variable pointing at a dead port', async () => {
    const dead = await deadProxy();
    const all = { HTTPS_PROXY: dead, https_proxy: dead, HTTP_PROXY: dead, http_proxy: dead, ALL_PROXY: dead, all_proxy: dead, NO_PROXY: '', no_proxy: '' };
    const demo = await run(['bench', '--demo', '--requests', '4', '--format', 'json'], { env: all, timeoutMs: 60_000 });
    expect(demo.code).toBe(0);
    const providers = JSON.parse(demo.stdout).providers as { failed: number; ok: number }[];
    expect(providers.map((p) => [p.ok, p.failed])).toEqual([[4, 0], [4, 0], [4, 0], [4, 0]]);
    const { config, env } = setup(`${p1(server.baseUrl('p1'))}\n  local: { api: openai, base_url: "http://localhost:${emulatorPort}/open/v1", model: m }`);
    const r = await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, ...all } });
    expect(r.code).toBe(0);
    const wide = await run(['providers', '--format', 'json', '--config', config], { env: { ...env, ...all } });
    expect(JSON.parse(wide.stdout).providers.map((p: { route: string }) => p.route)).toEqual(['direct (loopback)', 'direct (loopback)']);
  });
});

describe('proxy: plain http providers', () => {
  let proxy: Tinyproxy;
  beforeAll(async () => {
    proxy = await tinyproxy();
  });

  it('a keyless http provider goes through the proxy in absolute form; a keyed one to a non-loopback host is still refused before anything is sent', async () => {
    const { config, env } = setup(`  p1: { api: openai, base_url: "http://${IP}:${PLAIN_PORT}/open/v1", model: m }`);
    const before = proxy.requests().length;
    const r = await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, http_proxy: proxy.url } });
    expect(r.stderr).toMatch(/^llm-fallback: served by p1 /);
    expect(r.code).toBe(0);
    expect(proxy.requests().slice(before)).toEqual([`POST http://${IP}:${PLAIN_PORT}/open/v1/chat/completions`]);
    const keyed = setup(p1(`http://${IP}:${PLAIN_PORT}/p1/v1`));
    const refused = await run(['ask', '--no-cache', '--config', keyed.config, 'hello'], { env: { ...keyed.env, http_proxy: proxy.url } });
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(`provider p1: refusing to send its API key over plain HTTP to ${IP}:${PLAIN_PORT}; use an https:// base_url (plain http is allowed only for loopback: 127.0.0.0/8, ::1 and localhost)`);
    expect(proxy.requests().slice(before)).toHaveLength(1);
  });

  it('upper-case HTTP_PROXY is used, except under CGI (REQUEST_METHOD set), where it may come from a request header', async () => {
    const { config, env } = setup(`  p1: { api: openai, base_url: "http://${IP}:${PLAIN_PORT}/open/v1", model: m }`);
    const before = proxy.requests().length;
    expect((await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, HTTP_PROXY: proxy.url } })).code).toBe(0);
    expect(proxy.requests().slice(before)).toHaveLength(1);
    expect((await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, HTTP_PROXY: proxy.url, REQUEST_METHOD: 'GET' } })).code).toBe(0);
    expect(proxy.requests().slice(before)).toHaveLength(1);
  });

  it('the OTLP exporter goes through the same proxy, and direct to a loopback collector', async () => {
    const got: string[] = [];
    const collector = createHttpServer((req, res) => {
      got.push(req.url ?? '');
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    const port = await listen(collector, IP);
    const result = await new FallbackChain(chainProviders(server, ['open']), { retries: 0, deadlineMs: 10_000, onContentFilter: 'stop', firstTokenMsPerPromptToken: 0 }).run({ messages: [{ role: 'user', content: 'hi' }] });
    const saved = process.env.HTTP_PROXY;
    process.env.HTTP_PROXY = proxy.url;
    try {
      const before = proxy.requests().length;
      const ex = new OtlpTraceExporter({ endpoint: `http://${IP}:${port}/v1/traces`, warn: () => undefined });
      ex.exportCall('main', result, Date.now());
      await ex.shutdown();
      expect(got).toEqual(['/v1/traces']);
      expect(proxy.requests().slice(before)).toEqual([`POST http://${IP}:${port}/v1/traces`]);
      const local = createHttpServer((req, res) => (got.push(`local ${req.url}`), req.resume(), req.on('end', () => res.end('{}'))));
      const lport = await listen(local, '127.0.0.1');
      const lex = new OtlpTraceExporter({ endpoint: `http://127.0.0.1:${lport}/v1/traces`, warn: () => undefined });
      lex.exportCall('main', result, Date.now());
      await lex.shutdown();
      expect(got).toEqual(['/v1/traces', 'local /v1/traces']);
      expect(proxy.requests().slice(before)).toHaveLength(1);
    } finally {
      if (saved === undefined) delete process.env.HTTP_PROXY;
      else process.env.HTTP_PROXY = saved;
    }
  });
});

describe('proxy: proxies that misbehave, bounded by the connect timeout', () => {
  /** A loopback "proxy" that reads the CONNECT and then does `then` with the socket. */
  async function fakeProxy(then: (s: Socket) => void): Promise<string> {
    const s = createNetServer((sock) => {
      sock.on('error', () => undefined);
      sock.once('data', () => then(sock));
    });
    return `http://127.0.0.1:${await listen(s, '127.0.0.1')}`;
  }

  it('closes the connection mid-CONNECT: a network error saying so', async () => {
    const url = await fakeProxy((s) => s.destroy());
    const { config, env } = setup(p1());
    const r = await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, HTTPS_PROXY: url } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`p1: proxy ${url} (HTTPS_PROXY) closed the connection before answering CONNECT ${IP}:${TLS_PORT}`);
  });

  it('never answers CONNECT: the connect timeout ends it, naming the proxy', async () => {
    const url = await fakeProxy(() => undefined);
    const { config, env } = setup(p1(tlsTarget, ', timeouts: { connect: 400ms }'));
    const r = await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, HTTPS_PROXY: url }, timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`p1: connect timeout after 400ms (through proxy ${url} from HTTPS_PROXY)`);
  });

  it('echoes our request in its 407 (reason phrase and HTML body): neither the credentials nor their base64 are shown, even with a short password', async () => {
    // Hand-written hostile proxy: it quotes our CONNECT's proxy-authorization in its reason phrase, bare and decoded.
    const url = await fakeProxy((s) =>
      s.end(`HTTP/1.1 407 you sent ${Buffer.from('al:pw1').toString('base64')} = al:pw1\r\ncontent-type: text/html\r\n\r\n<h1>407</h1>`),
    );
    const { config, env } = setup(p1());
    const r = await run(['ask', '--no-cache', '--json', '--config', config, 'hello'], { env: { ...env, HTTPS_PROXY: url.replace('http://', 'http://al:pw1@') } });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).attempts[0].error_message).toBe(`p1: proxy ${url} refused CONNECT ${IP}:${TLS_PORT}: HTTP 407 you sent [REDACTED] = [REDACTED]; check the user and password in HTTPS_PROXY`);
    expect(r.stdout + r.stderr).not.toContain('pw1');
  });

  it('answers CONNECT with something other than HTTP', async () => {
    const url = await fakeProxy((s) => s.end('SSH-2.0-OpenSSH_9.2\r\n\r\n'));
    const { config, env } = setup(p1());
    const r = await run(['ask', '--no-cache', '--config', config, 'hello'], { env: { ...env, HTTPS_PROXY: url } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`p1: proxy ${url} (HTTPS_PROXY) answered CONNECT ${IP}:${TLS_PORT} with something other than HTTP`);
  });
});

describe('proxy: malformed variables', () => {
  it('one line naming the variable, exit 2, the password never quoted; loopback-only configs do not read it', async () => {
    const { config, env } = setup(p1());
    const cases: [NodeJS.ProcessEnv, string][] = [
      [{ HTTPS_PROXY: `http://bob:${PASSWORD}@[not-a-host` }, 'HTTPS_PROXY: not a proxy URL; expected http://[user:password@]host[:port]'],
      [{ https_proxy: `socks5://bob:${PASSWORD}@127.0.0.1:1080` }, 'https_proxy: the socks5:// proxy scheme is not supported; expected http://[user:password@]host[:port]'],
      [{ HTTPS_PROXY: 'https://127.0.0.1:3128' }, "HTTPS_PROXY: a proxy reached over TLS (https://) is not supported; give the proxy's http:// address (requests to https providers still go through it in an encrypted CONNECT tunnel)"],
    ];
    for (const [vars, message] of cases) {
      for (const args of [['ask', '--no-cache', '--config', config, 'hello'], ['config', 'check', config], ['providers', '--config', config]]) {
        const r = await run(args, { env: { ...env, ...vars } });
        expect({ args, code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ args, code: 2, stderr: `${message}\n`, stdout: '' });
      }
    }
    const loopback = setup(p1(server.baseUrl('p1')));
    const r = await run(['ask', '--no-cache', '--config', loopback.config, 'hello'], { env: { ...loopback.env, HTTPS_PROXY: 'http://[broken', HTTP_PROXY: 'http://[broken', ALL_PROXY: 'http://[broken' } });
    expect(r.code).toBe(0);
  });
});

describe('proxy: choosing the route (curl CURLOPT_NOPROXY rules)', () => {
  const route = (url: string, env: NodeJS.ProcessEnv) => describeRoute(chooseRoute(new URL(url), env));
  const P = { HTTPS_PROXY: 'http://proxy.corp:3128' };

  it('a NO_PROXY entry that means nothing is left out, as curl leaves it out, and the others still count; config check names it, exit 0', async () => {
    // A machine-wide NO_PROXY with entries curl never matches (a URL, a path, a /40 prefix, a port past 65535).
    const odd = 'http://intranet.corp,example.com/,10.0.0.0/40,host:70000';
    expect(parseNoProxy('NO_PROXY', `${odd},10.2.3.4`).ignored).toHaveLength(4);
    expect(route('https://10.2.3.4/v1', { ...P, NO_PROXY: `${odd},10.2.3.4` })).toBe('direct (NO_PROXY)');
    expect(route('https://10.9.9.9/v1', { ...P, NO_PROXY: `${odd},10.2.3.4` })).toBe('http://proxy.corp:3128 (HTTPS_PROXY)');
    const { config, env } = setup(p1());
    const check = await run(['config', 'check', config], { env: { ...env, ...P, NO_PROXY: `10.0.0.0/40,${IP}` } });
    expect(check.code).toBe(0);
    expect(check.stderr).toBe('NO_PROXY: entry "10.0.0.0/40" is not a CIDR block and is ignored, as curl ignores it; give names (example.com, .example.com), addresses (10.1.2.3, ::1) or CIDR blocks (10.0.0.0/8), optionally with :port, separated by commas\n');
    expect(check.stdout).toContain('direct (NO_PROXY): p1\n');
    // without a proxy variable NO_PROXY decides nothing, and nothing is said
    const quiet = await run(['config', 'check', config], { env: { ...env, NO_PROXY: '10.0.0.0/40' } });
    expect([quiet.code, quiet.stderr]).toEqual([0, '']);
  });

  it('a NO_PROXY name matches itself and names under it, with or without a leading dot, never a longer name', () => {
    // CURLOPT_NOPROXY: "ample.com" matches ample.com, ample.com:80 and www.ample.com, not www.example.com or ample.com.org.
    for (const entry of ['ample.com', '.ample.com', '*.ample.com', 'AMPLE.COM']) {
      const env = { ...P, NO_PROXY: entry };
      expect(route('https://ample.com/v1', env)).toBe('direct (NO_PROXY)');
      expect(route('https://www.ample.com/v1', env)).toBe('direct (NO_PROXY)');
      expect(route('https://www.example.com/v1', env)).toBe('http://proxy.corp:3128 (HTTPS_PROXY)');
      expect(route('https://ample.com.org/v1', env)).toBe('http://proxy.corp:3128 (HTTPS_PROXY)');
    }
  });

  it('IPv6 entries with or without brackets, CIDR blocks, ports, and * anywhere in the list', () => {
    expect(route('https://[fd00::5]/v1', { ...P, NO_PROXY: 'fd00::5' })).toBe('direct (NO_PROXY)');
    expect(route('https://[fd00::5]/v1', { ...P, NO_PROXY: '[fd00::5]:443' })).toBe('direct (NO_PROXY)');
    expect(route('https://[fd00::5]:8443/v1', { ...P, NO_PROXY: '[fd00::5]:443' })).toBe('http://proxy.corp:3128 (HTTPS_PROXY)');
    expect(route('https://[fd00::5]/v1', { ...P, NO_PROXY: 'fd00::/8' })).toBe('direct (NO_PROXY)');
    expect(route('https://10.2.3.4/v1', { ...P, NO_PROXY: '10.0.0.0/8' })).toBe('direct (NO_PROXY)');
    expect(route('https://11.2.3.4/v1', { ...P, NO_PROXY: '10.0.0.0/8' })).toBe('http://proxy.corp:3128 (HTTPS_PROXY)');
    expect(route('https://api.x.com/v1', { ...P, NO_PROXY: 'a.com, *' })).toBe('direct (NO_PROXY)');
    expect(route('https://api.x.com/v1', { ...P, NO_PROXY: '' })).toBe('http://proxy.corp:3128 (HTTPS_PROXY)');
    expect(parseNoProxy('NO_PROXY', ' a.com ,, b.com ').entries.map((e) => e.name)).toEqual(['a.com', 'b.com']);
  });

  it("curl's documented rules, one by one (curl/curl 5c61e16: CURLOPT_NOPROXY.md, cmdline-opts/_ENVIRONMENT.md, libcurl-env.md, lib/proxy.c)", () => {
    const via = 'http://proxy.corp:3128 (HTTPS_PROXY)';
    // CURLOPT_NOPROXY.md: "ample.com" matches ample.com, ample.com:80 and www.ample.com: an entry without a port matches every port.
    expect(route('https://ample.com:80/v1', { ...P, NO_PROXY: 'ample.com' })).toBe('direct (NO_PROXY)');
    expect(route('https://www.ample.com:8443/v1', { ...P, NO_PROXY: 'ample.com' })).toBe('direct (NO_PROXY)');
    // CURLOPT_NOPROXY.md: "192.168.0.0/16" matches all addresses starting with 192.168.
    expect(route('https://192.168.44.5/v1', { ...P, NO_PROXY: '192.168.0.0/16' })).toBe('direct (NO_PROXY)');
    expect(route('https://192.169.0.1/v1', { ...P, NO_PROXY: '192.168.0.0/16' })).toBe(via);
    // CURLOPT_NOPROXY.md: IPv6 addresses are given without brackets ("example.com,::1,localhost"); an IPv6 CIDR block too (lib/proxy.c cidr6_match).
    expect(route('https://[2001:db8::7]/v1', { ...P, NO_PROXY: 'example.com, 2001:db8::7, localhost' })).toBe('direct (NO_PROXY)');
    expect(route('https://[2001:db8::7]/v1', { ...P, NO_PROXY: '2001:db8::/32' })).toBe('direct (NO_PROXY)');
    expect(route('https://[2001:db9::7]/v1', { ...P, NO_PROXY: '2001:db8::/32' })).toBe(via);
    // _ENVIRONMENT.md: NO_PROXY set to "*" only matches all hosts.
    expect(route('https://api.x.com/v1', { ...P, NO_PROXY: '*' })).toBe('direct (NO_PROXY)');
    // lib/proxy.c match_host: case-insensitive; trailing dots ignored in the entry and in the host name; blanks around entries skipped.
    expect(route('https://API.X.COM./v1', { ...P, NO_PROXY: '  x.com. ,other.org' })).toBe('direct (NO_PROXY)');
    // lib/proxy.c: an IP address is never matched by a name entry, nor a name by an address entry (names are not resolved).
    expect(route('https://10.0.0.1/v1', { ...P, NO_PROXY: '0.1' })).toBe(via);
    expect(route('https://api.x.com/v1', { ...P, NO_PROXY: '0.0.0.0/0' })).toBe(via);
    // _ENVIRONMENT.md: "The lower case version has precedence" (no_proxy over NO_PROXY, https_proxy over HTTPS_PROXY).
    expect(route('https://api.x.com/v1', { ...P, no_proxy: 'other.org', NO_PROXY: 'x.com' })).toBe(via);
    expect(route('https://api.x.com/v1', { https_proxy: 'http://low:1', HTTPS_PROXY: 'http://up:2' })).toBe('http://low:1 (https_proxy)');
    // lib/getenv.c: curl_getenv returns NULL for an empty value, so an empty lower-case variable falls through to the upper-case one.
    expect(route('https://api.x.com/v1', { ...P, no_proxy: '', NO_PROXY: 'x.com' })).toBe('direct (NO_PROXY)');
    expect(route('https://api.x.com/v1', { https_proxy: '', HTTPS_PROXY: 'http://up:2' })).toBe('http://up:2 (HTTPS_PROXY)');
    // libcurl-env.md: ALL_PROXY is used only when no scheme-specific variable is set; CURLOPT_PROXY.md: no port means 1080.
    expect(route('https://api.x.com/v1', { all_proxy: 'http://all:1', https_proxy: 'http://https:2' })).toBe('http://https:2 (https_proxy)');
    expect(route('http://api.x.com/v1', { all_proxy: 'all.corp' })).toBe('http://all.corp:1080 (all_proxy)');
  });

  it('which variable for which scheme, the default port, and loopback', () => {
    expect(route('https://api.x.com/v1', { ALL_PROXY: 'proxy.corp' })).toBe('http://proxy.corp:1080 (ALL_PROXY)');
    expect(route('https://api.x.com/v1', { all_proxy: 'http://a:1', HTTPS_PROXY: 'http://b:2' })).toBe('http://b:2 (HTTPS_PROXY)');
    expect(route('http://api.x.com/v1', { HTTPS_PROXY: 'http://b:2' })).toBe('direct');
    expect(route('http://api.x.com/v1', { http_proxy: 'http://a:1', HTTP_PROXY: 'http://b:2' })).toBe('http://a:1 (http_proxy)');
    expect(route('https://api.x.com/v1', { https_proxy: ' ', HTTPS_PROXY: 'http://b:2' })).toBe('http://b:2 (HTTPS_PROXY)');
    for (const h of ['127.0.0.1', '127.9.9.9', '[::1]', 'localhost']) expect(route(`https://${h}:8000/v1`, { ...P, HTTPS_PROXY: 'http://[broken' })).toBe('direct (loopback)');
  });
});

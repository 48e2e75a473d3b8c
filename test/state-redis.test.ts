import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { FallbackChain, type ChainOptions } from '../src/chain/chain.js';
import { UsageError } from '../src/errors.js';
import type { MockServer } from '../src/mock/server.js';
import { FileBreakers, MAX_OPEN_MS, MemoryBreakers, type BreakerPolicy } from '../src/state/breaker.js';
import { cacheKey } from '../src/state/cache.js';
import { HISTORY_SAMPLES } from '../src/state/latency.js';
import { openStores, type StateStores } from '../src/state/stores.js';
import { DEFAULT_PREFIX, parseRedisUrl } from '../src/state/redis-connection.js';
import type { RedisBreakers } from '../src/state/redis.js';
import { redact } from '../src/util/redact.js';
import { run } from './cli-helpers.js';
import { chainProviders, emulator, freePort } from './helpers.js';

/**
 * A real redis-server (Debian's package), one per test file, on a free loopback port, no persistence.
 * Missing, it fails the tests with the fix: CI installs it (.ci/run).
 */
const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';


/** One RESP command over a raw socket (the test's own view of Redis, independent of the client under test). */
async function raw(port: number, ...args: string[]): Promise<string> {
  return rawOn(() => createConnection({ host: '127.0.0.1', port }), 'connect', args);
}

async function rawOn(open: () => Socket, ready: 'connect' | 'secureConnect', args: string[]): Promise<string> {
  const sock = open();
  const body = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  return new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => (sock.destroy(), reject(new Error('no reply'))), 3000);
    sock.on('error', (e) => (clearTimeout(timer), reject(e)));
    sock.on(ready, () => sock.write(body));
    sock.on('data', (d) => {
      out += d.toString();
      // Enough for the replies read here: a status/integer/error line, or one bulk string.
      const bulk = /^\$(-?\d+)\r\n/.exec(out);
      if ((bulk && (Number(bulk[1]) < 0 || out.length >= bulk[0].length + Number(bulk[1]) + 2)) || (!out.startsWith('$') && !out.startsWith('*') && out.endsWith('\r\n'))) {
        clearTimeout(timer);
        sock.destroy();
        resolve(out);
      }
    });
  });
}

interface RedisProcess {
  port: number;
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** A self-signed certificate for localhost and 127.0.0.1, made by openssl (Debian's package) for the TLS test. */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1'], { stdio: 'pipe' });
  if (r.error || r.status !== 0) throw new Error(`openssl could not make a test certificate (${r.error?.message ?? r.stderr.toString().trim()}): install the Debian package openssl, as .ci/run does`);
  return { cert, key };
}

async function startRedis(extra: string[] = [], tlsFiles?: { cert: string; key: string }): Promise<RedisProcess> {
  try {
    accessSync(REDIS_SERVER, constants.X_OK);
  } catch {
    throw new Error(`${REDIS_SERVER} not found: these tests need a real Redis; install the Debian package (apt-get install redis-server), as .ci/run does`);
  }
  for (let tries = 0; ; tries++) {
    const port = await freePort();
    const ports = tlsFiles
      ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tlsFiles.cert, '--tls-key-file', tlsFiles.key, '--tls-ca-cert-file', tlsFiles.cert, '--tls-auth-clients', 'no']
      : ['--port', String(port)];
    // --dir: a primary with a replica still writes an RDB file for the replica's first sync, and the replica keeps it
    const dir = mkdtempSync(join(tmpdir(), 'llmf-redis-'));
    const child = spawn(REDIS_SERVER, [...ports, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', '', '--loglevel', 'warning', ...extra], { stdio: 'ignore' });
    let exited = false;
    child.on('exit', () => (exited = true));
    const until = Date.now() + 10_000;
    while (!exited && Date.now() < until) {
      const pong = await (tlsFiles ? rawOn(() => tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(tlsFiles.cert) }), 'secureConnect', ['PING']) : raw(port, 'PING')).catch(() => '');
      if (/^\+PONG|^-NOAUTH/.test(pong)) {
        const stop = async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const gone = new Promise((r) => child.once('exit', r));
          child.kill('SIGKILL');
          await gone;
        };
        return { port, url: `${tlsFiles ? 'rediss://localhost' : 'redis://127.0.0.1'}:${port}`, child, stop };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    if (tries >= 2) throw new Error(`redis-server did not answer PING on 127.0.0.1:${port}`);
  }
}

const started: RedisProcess[] = [];
afterAll(async () => {
  for (const r of started) await r.stop();
});
async function redis(extra: string[] = [], tlsFiles?: { cert: string; key: string }): Promise<RedisProcess> {
  const r = await startRedis(extra, tlsFiles);
  started.push(r);
  return r;
}

const POLICY: BreakerPolicy = { failures: 3, cooldownMs: 60_000, probeTimeoutMs: 10_000 };

/** Stores on the shared Redis as one replica opens them; each test gets its own key prefix. */
async function replica(url: string, prefix: string, over: Partial<Parameters<typeof openStores>[0]> = {}, warnings: string[] = []): Promise<StateStores> {
  const s = await openStores({ url, breaker: POLICY, cacheTtlMs: 60_000, refreshMs: 0, prefix, warn: (m) => warnings.push(m), ...over });
  afterAll(() => s.close());
  return s;
}

let n = 0;
const ns = () => `t${++n}-${process.pid}:`;

let shared: RedisProcess;
beforeAll(async () => {
  shared = await redis();
});

describe('breakers shared through Redis by two replicas', () => {
  it("failures on A open the breaker that B sees after B's load()", async () => {
    const p = ns();
    const a = await replica(shared.url, p);
    const b = await replica(shared.url, p);
    await Promise.all([a.breakers.load(), b.breakers.load()]);
    for (let i = 0; i < 3; i++) await a.breakers.failure('k', 'prov', 'server', undefined);
    expect(a.breakers.admit('k', 'prov').allowed).toBe(false);
    expect(b.breakers.admit('k', 'prov').allowed).toBe(true); // B has not read since
    await b.breakers.load();
    const adm = b.breakers.admit('k', 'prov');
    expect(adm.allowed).toBe(false);
    if (!adm.allowed) expect(adm.reason).toBe('circuit open');
    // keys live under the prefix, nowhere else
    expect(await raw(shared.port, 'EXISTS', `${p}breakers`)).toBe(':1\r\n');
  });

  it('concurrent failures from both replicas are all counted', async () => {
    const p = ns();
    const policy = { ...POLICY, failures: 1000 };
    const warnings: string[] = [];
    const a = await replica(shared.url, p, { breaker: policy }, warnings);
    const b = await replica(shared.url, p, { breaker: policy }, warnings);
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).breakers.failure('k', 'prov', 'server', undefined)));
    const rec = JSON.parse((await raw(shared.port, 'HGET', `${p}breakers`, 'k')).split('\r\n')[1]);
    expect(rec.consecutive_failures).toBe(40);
    expect(rec.state).toBe('closed');
    expect(warnings).toEqual([]); // every count went to Redis, none fell back to a replica's own state
  });

  it('exactly one replica claims the half-open probe; success then closes the breaker for both', async () => {
    const p = ns();
    const policy = { failures: 1, cooldownMs: 100, probeTimeoutMs: 10_000 };
    const rs = await Promise.all(Array.from({ length: 4 }, () => replica(shared.url, p, { breaker: policy })));
    await rs[0].breakers.failure('k', 'prov', 'server', undefined);
    await new Promise((r) => setTimeout(r, 150)); // cooldown over
    await Promise.all(rs.map((r) => r.breakers.load()));
    expect(rs.map((r) => r.breakers.admit('k', 'prov'))).toEqual(rs.map(() => ({ allowed: true, probe: true })));
    const claims = await Promise.all(rs.map((r) => r.breakers.claimProbe('k', 'prov')));
    expect(claims.filter(Boolean)).toHaveLength(1);
    const winner = claims.indexOf(true);
    const other = rs[(winner + 1) % rs.length];
    await other.breakers.load();
    expect(other.breakers.admit('k', 'prov')).toMatchObject({ allowed: false, reason: 'circuit half-open, another probe in flight' });
    await rs[winner].breakers.success('k', 'prov');
    await other.breakers.load();
    expect(other.breakers.admit('k', 'prov')).toEqual({ allowed: true, probe: false });
  });

  it('a probe given back (it ended with no verdict) may be claimed again at once by another replica; a later claim is not given back by the first', async () => {
    const p = ns();
    const policy = { failures: 1, cooldownMs: 100, probeTimeoutMs: 60_000 };
    const [a, b] = await Promise.all([replica(shared.url, p, { breaker: policy }), replica(shared.url, p, { breaker: policy })]);
    await a.breakers.failure('k', 'prov', 'server', undefined);
    await new Promise((r) => setTimeout(r, 150)); // cooldown over
    const claimedAt = Date.now();
    expect(await a.breakers.claimProbe('k', 'prov', claimedAt)).toBe(true);
    await b.breakers.load();
    expect(b.breakers.admit('k', 'prov')).toMatchObject({ allowed: false, reason: 'circuit half-open, another probe in flight' });
    await a.breakers.releaseProbe!('k', 'prov', claimedAt);
    await b.breakers.load();
    expect(b.breakers.admit('k', 'prov')).toEqual({ allowed: true, probe: true });
    expect(await b.breakers.claimProbe('k', 'prov', claimedAt + 5)).toBe(true);
    await a.breakers.releaseProbe!('k', 'prov', claimedAt); // a's probe is over; b's stays claimed
    expect(JSON.parse(await raw(shared.port, 'HGET', `${p}breakers`, 'k').then((r) => r.slice(r.indexOf('{'))))).toMatchObject({ state: 'half_open', probe_started_at: claimedAt + 5 });
  });

  it("a success on B ends the failures A counted since B's load: the breaker does not open at A's next failure", async () => {
    // As FileBreakers.success: B's view is from the start of its call (a gateway replica streaming an
    // answer); A's failures meanwhile, plus one after B's success, are not three consecutive failures.
    const p = ns();
    const [a, b] = await Promise.all([replica(shared.url, p), replica(shared.url, p)]);
    await b.breakers.load();
    for (let i = 0; i < 2; i++) await a.breakers.failure('k', 'prov', 'server', undefined);
    await b.breakers.success('k', 'prov');
    const rec = JSON.parse(await raw(shared.port, 'HGET', `${p}breakers`, 'k').then((r) => r.slice(r.indexOf('{'))));
    expect(rec).toMatchObject({ state: 'closed', consecutive_failures: 0 });
    await a.breakers.failure('k', 'prov', 'server', undefined);
    expect(a.breakers.admit('k', 'prov')).toEqual({ allowed: true, probe: false });
  });

  it('open-until follows a longer Retry-After, and never more than MAX_OPEN_MS', async () => {
    const p = ns();
    const policy = { failures: 1, cooldownMs: 1000, probeTimeoutMs: 10_000 };
    const a = await replica(shared.url, p, { breaker: policy });
    const b = await replica(shared.url, p, { breaker: policy });
    const t = Date.now();
    await a.breakers.failure('long', 'prov', 'rate_limit', 600_000, t);
    await a.breakers.failure('hostile', 'prov', 'rate_limit', 1e14, t);
    await a.breakers.failure('short', 'prov', 'rate_limit', 10, t);
    await b.breakers.load();
    const until = (k: string) => {
      const adm = b.breakers.admit(k, 'prov', t);
      return adm.allowed ? 0 : adm.openUntil - t;
    };
    expect(until('long')).toBe(600_000);
    expect(until('hostile')).toBe(MAX_OPEN_MS);
    expect(until('short')).toBe(1000); // the cooldown, when the server asks for less
  });

  it('a replica re-reads shared state at most once per refresh interval (the staleness bound)', async () => {
    const p = ns();
    const a = await replica(shared.url, p, { breaker: { ...POLICY, failures: 1 } });
    // 1 s: the second load must come within it (a write and a read later), so a stall of up to ~1 s passes.
    const b = await replica(shared.url, p, { breaker: { ...POLICY, failures: 1 }, refreshMs: 1000 });
    await b.breakers.load();
    await a.breakers.failure('k', 'prov', 'server', undefined);
    await b.breakers.load(); // within the interval: no read, the old view
    expect(b.breakers.admit('k', 'prov').allowed).toBe(true);
    await new Promise((r) => setTimeout(r, 1100));
    await b.breakers.load();
    expect(b.breakers.admit('k', 'prov').allowed).toBe(false);
  });

  it('breaker records of the wrong shape in Redis are ignored and overwritten', async () => {
    const p = ns();
    await raw(shared.port, 'HSET', `${p}breakers`, 'k', '{not json');
    const a = await replica(shared.url, p, { breaker: { ...POLICY, failures: 1 } });
    await a.breakers.load();
    expect(a.breakers.admit('k', 'prov').allowed).toBe(true);
    await a.breakers.failure('k', 'prov', 'server', undefined);
    expect(JSON.parse((await raw(shared.port, 'HGET', `${p}breakers`, 'k')).split('\r\n')[1])).toMatchObject({ state: 'open', consecutive_failures: 1 });
  });
});

describe('answer cache and latency history in Redis', () => {
  it('an answer put by A is read by B, holds only the answer, and expires with the TTL', async () => {
    const p = ns();
    // The reads below must come within the TTL: 300 ms left a stall of under 300 ms to expire the answer
    // before B read it; 1 s leaves nearly all of it.
    const a = await replica(shared.url, p, { cacheTtlMs: 1000 });
    const b = await replica(shared.url, p, { cacheTtlMs: 1000 });
    const key = cacheKey({ messages: [{ role: 'user', content: 'q' }] });
    // whatever else the caller's object carries (here a key) is not stored
    const answer = { content: 'the answer', provider: 'p', model: 'm', usage: null, api_key: 'sk-test-should-never-be-stored' };
    await a.cache.put(key, answer);
    expect(await b.cache.get(key)).toMatchObject({ content: 'the answer', provider: 'p', model: 'm' });
    const stored = (await raw(shared.port, 'GET', `${p}answer:${key}`)).split('\r\n')[1];
    expect(Object.keys(JSON.parse(stored)).sort()).toEqual(['content', 'created_at', 'expires_at', 'model', 'provider', 'usage']);
    const ttl = Number((await raw(shared.port, 'PTTL', `${p}answer:${key}`)).slice(1));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1000);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await b.cache.get(key)).toBeUndefined();
    expect(await raw(shared.port, 'EXISTS', `${p}answer:${key}`)).toBe(':0\r\n'); // Redis dropped it
  });

  it('as the file cache: an entry of blank text is no answer, and an entry lives only as long as the cache_ttl the reader has now', async () => {
    // A replica of an older version (or under a longer cache_ttl before a reload) wrote these into the shared Redis.
    const p = ns();
    const day = 24 * 3_600_000;
    const old = await replica(shared.url, p, { cacheTtlMs: day });
    const now = await replica(shared.url, p, { cacheTtlMs: 3_600_000 });
    const key = cacheKey({ messages: [{ role: 'user', content: 'q' }] });
    const t0 = Date.now();
    await old.cache.put(key, { content: 'the answer', provider: 'p', model: 'm', usage: null }, t0);
    expect(await now.cache.get(key, t0 + 1000)).toMatchObject({ content: 'the answer' });
    expect(await old.cache.get(key, t0 + 2 * 3_600_000)).toMatchObject({ content: 'the answer' });
    expect(await now.cache.get(key, t0 + 2 * 3_600_000)).toBeUndefined();
    await old.cache.put(key, { content: '\n\n ', provider: 'p', model: 'm', usage: null }, t0);
    expect(await now.cache.get(key, t0 + 1000)).toBeUndefined();
  });

  it('latency samples flushed by two replicas are merged, newest HISTORY_SAMPLES kept', async () => {
    const p = ns();
    const a = await replica(shared.url, p);
    const b = await replica(shared.url, p);
    for (let i = 0; i < 40; i++) a.history.add('k', 'prov', { ttftMs: i, maxGapMs: 1000 + i });
    for (let i = 40; i < 80; i++) b.history.add('k', 'prov', { ttftMs: i });
    // A's flush lands before B's, so B's samples are the newest. (Flushed at once, either may land
    // last: the list then ends with A's, which is what CI once saw.)
    await a.history.flush();
    await b.history.flush();
    expect(a.history.get('k')!.ttft_ms).toHaveLength(40); // its own samples at once
    await a.history.load();
    const h = a.history.get('k')!;
    expect(h.name).toBe('prov');
    expect(h.ttft_ms).toHaveLength(HISTORY_SAMPLES);
    expect([...h.ttft_ms].sort((x, y) => x - y)).toEqual(Array.from({ length: HISTORY_SAMPLES }, (_, i) => 80 - HISTORY_SAMPLES + i));
    expect(h.max_gap_ms).toEqual(Array.from({ length: 40 }, (_, i) => 1000 + i));
  });

  it('two replicas flushing at once lose no write: the list is the newest HISTORY_SAMPLES of one landing order', async () => {
    const p = ns();
    const a = await replica(shared.url, p);
    const b = await replica(shared.url, p);
    for (let i = 0; i < 40; i++) a.history.add('k', 'prov', { ttftMs: i });
    for (let i = 40; i < 80; i++) b.history.add('k', 'prov', { ttftMs: i });
    await Promise.all([a.history.flush(), b.history.flush()]);
    await a.history.load();
    const got = a.history.get('k')!.ttft_ms;
    const aThenB = Array.from({ length: 80 }, (_, i) => i).slice(-HISTORY_SAMPLES);
    const bThenA = [...Array.from({ length: 40 }, (_, i) => 40 + i), ...Array.from({ length: 40 }, (_, i) => i)].slice(-HISTORY_SAMPLES);
    expect([aThenB, bThenA]).toContainEqual([...got]);
  });
});

describe('latency history writes', () => {
  it('a busy replica writes its samples at most once per refresh interval, and the rest when it closes', async () => {
    const p = ns();
    const s = await openStores({ url: shared.url, breaker: POLICY, cacheTtlMs: 1000, prefix: p, refreshMs: 60_000 });
    const list = `${p}latency:ttft:k`;
    s.history.add('k', 'prov', { ttftMs: 1 });
    await s.history.flush(); // the first write goes at once
    for (let i = 2; i <= 5; i++) {
      s.history.add('k', 'prov', { ttftMs: i });
      await s.history.flush();
    }
    expect(s.history.get('k')!.ttft_ms).toEqual([1, 2, 3, 4, 5]); // the replica's own view has them all
    expect(await raw(shared.port, 'LLEN', list)).toBe(':1\r\n'); // Redis has the first only
    await s.close();
    expect(await raw(shared.port, 'LLEN', list)).toBe(':5\r\n');
  });
});

const c = (value: number) => ({ dist: 'constant' as const, value });
let mock: MockServer;
beforeAll(async () => {
  mock = await emulator({ down: { dialect: 'openai', output_tokens: c(4) }, backup: { dialect: 'openai', output_tokens: c(5) } });
});

/** The chain a replica runs: `down` (answering 500 on every request) and then `backup`. */
function chainOn(stores: StateStores, over: Partial<ChainOptions> = {}): FallbackChain {
  // `down` answers 500 on every request; both share one breaker key across replicas.
  const providers = chainProviders(mock, ['down', 'backup'], { faults: { down: { kind: 'server' } }, breakerKey: (name) => `${name}#shared` });
  return new FallbackChain(providers, {
    retries: 0,
    deadlineMs: 10_000,
    onContentFilter: 'stop',
    firstTokenMsPerPromptToken: 0,
    breakers: stores.breakers,
    history: stores.history,
    ...over,
  });
}
const q = { messages: [{ role: 'user' as const, content: 'Is the primary up?' }] };

async function call(stores: StateStores, over: Partial<ChainOptions> = {}) {
  const ch = chainOn(stores, over);
  const r = await ch.run(q);
  await ch.settled;
  return r;
}

describe('the fallback chain on two replicas sharing Redis', () => {
  it("one replica's failures make the other skip the dead provider without a request to it", async () => {
    const p = ns();
    const policy = { failures: 2, cooldownMs: 60_000, probeTimeoutMs: 10_000 };
    const one = await replica(shared.url, p, { breaker: policy });
    const two = await replica(shared.url, p, { breaker: policy });
    for (let i = 0; i < 2; i++) {
      const r = await call(one);
      expect(r.provider).toBe('backup');
      expect(r.attempts[0]).toMatchObject({ provider: 'down', decision: 'fallover', status: 500 });
    }
    const hits = mock.stats().down.requests;
    const r = await call(two);
    expect(r.provider).toBe('backup');
    expect(r.attempts.map((a) => [a.provider, a.decision])).toEqual([
      ['down', 'skipped_breaker_open'],
      ['backup', 'success'],
    ]);
    expect(r.attempts[0].error_message).toMatch(/^circuit open until \d{4}-/);
    expect(mock.stats().down.requests).toBe(hits); // the second replica never asked it
  });

  it('without Redis (memory stores) the second replica learns nothing from the first', async () => {
    const policy = { failures: 1, cooldownMs: 60_000, probeTimeoutMs: 10_000 };
    const one = await openStores({ breaker: policy, cacheTtlMs: 60_000 });
    const two = await openStores({ url: 'memory', breaker: policy, cacheTtlMs: 60_000 });
    expect(one.describe).toBe('memory');
    expect(one.breakers).toBeInstanceOf(MemoryBreakers);
    await call(one);
    expect((await call(two)).attempts[0].decision).toBe('fallover');
  });
});

describe('a Redis that goes away', () => {
  it('killed mid-run: calls still answer, breakers go on locally, one warning', async () => {
    const own = await redis();
    const warnings: string[] = [];
    const policy = { failures: 1, cooldownMs: 60_000, probeTimeoutMs: 10_000 };
    const s = await replica(own.url, ns(), { breaker: policy, commandTimeoutMs: 300 }, warnings);
    const key = cacheKey(q);
    const first = await call(s, { cache: { store: s.cache, key: () => key } });
    expect(first.provider).toBe('backup');
    expect(warnings).toEqual([]);
    await own.stop();
    const hits = mock.stats().down.requests;
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      const r = await call(s, { cache: { store: s.cache, key: () => key } });
      expect(r.source).toBe('live');
      expect(r.provider).toBe('backup');
      expect(r.attempts[0].decision).toBe('skipped_breaker_open'); // what this replica learnt before Redis went
      expect(Date.now() - t0).toBeLessThan(2000);
    }
    expect(mock.stats().down.requests).toBe(hits);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^shared state redis://127\\.0\\.0\\.1:${own.port} is unavailable \\(connection lost: .+\\); this replica goes on with its own state until it is back$`));
  });

  it('stalled (SIGSTOP): no call waits on it longer than the command timeout', async () => {
    const own = await redis();
    const warnings: string[] = [];
    const s = await replica(own.url, ns(), { commandTimeoutMs: 200 }, warnings);
    await call(s);
    own.child.kill('SIGSTOP');
    try {
      await new Promise((r) => setTimeout(r, 50));
      for (let i = 0; i < 3; i++) {
        const t0 = Date.now();
        const r = await call(s);
        expect(r.provider).toBe('backup');
        expect(Date.now() - t0).toBeLessThan(1500);
      }
      expect(warnings).toHaveLength(1);
    } finally {
      own.child.kill('SIGCONT');
    }
  });

  it('back again: the replica says so and shares its state again', async () => {
    const own = await redis();
    const warnings: string[] = [];
    const p = ns();
    const s = await replica(own.url, p, { commandTimeoutMs: 200 }, warnings);
    own.child.kill('SIGSTOP');
    await s.breakers.failure('k', 'prov', 'server', undefined); // times out: kept locally (Redis runs the write when it wakes)
    own.child.kill('SIGCONT');
    await new Promise((r) => setTimeout(r, 2100)); // past the pause after a failure
    await s.breakers.failure('k', 'prov', 'server', undefined);
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toMatch(/is reachable again/);
    // the late write and the new one, each a compare-and-set: counted once each
    expect(JSON.parse((await raw(own.port, 'HGET', `${p}breakers`, 'k')).split('\r\n')[1]).consecutive_failures).toBe(2);
  });

  it('answers reads but refuses writes (an ACL user without write rights, as a read-only replica or OOM does): one warning, not one pair per write', async () => {
    const own = await redis();
    // The user may do everything when the stores open (a missing right is refused then: see 'opening the
    // stores'), and loses its write rights while the replica runs.
    expect(await raw(own.port, 'ACL', 'SETUSER', 'reader', 'on', '>reader-pass-1234', '~*', '+@all')).toBe('+OK\r\n');
    const warnings: string[] = [];
    const s = await replica(`redis://reader:reader-pass-1234@127.0.0.1:${own.port}`, ns(), {}, warnings);
    expect(await raw(own.port, 'ACL', 'SETUSER', 'reader', '-@all', '+@read', '+@connection')).toBe('+OK\r\n');
    await s.breakers.load();
    await s.breakers.failure('k', 'prov', 'server', undefined); // EVALSHA: NOPERM
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^shared state redis://127\\.0\\.0\\.1:${own.port} is unavailable \\(NOPERM .*evalsha.*\\); this replica goes on with its own state until it is back$`));
    for (let i = 0; i < 2; i++) {
      await new Promise((r) => setTimeout(r, 2100)); // past the pause after a failure
      await s.breakers.load(); // HGETALL: allowed
      await s.breakers.failure('k', 'prov', 'server', undefined); // refused again
    }
    expect(warnings).toHaveLength(1);
    // writes allowed again: the next write that succeeds says so, once
    expect(await raw(own.port, 'ACL', 'SETUSER', 'reader', '+@all')).toBe('+OK\r\n');
    await new Promise((r) => setTimeout(r, 2100));
    await s.breakers.failure('k', 'prov', 'server', undefined);
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toMatch(/is reachable again/);
  });
});

describe('a Redis that answers reads but refuses writes, while a replica runs', () => {
  it("the replica's own failures survive its shared reads: its breaker opens after policy.failures, as with its own state", async () => {
    const own = await redis();
    expect(await raw(own.port, 'ACL', 'SETUSER', 'worker', 'on', '>worker-pass-1234', '~*', '+@all')).toBe('+OK\r\n');
    const s = await replica(`redis://worker:worker-pass-1234@127.0.0.1:${own.port}`, ns(), { commandTimeoutMs: 500 });
    expect(await raw(own.port, 'ACL', 'SETUSER', 'worker', '-@all', '+@read', '+@connection')).toBe('+OK\r\n');
    for (let i = 0; i < POLICY.failures; i++) {
      await s.breakers.load(); // a read Redis allows (refreshMs 0: every call re-reads)
      expect(s.breakers.admit('k', 'prov').allowed).toBe(true);
      await s.breakers.failure('k', 'prov', 'server', undefined); // refused: counted locally
      await new Promise((r) => setTimeout(r, 2100)); // past the pause after a failure, so the next read reaches Redis
    }
    await s.breakers.load();
    expect(s.breakers.admit('k', 'prov')).toMatchObject({ allowed: false });
  }, 20_000);

  it('a change another replica wrote later than the unwritten local one wins at the next read', async () => {
    const own = await redis();
    const p = ns();
    expect(await raw(own.port, 'ACL', 'SETUSER', 'worker', 'on', '>worker-pass-1234', '~*', '+@all')).toBe('+OK\r\n');
    const a = await replica(`redis://worker:worker-pass-1234@127.0.0.1:${own.port}`, p, { commandTimeoutMs: 500 });
    const b = await replica(`redis://127.0.0.1:${own.port}`, p); // the default user keeps its rights
    expect(await raw(own.port, 'ACL', 'SETUSER', 'worker', '-@all', '+@read', '+@connection')).toBe('+OK\r\n');
    await a.breakers.failure('k', 'prov', 'server', undefined); // A's, not written
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < POLICY.failures; i++) await b.breakers.failure('k', 'prov', 'server', undefined); // B opens it, later
    await new Promise((r) => setTimeout(r, 2100));
    await a.breakers.load();
    expect(a.breakers.admit('k', 'prov')).toMatchObject({ allowed: false });
  }, 20_000);
});

describe('opening the stores', () => {
  it('a Redis user without a right the stores need is one clear line naming the right, the prefix and how to grant it; the password is not shown', async () => {
    const own = await redis();
    const p = ns();
    expect(await raw(own.port, 'ACL', 'SETUSER', 'viewer', 'on', '>viewer-pass-5678', '~*', '+@read', '+@connection', '+@scripting')).toBe('+OK\r\n');
    const err = await openStores({ url: `redis://viewer:viewer-pass-5678@127.0.0.1:${own.port}`, prefix: p, breaker: POLICY, cacheTtlMs: 1000 }).then(
      () => undefined,
      (e: Error) => e,
    );
    const advice = `; grant it the commands and the keys, e\\.g\\. ACL SETUSER <user> ~${p}\\* \\+@read \\+@write \\+@scripting, or use another user$`;
    // Redis names the script's line, not the command: the message names the command on that line.
    expect(err?.message).toMatch(new RegExp(`^--state redis://127\\.0\\.0\\.1:${own.port}: this Redis user may not run what the shared state needs \\(it may not run SET\\)${advice}`));
    expect(err?.message).not.toContain('viewer-pass-5678');
    // keys outside the prefix only: Redis refuses the script before it runs
    expect(await raw(own.port, 'ACL', 'SETUSER', 'other', 'on', '>other-pass-5678', '~elsewhere:*', '+@all')).toBe('+OK\r\n');
    await expect(openStores({ url: `redis://other:other-pass-5678@127.0.0.1:${own.port}`, prefix: p, breaker: POLICY, cacheTtlMs: 1000 })).rejects.toThrow(
      new RegExp(`^--state redis://127\\.0\\.0\\.1:${own.port}: this Redis user may not run what the shared state needs \\(NOPERM .*keys.*\\)${advice}`),
    );
    // the commands that only look (breaker --state) still open such a Redis
    const view = await openStores({ url: `redis://viewer:viewer-pass-5678@127.0.0.1:${own.port}`, prefix: p, breaker: POLICY, cacheTtlMs: 1000, checkRights: false });
    expect(await (view.breakers as RedisBreakers).all()).toEqual({});
    await view.close();
  });

  it('a read-only replica is refused at once, pointing at the primary', async () => {
    const primary = await redis();
    const ro = await redis(['--replicaof', '127.0.0.1', String(primary.port)]);
    await expect(openStores({ url: `redis://127.0.0.1:${ro.port}`, prefix: ns(), breaker: POLICY, cacheTtlMs: 1000 })).rejects.toThrow(
      new RegExp(`^--state redis://127\\.0\\.0\\.1:${ro.port}: this Redis is a read-only replica \\(READONLY .*\\); point it at the primary$`),
    );
  });

  it('a Redis out of memory (noeviction) opens with one warning: it can pass by itself, and the stores go on with their own state', async () => {
    const full = await redis(['--maxmemory', '1', '--maxmemory-policy', 'noeviction']);
    const warnings: string[] = [];
    const s = await replica(`redis://127.0.0.1:${full.port}`, ns(), {}, warnings);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^shared state redis://127\\.0\\.0\\.1:${full.port} is unavailable \\(OOM .*\\); this replica goes on with its own state until it is back$`));
    await s.breakers.failure('k', 'prov', 'server', undefined);
    expect(warnings).toHaveLength(1);
  });

  it('the check leaves no key behind', async () => {
    const own = await redis();
    const p = ns();
    await replica(`redis://127.0.0.1:${own.port}`, p);
    expect(await raw(own.port, 'DBSIZE')).toBe(':0\r\n');
  });

  it('an unreachable Redis is one clear line, within the connect timeout', async () => {
    const port = await freePort();
    const t0 = Date.now();
    await expect(openStores({ url: `redis://127.0.0.1:${port}`, breaker: POLICY, cacheTtlMs: 1000, connectTimeoutMs: 1000 })).rejects.toThrow(
      new Error(`--state redis://127.0.0.1:${port}: cannot connect (ECONNREFUSED)`),
    );
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('a server that accepts and never answers is reported at the connect timeout, not a hang', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const port = (silent.address() as AddressInfo).port;
    const t0 = Date.now();
    try {
      await expect(openStores({ url: `redis://127.0.0.1:${port}`, breaker: POLICY, cacheTtlMs: 1000, connectTimeoutMs: 400 })).rejects.toThrow(
        new Error(`--state redis://127.0.0.1:${port}: cannot connect (no answer in 400 ms)`),
      );
      expect(Date.now() - t0).toBeLessThan(1500);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('a password is used and never shown, right or wrong', async () => {
    const secret = 'hunter2-redis-pass';
    const own = await redis(['--requirepass', secret]);
    const p = ns();
    const s = await replica(`redis://:${secret}@127.0.0.1:${own.port}`, p);
    expect(s.describe).toBe(`redis://127.0.0.1:${own.port} (prefix ${p})`);
    await s.breakers.failure('k', 'prov', 'server', undefined);
    const err = await openStores({ url: `redis://:wrong-${secret}@127.0.0.1:${own.port}`, breaker: POLICY, cacheTtlMs: 1000 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(new RegExp(`^--state redis://127\\.0\\.0\\.1:${own.port}: cannot connect \\(WRONGPASS`));
    expect((err as Error).message).not.toContain(secret);
    expect(redact(`x ${secret} y`)).not.toContain(secret); // registered as a secret
  });

  it.each([
    ['bogus', /^--state bogus: not a state store; use memory, file, redis:/],
    ['http://u:pw12345@h', /^--state http:\/\/h: not a state store/],
    ['redis://', /^--state redis:\/\/: no host; use redis:\/\/\[:password@\]host/],
    ['redis://127.0.0.1:6379/abc', /database "abc" is not a number/],
    ['redis://127.0.0.1:6379?db=2', /unknown parameter "db"/],
    ['redis://:s3cret-pass@redis.example.com:6379', /^--state redis:\/\/redis\.example\.com:6379: a password would travel in clear text to redis\.example\.com, which is not loopback; use rediss:\/\//],
  ])('%s is a usage error with the fix', async (url, message) => {
    const err = await openStores({ url, breaker: POLICY, cacheTtlMs: 1000 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toMatch(/pw12345|s3cret-pass/);
    expect((err as Error).message.split('\n')).toHaveLength(1);
  });

  it('rediss:// speaks TLS and checks the certificate: trusted, it works; self-signed and untrusted, one clear line', async () => {
    const certs = selfSigned(mkdtempSync(join(tmpdir(), 'llmf-tls-')));
    const own = await redis(['--requirepass', 'tls-pass-1234'], certs);
    const trusted = await run(['breaker', 'show', '--state', `rediss://:tls-pass-1234@localhost:${own.port}`], { env: { NODE_EXTRA_CA_CERTS: certs.cert } });
    expect(trusted.stderr).toBe('');
    expect(trusted.stdout).toBe(`0 breaker records in rediss://localhost:${own.port}\n`);
    const untrusted = await run(['breaker', 'show', '--state', `rediss://localhost:${own.port}`]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toBe(`llm-fallback: --state rediss://localhost:${own.port}: cannot connect (DEPTH_ZERO_SELF_SIGNED_CERT) (run with --debug for details)\n`);
    // a password over TLS may go to any host
    expect(parseRedisUrl('rediss://:pw-ok-over-tls@redis.example.com:6380').shown).toBe('rediss://redis.example.com:6380');
  });

  it('file: the state files the CLI uses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmf-stores-'));
    const s = await openStores({ url: 'file', breaker: POLICY, cacheTtlMs: 1000, env: { XDG_STATE_HOME: dir, XDG_CACHE_HOME: dir } });
    expect(s.breakers).toBeInstanceOf(FileBreakers);
    expect(s.describe).toBe(`file ${join(dir, 'llm-fallback')}`);
  });

  it('?prefix= in the URL names the keys', async () => {
    const s = await openStores({ url: `${shared.url}?prefix=team-a:`, breaker: { ...POLICY, failures: 1 }, cacheTtlMs: 1000 });
    await s.breakers.failure('k', 'prov', 'server', undefined);
    await s.close();
    expect(await raw(shared.port, 'EXISTS', 'team-a:breakers')).toBe(':1\r\n');
  });
});

describe('llm-fallback breaker show / reset --state', () => {
  it('shows and clears the breakers the replicas share, and says where', async () => {
    const s = await replica(shared.url, DEFAULT_PREFIX, { breaker: { ...POLICY, failures: 1 } });
    await raw(shared.port, 'DEL', `${DEFAULT_PREFIX}breakers`);
    await s.breakers.failure('down#abc', 'down', 'server', undefined);
    await s.breakers.failure('backup#def', 'backup', 'rate_limit', undefined);
    await s.breakers.success('backup#def', 'backup');
    const dir = mkdtempSync(join(tmpdir(), 'llmf-stores-'));
    const config = join(dir, 'providers.yaml');
    writeFileSync(config, `providers:\n  down: { api: openai, base_url: "${mock.baseUrl('down')}", model: m }\n  backup: { api: openai, base_url: "${mock.baseUrl('backup')}", model: m }\n`);
    const shown = await run(['breaker', 'show', '--state', shared.url]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^2 breaker records in redis://127\\.0\\.0\\.1:${shared.port}:\n  backup  closed  \\(backup#def\\)\n  down    open [3-6]\\ds more \\(server\\)  \\(down#abc\\)\n$`));
    const reset = await run(['--config', config, 'breaker', 'reset', 'down', '--state', shared.url]);
    expect(reset.stdout).toBe(`reset the breaker of down (1 record cleared in redis://127.0.0.1:${shared.port})\n`);
    expect(await raw(shared.port, 'HEXISTS', `${DEFAULT_PREFIX}breakers`, 'down#abc')).toBe(':0\r\n');
    expect(await raw(shared.port, 'HEXISTS', `${DEFAULT_PREFIX}breakers`, 'backup#def')).toBe(':1\r\n');
    const again = await run(['--config', config, 'breaker', 'reset', 'down', '--state', shared.url]);
    expect(again.stdout).toBe(`the breaker of down: no record in redis://127.0.0.1:${shared.port}, nothing to reset\n`);
  });

  it('an unreachable Redis exits 1 with one line; a bad URL exits 2; neither shows the password', async () => {
    const port = await freePort();
    const down = await run(['breaker', 'show', '--state', `redis://:pw-for-cli@127.0.0.1:${port}`]);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`llm-fallback: --state redis://127.0.0.1:${port}: cannot connect (ECONNREFUSED) (run with --debug for details)\n`);
    const bad = await run(['breaker', 'reset', '--state', 'redis://:pw-for-cli@redis.example.com']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^--state redis:\/\/redis\.example\.com: a password would travel in clear text/);
    const memory = await run(['breaker', 'show', '--state', 'memory']);
    expect(memory.code).toBe(2);
    expect(memory.stderr).toMatch(/^--state memory: a memory store lives inside one process/);
    expect(down.stderr + bad.stderr).not.toContain('pw-for-cli');
  });
});

describe('a password from the environment', () => {
  it("${VAR} in --state is put in from the environment, percent-encoded in the user:password part, so the password stays off the command line", async () => {
    const secret = 'p/a@ss:w0rd-from-env'; // '/', '@' and ':' would otherwise split the URL elsewhere
    const own = await redis(['--requirepass', secret]);
    const url = `redis://:\${LLMF_TEST_REDIS_PASSWORD}@127.0.0.1:${own.port}`;
    const ok = await run(['breaker', 'show', '--state', url], { env: { LLMF_TEST_REDIS_PASSWORD: secret } });
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe(`0 breaker records in redis://127.0.0.1:${own.port}\n`);
    expect(ok.code).toBe(0);
    const cleared = await run(['cache', 'clear', '--state', url], { env: { LLMF_TEST_REDIS_PASSWORD: secret } });
    expect(cleared.code).toBe(0);
    const wrong = await run(['breaker', 'show', '--state', url], { env: { LLMF_TEST_REDIS_PASSWORD: `${secret}-not` } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(new RegExp(`^llm-fallback: --state redis://127\\.0\\.0\\.1:${own.port}: cannot connect \\(WRONGPASS`));
    expect(wrong.stderr).not.toContain('w0rd-from-env');
    const unset = await run(['breaker', 'show', '--state', url], { env: { LLMF_TEST_REDIS_PASSWORD: undefined } });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toBe(`--state redis://127.0.0.1:${own.port}: \${LLMF_TEST_REDIS_PASSWORD} is not set; export it, or give the URL without it\n`);
  });
});

describe('llm-fallback breaker and cache commands against a Redis that refuses them', () => {
  it('an ACL user without rights (NOPERM): exit 1, one line naming the Redis once, never the password', async () => {
    const own = await redis();
    expect(await raw(own.port, 'ACL', 'SETUSER', 'nobody', 'on', '>nobody-pass-1234', '~*', '+@connection')).toBe('+OK\r\n');
    const url = `redis://nobody:nobody-pass-1234@127.0.0.1:${own.port}`;
    const where = `redis://127.0.0.1:${own.port}`;
    for (const [args, start, command] of [
      [['breaker', 'show'], `breaker show: cannot read ${where}`, 'hgetall'],
      [['breaker', 'reset'], `breaker reset: nothing was changed in ${where}`, 'hgetall'],
      [['cache', 'clear'], `cache clear: cannot clear ${where}`, 'scan'],
    ] as const) {
      const r = await run([...args, '--state', url]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`llm-fallback: ${start}: NOPERM this user has no permissions to run the '${command}' command (run with --debug for details)\n`);
    }
  });
});

describe('llm-fallback cache clear --state', () => {
  it("removes the answers under its prefix only: another prefix's answers, its breakers and other applications' keys stay", async () => {
    const p = `cc${process.pid}*[x]:`; // glob characters in the prefix match only themselves
    const s = await replica(shared.url, p);
    await s.cache.put('k1', { content: 'one', provider: 'a', model: 'm', usage: null });
    await s.cache.put('k2', { content: 'two', provider: 'a', model: 'm', usage: null });
    await s.breakers.failure('k', 'prov', 'server', undefined);
    const kept = [`cc${process.pid}x:answer:k3`, `other-app:answer:k4`, `other-app:key`, `${p}answer`];
    for (const k of kept) await raw(shared.port, 'SET', k, 'v');
    const url = `${shared.url}?prefix=${encodeURIComponent(p)}`;
    const r = await run(['cache', 'clear', '--state', url]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`removed 2 cached answers from redis://127.0.0.1:${shared.port} (keys ${p}answer:*)\n`);
    expect(r.code).toBe(0);
    for (const k of ['k1', 'k2']) expect(await raw(shared.port, 'EXISTS', `${p}answer:${k}`)).toBe(':0\r\n');
    for (const k of kept) expect(await raw(shared.port, 'EXISTS', k)).toBe(':1\r\n');
    expect(await raw(shared.port, 'HEXISTS', `${p}breakers`, 'k')).toBe(':1\r\n');
    // the breakers of that prefix, named as such: another deployment's are elsewhere in the same Redis
    const shown = await run(['breaker', 'show', '--state', url]);
    expect(shown.stdout).toMatch(new RegExp(`^1 breaker record in redis://127\\.0\\.0\\.1:${shared.port} \\(prefix cc${process.pid}\\*\\[x\\]:\\):\n  prov  closed \\(1 failed\\)  \\(k\\)\n$`));
    const again = await run(['cache', 'clear', '--state', url]);
    expect(again.stdout).toBe(`removed 0 cached answers from redis://127.0.0.1:${shared.port} (keys ${p}answer:*)\n`);
  });

  it('an unreachable Redis exits 1 with one line, never the password; memory is a usage error', async () => {
    const port = await freePort();
    const down = await run(['cache', 'clear', '--state', `redis://:pw-for-cli@127.0.0.1:${port}`]);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`llm-fallback: --state redis://127.0.0.1:${port}: cannot connect (ECONNREFUSED) (run with --debug for details)\n`);
    expect(down.stdout).toBe('');
    const memory = await run(['cache', 'clear', '--state', 'memory']);
    expect(memory.code).toBe(2);
    expect(memory.stderr).toMatch(/^--state memory: a memory store lives inside one process/);
  });

  it('a value that is not a store is a usage error listing what these commands take (memory is not one of them)', async () => {
    for (const cmd of [['cache', 'clear'], ['breaker', 'show'], ['breaker', 'reset']]) {
      const r = await run([...cmd, '--state', 'foo']);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('--state foo: not a state store; use file, redis://[:password@]host[:port][/db] or rediss://… (TLS)\n');
    }
  });
});

describe('the README', () => {
  it("Kubernetes example: the gateway's --state names the Redis Service of the same manifest, and is a URL openStores accepts", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const block = [...readme.matchAll(/```yml\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => /kind: Deployment/.test(b));
    expect(block).toBeDefined();
    const docs = parseAllDocuments(block!).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, any> });
    expect(docs.every((d) => d && typeof d.kind === 'string')).toBe(true);
    const gateway = docs.find((d) => d.kind === 'Deployment' && d.spec.template.spec.containers[0].args?.[0] === 'serve')!;
    const args: string[] = gateway.spec.template.spec.containers[0].args;
    const url = args[args.indexOf('--state') + 1];
    const target = parseRedisUrl(url);
    const host = new URL(url).hostname;
    expect(docs.some((d) => d.kind === 'Service' && d.metadata.name === host && d.spec.ports[0].port === Number(new URL(url).port))).toBe(true);
    expect(target.shown).toBe(url);
    expect(gateway.spec.replicas).toBeGreaterThan(1);
  });
});

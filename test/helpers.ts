import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll } from 'vitest';
import { providerSpec, type MockProviderSpec } from '../src/mock/profile.js';
import { startMock, type MockServer } from '../src/mock/server.js';
import { createAdapter } from '../src/providers/index.js';
import { serverAddress } from '../src/providers/handle.js';
import type { ProviderSettings } from '../src/providers/http-adapter.js';
import type { ChatRequest, ProviderAdapter, ProviderEvent } from '../src/providers/types.js';
import type { ChainProvider } from '../src/chain/chain.js';

/** Starts the emulator on 127.0.0.1, port 0, with the given providers; closed after the file's tests. */
export async function emulator(providers: Record<string, Parameters<typeof providerSpec>[0]>, seed = 7): Promise<MockServer> {
  const specs = Object.fromEntries(Object.entries(providers).map(([k, v]) => [k, providerSpec(v)]));
  const server = await startMock({ profile: { seed, providers: specs } });
  afterAll(() => server.close());
  return server;
}

export function adapterFor(server: MockServer, name: string, extra: Partial<ProviderSettings> = {}): ProviderAdapter {
  const spec = server.profile.providers[name];
  const adapter = createAdapter({
    name,
    api: spec.dialect === 'anthropic' ? 'anthropic' : 'openai',
    baseUrl: server.baseUrl(name),
    model: spec.model,
    headers: {},
    params: {},
    timeouts: { connectMs: 2000, firstTokenMs: 10_000, idleMs: 10_000, totalMs: 20_000 },
    ...extra,
  });
  afterAll(() => adapter.close());
  return adapter;
}

/** The chain tests' clocks: short enough that a stalled provider costs a test little. */
export const CHAIN_TEST_TIMEOUTS = { connect: 1000, firstToken: 2000, idle: 1000, total: 10_000 };

/**
 * Chain members over the emulated providers `names` of `server`, in order. `faults` sends a provider's
 * requests with an x-mock-fault header (its fault on every request); `over` replaces any field;
 * `breakerKey` names each provider's breaker (default: unique per call, so tests do not share state).
 * No hook is registered: tests call this inside `it`, where a hook would never run.
 */
export function chainProviders(
  server: MockServer,
  names: string[],
  opts: { faults?: Record<string, object>; over?: Record<string, Partial<ChainProvider>>; breakerKey?: (name: string) => string } = {},
): ChainProvider[] {
  return names.map((name) => {
    const spec = server.profile.providers[name];
    const fault = opts.faults?.[name];
    return {
      name,
      model: spec.model,
      adapter: createAdapter({ name, api: spec.dialect === 'anthropic' ? 'anthropic' : 'openai', baseUrl: server.baseUrl(name), model: spec.model, headers: fault ? { 'x-mock-fault': JSON.stringify(fault) } : {}, params: {}, timeouts: {} }),
      price: { input: 1, cachedInput: 0.5, output: 2, pricedAt: '2026-11-24' },
      timeouts: CHAIN_TEST_TIMEOUTS,
      breakerKey: opts.breakerKey?.(name) ?? `test:${name}:${Math.random()}`,
      server: serverAddress(server.baseUrl(name)),
      ...opts.over?.[name],
    };
  });
}

export const ask = (text = 'Explain the CAP theorem briefly.', over: Partial<ChatRequest> = {}): ChatRequest => ({
  messages: [{ role: 'user', content: text }],
  stream: true,
  ...over,
});

export async function collect(adapter: ProviderAdapter, req: ChatRequest): Promise<ProviderEvent[]> {
  const out: ProviderEvent[] = [];
  for await (const ev of adapter.stream(req)) out.push(ev);
  return out;
}

export function textOf(events: ProviderEvent[], type: 'content_delta' | 'reasoning_delta' = 'content_delta'): string {
  return events.map((e) => (e.type === type ? e.text : '')).join('');
}

export function only<T extends ProviderEvent['type']>(events: ProviderEvent[], type: T): Extract<ProviderEvent, { type: T }>[] {
  return events.filter((e) => e.type === type) as Extract<ProviderEvent, { type: T }>[];
}

export function last(events: ProviderEvent[]): ProviderEvent {
  return events[events.length - 1];
}

export function errorOf(events: ProviderEvent[]) {
  const ev = last(events);
  if (ev.type !== 'error') throw new Error(`expected the stream to end with an error, got ${ev.type}`);
  return ev.error;
}

/**
 * A loopback port nothing listens on (bound, then closed): for a server a test starts itself, or a refused
 * connection. It is drawn from below the kernel's ephemeral range: a port a listen(0) probe was given and let
 * go of goes back to that range, where the next server started on port 0 (another test file's emulator, in
 * parallel) can get it within the second and answer a connection that was to be refused (first-use.test.ts
 * once met an emulator's 404 there). Below the range, only a server asking for that very port takes it.
 */
export async function freePort(): Promise<number> {
  let low = 32_768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // not Linux: the usual low end of the range
  }
  const top = Math.min(low, 32_768);
  const bottom = Math.max(1024, top - 12_000);
  for (let tries = 0; tries < 50; tries++) {
    const port = bottom + Math.floor(Math.random() * (top - bottom));
    const probe = createNetServer();
    const free = await new Promise<boolean>((r) => {
      probe.once('error', () => r(false));
      probe.listen(port, '127.0.0.1', () => r(true));
    });
    if (free) {
      await new Promise<void>((r) => probe.close(() => r()));
      return port;
    }
  }
  throw new Error(`freePort: no free port from ${bottom} to ${top}`);
}

/**
 * A TCP relay on loopback in front of `target` (an emulator's base URL), counting the bytes it passed from
 * the server to the client. It forwards with pipe(), so it reads from the server only as fast as the client
 * takes: a client that stops reading stops the count, and the server's writes stall behind it. Closed after
 * the file's tests.
 */
export async function countingRelay(target: string): Promise<{ url: string; bytes: () => number }> {
  const to = new URL(target);
  let bytes = 0;
  const sockets = new Set<Socket>();
  const server = createNetServer((client) => {
    const upstream = netConnect(Number(to.port), to.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {}).on('close', () => sockets.delete(s));
    }
    upstream.on('data', (d: Buffer) => (bytes += d.length));
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  afterAll(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const url = new URL(target);
  url.port = String((server.address() as AddressInfo).port);
  return { url: url.toString().replace(/\/$/, ''), bytes: () => bytes };
}

/** A loopback URL on which nothing listens, for "connection refused" tests (see freePort). */
export async function refusedUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}/v1`;
}

/**
 * Resolves once `condition` holds, polling every 20 ms; throws naming `what` after `ms`. A fixed sleep
 * instead bets on how fast a loaded machine gets there.
 */
export async function until(condition: () => boolean | Promise<boolean>, what = 'the condition', ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !(await condition()); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > end) throw new Error(`${what}: not met within ${ms} ms`);
  }
}

/**
 * Resolves with `count()` once it has stopped changing: the same across two readings 250 ms apart (a stream
 * whose sender stalled). Throws naming `what` after `ms`.
 */
export async function untilSettled(count: () => number, what: string, ms = 20_000): Promise<number> {
  let last = -1;
  await until(async () => {
    const now = count();
    const still = now === last;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 250));
    return still && now === count();
  }, what, ms);
  return count();
}


/** Calls `call` one after another until it throws, at most `bound` times: how many returned, and what it threw (undefined if none did). */
export async function untilThrows(call: () => Promise<unknown>, bound: number): Promise<{ returned: number; thrown: unknown }> {
  for (let returned = 0; returned < bound; returned++) {
    try {
      await call();
    } catch (thrown) {
      return { returned, thrown };
    }
  }
  return { returned: bound, thrown: undefined };
}

/**
 * A loopback server (127.0.0.1, port 0) that hands each request, its body read, to the handler named by the
 * first path segment (`/<name>/v1/...`), with how many requests that name has had (1 for the first): for
 * upstreams that misbehave in ways the emulator has no fault for. Closed after the file's tests.
 */
export async function routeServer(routes: Record<string, (res: ServerResponse, n: number, req: IncomingMessage) => void>): Promise<{ url: (name: string) => string; hits: Record<string, number> }> {
  const hits: Record<string, number> = {};
  const server = createHttpServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '').split('/')[1] ?? '');
    req.resume();
    req.on('end', () => {
      const route = routes[name];
      if (!route) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no such route"}}');
      hits[name] = (hits[name] ?? 0) + 1;
      route(res, hits[name], req);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const port = (server.address() as AddressInfo).port;
  return { url: (name) => `http://127.0.0.1:${port}/${encodeURIComponent(name)}/v1`, hits };
}

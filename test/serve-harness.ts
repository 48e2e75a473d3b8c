import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll } from 'vitest';
import type { StreamCommit } from '../src/config/types.js';
import { SERVE_DEFAULTS } from '../src/defaults.js';
import type { MockServer } from '../src/mock/server.js';
import { refusedUrl } from './helpers.js';
import { createRouter, type Router } from '../src/router.js';
import { messages } from '../src/serve/anthropic.js';
import type { CallRecord, EndpointContext, EndpointHandler } from '../src/serve/context.js';
import { sendError } from '../src/serve/errors.js';
import { chatCompletions } from '../src/serve/openai.js';

/*
 * A plain node:http server on 127.0.0.1:0 that routes POST /v1/chat/completions and /v1/messages to the
 * dialect handlers with a real Router: the tests' stand-in for the gateway's server (src/serve/server.ts),
 * with only what the handlers need from it: the parsed body, an AbortSignal that fires when the client
 * goes away, the stream commit of a route, and a record of every call.
 */
export interface Harness {
  url: string;
  /** Every observe() call, in order. */
  calls: CallRecord[];
  /** Changes the stream commit for the following requests (default: the route's chain setting over SERVE_DEFAULTS). */
  setCommit(c: StreamCommit | undefined): void;
  close(): Promise<void>;
}

const ROUTES: Record<string, [EndpointHandler, 'openai' | 'anthropic']> = {
  '/v1/chat/completions': [chatCompletions, 'openai'],
  '/v1/messages': [messages, 'anthropic'],
};

export async function startHarness(router: Router): Promise<Harness> {
  const calls: CallRecord[] = [];
  let commitOverride: StreamCommit | undefined;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const route = ROUTES[req.url ?? ''];
    if (req.method !== 'POST' || !route) {
      res.writeHead(404).end();
      return;
    }
    const [handler, dialect] = route;
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(parts).toString('utf8'));
      } catch {
        return sendError(res, dialect, { status: 400, message: 'the body is not valid JSON' });
      }
      const controller = new AbortController();
      // The client went away before the response was complete.
      res.on('close', () => {
        if (!res.writableFinished) controller.abort();
      });
      const ctx: EndpointContext = {
        router,
        signal: controller.signal,
        abort: () => controller.abort(),
        commit: (name) => commitOverride ?? { ...SERVE_DEFAULTS.streamCommit, ...router.config.serve.streamCommit, ...router.config.chains.get(name)?.streamCommit },
        observe: (c) => calls.push(c),
      };
      handler(body, req, res, ctx).catch((e: unknown) => sendError(res, dialect, { status: 500, message: String(e) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    setCommit: (c) => (commitOverride = c),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A router over emulated providers (`emulator: name`) and providers whose port refuses connections
 * (`emulator: null`), with the given chains; no retries and a breaker that never opens unless asked, so
 * each test sees its own faults only. Closed, with the harness, after the file's tests.
 */
export async function gateway(
  server: MockServer,
  providers: Record<string, string | null>,
  chains: Record<string, unknown>,
  opts: { defaults?: Record<string, unknown>; over?: Record<string, Record<string, unknown>> } = {},
): Promise<{ router: Router; h: Harness }> {
  const ps: Record<string, unknown> = {};
  for (const [name, emulated] of Object.entries(providers)) {
    const spec = emulated === null ? undefined : server.profile.providers[emulated];
    ps[name] = {
      api: spec?.dialect === 'anthropic' ? 'anthropic' : 'openai',
      base_url: spec ? server.baseUrl(emulated!) : await refusedUrl(),
      model: spec?.model ?? `${name}-model`,
      price: { input: 1, cached_input: 0.5, output: 2, priced_at: '2026-11-01' },
      ...opts.over?.[name],
    };
  }
  const router = await createRouter({
    config: { defaults: { retries: 0, breaker_failures: 1000, timeouts: { connect: '2s', first_token: '10s', idle: '5s', total: '20s' }, ...opts.defaults }, providers: ps, chains },
    who: 'serve',
  });
  const h = await startHarness(router);
  afterAll(async () => {
    await h.close();
    await router.close();
  });
  return { router, h };
}

/** Reads an SDK stream to its end or its error: the items, the text they carry, and what it threw (if anything). */
export async function collect<T>(stream: AsyncIterable<T>, textOf: (item: T) => string): Promise<{ text: string; items: T[]; error?: unknown }> {
  const items: T[] = [];
  let text = '';
  try {
    for await (const item of stream) {
      items.push(item);
      text += textOf(item);
    }
  } catch (error) {
    return { text, items, error };
  }
  return { text, items };
}

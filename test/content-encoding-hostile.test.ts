import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, constants, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { BodyDecoder } from '../src/providers/content-coding.js';
import { createAdapter } from '../src/providers/index.js';
import type { ProviderSettings } from '../src/providers/http-adapter.js';
import type { ProviderAdapter, ProviderEvent } from '../src/providers/types.js';
import { now } from '../src/util/clock.js';
import { ask, collect, errorOf, last, only, textOf } from './helpers.js';
import { FIXTURES, rawBytes } from './wire-fixtures.js';

/*
 * Compressed answers from a hostile server or a broken proxy: bombs, floods, a reader that holds back, list
 * forms of Content-Encoding, stamps of tokens whose bytes straddle two coded chunks, echoed keys, connection
 * reuse. The servers are Node servers written here (hand-made answers, Node's zlib the codec; a coded body's
 * meaning is checked against curl's --compressed where the two must agree), the stream is the recorded OpenAI
 * SSE (GoModel recording). test/content-encoding.test.ts has the real nginx and Python brotli cases.
 */

const CURL = '/usr/bin/curl';
if (!existsSync(CURL)) throw new Error(`content-encoding-hostile tests need ${CURL} (Debian package curl; .ci/run installs it)`);
const OPENAI_SSE = FIXTURES.find((f) => f.file === 'openai/gomodel-gpt-4o-mini.sse')!;
const sse = rawBytes(OPENAI_SSE);
const KEY = 'AbCdEfGhIjKlMnOpQrStUv0123';

type Answer = (req: IncomingMessage, res: ServerResponse) => void;

/** A server answering each request with the handler its first path segment names; it counts connections. */
async function scripted(routes: Record<string, Answer>) {
  let connections = 0;
  let closed = 0;
  const s: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => routes[(req.url ?? '').split('/')[1]](req, res));
  });
  s.on('connection', (c) => {
    connections++;
    c.on('close', () => closed++);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  afterAll(() => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r()))));
  const base = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  return { base, at: (name: string) => `${base}/${name}/v1`, connections: () => connections, closed: () => closed };
}

const adapters: ProviderAdapter[] = [];
afterAll(async () => {
  await Promise.all(adapters.map((a) => a.close()));
});
function adapter(baseUrl: string, over: Partial<ProviderSettings> = {}): ProviderAdapter {
  const a = createAdapter({
    name: 'p',
    api: 'openai',
    baseUrl,
    model: 'm',
    apiKey: KEY,
    headers: {},
    params: {},
    timeouts: { connectMs: 2000, firstTokenMs: 5000, idleMs: 5000, totalMs: 10_000 },
    ...over,
  });
  adapters.push(a);
  return a;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sseHead = { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' };
const chunkEvent = (content: string, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: finish ? {} : { content }, finish_reason: finish }] })}\n\n`;

describe('Content-Encoding as a list (RFC 9110 5.6.1, 8.4), read as curl reads it', async () => {
  const forms = ['Identity, ', 'identity, gzip', 'gzip, identity', 'gzip,', ' , GZIP'];
  const s = await scripted(
    Object.fromEntries(
      forms.map((coding, i) => [
        `f${i}`,
        (_q: IncomingMessage, res: ServerResponse) => {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': coding });
          res.end(/gzip/i.test(coding) ? gzipSync(sse) : sse);
        },
      ]),
    ),
  );

  it.each(forms.map((coding, i) => [coding, i]))('%j decodes to the recorded answer, the bytes curl --compressed gives', async (_coding, i) => {
    // Asynchronously: the server answering curl runs in this process.
    const curled = await promisify(execFile)(CURL, ['-s', '--compressed', '-X', 'POST', `${s.at(`f${i}`)}/chat/completions`], { encoding: 'buffer' });
    expect(curled.stdout.equals(sse)).toBe(true);
    const events = await collect(adapter(s.at(`f${i}`)), ask());
    expect(textOf(events)).toBe(OPENAI_SSE.expect.content);
    expect(last(events)).toMatchObject({ type: 'finish', reason: 'stop' });
  });
});

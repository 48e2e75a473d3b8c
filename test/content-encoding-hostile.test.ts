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

describe('resource bounds', async () => {
  // 10,000 events of 4,000 characters: 40 MB of SSE in about 120 KB of gzip.
  const tokens = Array.from({ length: 10_000 }, () => chunkEvent('a'.repeat(4000))).join('');
  const bigStream = gzipSync(tokens + chunkEvent('', 'stop') + 'data: [DONE]\n\n');
  const emptyMember = gzipSync(Buffer.alloc(0));
  const floodBlock = Buffer.concat(Array.from({ length: 4096 }, () => emptyMember));
  let floodSent = 0;
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20), { level: constants.Z_BEST_COMPRESSION });
  const s = await scripted({
    big: (_q, res) => {
      res.writeHead(200, sseHead);
      res.end(bigStream);
    },
    // Empty gzip members back to back (legal: RFC 1952 2.2), 20 bytes each, decoding to nothing, without end.
    flood: (_q, res) => {
      res.writeHead(200, sseHead);
      floodSent = 0;
      let open = true;
      res.on('close', () => (open = false));
      const pump = () => {
        // Bounded: the client is expected to stop it long before 2 GB.
        while (open && floodSent < 2e9) {
          floodSent += floodBlock.length;
          if (!res.write(floodBlock)) return void res.once('drain', pump);
        }
      };
      pump();
    },
    bomb429: (_q, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(bomb);
    },
    // Brotli's large-window mode (window up to 1 GiB, not part of RFC 7932's br): Node's encoder with BROTLI_PARAM_LARGE_WINDOW.
    largeWindow: (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'br' });
      res.end(brotliCompressSync(Buffer.alloc(1 << 20, 0x41), { params: { [constants.BROTLI_PARAM_LARGE_WINDOW]: 1, [constants.BROTLI_PARAM_LGWIN]: 30 } }));
    },
  });

  it('a reader holding back (the chain\'s ready) holds decoded output at the exchange\'s high-water mark, not the whole 40 MB; the answer then reads whole', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let asked = 0;
    const before = process.memoryUsage().arrayBuffers;
    const events = collect(adapter(s.at('big'), { maxResponseBytes: 64 * 1024 * 1024 }), ask('hi', { ready: () => (asked++ === 0 ? held : undefined) }));
    await sleep(1000);
    // What sits decoded while the reader holds back: the 1 MiB queue and a decoder buffer, not the body.
    const whileHeld = process.memoryUsage().arrayBuffers - before;
    release();
    const got = await events;
    expect(whileHeld).toBeLessThan(8 * 1024 * 1024);
    expect(last(got)).toMatchObject({ type: 'finish', reason: 'stop' });
    expect(textOf(got).length).toBe(40_000_000);
  }, 30_000);

  it('a flood of empty gzip members stops at max_response_bytes counted as sent, not at the first-token clock', async () => {
    const t0 = Date.now();
    const err = errorOf(await collect(adapter(s.at('flood'), { maxResponseBytes: 1024 * 1024 }), ask()));
    expect(err.errorClass).toBe('malformed_response');
    expect(err.isRetryable).toBe(false);
    expect(err.message).toBe('p: response larger than 1048576 bytes as sent, before decoding its content-encoding gzip');
    expect(Date.now() - t0).toBeLessThan(2000);
    await sleep(50);
    // The server could push only what fits in the socket buffers past the cap.
    expect(floodSent).toBeLessThan(16 * 1024 * 1024);
  });

  it('a 429 whose gzip body is a 64 MiB bomb keeps its class, quickly, in bounded memory; so does the model list', async () => {
    const t0 = Date.now();
    const rss = process.memoryUsage().rss;
    const err = errorOf(await collect(adapter(s.at('bomb429')), ask()));
    expect(err.errorClass).toBe('rate_limit');
    expect(err.message).toBe('p: HTTP 429: (empty body)');
    const list = await adapter(s.at('bomb429')).listModels(5000).catch((e: { errorClass: string }) => e);
    expect(list).toMatchObject({ errorClass: 'rate_limit' });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(48 * 1024 * 1024);
  });

  it("brotli's large-window mode is refused in one line, without a gigabyte window", async () => {
    const rss = process.memoryUsage().rss;
    const err = errorOf(await collect(adapter(s.at('largeWindow')), ask('hi', { stream: false })));
    expect(err.errorClass).toBe('malformed_response');
    expect(err.message).toBe('p: the br-coded body does not decode (Decompression failed); the server or a proxy in front of it sent a broken or cut-off compressed body');
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 * 1024);
  });
});

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

describe('time stamps of decoded chunks', async () => {
  // Eighty token events compressed whole (one deflate block, no flush): a cut of the coded bytes falls inside an event.
  const events = Array.from({ length: 80 }, (_, i) => chunkEvent(`tok${i} `)).join('');
  const body = Buffer.from(events + chunkEvent('', 'stop') + 'data: [DONE]\n\n');
  const coded = deflateSync(body);
  const cut = Math.floor(coded.length * 0.6);
  // What the first part decodes to on its own (zlib's inflate, told to hand on all it can).
  const decodedFirst = (await import('node:zlib')).inflateSync(coded.subarray(0, cut), { finishFlush: constants.Z_SYNC_FLUSH }).toString();
  const completeInFirst = decodedFirst.split('\n\n').length - 1;
  let secondSentAt = 0;
  const s = await scripted({
    split: (_q, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'deflate' });
      res.write(coded.subarray(0, cut));
      setTimeout(() => {
        secondSentAt = now();
        res.end(coded.subarray(cut));
      }, 300);
    },
  });

  it("a token is stamped with the arrival of the coded bytes that completed it, not the earlier chunk's", async () => {
    expect(completeInFirst).toBeGreaterThan(5);
    expect(completeInFirst).toBeLessThan(79);
    const got = await collect(adapter(s.at('split')), ask());
    const deltas = only(got, 'content_delta');
    expect(deltas.map((d) => d.text).join('')).toBe(Array.from({ length: 80 }, (_, i) => `tok${i} `).join(''));
    for (const [i, d] of deltas.entries()) {
      if (i < completeInFirst) expect(d.t).toBeLessThan(secondSentAt);
      else expect(d.t).toBeGreaterThanOrEqual(secondSentAt);
    }
  });

  it('output the decoder made from a chunk, held while the reader was behind, keeps that chunk\'s time when a later chunk is written meanwhile', async () => {
    // 24 KiB out of the first member: zlib makes 16 KiB, the reader pauses, the other 8 KiB waits in the decoder.
    const first = gzipSync(Buffer.alloc(24 * 1024, 0x61));
    const second = gzipSync(Buffer.alloc(1000, 0x62));
    const got: { bytes: number; t: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      const decoder: BodyDecoder = new BodyDecoder('gzip', 1 << 30, {
        data: (chunk, t) => {
          got.push({ bytes: chunk.length, t });
          if (got.length === 1) decoder.pause();
        },
        end: resolve,
        error: reject,
      });
      void (async () => {
        decoder.write(first, 1);
        await sleep(50);
        decoder.write(second, 2);
        await sleep(50);
        decoder.resume();
        decoder.end();
      })();
    });
    expect(got).toEqual([
      { bytes: 16 * 1024, t: 1 },
      { bytes: 8 * 1024, t: 1 },
      { bytes: 1000, t: 2 },
    ]);
  });
});

describe('echoed keys and terminal controls in a decoded error body', async () => {
  // An error body echoing the key, with an escape sequence and a bidi override: the same bytes plain and gzipped,
  // the gzip one in two members split inside the key and past zlib's 16 KiB output chunk.
  const text = JSON.stringify({ error: { message: `${'x'.repeat(20_000)} bad key ${KEY} \u001b[31mred\u001b[0m \u202egnp.exe`, type: 'invalid_request_error' } });
  const at = text.indexOf(KEY) + 10;
  const body = Buffer.from(text);
  const s = await scripted({
    plain: (_q, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(body);
    },
    gz: (_q, res) => {
      res.writeHead(401, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(Buffer.concat([gzipSync(body.subarray(0, at)), gzipSync(body.subarray(at))]));
    },
  });

  it('is redacted and stripped as the identity body is', async () => {
    const plain = errorOf(await collect(adapter(s.at('plain')), ask()));
    const gz = errorOf(await collect(adapter(s.at('gz')), ask()));
    expect(gz.errorClass).toBe('auth');
    expect(gz.message).toBe(plain.message);
    expect(gz.message).toContain('bad key [REDACTED]');
    expect(gz.message).not.toContain(KEY.slice(0, 10));
    expect(gz.message).not.toContain(KEY.slice(10));
    expect(gz.message).not.toMatch(/[\u001b\u202e]/);
  });
});

describe('connection reuse after decoded answers (a server counting connections)', async () => {
  const gz = gzipSync(sse);
  const answers: Record<string, Answer> = {
    ok: (_q, res) => {
      res.writeHead(200, sseHead);
      res.end(gz);
    },
    // A zstd 500: the status says what happened, the body is drained, the connection stays usable.
    zstd500: (_q, res) => {
      res.writeHead(500, { 'content-type': 'application/json', 'content-encoding': 'zstd' });
      res.end(Buffer.alloc(5000, 1));
    },
    // Tokens, then bytes that do not decode, and the response left open: the client must close the connection.
    broken: (_q, res) => {
      res.writeHead(200, sseHead);
      res.write(gzipSync(sse.subarray(0, 800)).subarray(0, -8)); // a whole deflate stream without its gzip trailer
      setTimeout(() => res.write(Buffer.from('not the gzip trailer, and more')), 50);
    },
  };
  // One adapter (one connection pool); the server answers the requests in the order given.
  const script: string[] = [];
  const s = await scripted({ v1: (req, res) => answers[script.shift()!](req, res) });
  const shared = adapter(`${s.base}/v1`);
  const next = async (name: string) => {
    script.push(name);
    return collect(shared, ask());
  };

  it('reused after a complete answer and after a drained undecodable error body; closed after a body that broke mid-way', async () => {
    expect(last(await next('ok'))).toMatchObject({ type: 'finish' });
    expect(last(await next('ok'))).toMatchObject({ type: 'finish' });
    expect(s.connections()).toBe(1);
    expect(errorOf(await next('zstd500')).errorClass).toBe('server');
    expect(last(await next('ok'))).toMatchObject({ type: 'finish' });
    expect(s.connections()).toBe(1);
    const t0 = Date.now();
    const broken = await next('broken');
    expect(Date.now() - t0).toBeLessThan(2000);
    // Tokens came, then the error: the answer is not passed off as complete.
    expect(textOf(broken).length).toBeGreaterThan(0);
    expect(only(broken, 'finish')).toEqual([]);
    expect(errorOf(broken).errorClass).toBe('malformed_response');
    expect(errorOf(broken).isRetryable).toBe(true);
    expect(errorOf(broken).message).toMatch(/^p: the gzip-coded body does not decode \(.+\); the server or a proxy in front of it sent a broken or cut-off compressed body$/);
    await sleep(50);
    expect(s.closed()).toBe(1);
    expect(last(await next('ok'))).toMatchObject({ type: 'finish' });
    expect(s.connections()).toBe(2);
  });
});

describe('framing around a gzip body (hand-made responses on a raw socket where HTTP framing matters)', async () => {
  const gz = gzipSync(sse);
  const raw = (head: string, parts: Buffer[], gapMs: number, close: boolean): Answer => (req) => {
    const socket = req.socket;
    socket.write(head);
    void (async () => {
      for (const p of parts) {
        socket.write(p);
        await sleep(gapMs);
      }
      if (close) socket.end();
    })();
  };
  const chunk = (b: Buffer) => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);
  const s = await scripted({
    // Chunked, the 10-byte gzip header split over three chunks sent 20 ms apart.
    splitHeader: raw('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n', [chunk(gz.subarray(0, 1)), chunk(gz.subarray(1, 5)), chunk(gz.subarray(5)), Buffer.from('0\r\n\r\n')], 20, false),
    // No length, no chunking: the body ends when the server closes.
    closeDelimited: raw('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-encoding: gzip\r\nconnection: close\r\n\r\n', [gz.subarray(0, 10), gz.subarray(10)], 20, true),
    empty200gz: (_q, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
      res.end();
    },
    empty200: (_q, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end();
    },
    e204gz: (_q, res) => {
      res.writeHead(204, { 'content-encoding': 'gzip' });
      res.end();
    },
    e204: (_q, res) => {
      res.writeHead(204);
      res.end();
    },
  });

  it.each(['splitHeader', 'closeDelimited'])('%s decodes to the recorded answer', async (name) => {
    const events = await collect(adapter(s.at(name)), ask());
    expect(textOf(events)).toBe(OPENAI_SSE.expect.content);
    expect(last(events)).toMatchObject({ type: 'finish', reason: 'stop' });
  });

  it.each([
    ['empty200gz', 'empty200'],
    ['e204gz', 'e204'],
  ])('%s, an empty body labelled gzip, ends as its unlabelled twin %s does', async (coded, plain) => {
    const a = errorOf(await collect(adapter(s.at(coded)), ask()));
    const b = errorOf(await collect(adapter(s.at(plain)), ask()));
    expect({ errorClass: a.errorClass, message: a.message }).toEqual({ errorClass: b.errorClass, message: b.message });
    expect(a.errorClass).toBe('incomplete_stream');
  });
});

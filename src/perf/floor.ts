import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { percentile } from '../bench/self-check.js';

/**
 * The machine's own floor for the accuracy matrix: what two bare Node processes, with none of bench's code,
 * measure in the same shape of exchange. A server in its own process answers each message `delayMs` after
 * it arrived; a client keeps `concurrency` connections busy (closed loop) and, per exchange, adds the
 * two one-way delays bench's error is made of — send to the server's arrival stamp, and the server's write
 * to the client's read stamp — both stamped by the rule bench uses (a run of socket reads shares the time
 * it began).
 *
 * Three servers: raw TCP (`tcp`: what the kernel and the scheduler cost, a process woken from idle on a
 * virtual machine), Node's own HTTP server answering at once (`http`: that plus node:http's work on a burst
 * of requests, which the emulator, a node:http server, pays before it can stamp the next ones), and the
 * same server streaming in the accuracy cells' shape (`stream`: a first SSE frame at once, the first token
 * `delayMs` after arrival, then `tokens − 1` more `itlMs` apart, each a chat-completion chunk of the
 * emulator's size, as the emulator sends them). Streaming multiplies the writes and reads a burst holds:
 * at 100 streams in lockstep each token is 100 writes at once on one side and 100 reads on the other.
 * None of them is any client's.
 */
export type FloorServer = 'tcp' | 'http' | 'stream';

/** The streamed floor's answer: the accuracy cells' (5 tokens 2 ms apart after the first). */
export interface StreamShape {
  tokens: number;
  itlMs: number;
}

const IO_NOW = `let began = 0;
const ioNow = () => { if (!began) { began = performance.now(); setImmediate(() => { began = 0; }); } return began; };`;

const streamServer = (delayMs: number, { tokens, itlMs }: StreamShape): string => `
const http = require('node:http');
${IO_NOW}
// A chat-completion chunk the size of the emulator's (about 300 bytes); the client finds token i by its text.
const frame = (i) => 'data: ' + JSON.stringify({ id: 'chatcmpl-floor', object: 'chat.completion.chunk', created: 1, model: 'floor', choices: [{ index: 0, delta: { content: 't' + i + ' ' }, logprobs: null, finish_reason: null }], service_tier: 'default', system_fingerprint: 'fp_floor', obfuscation: 'xxxx' }) + '\\n\\n';
const s = http.createServer((req, res) => {
  const arrived = ioNow();
  req.resume();
  const warm = !!req.headers['x-warm'];
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(frame(0));
  // Tokens on the planned schedule (a late timer shortens the next gap), as the emulator writes them.
  let at = arrived + (warm ? 0 : ${delayMs});
  let first = 0;
  let i = 1;
  const token = () => {
    res.write(frame(i));
    const wrote = performance.now();
    if (i === 1) first = wrote;
    if (i === ${tokens}) {
      res.end('data: ' + JSON.stringify({ stamps: [arrived, first, wrote].map((t) => performance.timeOrigin + t) }) + '\\n\\ndata: [DONE]\\n\\n');
      return;
    }
    i++;
    at += warm ? 0 : ${itlMs};
    setTimeout(token, Math.max(0, at - performance.now()));
  };
  setTimeout(token, Math.max(0, at - performance.now()));
});
s.on('connection', (c) => c.setNoDelay(true));
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

const server = (kind: FloorServer, delayMs: number, shape: StreamShape): string =>
  kind === 'stream'
    ? streamServer(delayMs, shape)
    : kind === 'tcp'
    ? `
const net = require('node:net');
${IO_NOW}
const s = net.createServer((c) => {
  c.setNoDelay(true);
  c.on('data', (d) => {
    const arrived = performance.timeOrigin + ioNow();
    setTimeout(() => c.write(JSON.stringify([arrived, performance.timeOrigin + performance.now()]) + '\\n'), d[0] === 0x77 ? 0 : ${delayMs});
  });
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`
    : `
const http = require('node:http');
${IO_NOW}
const s = http.createServer((req, res) => {
  const arrived = performance.timeOrigin + ioNow();
  req.resume();
  setTimeout(() => {
    const body = JSON.stringify([arrived, performance.timeOrigin + performance.now()]) + '\\n';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }, req.headers['x-warm'] ? 0 : ${delayMs});
});
s.on('connection', (c) => c.setNoDelay(true));
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

/** A chat request of bench's size, as the http floors' client sends it. */
const httpRequest = (extra: string, stream: boolean) => {
  const body = JSON.stringify({ model: 'floor', messages: [{ role: 'user', content: 'Explain the CAP theorem.' }], stream });
  return `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\naccept: ${stream ? 'text/event-stream' : 'application/json'}\r\n${extra}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
};
/** Exchanges answered at once before the measured ones: the server's code is compiled, as the emulator's is. */
export const WARM_EXCHANGES = 300;

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

/**
 * Percentiles of (arrival − send) + (read − write) per exchange, ms: with the write of the last token (for
 * `stream`; of the one answer otherwise), and in `ttft` with the write of the first.
 */
export interface Floor extends Percentiles {
  concurrency: number;
  exchanges: number;
  ttft: Percentiles;
}

export async function machineFloor(concurrency: number, exchanges: number, delayMs: number, kind: FloorServer = 'tcp', shape: StreamShape = { tokens: 5, itlMs: 2 }): Promise<Floor> {
  const child = spawn(process.execPath, ['-e', server(kind, delayMs, shape)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
      child.once('exit', (code) => reject(new Error(`floor server exited (${code})`)));
    });
    let began = 0;
    const ioNow = () => {
      if (!began) {
        began = performance.now();
        setImmediate(() => (began = 0));
      }
      return began;
    };
    const sockets = await Promise.all(
      Array.from({ length: concurrency }, () => new Promise<Socket>((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => resolve(s));
        s.setNoDelay(true);
        s.on('error', reject);
      })),
    );
    const firstToken = '"t1 "';
    const lastToken = `"t${shape.tokens} "`;
    const exchange = (count: number, payload: string): Promise<{ last: number[]; first: number[] }> => {
      const last: number[] = [];
      const first: number[] = [];
      let started = 0;
      return Promise.all(
        sockets.map(
          (s) =>
            new Promise<void>((resolve, reject) => {
              let sent = 0;
              let read = 0;
              let readFirst = 0;
              let readLast = 0;
              let pending = '';
              const onData = (d: Buffer) => {
                const at = performance.timeOrigin + ioNow();
                if (pending === '') read = at;
                pending += String(d);
                if (kind === 'stream') {
                  // The reads that brought the first and the last token; the answer ends with the chunked terminator.
                  if (!readFirst && pending.includes(firstToken)) readFirst = at;
                  if (!readLast && pending.includes(lastToken)) readLast = at;
                  if (!pending.endsWith('0\r\n\r\n')) return;
                  const [arrived, wroteFirst, wroteLast] = JSON.parse(/"stamps":(\[[^\]]*\])/.exec(pending)![1]) as [number, number, number];
                  first.push(arrived - sent + (readFirst - wroteFirst));
                  last.push(arrived - sent + (readLast - wroteLast));
                } else {
                  // One reply per exchange ending in a line (after the HTTP head for http): the read stamp is
                  // the one of the read that began it.
                  const from = kind === 'tcp' ? 0 : pending.indexOf('\r\n\r\n') + 4;
                  if (kind === 'http' && from < 4) return;
                  const eol = pending.indexOf('\n', from);
                  if (eol < 0) return;
                  const [arrived, wrote] = JSON.parse(pending.slice(from, eol)) as [number, number];
                  // One write carries the first byte and the last: both figures are the same exchange's error.
                  const error = arrived - sent + (read - wrote);
                  last.push(error);
                  first.push(error);
                }
                pending = '';
                readFirst = readLast = 0;
                next();
              };
              const next = () => {
                if (started >= count) {
                  s.off('data', onData);
                  s.off('error', reject);
                  return resolve();
                }
                started++;
                sent = performance.timeOrigin + performance.now();
                s.write(payload);
              };
              s.on('error', reject);
              s.on('data', onData);
              next();
            }),
        ),
      ).then(() => ({ last, first }));
    };
    const stream = kind === 'stream';
    await exchange(WARM_EXCHANGES, kind === 'tcp' ? `w${'x'.repeat(199)}` : httpRequest('x-warm: 1\r\n', stream));
    // Let the server settle before the first measured exchange, as bench's clock starts after its preparation.
    await new Promise((r) => setTimeout(r, 200));
    const { last, first } = await exchange(exchanges, kind === 'tcp' ? 'x'.repeat(200) : httpRequest('', stream));
    for (const s of sockets) s.destroy();
    // The nearest-rank rule bench's histograms follow, as the cells it is compared with.
    const at = (errors: number[]): Percentiles => {
      const p = (q: number) => Math.round(percentile(errors, q) * 100) / 100;
      return { p50: p(50), p95: p(95), p99: p(99) };
    };
    return { concurrency, exchanges: last.length, ...at(last), ttft: at(first) };
  } finally {
    child.kill();
  }
}

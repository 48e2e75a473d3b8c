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
 * Two servers: raw TCP (`tcp`: what the kernel and the scheduler cost, a process woken from idle on a
 * virtual machine) and Node's own HTTP server (`http`: that plus node:http's work on a burst of requests,
 * which the emulator, a node:http server, pays before it can stamp the next ones). Neither is any client's.
 */
export type FloorServer = 'tcp' | 'http';

const IO_NOW = `let began = 0;
const ioNow = () => { if (!began) { began = performance.now(); setImmediate(() => { began = 0; }); } return began; };`;

const server = (kind: FloorServer, delayMs: number): string =>
  kind === 'tcp'
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

/** A chat request of bench's size, as the http floor's client sends it. */
const BODY = JSON.stringify({ model: 'floor', messages: [{ role: 'user', content: 'Explain the CAP theorem.' }], stream: false });
const httpRequest = (extra: string) => `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\naccept: application/json\r\n${extra}content-length: ${Buffer.byteLength(BODY)}\r\n\r\n${BODY}`;
/** Exchanges answered at once before the measured ones: the server's code is compiled, as the emulator's is. */
export const WARM_EXCHANGES = 300;

export interface Floor {
  concurrency: number;
  exchanges: number;
  /** Percentiles of (arrival − send) + (read − write) per exchange, ms. */
  p50: number;
  p95: number;
  p99: number;
}

export async function machineFloor(concurrency: number, exchanges: number, delayMs: number, kind: FloorServer = 'tcp'): Promise<Floor> {
  const child = spawn(process.execPath, ['-e', server(kind, delayMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
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
    const exchange = (count: number, payload: string): Promise<number[]> => {
      const errors: number[] = [];
      let started = 0;
      return Promise.all(
        sockets.map(
          (s) =>
            new Promise<void>((resolve, reject) => {
              let sent = 0;
              let read = 0;
              let pending = '';
              const onData = (d: Buffer) => {
                if (pending === '') read = performance.timeOrigin + ioNow();
                pending += String(d);
                // One reply per exchange ending in a line (after the HTTP head for http): the read stamp is
                // the one of the read that began it.
                const from = kind === 'tcp' ? 0 : pending.indexOf('\r\n\r\n') + 4;
                if (kind === 'http' && from < 4) return;
                const eol = pending.indexOf('\n', from);
                if (eol < 0) return;
                const [arrived, wrote] = JSON.parse(pending.slice(from, eol)) as [number, number];
                pending = '';
                errors.push(arrived - sent + (read - wrote));
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
      ).then(() => errors);
    };
    await exchange(WARM_EXCHANGES, kind === 'tcp' ? `w${'x'.repeat(199)}` : httpRequest('x-warm: 1\r\n'));
    // Let the server settle before the first measured exchange, as bench's clock starts after its preparation.
    await new Promise((r) => setTimeout(r, 200));
    const errors = await exchange(exchanges, kind === 'tcp' ? 'x'.repeat(200) : httpRequest(''));
    for (const s of sockets) s.destroy();
    // The nearest-rank rule bench's histograms follow, as the cells it is compared with.
    const at = (p: number) => Math.round(percentile(errors, p) * 100) / 100;
    return { concurrency, exchanges: errors.length, p50: at(50), p95: at(95), p99: at(99) };
  } finally {
    child.kill();
  }
}

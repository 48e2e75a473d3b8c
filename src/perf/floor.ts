import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';

/**
 * The machine's own floor for the accuracy matrix: what two bare Node processes, with none of bench's code,
 * measure in the same shape of exchange. A server in its own process answers each message `delayMs` after
 * it arrived; a client keeps `concurrency` connections busy (closed loop) and, per exchange, adds the
 * two one-way delays bench's error is made of — send to the server's arrival stamp, and the server's write
 * to the client's read stamp — both stamped by the rule bench uses (a run of socket reads shares the time
 * it began). Whatever this shows is the kernel's and the scheduler's (a process woken from idle on a
 * virtual machine), not any client's.
 */
const server = (delayMs: number): string => `
const net = require('node:net');
let began = 0;
const ioNow = () => { if (!began) { began = performance.now(); setImmediate(() => { began = 0; }); } return began; };
const s = net.createServer((c) => {
  c.setNoDelay(true);
  c.on('data', () => {
    const arrived = performance.timeOrigin + ioNow();
    setTimeout(() => c.write(JSON.stringify([arrived, performance.timeOrigin + performance.now()]) + '\\n'), ${delayMs});
  });
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

export interface Floor {
  concurrency: number;
  exchanges: number;
  /** Percentiles of (arrival − send) + (read − write) per exchange, ms. */
  p50: number;
  p95: number;
  p99: number;
}

export async function machineFloor(concurrency: number, exchanges: number, delayMs: number): Promise<Floor> {
  const child = spawn(process.execPath, ['-e', server(delayMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
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
    // Let the server take the connections up before the first exchange, as bench does before its clock.
    await new Promise((r) => setTimeout(r, 200));
    const errors: number[] = [];
    let started = 0;
    const payload = 'x'.repeat(200);
    await Promise.all(
      sockets.map(
        (s) =>
          new Promise<void>((resolve, reject) => {
            let sent = 0;
            let read = 0;
            let pending = '';
            const next = () => {
              if (started >= exchanges) {
                s.destroy();
                return resolve();
              }
              started++;
              sent = performance.timeOrigin + performance.now();
              s.write(payload);
            };
            s.on('error', reject);
            // One reply per exchange, a line each: the read stamp is the one of the read that began it.
            s.on('data', (d) => {
              if (pending === '') read = performance.timeOrigin + ioNow();
              pending += String(d);
              const eol = pending.indexOf('\n');
              if (eol < 0) return;
              const [arrived, wrote] = JSON.parse(pending.slice(0, eol)) as [number, number];
              pending = '';
              errors.push(arrived - sent + (read - wrote));
              next();
            });
            next();
          }),
      ),
    );
    errors.sort((a, b) => a - b);
    const at = (p: number) => Math.round(errors[Math.min(errors.length - 1, Math.max(0, Math.ceil((p / 100) * errors.length) - 1))] * 100) / 100;
    return { concurrency, exchanges: errors.length, p50: at(50), p95: at(95), p99: at(99) };
  } finally {
    child.kill();
  }
}

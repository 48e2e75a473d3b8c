import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { createAdapter } from '../src/providers/index.js';
import type { ProviderEvent } from '../src/providers/types.js';

/*
 * An event's time is when its bytes came off the network, not when the client got round to decoding it.
 * A real server on loopback (in this process, so it shares the client's clock) writes the first token to
 * every stream at a time it records; the client's consumer is made slow on purpose (it busy-waits on every
 * token, as a loaded client does), and each stamp is compared with the server's write.
 */

const STREAMS = 40;
/** The consumer's own work per token: 40 streams make 120 ms of it. */
const WORK_MS = 3;

const sse = (obj: unknown) => `data: ${JSON.stringify(obj)}\n\n`;
const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] });

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* the client's own work */
  }
}

/**
 * How long this process's main thread has waited for a CPU while ready to run (ms; Linux, /proc/self/schedstat's
 * run_delay; 0 where it cannot be read). A stamp taken late because the OS ran other processes is not the
 * client's doing: under CPU hogs one such wait reached 196 ms. The bounds below allow it, measured, and no
 * more: a client that decodes before it stamps is late by its own work, which this does not count.
 */
function runDelayMs(): number {
  try {
    return Number(readFileSync('/proc/self/schedstat', 'utf8').split(' ')[1]) / 1e6 || 0;
  } catch {
    return 0;
  }
}

let server: Server | undefined;
let child: ChildProcess | undefined;
let hog: { server: TcpServer; client: Socket; peer?: Socket } | undefined;
afterEach(async () => {
  child?.kill('SIGKILL');
  child = undefined;
  if (hog) {
    hog.client.destroy();
    hog.peer?.destroy();
    await new Promise<void>((resolve) => hog!.server.close(() => resolve()));
    hog = undefined;
  }
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** Holds every stream until all have arrived, then writes the first token to each as `write` says; returns the write times by stream. */
async function start(write: (responses: ServerResponse[], wroteAt: number[]) => void): Promise<{ url: string; wroteAt: number[] }> {
  const waiting: ServerResponse[] = [];
  const wroteAt: number[] = [];
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sse(chunk({ role: 'assistant', content: '' })));
      waiting.push(res);
      if (waiting.length === STREAMS) setTimeout(() => write(waiting, wroteAt), 20);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, wroteAt };
}

function finish(res: ServerResponse): void {
  res.end(sse(chunk({}, 'stop')) + 'data: [DONE]\n\n');
}

/** Runs `streams` streams with a consumer that works `workMs` on each token; returns each stream's first-token time, in order of the server's responses. */
async function firstTokens(url: string, streams = STREAMS, workMs = WORK_MS): Promise<number[]> {
  const adapter = createAdapter({ name: 'p', api: 'openai', baseUrl: url, model: 'm', headers: {}, params: {}, timeouts: { totalMs: 20_000 } });
  // The push path is what this measures; it is optional on ProviderAdapter, and the HTTP adapters all have it.
  const streamInto = adapter.streamInto?.bind(adapter);
  if (!streamInto) throw new Error('the openai adapter has no streamInto');
  try {
    const stamps = await Promise.all(
      Array.from({ length: streams }, async (_, i) => {
        let first: number | undefined;
        let text = '';
        await streamInto({ messages: [{ role: 'user', content: `stream ${i}` }], stream: true }, (ev: ProviderEvent) => {
          if (ev.type === 'error') throw ev.error;
          if (ev.type === 'content_delta') {
            first ??= ev.t;
            text += ev.text;
            busy(workMs);
          }
        });
        return { first: first!, stream: Number(/\d+/.exec(text)![0]) };
      }),
    );
    const byStream: number[] = [];
    for (const s of stamps) byStream[s.stream] = s.first;
    return byStream;
  } finally {
    await adapter.close();
  }
}

describe('event times are the bytes’ arrival, not the decoding', () => {
  it('a burst written to every stream at once is stamped as it came, however long the client takes to read and decode it', async () => {
    // Another connection of this process whose reads take 60 ms each, written right after the first
    // stream (the kernel reports ready sockets in the order they became ready): the reads behind it in
    // the same turn of the loop come 60 ms later, though their bytes were there all along.
    const hogServer = createTcpServer((peer) => (hog!.peer = peer));
    await new Promise<void>((resolve) => hogServer.listen(0, '127.0.0.1', resolve));
    const hogClient = connect((hogServer.address() as AddressInfo).port, '127.0.0.1');
    hog = { server: hogServer, client: hogClient };
    hogClient.on('data', () => busy(60));
    await new Promise((resolve) => hogClient.once('connect', resolve));
    const { url, wroteAt } = await start((responses, at) => {
      // One synchronous loop: every stream's token is on the wire within a fraction of a millisecond.
      responses.forEach((res, k) => {
        res.write(sse(chunk({ content: `token ${k}` })));
        at[k] = performance.now();
        // node:http sends a response's writes in a tick (it corks the socket for one); this tick comes right after stream 0's.
        if (k === 0) process.nextTick(() => hog!.peer!.write('x'));
      });
      setTimeout(() => responses.forEach(finish), 10);
    });
    const waited0 = runDelayMs();
    const first = await firstTokens(url);
    const waited = runDelayMs() - waited0;
    const lateness = first.map((t, k) => t - wroteAt[k]);
    // Decoding them one after another takes STREAMS × WORK_MS = 120 ms, and the reads after the slow one
    // begin 60 ms late: a stamp taken when a token is decoded, or when its own read ran, is that late.
    // Taken when the turn's run of reads began, each is within a few ms of the write (plus any wait for a CPU).
    expect(Math.min(...lateness)).toBeGreaterThanOrEqual(-0.5);
    expect(Math.max(...lateness), `waited ${waited} ms for a CPU`).toBeLessThan(50 + waited);
  });

  it('tokens that come while the client is busy decoding earlier ones are read, and stamped, between slices of that work', async () => {
    // The server in its own process, so that it writes on time however busy the client's loop is: one
    // stream's token every millisecond to 100 streams, while the client works 6 ms on each.
    const streams = 100;
    const workMs = 6;
    child = spawn(process.execPath, ['--input-type=module', '-e', PACED_SERVER, String(streams)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! });
    const out = lines[Symbol.asyncIterator]();
    const port = Number((await out.next()).value);
    const waited0 = runDelayMs();
    const done = firstTokens(`http://127.0.0.1:${port}/v1`, streams, workMs);
    // The server's line comes only once every stream got its answer: a client that failed ends the wait.
    const line = await Promise.race([out.next(), done.then(() => new Promise<never>(() => {}))]);
    const wroteAt = (JSON.parse(line.value as string) as number[]).map(fromMonotonicMs);
    const first = await done;
    const waited = runDelayMs() - waited0;
    const lateness = first.map((t, k) => t - wroteAt[k]);
    // Decoding inline, the client would take up the reads of each turn of the loop only after decoding the
    // ones before them (stamped when the turn's run of reads began), 6 ms each while a token comes every
    // millisecond: each run is ~6 times the one before (1 token, ~6, ~33), so the run that begins after
    // ~240 ms holds tokens written ~200 ms before. (With 40 streams and 3 ms of work, the writes could all
    // end before the third run began, which then stamped everything under 40 ms late: the bug passed.)
    // In slices, the loop goes back to the network between tasks, and a token waits at most for the task
    // running when it came (and any wait for a CPU).
    expect(Math.min(...lateness)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...lateness), `waited ${waited} ms for a CPU`).toBeLessThan(50 + waited);
  });
});

/** The system's monotonic clock (the same in every process) in ms, as this process's performance.now(). */
function fromMonotonicMs(ms: number): number {
  return ms - (Number(process.hrtime.bigint()) / 1e6 - performance.now());
}

/** A server in its own process: once every stream has arrived, one token a millisecond; prints its port, then the write times (system monotonic clock, ms). */
const PACED_SERVER = `
import { createServer } from 'node:http';
const n = Number(process.argv[1]);
// Never outlives a test that gave up on it.
setTimeout(() => process.exit(1), 20_000).unref();
const sse = (o) => 'data: ' + JSON.stringify(o) + '\\n\\n';
const chunk = (delta, finish = null) => ({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] });
const waiting = [];
const at = [];
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(sse(chunk({ role: 'assistant', content: '' })));
    waiting.push(res);
    if (waiting.length === n) setTimeout(next, 20);
  });
});
let k = 0;
function next() {
  waiting[k].write(sse(chunk({ content: 'token ' + k })));
  at[k] = Number(process.hrtime.bigint()) / 1e6;
  if (++k < n) return void setTimeout(next, 1);
  setTimeout(() => {
    for (const res of waiting) res.end(sse(chunk({}, 'stop')) + 'data: [DONE]\\n\\n');
    process.stdout.write(JSON.stringify(at) + '\\n');
    server.close();
  }, 10);
}
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

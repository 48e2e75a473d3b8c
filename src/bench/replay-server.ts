import { connect, createServer, type Socket } from 'node:net';
import { ResponseParser } from '../providers/h1/response-parser.js';

/** A request head larger than this is not one of bench's own: the connection is closed. */
const MAX_HEAD_BYTES = 64 * 1024;

export interface ReplayServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A loopback HTTP/1.1 server for bench's rehearsal before the clock (prewarm.ts): the first request to each
 * path, streamed or not, is passed to `upstream` (the emulator) and its answer kept byte for byte (status,
 * headers, chunked framing); every later one like it gets those bytes back at once. The emulator answers
 * as it answers any request, and the rehearsal runs at the client's own speed rather than at that of an
 * emulator sharing its thread (node:http, routing, fault logic): on the 2-core machine about 2,000
 * requests a second from the emulator itself, 5,000-10,000 replayed (streamed or not).
 * Only for bench's own client: requests framed by content-length, one at a time per connection.
 */
export async function startReplay(upstream: { host: string; port: number }): Promise<ReplayServer> {
  const answers = new Map<string, Promise<Buffer>>();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    let busy = false;
    const next = (): void => {
      while (!busy) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) {
          if (pending.length > MAX_HEAD_BYTES) socket.destroy();
          return;
        }
        const head = pending.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        const total = end + 4 + length;
        if (pending.length < total) return;
        const request = pending.subarray(0, total);
        pending = pending.subarray(total);
        // One answer per path, streamed or not (both dialects' bodies say "stream":true as bench's adapters write them).
        const key = `${head.slice(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1))}${request.includes('"stream":true', end) ? ' stream' : ''}`;
        let answer = answers.get(key);
        if (answer === undefined) {
          answer = record(upstream, request);
          answers.set(key, answer);
        }
        busy = true;
        answer.then(
          (bytes) => {
            busy = false;
            if (!socket.destroyed) socket.write(bytes);
            next();
          },
          () => socket.destroy(),
        );
      }
    };
    socket.on('data', (d: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, d]) : d;
      next();
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Sends one request to `upstream` on a connection of its own and returns the answer's bytes as they came
 * (the emulator's own headers, keep-alive and date included, so that the client parses what it will parse
 * in the run), once the client's own HTTP/1.1 parser says the answer is complete.
 */
function record(upstream: { host: string; port: number }, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let before = 0;
    const parser = new ResponseParser({ onResponseHead() {}, onResponseData() {} });
    parser.expect(false);
    const socket = connect(upstream.port, upstream.host, () => socket.write(request));
    const fail = (why: string) => {
      socket.destroy();
      reject(new Error(`rehearsal: the emulator's answer ${why}`));
    };
    socket.on('data', (d: Buffer) => {
      let end: number;
      try {
        end = parser.execute(d, () => false);
      } catch (e) {
        return fail((e as Error).message);
      }
      parts.push(d);
      if (end < 0) {
        before += d.length;
        return;
      }
      socket.destroy();
      resolve(Buffer.concat(parts).subarray(0, before + end));
    });
    socket.on('error', (e) => fail(e.message));
    socket.on('end', () => fail('ended before its framing did'));
  });
}

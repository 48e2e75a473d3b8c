/**
 * Request limits that protect the gateway from its clients: the body size (counted while it streams in,
 * so a huge upload is cut off at the limit rather than buffered), and requests in flight per client.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the request body is larger than ${limit.toLocaleString('en-US')} bytes`);
  }
}

export class ClientGone extends Error {
  constructor() {
    super('the client closed the connection before its request body arrived');
  }
}

/** Reads a request body up to `max` bytes; a declared or actual larger body rejects with BodyTooLarge at once. */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return Promise.reject(new BodyTooLarge(max));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (e: Error) => {
      req.off('data', onData).off('end', onEnd).off('close', onClose);
      req.pause();
      reject(e);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) return stop(new BodyTooLarge(max));
      chunks.push(chunk);
    };
    const onEnd = () => {
      req.off('close', onClose);
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    };
    const onClose = () => stop(new ClientGone());
    req.on('data', onData).once('end', onEnd).once('close', onClose);
  });
}

/**
 * After an early answer (a 413) to a request whose body is still arriving, the connection closes only once
 * the client has stopped sending, or after `lingerMs`: the rest of the body is read and thrown away
 * meanwhile (a lingering close, as nginx's lingering_close). Closed at once with unread bytes in its buffer,
 * a socket makes the kernel send a reset, and a client still uploading loses the answer: the official SDKs
 * then read the 413 as a connection error and upload the whole body twice more.
 */
export function lingerOnClose(req: IncomingMessage, lingerMs: number): void {
  const socket = req.socket as Socket & { destroySoon?: () => void };
  req.removeAllListeners('data');
  req.resume();
  // node:http closes a `connection: close` exchange with destroySoon() once the answer is written; this
  // socket sends its FIN then, and is destroyed when the client's FIN comes or the time is up.
  socket.destroySoon = () => {
    socket.end();
    const timer = setTimeout(() => socket.destroy(), lingerMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
}

/** Requests in flight per client (its key or its address); past the limit a request is refused. */
export class ClientSlots {
  private readonly inFlight = new Map<string, number>();
  constructor(private readonly max: number) {}

  /** Takes a slot, or returns false when the client already has `max` requests in flight. */
  take(client: string): boolean {
    const n = this.inFlight.get(client) ?? 0;
    if (n >= this.max) return false;
    this.inFlight.set(client, n + 1);
    return true;
  }

  give(client: string): void {
    const n = (this.inFlight.get(client) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(client);
    else this.inFlight.set(client, n);
  }
}

import { constants, createBrotliDecompress, createGunzip, createInflate, createInflateRaw, type BrotliDecompress, type Gunzip, type Inflate, type InflateRaw } from 'node:zlib';
import { serverText } from '../util/redact.js';

/**
 * Response bodies in a content coding (RFC 9110 section 8.4). Requests say `accept-encoding: identity`, but a
 * proxy in front of a provider may compress anyway (nginx's `gzip_static always`, a CDN), or because the
 * user's providers.yaml headers asked for it. gzip (and its old name x-gzip), deflate and br are decoded
 * as the bytes arrive; anything else is refused with one error naming the coding.
 */

/** Codings decoded here (lower case). */
const DECODABLE = new Set(['gzip', 'x-gzip', 'deflate', 'br']);

/** Why a coded body could not be read: a coding not decoded here, bytes that do not decode, or a body past its cap. */
export class ContentCodingError extends Error {
  readonly code = 'ERR_CONTENT_CODING';
  constructor(
    message: string,
    readonly kind: 'unsupported' | 'corrupt' | 'too_large',
    /** The decoded size cap that was passed (too_large only). */
    readonly limit = 0,
  ) {
    super(message);
  }
}

/**
 * The coding a Content-Encoding value names: '' for none or identity, else the coding in lower case. The value
 * is a list (RFC 9110 section 8.4; the header given twice is the same list): empty elements are ignored
 * (section 5.6.1) and so is `identity`, which codes nothing, so `Identity, ` is no coding and `identity, gzip`
 * is gzip, as curl reads them. What is left of two or more (`gzip, br`: coded twice) is returned whole and so
 * is not decodable: no server or proxy we know sends one.
 */
export function contentCoding(value: string): string {
  const codings = value
    .toLowerCase()
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '' && c !== 'identity');
  return codings.join(', ');
}

/** The error for a coding not decoded here; undefined when `coding` is decoded. */
export function undecodable(coding: string): ContentCodingError | undefined {
  if (DECODABLE.has(coding)) return undefined;
  return new ContentCodingError(
    `the server answered content-encoding: ${serverText(coding, 60)}, which llm-fallback cannot decode (it decodes gzip, deflate and br, and asks for identity); if a proxy in front of the provider compresses, turn compression off for this path, and remove any accept-encoding from the provider's headers`,
    'unsupported',
  );
}

/** What a BodyDecoder hands on: decoded bytes with the arrival time of the coded bytes they came from, the end, or an error. */
export interface DecodedSink {
  data(chunk: Buffer, t: number): void;
  end(): void;
  error(e: ContentCodingError): void;
}

type Decompressor = Gunzip | Inflate | InflateRaw | BrotliDecompress;

/**
 * Decodes one response body as it arrives, with Node's streaming zlib/brotli decoders: each coded chunk is
 * written as it comes off the socket and its output handed on at once, stamped with that chunk's arrival time,
 * so a compressed stream's tokens keep their own times. At most `limit` decoded bytes are produced: past
 * that the decoder is stopped (a decompression bomb costs neither memory nor CPU beyond the cap); a coded body
 * longer than `limit` is stopped too (empty gzip members decode to nothing, forever). While the reader is
 * behind (pause) no more is decoded: one coded chunk can decode to megabytes, so pausing the socket alone
 * would not hold the output back.
 */
export class BodyDecoder {
  private z: Decompressor | undefined;
  /** Arrival times of the chunks written and not yet fully decoded, oldest first (zlib decodes writes in order). */
  private readonly times: number[] = [];
  private lastTime = 0;
  /** Arrival times of the decoded chunks made and not yet handed on (the decoder holds them while paused), oldest first. */
  private readonly madeAt: number[] = [];
  private decoded = 0;
  private coded = 0;
  private stopped = false;
  /** deflate: the first bytes, held until the two that tell a zlib stream from raw deflate are in. */
  private head: Buffer | undefined;
  private wroteAny = false;

  constructor(
    private readonly coding: string,
    private readonly limit: number,
    private readonly sink: DecodedSink,
  ) {
    if (coding !== 'deflate') this.z = this.open(coding === 'br' ? createBrotliDecompress() : createGunzip({ flush: constants.Z_SYNC_FLUSH }));
  }

  write(chunk: Buffer, t: number): void {
    if (this.stopped || chunk.length === 0) return;
    this.wroteAny = true;
    this.lastTime = t;
    this.coded += chunk.length;
    if (this.coded > this.limit) {
      this.fail(new ContentCodingError(`response larger than ${this.limit} bytes as sent, before decoding its content-encoding ${this.coding}`, 'too_large', this.limit));
      return;
    }
    if (this.z === undefined) {
      // "deflate" is a zlib stream (RFC 9110 section 8.4.1.2), but some servers send raw deflate: browsers and
      // curl accept both, telling them apart by the zlib header (RFC 1950: method 8, header a multiple of 31).
      const head = this.head ? Buffer.concat([this.head, chunk]) : chunk;
      if (head.length < 2) {
        this.head = head;
        return;
      }
      this.head = undefined;
      const zlibWrapped = (head[0] & 0x0f) === 8 && ((head[0] << 8) | head[1]) % 31 === 0;
      this.z = this.open(zlibWrapped ? createInflate({ flush: constants.Z_SYNC_FLUSH }) : createInflateRaw({ flush: constants.Z_SYNC_FLUSH }));
      chunk = head;
    }
    this.times.push(t);
    this.z.write(chunk, this.written);
  }

  /** The coded body ended: the decoder's end (or its error, for a body cut short) follows. */
  end(): void {
    if (this.stopped) return;
    if (!this.wroteAny) {
      // An empty body (a 204, an error with no body) is empty in any coding.
      this.stopped = true;
      this.sink.end();
      return;
    }
    if (this.z === undefined) {
      this.fail(new ContentCodingError(`the ${this.coding}-coded body is 1 byte long, too short to decode`, 'corrupt'));
      return;
    }
    this.z.end();
  }

  /** Holds decoded output back (the reader is behind): the decoder stops once its own small buffer is full. */
  pause(): void {
    this.z?.pause();
  }

  /** Hands on what was held back and decodes on. */
  resume(): void {
    this.z?.resume();
  }

  /** Stops decoding (the exchange failed or was aborted): nothing more is handed on. */
  destroy(): void {
    this.stopped = true;
    this.z?.destroy();
  }

  private readonly written = (): void => {
    this.times.shift();
  };

  private open(z: Decompressor): Decompressor {
    // The time is taken when the decoder makes a chunk, not when it is handed on: zlib makes a write's output
    // before that write's callback (so the oldest time is the coded chunk's), but a paused decoder hands it on
    // later, after the callback. Each chunk made is one 'data' event, in order (a flowing stream reads one
    // buffered chunk at a time).
    const push = z.push;
    z.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
      if (chunk !== null) this.madeAt.push(this.times[0] ?? this.lastTime);
      return push.call(z, chunk, encoding);
    };
    z.on('data', (out: Buffer) => {
      const t = this.madeAt.shift() ?? this.lastTime;
      if (this.stopped) return;
      this.decoded += out.length;
      this.sink.data(out, t);
      if (this.decoded > this.limit) {
        // What crossed the cap was handed on, so the reader's own size check reports it; nothing more is made.
        this.fail(new ContentCodingError(`response larger than ${this.limit} bytes once decoded from content-encoding ${this.coding}`, 'too_large', this.limit));
      }
    });
    z.on('end', () => {
      if (this.stopped) return;
      this.stopped = true;
      this.sink.end();
    });
    z.on('error', (e: Error) => {
      this.fail(new ContentCodingError(`the ${this.coding}-coded body does not decode (${zlibReason(e)}); the server or a proxy in front of it sent a broken or cut-off compressed body`, 'corrupt'));
    });
    return z;
  }

  private fail(e: ContentCodingError): void {
    if (this.stopped) return;
    this.stopped = true;
    this.z?.destroy();
    this.sink.error(e);
  }
}

/** zlib's reason in words a user can act on. */
function zlibReason(e: Error): string {
  const code = (e as { code?: string }).code;
  if (code === 'Z_BUF_ERROR') return 'it ends before the compressed data does';
  if (e.message === 'incorrect data check') return 'its checksum does not match: the data was damaged';
  return serverText(e.message, 80);
}

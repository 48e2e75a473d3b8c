/**
 * An incremental HTTP/1.1 response parser: bytes in, in any split (one byte at a time works), and
 * calls on a `ResponseSink` out. It refuses what llhttp's default (strict) mode refuses, which undici
 * and Node's http client use: lines end in CRLF, header and trailer names are tokens followed directly by
 * a colon, a header block is capped, chunk sizes are hex and bounded, and a response framed two ways
 * (Transfer-Encoding and Content-Length) is refused (the classic request-smuggling ambiguity).
 * test/h1-llhttp-diff.test.ts holds both to a corpus of hostile responses. Where they differ it is on
 * purpose, and the test lists why: stricter here on a status code below 100, HTTP/2.0 or control bytes
 * in a status line, chunked applied twice or not last, a length padded past its digit cap, more than 256
 * fields; laxer on an identical repeated Content-Length (RFC 9110 8.6), whitespace around a chunk
 * extension's ";" and "=" (RFC 9112 7.1.1 BWS) and framing fields among the (dropped) trailers. Error
 * messages name what was wrong and never quote a header value (a server may echo the API key back in one).
 */

/** Largest response header block (status line, headers, blank line), as undici's default. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** Most header fields in one response (a real provider sends about 30). */
export const MAX_HEADER_COUNT = 256;
/** Largest chunk-size line (size and extensions) and largest trailer block. */
const MAX_CHUNK_LINE_BYTES = 1024;
const MAX_TRAILER_BYTES = 16 * 1024;
/** Chunk sizes up to 2^52 (13 hex digits): beyond is no real body, and would lose precision. */
const MAX_CHUNK_SIZE_DIGITS = 13;

export interface ResponseSink {
  /** A final (non-1xx) response's head: its fields in order, repeats kept. */
  onResponseHead(statusCode: number, rawHeaders: RawHeaders): void;
  onResponseData(chunk: Buffer): void;
}

/** The code of a response the parser refused. */
export const MALFORMED_RESPONSE = 'ERR_H1_MALFORMED_RESPONSE';

/** A response the parser refused; `code` lets the transport layer tell it from a socket failure. */
export class ResponseParseError extends Error {
  readonly code = MALFORMED_RESPONSE;
  constructor(message: string) {
    super(`malformed HTTP response: ${message}`);
  }
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkSizeWs,
  ChunkExt,
  ChunkSizeLf,
  ChunkData,
  ChunkDataCr,
  ChunkDataLf,
  TrailerLineStart,
  TrailerName,
  TrailerLine,
  TrailerLineLf,
  TrailerEndLf,
  UntilClose,
  Done,
}

const CR = 0x0d;
const LF = 0x0a;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const HTTP_1 = Buffer.from('HTTP/1.', 'latin1');
const STATUS_LINE_ERROR = 'invalid status line (expected "HTTP/1.1 <3-digit status>")';

/**
 * Refuses a head that has not fully arrived as soon as its bytes show it never will: an answer that does not
 * start "HTTP/1." (another protocol on the port) or a line ended by a bare LF. Such a server never sends the
 * CRLF CRLF that ends a head, so waiting for it held the request until the server closed or a clock fired,
 * where llhttp refuses at the first wrong byte. `checkFrom`: where bytes not yet checked start.
 */
function checkPartialHead(data: Buffer, from: number, checkFrom: number): void {
  const n = Math.min(data.length - from, HTTP_1.length);
  for (let i = 0; i < n; i++) if (data[from + i] !== HTTP_1[i]) throw new ResponseParseError(STATUS_LINE_ERROR);
  for (let i = data.indexOf(LF, Math.max(from, checkFrom)); i >= 0; i = data.indexOf(LF, i + 1)) {
    if (i > from && data[i - 1] === CR) continue;
    throw new ResponseParseError(data.indexOf(LF, from) === i ? STATUS_LINE_ERROR : 'header line not ended by CRLF');
  }
}

/** RFC 9110 token characters (header names). */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TOKEN[c.charCodeAt(0)] = 1;
/** Field value characters: HTAB, visible ASCII, space, obs-text. */
const FIELD = new Uint8Array(256);
FIELD[0x09] = 1;
for (let c = 0x20; c < 0x7f; c++) FIELD[c] = 1;
for (let c = 0x80; c < 0x100; c++) FIELD[c] = 1;
/** Hex digit values, -1 when not a hex digit. */
const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) HEX[0x41 + c] = HEX[0x61 + c] = 10 + c;

/** True when buf[start, end) equals `lower` (lower-case ASCII) ignoring ASCII case. */
function eqLower(buf: Buffer, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((buf[start + i] | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/**
 * A response's header fields as positions in the bytes they came in: no Buffer view and no string per
 * field until one is asked for (a view per name and value was a fifth of the client's allocations per
 * request in bench's profile). The bytes are the read's own copy, never the agent's shared read buffer.
 */
export class RawHeaders {
  /** Per field: name start, name end, value start, value end. */
  private readonly at: number[] = [];

  constructor(private readonly data: Buffer) {}

  /** @internal the parser adds a field */
  add(nameStart: number, nameEnd: number, valueStart: number, valueEnd: number): void {
    this.at.push(nameStart, nameEnd, valueStart, valueEnd);
  }

  /** How many fields there are. */
  get count(): number {
    return this.at.length >> 2;
  }

  /** Field i's name as sent (latin1). */
  name(i: number): string {
    return this.data.toString('latin1', this.at[i * 4], this.at[i * 4 + 1]);
  }

  /** Field i's value (latin1, surrounding spaces and tabs removed). */
  value(i: number): string {
    return this.data.toString('latin1', this.at[i * 4 + 2], this.at[i * 4 + 3]);
  }

  /** True when field i's name is `lower` (a lower-case token) in any case, without decoding it. */
  nameIs(i: number, lower: string): boolean {
    return eqLower(this.data, this.at[i * 4], this.at[i * 4 + 1], lower);
  }

  /** Names and values alternating, in order: the shape Node's rawHeaders have. */
  toArray(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.name(i), this.value(i));
    return out;
  }
}

/** The timeout=N parameter (seconds) of a Keep-Alive value in buf[start, end), or -1. */
function keepAliveTimeout(buf: Buffer, start: number, end: number): number {
  for (let i = start; i + 7 <= end; i++) {
    if ((i === start || buf[i - 1] === 0x20 || buf[i - 1] === 0x2c || buf[i - 1] === 0x09) && eqLower(buf, i, i + 7, 'timeout')) {
      let j = i + 7;
      while (j < end && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
      if (buf[j] !== 0x3d) continue;
      j++;
      while (j < end && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
      let n = -1;
      for (let k = 0; j < end && k < 9 && buf[j] >= 0x30 && buf[j] <= 0x39; j++, k++) n = (n < 0 ? 0 : n * 10) + buf[j] - 0x30;
      return n;
    }
  }
  return -1;
}

export class ResponseParser {
  private state = State.Done;
  private isHead = false;
  /** Header bytes of a head split across reads. */
  private pending: Buffer | undefined;
  /** Body bytes still due (Content-Length body or current chunk). */
  private remaining = 0;
  private lineBytes = 0;
  private trailerBytes = 0;
  /** After the end of a response: false when the connection must not carry another request. */
  reusable = true;
  /** The server's Keep-Alive: timeout=N hint of the last response, ms; -1 when none. */
  keepAliveMs = -1;

  constructor(private readonly sink: ResponseSink) {}

  /** Starts waiting for the response to a new request (`head`: the request was a HEAD, so no body). */
  expect(head: boolean): void {
    this.state = State.Head;
    this.isHead = head;
    this.pending = undefined;
  }

  /** True between expect() and the end of the final response. */
  get active(): boolean {
    return this.state !== State.Done;
  }

  /** True when no byte of the response has arrived yet. */
  get untouched(): boolean {
    return this.state === State.Head && this.pending === undefined;
  }

  /**
   * Feeds one read. Returns the offset just past the end of the response when it ended in this read
   * (less than buf.length when more bytes follow it: the caller decides what they mean), else -1.
   * Throws ResponseParseError on a malformed response. The sink may stop the exchange from within a
   * call: `isStopped` is checked after each, and -1 returned.
   */
  execute(buf: Buffer, isStopped: () => boolean): number {
    let pos = 0;
    const len = buf.length;
    while (pos < len) {
      switch (this.state) {
        case State.Head: {
          let data = buf;
          let from = pos;
          let searchFrom = pos;
          if (this.pending) {
            data = Buffer.concat([this.pending, pos === 0 ? buf : buf.subarray(pos)]);
            searchFrom = Math.max(0, this.pending.length - 3);
            from = 0;
          }
          const end = data.indexOf(CRLFCRLF, searchFrom);
          if (end < 0) {
            if (data.length - from > MAX_HEADER_BYTES) throw new ResponseParseError(`response headers larger than ${MAX_HEADER_BYTES} bytes`);
            checkPartialHead(data, from, searchFrom);
            this.pending = from === 0 ? data : data.subarray(from);
            return -1;
          }
          if (end + 4 - from > MAX_HEADER_BYTES) throw new ResponseParseError(`response headers larger than ${MAX_HEADER_BYTES} bytes`);
          const consumed = this.pending ? end + 4 - this.pending.length : end + 4 - pos;
          this.pending = undefined;
          pos += consumed;
          this.head(data, from, end + 2);
          if (isStopped()) return -1;
          if ((this.state as State) === State.Done) return pos;
          break;
        }
        case State.Length: {
          const n = Math.min(this.remaining, len - pos);
          const piece = pos === 0 && n === len ? buf : buf.subarray(pos, pos + n);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.Done;
          this.sink.onResponseData(piece);
          if (isStopped()) return -1;
          if (this.state === State.Done) return pos;
          break;
        }
        case State.ChunkSize: {
          const c = buf[pos];
          const v = HEX[c];
          if (v >= 0) {
            if (++this.lineBytes > MAX_CHUNK_SIZE_DIGITS) throw new ResponseParseError('chunk size too large');
            this.remaining = this.remaining * 16 + v;
          } else if (this.lineBytes === 0) {
            throw new ResponseParseError('invalid chunk size (not a hex number)');
          } else if (c === CR) this.state = State.ChunkSizeLf;
          else if (c === 0x3b) this.state = State.ChunkExt;
          else if (c === 0x20 || c === 0x09) this.state = State.ChunkSizeWs;
          else throw new ResponseParseError('invalid chunk size (not a hex number)');
          pos++;
          break;
        }
        case State.ChunkSizeWs: {
          // RFC 9112 section 7.1.1 allows whitespace (BWS) after the size only before a ";" extension.
          const c = buf[pos++];
          if (c === 0x3b) this.state = State.ChunkExt;
          else if (c !== 0x20 && c !== 0x09) throw new ResponseParseError('invalid chunk size line');
          break;
        }
        case State.ChunkExt: {
          // Extensions are ignored, but must stay on one bounded line.
          const c = buf[pos++];
          if (++this.lineBytes > MAX_CHUNK_LINE_BYTES) throw new ResponseParseError(`chunk size line longer than ${MAX_CHUNK_LINE_BYTES} bytes`);
          if (c === CR) this.state = State.ChunkSizeLf;
          else if (!FIELD[c]) throw new ResponseParseError('invalid character in a chunk extension');
          break;
        }
        case State.ChunkSizeLf: {
          if (buf[pos++] !== LF) throw new ResponseParseError('chunk size line not ended by CRLF');
          this.lineBytes = 0;
          if (this.remaining === 0) {
            this.trailerBytes = 0;
            this.state = State.TrailerLineStart;
          } else this.state = State.ChunkData;
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.remaining, len - pos);
          const piece = buf.subarray(pos, pos + n);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.ChunkDataCr;
          this.sink.onResponseData(piece);
          if (isStopped()) return -1;
          break;
        }
        case State.ChunkDataCr:
          if (buf[pos++] !== CR) throw new ResponseParseError('chunk data longer than its size');
          this.state = State.ChunkDataLf;
          break;
        case State.ChunkDataLf:
          if (buf[pos++] !== LF) throw new ResponseParseError('chunk data not ended by CRLF');
          this.remaining = 0;
          this.lineBytes = 0;
          this.state = State.ChunkSize;
          break;
        case State.TrailerLineStart: {
          const c = buf[pos++];
          if (++this.trailerBytes > MAX_TRAILER_BYTES) throw new ResponseParseError(`trailers larger than ${MAX_TRAILER_BYTES} bytes`);
          if (c === CR) this.state = State.TrailerEndLf;
          else if (TOKEN[c]) this.state = State.TrailerName;
          else throw new ResponseParseError('invalid trailer field');
          break;
        }
        case State.TrailerName: {
          // A trailer is a field line as a header is: a token name directly followed by a colon.
          const c = buf[pos++];
          if (++this.trailerBytes > MAX_TRAILER_BYTES) throw new ResponseParseError(`trailers larger than ${MAX_TRAILER_BYTES} bytes`);
          if (c === 0x3a) this.state = State.TrailerLine;
          else if (!TOKEN[c]) throw new ResponseParseError('invalid trailer field name');
          break;
        }
        case State.TrailerLine: {
          // Trailers are read and dropped: nothing here uses them.
          const c = buf[pos++];
          if (++this.trailerBytes > MAX_TRAILER_BYTES) throw new ResponseParseError(`trailers larger than ${MAX_TRAILER_BYTES} bytes`);
          if (c === CR) this.state = State.TrailerLineLf;
          else if (!FIELD[c]) throw new ResponseParseError('invalid character in a trailer field');
          break;
        }
        case State.TrailerLineLf:
          if (buf[pos++] !== LF) throw new ResponseParseError('trailer line not ended by CRLF');
          this.state = State.TrailerLineStart;
          break;
        case State.TrailerEndLf:
          if (buf[pos++] !== LF) throw new ResponseParseError('trailers not ended by CRLF');
          this.state = State.Done;
          return pos;
        case State.UntilClose: {
          const piece = pos === 0 ? buf : buf.subarray(pos);
          pos = len;
          this.sink.onResponseData(piece);
          return -1;
        }
        case State.Done:
          return pos;
      }
    }
    return -1;
  }

  /**
   * The connection reached end of file. Returns true when that ends the response (a body delimited by
   * the close); false when the response was cut short.
   */
  finish(): boolean {
    if (this.state !== State.UntilClose) return false;
    this.state = State.Done;
    return true;
  }

  /** Parses the head in data[start, end) (end just past the last header line's CRLF), sets the body framing. */
  private head(data: Buffer, start: number, end: number): void {
    let eol = data.indexOf(LF, start);
    // Status line: HTTP/1.x SP 3DIGIT [SP reason] CRLF.
    if (
      eol - start < 13 ||
      data[eol - 1] !== CR ||
      data[start] !== 0x48 || data[start + 1] !== 0x54 || data[start + 2] !== 0x54 || data[start + 3] !== 0x50 ||
      data[start + 4] !== 0x2f || data[start + 5] !== 0x31 || data[start + 6] !== 0x2e ||
      (data[start + 7] !== 0x31 && data[start + 7] !== 0x30) ||
      data[start + 8] !== 0x20
    ) {
      throw new ResponseParseError(STATUS_LINE_ERROR);
    }
    const http10 = data[start + 7] === 0x30;
    const d0 = data[start + 9] - 0x30;
    const d1 = data[start + 10] - 0x30;
    const d2 = data[start + 11] - 0x30;
    if (d0 < 1 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9 || (eol - 1 > start + 12 && data[start + 12] !== 0x20)) {
      throw new ResponseParseError('invalid status code in the status line');
    }
    for (let i = start + 13; i < eol - 1; i++) if (!FIELD[data[i]]) throw new ResponseParseError('invalid character in the status line');
    const status = d0 * 100 + d1 * 10 + d2;

    const raw = new RawHeaders(data);
    let contentLength = -1;
    let te: 'none' | 'chunked' | 'other' = 'none';
    let closeToken = false;
    let keepAliveToken = false;
    let keepAlive = -1;
    // One pass over the bytes per line (no search per line): the block ends in CRLF CRLF, so every scan
    // below stops at a CR at the latest.
    for (let p = eol + 1; p < end; ) {
      const line = p;
      if (data[p] === 0x20 || data[p] === 0x09) throw new ResponseParseError('obsolete line folding in a header');
      while (TOKEN[data[p]]) p++;
      if (p === line || data[p] !== 0x3a) throw new ResponseParseError('invalid header name');
      const colon = p++;
      while (data[p] === 0x20 || data[p] === 0x09) p++;
      const vs = p;
      while (FIELD[data[p]]) p++;
      if (data[p] !== CR || data[p + 1] !== LF) {
        if (data[p] === CR || data[p] === LF) throw new ResponseParseError('header line not ended by CRLF');
        throw new ResponseParseError(`invalid character in the value of header ${data.toString('latin1', line, colon)}`);
      }
      let ve = p;
      while (ve > vs && (data[ve - 1] === 0x20 || data[ve - 1] === 0x09)) ve--;
      p += 2;
      if (raw.count >= MAX_HEADER_COUNT) throw new ResponseParseError(`more than ${MAX_HEADER_COUNT} header fields`);
      raw.add(line, colon, vs, ve);
      const nameLen = colon - line;
      if (nameLen === 14 && eqLower(data, line, colon, 'content-length')) {
        if (vs === ve || ve - vs > 15) throw new ResponseParseError('invalid Content-Length');
        let n = 0;
        for (let i = vs; i < ve; i++) {
          const d = data[i] - 0x30;
          if (d < 0 || d > 9) throw new ResponseParseError('invalid Content-Length');
          n = n * 10 + d;
        }
        if (contentLength >= 0 && contentLength !== n) throw new ResponseParseError('conflicting Content-Length headers');
        contentLength = n;
      } else if (nameLen === 17 && eqLower(data, line, colon, 'transfer-encoding')) {
        const codings = data.toString('latin1', vs, ve).toLowerCase().split(',');
        const last = codings[codings.length - 1].trim();
        // A later Transfer-Encoding line continues the list (RFC 9110 section 5.3), so chunked on an earlier
        // line is chunked before another coding too: "chunked" then "chunked" is chunked twice, as "chunked, chunked" is.
        if (te === 'chunked') throw new ResponseParseError('Transfer-Encoding with chunked before another coding');
        for (let i = 0; i < codings.length - 1; i++) if (codings[i].trim() === 'chunked') throw new ResponseParseError('Transfer-Encoding with chunked before another coding');
        te = last === 'chunked' ? 'chunked' : 'other';
      } else if (nameLen === 10 && eqLower(data, line, colon, 'connection')) {
        // The usual single values without a string; a list the slow way.
        if (eqLower(data, vs, ve, 'keep-alive')) keepAliveToken = true;
        else if (eqLower(data, vs, ve, 'close')) closeToken = true;
        else {
          for (const token of data.toString('latin1', vs, ve).toLowerCase().split(',')) {
            const t = token.trim();
            if (t === 'close') closeToken = true;
            else if (t === 'keep-alive') keepAliveToken = true;
          }
        }
      } else if (nameLen === 10 && eqLower(data, line, colon, 'keep-alive')) {
        const t = keepAliveTimeout(data, vs, ve);
        if (t >= 0) keepAlive = t * 1000;
      }
    }
    // HTTP/1.0 closes after each response unless the server says keep-alive; and always when it carries
    // Transfer-Encoding, which HTTP/1.0 does not have: RFC 9112 section 6.1 has the client treat its framing
    // as faulty and close after the response (the sender may hold bytes that would answer the next request).
    const close = closeToken || (http10 && (!keepAliveToken || te !== 'none'));
    if (te !== 'none' && contentLength >= 0) throw new ResponseParseError('both Transfer-Encoding and Content-Length');

    if (status < 200) {
      // An interim response (100 Continue, 103 Early Hints): skipped, the final one follows.
      if (status === 101) throw new ResponseParseError('unexpected 101 Switching Protocols');
      this.state = State.Head;
      return;
    }
    this.reusable = !close;
    this.keepAliveMs = keepAlive;
    this.sink.onResponseHead(status, raw);
    if (this.isHead || status === 204 || status === 304) this.state = State.Done;
    else if (te === 'chunked') {
      this.state = State.ChunkSize;
      this.remaining = 0;
      this.lineBytes = 0;
    } else if (te === 'other' || contentLength < 0) {
      this.state = State.UntilClose;
      this.reusable = false;
    } else if (contentLength === 0) this.state = State.Done;
    else {
      this.state = State.Length;
      this.remaining = contentLength;
    }
  }
}

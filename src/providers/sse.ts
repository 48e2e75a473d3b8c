/**
 * Server-sent events parser working on bytes. Lines are cut at LF/CR bytes before decoding, and those
 * bytes never occur inside a UTF-8 multibyte sequence, so a character split across TCP reads is decoded
 * whole. Accepts LF, CRLF and lone CR line ends, `data:` with or without a space, multi-line data,
 * comments (`: keep-alive`), and unknown fields (llama.cpp sends a non-standard `error:` field).
 */
export interface SseEvent {
  /** The `event:` field, if any (Anthropic names every event). */
  event?: string;
  /** Joined `data:` lines; undefined when the event had no data field. */
  data?: string;
  /** Non-standard fields, e.g. llama.cpp's `error: {...}`. */
  extra?: Record<string, string>;
}

export interface SseSink {
  event(ev: SseEvent): void;
  comment(text: string): void;
}

const LF = 0x0a;
const CR = 0x0d;

export class SseParser {
  private pending: Buffer | null = null;
  private skipLfAfterCr = false;
  private eventName: string | undefined;
  private dataLines: string[] | undefined;
  private extra: Record<string, string> | undefined;
  /** Bytes of the event being assembled, for the size cap. */
  private eventBytes = 0;

  constructor(
    private readonly sink: SseSink,
    private readonly maxEventBytes = 4 * 1024 * 1024,
  ) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let start = 0;
    const len = buf.length;
    if (this.skipLfAfterCr && len > 0) {
      this.skipLfAfterCr = false;
      if (buf[0] === LF) start = 1;
    }
    for (let i = start; i < len; i++) {
      const b = buf[i];
      if (b !== LF && b !== CR) continue;
      this.lineAt(buf, start, i);
      if (b === CR) {
        if (i + 1 < len) {
          if (buf[i + 1] === LF) i++;
        } else {
          this.skipLfAfterCr = true;
        }
      }
      start = i + 1;
    }
    if (start < len) {
      this.pending = start === 0 ? buf : buf.subarray(start);
      if (this.pending.length + this.eventBytes > this.maxEventBytes) {
        throw new SseOverflowError(this.maxEventBytes);
      }
    }
  }

  /**
   * Called at end of body. Returns true when the body ended cleanly at an event boundary;
   * false when it stopped inside a line (a cut connection). A last event that lacks only its
   * blank line is still dispatched.
   */
  end(): boolean {
    const clean = this.pending === null || this.pending.length === 0;
    this.pending = null;
    if (clean) this.dispatch();
    return clean;
  }

  /**
   * The line in buf[s, e). A blank line and a `data:` line (nearly every line of a stream) are read
   * from the bytes: only the data value is decoded, never the whole line and then a slice of it.
   */
  private lineAt(buf: Buffer, s: number, e: number): void {
    if (s === e) {
      this.dispatch();
      return;
    }
    this.eventBytes += e - s;
    if (this.eventBytes > this.maxEventBytes) throw new SseOverflowError(this.maxEventBytes);
    const first = buf[s];
    if (first === 0x3a /* : */) {
      this.sink.comment(buf.toString('utf8', s + 1, e).trim());
      return;
    }
    if (first === 0x64 && e - s >= 5 && buf[s + 1] === 0x61 && buf[s + 2] === 0x74 && buf[s + 3] === 0x61 && buf[s + 4] === 0x3a /* data: */) {
      (this.dataLines ??= []).push(buf.toString('utf8', buf[s + 5] === 0x20 && s + 5 < e ? s + 6 : s + 5, e));
      return;
    }
    this.line(buf.toString('utf8', s, e));
  }

  /** Any other field line (not blank, not a comment). */
  private line(text: string): void {
    const colon = text.indexOf(':');
    let field: string;
    let value: string;
    if (colon === -1) {
      field = text;
      value = '';
    } else {
      field = text.slice(0, colon);
      value = text.charCodeAt(colon + 1) === 0x20 ? text.slice(colon + 2) : text.slice(colon + 1);
    }
    switch (field) {
      case 'data':
        (this.dataLines ??= []).push(value);
        break;
      case 'event':
        this.eventName = value;
        break;
      case 'id':
      case 'retry':
        break;
      default:
        (this.extra ??= {})[field] = value;
    }
  }

  private dispatch(): void {
    this.eventBytes = 0;
    if (this.dataLines === undefined && this.eventName === undefined && this.extra === undefined) return;
    const ev: SseEvent = {};
    if (this.eventName !== undefined) ev.event = this.eventName;
    if (this.dataLines !== undefined) ev.data = this.dataLines.length === 1 ? this.dataLines[0] : this.dataLines.join('\n');
    if (this.extra !== undefined) ev.extra = this.extra;
    this.eventName = undefined;
    this.dataLines = undefined;
    this.extra = undefined;
    this.sink.event(ev);
  }
}

export class SseOverflowError extends Error {
  constructor(readonly limit: number) {
    super(`a single stream event exceeded ${limit} bytes`);
  }
}

/**
 * Serialises one HTTP/1.1 request into a single string written with one socket write: request line,
 * host, the caller's headers, content-length, body. Anything that could split the request (CR, LF or
 * NUL in the path, a header name or a value) is refused with an error naming the header, never sent.
 */

/** A request the client refused to send. */
export class RequestError extends Error {
  readonly code = 'ERR_H1_INVALID_REQUEST';
}

/** RFC 9110 token (method, header name); config check holds header names to it too. */
export const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Characters that need a closer look in a value: controls other than HTAB, DEL, and non-ASCII. */
const VALUE_SUSPECT_RE = /[^\t\x20-\x7e]/;
/** Characters never allowed in a value: NUL, CR, LF and the other controls (obs-text 0x80-0xff is allowed). */
/** What no header value may hold (checked in providers.yaml too): control characters but tab, and anything past Latin-1. */
export const VALUE_BAD_RE = /[\0-\x08\x0a-\x1f\x7f]|[^\0-\xff]/;
/** A request target: visible ASCII (URL parsing percent-encodes the rest). */
const PATH_RE = /^[\x21-\x7e]+$/;

/** Headers the client owns: a caller's copy would contradict the framing it writes. */
const OWNED = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'expect', 'te']);

const validNames = new Set<string>();

/** A headers object's checked, serialised lines. */
interface HeaderLines {
  lines: string;
  ownHost: boolean;
  latin1: boolean;
}

/**
 * Lines already checked and serialised for a frozen headers object: an adapter's headers never change, so it
 * builds them once and freezes them, and each request then skips the check (a loop of regular expressions per
 * header, per request, in bench's CPU profile).
 */
const frozenLines = new WeakMap<object, HeaderLines>();

function headerLines(headers: Record<string, string>): HeaderLines {
  let lines = '';
  let ownHost = true;
  let latin1 = false;
  for (const name in headers) {
    const value = headers[name];
    if (!validNames.has(name)) {
      if (!TOKEN_RE.test(name)) throw new RequestError(`invalid header name ${JSON.stringify(name.slice(0, 64))}`);
      if (OWNED.has(name.toLowerCase())) throw new RequestError(`header ${name} is set by the HTTP client, not by configuration`);
      if (validNames.size < 1000) validNames.add(name);
    }
    if (typeof value !== 'string') throw new RequestError(`header ${name} has no string value`);
    if (VALUE_SUSPECT_RE.test(value)) {
      // The value is never quoted: it may be a key.
      if (VALUE_BAD_RE.test(value)) throw new RequestError(`invalid value for header ${name} (CR, LF, NUL or another control character)`);
      latin1 = true;
    }
    if (name.length === 4 && name.toLowerCase() === 'host') ownHost = false;
    lines += `${name}: ${value}\r\n`;
  }
  return { lines, ownHost, latin1 };
}

export interface RequestOptions {
  origin: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

/** A plain-HTTP request sent to a proxy: the absolute-form target's origin, and the proxy's own header lines. */
export interface ProxiedRequest {
  /** `http://host:port`, put before the path (RFC 9112 section 3.2.2). */
  origin: string;
  /** `proxy-authorization: …\r\n`, or empty. */
  lines: string;
}

/**
 * The request's bytes as one string, and whether it is pure ASCII (then utf8 and latin1 agree and it is
 * written as utf8; otherwise header bytes are latin1 and the body utf8, so it is written as a Buffer).
 */
export function serialiseRequest(opts: RequestOptions, host: string, via?: ProxiedRequest): string | Buffer {
  const { method, path, headers, body } = opts;
  if (method !== 'GET' && method !== 'POST' && !TOKEN_RE.test(method)) throw new RequestError('invalid HTTP method');
  if (!PATH_RE.test(path)) throw new RequestError('invalid request path (control characters, spaces or non-ASCII)');
  let checked = frozenLines.get(headers);
  if (checked === undefined) {
    checked = headerLines(headers);
    if (Object.isFrozen(headers)) frozenLines.set(headers, checked);
  }
  const { lines, ownHost, latin1 } = checked;
  let head = ownHost ? `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\n${lines}` : `${method} ${path} HTTP/1.1\r\n${lines}`;
  if (via !== undefined) head = `${method} ${via.origin}${head.slice(method.length + 1)}${via.lines}`;
  if (body === undefined) {
    head += '\r\n';
    return latin1 ? Buffer.from(head, 'latin1') : head;
  }
  const bodyBytes = Buffer.byteLength(body);
  head += `content-length: ${bodyBytes}\r\n\r\n`;
  if (!latin1) return head + body;
  const out = Buffer.allocUnsafe(head.length + bodyBytes);
  out.write(head, 0, 'latin1');
  out.write(body, head.length, 'utf8');
  return out;
}

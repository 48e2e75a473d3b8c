import { randomFillSync } from 'node:crypto';

/*
 * W3C Trace Context identifiers and OTLP timestamps. Ids come from a pooled buffer of crypto-random
 * bytes, so a span costs no system call of its own.
 */

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const pool = Buffer.alloc(4096);
let at = pool.length;

/** `bytes` random bytes as lowercase hex, never all zero (an all-zero trace or span id is invalid). */
export function randomHexId(bytes: 8 | 16): string {
  for (;;) {
    if (at + bytes > pool.length) {
      randomFillSync(pool);
      at = 0;
    }
    let out = '';
    let zero = true;
    for (let i = 0; i < bytes; i++) {
      const b = pool[at++];
      if (b !== 0) zero = false;
      out += HEX[b];
    }
    if (!zero) return out;
  }
}

export interface TraceParent {
  traceId: string;
  /** The caller's span: the parent of ours. */
  parentSpanId: string;
  /** The caller's sampled flag (trace-flags bit 0). */
  sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * A `traceparent` header (W3C Trace Context level 1), or null when absent or invalid, in which case the
 * spec says to start a new trace. Version ff is invalid; version 00 has exactly four fields; a later
 * version may append fields, which are ignored.
 */
export function parseTraceparent(header: string | undefined): TraceParent | null {
  if (!header) return null;
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return null;
  const [, version, traceId, parentSpanId, flags, rest] = m;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (traceId === ZERO_TRACE || parentSpanId === ZERO_SPAN) return null;
  return { traceId, parentSpanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/*
 * W3C Trace Context level 1, "Tracestate Header" (w3c/trace-context spec/20-http_request_header_format.md at
 * acab820be9db7b3433668baa5cdd43f57f4c4be0): a list of up to 32 key=value members separated by commas, with
 * optional spaces and tabs around each and empty members allowed. A key is a lowercase letter or a digit,
 * then up to 255 of a-z 0-9 _ - * / @; a value is up to 256 printable ASCII characters other than comma and
 * equals sign, not ending in a space.
 */
const TRACESTATE_MEMBER = /^[a-z0-9][a-z0-9_\-*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const TRACESTATE_MAX_MEMBERS = 32;

/**
 * An incoming `tracestate` (several header fields already joined with commas, as node:http joins them),
 * as the list to carry onto our spans, or undefined when it is absent, empty or invalid. As the W3C test
 * suite expects: one malformed member or a 33rd member discards the whole header (never a guessed part of
 * it); of a key given twice the first is kept. Read only beside a valid traceparent (the caller checks):
 * the spec says a vendor that failed to parse traceparent MUST NOT parse tracestate.
 */
export function parseTracestate(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const keys = new Set<string>();
  const members: string[] = [];
  let count = 0;
  for (const raw of header.split(',')) {
    const member = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    if (member === '') continue;
    if (++count > TRACESTATE_MAX_MEMBERS || !TRACESTATE_MEMBER.test(member)) return undefined;
    const key = member.slice(0, member.indexOf('='));
    if (keys.has(key)) continue;
    keys.add(key);
    members.push(member);
  }
  return members.length ? members.join(',') : undefined;
}

/**
 * Epoch milliseconds (fractional) as OTLP's fixed64 nanoseconds, a decimal string: exact, where a double
 * cannot hold ~1.8e18 ns. Written from three small integers, since turning a double as large as the epoch
 * ms into text costs several times more.
 */
export function unixNano(epochMs: number): string {
  if (!(epochMs > 0)) return '0';
  let whole = Math.floor(epochMs);
  let ns = Math.round((epochMs - whole) * 1e6);
  if (ns >= 1e6) {
    whole += 1;
    ns -= 1e6;
  }
  const high = Math.floor(whole / 1e6);
  const low = whole - high * 1e6;
  if (high > 0) return `${high}${six(low)}${six(ns)}`;
  return low > 0 ? `${low}${six(ns)}` : String(ns);
}

/** 0 ≤ n < 1e6 as exactly six digits. */
const six = (n: number): string => String(1e6 + n).slice(1);

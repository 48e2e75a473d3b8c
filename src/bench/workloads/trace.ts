import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { UsageError } from '../../errors.js';

/**
 * Trace replay (`--trace FILE.jsonl`): one request a line, sent at the line's time with a prompt of its input
 * length. Accepted field names (the first present wins):
 *   time    `timestamp` or `TIMESTAMP`: a number is ms since the trace began (Mooncake, AIPerf), a string an ISO
 *           date-time (Azure LLM inference traces, "2023-11-16 18:15:46.6805900", read as UTC without a zone)
 *   input   `input_length` (Mooncake), `input_tokens`, `prompt_tokens`, `ContextTokens` (Azure)
 *   output  `output_length` (Mooncake), `output_tokens`, `completion_tokens`, `GeneratedTokens` (Azure)
 *   blocks  `hash_ids` (Mooncake, optional): ids of 512-token blocks; equal ids give equal prompt text, so the
 *           trace's prefix sharing reaches the server's prompt cache
 * A file named *.csv is read as CSV with a header line naming these fields (the Azure traces' own form);
 * any other as JSONL, one object a line. The file is read line by line, twice (checked whole before anything
 * is sent, then replayed), never held whole.
 */
export interface TraceEntry {
  /** ms since the trace's first line. */
  atMs: number;
  inputTokens: number;
  outputTokens: number;
  hashIds?: number[];
  line: number;
}

/** Mooncake's block size: each hash id stands for this many tokens of prompt. */
export const TRACE_BLOCK_TOKENS = 512;
/** A line longer than this is not a trace record (a trace line is tens of bytes, or a few KB with hash_ids). */
const MAX_LINE_CHARS = 1_000_000;
const MAX_TOKENS = 10_000_000;

const TIME_KEYS = ['timestamp', 'TIMESTAMP'];
const INPUT_KEYS = ['input_length', 'input_tokens', 'prompt_tokens', 'ContextTokens'];
const OUTPUT_KEYS = ['output_length', 'output_tokens', 'completion_tokens', 'GeneratedTokens'];

function first(o: Record<string, unknown>, keys: string[]): [string, unknown] | undefined {
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) return [k, o[k]];
  return undefined;
}

/** "2023-11-16 18:15:46.6805900" → ms since the epoch (UTC when no zone is given); NaN when it is no date. */
function isoMs(text: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/.exec(text.trim());
  if (!m) return NaN;
  const frac = m[3] ? `.${m[3].slice(0, 3).padEnd(3, '0')}` : '';
  return Date.parse(`${m[1]}T${m[2]}${frac}${m[4] ?? 'Z'}`);
}

/** A field's value in a message: as JSON, but 1e400 (which JSON.parse reads as Infinity) as Infinity, not "null". */
function shown(v: unknown): string {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : JSON.stringify(v);
}

/** One JSONL line as a record. */
function jsonRecord(text: string, where: string): Record<string, unknown> {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new UsageError(`${where}: not valid JSON; each line is an object such as {"timestamp": 0, "input_length": 512, "output_length": 64} (a CSV trace, such as Azure's, needs a name ending in .csv)`);
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new UsageError(`${where}: expected a JSON object, got ${Array.isArray(o) ? 'an array' : JSON.stringify(o)}`);
  return o as Record<string, unknown>;
}

/** A CSV trace's header line: its column names, in order. */
function csvHeader(text: string, where: string): string[] {
  if (text.includes('"')) throw new UsageError(`${where}: quoted CSV fields are not read; give the column names bare, such as TIMESTAMP,ContextTokens,GeneratedTokens`);
  return text.split(',').map((c) => c.trim());
}

/**
 * One CSV row under its header as a record, as the Azure LLM inference traces publish theirs
 * (`TIMESTAMP,ContextTokens,GeneratedTokens`, unquoted): a field that reads as a number is one, any other a string.
 */
function csvRecord(text: string, header: string[], where: string): Record<string, unknown> {
  if (text.includes('"')) throw new UsageError(`${where}: quoted CSV fields are not read; a trace row holds numbers and date-times`);
  const fields = text.split(',').map((f) => f.trim());
  if (fields.length !== header.length) throw new UsageError(`${where}: ${fields.length} fields, but the header line names ${header.length} (${header.join(',')})`);
  const rec: Record<string, unknown> = {};
  header.forEach((name, i) => (rec[name] = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(fields[i]) ? Number(fields[i]) : fields[i]));
  return rec;
}

/** Reads one record into an entry. */
function parseRecord(rec: Record<string, unknown>, where: string): { time: number; inputTokens: number; outputTokens: number; hashIds?: number[] } {
  const t = first(rec, TIME_KEYS);
  if (!t) throw new UsageError(`${where}: no time; give "timestamp" (ms since the trace began, or an ISO date-time)`);
  const time = typeof t[1] === 'number' ? t[1] : typeof t[1] === 'string' ? isoMs(t[1]) : NaN;
  if (!Number.isFinite(time) || (typeof t[1] === 'number' && time < 0)) throw new UsageError(`${where}: "${t[0]}" is ${shown(t[1])}; expected ms since the trace began (a number ≥ 0) or an ISO date-time such as "2023-11-16 18:15:46.680"`);
  const count = (keys: string[], what: string, min: number): number => {
    const v = first(rec, keys);
    if (!v) throw new UsageError(`${where}: no ${what} length; give one of ${keys.map((k) => `"${k}"`).join(', ')}`);
    if (typeof v[1] !== 'number' || !Number.isInteger(v[1]) || v[1] < min || v[1] > MAX_TOKENS) throw new UsageError(`${where}: "${v[0]}" is ${shown(v[1])}; expected a whole number of tokens from ${min} to ${MAX_TOKENS.toLocaleString('en-US')}`);
    return v[1];
  };
  const inputTokens = count(INPUT_KEYS, 'input', 1);
  const outputTokens = count(OUTPUT_KEYS, 'output', 1);
  let hashIds: number[] | undefined;
  if (rec.hash_ids !== undefined) {
    if (!Array.isArray(rec.hash_ids) || !rec.hash_ids.every((h) => Number.isSafeInteger(h) && (h as number) >= 0)) throw new UsageError(`${where}: "hash_ids" must be a list of whole numbers ≥ 0`);
    hashIds = rec.hash_ids as number[];
  }
  return { time, inputTokens, outputTokens, hashIds };
}

/** The trace's requests as entries, streamed; a bad line throws a UsageError naming file:line. */
export async function* readTrace(file: string, speed = 1): AsyncGenerator<TraceEntry> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  let t0: number | undefined;
  let last = -Infinity;
  const csv = /\.csv$/i.test(file);
  let header: string[] | undefined;
  try {
    for await (const raw of lines) {
      n++;
      const text = raw.trim();
      if (!text) continue;
      const where = `--trace: ${file}:${n}`;
      if (text.length > MAX_LINE_CHARS) throw new UsageError(`${where}: the line is over ${MAX_LINE_CHARS.toLocaleString('en-US')} characters; a trace line is one request`);
      if (csv && !header) {
        header = csvHeader(text, where);
        continue;
      }
      const e = parseRecord(csv ? csvRecord(text, header!, where) : jsonRecord(text, where), where);
      t0 ??= e.time;
      if (e.time < last) throw new UsageError(`${where}: the time goes back (${e.time - t0} ms after the start, the line before was at ${last - t0} ms); sort the trace by time`);
      last = e.time;
      yield { atMs: (e.time - t0) / speed, inputTokens: e.inputTokens, outputTokens: e.outputTokens, hashIds: e.hashIds, line: n };
    }
  } finally {
    lines.close();
  }
}

export interface TraceSummary {
  file: string;
  requests: number;
  /** ms from the first to the last line, at the replay speed. */
  span_ms: number;
  speed: number;
}

/** Reads the whole trace once (streamed) to check every line before a request is sent. */
export async function checkTrace(file: string, speed: number): Promise<TraceSummary> {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    throw new UsageError(`--trace: cannot read "${file}" (no such file)`);
  }
  if (!stat.isFile()) throw new UsageError(`--trace: "${file}" is not a file; give a .jsonl trace`);
  let requests = 0;
  let span = 0;
  for await (const e of readTrace(file, speed)) {
    requests++;
    span = e.atMs;
  }
  if (requests === 0) throw new UsageError(`--trace: ${file} holds no requests (one JSON object a line)`);
  return { file, requests, span_ms: Math.round(span * 1000) / 1000, speed };
}

/** `--trace-speed 2x` (or `2`, `0.5x`): how much faster than recorded the trace is replayed. */
export function parseTraceSpeed(value: string | undefined): number {
  if (value === undefined) return 1;
  const m = /^\s*(\d+(?:\.\d+)?)\s*x?\s*$/i.exec(value);
  const n = m ? Number(m[1]) : NaN;
  if (!(n > 0) || n > 1000) throw new UsageError(`--trace-speed: "${value}" is not a speed-up such as 2x or 0.5x (greater than 0, at most 1000x)`);
  return n;
}

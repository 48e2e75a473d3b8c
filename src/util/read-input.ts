import { close, closeSync, constants, createReadStream, fstatSync, open, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { describeCode, UsageError } from '../errors.js';
import { formatMs } from './duration.js';

/**
 * Reads a prompt from a file, a device, a FIFO or stdin without ever growing past `limit` bytes or
 * waiting forever: `/dev/zero` stops at the limit, a FIFO nobody opens for writing and a stdin that
 * sends nothing give up after `stallMs` without a byte. Every failure is a UsageError naming the source.
 */
export interface InputLimits {
  limit: number;
  /** Longest wait for the next byte (and for a FIFO's writer). */
  stallMs: number;
  /** What the stall bound is, for the message (e.g. "the --timeout"). */
  stallName: string;
}

const MiB = 1024 * 1024;
/** A size as people read it ("9.0 MiB"); a limit is a whole number of MiB ("8 MiB"). */
const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
const limitMib = (n: number) => `${Math.round(n / MiB)} MiB`;

export async function readInputFile(file: string, limits: InputLimits): Promise<Buffer> {
  const where = `--file ${file}`;
  let stream: Readable;
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    if (st.isFile() && st.size > limits.limit) throw new UsageError(`${where}: the prompt is ${mib(st.size)}; the limit is ${limitMib(limits.limit)}`);
    // A FIFO read through the thread pool cannot be abandoned; as a socket it can (libuv makes it non-blocking).
    stream = st.isFIFO() ? new Socket({ fd: await openFifo(file, where, limits), readable: true, writable: false }) : createReadStream(file);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--file: cannot read "${file}" (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return readInputStream(stream, where, limits);
}

export function readInputStream(stream: Readable, where: string, limits: InputLimits): Promise<Buffer> {
  return readStream(stream, where, limits).finally(() => stream.destroy());
}

/** Opening a FIFO blocks until a writer opens it; give up after the stall bound and release our own open. */
async function openFifo(file: string, where: string, limits: InputLimits): Promise<number> {
  const pending = promisify(open)(file, 'r');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), limits.stallMs)));
  const first = await Promise.race([pending, timeout]);
  clearTimeout(timer);
  if (first !== 'timeout') return first;
  // Our open is blocked in the thread pool (and would keep the process alive): be its writer for a moment.
  try {
    closeSync(openSync(file, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // No reader left to release.
  }
  const fd = await pending.catch(() => undefined);
  if (fd !== undefined) close(fd, () => {});
  throw new UsageError(`${where}: no program opened this FIFO for writing within ${formatMs(limits.stallMs)} (${limits.stallName}); start the writer first, or pass the prompt another way`);
}

function readStream(stream: Readable, where: string, limits: InputLimits): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    const timer = setTimeout(() => finish(new UsageError(`${where}: no input arrived for ${formatMs(limits.stallMs)} (${limits.stallName}); is the program writing to it stalled?`)), limits.stallMs);
    const onData = (chunk: Buffer) => {
      n += chunk.length;
      if (n > limits.limit) return finish(new UsageError(`${where}: the prompt is over ${limitMib(limits.limit)}, the limit`));
      parts.push(chunk);
      timer.refresh();
    };
    const onEnd = () => finish();
    const onError = (e: NodeJS.ErrnoException) => finish(new UsageError(`${where}: cannot read (${e.code ?? e.message})`));
    function finish(err?: Error) {
      clearTimeout(timer);
      stream.off('data', onData).off('end', onEnd).off('error', onError);
      stream.pause();
      if (err) reject(err);
      else resolve(Buffer.concat(parts));
    }
    stream.on('data', onData).once('end', onEnd).once('error', onError);
  });
}

/** Why a file input could not be read; the caller words it (flag, file, how to fix). */
export class InputFileError extends Error {
  constructor(
    readonly reason: 'missing' | 'denied' | 'folder' | 'pipe' | 'too-big' | 'unreadable',
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'InputFileError';
  }
}

/**
 * Reads a whole input file (config, prompts, mock profile, result) synchronously, never more than
 * `limit` bytes and never waiting: a regular file over the limit is refused before reading, a device such
 * as /dev/zero stops at limit + 1 byte, and a FIFO or socket (whose open or read can wait forever for a
 * writer) is refused — opened non-blocking, so even a FIFO swapped in after a check cannot hang us.
 */
export function readFileBounded(file: string, limit: number): Buffer {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw fileError(e);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new InputFileError('folder', 'is a folder, not a file');
    if (st.isFIFO() || st.isSocket()) throw new InputFileError('pipe', `is a ${st.isFIFO() ? 'FIFO (named pipe)' : 'socket'}, which could wait forever for a writer; save the input to a file and pass that`);
    if (st.isFile() && st.size > limit) throw new InputFileError('too-big', `is ${mib(st.size)}; the limit is ${limitMib(limit)}`);
    // Chunks until the end or one byte past the limit (a /proc file says size 0 yet has text; /dev/zero never ends).
    const parts: Buffer[] = [];
    let n = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, limit + 1 - n));
      const got = readSync(fd, chunk, 0, chunk.length, null);
      if (got === 0) break;
      parts.push(chunk.subarray(0, got));
      n += got;
      if (n > limit) throw new InputFileError('too-big', `is over ${limitMib(limit)}, the limit`);
    }
    return Buffer.concat(parts, n);
  } catch (e) {
    throw e instanceof InputFileError ? e : fileError(e);
  } finally {
    closeSync(fd);
  }
}

function fileError(e: unknown): InputFileError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new InputFileError('missing', 'does not exist');
  if (code === 'EACCES' || code === 'EPERM') return new InputFileError('denied', `cannot be read (${describeCode(code)}); check its permissions`);
  if (code === 'EISDIR') return new InputFileError('folder', 'is a folder, not a file');
  // EAGAIN: a terminal or other device with nothing to read now; waiting for it could be forever.
  if (code === 'EAGAIN') return new InputFileError('pipe', 'has nothing to read without waiting (a terminal or device?); save the input to a file and pass that');
  return new InputFileError('unreadable', `cannot be read (${code ?? (e as Error).message})`);
}

/** `flag: "file" what is wrong` as a UsageError (exit 2), for inputs without a format of their own. */
export function readInputOrExplain(file: string, limit: number, flag: string): Buffer {
  try {
    return readFileBounded(file, limit);
  } catch (e) {
    if (e instanceof InputFileError) throw new UsageError(`${flag}: "${file}" ${e.detail}`);
    throw e;
  }
}

import { accessSync, appendFileSync, closeSync, constants, createWriteStream, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync, type WriteStream } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';

/**
 * Result files: every path is checked before a single request is sent (a finished run must not be lost
 * to a typo), and every file is written whole to a temporary sibling and renamed over the target, so a
 * full disk or a crash never leaves an earlier result truncated.
 */

/** Where an output goes: the flag or variable that named it, for messages. */
export interface OutputTarget {
  /** e.g. "--out", "--raw", "$GITHUB_STEP_SUMMARY" */
  source: string;
  file: string;
  /** Appended to (the step summary) instead of replaced. */
  append?: boolean;
}

/** Throws a UsageError naming the flag when the file could not be written: checked before any work. */
export function checkOutputPath(target: OutputTarget): void {
  const { source, file } = target;
  if (!file) throw new UsageError(`${source}: the file name is empty`);
  const path = resolve(file);
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`${source}: cannot use "${file}" (${(e as NodeJS.ErrnoException).code})`);
  }
  if (st?.isDirectory()) throw new UsageError(`${source}: "${file}" is a directory; give a file name`);
  if (st && target.append) {
    try {
      accessSync(path, constants.W_OK);
    } catch {
      throw new UsageError(`${source}: "${file}" is not writable`);
    }
    return;
  }
  const dir = dirname(path);
  let dst;
  try {
    dst = statSync(dir);
  } catch {
    throw new UsageError(`${source}: the directory of "${file}" does not exist (${dir}); create it first`);
  }
  if (!dst.isDirectory()) throw new UsageError(`${source}: "${dir}" is not a directory`);
  // A real probe rather than access(): it also catches read-only mounts and ACLs.
  const probe = tempName(path);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (e) {
    throw new UsageError(`${source}: cannot write in ${dir} (${(e as NodeJS.ErrnoException).code ?? 'error'}); choose another path`);
  }
}

export function checkOutputPaths(targets: OutputTarget[]): void {
  for (const t of targets) checkOutputPath(t);
}

/** A hidden sibling in the same directory, so the final rename never crosses file systems. */
export function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
}

/** Writes the whole text to a temporary sibling, flushes it, then renames it over the target. */
export function writeAtomic(file: string, text: string): void {
  const path = resolve(file);
  const tmp = tempName(path);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    const buf = Buffer.from(text);
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // Never created, or already renamed.
    }
    throw e;
  }
}

/** A write that did not happen, for the end-of-run report. */
export interface WriteFailure {
  source: string;
  file: string;
  reason: string;
}

/** Writes every output it can, and returns those it could not (the caller names them and fails the run). */
export function writeOutputs(outputs: (OutputTarget & { text: string })[]): WriteFailure[] {
  const failures: WriteFailure[] = [];
  for (const o of outputs) {
    try {
      if (o.append) appendFileSync(o.file, o.text);
      else writeAtomic(o.file, o.text);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      failures.push({ source: o.source, file: o.file, reason: err.code ?? err.message });
    }
  }
  return failures;
}

/** One line per failed write, e.g. `--out: could not write result.json (ENOSPC); the result above is complete`. */
export function failureLines(failures: WriteFailure[]): string[] {
  return failures.map((f) => `llm-fallback: ${f.source}: could not write ${f.file} (${f.reason}); the result printed above is all that was kept`);
}

/** `$GITHUB_STEP_SUMMARY` as an output target, when set (an empty value means unset). */
export function stepSummaryTarget(env: NodeJS.ProcessEnv = process.env): OutputTarget | undefined {
  const file = env.GITHUB_STEP_SUMMARY;
  return file ? { source: '$GITHUB_STEP_SUMMARY', file, append: true } : undefined;
}

/**
 * A file written line by line during a run (bench --raw): the lines go to a temporary sibling, renamed over
 * the target when the run ends, so a failed run never replaces an earlier file with a fragment.
 */
export class AtomicLineFile {
  private readonly path: string;
  private readonly tmp: string;
  private readonly stream: WriteStream;
  private error: NodeJS.ErrnoException | undefined;

  constructor(readonly target: OutputTarget) {
    this.path = resolve(target.file);
    this.tmp = tempName(this.path);
    let fd: number;
    try {
      fd = openSync(this.tmp, 'wx', 0o644);
    } catch (e) {
      throw new UsageError(`${target.source}: cannot write in ${dirname(this.path)} (${(e as NodeJS.ErrnoException).code ?? 'error'}); choose another path`);
    }
    this.stream = createWriteStream('', { fd });
    this.stream.on('error', (e: NodeJS.ErrnoException) => {
      this.error ??= e;
    });
  }

  /** False once a write failed: the caller can stop producing lines. */
  write(line: string): boolean {
    if (this.error) return false;
    this.stream.write(line);
    return true;
  }

  /** Drops the file: the run failed before it had anything worth keeping. */
  discard(): void {
    this.stream.destroy();
    try {
      unlinkSync(this.tmp);
    } catch {
      // Already gone.
    }
  }

  /** Flushes and renames; on any failure removes the temporary file and returns what went wrong. */
  close(): Promise<WriteFailure | undefined> {
    return new Promise((done) => {
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        if (!this.error) {
          try {
            renameSync(this.tmp, this.path);
            return done(undefined);
          } catch (e) {
            this.error = e as NodeJS.ErrnoException;
          }
        }
        try {
          unlinkSync(this.tmp);
        } catch {
          // Already gone.
        }
        done({ source: this.target.source, file: this.target.file, reason: this.error?.code ?? this.error?.message ?? 'error' });
      };
      if (this.stream.destroyed) return finish();
      this.stream.end(() => finish());
      this.stream.once('error', () => finish());
    });
  }
}

import { accessSync, appendFileSync, closeSync, constants, createWriteStream, fsyncSync, lstatSync, openSync, readlinkSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, type Stats, type WriteStream } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { describeCode, UsageError } from '../errors.js';

/**
 * Result files: every path is checked before a single request is sent (a finished run must not be lost
 * to a typo), and every regular file is written whole to a temporary sibling and renamed over the target, so
 * a full disk or a crash never leaves an earlier result truncated. A symlink is followed (the link stays, its
 * target gets the result); a character device or a FIFO (/dev/stdout, /dev/null, a named pipe) is written
 * directly, as a shell's `>` would; anything else that is not a regular file is refused.
 */

/** Where an output goes: the flag or variable that named it, for messages. */
export interface OutputTarget {
  /** e.g. "--out", "--raw", "$GITHUB_STEP_SUMMARY" */
  source: string;
  file: string;
  /** Appended to (the step summary) instead of replaced. */
  append?: boolean;
}

/** A file a command reads, which no output may name: e.g. `{ source: 'the result', file: 'keep.json' }`. */
export interface InputFile {
  source: string;
  file: string;
}

/** What a path leads to once symlinks are followed. */
export interface ResolvedPath {
  /** The path to open or rename onto: the symlink's final target for a link, else the absolute path. */
  path: string;
  /** stream: a character device or FIFO, written directly; absent: a new regular file. */
  kind: 'regular' | 'absent' | 'stream' | 'directory' | 'other';
  stat?: Stats;
}

const KINDS: [keyof Stats, string][] = [
  ['isSocket', 'a socket'],
  ['isBlockDevice', 'a block device'],
];

/** Follows symlinks (also a dangling one, to where it points) and says what is there. */
export function resolveOutputPath(file: string): ResolvedPath {
  const abs = resolve(file);
  let st: Stats | undefined;
  try {
    st = statSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw e;
  }
  if (st) {
    if (st.isFile()) return { path: realpathSync(abs), kind: 'regular', stat: st };
    if (st.isDirectory()) return { path: abs, kind: 'directory', stat: st };
    // Opened by the name given: /dev/stdout leads through /proc to a pipe that has no path of its own.
    if (st.isCharacterDevice() || st.isFIFO()) return { path: abs, kind: 'stream', stat: st };
    return { path: abs, kind: 'other', stat: st };
  }
  // Nothing there: a new file, or a dangling symlink whose target is to be created.
  let path = abs;
  for (let hops = 0; hops < 40; hops++) {
    let link: Stats;
    try {
      link = lstatSync(path);
    } catch {
      break;
    }
    if (!link.isSymbolicLink()) break;
    path = resolve(dirname(path), readlinkSync(path));
  }
  let dir = dirname(path);
  try {
    dir = realpathSync(dir);
  } catch {
    // A missing directory: checkOutputPath names it.
  }
  return { path: join(dir, basename(path)), kind: 'absent' };
}

/** Throws a UsageError naming the flag when the file could not be written: checked before any work. */
export function checkOutputPath(target: OutputTarget): void {
  const { source, file } = target;
  if (!file) throw new UsageError(`${source}: the file name is empty`);
  let r: ResolvedPath;
  try {
    r = resolveOutputPath(file);
  } catch (e) {
    throw new UsageError(`${source}: cannot use "${file}" (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (r.kind === 'directory') throw new UsageError(`${source}: "${file}" is a directory; give a file name`);
  if (r.kind === 'other') {
    const what = KINDS.find(([m]) => (r.stat![m] as () => boolean).call(r.stat))?.[1] ?? 'not a regular file';
    throw new UsageError(`${source}: "${file}" is ${what}, not a file; give a regular file, a FIFO or a character device such as /dev/stdout`);
  }
  if (r.kind === 'stream' || (r.kind === 'regular' && target.append)) {
    try {
      accessSync(r.path, constants.W_OK);
    } catch {
      throw new UsageError(`${source}: "${file}" is not writable`);
    }
    return;
  }
  const dir = dirname(r.path);
  let dst;
  try {
    dst = statSync(dir);
  } catch {
    throw new UsageError(`${source}: the directory of "${file}" does not exist (${dir}); create it first`);
  }
  if (!dst.isDirectory()) throw new UsageError(`${source}: "${dir}" is not a directory`);
  // A real probe rather than access(): it also catches read-only mounts and ACLs.
  const probe = tempName(r.path);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (e) {
    throw new UsageError(`${source}: cannot write in ${dir} (${(e as NodeJS.ErrnoException).code ?? 'error'}); choose another path`);
  }
}

/** The identity of a path for comparing outputs: device and inode when it exists, else its resolved path. */
function identity(r: ResolvedPath): string {
  return r.stat ? `ino:${r.stat.dev}:${r.stat.ino}` : `path:${r.path}`;
}

/**
 * Checks every output (see checkOutputPath), then that no two outputs, and no output and an input, are one
 * file (through symlinks too): one would overwrite the other. Two streams (e.g. /dev/null twice) are fine.
 */
export function checkOutputPaths(targets: OutputTarget[], inputs: InputFile[] = []): void {
  for (const t of targets) checkOutputPath(t);
  const seen = new Map<string, OutputTarget>();
  for (const t of targets) {
    const r = resolveOutputPath(t.file);
    if (r.kind === 'stream') continue;
    const id = identity(r);
    const other = seen.get(id);
    if (other) throw new UsageError(`${t.source}: "${t.file}" is the same file as ${other.source} "${other.file}"; one would overwrite the other, give each its own file`);
    seen.set(id, t);
  }
  for (const input of inputs) {
    let st: Stats;
    try {
      st = statSync(input.file);
    } catch {
      continue; // Reading it reports what is wrong.
    }
    if (!st.isFile()) continue;
    const t = seen.get(`ino:${st.dev}:${st.ino}`);
    if (t) throw new UsageError(`${t.source}: "${t.file}" is ${input.source} "${input.file}", which this command reads; writing there would destroy it, choose another file`);
  }
}

/** Temporary files not yet renamed: removed if the process exits before (a second Ctrl-C exits at once). */
const pending = new Set<string>();
process.on('exit', () => {
  for (const tmp of pending) {
    try {
      unlinkSync(tmp);
    } catch {
      // Already gone.
    }
  }
});

/** A hidden sibling in the same directory, so the final rename never crosses file systems. */
export function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
}

/** `prev.json` → `prev.partial.json`, `out` → `out.partial`: where a partial result goes beside an earlier one. */
export function partialName(file: string): string {
  const ext = extname(basename(file));
  return ext ? `${file.slice(0, -ext.length)}.partial${ext}` : `${file}.partial`;
}

/**
 * Writes the whole text to the file: a regular file (or a new one) through a temporary sibling, flushed and
 * renamed over the target (a symlink's target, so the link stays); a character device or FIFO directly.
 */
export function writeAtomic(file: string, text: string): void {
  const r = resolveOutputPath(file);
  const buf = Buffer.from(text);
  if (r.kind === 'stream') {
    const fd = openSync(r.path, 'w');
    try {
      for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off);
    } finally {
      closeSync(fd);
    }
    return;
  }
  if (r.kind === 'directory' || r.kind === 'other') {
    throw Object.assign(new Error(`${file} is not a regular file`), { code: r.kind === 'directory' ? 'EISDIR' : 'ENOTREG' });
  }
  const tmp = tempName(r.path);
  let fd: number | undefined;
  try {
    pending.add(tmp);
    fd = openSync(tmp, 'wx', 0o644);
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, r.path);
    pending.delete(tmp);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // Never created, or already renamed.
    }
    pending.delete(tmp);
    throw e;
  }
}

/**
 * Where a result goes: the file named, unless the result is partial and an earlier regular file is there,
 * which is kept; the partial result then goes beside it (`prev.partial.json`).
 */
export function destination(file: string, partial: boolean): string {
  if (!partial) return file;
  let r: ResolvedPath;
  try {
    r = resolveOutputPath(file);
  } catch {
    return file;
  }
  if (r.kind !== 'regular') return file;
  // Beside the name given; beside the link's target when the name is a symlink (its directory was checked).
  return lstatSync(resolve(file)).isSymbolicLink() ? partialName(r.path) : partialName(file);
}

/** A write that did not happen, for the end-of-run report. */
export interface WriteFailure {
  source: string;
  file: string;
  reason: string;
}

/** A partial result written beside an earlier file rather than over it. */
export interface Diverted {
  source: string;
  file: string;
  to: string;
}

/**
 * Writes every output it can, and returns those it could not (the caller names them and fails the run).
 * With `partial`, an existing regular file is kept and the text goes beside it; each such move is pushed onto `diverted`.
 */
export function writeOutputs(outputs: (OutputTarget & { text: string })[], opts: { partial?: boolean; diverted?: Diverted[] } = {}): WriteFailure[] {
  const failures: WriteFailure[] = [];
  for (const o of outputs) {
    let to = o.file;
    try {
      if (o.append) appendFileSync(o.file, o.text);
      else {
        to = destination(o.file, Boolean(opts.partial));
        writeAtomic(to, o.text);
        if (to !== o.file) opts.diverted?.push({ source: o.source, file: o.file, to });
      }
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      failures.push({ source: o.source, file: to, reason: err.code ? describeCode(err.code) : err.message });
    }
  }
  return failures;
}

/** One line per failed write, e.g. `--out: could not write result.json: ENOSPC (no space left on device); the result printed above is all that was kept`. */
export function failureLines(failures: WriteFailure[]): string[] {
  return failures.map((f) => `llm-fallback: ${f.source}: could not write ${f.file}: ${f.reason}; the result printed above is all that was kept`);
}

/** One line per partial result kept beside an earlier file. */
export function divertedLines(diverted: Diverted[]): string[] {
  return diverted.map((d) => `llm-fallback: ${d.source}: partial result written to ${d.to}; ${d.file} kept`);
}

/** `$GITHUB_STEP_SUMMARY` as an output target, when set (an empty value means unset). */
export function stepSummaryTarget(env: NodeJS.ProcessEnv = process.env): OutputTarget | undefined {
  const file = env.GITHUB_STEP_SUMMARY;
  return file ? { source: '$GITHUB_STEP_SUMMARY', file, append: true } : undefined;
}

/**
 * A file written line by line during a run (bench --raw): the lines go to a temporary sibling, renamed over
 * the target when the run ends, so a failed run never replaces an earlier file with a fragment (and a partial
 * run never replaces an earlier file: see destination()). A character device or FIFO gets the lines as they come.
 */
export class AtomicLineFile {
  private readonly resolved: ResolvedPath;
  private readonly tmp: string | undefined;
  private readonly stream: WriteStream;
  private error: NodeJS.ErrnoException | undefined;
  /** Set by close() when a partial result went beside an earlier file. */
  diverted: Diverted | undefined;

  constructor(readonly target: OutputTarget) {
    this.resolved = resolveOutputPath(target.file);
    if (this.resolved.kind === 'stream') {
      // Opened in the background: a FIFO's open waits for a reader, and the run need not wait with it.
      this.stream = createWriteStream(this.resolved.path, { flags: 'w' });
    } else {
      this.tmp = tempName(this.resolved.path);
      let fd: number;
      try {
        pending.add(this.tmp);
        fd = openSync(this.tmp, 'wx', 0o644);
      } catch (e) {
        pending.delete(this.tmp);
        throw new UsageError(`${target.source}: cannot write in ${dirname(this.resolved.path)} (${(e as NodeJS.ErrnoException).code ?? 'error'}); choose another path`);
      }
      this.stream = createWriteStream('', { fd });
    }
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
    this.removeTemp();
  }

  private removeTemp(): void {
    if (this.tmp === undefined) return;
    try {
      unlinkSync(this.tmp);
    } catch {
      // Already gone.
    }
    pending.delete(this.tmp);
  }

  /**
   * Flushes and renames (beside an earlier file when the run is `partial`); on any failure removes the
   * temporary file and returns what went wrong.
   */
  close(partial = false): Promise<WriteFailure | undefined> {
    return new Promise((done) => {
      let settled = false;
      let file = this.target.file;
      const finish = () => {
        if (settled) return;
        settled = true;
        if (!this.error && this.tmp !== undefined) {
          try {
            file = destination(this.target.file, partial);
            renameSync(this.tmp, file === this.target.file ? this.resolved.path : resolve(file));
            pending.delete(this.tmp);
            if (file !== this.target.file) this.diverted = { source: this.target.source, file: this.target.file, to: file };
            return done(undefined);
          } catch (e) {
            this.error = e as NodeJS.ErrnoException;
          }
        }
        this.removeTemp();
        if (!this.error) return done(undefined);
        done({ source: this.target.source, file, reason: this.error.code ? describeCode(this.error.code) : this.error.message });
      };
      if (this.stream.destroyed) return finish();
      // end()'s callback may run with the error before the 'error' listener has recorded it.
      this.stream.end((e?: Error | null) => {
        if (e) this.error ??= e as NodeJS.ErrnoException;
        finish();
      });
      this.stream.once('error', () => finish());
    });
  }
}

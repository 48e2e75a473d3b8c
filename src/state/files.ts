import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** $XDG_STATE_HOME/llm-fallback (breaker state), else ~/.local/state/llm-fallback. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'llm-fallback');
}

/** $XDG_CACHE_HOME/llm-fallback (cached answers), else ~/.cache/llm-fallback. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'llm-fallback');
}

/** Creates a directory readable by its owner only (0700), tightening it if it already exists. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/**
 * Writes a file atomically (temp file + rename in the same directory) with mode 0600, so a reader
 * in another process sees the old content or the new, never half of one.
 */
export function atomicWrite(file: string, text: string): void {
  ensurePrivateDir(dirname(file));
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

export function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

const LOCK_WAIT_MS = 3_000;
const LOCK_STALE_MS = 10_000;

/**
 * Runs `fn` while holding `file.lock` (created exclusively), so read-modify-write cycles from parallel
 * processes (CI jobs running `ask` at once) never lose each other's updates. A lock left by a crashed
 * process is taken over once it is older than 10 s.
 */
export function withLock<T>(file: string, fn: () => T): T {
  const lock = `${file}.lock`;
  ensurePrivateDir(dirname(file));
  const start = Date.now();
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) rmSync(lock, { force: true });
      } catch {
        // the holder removed it meanwhile
      }
      if (Date.now() - start > LOCK_WAIT_MS) throw new Error(`could not lock ${lock} within ${LOCK_WAIT_MS} ms`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5 + Math.random() * 10);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

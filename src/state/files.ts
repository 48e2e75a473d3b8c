import { closeSync, constants as C, fstatSync, openSync, readFileSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rm, writeFile, chmod } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** $XDG_STATE_HOME/llm-fallback (breaker state, latency history), else ~/.local/state/llm-fallback. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'llm-fallback');
}

/** $XDG_CACHE_HOME/llm-fallback (cached answers), else ~/.cache/llm-fallback. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'llm-fallback');
}

/** A state or cache location the tool refuses to use as it is; the message says what and how to fix it. */
export class StateDirError extends Error {}

/**
 * Creates the tool's own directory (0700), or checks the one that exists: it must be a real directory,
 * never a symlink (a link to a shared directory would make us chmod or fill someone else's files), and
 * writable. A directory of ours that is group/world-readable is tightened; a read-only one is reported,
 * never made writable behind the user's back.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await lstat(dir);
  if (st.isSymbolicLink()) throw new StateDirError(`${dir} is a symbolic link; llm-fallback does not follow links for its state — remove the link or point XDG_STATE_HOME/XDG_CACHE_HOME at a real directory`);
  if (!st.isDirectory()) throw new StateDirError(`${dir} is not a directory; remove it or point XDG_STATE_HOME/XDG_CACHE_HOME elsewhere`);
  const mine = typeof process.getuid !== 'function' || st.uid === process.getuid();
  if (!mine) throw new StateDirError(`${dir} belongs to another user; point XDG_STATE_HOME/XDG_CACHE_HOME at a directory of your own`);
  if ((st.mode & 0o200) === 0) throw new StateDirError(`${dir} is read-only; make it writable (chmod u+w ${dir}) or point XDG_STATE_HOME/XDG_CACHE_HOME elsewhere`);
  if ((st.mode & 0o077) !== 0) await chmod(dir, st.mode & 0o700);
}

/** Temporary files are named `<file>.<pid>.<random>.tmp`, so only ours are ever cleaned up. */
const TMP_NAME = /^(.+)\.(\d+)\.[a-z0-9]+\.tmp$/;

/**
 * Writes a file atomically (an exclusive temp file + rename in the same directory) with mode 0600, so a
 * reader in another process sees the old content or the new, never half of one. The temp file is created
 * exclusively (never through a link) and removed when the write fails; the rename replaces a link named
 * like the file, never writes through it. Temp files that earlier, killed writes left behind go too.
 */
export async function atomicWrite(file: string, text: string): Promise<void> {
  await ensurePrivateDir(dirname(file));
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
  await cleanStaleTmp(dirname(file));
}

/**
 * Reads a file of ours, never through a symbolic link (ELOOP is reported to the caller); undefined when
 * absent. Synchronous on purpose: state files are a few kB, read once per call, and a synchronous read costs
 * tens of microseconds where the first asynchronous one in a fresh process costs milliseconds.
 */
export async function readText(file: string): Promise<string | undefined> {
  let fd: number;
  try {
    fd = openSync(file, C.O_RDONLY | C.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    if (!fstatSync(fd).isFile()) throw Object.assign(new Error(`${file} is not a regular file`), { code: 'ENOTFILE' });
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Is the process that wrote a lock or temp file still running (on this machine)? */
function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temp files that a crashed or killed write left behind: ours by name, from a process that is
 * gone or older than a minute. Anything else in the directory is left alone.
 */
export async function cleanStaleTmp(dir: string, nowMs = Date.now()): Promise<number> {
  let n = 0;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const m = TMP_NAME.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    try {
      const st = await lstat(path);
      if (!st.isFile()) continue;
      if (alive(Number(m[2])) && nowMs - st.mtimeMs < 60_000) continue;
      await rm(path, { force: true });
      n++;
    } catch {
      // gone meanwhile
    }
  }
  return n;
}

/** A lock is someone else's for at most this long: every holder keeps it for one read-modify-write (milliseconds). */
export const LOCK_STALE_MS = 2_000;
/** Longest wait for a lock when the caller gives no earlier deadline. */
export const LOCK_WAIT_MS = 2_000;
/** Clocks of processes sharing a state directory may differ a little; a lock dated further ahead is bogus. */
const LOCK_FUTURE_SLACK_MS = 1_000;

export class LockTimeout extends Error {}

interface LockInfo {
  pid: number;
  at: number;
}

async function readLock(lock: string): Promise<LockInfo | undefined> {
  try {
    const st = await lstat(lock);
    let info: Partial<LockInfo> = {};
    if (st.isFile()) {
      try {
        info = JSON.parse(await readFile(lock, 'utf8')) as Partial<LockInfo>;
      } catch {
        // a lock from an older version, or half-written: judged by its mtime alone
      }
    }
    return { pid: typeof info.pid === 'number' ? info.pid : 0, at: typeof info.at === 'number' ? info.at : st.mtimeMs };
  } catch {
    return undefined;
  }
}

/** Why a lock may be taken over: its holder is gone, it is older than the bound, or it is dated in the future. */
export function lockIsStale(info: LockInfo, nowMs: number, holderAlive: (pid: number) => boolean = alive): string | undefined {
  if (info.at > nowMs + LOCK_FUTURE_SLACK_MS) return 'dated in the future';
  if (nowMs - info.at > LOCK_STALE_MS) return `older than ${LOCK_STALE_MS} ms`;
  if (info.pid > 0 && !holderAlive(info.pid)) return `its process ${info.pid} is gone`;
  return undefined;
}

/**
 * Runs `fn` while holding `file.lock` (created exclusively, holding our PID and the time), so
 * read-modify-write cycles from parallel processes (CI jobs running `ask` at once) never lose each
 * other's updates. Waiting never blocks the event loop and never passes `deadline` (epoch ms) or
 * LOCK_WAIT_MS; a lock whose holder is gone, that is older than LOCK_STALE_MS, or that is dated in the
 * future is taken over. Throws LockTimeout when the lock could not be had in time.
 */
export async function withLock<T>(file: string, fn: () => Promise<T>, deadline = Date.now() + LOCK_WAIT_MS): Promise<T> {
  const lock = `${file}.lock`;
  await ensurePrivateDir(dirname(file));
  const giveUp = Math.min(deadline, Date.now() + LOCK_WAIT_MS);
  for (let round = 0; ; round++) {
    try {
      await writeFile(lock, JSON.stringify({ pid: process.pid, at: Date.now() }), { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const info = await readLock(lock);
    if (info && lockIsStale(info, Date.now())) {
      // Move it aside first: of two processes judging the same stale lock, only one can rename it.
      const aside = `${lock}.${process.pid}.${round}.stale`;
      await rename(lock, aside).then(() => rm(aside, { force: true }), () => {});
      continue;
    }
    if (Date.now() >= giveUp) throw new LockTimeout(`${basename(lock)} is held by another process (pid ${info?.pid || 'unknown'}); gave up after waiting`);
    await new Promise((r) => setTimeout(r, Math.min(5 + Math.random() * 10, Math.max(1, giveUp - Date.now()))));
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

import { performance } from 'node:perf_hooks';

/** Monotonic milliseconds (fractional). Every event timestamp uses this clock, never Date.now(). */
export const now = (): number => performance.now();

/** Converts a monotonic timestamp to wall-clock epoch milliseconds, for result files. */
export const toEpochMs = (t: number): number => performance.timeOrigin + t;

let readsBegan = 0;
const endReads = (): void => {
  readsBegan = 0;
};
/** True while deferred work runs (loop-slices.ts): a read then is not one of a poll phase's. */
let deferredWork = false;

/** loop-slices.ts says when its deferred work starts and ends. */
export function markDeferredWork(running: boolean): void {
  deferredWork = running;
}

/**
 * The arrival time of bytes read from the network: the moment the current run of socket reads began.
 *
 * The event loop learns of every ready socket at once (one epoll wait) and then runs their callbacks one
 * after another. Bytes handled by the 100th callback of a burst were in the kernel's buffer when the
 * first ran, but `now()` there would stamp them after the 99 responses ahead of them were parsed and
 * their next requests sent: the client's own processing, counted as the provider's latency (at 100
 * synchronised streams, several milliseconds). So the first read of a run takes the time, and every read
 * until the loop moves on (an immediate, queued now, runs right after the poll phase) shares it.
 *
 * A read made by deferred work (a paused socket's resume releasing buffered bytes) is stamped alone, with
 * the time now: it is not one of a poll phase's, and a run begun then would outlive the turn (an immediate
 * queued in the check phase runs in the next turn's) and lend its early time to the next turn's reads.
 * Bytes that reached a socket while its run was being read share the run's time too, early by at most the
 * run's length (the reads themselves, not the decoding).
 */
export function ioNow(): number {
  if (deferredWork) return performance.now();
  if (readsBegan === 0) {
    readsBegan = performance.now();
    setImmediate(endReads);
  }
  return readsBegan;
}

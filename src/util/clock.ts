import { performance } from 'node:perf_hooks';

/** Monotonic milliseconds (fractional). Every event timestamp uses this clock, never Date.now(). */
export const now = (): number => performance.now();

/** Converts a monotonic timestamp to wall-clock epoch milliseconds, for result files. */
export const toEpochMs = (t: number): number => performance.timeOrigin + t;

let readsBegan = 0;
const endReads = (): void => {
  readsBegan = 0;
};

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
 * A read that did not come from the poll phase (data released by a paused socket's resume) can share a
 * stamp taken up to one loop turn earlier; callers bound it below by the request's own send time.
 */
export function ioNow(): number {
  if (readsBegan === 0) {
    readsBegan = performance.now();
    setImmediate(endReads);
  }
  return readsBegan;
}

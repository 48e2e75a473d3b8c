import { now } from '../util/clock.js';
import { sliceTimeout, type SliceTimer } from '../util/loop-slices.js';
import type { LiveAttempt } from './attempt.js';

export type Wake = { kind: 'token' | 'done'; attempt: LiveAttempt } | { kind: 'timer' } | { kind: 'abort' };

/**
 * Waits for the next thing the chain must react to: an attempt's first token, an attempt ending, the
 * timer (a hedge falling due, a retry becoming ready) at monotonic `wakeAt`, or the caller's abort. The
 * timer and the abort listener are always removed before returning, so nothing of a finished call keeps
 * the process alive.
 */
export async function nextWake(running: readonly LiveAttempt[], wakeAt: number | undefined, signal: AbortSignal | undefined): Promise<Wake> {
  let timer: SliceTimer | undefined;
  let onAbort: (() => void) | undefined;
  const waits: Promise<Wake>[] = [];
  for (const a of running) {
    if (!a.gotToken) waits.push(a.firstToken.then(() => ({ kind: a.gotToken ? 'token' : 'done', attempt: a }) as Wake));
    waits.push(a.done.then(() => ({ kind: 'done', attempt: a }) as Wake));
  }
  // In a slice: a first token read before the hedge fell due, not yet decoded, wins over the hedge.
  if (wakeAt !== undefined) waits.push(new Promise((resolve) => (timer = sliceTimeout(() => resolve({ kind: 'timer' }), Math.max(0, wakeAt - now())))));
  if (signal) {
    if (signal.aborted) return { kind: 'abort' };
    waits.push(new Promise((resolve) => signal.addEventListener('abort', (onAbort = () => resolve({ kind: 'abort' })), { once: true })));
  }
  try {
    return await Promise.race(waits);
  } finally {
    timer?.cancel();
    if (onAbort) signal!.removeEventListener('abort', onAbort);
  }
}

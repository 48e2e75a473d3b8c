import { performance } from 'node:perf_hooks';

/** Monotonic milliseconds (fractional). Every event timestamp uses this clock, never Date.now(). */
export const now = (): number => performance.now();

/** Converts a monotonic timestamp to wall-clock epoch milliseconds, for result files. */
export const toEpochMs = (t: number): number => performance.timeOrigin + t;

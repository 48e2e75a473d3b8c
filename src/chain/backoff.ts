/**
 * Exponential backoff with full jitter (a random wait between 0 and base·2^retry, capped), unless the
 * server said how long to wait: then that, exactly.
 */
export function backoffMs(retry: number, retryAfterMs: number | undefined, baseMs: number, capMs: number, random: () => number): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** retry));
}

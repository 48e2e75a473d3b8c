/** Waits `ms`; an abort signal ends the wait early (the caller checks the signal). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Milliseconds rounded to the microsecond, for results people read. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

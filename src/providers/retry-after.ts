/**
 * Reads how long the server asked us to wait: `retry-after-ms` (milliseconds) first, then
 * `retry-after` as seconds or as an HTTP date, as the Stainless SDKs do. Returns undefined when absent
 * or unreadable.
 */
export function retryAfterMs(headers: Record<string, string>, nowEpochMs = Date.now()): number | undefined {
  const ms = headers['retry-after-ms'];
  if (ms !== undefined) {
    const v = Number(ms);
    if (Number.isFinite(v) && v >= 0) return v;
  }
  const ra = headers['retry-after'];
  if (ra === undefined) return undefined;
  const trimmed = ra.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isFinite(date)) return Math.max(0, date - nowEpochMs);
  return undefined;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Node runs a timer longer than this (2^31-1 ms, about 24.8 days) after 1 ms instead, so no duration may exceed it. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Parses "250ms", "1.5s", "2m", "1h" into milliseconds; returns undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * UNITS[m[2]];
}

/**
 * Reads a duration someone wrote (a flag or a config value) and says what is wrong with it, in the same
 * words for both: no unit, not a duration, zero, or longer than a timer can run.
 */
export function checkDuration(text: string, maxMs = MAX_TIMER_MS): { ms: number } | { problem: string } {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return { problem: `${t} has no unit; write a duration like "${t}s" or "${t}ms"` };
  const ms = parseDuration(t);
  if (ms === undefined) return { problem: `"${text}" is not a duration; write it like "500ms", "10s", "2m" or "1h"` };
  if (ms <= 0) return { problem: `must be greater than zero, got "${t}"` };
  if (ms > maxMs) return { problem: `"${t}" is too long; the longest is ${formatLimit(maxMs)}` };
  return { ms };
}

function formatLimit(ms: number): string {
  return ms === MAX_TIMER_MS ? '596h (about 24.8 days, the longest a Node timer can run)' : `${Math.floor(ms / 3_600_000)}h`;
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms >= 100) return `${Math.round(ms)}ms`;
  if (ms >= 10) return `${ms.toFixed(1)}ms`;
  return `${ms.toFixed(2)}ms`;
}

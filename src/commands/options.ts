import { UsageError } from '../errors.js';
import { parseDuration } from '../util/duration.js';

/** Flag parsers: each failure names the flag, what was given and what is expected. */
export function intFlag(flag: string, value: string | undefined, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag}: "${value}" is not a whole number ≥ ${min}`);
  return n;
}

export function numberFlag(flag: string, value: string | undefined, min: number, max = Infinity): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`${flag}: "${value}" is not a number between ${min} and ${max}`);
  return n;
}

export function positiveNumberFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag}: "${value}" is not a number greater than 0`);
  return n;
}

export function durationFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw new UsageError(`${flag}: "${value}" is not a duration; write it like "500ms", "30s" or "2m"`);
  return ms;
}

export function choiceFlag<T extends string>(flag: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!choices.includes(value as T)) throw new UsageError(`${flag}: "${value}" is not one of ${choices.join(', ')}`);
  return value as T;
}

/** A percentage ("10%") or a fraction ("0.1"). */
export function ratioFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(value.trim());
  if (!m) throw new UsageError(`${flag}: "${value}" is not a percentage like "10%"`);
  return m[2] ? Number(m[1]) / 100 : Number(m[1]);
}

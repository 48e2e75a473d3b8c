import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { checkDuration } from '../util/duration.js';
import { checkPercent } from '../util/percent.js';

/** Flag parsers: each failure names the flag, what was given and what is expected. */
/** Upper bound of a whole-number flag unless the caller names a tighter one: far past any real use, far below overflow. */
export const MAX_WHOLE_FLAG = 1_000_000_000;

/** A whole number written in digits ("1e3", "0x10", "" and "1.0" are refused), between min and max. */
export function intFlag(flag: string, value: string | undefined, min = 1, max = MAX_WHOLE_FLAG): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag}: "${value}" is not a whole number between ${min} and ${max.toLocaleString('en-US')}`);
  }
  return n;
}

export function numberFlag(flag: string, value: string | undefined, min: number, max = Infinity): number | undefined {
  if (value === undefined) return undefined;
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`${flag}: "${value}" is not a number between ${min} and ${max}`);
  return n;
}

export function positiveNumberFlag(flag: string, value: string | undefined, max = MAX_WHOLE_FLAG): number | undefined {
  if (value === undefined) return undefined;
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag}: "${value}" is not a number greater than 0`);
  if (n > max) throw new UsageError(`${flag}: "${value}" is more than ${max.toLocaleString('en-US')}, the most this flag accepts`);
  return n;
}

/** A duration flag, in the config validator's words (checkDuration), never longer than a timer can run. */
export function durationFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const d = checkDuration(value);
  if ('problem' in d) throw new UsageError(`${flag}: ${d.problem}`);
  return d.ms;
}

export function choiceFlag<T extends string>(flag: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!choices.includes(value as T)) throw new UsageError(`${flag}: "${value}" is not one of ${choices.join(', ')}`);
  return value as T;
}

/**
 * A percentage, always written with "%" (returned as a fraction). A bare number is refused because it
 * reads two ways ("5" as 5 % or as 500 %); the message suggests the percentage. `maxPercent` bounds it.
 */
export function ratioFlag(flag: string, value: string | undefined, maxPercent = 100): number | undefined {
  if (value === undefined) return undefined;
  const p = checkPercent(value, maxPercent);
  if ('problem' in p) throw new UsageError(`${flag}: ${p.problem}`);
  return p.fraction;
}

/** A file to write after the run: its directory must exist now, so a long run is not lost to a typo. */
export function outputFileFlag(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const dir = dirname(resolve(value));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${flag}: cannot write "${value}": the directory ${dir} does not exist; create it or choose another path`);
  if (existsSync(value) && statSync(value).isDirectory()) throw new UsageError(`${flag}: "${value}" is a directory; give a file name, e.g. ${join(value, 'report.html')}`);
  return value;
}

/**
 * A failure to listen as one line naming what to change (serve and mock share it): the port in use or
 * privileged, or a host this machine cannot bind or resolve (256.1.1.1, a typo). `hostName` is the flag, or
 * the config key and its position when the host came from the config. Undefined for anything else.
 */
export function listenFailure(e: unknown, port: number, host: string, hostName = '--host'): UsageError | undefined {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new UsageError(`--port: ${port} is already in use on ${host}; pick another or use --port 0`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL') return new UsageError(`${hostName}: cannot bind ${host} on this machine`);
  if (code === 'EACCES') return new UsageError(`--port: ${port} needs privileges to bind; use a port above 1023`);
  return undefined;
}

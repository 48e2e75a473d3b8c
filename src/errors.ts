import { redact } from './util/redact.js';

/**
 * Errors the user can fix (bad flags, bad config): exit code 2, one line, no stack trace.
 */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    // A message may quote what the user wrote (a config value, a flag), and a key pasted in the wrong
    // place is then in it: masked here, where the error is made, as a library's caller prints it
    // without the CLI's redaction.
    super(redact(message));
    this.name = 'UsageError';
  }
}

/**
 * A request field a provider of the route cannot be sent (its dialect has no such field, or a thinking
 * budget its max tokens leave no room for): refused before any provider is called, never silently dropped.
 * `field` is the caller's name for it (CallRequest's), `reason` the provider's side of the story.
 */
export class RefusedFieldError extends UsageError {
  constructor(
    readonly field: string,
    readonly reason: string,
    who: string,
  ) {
    super(`${who}: ${field}: ${reason}`);
    this.name = 'RefusedFieldError';
  }
}

/** A config problem, already formatted as `file:line:col: what is wrong; how to fix it`. */
export class ConfigError extends UsageError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.problems = problems.map(redact);
    this.name = 'ConfigError';
  }
}

/** A Node error code in words, for one-line messages: `ENOSPC (no space left on device)`. */
export function describeCode(code: string | undefined): string {
  const words: Record<string, string> = {
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
    EFBIG: 'file too large',
    EIO: 'input/output error',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    EPIPE: 'broken pipe',
    ENXIO: 'no reader on the other end',
    EAGAIN: 'would block',
  };
  if (!code) return 'error';
  return words[code] ? `${code} (${words[code]})` : code;
}

/**
 * Errors the user can fix (bad flags, bad config): exit code 2, one line, no stack trace.
 */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A config problem, already formatted as `file:line:col: what is wrong; how to fix it`. */
export class ConfigError extends UsageError {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

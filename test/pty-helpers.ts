import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BIN } from './cli-helpers.js';

// Terminal behaviour is checked on a real pseudo-terminal: test/pty/drive.py runs the CLI with its
// stderr (and stdin, and unless piped its stdout) on a pty it controls, types keys, and reads the
// terminal's modes (termios) while the run is under way and after it ended.
const DRIVER = fileURLToPath(new URL('./pty/drive.py', import.meta.url));

export interface Pty {
  exit: number;
  output: string;
  stdout: string;
  seen: boolean;
  sent: boolean;
  during: { icanon: boolean; isig: boolean; echo: boolean } | null;
  after: { icanon: boolean; isig: boolean; echo: boolean };
  timed_out: boolean;
}

/** `waitFor` is a regular expression; `delay` (s) after it appeared, `send` is typed (e.g. "\u0003" for Ctrl-C). */
export function onTerminal(spec: { args: string[]; env?: Record<string, string>; cols?: number; stdoutPipe?: boolean; waitFor?: string; delay?: number; send?: string; timeout?: number }): Promise<Pty> {
  const input = { argv: [process.execPath, BIN, ...spec.args], env: spec.env ?? {}, cols: spec.cols ?? 100, stdout_pipe: spec.stdoutPipe, wait_for: spec.waitFor ?? '', delay: spec.delay ?? 0, send: spec.send ?? null, timeout: spec.timeout ?? 30 };
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [DRIVER, JSON.stringify(input)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', () => {
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`pty driver failed: ${err}`));
      }
    });
  });
}

import { spawn } from 'node:child_process';
import { BIN } from './cli-helpers.js';

/**
 * Runs the CLI on a real pseudo-terminal (python3's pty module): stdin, stdout and stderr are one TTY,
 * 100 columns wide. Once `waitFor` has appeared in the output and `afterMs` more have passed, types Ctrl-C
 * (the terminal turns it into SIGINT, as for a user). Bounded: killed after `timeoutMs`.
 */
export function runOnPty(args: string[], opts: { env?: NodeJS.ProcessEnv; waitFor?: string; afterMs?: number; timeoutMs?: number } = {}): Promise<{ code: number; out: string; sentAt: number | null }> {
  const script = String.raw`
import fcntl, json, os, pty, select, struct, sys, termios, time
argv, wait_for, after, timeout = json.loads(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 30, 100, 0, 0))
out, found, sent, start = b'', None, None, time.time()
while True:
    r, _, _ = select.select([fd], [], [], 0.02)
    if r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    if wait_for and found is None and wait_for.encode() in out:
        found = time.time()
    if wait_for and found is not None and sent is None and time.time() - found >= after:
        os.write(fd, b'\x03')
        sent = time.time() - start
    if time.time() - start > timeout:
        os.kill(pid, 9)
        break
_, status = os.waitpid(pid, 0)
code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
print(json.dumps({'code': code, 'out': out.decode('utf8', 'replace'), 'sentAt': sent}))
`;
  const argv = [process.execPath, BIN, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', script, JSON.stringify(argv), opts.waitFor ?? '', String((opts.afterMs ?? 0) / 1000), String((opts.timeoutMs ?? 30_000) / 1000)], {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', () => {
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`pty runner failed: ${stderr}`));
      }
    });
  });
}

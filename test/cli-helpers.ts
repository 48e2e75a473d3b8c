import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../bin/llm-fallback.js', import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the compiled CLI (npm test builds it first) with a bounded wall time. */
export function run(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string | Buffer; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`llm-fallback ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 30_000}ms\n${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export { spawnMock as spawnEmulator, type MockProcess as SpawnedEmulator } from '../src/perf/mock-process.js';

/** Starts the CLI in the background, for tests that interrupt it. */
export function startCli(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (out.stdout += d));
  child.stderr.on('data', (d) => (out.stderr += d));
  return {
    out,
    /** Sends a signal and resolves with the exit code and how long the exit took. */
    signal(sig: NodeJS.Signals): Promise<{ code: number | null; ms: number }> {
      const t0 = Date.now();
      return new Promise((resolve) => {
        child.on('close', (code) => resolve({ code, ms: Date.now() - t0 }));
        child.kill(sig);
      });
    },
  };
}

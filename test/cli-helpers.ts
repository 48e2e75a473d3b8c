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

export interface SpawnedEmulator {
  url: string;
  baseUrl(provider: string): string;
  injected(provider: string): Promise<{ ttftMs: number; totalMs: number; tokens: number }[]>;
  reset(): Promise<void>;
  /** Stops it with SIGTERM; resolves with its exit code. */
  close(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs `llm-fallback mock --port 0` as its own process, so that measurements made by the test process do
 * not share an event loop or a garbage collector with the emulator.
 */
export async function spawnEmulator(profile: object | string): Promise<SpawnedEmulator> {
  let file = profile as string;
  if (typeof profile !== 'string') {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    file = join(mkdtempSync(join(tmpdir(), 'llmf-mock-')), 'profile.json');
    writeFileSync(file, JSON.stringify(profile));
  }
  const child = spawn(process.execPath, [BIN, 'mock', '--port', '0', '--profile', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`emulator did not start: ${out}${err}`)), 10_000);
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`emulator exited (${code}): ${err}`)));
  });
  return {
    url,
    baseUrl: (p) => `${url}/${p}/v1`,
    injected: async (p) => (await fetch(`${url}/_mock/providers/${p}/injected`)).json() as Promise<{ ttftMs: number; totalMs: number; tokens: number }[]>,
    reset: async () => {
      await fetch(`${url}/_mock/reset`, { method: 'POST' });
    },
    close: (signal = 'SIGTERM') =>
      new Promise<number | null>((resolve) => {
        child.on('close', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}

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

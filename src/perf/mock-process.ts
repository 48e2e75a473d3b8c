import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventLoopLateness, InjectedTiming } from '../mock/server.js';

export const BIN = fileURLToPath(new URL('../../bin/llm-fallback.js', import.meta.url));

export interface MockProcess {
  url: string;
  pid: number;
  baseUrl(provider: string): string;
  injected(provider: string): Promise<InjectedTiming[]>;
  reset(): Promise<void>;
  /**
   * Serves `requests` streamed chat requests for `provider`, `concurrency` at a time over as many fresh
   * connections, from Node's own HTTP client (not bench's), then clears the logs (reset): the emulator
   * then stands for a provider that has been serving for a while, not a process whose first requests and
   * connections run cold code. Measured on the 2-core machine: a fresh emulator took up 100 new connections
   * and their first requests over 50–80 ms, a warmed one over ~10 ms, a wait the client counts as the
   * provider's latency and the emulator's log does not.
   */
  warm(provider: string, requests: number, concurrency: number): Promise<void>;
  /** How late the emulator's event loop ran since its last reset (ms). */
  eventLoop(): Promise<EventLoopLateness | null>;
  /** CPU time (user + system, ms) the emulator process has used so far. */
  cpuMs(): number;
  close(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs `llm-fallback mock --port 0` as its own process (a profile object, or a built-in name), so a
 * client being measured shares neither its event loop nor its garbage collector.
 */
export async function spawnMock(profile: object | string): Promise<MockProcess> {
  let file = profile as string;
  if (typeof profile !== 'string') {
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
    pid: child.pid!,
    baseUrl: (p) => `${url}/${p}/v1`,
    injected: async (p) => (await fetch(`${url}/_mock/providers/${p}/injected`)).json() as Promise<InjectedTiming[]>,
    eventLoop: async () => (await fetch(`${url}/_mock/event-loop`)).json() as Promise<EventLoopLateness | null>,
    reset: async () => {
      await fetch(`${url}/_mock/reset`, { method: 'POST' });
    },
    warm: async (provider, requests, concurrency) => {
      const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
      const body = JSON.stringify({ model: provider, stream: true, messages: [{ role: 'user', content: 'warm-up' }] });
      const one = () =>
        new Promise<void>((resolve, reject) => {
          const req = request(`${url}/${provider}/v1/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
            if (res.statusCode !== 200) reject(new Error(`emulator warm-up: ${provider} answered ${res.statusCode}`));
            res.resume();
            res.on('end', resolve);
            res.on('error', reject);
          });
          req.on('error', reject);
          req.end(body);
        });
      try {
        await Promise.all(Array.from({ length: requests }, one));
      } finally {
        agent.destroy();
      }
      await fetch(`${url}/_mock/reset`, { method: 'POST' });
    },
    cpuMs: () => cpuMsOf(child.pid!),
    close: (signal = 'SIGTERM') =>
      new Promise<number | null>((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.on('close', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}

/** CPU time (user + system, ms) a process, or with `thread` one of its threads, has used so far, from /proc (Linux). */
export function cpuMsOf(pid: number, thread?: number): number {
  const fields = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of /proc/PID/stat, in clock ticks (100 per second on Linux)
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Resident memory of a process now (MiB), from /proc (Linux). */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

// The emulator's request rate beside a bare node:http server that sends the same bytes, each in its own
// process and driven by the same autocannon load. Run alone: npm run build && node dist/perf/emulator-throughput.js
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { cpuMsOf, spawnMock } from './mock-process.js';

const CONNECTIONS = 50;
const SECONDS = 5;
const REQUEST = JSON.stringify({ model: 'instant', messages: [{ role: 'user', content: 'Explain the CAP theorem.' }], stream: false });

interface Cannon {
  (opts: object): Promise<{ requests: { average: number }; latency: { p50: number; p99: number }; non2xx: number; '2xx': number }>;
}
const autocannon = createRequire(import.meta.url)('autocannon') as Cannon;

/** A node:http server that answers every request with the given status line, headers and body, nothing else. */
const BARE_SERVER = `
const { createServer } = require('node:http');
const { status, headers, body } = JSON.parse(process.env.BARE_REPLY);
const s = createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(status, headers); res.end(body); });
});
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + s.address().port));
`;

export function startBare(reply: { status: number; headers: Record<string, string>; body: string }): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', BARE_SERVER], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BARE_REPLY: JSON.stringify(reply) } });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve({ url: m[1], child });
    });
    child.once('exit', (code) => reject(new Error(`bare server exited (${code})`)));
  });
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  /** Requests served per second of the server's own CPU time: the figure the machine's load distorts least. */
  perCpuSecond: number;
  errors: number;
}

async function load(url: string, pid: number): Promise<Run> {
  const opts = { url, connections: CONNECTIONS, method: 'POST', headers: { 'content-type': 'application/json' }, body: REQUEST };
  await autocannon({ ...opts, duration: 1 }); // warm-up
  const cpu0 = cpuMsOf(pid);
  const r = await autocannon({ ...opts, duration: SECONDS });
  const cpuS = (cpuMsOf(pid) - cpu0) / 1000;
  const served = r['2xx'];
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, perCpuSecond: served / Math.max(cpuS, 0.01), errors: r.non2xx };
}

/** One real emulator answer (status, headers, body bytes), for a bare server to replay. */
export async function sampleReply(url: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const sample = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: REQUEST });
  const headers: Record<string, string> = {};
  sample.headers.forEach((v, k) => {
    if (k !== 'date' && k !== 'connection' && k !== 'keep-alive') headers[k] = v;
  });
  return { status: sample.status, headers, body: await sample.text() };
}

/** Measures both servers, one after the other, and returns the BENCHMARKS.md section. */
export async function emulatorThroughput(): Promise<string[]> {
  const mock = await spawnMock('instant');
  const url = `${mock.baseUrl('instant')}/chat/completions`;
  const reply = await sampleReply(url);
  const emu = await load(url, mock.pid);
  await mock.close();
  const bare = await startBare(reply);
  const base = await load(`${bare.url}/v1/chat/completions`, bare.child.pid!);
  bare.child.kill();
  const r = (a: Run) => `${Math.round(a.rps)} | ${a.p50} ms | ${a.p99} ms | ${Math.round(a.perCpuSecond)} | ${a.errors}`;
  return [
    '## Emulator throughput beside a bare node:http server',
    '',
    `The zero-latency \`instant\` provider answering non-streamed requests, against a bare \`node:http\` server that sends the same status, headers and ${Buffer.byteLength(reply.body)}-byte body for every request. Each server in its own process; autocannon, ${CONNECTIONS} connections, ${SECONDS} s each. "Per CPU-second" divides the answers served by the server process's own CPU time, so it is the figure other load on the machine distorts least.`,
    '',
    '| server | requests/s | p50 | p99 | requests per server CPU-second | non-2xx |',
    '|---|--:|--:|--:|--:|--:|',
    `| llm-fallback mock (\`instant\`) | ${r(emu)} |`,
    `| bare node:http, same bytes | ${r(base)} |`,
    '',
    `**Emulator / bare: ${(emu.perCpuSecond / base.perCpuSecond).toFixed(2)} per CPU-second, ${(emu.rps / base.rps).toFixed(2)} in requests/s.**`,
    '',
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${(await emulatorThroughput()).join('\n')}\n`);
}

// npm run perf, gateway section: what `llm-fallback serve` adds over calling the emulator directly.
// The emulator, the gateway and this client each run in their own process. Run alone:
// npm run build && node dist/perf/gateway.js [requests-for-memory]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentile } from '../bench/self-check.js';
import { FAILOVER_PROFILE, failoverConfig, SCENARIOS } from './failover.js';
import { BIN, cpuMsOf, rssMiB, spawnMock, type MockProcess } from './mock-process.js';

interface Cannon {
  (opts: object): Promise<{ requests: { average: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number; '2xx': number }>;
}
const autocannon = createRequire(import.meta.url)('autocannon') as Cannon;

const CONNECTIONS = 50;
const SECONDS = 5;
/** Requests per side in the interleaved latency and TTFT runs (after WARMUP each). */
const PAIRS = 2_000;
const WARMUP = 300;
/** Requests through the gateway for the memory figure, measured at these marks. */
const MEMORY_REQUESTS = 1_000_000;

const body = (stream: boolean) => JSON.stringify({ model: 'instant', messages: [{ role: 'user', content: 'Explain the CAP theorem.' }], stream });
const f1 = (v: number) => (Math.round(v * 10) / 10).toString();
const f2 = (v: number) => v.toFixed(2);
const f3 = (v: number) => v.toFixed(3);

export interface ServeProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  close(): Promise<number | null>;
}

/** `llm-fallback serve --port 0` as its own process; resolves once it prints its listening line. */
export function spawnServe(args: string[]): Promise<ServeProcess> {
  return spawnListening([BIN, ...args, '--port', '0'], 'serve');
}

/** `node ARGS` as its own process, resolved with its URL once it prints `listening http://…` on stdout. */
function spawnListening(args: string[], what: string): Promise<ServeProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  // serve's access log goes to stderr: keep only its tail, for a start-up error.
  child.stderr!.on('data', (d) => (err = (err + d).slice(-2000)));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${out}${err}`)), 15_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /^listening (http:\/\/\S+)$/m.exec(out);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        url: m[1],
        pid: child.pid!,
        child,
        close: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done(child.exitCode);
            child.on('close', (code) => done(code));
            child.kill('SIGTERM');
          }),
      });
    });
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}): ${err}`)));
  });
}

/** One POST on a keep-alive agent: ms to the first body byte that carries content (streams) and to the end. */
function timed(agent: Agent, url: string, payload: string, stream: boolean): Promise<{ firstMs: number; totalMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let first = 0;
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let tail = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (first === 0 && (!stream || (tail + d).includes('"content":"'))) first = Number(process.hrtime.bigint() - t0) / 1e6;
        if (first === 0) tail = d.slice(-16);
      });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${url}: HTTP ${res.statusCode}`));
        resolve({ firstMs: first, totalMs: Number(process.hrtime.bigint() - t0) / 1e6 });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Requests to each URL alternated one by one at concurrency 1 (one keep-alive connection each), so drift in
 * the machine's load affects every side alike. Returns ms per request per side, in the order given.
 */
async function interleaved(urls: string[], stream: boolean): Promise<number[][]> {
  const agents = urls.map(() => new Agent({ keepAlive: true, maxSockets: 1 }));
  const payload = body(stream);
  const out = urls.map(() => [] as number[]);
  for (let i = 0; i < WARMUP + PAIRS; i++) {
    // Rotate which goes first, so no side always runs right after another's garbage.
    for (let k = 0; k < urls.length; k++) {
      const side = (i + k) % urls.length;
      const r = await timed(agents[side], urls[side], payload, stream);
      if (i >= WARMUP) out[side].push(stream ? r.firstMs : r.totalMs);
    }
  }
  for (const a of agents) a.destroy();
  return out;
}

/** `node dist/perf/relay.js KIND UPSTREAM` (see relay.ts) as its own process. */
function spawnRelay(kind: 'tcp' | 'http', upstream: string): Promise<ServeProcess> {
  return spawnListening([fileURLToPath(new URL('./relay.js', import.meta.url)), kind, upstream], `relay ${kind}`);
}

function configFor(mock: MockProcess): string {
  const dir = mkdtempSync(join(tmpdir(), 'llmf-perf-gw-'));
  const file = join(dir, 'providers.yaml');
  // stream_commit tokens 0: streams are passed on at once, so the TTFT figure is the gateway's own cost
  // (the default holds the first 20 tokens, which on the instant profile is the whole answer).
  writeFileSync(file, `providers:\n  instant: { api: openai, base_url: "${mock.baseUrl('instant')}", model: instant }\nserve:\n  stream_commit: { tokens: 0 }\n`);
  return file;
}

export async function gatewaySection(memoryRequests = MEMORY_REQUESTS): Promise<string[]> {
  const mock = await spawnMock('instant');
  const gw = await spawnServe(['--config', configFor(mock), 'serve']);
  const tcp = await spawnRelay('tcp', mock.url);
  const floor = await spawnRelay('http', mock.baseUrl('instant'));
  const mockPath = `${new URL(mock.baseUrl('instant')).pathname}/chat/completions`;
  const direct = `${mock.url}${mockPath}`;
  const viaTcp = `${tcp.url}${mockPath}`;
  const viaFloor = `${floor.url}/v1/chat/completions`;
  const viaGw = `${gw.url}/v1/chat/completions`;
  try {
    const [latDirect, latTcp, latFloor, latGw] = await interleaved([direct, viaTcp, viaFloor, viaGw], false);
    const [ttftDirect, ttftTcp, ttftFloor, ttftGw] = await interleaved([direct, viaTcp, viaFloor, viaGw], true);
    const p = (v: number[], q: number) => percentile(v, q);
    const over = (v: number[], base: number[], q: number) => p(v, q) - p(base, q);

    const cannon = (url: string) => autocannon({ url, connections: CONNECTIONS, duration: SECONDS, method: 'POST', headers: { 'content-type': 'application/json' }, body: body(false) });
    await cannon(direct);
    await cannon(viaFloor);
    await cannon(viaGw);
    let emu0 = cpuMsOf(mock.pid);
    const d = await cannon(direct);
    const dEmu = (cpuMsOf(mock.pid) - emu0) / (SECONDS * 10);
    const cpuPerRequest = async (url: string, pid: number) => {
      emu0 = cpuMsOf(mock.pid);
      const c0 = cpuMsOf(pid);
      const r = await cannon(url);
      return { r, emu: (cpuMsOf(mock.pid) - emu0) / (SECONDS * 10), cpu: (cpuMsOf(pid) - c0) / (SECONDS * 10), us: ((cpuMsOf(pid) - c0) * 1000) / Math.max(1, r['2xx']) };
    };
    const fl = await cpuPerRequest(viaFloor, floor.pid);
    const g = await cpuPerRequest(viaGw, gw.pid);

    // Memory: RSS of the gateway process after a warm-up, then at marks over `memoryRequests` more.
    const marks: [number, number][] = [[0, rssMiB(gw.pid)]];
    const step = Math.max(1, Math.floor(memoryRequests / 4));
    let done = 0;
    let failed = 0;
    const t0 = Date.now();
    while (done < memoryRequests) {
      const n = Math.min(step, memoryRequests - done);
      const r = await autocannon({ url: viaGw, connections: CONNECTIONS, amount: n, method: 'POST', headers: { 'content-type': 'application/json' }, body: body(false) });
      failed += r.non2xx + r.errors;
      done += n;
      marks.push([done, rssMiB(gw.pid)]);
    }
    const memSeconds = (Date.now() - t0) / 1000;

    const ratio = g.r.requests.average / d.requests.average;
    const row = (label: string, q: number, [dir, tc, fp, gwv]: number[][]) => {
      const cell = (v: number[]) => `${f3(p(v, q))} ms`;
      return `| ${label} | ${cell(dir)} | ${cell(tc)} | ${cell(fp)} | ${cell(gwv)} | **${f3(over(gwv, dir, q))} ms** | ${f3(over(gwv, fp, q))} ms |`;
    };
    return [
      '## Gateway: what `serve` adds to a call',
      '',
      `\`llm-fallback serve\` in its own process in front of the emulator's \`instant\` profile (its own process), against calling the emulator directly from the same client, and against two floors, each its own process in front of the same emulator (src/perf/relay.ts): a **TCP relay** that pipes bytes between two sockets (what any extra hop on loopback costs this machine, whatever the gateway is written in) and a **bare Node HTTP proxy** (node:http server, undici stream to the emulator, the SSE content collected into one chat.completion or, for a streaming client, the emulator's bytes passed on as they come: no chain, clocks, breaker, cache, metrics or log — the least a Node gateway does). Latency and TTFT: ${PAIRS.toLocaleString('en-US')} requests to each at concurrency 1, the sides rotated request by request in one run (after ${WARMUP} each as warm-up), one keep-alive connection each; TTFT is the first body byte carrying content, with \`serve.stream_commit.tokens: 0\` (the default holds the first 20 tokens back so an early failure can still fall over unseen: on this 16-token answer that is the whole answer). Throughput: autocannon, ${CONNECTIONS} connections, ${SECONDS} s each, non-streaming.`,
      '',
      '| figure | direct | TCP relay | bare Node HTTP proxy | gateway | **gateway added** | gateway over the bare proxy |',
      '|---|--:|--:|--:|--:|--:|--:|',
      row('latency p50 (non-streaming)', 50, [latDirect, latTcp, latFloor, latGw]),
      row('latency p99', 99, [latDirect, latTcp, latFloor, latGw]),
      row('TTFT p50 (streaming)', 50, [ttftDirect, ttftTcp, ttftFloor, ttftGw]),
      row('TTFT p99', 99, [ttftDirect, ttftTcp, ttftFloor, ttftGw]),
      `| requests/s at ${CONNECTIONS} connections | ${Math.round(d.requests.average)} | — | ${Math.round(fl.r.requests.average)} | ${Math.round(g.r.requests.average)} | ratio ${f2(ratio)} | ratio ${f2(g.r.requests.average / fl.r.requests.average)} |`,
      `| proxy CPU per request (% of one core) | — | — | ${f1(fl.us)} µs (${Math.round(fl.cpu)}%) | ${f1(g.us)} µs (${Math.round(g.cpu)}%) | | ${f2(g.us / fl.us)} × |`,
      `| emulator CPU (of one core) | ${Math.round(dEmu)}% | — | ${Math.round(fl.emu)}% | ${Math.round(g.emu)}% | | |`,
      '',
      `**Gateway added latency p50 ${f3(over(latGw, latDirect, 50))} ms, p99 ${f3(over(latGw, latDirect, 99))} ms (targets ≤ 0.3 ms, ≤ 1 ms); added TTFT p50 ${f3(over(ttftGw, ttftDirect, 50))} ms (target ≤ 0.5 ms); requests/s ${f2(ratio)} × direct (goal ≥ 0.80).** The hop alone (TCP relay) adds ${f3(over(latTcp, latDirect, 50))} ms p50 and ${f3(over(latTcp, latDirect, 99))} ms p99; a bare Node HTTP proxy adds ${f3(over(latFloor, latDirect, 50))} / ${f3(over(latFloor, latDirect, 99))} ms; the gateway's own share above that proxy is ${f3(over(latGw, latFloor, 50))} / ${f3(over(latGw, latFloor, 99))} ms. For the first streamed token: the relay adds ${f3(over(ttftTcp, ttftDirect, 50))} ms p50, the bare proxy passing the emulator's bytes on ${f3(over(ttftFloor, ttftDirect, 50))} ms, the gateway ${f3(over(ttftGw, ttftFloor, 50))} ms more.`,
      '',
      `On a 2-core machine the throughput ratio is mostly CPU sharing: autocannon, the proxy and the emulator compete for the same two cores, and a proxy that spends more CPU per request than the emulator cannot reach the emulator's rate.`,
      '',
      `Memory: resident set of the gateway process after the warm-up and after ${memoryRequests.toLocaleString('en-US')} more non-streaming requests at ${CONNECTIONS} connections (${f1(memSeconds)} s${failed ? `, ${failed} not answered 200` : ''}):`,
      '',
      `| requests | ${marks.map(([n]) => n.toLocaleString('en-US')).join(' | ')} |`,
      `|---|${marks.map(() => '--:').join('|')}|`,
      `| RSS (MiB) | ${marks.map(([, m]) => f1(m)).join(' | ')} |`,
      '',
      `Gateway RSS growth over the last ${(memoryRequests - step).toLocaleString('en-US')} requests: ${f1(marks[marks.length - 1][1] - marks[1][1])} MiB.`,
      '',
    ];
  } finally {
    await tcp.close();
    await floor.close();
    await gw.close();
    await mock.close();
  }
}

/** One non-streaming call through the gateway: ms from send to the last byte, and who served it (x-llm-fallback-provider). */
async function callOnce(url: string, model: string): Promise<{ ms: number; provider: string | null }> {
  const t0 = process.hrtime.bigint();
  const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }) });
  await r.arrayBuffer();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, provider: r.status === 200 ? r.headers.get('x-llm-fallback-provider') : null };
}

/**
 * The failover scenarios of the section above, through one long-running gateway instead of one `ask`
 * process per call. A gateway keeps its breakers between calls, so the scenarios that must meet their
 * failure every time run on a gateway whose breaker never opens (1,000 failures), and "breaker open" on
 * one that opens at the first failure (tripped before measuring).
 */
export async function gatewayFailoverSection(rounds = 9): Promise<string[]> {
  const mock = await spawnMock(FAILOVER_PROFILE);
  const dir = mkdtempSync(join(tmpdir(), 'llmf-perf-gwf-'));
  const write = (name: string, failures: number) => {
    writeFileSync(join(dir, name), failoverConfig(mock, failures));
    return join(dir, name);
  };
  const meets = await spawnServe(['--config', write('meets.yaml', 1000), 'serve']);
  const trips = await spawnServe(['--config', write('trips.yaml', 1), 'serve']);
  try {
    const target = (chain: string) => (chain === 'open' ? { url: trips.url, model: 'open' } : { url: meets.url, model: chain === 'direct' ? 'secondary' : chain });
    await callOnce(trips.url, 'open');
    for (const s of SCENARIOS) await callOnce(target(s.chain).url, target(s.chain).model);
    const times = new Map<string, number[]>(SCENARIOS.map((s) => [s.chain, []]));
    const wrong: string[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const s of SCENARIOS) {
        const t = target(s.chain);
        const r = await callOnce(t.url, t.model);
        if (r.provider !== 'secondary') wrong.push(`${s.chain} (round ${round}): served by ${r.provider ?? 'nobody'}`);
        times.get(s.chain)!.push(r.ms);
      }
    }
    const med = (chain: string) => percentile(times.get(chain)!, 50);
    const direct = med('direct');
    return [
      '## Failover through the gateway',
      '',
      `The same scenarios and emulator as the section above, each call a non-streaming request to a running \`serve\` (${rounds} rounds, scenarios interleaved, medians, time from sending the request to the last byte of the answer). The gateway keeps its state between calls: the scenarios that must meet their failure every time run on a gateway whose breaker never opens; "breaker open" on one that opened it before measuring.`,
      '',
      '| primary | served by the secondary | median | added |',
      '|---|--:|--:|--:|',
      ...SCENARIOS.map((s) => {
        const ok = times.get(s.chain)!.length - wrong.filter((w) => w.startsWith(`${s.chain} `)).length;
        return `| ${s.label} | ${ok}/${rounds} | ${f1(med(s.chain))} ms | ${s.chain === 'direct' ? '—' : `${med(s.chain) - direct >= 0 ? '+' : '−'}${f1(Math.abs(med(s.chain) - direct))} ms`} |`;
      }),
      '',
      ...(wrong.length ? [`Calls not served by the secondary: ${wrong.join('; ')}.`, ''] : []),
    ];
  } finally {
    await meets.close();
    await trips.close();
    await mock.close();
  }
}

// `node dist/perf/gateway.js [memory-requests]`: this section alone, printed to stdout.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.stdout.write(`${[...(await gatewaySection(Number(process.argv[2]) || undefined)), ...(await gatewayFailoverSection())].join('\n')}\n`);
}

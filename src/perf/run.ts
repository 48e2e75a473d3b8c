// npm run perf: every performance comparison, side by side in one run. The report goes to stdout, to
// `--out FILE`, or with `--write` to the tracked BENCHMARKS.md (never as a side effect of a plain run).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadSpec } from '../bench/runner.js';
import { assembleResult } from '../bench/assemble.js';
import type { ClientHealth, ProviderResult } from '../bench/result.js';
import { offPlanNote } from '../format/self-check.js';
import { EMULATOR_WARM_CONCURRENCY, EMULATOR_WARM_REQUESTS, percentile, SELF_CHECK_PROFILE, selfCheck } from '../bench/self-check.js';
import { checkOutputPath, writeAtomic } from '../report/write.js';
import { clientProfileSection } from './client-profile.js';
import { emulatorThroughput } from './emulator-throughput.js';
import { neighbourRatios } from './interleave.js';
import { perfRunner } from './perf-runner.js';
import { BIN, cpuMsOf, spawnMock } from './mock-process.js';
import { machineFloor, WARM_EXCHANGES as WARM_FLOOR_EXCHANGES, type Floor, type Percentiles } from './floor.js';
import { failoverSection } from './failover.js';
import { capacitySection } from './capacity.js';
import { gatewayFailoverSection, gatewaySection } from './gateway.js';
import { benchChild, workersSection } from './workers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AUTOCANNON = join(ROOT, 'node_modules', '.bin', 'autocannon');
const out: string[] = [];
const log = (s: string) => process.stderr.write(`${s}\n`);
const f1 = (v: number) => (Math.round(v * 10) / 10).toString();
const f2 = (v: number) => v.toFixed(2);

const pct = percentile;

async function bench(url: string, name: string, spec: Partial<LoadSpec>): Promise<{ result: ProviderResult; client: ClientHealth }> {
  const { runner, adapter, spec: full } = perfRunner(url, name, spec);
  const o = await runner.run();
  await adapter.close();
  const r = assembleResult({ version: 'perf', identities: [{ name, model: name, api: 'openai' }], accumulators: o.accumulators, run: { mode: full.mode, concurrency: full.concurrency, rate: null, arrival: null, requests: full.requests ?? null, duration_ms: full.durationMs ?? null, warmup: full.warmup, stream: full.stream, max_tokens: null, temperature: null, timeout_ms: null, seed: 1, prompts: 1, demo: false }, startedAt: o.startedAt, endedAt: o.endedAt, partial: false });
  return { result: r.providers[0], client: o.client };
}

/**
 * The one prompt both clients of the request-rate section send, so the emulator does the same work for
 * each: bench's default prompts (up to a 488-byte body) cost it about 4 % more CPU per request than this
 * one (autocannon alone, the two bodies alternated 10 times, median of the pairs).
 */
const RATE_PROMPT = 'Explain the CAP theorem.';

function autocannon(url: string, connections: number, seconds: number): Promise<{ rps: number; p50: number; p99: number; non2xx: number; ok: number; cpuMs: number }> {
  return new Promise((resolve, reject) => {
    // Byte for byte the body bench sends with --prompt RATE_PROMPT.
    const body = JSON.stringify({ model: 'instant', messages: [{ role: 'user', content: RATE_PROMPT }], stream: false });
    const child = spawn(AUTOCANNON, ['-j', '-c', String(connections), '-d', String(seconds), '-m', 'POST', '-H', 'content-type=application/json', '-b', body, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    // autocannon's own CPU: read from /proc while it runs (the last reading is within 50 ms of its end).
    let cpuMs = 0;
    const sample = setInterval(() => {
      try {
        cpuMs = cpuMsOf(child.pid!);
      } catch {
        // it has just exited
      }
    }, 50);
    child.stdout.on('data', (d) => (text += d));
    child.on('close', () => {
      clearInterval(sample);
      try {
        const j = JSON.parse(text);
        resolve({ rps: j.requests.average, p50: j.latency.p50, p99: j.latency.p99, non2xx: j.non2xx, ok: j['2xx'], cpuMs });
      } catch (e) {
        reject(new Error(`autocannon output: ${text.slice(0, 200)} ${(e as Error).message}`));
      }
    });
  });
}

function median(f: () => void, n: number): number {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    f();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return pct(times, 50);
}

const run = (args: string[], env: NodeJS.ProcessEnv = {}) => () => {
  try {
    execFileSync(process.execPath, args, { stdio: 'ignore', env: { ...process.env, ...env } });
  } catch {
    // exit codes other than 0 are part of some scenarios (e.g. static answers); the time is what counts
  }
};

async function requestRate(): Promise<void> {
  log('1/6 request rate vs autocannon…');
  const mock = await spawnMock('instant');
  const url = `${mock.baseUrl('instant')}/chat/completions`;
  // The emulator's own speed drifts from one run to the next on a shared VM (autocannon alone gave
  // 11.8k-21.1k requests/s within one minute), so the clients alternate, autocannon first and last, and each
  // bench run is compared with the autocannon runs right before and after it (neighbourRatios). The ratio
  // is the median of those comparisons (an odd count: the middle one).
  const benchRuns = 5;
  const seconds = 4;
  // bench runs as the CLI in a process of its own every time, as autocannon does: run in this process,
  // its later runs would inherit the first's compiled code, which no user's run has.
  const cfg = join(mkdtempSync(join(tmpdir(), 'llmf-perf-rate-')), 'providers.yaml');
  writeFileSync(cfg, `providers:\n  instant: { api: openai, base_url: "${mock.baseUrl('instant')}", model: instant }\n`);
  await autocannon(url, 50, 1); // warm the emulator
  const rows: string[] = [];
  const acRps: number[] = [];
  const benchRps: number[] = [];
  const benchCpu: number[] = [];
  const benchRunCpu: number[] = [];
  const acCpu: number[] = [];
  for (let run = 1; run <= 2 * benchRuns + 1; run++) {
    const cpu0 = mock.cpuMs();
    if (run % 2 === 1) {
      const ac = await autocannon(url, 50, seconds);
      acRps.push(ac.rps);
      acCpu.push((ac.cpuMs / Math.max(1, ac.ok)) * 1000);
      rows.push(`| ${run} | autocannon 8 (\`-c 50 -d ${seconds}\`) | ${Math.round(ac.rps)} | ${ac.p50} ms | ${ac.p99} ms | ${f1((ac.cpuMs / Math.max(1, ac.ok)) * 1000)} µs | ${Math.round((mock.cpuMs() - cpu0) / (seconds * 10))}% |`);
    } else {
      const { result, cpuMs } = await benchChild(['--config', cfg, 'bench', 'instant', '--no-stream', '-c', '50', '-d', `${seconds}s`, '--prompt', RATE_PROMPT]);
      const b = result.providers[0];
      benchRps.push(b.requests_per_s ?? 0);
      const us = (cpuMs / Math.max(1, b.ok)) * 1000;
      const measuredUs = ((result.client?.cpu_ms ?? NaN) / Math.max(1, b.ok)) * 1000;
      benchCpu.push(us);
      benchRunCpu.push(measuredUs);
      rows.push(`| ${run} | llm-fallback bench (\`--no-stream -c 50 -d ${seconds}s --prompt …\`) | ${Math.round(b.requests_per_s ?? 0)} | ${f1(b.latency_ms!.p50)} ms | ${f1(b.latency_ms!.p99)} ms | ${f1(us)} µs (run: ${f1(measuredUs)} µs) | ${Math.round((mock.cpuMs() - cpu0) / ((b.wall_ms / 1000) * 10))}% |`);
    }
  }
  const ratios = neighbourRatios(acRps, benchRps);
  const cpu0 = mock.cpuMs();
  const streamed = await benchChild(['--config', cfg, 'bench', 'instant', '-c', '50', '-d', `${seconds}s`, '--prompt', RATE_PROMPT]);
  const bs = streamed.result.providers[0];
  const bsEmuCpu = (mock.cpuMs() - cpu0) / ((bs.wall_ms / 1000) * 10);
  await mock.close();
  rmSync(dirname(cfg), { recursive: true, force: true });
  const ratio = pct(ratios, 50);
  out.push(
    '## Maximum request rate against the zero-latency emulator',
    '',
    `Non-streaming chat completions (16-token answers) from the built-in \`instant\` profile, emulator in its own process, 50 connections, ${seconds} s each. The two clients take turns on the same emulator, autocannon first and last (${benchRuns} bench runs between ${benchRuns + 1} autocannon runs): the emulator's own speed drifts between runs on a shared machine, so each bench run is compared with the mean of the autocannon runs right before and after it (a steady drift cancels out; a jump does not, and the median of the ${benchRuns} comparisons leaves out the two furthest either way). Each client is a fresh process every run, bench as the CLI a user runs (\`llm-fallback bench instant --no-stream -c 50 -d ${seconds}s --prompt '${RATE_PROMPT}'\`), and both send the same request body (the one prompt, so the emulator does the same work for each: bench's default prompts, up to a 488-byte body, cost it about 4 % more CPU per request). Client CPU is per answered request, each client's whole process read from /proc (start-up included: autocannon reports no other figure), and for bench in brackets its measured run alone (\`client.cpu_ms\`, after its start-up, connections and warm-up); the emulator's CPU use (of one core) shows how close each client drives it to what it can serve.`,
    '',
    '| run | client | requests/s | p50 | p99 | client CPU per request | emulator CPU |',
    '|--:|---|--:|--:|--:|--:|--:|',
    ...rows,
    `| | llm-fallback bench, streaming (\`-c 50 -d ${seconds}s --prompt …\`) | ${Math.round(bs.requests_per_s ?? 0)} | ${f1(bs.latency_ms!.p50)} ms | ${f1(bs.latency_ms!.p99)} ms | ${f1((streamed.cpuMs / Math.max(1, bs.ok)) * 1000)} µs (run: ${f1(((streamed.result.client?.cpu_ms ?? NaN) / Math.max(1, bs.ok)) * 1000)} µs) | ${Math.round(bsEmuCpu)}% |`,
    '',
    `**Ratio bench / autocannon: ${f2(ratio)}** (non-streaming, default run; target ≥ 1.00). Each bench run against its neighbours: ${ratios.map(f2).join(', ')}. bench parses and times every SSE event and JSON body, and keeps seven HDR histograms; autocannon only counts responses. Client CPU per request, whole processes (medians): bench ${f1(pct(benchCpu, 50))} µs, autocannon ${f1(pct(acCpu, 50))} µs; bench's measured run alone ${f1(pct(benchRunCpu, 50))} µs.`,
    '',
  );
}

async function streaming(): Promise<void> {
  log('2/6 self-check: 1 to 1000 concurrent streams…');
  const levels = await selfCheck();
  const d = (a: number, b: number) => `${a - b >= 0 ? '+' : ''}${f1(a - b)}`;
  const rows = levels.map(
    (l) =>
      `| ${l.streams} | ${l.ok}/${l.requests} | ${f1(l.ttft.p50)} / ${f1(l.ttft.p99)} | ${f1(l.ttft.truth_p50)} / ${f1(l.ttft.truth_p99)} | **${d(l.ttft.p50, l.ttft.truth_p50)} / ${d(l.ttft.p99, l.ttft.truth_p99)}** | ${f1(l.itl.p50)} / ${f1(l.itl.truth_p50)} | **${d(l.itl.p50, l.itl.truth_p50)}** | ${l.client_queue === null ? '-' : f1(l.client_queue.p99)} ms | ${l.arrival_lag === null ? '-' : f1(l.arrival_lag.p99)} ms | ${l.emulator_loop_delay_max === null ? '-' : f1(l.emulator_loop_delay_max)} ms | ${l.event_loop_delay_p99 === null ? '-' : f1(l.event_loop_delay_p99)} ms | ${l.cpu_us_per_event ?? '-'} µs |`,
  );
  const top = levels[levels.length - 1];
  out.push(
    '## Self-check: bench’s own error from 1 to 1,000 concurrent streams',
    '',
    `What \`llm-fallback bench --self-check\` prints, as a default run (no \`--warmup\`): the emulator in its own process, ${SELF_CHECK_PROFILE.ttft} ms to the first token, then ${SELF_CHECK_PROFILE.output_tokens} tokens ${SELF_CHECK_PROFILE.itl} ms apart, first warmed by ${EMULATOR_WARM_REQUESTS} requests (${EMULATOR_WARM_CONCURRENCY} at a time) from Node's own HTTP client. "Truth" is what the emulator logged it did (its timers run late under load, and that is not the client's error); error = measured − truth. Where the error lives: client queue is the time from the load loop issuing a request to its bytes going out (the client's own wait, kept out of every figure: the clock starts at the send); queued is from that send to the emulator's arrival stamp (the wait in the kernel and for the emulator's event loop, which the client counts and the emulator's log does not); emulator loop is how late the emulator's event loop ran at worst (max: one stall while a burst arrives delays all of it), its share of queued; client loop delay is how late the client's own event loop ran (p99): a chunk that comes while it is busy is stamped that late. CPU per event is the client's CPU over the measured run per streamed token, request costs included.`,
    '',
    '| streams | ok/sent | TTFT p50 / p99 measured (ms) | TTFT p50 / p99 truth | **TTFT error p50 / p99** | ITL p50 measured / truth | **ITL p50 error** | client queue p99 | queued p99 | emulator loop max | client loop delay p99 | client CPU per event |',
    '|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...rows,
    '',
    `**1,000 streams: TTFT error p50 ${d(top.ttft.p50, top.ttft.truth_p50)} ms, p99 ${d(top.ttft.p99, top.ttft.truth_p99)} ms (target: within 28 ms); ITL p50 error ${d(top.itl.p50, top.itl.truth_p50)} ms (target: within 2 ms). CPU per streamed event: ${top.cpu_us_per_event} µs.**`,
    '',
    ...(offPlanNote(levels) ? [offPlanNote(levels), ''] : []),
  );
}

async function accuracy(): Promise<void> {
  log('3/6 accuracy matrix (default runs, no --warmup)…');
  const dists = {
    constant: { dist: 'constant', value: 100 },
    uniform: { dist: 'uniform', min: 50, max: 150 },
    lognormal: { dist: 'lognormal', median: 100, sigma: 0.5 },
  };
  const mock = await spawnMock({ seed: 3, providers: Object.fromEntries(Object.entries(dists).map(([k, d]) => [k, { dialect: 'openai', ttft: d, itl: 2, output_tokens: 5 }])) });
  const rows: string[] = [];
  let within = 0;
  let cells = 0;
  let withinFloor = 0;
  const levels = [1, 10, 100];
  // At least 100 requests a cell: with fewer, the p99 is the slowest request (40 made it the maximum).
  const requestsAt = (c: number) => (c === 1 ? 100 : c === 10 ? 200 : 500);
  // The bare floors of each concurrency, in the cells' shape (an answer 100 ms after each arrival): raw TCP,
  // and Node's own HTTP server (the emulator is one), which is what a cell is judged against.
  const tcpFloors = new Map<number, Floor>();
  const httpFloors = new Map<number, Floor>();
  const floors = new Map<number, Floor>();
  for (const c of levels) {
    tcpFloors.set(c, await machineFloor(c, requestsAt(c), 100, 'tcp'));
    httpFloors.set(c, await machineFloor(c, requestsAt(c), 100, 'http'));
    // The cells' own shape (a stream of 5 tokens 2 ms apart after the first), which a cell is judged against.
    floors.set(c, await machineFloor(c, requestsAt(c), 100, 'stream', { tokens: 5, itlMs: 2 }));
  }
  for (const [name] of Object.entries(dists)) {
    await mock.warm(name, EMULATOR_WARM_REQUESTS, EMULATOR_WARM_CONCURRENCY);
    for (const c of levels) {
      await mock.reset();
      const requests = requestsAt(c);
      const b = await bench(mock.baseUrl(name), name, { concurrency: c, requests });
      const inj = await mock.injected(name);
      const floor = floors.get(c)!;
      const cell = (measured: number, truth: number, p: 50 | 95 | 99, bound: Percentiles) => {
        const ok = Math.abs(measured - truth) <= Math.max(1, truth * 0.01);
        cells++;
        if (ok) within++;
        // Transport delay only adds: a figure below the truth is not the floor's doing.
        else if (measured - truth > 0 && measured - truth <= bound[`p${p}`]) withinFloor++;
        return `${f2(measured - truth)}${ok ? '' : ' ✗'}`;
      };
      const line = (s: Percentiles, truth: number[], bound: Percentiles) => `${cell(s.p50, pct(truth, 50), 50, bound)} / ${cell(s.p95, pct(truth, 95), 95, bound)} / ${cell(s.p99, pct(truth, 99), 99, bound)}`;
      const lat = line(b.result.latency_ms!, inj.map((i) => i.totalMs), floor);
      const ttft = line(b.result.ttft_ms!, inj.map((i) => i.ttftMs), floor.ttft);
      rows.push(`| ${name} | ${c} | ${requests} | ${lat} | ${ttft} | ${b.client.event_loop_delay_ms ? f2(b.client.event_loop_delay_ms.p99) : '-'} |`);
    }
  }
  await mock.close();
  out.push(
    '## Measurement accuracy in a default run',
    '',
    `Reported percentiles minus the same percentiles of what the emulator (its own process) logged it did, in ms, for end-to-end latency (arrival to last token) and TTFT. TTFT 100 ms (constant, uniform 50–150, lognormal median 100 σ 0.5), then 5 tokens 2 ms apart. Plain runs, no \`--warmup\`: bench opens its connections and warms its own request path on loopback before the clock. The emulator serves ${EMULATOR_WARM_REQUESTS} requests (${EMULATOR_WARM_CONCURRENCY} at a time) from Node's own HTTP client per distribution before its first cell, as a provider that has been serving would have. ✗ marks a difference outside max(1 ms, 1 %); the last column is the client’s own event-loop delay (p99), its share of any error.`,
    '',
    '| distribution | concurrency | requests | latency Δ p50 / p95 / p99 | TTFT Δ p50 / p95 / p99 | client loop delay p99 |',
    '|---|--:|--:|--:|--:|--:|',
    ...rows,
    '',
    `**Within max(1 ms, 1 %): ${within} of ${cells} percentiles.** Of the ${cells - within} outside, ${withinFloor} are within the floor of a streaming node:http server for that concurrency, percentile and figure (below).`,
    '',
    `The machine's floors, measured in the same run: two bare Node processes (none of bench's code) in the cells' shape — the same number of exchanges, the same concurrency in a closed loop, each answered 100 ms after it arrived, after ${WARM_FLOOR_EXCHANGES} exchanges answered at once to compile the server's code — adding per exchange the two one-way delays an error is made of (send to the server's arrival stamp, the server's write to the client's read stamp, both stamped as bench stamps: a run of socket reads shares the time it began). Raw TCP shows what the kernel and the scheduler cost (a process woken from idle); a node:http server answering a bench-sized chat request at once adds what Node's HTTP server spends on a burst before it can stamp the next requests, which the emulator, a node:http server, pays too; the same server streaming in the cells' shape (a first frame at once, then 5 chat-completion chunks of the emulator's size, the first 100 ms after arrival and the rest 2 ms apart, so that at 100 streams in lockstep each token is a burst of 100 writes and 100 reads) is the floor of each figure, latency to the last token's write and TTFT to the first's. None is a client's: the bare client only stamps its reads and looks for the tokens' text; a client that also decodes what it reads measures no closer.`,
    '',
    '| concurrency | exchanges | raw TCP floor p50 / p95 / p99 (ms) | node:http floor p50 / p95 / p99 (ms) | streaming node:http floor, latency p50 / p95 / p99 (ms) | streaming, TTFT p50 / p95 / p99 (ms) |',
    '|--:|--:|--:|--:|--:|--:|',
    ...levels.map((c) => {
      const three = (f: Percentiles) => `${f2(f.p50)} / ${f2(f.p95)} / ${f2(f.p99)}`;
      const s = floors.get(c)!;
      return `| ${c} | ${s.exchanges} | ${three(tcpFloors.get(c)!)} | ${three(httpFloors.get(c)!)} | ${three(s)} | ${three(s.ttft)} |`;
    }),
    '',
  );
}

async function memory(): Promise<void> {
  log('4/6 memory (100k requests)…');
  const mock = await spawnMock('instant');
  type Marks = { marks: Record<string, number>; networkSeconds: number; requestsRecorded: number };
  const child = (args: string[]) => JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' })) as Marks;
  const m = child([join(ROOT, 'dist', 'perf', 'memory.js'), mock.baseUrl('instant')]);
  // A second client, the same load: what it still holds after a full collection at each mark.
  const held = child(['--expose-gc', join(ROOT, 'dist', 'perf', 'memory.js'), mock.baseUrl('instant'), 'held']);
  await mock.close();
  out.push(
    '## Memory stays flat',
    '',
    `Resident memory of a bench client (its own process, streaming, concurrency 32) after 1k, 10k and 100k real requests to the zero-latency emulator (${f1(m.networkSeconds)} s), then after 900k more request records folded into the same accumulator without the network (the memory question is the accumulator’s: histograms and counters, never a list of requests). Resident memory also counts the heap V8 grew to for the allocation rate, which it keeps; a second client under the same load shows what it still holds at each mark after full garbage collections (\`--expose-gc\`, two in a row so that dead buffers' memory is freed too; a run of its own: a full collection changes how much heap V8 keeps): its JavaScript heap and the memory outside it (buffers, and typed arrays such as the histograms' counts).`,
    '',
    '| requests | 1k | 10k | 100k | 1M |',
    '|---|--:|--:|--:|--:|',
    `| RSS (MiB) | ${m.marks['1k']} | ${m.marks['10k']} | ${m.marks['100k']} | ${m.marks['1M']} |`,
    `| held after a full GC: heap + external (MiB) | ${held.marks['1k']} | ${held.marks['10k']} | ${held.marks['100k']} | ${held.marks['1M']} |`,
    '',
    `Growth from 10k to 1M: ${f1(m.marks['1M'] - m.marks['10k'])} MiB.`,
    '',
    `Held after a full GC from 10k to 1M: ${f1(held.marks['10k'])} → ${f1(held.marks['1M'])} MiB.`,
    '',
  );
}

async function startup(): Promise<void> {
  log('5/6 start-up…');
  const mock = await spawnMock('instant');
  const dir = mkdtempSync(join(tmpdir(), 'llmf-perf-'));
  const cfg = join(dir, 'providers.yaml');
  writeFileSync(cfg, `providers:\n  instant: { api: openai, base_url: "${mock.baseUrl('instant')}", model: instant }\n`);
  const env = { XDG_STATE_HOME: join(dir, 's'), XDG_CACHE_HOME: join(dir, 'c') };
  const plain = join(dir, 'plain.mjs');
  writeFileSync(plain, `const r = await fetch(${JSON.stringify(`${mock.baseUrl('instant')}/chat/completions`)}, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'instant', messages: [{ role: 'user', content: 'hi' }], stream: true }) });\nprocess.stdout.write(await r.text());\n`);
  const n = 15;
  const floor = median(run(['-e', '']), n);
  const version = median(run([BIN, '--version']), n);
  const fetchOne = median(run([plain]), n);
  const ask = median(run([BIN, '--config', cfg, 'ask', '--no-cache', '--provider', 'instant', 'hi'], env), n);
  await mock.close();
  out.push(
    '## Start-up',
    '',
    `Median of ${n} runs, process start to exit. "One plain request" is a \`node\` script doing one streamed fetch to the same emulator provider and printing the body; \`ask\` does the same request through config, adapter, chain, breaker and cache.`,
    '',
    '| command | median | ratio |',
    '|---|--:|--:|',
    `| \`node -e ''\` (the floor) | ${f1(floor)} ms | 1.00 |`,
    `| \`llm-fallback --version\` | ${f1(version)} ms | ${f2(version / floor)} × floor |`,
    `| one plain request (\`node plain.mjs\`) | ${f1(fetchOne)} ms | ${f2(fetchOne / floor)} × floor |`,
    `| \`llm-fallback ask --provider instant\` | ${f1(ask)} ms | ${f2(ask / fetchOne)} × plain request (+${f1(ask - fetchOne)} ms) |`,
    '',
  );
}

/** Where the report goes: parsed first, so a bad path fails before minutes of measuring. */
function reportPath(argv: string[]): string | undefined {
  if (argv.includes('--write')) return join(ROOT, 'BENCHMARKS.md');
  const i = argv.indexOf('--out');
  if (i >= 0) {
    if (!argv[i + 1]) throw new Error('--out: give a file name');
    return argv[i + 1];
  }
  const unknown = argv.find((a, k) => a !== '--write' && a !== '--out' && a !== '--only' && argv[k - 1] !== '--only');
  if (unknown) throw new Error(`unknown argument "${unknown}"; use --out FILE, --write (BENCHMARKS.md) or --only ${SECTIONS.join(',')}`);
  return undefined;
}
/** Sections by name, for `--only a,b` (a partial run while working on one part; --write wants them all). */
const SECTIONS = ['rate', 'profile', 'emulator', 'workers', 'self-check', 'accuracy', 'memory', 'startup', 'failover', 'capacity', 'gateway'] as const;
function onlySections(argv: string[]): Set<string> {
  const i = argv.indexOf('--only');
  if (i < 0) return new Set(SECTIONS);
  const names = (argv[i + 1] ?? '').split(',').filter(Boolean);
  const bad = names.find((n) => !(SECTIONS as readonly string[]).includes(n));
  if (!names.length || bad) throw new Error(`--only ${argv[i + 1] ?? ''}: give sections from ${SECTIONS.join(',')}`);
  if (argv.includes('--write')) throw new Error('--only: --write regenerates all of BENCHMARKS.md; use --out FILE for a partial run');
  return new Set(names);
}
const only = onlySections(process.argv.slice(2));
const target = reportPath(process.argv.slice(2));
if (target) checkOutputPath({ source: target.endsWith('BENCHMARKS.md') && process.argv.includes('--write') ? '--write' : '--out', file: target });
const started = Date.now();
const header = [
  '# Benchmarks',
  '',
  `Generated by \`npm run perf\` on ${new Date().toISOString().slice(0, 10)}. Machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, ${process.platform}, load average ${loadavg()[0].toFixed(1)} at the start. Every figure below comes from that one run; machines are noisy, so compare the ratios within a table, not absolute times across machines (and distrust a run whose load average was above the core count).`,
  '',
];
/** The sections in report order, each under its --only name. */
const RUNS: Record<(typeof SECTIONS)[number], [label: string | null, run: () => Promise<unknown>]> = {
  rate: [null, requestRate],
  profile: ['where bench’s CPU goes (a profile of its measured run)…', async () => out.push(...(await clientProfileSection()))],
  emulator: ['emulator throughput beside a bare node:http server…', async () => out.push(...(await emulatorThroughput()))],
  workers: ['worker threads: --workers 1 beside 2…', async () => out.push(...(await workersSection()))],
  'self-check': [null, streaming],
  accuracy: [null, accuracy],
  memory: [null, memory],
  startup: [null, startup],
  failover: ['6/6 failover…', async () => out.push(...(await failoverSection()))],
  capacity: ['capacity search against a known knee…', async () => out.push(...(await capacitySection()))],
  gateway: ['gateway (serve) beside calling the emulator directly…', async () => out.push(...(await gatewaySection()), ...(await gatewayFailoverSection()))],
};
for (const name of SECTIONS) {
  if (!only.has(name)) continue;
  const [label, run] = RUNS[name];
  if (label) log(label);
  await run();
}
const total = Math.round((Date.now() - started) / 1000);
const report = `${[...header, `The whole run took ${total} s.`, '', ...out].join('\n')}\n`;
if (target) {
  writeAtomic(target, report);
  log(`wrote ${target} (${total} s)`);
} else {
  process.stdout.write(report);
  log(`done in ${total} s (the report above; --out FILE or --write to keep it)`);
}

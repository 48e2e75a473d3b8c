// npm run perf, section "Where bench's CPU goes": a CPU profile of bench's measured run (after its start-up,
// connections and warm-up) at 1,000 streams (the self-check's load), and streaming and not against the
// zero-latency emulator, summed by kind of work. Each profiled client runs in a child process of its own:
// `node dist/perf/client-profile.js '{"url":…,"model":…,"stream":…,"concurrency":…,"seconds"|"requests":…}'`
// prints one JSON line. Run the section alone: npm run build && node dist/perf/client-profile.js
import { execFileSync } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { BenchRunner } from '../bench/runner.js';
import { createAdapter } from '../providers/index.js';
import { EMULATOR_WARM_CONCURRENCY, EMULATOR_WARM_REQUESTS, SELF_CHECK_PROFILE } from '../bench/self-check.js';
import { CATEGORIES, cpuByCategory, type Category, type CpuProfile } from './cpu-categories.js';
import { spawnMock } from './mock-process.js';

const CONCURRENCY = 50;
const SECONDS = 4;
const STREAMS = 1000;
/** Three answers per stream at 1,000 streams: about 7 s of the self-check's load. */
const STREAM_REQUESTS = 3 * STREAMS;
/** Sampling interval of the profiler (µs): finer than --cpu-prof's default 1,000, for shares of a few percent. */
const SAMPLE_US = 250;

interface ClientProfile {
  requests: number;
  events: number;
  /** Client CPU (user + system, every thread) over the measured run, ms. */
  cpuMs: number;
  /** Sampled time on the main thread by kind of work, ms. */
  byCategory: Partial<Record<Category, number>>;
}

interface Load {
  url: string;
  model: string;
  stream: boolean;
  concurrency: number;
  seconds?: number;
  requests?: number;
}

/** The child: one bench run in this process, profiled from the moment its clock starts to its end. */
async function profileRun(load: Load): Promise<ClientProfile> {
  const adapter = createAdapter({ name: load.model, api: 'openai', baseUrl: load.url, model: load.model, headers: {}, params: {}, timeouts: { connectMs: 10_000, firstTokenMs: 60_000, idleMs: 60_000, totalMs: 120_000 } });
  const runner = new BenchRunner([{ name: load.model, model: load.model, api: 'openai', adapter }], {
    mode: 'closed',
    concurrency: load.concurrency,
    rate: 0,
    arrival: 'constant',
    warmup: 0,
    stream: load.stream,
    seed: 1,
    prompts: [[{ role: 'user', content: 'Explain the CAP theorem.' }]],
    keepText: false,
    maxInflight: 100_000,
    requests: load.requests,
    durationMs: load.seconds === undefined ? undefined : load.seconds * 1000,
  });
  let events = 0;
  runner.on('request', (_name: string, rec: { chunks: number }) => (events += rec.chunks));
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: SAMPLE_US });
  let cpu0 = process.cpuUsage();
  const outcome = await runner.run(async () => {
    await session.post('Profiler.start');
    cpu0 = process.cpuUsage();
  });
  const cpu = process.cpuUsage(cpu0);
  const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
  session.disconnect();
  await adapter.close();
  const byCategory: Partial<Record<Category, number>> = {};
  for (const [c, us] of cpuByCategory(profile)) byCategory[c] = us / 1000;
  return { requests: outcome.accumulators.get(load.model)!.ok, events, cpuMs: (cpu.user + cpu.system) / 1000, byCategory };
}

const f1 = (v: number) => (Math.round(v * 10) / 10).toString();

/** A profile in a fresh client process. */
function profileChild(load: Load): ClientProfile {
  return JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(load)], { encoding: 'utf8' })) as ClientProfile;
}

/** The section: each load profiled in a fresh client process, the emulators in their own. */
export async function clientProfileSection(): Promise<string[]> {
  const streams = await spawnMock({ seed: 1, providers: { s: { dialect: 'openai', ...SELF_CHECK_PROFILE } } });
  const instant = await spawnMock('instant');
  let many: ClientProfile;
  let streamed: ClientProfile;
  let plain: ClientProfile;
  try {
    await streams.warm('s', EMULATOR_WARM_REQUESTS, EMULATOR_WARM_CONCURRENCY);
    many = profileChild({ url: streams.baseUrl('s'), model: 's', stream: true, concurrency: STREAMS, requests: STREAM_REQUESTS });
    await instant.warm('instant', EMULATOR_WARM_REQUESTS, CONCURRENCY);
    streamed = profileChild({ url: instant.baseUrl('instant'), model: 'instant', stream: true, concurrency: CONCURRENCY, seconds: SECONDS });
    plain = profileChild({ url: instant.baseUrl('instant'), model: 'instant', stream: false, concurrency: CONCURRENCY, seconds: SECONDS });
  } finally {
    await streams.close();
    await instant.close();
  }
  const sampled = (p: ClientProfile) => Object.values(p.byCategory).reduce((a, b) => a + (b ?? 0), 0);
  const share = (p: ClientProfile, c: Category) => ((p.byCategory[c] ?? 0) / Math.max(1e-9, sampled(p))) * 100;
  // µs of the main thread's sampled time per streamed event (request costs included), or per request.
  const per = (p: ClientProfile, c: Category | 'all', n: number) => ((c === 'all' ? sampled(p) : (p.byCategory[c] ?? 0)) * 1000) / Math.max(1, n);
  const runs: [ClientProfile, number][] = [
    [many, many.events],
    [streamed, streamed.events],
    [plain, plain.requests],
  ];
  const shown = CATEGORIES.filter((c) => runs.some(([p]) => share(p, c) >= 0.5)).sort((a, b) => share(many, b) - share(many, a));
  const cpuPer = (p: ClientProfile, n: number) => f1((p.cpuMs * 1000) / Math.max(1, n));
  return [
    '## Where bench’s CPU goes',
    '',
    `A CPU profile of bench's measured run (the inspector's sampling profiler, every ${SAMPLE_US} µs, started when the run's clock starts: none of its start-up, connections or warm-up), each load in a fresh client process, the emulator in its own: ${STREAMS} streams with the self-check's load (${SELF_CHECK_PROFILE.ttft} ms to the first token, then ${SELF_CHECK_PROFILE.output_tokens} tokens ${SELF_CHECK_PROFILE.itl} ms apart, ${STREAM_REQUESTS} requests: each token comes in a read of its own), and ${CONCURRENCY} connections for ${SECONDS} s against the zero-latency \`instant\` emulator, streaming (16 tokens an answer, all in one read) and not. The main thread's time is summed by kind of work: the profiled function's module decides (bench's own directories; Node's sockets and streams), and JSON.parse and JSON.stringify, which run inside their callers, are counted from the lines that call them. Socket writes are the \`write\` system calls, on loopback most of the kernel's work of delivering the bytes (reads happen in the event loop before any JavaScript runs, and are not in a JavaScript profile). Kinds under 0.5 % in every run are left out. The profiler slows the client a little: the shares are the figures.`,
    '',
    `| kind of work | ${STREAMS} streams: share | µs per event | ${CONCURRENCY} streaming: share | µs per event | ${CONCURRENCY} non-streaming: share | µs per request |`,
    '|---|--:|--:|--:|--:|--:|--:|',
    ...shown.map((c) => `| ${c} | ${runs.map(([p, n]) => `${f1(share(p, c))} % | ${f1(per(p, c, n))}`).join(' | ')} |`),
    `| all sampled | ${runs.map(([p, n]) => `100 % | ${f1(per(p, 'all', n))}`).join(' | ')} |`,
    '',
    `Client CPU (every thread, user + system) over the measured runs: ${STREAMS} streams ${cpuPer(many, many.events)} µs per event (${many.requests} requests, ${many.events} events); ${CONCURRENCY} streaming ${cpuPer(streamed, streamed.events)} µs per event (${streamed.requests} requests, ${streamed.events} events); ${CONCURRENCY} non-streaming ${cpuPer(plain, plain.requests)} µs per request (${plain.requests} requests).`,
    '',
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const load = process.argv[2];
  if (load) process.stdout.write(`${JSON.stringify(await profileRun(JSON.parse(load) as Load))}\n`);
  else process.stdout.write(`${(await clientProfileSection()).join('\n')}\n`);
}

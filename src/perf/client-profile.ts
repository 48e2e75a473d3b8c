// npm run perf, section "Where bench's CPU goes": a CPU profile of bench's measured run (after its start-up,
// connections and warm-up), streaming and not, against the zero-latency emulator, summed by kind of work.
// The profiled client runs in a child process of its own: `node dist/perf/client-profile.js URL stream|json SECONDS`
// prints one JSON line. Run the section alone: npm run build && node dist/perf/client-profile.js
import { execFileSync } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { BenchRunner } from '../bench/runner.js';
import { createAdapter } from '../providers/index.js';
import { CATEGORIES, cpuByCategory, type Category, type CpuProfile } from './cpu-categories.js';
import { spawnMock } from './mock-process.js';

const CONCURRENCY = 50;
const SECONDS = 4;
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

/** The child: one bench run in this process, profiled from the moment its clock starts to its end. */
async function profileRun(url: string, stream: boolean, seconds: number): Promise<ClientProfile> {
  const adapter = createAdapter({ name: 'instant', api: 'openai', baseUrl: url, model: 'instant', headers: {}, params: {}, timeouts: {} });
  const runner = new BenchRunner([{ name: 'instant', model: 'instant', api: 'openai', adapter }], {
    mode: 'closed',
    concurrency: CONCURRENCY,
    rate: 0,
    arrival: 'constant',
    warmup: 0,
    stream,
    seed: 1,
    prompts: [[{ role: 'user', content: 'Explain the CAP theorem.' }]],
    keepText: false,
    maxInflight: 100_000,
    durationMs: seconds * 1000,
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
  return { requests: outcome.accumulators.get('instant')!.ok, events, cpuMs: (cpu.user + cpu.system) / 1000, byCategory };
}

const f1 = (v: number) => (Math.round(v * 10) / 10).toString();

/** The section: each load profiled in a fresh client process against one emulator. */
export async function clientProfileSection(): Promise<string[]> {
  const mock = await spawnMock('instant');
  try {
    await mock.warm('instant', 300, 50);
    const run = (mode: 'stream' | 'json') => JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), mock.baseUrl('instant'), mode, String(SECONDS)], { encoding: 'utf8' })) as ClientProfile;
    const streamed = run('stream');
    const plain = run('json');
    const sampled = (p: ClientProfile) => Object.values(p.byCategory).reduce((a, b) => a + (b ?? 0), 0);
    const share = (p: ClientProfile, c: Category) => ((p.byCategory[c] ?? 0) / Math.max(1e-9, sampled(p))) * 100;
    const shown = CATEGORIES.filter((c) => share(streamed, c) >= 0.5 || share(plain, c) >= 0.5).sort((a, b) => share(streamed, b) - share(streamed, a));
    // µs of the main thread's sampled time per streamed event (request costs included) or per request.
    const perEvent = (c: Category) => ((streamed.byCategory[c] ?? 0) * 1000) / Math.max(1, streamed.events);
    const perRequest = (c: Category) => ((plain.byCategory[c] ?? 0) * 1000) / Math.max(1, plain.requests);
    return [
      '## Where bench’s CPU goes',
      '',
      `A CPU profile of bench's measured run (the inspector's sampling profiler, every ${SAMPLE_US} µs, started when the run's clock starts: none of its start-up, connections or warm-up), ${CONCURRENCY} connections for ${SECONDS} s against the zero-latency \`instant\` emulator in its own process, streaming (16 tokens an answer, each its own SSE event) and not, each in a fresh client process. The main thread's time is summed by kind of work: the profiled function's module decides (bench's own directories; Node's sockets and streams), and JSON.parse and JSON.stringify, which run inside their callers, are counted from the lines that call them. Socket writes are the \`write\` system calls, on loopback most of the kernel's work of delivering the bytes. Shares under 0.5 % in both runs are left out. The profiler slows the client a little; the shares, not the totals, are the figures.`,
      '',
      `| kind of work | streaming: share | µs per event | non-streaming: share | µs per request |`,
      '|---|--:|--:|--:|--:|',
      ...shown.map((c) => `| ${c} | ${f1(share(streamed, c))} % | ${f1(perEvent(c))} | ${f1(share(plain, c))} % | ${f1(perRequest(c))} |`),
      `| all sampled | 100 % | ${f1((sampled(streamed) * 1000) / Math.max(1, streamed.events))} | 100 % | ${f1((sampled(plain) * 1000) / Math.max(1, plain.requests))} |`,
      '',
      `Streaming: ${streamed.requests} requests, ${streamed.events} events, client CPU ${f1((streamed.cpuMs * 1000) / Math.max(1, streamed.events))} µs per event (every thread, user + system). Non-streaming: ${plain.requests} requests, ${f1((plain.cpuMs * 1000) / Math.max(1, plain.requests))} µs per request.`,
      '',
    ];
  } finally {
    await mock.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [url, mode, seconds] = process.argv.slice(2);
  if (url) process.stdout.write(`${JSON.stringify(await profileRun(url, mode === 'stream', Number(seconds ?? SECONDS)))}\n`);
  else process.stdout.write(`${(await clientProfileSection()).join('\n')}\n`);
}

// npm run perf, section "Where bench's CPU goes": a CPU profile of bench's measured run (after its start-up,
// connections and warm-up) at 1,000 streams (the self-check's load), and streaming and not against the
// zero-latency emulator, summed by kind of work. Each profiled client runs in a child process of its own:
// `node dist/perf/client-profile.js '{"url":…,"model":…,"stream":…,"concurrency":…,"seconds"|"requests":…}'`
// prints one JSON line. Run the section alone: npm run build && node dist/perf/client-profile.js
import { execFileSync } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { EMULATOR_WARM_CONCURRENCY, EMULATOR_WARM_REQUESTS, SELF_CHECK_PROFILE } from '../bench/self-check.js';
import { CATEGORIES, samplesByCategory, type Category, type CpuProfile } from './cpu-categories.js';
import { cpuMsOf, spawnMock } from './mock-process.js';
import { perfRunner } from './perf-runner.js';

const CONCURRENCY = 50;
const SECONDS = 4;
const STREAMS = 1000;
/** Three answers per stream at 1,000 streams. */
const STREAM_REQUESTS = 3 * STREAMS;
/** Sampling interval of the profiler (µs): finer than --cpu-prof's default 1,000, for shares of a few percent. */
const SAMPLE_US = 250;

export interface ClientProfile {
  ok: number;
  failed: number;
  /** Streamed content events received (0 without streaming). */
  events: number;
  wallMs: number;
  /** The main thread's own CPU (user + system) over the profiled run, ms: what the shares divide. */
  mainThreadCpuMs: number;
  /** Samples of the main thread by kind of work (idle left out). */
  samples: Partial<Record<Category, number>>;
}

interface Load {
  url: string;
  model: string;
  stream: boolean;
  concurrency: number;
  seconds?: number;
  requests?: number;
}

/** CPU time of this process's main thread so far (ms): process.cpuUsage() adds every thread. Its id is the process id. */
const mainThreadCpuMs = (): number => cpuMsOf(process.pid, process.pid);

/** The child: one bench run in this process, profiled from the moment its clock starts to its end. */
async function profileRun(load: Load): Promise<ClientProfile> {
  const { runner, adapter } = perfRunner(load.url, load.model, {
    concurrency: load.concurrency,
    stream: load.stream,
    requests: load.requests,
    durationMs: load.seconds === undefined ? undefined : load.seconds * 1000,
  });
  let events = 0;
  runner.on('request', (_name: string, rec: { chunks: number }) => (events += rec.chunks));
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: SAMPLE_US });
  let cpu0 = 0;
  const outcome = await runner.run(async () => {
    await session.post('Profiler.start');
    cpu0 = mainThreadCpuMs();
  });
  const cpuMs = mainThreadCpuMs() - cpu0;
  const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
  session.disconnect();
  await adapter.close();
  const acc = outcome.accumulators.get(load.model)!;
  // A failed request would shrink every per-event and per-request figure without saying so.
  if (acc.failed > 0 || acc.ok === 0) throw new Error(`profiled bench run: ${acc.ok} ok, ${acc.failed} failed (${JSON.stringify(load)})`);
  const samples: Partial<Record<Category, number>> = {};
  for (const [c, n] of samplesByCategory(profile)) samples[c] = n;
  return { ok: acc.ok, failed: acc.failed, events, wallMs: outcome.endedAt.getTime() - outcome.startedAt.getTime(), mainThreadCpuMs: cpuMs, samples };
}

/** A profile in a fresh client process. */
function profileChild(load: Load): ClientProfile {
  return JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(load)], { encoding: 'utf8' })) as ClientProfile;
}

const f1 = (v: number) => (Math.round(v * 10) / 10).toString();
const thousands = (n: number) => n.toLocaleString('en-US');

/** A profiled run, and what its figures are divided by (streamed events, or requests). */
export interface ProfiledLoad {
  label: string;
  per: 'event' | 'request';
  profile: ClientProfile;
}

/**
 * The table: each kind's share of the main thread's samples, and that share of the thread's measured CPU
 * per event or per request. Kinds under 0.5 % in every run are left out; rows follow the first run's shares.
 */
export function profileTable(loads: ProfiledLoad[]): string[] {
  const total = (p: ClientProfile) => Object.values(p.samples).reduce((a, b) => a + (b ?? 0), 0);
  const share = (p: ClientProfile, c: Category) => (p.samples[c] ?? 0) / Math.max(1e-9, total(p));
  const units = (l: ProfiledLoad) => (l.per === 'event' ? l.profile.events : l.profile.ok);
  const usPer = (l: ProfiledLoad, fraction: number) => (fraction * l.profile.mainThreadCpuMs * 1000) / Math.max(1, units(l));
  const shown = CATEGORIES.filter((c) => loads.some((l) => share(l.profile, c) >= 0.005)).sort((a, b) => share(loads[0].profile, b) - share(loads[0].profile, a));
  return [
    `| kind of work | ${loads.map((l) => `${l.label}: share | µs per ${l.per}`).join(' | ')} |`,
    `|---|${loads.map(() => '--:|--:|').join('')}`,
    ...shown.map((c) => `| ${c} | ${loads.map((l) => `${f1(share(l.profile, c) * 100)} % | ${f1(usPer(l, share(l.profile, c)))}`).join(' | ')} |`),
    `| main thread, all of it | ${loads.map((l) => `100 % | ${f1(usPer(l, 1))}`).join(' | ')} |`,
  ];
}

/** The section: each load profiled in a fresh client process, the emulators in their own. */
export async function clientProfileSection(): Promise<string[]> {
  const selfCheckEmulator = await spawnMock({ seed: 1, providers: { s: { dialect: 'openai', ...SELF_CHECK_PROFILE } } });
  const instant = await spawnMock('instant');
  let thousandStreams: ClientProfile;
  let streaming: ClientProfile;
  let nonStreaming: ClientProfile;
  try {
    await selfCheckEmulator.warm('s', EMULATOR_WARM_REQUESTS, EMULATOR_WARM_CONCURRENCY);
    thousandStreams = profileChild({ url: selfCheckEmulator.baseUrl('s'), model: 's', stream: true, concurrency: STREAMS, requests: STREAM_REQUESTS });
    await instant.warm('instant', EMULATOR_WARM_REQUESTS, CONCURRENCY);
    streaming = profileChild({ url: instant.baseUrl('instant'), model: 'instant', stream: true, concurrency: CONCURRENCY, seconds: SECONDS });
    nonStreaming = profileChild({ url: instant.baseUrl('instant'), model: 'instant', stream: false, concurrency: CONCURRENCY, seconds: SECONDS });
  } finally {
    await selfCheckEmulator.close();
    await instant.close();
  }
  const loads: ProfiledLoad[] = [
    { label: `${thousands(STREAMS)} streams`, per: 'event', profile: thousandStreams },
    { label: `${CONCURRENCY} streaming`, per: 'event', profile: streaming },
    { label: `${CONCURRENCY} non-streaming`, per: 'request', profile: nonStreaming },
  ];
  const run = (l: ProfiledLoad) => `${l.label}: ${thousands(l.profile.ok)} requests${l.per === 'event' ? `, ${thousands(l.profile.events)} events` : ''} in ${f1(l.profile.wallMs / 1000)} s, main thread ${Math.round(l.profile.mainThreadCpuMs)} ms of CPU`;
  return [
    '## Where bench’s CPU goes',
    '',
    `A CPU profile of bench's measured run (the inspector's sampling profiler, every ${SAMPLE_US} µs, started when the run's clock starts: none of its start-up, connections or warm-up), each load in a fresh client process, the emulator in its own: ${thousands(STREAMS)} streams with the self-check's load (${SELF_CHECK_PROFILE.ttft} ms to the first token, then ${SELF_CHECK_PROFILE.output_tokens} tokens sent ${SELF_CHECK_PROFILE.itl} ms apart, bunched when the emulator falls behind, as it does at this load on two cores; ${thousands(STREAM_REQUESTS)} requests), and ${CONCURRENCY} connections for ${SECONDS} s against the zero-latency \`instant\` emulator, streaming (16 tokens an answer, written at once) and not. The main thread's samples are counted by kind of work: the profiled function's module decides (bench's own directories; Node's sockets, streams and timers), and JSON.parse and JSON.stringify, which run inside their callers, are counted from the lines that call them. A kind's µs are its share of the samples times the main thread's own CPU over the run (from /proc), per streamed event (the request's own costs included) or per request. Socket writes are Node's native write (the string's encoding, then the \`write\` system call: on loopback most of the kernel's work of delivering the bytes). Reads happen while the event loop polls, outside JavaScript: the profiler samples that as idle, which is left out. Kinds under 0.5 % in every run are left out. The profiler costs CPU of its own, so compare the CPU per event without it in the self-check and request-rate sections: the shares are this section's figures.`,
    '',
    ...profileTable(loads),
    '',
    `${loads.map(run).join('; ')}.`,
    '',
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const load = process.argv[2];
  if (load) process.stdout.write(`${JSON.stringify(await profileRun(JSON.parse(load) as Load))}\n`);
  else process.stdout.write(`${(await clientProfileSection()).join('\n')}\n`);
}

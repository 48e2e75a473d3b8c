// bench --workers: the CLI as a real child process against the emulator on loopback (in this test's
// process), signals sent to the real child, progress on a real pseudo-terminal.
import hdr from 'hdr-histogram-js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decode } from '../src/bench/histogram.js';
import { parseWorkers, threadLoads } from '../src/bench/workers.js';
import { run, startCli } from './cli-helpers.js';
import { percentile } from './bench-helpers.js';
import { emulator } from './helpers.js';
import { validate } from './json-schema.js';
import { onTerminal } from './pty-helpers.js';

const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  // 30 ms to the first token, then 4 tokens 2 ms apart: ~36 ms a request.
  steady: { dialect: 'openai', ttft: c(30), itl: c(2), output_tokens: c(5) },
  endless: { dialect: 'openai', ttft: c(50), itl: c(50), output_tokens: c(200) },
});
const dir = mkdtempSync(join(tmpdir(), 'llmf-workers-'));
const config = join(dir, 'providers.yaml');
writeFileSync(
  config,
  `providers:
  steady: { api: openai, base_url: "${server.baseUrl('steady')}", model: m, price: { input: 1, output: 2, priced_at: 2026-11-24 } }
  endless: { api: openai, base_url: "${server.baseUrl('endless')}", model: m }
`,
);
const env = { HOME: dir, GITHUB_STEP_SUMMARY: '' };
const schema = JSON.parse(readFileSync(new URL('../schema/bench-result.schema.json', import.meta.url), 'utf8'));
type P = { name: string; requests: number; ok: number; failed: number; latency_ms: { p50: number; p99: number; count: number }; ttft_ms: { p50: number }; histograms: Record<string, string>; achieved_rate: number | null; tokens: { output: number }; cost_usd: number; wall_ms: number; timeline: { buckets: { ok: number }[] } | null; goodput?: { good: number; attainment: number } | null };
const bench = async (args: string[], timeoutMs = 60_000) => {
  const r = await run(['--config', config, 'bench', ...args, '-q', '--format', 'json'], { env, timeoutMs });
  return { ...r, result: r.code === 0 || r.code === 1 ? JSON.parse(r.stdout) : undefined };
};

describe('bench --workers', () => {
  it('agrees with a single-thread run: counts exact, histograms added, percentiles within the emulator\'s and the histogram\'s precision', { timeout: 120_000 }, async () => {
    // Each run's truth is what the emulator logged for it (time to its first and last token written).
    const truth = () => {
      const log = server.injected('steady');
      return { latency: percentile(log.map((i) => i.totalMs), 50), ttft: percentile(log.map((i) => i.ttftMs), 50) };
    };
    server.resetStats();
    const one = await bench(['steady', '-c', '8', '-n', '400']);
    const truthOne = truth();
    server.resetStats();
    const two = await bench(['steady', '-c', '8', '-n', '400', '--workers', '2']);
    const truthTwo = truth();
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    expect(validate(two.result, schema)).toEqual([]);
    expect(one.result.run.workers).toBe(1);
    expect(two.result.run.workers).toBe(2);
    // The run settings describe the whole load, not a thread's.
    expect(two.result.run.concurrency).toBe(8);
    expect(two.result.run.requests).toBe(400);
    const [a, b] = [one.result.providers[0] as P, two.result.providers[0] as P];
    expect([b.requests, b.ok, b.failed]).toEqual([400, 400, 0]);
    expect(b.tokens.output).toBe(a.tokens.output);
    expect(b.cost_usd).toBeCloseTo(a.cost_usd, 9);
    // Every thread's requests are in the merged histograms, not an average of the threads' percentiles.
    expect(decode(b.histograms.latency).totalCount).toBe(400);
    expect(decode(b.histograms.ttft).totalCount).toBe(400);
    expect(decode(b.histograms.itl).totalCount).toBe(400 * 4);
    // The time series of the HTML report holds every thread's requests.
    expect(b.timeline!.buckets.reduce((n, x) => n + x.ok, 0)).toBe(400);
    // The emulator answers in ~36 ms whoever asks, as its log says: each run's p50s are what the emulator
    // logged for that run plus the client's own share, and those shares agree within 2 ms plus the lateness
    // each client reports of its own event loop (p50). Comparing the two runs' p50s directly counted the
    // emulator's own lateness too (this test's process, whose timers run late when the machine is loaded,
    // by different amounts in the two runs): it failed under two CPU hogs.
    const late = Math.max(one.result.client.event_loop_delay_ms.p50, two.result.client.event_loop_delay_ms.p50);
    expect(Math.abs(a.latency_ms.p50 - truthOne.latency - (b.latency_ms.p50 - truthTwo.latency)), JSON.stringify({ a: a.latency_ms.p50, truthOne, b: b.latency_ms.p50, truthTwo, late })).toBeLessThan(2 + late);
    expect(Math.abs(a.ttft_ms.p50 - truthOne.ttft - (b.ttft_ms.p50 - truthTwo.ttft)), JSON.stringify({ a: a.ttft_ms.p50, truthOne, b: b.ttft_ms.p50, truthTwo, late })).toBeLessThan(2 + late);
    expect(b.ttft_ms.p50).toBeGreaterThanOrEqual(30);
    // Throughput adds up over one wall time, the threads' common span: ~8 in flight at ~36 ms ≈ 200/s.
    expect(b.wall_ms).toBeGreaterThan(1000);
    expect(b.wall_ms).toBeLessThan(a.wall_ms * 2);
  });

  it('an open loop keeps the requested rate over the threads together: constant and poisson arrivals', { timeout: 120_000 }, async () => {
    const constant = await bench(['steady', '--rate', '100', '-n', '200', '--workers', '2']);
    expect(constant.code).toBe(0);
    const p = constant.result.providers[0] as P;
    expect(p.ok).toBe(200);
    // 200 sends at 100/s: 199 intervals over ~1.99 s (the threads' sends interleave, half an interval apart).
    // Split wrongly, the rate is 50/s (one thread's share) or 200/s (each thread at the full rate). ±10 %
    // is ~200 ms of lateness on the first or last send of a 2 s schedule (±5 % was 100 ms, one stalled timer).
    expect(p.achieved_rate).toBeGreaterThan(90);
    expect(p.achieved_rate).toBeLessThan(111);
    expect(constant.result.run.rate).toBe(100);
    // Two independent Poisson streams at 50/s are one at 100/s: 400 arrivals estimate it within 4 standard deviations (5 % each).
    const poisson = await bench(['steady', '--rate', '100', '--arrival', 'poisson', '-n', '400', '--workers', '2']);
    expect(poisson.code).toBe(0);
    expect(poisson.result.providers[0].ok).toBe(400);
    expect(poisson.result.providers[0].achieved_rate).toBeGreaterThan(80);
    expect(poisson.result.providers[0].achieved_rate).toBeLessThan(120);
  });

  it('--duration bounds every thread; thresholds still decide the exit code', { timeout: 60_000 }, async () => {
    const r = await bench(['steady', '-c', '4', '--duration', '1s', '--workers', '2', '--fail-on', 'latency_p50<1ms', '--slo', 'latency<=10s']);
    expect(r.code).toBe(1);
    const p = r.result.providers[0] as P;
    expect(p.ok).toBeGreaterThan(20);
    expect(p.wall_ms).toBeGreaterThan(900);
    expect(p.wall_ms).toBeLessThan(1600);
    expect(r.result.thresholds[0]).toMatchObject({ expression: 'latency_p50<1ms', pass: false });
    // SLO tallies add up over the threads like the histograms: every request met a 10 s latency SLO.
    expect(p.goodput).toMatchObject({ good: p.ok, attainment: 1 });
    expect((await bench(['steady', '-c', '4', '-n', '20', '--workers', '2', '--fail-on', 'latency_p50<5s'])).code).toBe(0);
  });

  it('SIGTERM and SIGINT stop every thread; the partial result is printed and written, exit 143 / 130', { timeout: 60_000 }, async () => {
    for (const [sig, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
      const out = join(dir, `${sig}.json`);
      const cli = startCli(['--config', config, 'bench', 'endless', 'steady', '--duration', '60s', '-c', '4', '--workers', '2', '--out', out], env);
      // The threads are under way once the emulator has answered some of their requests (preparation first, then the clock).
      const before = server.stats().steady?.requests ?? 0;
      for (let i = 0; i < 400 && (server.stats().steady?.requests ?? 0) - before < 40; i++) await new Promise((r) => setTimeout(r, 50));
      const done = await cli.signal(sig);
      expect(done.code).toBe(code);
      // Two seconds of grace for the requests in flight, then the threads report.
      expect(done.ms).toBeLessThan(5000);
      expect(cli.out.stdout).toMatch(/PARTIAL RESULT/);
      const result = JSON.parse(readFileSync(out, 'utf8'));
      expect(result.partial).toBe(true);
      expect(result.run.workers).toBe(2);
      const steady = result.providers.find((p: P) => p.name === 'steady');
      expect(steady.ok).toBeGreaterThan(10);
      expect(decode(steady.histograms.latency).totalCount).toBe(steady.ok);
    }
  });

  it('a signal while the threads still prepare stops them before their clocks start: an empty partial result, never a hang', { timeout: 30_000 }, async () => {
    const out = join(dir, 'early.json');
    const cli = startCli(['--config', config, 'bench', 'steady', '--duration', '60s', '-c', '4', '--workers', '2', '--out', out], env);
    for (let i = 0; i < 300 && !cli.out.stderr.includes('worker threads'); i++) await new Promise((r) => setTimeout(r, 20));
    const done = await cli.signal('SIGTERM');
    expect(done.code).toBe(143);
    expect(done.ms).toBeLessThan(5000);
    const result = JSON.parse(readFileSync(out, 'utf8'));
    expect(result.partial).toBe(true);
    expect(result.providers[0].requests).toBe(0);
  });

  it('live progress on a terminal counts every thread\'s requests', { timeout: 60_000 }, async () => {
    const r = await onTerminal({ args: ['--config', config, 'bench', 'steady', '-n', '300', '-c', '2', '--workers', '2'], env: { ...env, NO_COLOR: '1' } });
    expect(r.exit).toBe(0);
    expect(r.output).toMatch(/steady {2}\d+\/300 done {2}0 err {2}p50 \d+(\.\d+)?ms {2}ETA \d+s/);
    // Counts from both threads: past half the run (one thread alone holds only 150).
    const counts = [...r.output.matchAll(/steady {2}(\d+)\/300 done/g)].map((m) => Number(m[1]));
    expect(Math.max(...counts)).toBeGreaterThan(150);
    expect(r.output).toMatch(/│ steady\s+│\s+300\/300 │/);
  });

  it('--raw and --hlog get every thread\'s requests, numbered as one thread would number them', { timeout: 60_000 }, async () => {
    const raw = join(dir, 'raw.jsonl');
    const hlog = join(dir, 'run.hlog');
    const r = await bench(['steady', '-c', '4', '-n', '40', '--warmup', '3', '--workers', '2', '--raw', raw, '--hlog', hlog]);
    expect(r.code).toBe(0);
    const lines = readFileSync(raw, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(43);
    expect(lines.map((l) => l.index).sort((x, y) => x - y)).toEqual(Array.from({ length: 43 }, (_, i) => i));
    expect(lines.filter((l) => l.warmup).map((l) => l.index).sort()).toEqual([0, 1, 2]);
    // Times are on one clock: every request was sent after the first and within the run.
    const sent = lines.filter((l) => !l.warmup).map((l) => l.sent_ms);
    expect(Math.max(...sent) - Math.min(...sent)).toBeLessThan(r.result.providers[0].wall_ms);
    expect(lines.filter((l) => !l.warmup).every((l) => l.ok && l.latency_ms >= 30)).toBe(true);
    // The interval log holds the 40 measured latencies.
    const text = readFileSync(hlog, 'utf8');
    expect(text).toMatch(/^#\[StartTime: /m);
    let logged = 0;
    const reader = new hdr.HistogramLogReader(text);
    for (let h = reader.nextIntervalHistogram(); h; h = reader.nextIntervalHistogram()) if (h.tag === 'steady.latency') logged += h.totalCount;
    expect(logged).toBe(40);
  });

  it('bad values: one line naming the flag and how to fix it, exit 2, nothing sent', async () => {
    const cases: [string[], RegExp][] = [
      [['--workers', '0'], /^--workers: "0" is not a number of threads; give 1 to 64, or auto/],
      [['--workers', 'two'], /^--workers: "two" is not a number of threads/],
      [['--workers', '65'], /^--workers: "65" is not a number of threads; give 1 to 64/],
      [['--workers', '3', '-c', '2'], /^--workers 3: concurrency 2 cannot be split 3 ways; give fewer --workers/],
      [['--workers', '2', '-c', '2', '-n', '1'], /^--workers 2: 1 requests cannot be split 2 ways/],
      [['--workers', '2', '-c', '2', '--repeat', '2'], /^--workers 2: not combined with --repeat yet/],
      [['--workers', '2', '--sweep', '--slo', 'latency<=1s'], /^--workers 2: not combined with --sweep yet/],
      [['--workers', '2', '-c', '2', '--input-tokens', '20'], /^--workers 2: not combined with a workload flag/],
    ];
    for (const [args, message] of cases) {
      const r = await run(['--config', config, 'bench', 'steady', ...args], { env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
  });

  it('auto takes one thread per core but one, at most the concurrency; the threads\' shares add up to the whole load', () => {
    const closed = { mode: 'closed' as const, requests: 100, concurrency: 3, rate: 0, warmup: 0 };
    expect(parseWorkers(undefined, closed, 16)).toBe(1);
    expect(parseWorkers('auto', closed, 2)).toBe(1);
    expect(parseWorkers('auto', closed, 16)).toBe(3);
    expect(parseWorkers('auto', { ...closed, mode: 'open', requests: undefined }, 16)).toBe(15);
    expect(parseWorkers('auto', { ...closed, concurrency: 100, requests: 2 }, 16)).toBe(2);
    // Threads of shard 2/3 are shards 2, 5 of 6: together exactly shard 2/3's requests and concurrency.
    const loads = threadLoads({ mode: 'closed', requests: 100, concurrency: 9, rate: 0, warmup: 3 }, 2, { index: 2, count: 3 });
    expect(loads.map((l) => l.shard)).toEqual([{ index: 2, count: 6 }, { index: 5, count: 6 }]);
    expect(loads.reduce((n, l) => n + l.requests!, 0)).toBe(33);
    expect(loads.reduce((n, l) => n + l.concurrency, 0)).toBe(3);
    expect(loads.reduce((n, l) => n + l.warmup, 0)).toBe(3);
    const open = threadLoads({ mode: 'open', requests: 7, concurrency: 1, rate: 30, warmup: 0 }, 3, undefined);
    expect(open.map((l) => [l.requests, l.rate])).toEqual([[3, 10], [2, 10], [2, 10]]);
  });
});

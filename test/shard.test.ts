// One load over several processes: --shard I/N, --start-at, --hlog, and merge of the shards — run as
// real processes of the CLI against the emulator on loopback.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import hdr from 'hdr-histogram-js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { arrivalOffsetMs, globalIndex, shardLoad } from '../src/bench/shard.js';
import { run } from './cli-helpers.js';
import { emulator } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'llmf-shard-'));
const home = { HOME: dir, XDG_STATE_HOME: dir, XDG_CACHE_HOME: dir, GITHUB_STEP_SUMMARY: '' };

async function configFile(): Promise<string> {
  const server = await emulator({
    fast: { dialect: 'openai', model: 'fast-1', ttft: { dist: 'uniform', min: 5, max: 20 }, itl: { dist: 'constant', value: 1 }, output_tokens: { dist: 'uniform', min: 5, max: 15 } },
    slow: { dialect: 'anthropic', model: 'slow-1', ttft: { dist: 'uniform', min: 20, max: 60 }, itl: { dist: 'constant', value: 2 }, output_tokens: { dist: 'uniform', min: 5, max: 15 } },
  });
  const file = join(dir, 'providers.yaml');
  writeFileSync(
    file,
    `providers:
  fast: { api: openai, base_url: "${server.baseUrl('fast')}", model: fast-1, price: { input: 1, output: 2 } }
  slow: { api: anthropic, base_url: "${server.baseUrl('slow')}", model: slow-1, price: { input: 3, output: 15 } }
`,
  );
  return file;
}

interface RawLine {
  provider: string;
  prompt_index: number;
  warmup: boolean;
  ok: boolean;
  latency_ms: number;
}
const rawLines = (file: string): RawLine[] => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RawLine);

describe('bench --shard and merge', () => {
  it('three shard processes send exactly the prompts of one run, and their merge gives the whole load with percentiles of the union', { timeout: 120_000 }, async () => {
    const config = await configFile();
    const common = ['bench', '--config', config, 'fast', 'slow', '-n', '31', '-c', '6', '--prompt', 'one', '--prompt', 'two', '--prompt', 'three', '--prompt', 'four', '--prompt', 'five', '-q', '--format', 'json', '--fail-on', 'error_rate<1%'];
    const whole = await run([...common, '--raw', join(dir, 'whole.jsonl')], { env: home, timeoutMs: 60_000 });
    expect(whole.code, whole.stderr).toBe(0);
    const shards = await Promise.all(
      [1, 2, 3].map((i) => run([...common, '--shard', `${i}/3`, '--out', join(dir, `shard-${i}.json`), '--raw', join(dir, `shard-${i}.jsonl`)], { env: home, timeoutMs: 60_000 })),
    );
    for (const s of shards) expect(s.code, s.stderr).toBe(0);
    // Each shard's own share: 31 requests over 3 shards = 11 + 10 + 10, concurrency 6 = 2 each.
    const parts = [1, 2, 3].map((i) => JSON.parse(readFileSync(join(dir, `shard-${i}.json`), 'utf8')));
    expect(parts.map((p) => p.run.requests)).toEqual([11, 10, 10]);
    expect(parts.map((p) => p.run.concurrency)).toEqual([2, 2, 2]);
    expect(parts.map((p) => p.run.shard)).toEqual([{ index: 1, count: 3 }, { index: 2, count: 3 }, { index: 3, count: 3 }]);

    // Together the shards sent each provider exactly the prompts one process sent (not the same prompts three times).
    const promptsOf = (lines: RawLine[], provider: string) => lines.filter((l) => l.provider === provider && !l.warmup).map((l) => l.prompt_index).sort((a, b) => a - b);
    const shardLines = [1, 2, 3].flatMap((i) => rawLines(join(dir, `shard-${i}.jsonl`)));
    for (const p of ['fast', 'slow']) expect(promptsOf(shardLines, p)).toEqual(promptsOf(rawLines(join(dir, 'whole.jsonl')), p));

    const m = await run(['merge', ...[1, 2, 3].map((i) => join(dir, `shard-${i}.json`)), '--format', 'json', '--out', join(dir, 'merged.json')], { env: home });
    expect(m.code, m.stderr).toBe(0);
    const merged = JSON.parse(m.stdout);
    const single = JSON.parse(whole.stdout);
    // The whole load's settings and counts, as one run reports them.
    expect(merged.run.requests).toBe(31);
    expect(merged.run.concurrency).toBe(6);
    expect(merged.run.shard).toBeNull();
    for (const name of ['fast', 'slow']) {
      const a = merged.providers.find((p: { name: string }) => p.name === name);
      const b = single.providers.find((p: { name: string }) => p.name === name);
      expect(a.requests).toBe(b.requests);
      expect(a.ok).toBe(b.ok);
      // The merged percentiles are the union's: within HDR's 3 significant digits of the exact value from every shard's raw latencies.
      const lat = shardLines.filter((l) => l.provider === name && l.ok && !l.warmup).map((l) => l.latency_ms).sort((x, y) => x - y);
      expect(lat).toHaveLength(31);
      const exact = (q: number) => lat[Math.ceil((q / 100) * lat.length) - 1];
      for (const q of [50, 90, 99]) expect(Math.abs(a.latency_ms[`p${q}`] - exact(q))).toBeLessThanOrEqual(exact(q) * 0.001 + 0.002);
      expect(Math.abs(a.latency_ms.max - lat.at(-1)!)).toBeLessThanOrEqual(lat.at(-1)! * 0.001 + 0.002);
    }
    // The shards' own threshold, judged again on the whole load.
    expect(merged.thresholds.map((t: { expression: string; provider: string; pass: boolean }) => `${t.provider}:${t.expression}:${t.pass}`).sort()).toEqual(['fast:error_rate<1%:true', 'slow:error_rate<1%:true']);
    const failing = await run(['merge', ...[1, 2, 3].map((i) => join(dir, `shard-${i}.json`)), '--fail-on', 'latency_p50<0.01ms'], { env: home });
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/fast: latency_p50 FAILED: measured [\d.]+ms, required < 0ms/);

    // A shard missing, a shard twice, or a shard beside a whole run: the merge would describe a load nobody ran.
    const missing = await run(['merge', join(dir, 'shard-1.json'), join(dir, 'shard-3.json')], { env: home });
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe('merge: shard 2 of 3 missing; pass every shard\'s result');
    const twice = await run(['merge', join(dir, 'shard-1.json'), join(dir, 'shard-1.json'), join(dir, 'shard-2.json')], { env: home });
    expect(twice.stderr.trim()).toMatch(/^merge: .*shard-1\.json and .*shard-1\.json are both shard 1\/3; each shard once$/);
  });

  it('--hlog writes an HdrHistogram interval log that the HDR log reader reads back to the run\'s own counts and percentiles', { timeout: 60_000 }, async () => {
    const config = await configFile();
    const hlog = join(dir, 'run.hlog');
    const r = await run(['bench', '--config', config, 'fast', 'slow', '-n', '40', '-c', '4', '-q', '--format', 'json', '--hlog', hlog], { env: home, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    const text = readFileSync(hlog, 'utf8');
    expect(text).toMatch(/^#\[Histogram log format version 1\.3\]$/m);
    expect(text).toMatch(/^#\[StartTime: \d+\.\d{3} \(seconds since epoch\), \d{4}-/m);
    expect(hdr.listTags(text).sort()).toEqual(['fast.latency', 'fast.ttft', 'slow.latency', 'slow.ttft']);
    // Add up every interval of a tag, as an HDR tool would for the whole run.
    const reader = new hdr.HistogramLogReader(text);
    const totals = new Map<string, InstanceType<typeof hdr.JsHistogram> | ReturnType<typeof hdr.build>>();
    for (let h = reader.nextIntervalHistogram(); h; h = reader.nextIntervalHistogram()) {
      const t = totals.get(h.tag) ?? hdr.build({ numberOfSignificantValueDigits: 3 });
      t.add(h);
      totals.set(h.tag, t);
    }
    for (const name of ['fast', 'slow']) {
      const p = result.providers.find((x: { name: string }) => x.name === name);
      const lat = totals.get(`${name}.latency`)!;
      expect(lat.totalCount).toBe(p.ok);
      expect(lat.getValueAtPercentile(50) / 1000).toBeCloseTo(p.latency_ms.p50, 0);
      expect(lat.maxValue / 1000).toBeCloseTo(p.latency_ms.max, 0);
      expect(totals.get(`${name}.ttft`)!.totalCount).toBe(p.ok);
    }
  });

  it('--start-at holds the measured phase until the given time, in every shard', { timeout: 60_000 }, async () => {
    const config = await configFile();
    const at = new Date(Date.now() + 3_000);
    const iso = at.toISOString();
    const both = await Promise.all([1, 2].map((i) => run(['bench', '--config', config, 'fast', '-n', '4', '-c', '2', '-q', '--format', 'json', '--shard', `${i}/2`, '--start-at', iso], { env: home, timeoutMs: 40_000 })));
    for (const r of both) {
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.run.start_at).toBe(iso);
      expect(Date.parse(j.started_at)).toBeGreaterThanOrEqual(at.getTime());
    }
    // Unix seconds too; a time already past starts at once with a warning.
    const past = await run(['bench', '--config', config, 'fast', '-n', '1', '--format', 'json', '--start-at', String(Math.floor(Date.now() / 1000) - 60)], { env: home, timeoutMs: 30_000 });
    expect(past.code, past.stderr).toBe(0);
    expect(past.stderr).toMatch(/warning: --start-at .* is already past; starting now/);
  });

  it.each([
    [['--shard', '0/3'], '--shard: shard 0 of 3 does not exist; shards are numbered 1 to 3 (a Kubernetes Indexed Job: $((JOB_COMPLETION_INDEX + 1))/3)'],
    [['--shard', '4/3'], '--shard: shard 4 of 3 does not exist; shards are numbered 1 to 3 (a Kubernetes Indexed Job: $((JOB_COMPLETION_INDEX + 1))/3)'],
    [['--shard', 'two/3'], '--shard: "two/3" is not I/N; e.g. --shard 2/4 runs the second of four shards (1-based)'],
    [['--shard', '1/5', '-n', '3'], '--shard: 3 requests cannot be split 5 ways; ask for at least 5 (--requests is the whole load, across shards)'],
    [['--start-at', 'tomorrow'], "--start-at: \"tomorrow\" is not a time; give ISO 8601 with a zone (e.g. 2026-11-30T12:00:00Z, as `date -u -d '+1 min' +%FT%TZ` prints) or Unix seconds"],
    [['--start-at', '2999-01-01T00:00:00Z'], '--start-at: 2999-01-01T00:00:00.000Z is more than 24 h ahead; check the date'],
  ])('bad input %j: one line, exit 2', async (args, message) => {
    const r = await run(['bench', '--demo', ...args], { env: home });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(message);
  });
});

describe('shard arithmetic', () => {
  it('shares add up to the whole load and the measured indices interleave without overlap', () => {
    const shards = [1, 2, 3, 4].map((index) => ({ index, count: 4 }));
    expect(shards.map((s) => shardLoad({ mode: 'closed', requests: 10, concurrency: 9, rate: 0 }, s))).toEqual([
      { requests: 3, concurrency: 3, rate: 0 },
      { requests: 3, concurrency: 2, rate: 0 },
      { requests: 2, concurrency: 2, rate: 0 },
      { requests: 2, concurrency: 2, rate: 0 },
    ]);
    expect(shardLoad({ mode: 'open', requests: undefined, concurrency: 1, rate: 100 }, shards[0]).rate).toBe(25);
    // Warm-up (2) per shard, then the whole load's indices 2.. dealt out in turn.
    const taken = shards.flatMap((s) => Array.from({ length: shardLoad({ mode: 'closed', requests: 10, concurrency: 4, rate: 0 }, s).requests! }, (_, k) => globalIndex(2 + k, 2, s)));
    expect(taken.sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    // Constant arrivals at 100/s over 4 shards: each sends every 40 ms, offset 0, 10, 20, 30 ms.
    expect(shards.map((s) => arrivalOffsetMs(100, s))).toEqual([0, 10, 20, 30]);
  });
});

describe('shipped examples for sharded runs', () => {
  it('the Kubernetes Indexed Job runs as many shards as it has completions, each 1-based from JOB_COMPLETION_INDEX', () => {
    const docs = readFileSync(new URL('../examples/kubernetes/bench-indexed-job.yaml', import.meta.url), 'utf8')
      .split(/^---$/m)
      .map((d) => parse(d))
      .filter(Boolean);
    const job = docs.find((d) => d.kind === 'Job' && d.spec.completionMode === 'Indexed');
    expect(job).toBeDefined();
    const n = job.spec.completions;
    expect(job.spec.parallelism).toBe(n);
    const script = JSON.stringify(job.spec.template.spec.containers[0]);
    expect(script).toContain(`--shard $((JOB_COMPLETION_INDEX + 1))/${n}`);
    expect(script).toContain('--start-at');
    const merge = docs.find((d) => d.kind === 'Job' && d !== job);
    expect(JSON.stringify(merge)).toMatch(/llm-fallback merge .*--fail-on/);
  });

  it('the GitHub Actions matrix has one job per shard and a merge job that needs them all', () => {
    const wf = parse(readFileSync(new URL('../examples/github-actions-shards.yml', import.meta.url), 'utf8'));
    const shards: number[] = wf.jobs.bench.strategy.matrix.shard;
    const n = shards.length;
    expect(shards).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(JSON.stringify(wf.jobs.bench.steps)).toContain(`--shard \${{ matrix.shard }}/${n}`);
    expect(wf.jobs.merge.needs).toBe('bench');
    expect(JSON.stringify(wf.jobs.merge.steps)).toMatch(/llm-fallback merge .*--fail-on/);
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RepeatedRuns, spreadOf } from '../src/bench/repeat.js';
import { providerResult } from '../src/bench/result.js';
import type { LoadSpec, RequestRecord } from '../src/bench/runner.js';
import { exactMannWhitneyGreater } from '../src/bench/stats.js';
import { target } from './bench-helpers.js';
import { run } from './cli-helpers.js';
import { emulator } from './helpers.js';
import { validate } from './json-schema.js';

const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  varied: { dialect: 'openai', ttft: { dist: 'lognormal', median: 20, sigma: 0.5 }, itl: c(1), output_tokens: c(4) },
  // Far apart, so that a loaded machine's delays cannot reorder their runs; one token, so no gap figures.
  fast: { dialect: 'openai', ttft: c(5), output_tokens: c(1) },
  slow: { dialect: 'openai', ttft: c(400), output_tokens: c(1) },
});
const schema = JSON.parse(readFileSync(new URL('../schema/bench-result.schema.json', import.meta.url), 'utf8'));

/** P(U ≥ observed) by listing every way to split the pooled values: an independent check of the exact test. */
function bruteForceP(base: number[], next: number[]): number {
  const pooled = [...base, ...next];
  const u = (b: number[], x: number[]) => b.reduce((s, bv) => s + x.reduce((t, xv) => t + (xv > bv ? 1 : xv === bv ? 0.5 : 0), 0), 0);
  const observed = u(base, next);
  let hits = 0;
  let all = 0;
  const pick = (start: number, chosen: number[]) => {
    if (chosen.length === next.length) {
      const nx = chosen.map((i) => pooled[i]);
      const bs = pooled.filter((_, i) => !chosen.includes(i));
      all++;
      if (u(bs, nx) >= observed) hits++;
      return;
    }
    for (let i = start; i < pooled.length; i++) pick(i + 1, [...chosen, i]);
  };
  pick(0, []);
  return hits / all;
}

describe('spread and the run-level test', () => {
  it('spreadOf gives min, median, max, mean, sample sd and CV, leaving out runs without the figure', () => {
    expect(spreadOf([4, 1, null, 3, 2])).toEqual({ n: 4, min: 1, median: 2.5, max: 4, mean: 2.5, stddev: 1.290994, cv: 0.516398 });
    expect(spreadOf([7])).toEqual({ n: 1, min: 7, median: 7, max: 7, mean: 7, stddev: 0, cv: null });
    expect(spreadOf([null])).toBeNull();
  });

  it('exact Mann-Whitney agrees with listing every split, and says when runs are too few to judge', () => {
    for (const [base, next] of [
      [[1, 3, 5, 7], [2, 4, 6, 8]],
      [[1, 2, 3, 4], [5, 6, 7, 8]],
      [[10, 12, 11, 9, 13], [12, 14, 15, 11, 16]],
      [[5, 5, 6], [5, 7, 8, 9]],
    ]) {
      expect(exactMannWhitneyGreater(base, next, 0.05).p).toBeCloseTo(bruteForceP(base, next), 12);
    }
    expect(exactMannWhitneyGreater([1, 2, 3, 4], [5, 6, 7, 8], 0.05).p).toBeCloseTo(1 / 70, 12);
    // 3 runs against 3: even a complete separation has p = 1/20, not below 0.05.
    expect(exactMannWhitneyGreater([1, 2, 3], [4, 5, 6], 0.05).p).toBeNull();
    expect(exactMannWhitneyGreater([1, 2, 3], [4, 5, 6], 0.1).p).toBeCloseTo(0.05, 12);
  });
});

describe('bench --repeat', () => {
  const spec: LoadSpec = { mode: 'closed', concurrency: 2, rate: 0, arrival: 'constant', requests: 6, warmup: 0, stream: true, seed: 3, prompts: ['a', 'b', 'c', 'd', 'e'].map((p) => [{ role: 'user', content: `prompt ${p}` }]), keepText: false, maxInflight: 10_000 };

  it('runs the same load and seed N times: every run kept, the figures of all runs together, each figure\'s spread', async () => {
    const prompts: number[][] = [[], [], []];
    const runs = new RepeatedRuns([target(server, 'varied')], spec, 3);
    let current = 0;
    runs.on('run', (i: number) => (current = i));
    runs.on('request', (_: string, r: RequestRecord) => prompts[current].push(r.index * 100 + r.promptIndex));
    const out = await runs.run();
    const rep = out.repeats.get('varied')!;
    expect(rep.runs).toHaveLength(3);
    expect(out.accumulators.get('varied')!.sent).toBe(18);
    // Same seed: the same prompt for the same request index in every run.
    expect(prompts.map((p) => [...p].sort((a, b) => a - b))).toEqual([prompts[0], prompts[0], prompts[0]].map((p) => [...p].sort((a, b) => a - b)));
    expect(prompts[0]).toHaveLength(6);
    const p50s = rep.runs.map((r) => r.latency_p50_ms!);
    expect(rep.spread.latency_p50_ms).toEqual(spreadOf(p50s));
    expect(rep.spread.latency_p50_ms!.min).toBe(Math.min(...p50s));
    expect(rep.spread.latency_p50_ms!.max).toBe(Math.max(...p50s));
    expect(rep.spread.error_rate).toMatchObject({ n: 3, min: 0, max: 0, cv: null });
    expect(rep.spread.goodput_attainment).toBeNull();
  }, 30_000);

  it('open loop: the achieved rate is the runs\' sends over their sending spans, each run\'s n sends spanning n − 1 intervals', async () => {
    // 3 runs of 6 sends at 20/s: 15 intervals over 3 spans of ~0.25 s. Counting the 18 sends as one run's
    // (17 intervals) reported 17/15 of the rate: 22.7/s for 20/s sent.
    const runs = new RepeatedRuns([target(server, 'fast')], { ...spec, mode: 'open', rate: 20, requests: 6 }, 3);
    const sent: number[][] = [[], [], []];
    let current = 0;
    runs.on('run', (i: number) => (current = i));
    runs.on('request', (_: string, r: RequestRecord) => sent[current].push(r.sent));
    const out = await runs.run();
    const p = providerResult(out.accumulators.get('fast')!, { name: 'fast', model: 'm', api: 'openai' });
    expect(sent.map((s) => s.length)).toEqual([6, 6, 6]);
    const spanS = sent.reduce((n, s) => n + (Math.max(...s) - Math.min(...s)), 0) / 1000;
    expect(p.achieved_rate).toBe(Math.round((15 / spanS) * 1000) / 1000);
  }, 30_000);

  const dir = mkdtempSync(join(tmpdir(), 'llmf-repeat-'));
  const config = (provider: string) => {
    const file = join(dir, `${provider}.yaml`);
    writeFileSync(file, `providers:\n  p: { api: openai, base_url: "${server.baseUrl(provider)}", model: m }\n`);
    return file;
  };

  it('on the command line: JSON with repeats (schema-valid), the spread table, and compare judging run against run', async () => {
    const results: Record<string, string> = {};
    for (const [name, provider, times] of [
      ['fast4', 'fast', '4'],
      ['slow4', 'slow', '4'],
    ]) {
      results[name] = join(dir, `${name}.json`);
      const r = await run(['--config', config(provider), 'bench', 'p', '--repeat', times, '-n', '4', '-c', '2', '--out', results[name]], { timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(0);
      if (name === 'fast4') {
        expect(r.stdout).toContain('Spread over 4 runs of the same load and seed');
        expect(r.stdout).toMatch(/│ p\s+│ latency p50 │\s+4 │/);
        expect(r.stderr).toContain('run 4 of 4 done');
      }
    }
    const fast4 = JSON.parse(readFileSync(results.fast4, 'utf8'));
    expect(validate(fast4, schema)).toEqual([]);
    expect(fast4.run.repeat).toBe(4);
    expect(fast4.providers[0].requests).toBe(16);
    expect(fast4.providers[0].repeats.runs).toHaveLength(4);
    // 4 runs against 4, all slower: p = 1/70 run against run, a regression.
    const worse = await run(['compare', results.fast4, results.slow4]);
    expect(worse.code).toBe(1);
    expect(worse.stdout).toMatch(/latency p50 .*REGRESSION \(p=0\.014\)/);
    expect(worse.stdout).toContain('compared run against run');
    // The same results with their last run left out (edited copies, not new runs): 3 against 3 cannot reach
    // p < 0.05 whatever the runs say.
    for (const name of ['fast', 'slow']) {
      const r = JSON.parse(readFileSync(results[`${name}4`], 'utf8'));
      r.providers[0].repeats.runs.pop();
      results[`${name}3`] = join(dir, `${name}3.json`);
      writeFileSync(results[`${name}3`], JSON.stringify(r));
    }
    const few = await run(['compare', results.fast3, results.slow3]);
    expect(few.code).toBe(0);
    expect(few.stdout).toMatch(/latency p50 .*sample too small to judge/);
    expect(few.stdout).toContain('too few repeated runs, e.g. 3 against 3');
  }, 120_000);

  it('refuses --repeat with --sweep in one line (exit 2)', async () => {
    const r = await run(['--config', config('fast'), 'bench', 'p', '--repeat', '3', '--sweep', '--slo', 'ttft<=1s']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('--repeat: a capacity search (--sweep) runs its own series of steps; run the sweep once, or repeat a fixed load without --sweep');
  });
});

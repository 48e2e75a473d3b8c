import { describe, expect, it } from 'vitest';
import { ProviderAccumulator } from '../src/bench/accumulator.js';
import { compareResults } from '../src/bench/compare.js';
import { recordedValues } from '../src/bench/hdr-values.js';
import type { RequestRecord } from '../src/bench/measure.js';
import { providerResult, type BenchResult } from '../src/bench/result.js';
import { fisherMoreFailures, mannWhitneyGreater, mannWhitneyLess, normalUpperTail } from '../src/bench/stats.js';
import { compareTable } from '../src/format/compare.js';
import { PRICE } from './bench-helpers.js';

// Reference p-values computed with SciPy 1.17.1 (scipy.stats.mannwhitneyu(new, base, alternative=...,
// method='asymptotic', use_continuity=True), scipy.stats.fisher_exact([[new_failed, new_ok], [base_failed, base_ok]],
// alternative='greater'), scipy.stats.norm.sf) on this machine, 2026-11-29.
const vc = (values: number[]) => {
  const m = new Map<number, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return [...m.entries()].sort(([a], [b]) => a - b).map(([ms, count]) => ({ ms, count }));
};
const BIMODAL_BASE = [80, 90, 100, 110, 120, 300, 310, 320, 330, 340];
const BIMODAL_NEW = [80, 90, 100, 110, 300, 310, 320, 330, 340, 350];
const SHIFT_BASE = [100, 110, 120, 130, 140, 150, 160, 170, 180, 190];
const SHIFT_NEW = SHIFT_BASE.map((v) => v + 100);

describe('significance tests against SciPy', () => {
  it('normal upper tail', () => {
    expect(normalUpperTail(1.96)).toBeCloseTo(0.024997895148220435, 6);
    expect(normalUpperTail(-0.5)).toBeCloseTo(0.6914624612740131, 6);
    expect(normalUpperTail(3.2)).toBeCloseTo(0.0006871379379158471, 6);
  });

  it('Mann-Whitney U, one-sided, with ties, mid-ranks and continuity correction', () => {
    expect(mannWhitneyGreater(vc(BIMODAL_BASE), vc(BIMODAL_NEW)).p).toBeCloseTo(0.35225117675435, 5);
    expect(mannWhitneyGreater(vc(SHIFT_BASE), vc(SHIFT_NEW)).p).toBeCloseTo(9.133589555477501e-5, 6);
    const x = [10, 10, 20, 20, 20, 30, 40, 40, 50, 60];
    const y = [20, 30, 30, 40, 40, 40, 50, 60, 60, 70, 80];
    expect(mannWhitneyGreater(vc(x), vc(y)).p).toBeCloseTo(0.024872995360751497, 5);
    expect(mannWhitneyLess(vc(x), vc(y)).p).toBeCloseTo(0.9789985943284762, 5);
    expect(mannWhitneyGreater(vc([1, 2, 3, 4]), vc([5, 6, 7, 8]))).toEqual({ p: null, n_base: 4, n_new: 4 });
  });

  it("Fisher's exact test for more failures; too small to judge when no outcome could be significant", () => {
    expect(fisherMoreFailures(0, 20, 5, 20, 0.05).p).toBeCloseTo(0.023562023562023564, 9);
    expect(fisherMoreFailures(1, 30, 6, 30, 0.05).p).toBeCloseTo(0.05139485848674075, 9);
    expect(fisherMoreFailures(0, 10, 1, 10, 0.05).p).toBeNull(); // one failure can never be told from chance
    expect(fisherMoreFailures(0, 10, 0, 10, 0.05).p).toBe(1);
  });
});

/** A provider result whose histograms hold exactly these latencies (TTFT = a quarter of each). */
function resultOf(latencies: number[], failed = 0): BenchResult {
  const acc = new ProviderAccumulator(PRICE);
  const rec = (latency: number, ok: boolean): RequestRecord => ({
    index: 0,
    promptIndex: 0,
    warmup: false,
    start: 1000,
    issued: 1000,
    sent: 1000,
    firstToken: 1000 + latency / 4,
    end: 1000 + latency,
    ok,
    errorClass: ok ? undefined : 'server',
    gaps: [],
    chunks: 10,
    usage: { inputTokens: 10, cachedInputTokens: 0, outputTokens: 10 },
    estimatedInputTokens: 10,
    estimatedOutputTokens: 10,
  });
  for (const l of latencies) acc.add(rec(l, true));
  for (let i = 0; i < failed; i++) acc.add(rec(50, false));
  acc.wallMs = 10_000;
  return { providers: [providerResult(acc, { name: 'p', model: 'm', api: 'openai' })] } as BenchResult;
}

describe('compare flags a regression only outside the noise', () => {
  it('reads the per-request distributions from the HDR histograms in the result', () => {
    expect(recordedValues(resultOf(SHIFT_BASE).providers[0].histograms.latency).map((v) => Math.round(v.ms))).toEqual(SHIFT_BASE);
  });

  it('a p50 that jumped 150% on the same distribution is noise; a shifted distribution is a regression', () => {
    const noisy = compareResults(resultOf(BIMODAL_BASE), resultOf(BIMODAL_NEW), 0.1, 0.01);
    const p50 = noisy.rows.find((r) => r.metric === 'latency_p50')!;
    expect(p50.change).toBeGreaterThan(1.4);
    expect(p50).toMatchObject({ regression: false, noise: 'within' });
    expect(p50.p).toBeCloseTo(0.352, 2);
    expect(noisy.regressions).toBe(0);

    const shifted = compareResults(resultOf(SHIFT_BASE), resultOf(SHIFT_NEW), 0.1, 0.01);
    const lat = shifted.rows.find((r) => r.metric === 'latency_p50')!;
    expect(lat).toMatchObject({ regression: true, noise: 'outside' });
    expect(lat.p!).toBeLessThan(0.001);
    expect(shifted.rows.find((r) => r.metric === 'ttft_p95')).toMatchObject({ regression: true, noise: 'outside' });
    // Cost has no per-request data: judged on the tolerance alone, as before.
    expect(shifted.rows.find((r) => r.metric === 'cost_per_1k')).toMatchObject({ noise: null, regression: false });
    const table = compareTable(shifted, 0.1);
    expect(table).toMatch(/latency p50 .*REGRESSION \(p=<0\.001\)/);
    expect(compareTable(noisy, 0.1)).toMatch(/latency p50 .*within noise \(p=0\.35\d\)/);
  });

  it('says when a sample is too small to judge, and does not count it', () => {
    const small = compareResults(resultOf([100, 110, 120, 130]), resultOf([300, 310, 320, 330]), 0.1, 0.01);
    expect(small.rows.find((r) => r.metric === 'latency_p50')).toMatchObject({ regression: false, noise: 'too_small', p: null });
    expect(small.regressions).toBe(0);
    expect(small.undecided).toBeGreaterThan(0);
    expect(compareTable(small, 0.1)).toMatch(/latency p50 .*sample too small to judge/);
    const text = compareTable(small, 0.1);
    // The notes under the table wrap to 100 columns (they were one line of up to 250), continuing with two spaces.
    expect(Math.max(...text.split('\n').map((l) => [...l].length))).toBeLessThanOrEqual(100);
    expect(text.replace(/\n {2}(?=\S)/g, ' ')).toContain(`${small.undecided} worsening(s) beyond the tolerance on samples too small to judge`);
  });

  it('an error rate up beyond the tolerance counts only when Fisher says it is not chance', () => {
    const chance = compareResults(resultOf(SHIFT_BASE), resultOf(SHIFT_BASE, 1), 0.1, 0.01);
    expect(chance.rows.find((r) => r.metric === 'error_rate')).toMatchObject({ regression: false, noise: 'too_small' });
    const real = compareResults(resultOf([...SHIFT_BASE, ...SHIFT_BASE]), resultOf([...SHIFT_BASE, ...SHIFT_BASE].slice(0, 15), 5), 0.1, 0.01);
    const err = real.rows.find((r) => r.metric === 'error_rate')!;
    expect(err).toMatchObject({ regression: true, noise: 'outside' });
    expect(err.p).toBeCloseTo(0.023562023562023564, 9);
  });
});

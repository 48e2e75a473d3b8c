import { describe, expect, it } from 'vitest';
import { parseSlos } from '../src/bench/slo.js';
import { CapacitySweep, judgeStep, nextLevel, SWEEP_RESOLUTION, type SweepConfig } from '../src/bench/sweep.js';
import type { LoadSpec } from '../src/bench/runner.js';
import { target } from './bench-helpers.js';
import { emulator } from './helpers.js';

const c = (value: number) => ({ dist: 'constant' as const, value });

// A provider with a real knee: 6 requests in service at once, 200 ms each, the rest queue → 30 requests/s.
const SLOTS = 6;
const SERVICE_MS = 200;
const KNEE = SLOTS / (SERVICE_MS / 1000);
const server = await emulator({
  knee: { dialect: 'openai', ttft: c(SERVICE_MS), output_tokens: c(1), capacity: { slots: SLOTS } },
  flaky: { dialect: 'openai', ttft: c(5), output_tokens: c(2), faults: [{ kind: 'server', p: 0.3 }] },
  fast: { dialect: 'openai', ttft: c(2), output_tokens: c(2) },
});

/** The bench's load settings every step shares; the sweep sets mode, level and bounds. */
const base = (slo: string): LoadSpec => ({
  mode: 'open',
  concurrency: 1,
  rate: 0,
  arrival: 'constant',
  warmup: 0,
  stream: true,
  seed: 1,
  prompts: [[{ role: 'user', content: 'Explain the CAP theorem.' }]],
  keepText: false,
  maxInflight: 10_000,
  slos: parseSlos([slo]),
});
const cfg = (over: Partial<SweepConfig>): SweepConfig => ({ mode: 'rate', targetAttainment: 0.9, stepDurationMs: 2000, start: 8, ceiling: 100_000, maxRequests: 10_000, ...over });

describe('the search, step by step', () => {
  const rate = { mode: 'rate' as const, start: 4, ceiling: 1000, stepDurationMs: 1000 };
  it('doubles from the start until a step fails, then bisects to the resolution', () => {
    expect(nextLevel({ pass: null, fail: null }, rate)).toEqual({ level: 4 });
    expect(nextLevel({ pass: 16, fail: null }, rate)).toEqual({ level: 32 });
    expect(nextLevel({ pass: 16, fail: 32 }, rate)).toEqual({ level: 24 });
    expect(nextLevel({ pass: 30, fail: 32 }, rate)).toEqual({ level: 31 });
    // 31 → 32 is within 5 % of 31: the search is over.
    expect(32 - 31).toBeLessThanOrEqual(SWEEP_RESOLUTION * 31);
    expect(nextLevel({ pass: 31, fail: 32 }, rate)).toEqual({ stop: 'converged' });
    expect(nextLevel({ pass: 1000, fail: null }, rate)).toEqual({ stop: 'ceiling' });
    expect(nextLevel({ pass: 600, fail: null }, rate)).toEqual({ level: 1000 });
  });

  it('goes below the start when the start fails, down to steps of a few requests', () => {
    expect(nextLevel({ pass: null, fail: 4 }, { ...rate, stepDurationMs: 5000 })).toEqual({ level: 2 });
    expect(nextLevel({ pass: null, fail: 8 }, rate)).toEqual({ level: 4 });
    // 2/s for 1 s is 2 requests: too few to judge an attainment by.
    expect(nextLevel({ pass: null, fail: 4 }, rate)).toEqual({ stop: 'none_passed' });
  });

  it('bisects concurrency in whole numbers', () => {
    const conc = { mode: 'concurrency' as const, start: 1, ceiling: 10_000, stepDurationMs: 1000 };
    expect(nextLevel({ pass: 2, fail: null }, conc)).toEqual({ level: 4 });
    expect(nextLevel({ pass: 2, fail: 4 }, conc)).toEqual({ level: 3 });
    expect(nextLevel({ pass: 3, fail: 4 }, conc)).toEqual({ stop: 'converged' });
    expect(nextLevel({ pass: null, fail: 1 }, conc)).toEqual({ stop: 'none_passed' });
  });

  it('judges a step by attainment, and stops on errors beyond what the target allows', () => {
    expect(judgeStep(0.95, 0, 0.95)).toBe('pass');
    expect(judgeStep(0.949, 0, 0.95)).toBe('fail');
    expect(judgeStep(null, null, 0.95)).toBe('fail');
    expect(judgeStep(0.5, 0.06, 0.95)).toBe('errors');
    expect(judgeStep(0.9, 0.05, 0.95)).toBe('fail');
  });
});

describe('bench --sweep against an emulated provider with a known knee', () => {
  it(`finds max_rate within 10 % of slots / service time (${KNEE}/s)`, async () => {
    // Past the knee the queue grows by (rate − knee) requests a second, so waits pass the SLO's 100 ms of
    // slack within the step: at 10 % above the knee, 2/3 of a 2 s step's requests fail; below it, none wait.
    // 90 % attainment leaves room for a loaded machine's scheduling delays, which are not the knee.
    const sweep = new CapacitySweep([target(server, 'knee')], base(`latency<=${SERVICE_MS * 1.5}ms`), cfg({}));
    const out = await sweep.run();
    const s = out.sweeps.get('knee')!;
    expect(s.stop_reason).toBe('converged');
    expect(s.max_rate).not.toBeNull();
    expect(Math.abs(s.max_rate! - KNEE) / KNEE).toBeLessThanOrEqual(0.1);
    // It doubled past the knee and bisected back: the failing bound is within the resolution of the maximum.
    expect(s.steps.map((x) => x.rate).slice(0, 3)).toEqual([8, 16, 32]);
    expect(s.first_failing! - s.max_rate!).toBeLessThanOrEqual(SWEEP_RESOLUTION * s.max_rate!);
    const atMax = s.steps.find((x) => x.rate === s.max_rate)!;
    expect(atMax.verdict).toBe('pass');
    expect(atMax.attainment).toBeGreaterThanOrEqual(0.9);
    expect(s.steps.find((x) => x.rate === s.first_failing)!.attainment).toBeLessThan(0.9);
    expect(s.requests).toBe(s.steps.reduce((n, x) => n + x.requests, 0));
    // The provider's figures are those of the step at the maximum.
    expect(out.accumulators.get('knee')!.sent).toBe(atMax.requests);
  }, 60_000);
});

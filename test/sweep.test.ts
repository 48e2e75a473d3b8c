import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, startCli } from './cli-helpers.js';
import { validate } from './json-schema.js';
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
  // For the concurrency search: 2 at once, 400 ms each. A closed loop of C > 2 waits C × 400 / 2 ms on average
  // (Little's law); request by request, at C = 3 every other answer waits a whole service time (400 ms, then
  // 800 ms, alternating) and at C = 4 half of them do. So an SLO between 400 and 800 ms puts the knee at
  // exactly 2 (attainment 100 % at C = 2, about 50 % above it).
  pair: { dialect: 'openai', ttft: c(400), output_tokens: c(1), capacity: { slots: 2 } },
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
const cfg = (over: Partial<SweepConfig>): SweepConfig => ({ mode: 'rate', targetAttainment: 0.9, stepDurationMs: 2000, start: 8, ceiling: 100_000, maxRequests: 10_000, warmup: 0, ...over });

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
    const sweep = new CapacitySweep([target(server, 'knee')], base(`latency<=${SERVICE_MS * 1.5}ms`), cfg({ warmup: 3 }));
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

describe('the search stops a provider early', () => {
  it('before a step would pass --max-requests', async () => {
    const out = await new CapacitySweep([target(server, 'fast')], base('latency<=1s'), cfg({ stepDurationMs: 1000, maxRequests: 30 })).run();
    const s = out.sweeps.get('fast')!;
    // 8 then 16 requests fit in 30; 32 more would not.
    expect(s.steps.map((x) => [x.rate, x.verdict])).toEqual([
      [8, 'pass'],
      [16, 'pass'],
    ]);
    expect(s.stop_reason).toBe('max_requests');
    expect(s.max_rate).toBe(16);
    expect(s.requests).toBeLessThanOrEqual(30);
  }, 30_000);

  it('once --max-cost is spent, in the middle of a step (which is then not judged)', async () => {
    const out = await new CapacitySweep([target(server, 'fast')], base('latency<=1s'), cfg({ stepDurationMs: 2000, maxCostUsd: 0.0001 })).run();
    const s = out.sweeps.get('fast')!;
    expect(s.stop_reason).toBe('max_cost');
    expect(s.steps.at(-1)!.verdict).toBe('budget');
    const perRequest = s.cost_usd / s.requests;
    expect(perRequest).toBeGreaterThan(0);
    // Over by at most the requests already in flight when the cap was reached (at 8/s and ~10 ms each: one or two).
    expect(s.cost_usd).toBeGreaterThanOrEqual(0.0001);
    expect(s.cost_usd).toBeLessThanOrEqual(0.0001 + 3 * perRequest);
    expect(s.requests).toBeLessThan(16);
  }, 30_000);

  it('and ends a rate step as soon as it can no longer pass, then searches below the start', async () => {
    // Every request misses a 1 ms latency SLO: each step fails on its first answer.
    const out = await new CapacitySweep([target(server, 'fast')], base('latency<=1ms'), cfg({ stepDurationMs: 2000 })).run();
    const s = out.sweeps.get('fast')!;
    expect(s.steps.map((x) => [x.rate, x.verdict])).toEqual([
      [8, 'fail'],
      [4, 'fail'],
      [2, 'fail'],
    ]);
    expect(s.stop_reason).toBe('none_passed');
    expect(s.max_rate).toBeNull();
    // Planned 16, 8 and 4 requests; each stopped after its first miss (a request already scheduled may still go).
    for (const x of s.steps) expect(x.requests).toBeLessThanOrEqual(2);
  }, 30_000);

  it('when errors alone exceed what the target allows', async () => {
    const out = await new CapacitySweep([target(server, 'flaky')], base('latency<=1s'), cfg({ stepDurationMs: 1000 })).run();
    const s = out.sweeps.get('flaky')!;
    expect(s.steps).toHaveLength(1);
    expect(s.steps[0].verdict).toBe('errors');
    expect(s.steps[0].error_rate).toBeGreaterThan(0.1);
    expect(s.stop_reason).toBe('error_rate');
    expect(s.max_rate).toBeNull();
  }, 30_000);
});

const dir = mkdtempSync(join(tmpdir(), 'llmf-sweep-'));
const config = join(dir, 'providers.yaml');
writeFileSync(
  config,
  `providers:
  knee: { api: openai, base_url: "${server.baseUrl('knee')}", model: m, price: { input: 1, output: 2, priced_at: 2026-11-24 } }
  fast: { api: openai, base_url: "${server.baseUrl('fast')}", model: m }
  pair: { api: openai, base_url: "${server.baseUrl('pair')}", model: m }
`,
);
const schema = JSON.parse(readFileSync(new URL('../schema/bench-result.schema.json', import.meta.url), 'utf8'));

describe('bench --sweep on the command line', () => {
  it.each([
    [['--sweep'], '--sweep: needs --slo to judge each step by, e.g. --sweep --slo "ttft<=500ms,latency<=5s"'],
    [['--sweep', 'rps', '--slo', 'ttft<=1s'], '--sweep: "rps" is not one of rate, concurrency'],
    [['--attainment', '90%'], '--attainment: only applies with --sweep'],
    [['--sweep', 'concurrency', '--rate', '2', '--slo', 'ttft<=1s'], '--sweep concurrency: searches over --concurrency (its start value); --rate applies to --sweep rate'],
    [['--sweep', '--requests', '10', '--slo', 'ttft<=1s'], '--sweep: each step runs for --step-duration (default 5s); drop --requests, and cap the whole search with --max-requests or --max-cost'],
    [['--sweep', '--slo', 'ttft<=1s', '--attainment', '95'], '--attainment: '],
    [['--fail-on', 'max_rate>=5'], '--fail-on: "max_rate>=5" is measured by a capacity search; add --sweep --slo "…"'],
  ])('bench fast %j: exit 2 with one line', async (args, message) => {
    const r = await run(['--config', config, 'bench', 'fast', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--sweep concurrency finds the slots of the knee, gates on it, and reports it in JSON, table and HTML', async () => {
    const out = join(dir, 'conc.json');
    const html = join(dir, 'conc.html');
    const r = await run(['--config', config, 'bench', 'pair', '--sweep', 'concurrency', '--slo', 'latency<=700ms', '--attainment', '90%', '--step-duration', '1s', '--fail-on', 'max_concurrency>=2', '--out', out, '--html', html], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(out, 'utf8'));
    expect(validate(result, schema)).toEqual([]);
    const s = result.providers[0].sweep;
    // 1 and 2 are served at once (400 ms): 300 ms of room under the SLO for a loaded machine (with 500 ms,
    // one answer 100 ms late among the ~5 of a 1 s step would fail it at 80 %). At 4 and 3, half or every other
    // answer waits 800 ms: both fail, however idle the machine.
    expect(s.steps.map((x: { concurrency: number }) => x.concurrency)).toEqual([1, 2, 4, 3]);
    expect(s.max_concurrency).toBe(2);
    expect(s.first_failing).toBe(3);
    expect(result.run.sweep).toMatchObject({ mode: 'concurrency', target_attainment: 0.9, step_duration_ms: 1000, start: 1 });
    expect(result.thresholds).toMatchObject([{ metric: 'max_concurrency', value: 2, pass: true }]);
    expect(r.stdout).toMatch(/│ pair\s+│\s+2 │\s+3 │\s+4 │/);
    expect(r.stderr).toContain('pair: concurrency 4');
    // The report drawn in headless Chromium: one point per step, the knee at the maximum, nothing fetched, no console error.
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('request', (q) => requests.push(q.url()));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(pathToFileURL(html).href);
      const chart = page.locator('svg[data-chart="sweep-attainment"]');
      expect(await chart.locator('circle.pt').count()).toBe(s.steps.length);
      expect(await chart.locator('g.knee').textContent()).toBe('pair max 2 in flight');
      expect((await chart.boundingBox())!.width).toBeGreaterThan(300);
      const shots = fileURLToPath(new URL('../test-output/', import.meta.url));
      mkdirSync(shots, { recursive: true });
      await chart.screenshot({ path: join(shots, 'sweep-attainment.png') });
      expect(requests).toEqual([pathToFileURL(html).href]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('Ctrl-C stops the search, and the steps measured are still reported and written (exit 130)', async () => {
    const out = join(dir, 'interrupted.json');
    const cli = startCli(['--config', config, 'bench', 'knee', '--sweep', '--rate', '8', '--step-duration', '2s', '--slo', 'latency<=1s', '--format', 'json', '--out', out], {});
    for (let i = 0; i < 400 && !cli.out.stderr.includes('knee: 8/s'); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    const { code } = await cli.signal('SIGINT');
    expect(code).toBe(130);
    expect(existsSync(out)).toBe(true);
    const result = JSON.parse(readFileSync(out, 'utf8'));
    expect(result.partial).toBe(true);
    const s = result.providers[0].sweep;
    expect(s.stop_reason).toBe('interrupted');
    expect(s.steps.map((x: { rate: number; verdict: string }) => [x.rate, x.verdict])).toEqual([
      [8, 'pass'],
      [16, 'interrupted'],
    ]);
    expect(s.max_rate).toBe(8);
    expect(JSON.parse(cli.out.stdout).providers[0].sweep.steps).toHaveLength(2);
  }, 30_000);
});

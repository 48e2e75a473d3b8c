import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResult } from '../src/bench/result.js';
import { parseSlos } from '../src/bench/slo.js';
import { evaluateThresholds, parseThreshold } from '../src/bench/thresholds.js';
import { Timeline, TIMELINE_MAX_BUCKETS } from '../src/bench/timeline.js';
import { htmlReport } from '../src/report/html.js';
import { percentile, runBench, target } from './bench-helpers.js';
import { run } from './cli-helpers.js';
import { emulator } from './helpers.js';
import { formatMs } from '../src/util/duration.js';
import { validate } from './json-schema.js';

const c = (value: number) => ({ dist: 'constant' as const, value });
const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
/** The flags the brief for CI fixes: headless, and nothing of Chromium's own that reaches the network. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const schema = JSON.parse(readFileSync(new URL('../schema/bench-result.schema.json', import.meta.url), 'utf8'));

describe('the time series behind "latency over time"', () => {
  it('buckets by start time in bounded memory: a 2-hour run keeps every count in at most 512 buckets', () => {
    const t = new Timeline(0);
    let failed = 0;
    for (let i = 0; i < 72_000; i++) {
      const ok = i % 50 !== 0;
      if (!ok) failed++;
      t.add(i * 100, ok, 200 + (i % 7), 50);
    }
    const r = t.result()!;
    expect(r.buckets.length).toBeLessThanOrEqual(TIMELINE_MAX_BUCKETS);
    expect(r.bucket_ms).toBe(16_000); // 7200 s / 512 → doubled from 1 s four times
    expect(r.buckets.reduce((n, b) => n + b.ok + b.failed, 0)).toBe(72_000);
    expect(r.buckets.reduce((n, b) => n + b.failed, 0)).toBe(failed);
    expect(r.buckets[1].t_s).toBe(16);
  });

  it("gives each bucket's p50 and p95 within 1% of the exact values and its mean and max exactly", () => {
    const t = new Timeline(0);
    const inFirst: number[] = [];
    for (let i = 0; i < 400; i++) {
      const latency = 20 + ((i * 37) % 400) * 2.5; // 20 .. 1017.5 ms, scrambled
      t.add(i, true, latency, latency / 4); // all start within the first second
      inFirst.push(latency);
    }
    t.add(1500, false);
    const [first, second] = t.result()!.buckets;
    expect(first.ok).toBe(400);
    expect(first.latency_ms!.max).toBe(Math.max(...inFirst));
    expect(first.latency_ms!.mean).toBeCloseTo(inFirst.reduce((a, b) => a + b, 0) / 400, 3);
    for (const [p, got] of [[50, first.latency_ms!.p50], [95, first.latency_ms!.p95]] as const) expect(Math.abs(got / percentile(inFirst, p) - 1)).toBeLessThan(0.01);
    expect(second).toEqual({ t_s: 1, ok: 0, failed: 1, latency_ms: null, ttft_mean_ms: null });
    expect(new Timeline(0).result()).toBeNull();
  });
});

// Three providers of different speed; "flaky" fails one request in four; "free" has no price.
const server = await emulator({
  quick: { dialect: 'openai', ttft: { dist: 'uniform', min: 10, max: 40 }, itl: c(2), output_tokens: c(12) },
  flaky: { dialect: 'deepseek', ttft: { dist: 'uniform', min: 40, max: 120 }, itl: c(3), output_tokens: c(12), script: [{ kind: 'ok', times: 3 }, { kind: 'overloaded', times: 1 }, { kind: 'ok', times: 3 }, { kind: 'overloaded', times: 1 }, { kind: 'ok' }] },
  free: { dialect: 'moonshot', ttft: { dist: 'uniform', min: 60, max: 160 }, itl: c(4), output_tokens: c(12) },
});

interface PageReport {
  requests: string[];
  consoleErrors: string[];
  charts: Record<string, Record<string, number>>;
  sections: string[];
  thresholdRows: string[][];
  legend: string[];
  svgCount: number;
}

describe('the HTML report in a real headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 60_000);
  afterAll(() => browser?.close());

  /** Opens a file, records every request and console error, and reads back what was drawn. */
  async function open(file: string, screenshot?: string): Promise<PageReport> {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, offline: true });
    const page = await context.newPage();
    const requests: string[] = [];
    const consoleErrors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const drawn = await page.evaluate(() => {
      const charts: Record<string, Record<string, number>> = {};
      for (const svg of document.querySelectorAll('svg[data-chart]')) {
        const name = svg.getAttribute('data-chart')!;
        charts[name] ??= {};
        for (const g of svg.querySelectorAll('g[data-provider]')) {
          const box = (g as SVGGElement).getBBox();
          // A point counts only when the browser laid it out with a size.
          const points = [...g.querySelectorAll('.pt')].filter((el) => (el as SVGGraphicsElement).getBBox().width > 0).length;
          charts[name][g.getAttribute('data-provider')!] = (charts[name][g.getAttribute('data-provider')!] ?? 0) + (box.width > 0 ? points : 0);
        }
      }
      return {
        charts,
        sections: [...document.querySelectorAll('section h2')].map((h) => h.textContent ?? ''),
        thresholdRows: [...document.querySelectorAll('#thresholds tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
        legend: [...document.querySelectorAll('.legend > span')].map((s) => s.textContent ?? ''),
        svgCount: document.querySelectorAll('svg').length,
      };
    });
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    await context.close();
    return { requests, consoleErrors, ...drawn };
  }

  let result: BenchResult;
  beforeAll(async () => {
    const slos = parseSlos(['ttft<=1s,latency<=3s']);
    result = await runBench([target(server, 'quick'), target(server, 'flaky'), { ...target(server, 'free'), price: undefined }], { concurrency: 2, requests: 16, slos });
    result.run.slo = slos;
    result.thresholds = evaluateThresholds(['ttft_p95<90ms', 'error_rate<5%', 'goodput_attainment>=50%'].map((e) => parseThreshold(e, '--fail-on')), result.providers);
  }, 60_000);

  it('renders every chart with data points for each provider, makes no request but the file itself and logs no error', async () => {
    expect(validate(result, schema)).toEqual([]);
    mkdirSync(OUTPUT, { recursive: true });
    const file = join(OUTPUT, 'report.html');
    writeFileSync(file, htmlReport(result));
    const shot = join(OUTPUT, 'report.png');
    const page = await open(file, shot);

    expect(page.requests).toEqual([pathToFileURL(file).href]);
    expect(page.consoleErrors).toEqual([]);
    expect(page.sections).toEqual(['Summary', 'SLOs and goodput', 'Latency distribution', 'Time to first token', 'Latency over time', 'Cost and latency', 'Thresholds', 'Run settings']);
    expect(page.legend.map((l) => l.split(' ')[0])).toEqual(['quick', 'flaky', 'free']);
    const names = ['quick', 'flaky', 'free'];
    for (const chart of ['latency-cdf', 'ttft-cdf', 'latency-hist', 'ttft-hist', 'latency-time', 'goodput']) {
      expect(Object.keys(page.charts[chart] ?? {}), chart).toEqual(names);
      for (const n of names) expect(page.charts[chart][n], `${chart} ${n}`).toBeGreaterThan(0);
    }
    // CDF: p50, p90, p99 marks per provider; histogram bars hold every successful request.
    expect(page.charts['latency-cdf']).toEqual({ quick: 3, flaky: 3, free: 3 });
    // Cost vs latency: one point per priced provider; "free" has no price and is named under the chart instead.
    expect(page.charts['cost-latency']).toEqual({ quick: 1, flaky: 1 });
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('Not on the chart (no price or no successful request): <span class="nm" title="free">free</span>.');
    // Thresholds: every outcome with its measured value; flaky fails its error rate (2 of 16 failed).
    expect(page.thresholdRows).toHaveLength(9);
    expect(page.thresholdRows.find((r) => r[1] === 'flaky' && r[2] === 'error_rate<5%')).toEqual(['FAIL', 'flaky', 'error_rate<5%', '12.5%', '< 5%']);
    expect(statSync(shot).size).toBeGreaterThan(20_000);
  }, 60_000);

  it('the request and console checks catch a report that reaches out', async () => {
    const file = join(OUTPUT, 'leaky.html');
    writeFileSync(file, htmlReport(result).replace('</main>', '<img src="http://127.0.0.1:9/pixel.png" alt=""></main>'));
    const page = await open(file);
    // The page's Content-Security-Policy refuses the fetch and says so on the console.
    expect(page.consoleErrors.join('\n')).toMatch(/Content Security Policy/);
  }, 60_000);

  /** Opens a report at 1200 px and reads what a reader would see of its summary table, and anything that ran. */
  async function openHostile(file: string) {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, offline: true });
    const page = await context.newPage();
    const dialogs: string[] = [];
    const errors: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const seen = await page.evaluate(() => ({
      injected: document.querySelectorAll('script, img, svg svg, [onerror], [onload]').length,
      pageWidth: document.documentElement.scrollWidth,
      rows: [...document.querySelectorAll('#summary tbody tr')].map((tr) => {
        const cells = tr.querySelectorAll('td');
        return { name: cells[0].querySelector('.nm')?.getAttribute('title') ?? null, p50: cells[4].textContent ?? '', right: cells[4].getBoundingClientRect().right };
      }),
      thresholdNames: [...document.querySelectorAll('#thresholds tbody tr td:nth-child(2) .nm')].map((s) => s.getAttribute('title')),
    }));
    await context.close();
    return { dialogs, errors, ...seen };
  }

  it('stays inert and readable with hostile names: markup, template syntax, line separators, a 10,000-character name, 50 providers', async () => {
    const long = 'x'.repeat(10_000);
    const names = ['</script><script>alert(1)</script>', '<img src=x onerror=alert(2)>', '${alert(3)}`tick`', 'a\u2028b\u2029c', '"><svg onload=alert(4)>', long];
    const hostile = structuredClone(result);
    hostile.providers = Array.from({ length: 50 }, (_, i) => ({ ...structuredClone(result.providers[i % 3]), name: names[i] ?? `p${i}`, model: i === 5 ? long : result.providers[i % 3].model }));
    hostile.thresholds = hostile.thresholds.map((t) => ({ ...t, provider: long }));
    hostile.picks = { ...hostile.picks, fastest: names[0], cheapest: long, best: long, eligible: hostile.providers.map((p) => p.name) };
    const file = join(OUTPUT, 'hostile.html');
    writeFileSync(file, htmlReport(hostile));
    const seen = await openHostile(file);
    expect(seen.dialogs).toEqual([]);
    expect(seen.errors).toEqual([]);
    expect(seen.injected).toBe(0);
    // Every provider's p50 is on the page as drawn at 1200 px, not pushed off it by the long name's column.
    expect(seen.pageWidth).toBeLessThanOrEqual(1200);
    expect(seen.rows).toHaveLength(50);
    for (const [i, row] of seen.rows.entries()) {
      expect(row.name, `row ${i}`).toBe(names[i] ?? `p${i}`);
      expect(row.p50).toBe(formatMs(hostile.providers[i].latency_ms!.p50));
      expect(row.right, `row ${i}`).toBeLessThanOrEqual(1200);
    }
    expect(seen.thresholdNames).toEqual(hostile.thresholds.map(() => long));
  }, 60_000);

  it('a name holding a right-to-left override (U+202E) does not reverse the figures after it', async () => {
    const rtl = structuredClone(result);
    const flaky = rtl.providers.find((p) => p.name === 'flaky')!;
    flaky.name = '\u202Eflaky';
    rtl.picks = { ...rtl.picks, fastest: flaky.name };
    const file = join(OUTPUT, 'rtl.html');
    writeFileSync(file, htmlReport(rtl));
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, offline: true });
    const page = await context.newPage();
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    // Where Chromium drew the pieces of "Fastest: flaky (lowest p50 latency, 52.0ms, …)", left to right.
    const x = await page.evaluate(() => {
      const note = [...document.querySelectorAll('p.note')].find((p) => p.textContent!.startsWith('Fastest'))!;
      const text = note.firstChild!;
      const t = text.textContent!;
      const at = (from: number, length: number) => {
        const range = document.createRange();
        range.setStart(text, from);
        range.setEnd(text, from + length);
        return range.getBoundingClientRect().left;
      };
      const left = (word: string) => at(t.indexOf(word), word.length);
      const figure = /\d+(\.\d+)?m?s,/.exec(t)!;
      return { lead: left('Fastest'), name: left('flaky'), lowest: left('lowest'), digit: at(figure.index, 1), unit: at(figure.index + figure[0].length - 2, 1) };
    });
    await context.close();
    expect(x.lead).toBeLessThan(x.name);
    expect(x.name).toBeLessThan(x.lowest);
    expect(x.digit).toBeLessThan(x.unit);
    expect(readFileSync(file, 'utf8')).not.toContain('\u202E');
  }, 60_000);

  it('the distribution charts come from the HDR data: histogram bars add up to the successful requests', async () => {
    const html = htmlReport(result);
    for (const p of result.providers) {
      const section = html.slice(html.indexOf('data-chart="latency-hist"'));
      const group = new RegExp(`<g class="series" data-provider="${p.name}">(.*?)</g>`).exec(section)![1];
      const counts = [...group.matchAll(/<title>[^:]+: (\d+) request\(s\)/g)].map((m) => Number(m[1]));
      expect(counts.reduce((a, b) => a + b, 0), p.name).toBe(p.ok);
    }
  });
});

describe('bench --html', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmf-html-'));
  const config = join(dir, 'providers.yaml');
  writeFileSync(config, `providers:\n  quick: { api: openai, base_url: "${server.baseUrl('quick')}", model: m, price: { input: 1, output: 2, priced_at: 2026-11-24 } }\n`);

  it('writes the report after the run, and refuses a path whose directory is missing before sending anything', async () => {
    const file = join(dir, 'r.html');
    const saved = join(dir, 'r.json');
    const ok = await run(['bench', '--config', config, 'quick', '-n', '3', '--html', file, '--out', saved]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain(`HTML report written to ${file}`);
    const html = readFileSync(file, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('data-chart="latency-cdf"');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // The page is a function of the saved result alone: `report` renders the same bytes from the JSON.
    const again = join(dir, 'again.html');
    const rendered = await run(['report', saved, '--html', again, '-q']);
    expect(rendered.code).toBe(0);
    expect(readFileSync(again, 'utf8')).toBe(html);
    const intoDir = await run(['report', saved, '--html', dir]);
    expect(intoDir.code).toBe(2);
    expect(intoDir.stderr.trim()).toBe(`--html: "${dir}" is a directory; give a file name, e.g. ${join(dir, 'report.html')}`);
    const missing = join(dir, 'no-such-dir', 'r.html');
    const bad = await run(['bench', '--config', config, 'quick', '--html', missing]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(`--html: cannot write "${missing}": the directory ${join(dir, 'no-such-dir')} does not exist; create it or choose another path`);
  });
});

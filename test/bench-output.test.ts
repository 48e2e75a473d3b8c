import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './cli-helpers.js';
import { emulator } from './helpers.js';
import { validate } from './json-schema.js';
import { benchMarkdown, benchTable } from '../src/format/bench.js';
import type { BenchResult } from '../src/bench/result.js';

/** Terminal columns a line takes: one per character once escapes are gone (the tool prints no wide characters). */
const columns = (line: string) => [...line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')].length;
const widest = (text: string) => Math.max(...text.split('\n').map(columns));
/** The header cells of the first box table, or of the first markdown table. */
const tableHead = (text: string) => text.split('\n').find((l) => l.startsWith('│'))!.split('│').slice(1, -1).map((c) => c.trim());
const markdownHead = (text: string) => text.split('\n').find((l) => l.startsWith('| '))!.split('|').slice(1, -1).map((c) => c.trim());

const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  // 400 ms slower than "unpriced": a margin no machine load closes.
  priced: { dialect: 'openai', ttft: c(400), output_tokens: c(8) },
  // Faster than "priced" and without a price in the config: unknown cost, not free.
  unpriced: { dialect: 'openai', ttft: c(2), output_tokens: c(8) },
  slow: { dialect: 'openai', ttft: c(150), output_tokens: c(4) },
});
const dir = mkdtempSync(join(tmpdir(), 'llmf-out-'));
const config = join(dir, 'providers.yaml');
writeFileSync(
  config,
  `providers:
  priced: { api: openai, base_url: "${server.baseUrl('priced')}", model: m, price: { input: 1, output: 2, priced_at: 2026-11-24 } }
  unpriced: { api: openai, base_url: "${server.baseUrl('unpriced')}", model: m }
  a-provider-with-a-really-rather-long-name: { api: openai, base_url: "${server.baseUrl('slow')}", model: a-model-name-that-goes-on-and-on-and-on, price: { input: 1, output: 2, priced_at: 2026-11-24 } }
`,
);
const env = { HOME: dir, GITHUB_STEP_SUMMARY: '' };
const schema = JSON.parse(readFileSync(new URL('../schema/bench-result.schema.json', import.meta.url), 'utf8'));

describe('output a person can read', () => {
  it('bench --demo prints every line within 100 columns, with the compact columns; --wide adds the rest', async () => {
    const r = await run(['bench', '--demo', '-n', '2'], { env, timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(tableHead(r.stdout)).toEqual(['provider', 'ok/sent', 'errors', 'p50', 'p95', 'p99', 'TTFT p50', 'TTFT p95', 'tok/s', '$/1M out']);
    expect(widest(r.stdout)).toBeLessThanOrEqual(100);
    expect(widest(r.stderr)).toBeLessThanOrEqual(100);
    const wide = await run(['bench', '--config', config, 'priced', '-n', '2', '--wide'], { env });
    expect(tableHead(wide.stdout)).toEqual(expect.arrayContaining(['model', 'max', 'TTFB p50', 'ITL p50', 'TPOT p50', 'req/s', 'cost', '$/1k req']));
  }, 90_000);

  it('long names are shortened with "…" to keep the table within 100 columns', async () => {
    const all = ['priced', 'unpriced', 'a-provider-with-a-really-rather-long-name'];
    const r = await run(['bench', '--config', config, ...all, '-n', '2', '--wide'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('a-provider-with-a-really-rather-long-name');
    const compact = await run(['bench', '--config', config, ...all, '-n', '2'], { env });
    expect(widest(compact.stdout)).toBeLessThanOrEqual(100);
    expect(compact.stdout).toMatch(/│ a-pro\S*… +│/);
    expect(compact.stdout.split('\n').filter((l) => l.startsWith('│')).join('\n')).not.toContain('a-provider-with-a-really-rather-long-name');
  });

  it('a run with six-figure counts and rates still fits 100 columns: counts in thousands, then headings on two lines', async () => {
    // A real result, given the figures of a long run against a fast local server (the README audit met 106
    // columns at 105,738 requests and 338,148.9 tok/s): the table is a pure function of the result.
    const out = join(dir, 'big.json');
    expect((await run(['bench', '--config', config, 'unpriced', '-n', '2', '-q', '--out', out], { env })).code).toBe(0);
    const real = JSON.parse(readFileSync(out, 'utf8')) as BenchResult;
    const scaled = (ok: number, sent: number, tps: number): BenchResult => ({
      ...real,
      providers: real.providers.map((p) => ({ ...p, ok, requests: sent, failed: sent - ok, error_rate: (sent - ok) / sent, output_tokens_per_s: { ...p.output_tokens_per_s, aggregate: tps } })),
    });
    const lines = (text: string) => text.split('\n').filter((l) => /^[│┌└]/.test(l));
    // 105,738 of them, all answered: in thousands, every name and heading whole.
    const allOk = benchTable(scaled(105_738, 105_738, 338_148.9));
    expect(widest(allOk)).toBeLessThanOrEqual(100);
    expect(allOk).toMatch(/│ unpri\S* +│ +106k\/106k │ +0\.0% │/);
    expect(allOk).toMatch(/│ +338k │/);
    // Three failed: the short forms would read 106k/106k, so the counts stay exact, the headings that are
    // wider than their figures go onto two lines, and the error rate is not rounded to nothing.
    const failed = benchTable(scaled(105_738, 105_741, 338_148.9));
    expect(widest(failed)).toBeLessThanOrEqual(100);
    expect(failed).toMatch(/│ 105738\/105741 │ +<0\.01% │/);
    expect(lines(failed)[1]).toMatch(/│ +TTFT │ +TTFT │/);
    expect(lines(failed)[2]).toMatch(/│ +p50 │ +p95 │/);
    // Small figures keep every digit and one-line headings.
    const small = benchTable(scaled(95, 100, 85.25));
    expect(small).toMatch(/│ +95\/100 │ +5\.0% │/);
    expect(lines(small)[1]).toMatch(/│ TTFT p50 │ TTFT p95 │/);
    expect(small).toMatch(/│ +85\.3 │/);
    // The markdown summary and the JSON keep every digit.
    expect(benchMarkdown(scaled(105_738, 105_738, 338_148.9))).toContain('105738/105738');
  });

  it('providers fits 100 columns (keys to set listed below), --wide shows every column', async () => {
    const r = await run(['providers'], { env });
    expect(r.code).toBe(0);
    expect(widest(r.stdout)).toBeLessThanOrEqual(100);
    expect(tableHead(r.stdout)).toEqual(['provider', 'model', 'in $/1M', 'out $/1M', 'key', 'breaker']);
    expect(r.stdout).toMatch(/Keys not set: .*DEEPSEEK_API_KEY \(deepseek\)/s);
    const wide = await run(['providers', '--wide'], { env });
    expect(tableHead(wide.stdout)).toEqual(['provider', 'api', 'model', 'in $/1M', 'cached $/1M', 'out $/1M', 'priced', 'context', 'key', 'key variable', 'breaker', 'route']);
  });

  it('a provider without a price is never the cheapest; the picks are in the JSON result', async () => {
    const out = join(dir, 'picks.json');
    const r = await run(['bench', '--config', config, 'priced', 'unpriced', '-n', '4', '--out', out, '--sort', 'cost'], { env });
    expect(r.code).toBe(0);
    const result = JSON.parse(readFileSync(out, 'utf8'));
    expect(validate(result, schema)).toEqual([]);
    expect(result.picks).toEqual({ eligible: ['priced', 'unpriced'], min_success: 0.95, fastest: 'unpriced', cheapest: 'priced', best: 'priced' });
    expect(r.stdout).toMatch(/^Cheapest: priced /m);
    expect(r.stdout).toMatch(/│ unpriced +│.*│ +no price │/);
    // Sorted by cost, the provider of unknown cost comes last.
    expect(r.stdout.indexOf('│ priced ')).toBeLessThan(r.stdout.indexOf('│ unpriced '));
  });

  it('a provider without a price has an unknown cost: a cost threshold fails, JSON and CSV leave it empty', async () => {
    const out = join(dir, 'unpriced.json');
    const r = await run(['bench', '--config', config, 'priced', 'unpriced', '-n', '3', '-q', '--out', out, '--fail-on', 'cost_per_1k<1000', '--fail-on', 'cost<1000'], { env });
    // "priced" passes both; "unpriced" used to pass them too, its cost read as $0.
    expect(r.code).toBe(1);
    const result = JSON.parse(readFileSync(out, 'utf8'));
    expect(validate(result, schema)).toEqual([]);
    const failed = result.thresholds.filter((t: { pass: boolean }) => !t.pass).map((t: { provider: string; metric: string; value: number | null }) => [t.provider, t.metric, t.value]);
    expect(failed).toEqual([
      ['unpriced', 'cost_per_1k', null],
      ['unpriced', 'cost', null],
    ]);
    expect(result.thresholds.find((t: { pass: boolean }) => !t.pass).message).toBe('unpriced: cost_per_1k FAILED: measured no price (set providers.unpriced.price in the config), required < $1000');
    expect(r.stdout).toMatch(/✗ cost_per_1k<1000 — unpriced: cost_per_1k FAILED: measured no price/);
    const unpriced = result.providers.find((p: { name: string }) => p.name === 'unpriced');
    expect([unpriced.price, unpriced.cost_per_1k_requests_usd, unpriced.cost_per_1m_output_tokens_usd]).toEqual([null, null, null]);
    const priced = result.providers.find((p: { name: string }) => p.name === 'priced');
    expect(priced.cost_per_1k_requests_usd).toBeGreaterThan(0);
    const csv = await run(['bench', '--config', config, 'priced', 'unpriced', '-n', '2', '-q', '--format', 'csv'], { env });
    const [head, ...rows] = csv.stdout.trim().split('\n').map((l) => l.split(','));
    const cell = (row: string[], col: string) => row[head.indexOf(col)];
    const row = (name: string) => rows.find((x) => x[0] === name)!;
    expect(['cost_usd', 'cost_per_1k_requests_usd', 'cost_per_1m_output_tokens_usd'].map((c) => cell(row('unpriced'), c))).toEqual(['', '', '']);
    expect(Number(cell(row('priced'), 'cost_per_1k_requests_usd'))).toBeGreaterThan(0);
  });

  it('the markdown summary carries the same columns as the table, compact and wide', async () => {
    for (const wide of [[], ['--wide']]) {
      const table = await run(['bench', '--config', config, 'priced', '-n', '2', ...wide], { env });
      const md = await run(['bench', '--config', config, 'priced', '-n', '2', '--format', 'markdown', ...wide], { env });
      expect(markdownHead(md.stdout)).toEqual(tableHead(table.stdout));
    }
  });

  it('merge prints the same compact table, and every column with --wide', async () => {
    const a = join(dir, 'merge-a.json');
    const b = join(dir, 'merge-b.json');
    for (const out of [a, b]) expect((await run(['bench', '--config', config, 'priced', '-n', '2', '-q', '--out', out], { env })).code).toBe(0);
    const compact = await run(['merge', a, b], { env });
    expect(tableHead(compact.stdout)).toEqual(['provider', 'ok/sent', 'errors', 'p50', 'p95', 'p99', 'TTFT p50', 'TTFT p95', 'tok/s', '$/1M out']);
    expect(compact.stdout).toMatch(/│ priced +│ +4\/4 │/);
    const wide = await run(['merge', a, b, '--wide', '--format', 'markdown'], { env });
    expect(markdownHead(wide.stdout)).toEqual(expect.arrayContaining(['model', 'TTFB p50', '$/1k req']));
  });

  it('an open loop shows target vs achieved rate and send lag, and warns when the client fell behind', async () => {
    // One request in flight at a time against a 150 ms provider cannot keep 40/s: sends wait, lag grows.
    const r = await run(['bench', '--config', config, 'a-provider-with-a-really-rather-long-name', '--rate', '40', '--max-inflight', '1', '-n', '8'], { env });
    expect(r.code).toBe(0);
    expect(tableHead(r.stdout.slice(r.stdout.indexOf('Open loop')))).toEqual(['provider', 'target/s', 'achieved/s', 'send lag p50', 'p99', 'max']);
    expect(r.stdout).toMatch(/│ +40 │ +\d+\.\d\d │/);
    // Prose is wrapped at 100 columns: read it with the line breaks undone.
    const prose = r.stdout.replace(/\n {2}/g, ' ');
    expect(prose).toMatch(/WARNING: the client fell behind its schedule — send lag p99 over 25\.0ms for a-provider-with-a-really-rather-long-name \(\d+(\.\d+)?m?s\)/);
    expect(widest(r.stdout)).toBeLessThanOrEqual(100);
    const md = await run(['bench', '--config', config, 'a-provider-with-a-really-rather-long-name', '--rate', '40', '--max-inflight', '1', '-n', '4', '--format', 'markdown'], { env });
    expect(md.stdout).toMatch(/\| provider \| target\/s \| achieved\/s \| send lag p50 \|/);
    expect(md.stdout).toMatch(/⚠️ the client fell behind its schedule/);
  });

  it('a trace replay that falls behind its times is warned about too (a trace has no --rate)', async () => {
    // Hand-written trace: 8 requests 25 ms apart, one in flight at a time against the 150 ms provider.
    const trace = join(dir, 'every-25ms.jsonl');
    writeFileSync(trace, Array.from({ length: 8 }, (_, i) => JSON.stringify({ timestamp: i * 25, input_length: 20, output_length: 4 })).join('\n') + '\n');
    const r = await run(['bench', '--config', config, 'a-provider-with-a-really-rather-long-name', '--trace', trace, '--max-inflight', '1'], { env });
    expect(r.code, r.stderr).toBe(0);
    const prose = r.stdout.replace(/\n {2}/g, ' ');
    expect(prose).toMatch(/WARNING: the client fell behind its schedule — send lag p99 over 25\.0ms for a-provider-with-a-really-rather-long-name \(\d+(\.\d+)?m?s\) — so latency there includes the client's own delay; lower --trace-speed/);
  });
});

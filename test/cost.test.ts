import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProviderConfig } from '../src/config/types.js';
import { parseConfig } from '../src/config/load.js';
import { DEFAULT_TIMEOUTS } from '../src/defaults.js';
import { blend, dailyUsd, parseVolume, priceRows, project, USD, workloadFromResult } from '../src/cost/project.js';
import { run } from './cli-helpers.js';
import { emulator } from './helpers.js';
import { runBench, target } from './bench-helpers.js';

const prov = (name: string, input: number, cached: number, output: number): ProviderConfig => ({
  name,
  api: 'openai',
  baseUrl: 'https://x.test/v1',
  model: `${name}-model`,
  headers: {},
  params: {},
  price: { input, cachedInput: cached, output, pricedAt: '2026-11-24' },
  timeouts: DEFAULT_TIMEOUTS,
  required: false,
  thresholds: [],
  where: 'x',
});

describe('cost figures, checked by hand', () => {
  const deepseek = prov('deepseek', 0.3, 0.006, 1.2);
  const kimi = prov('kimi', 0.95, 0.16, 4);
  const gpt = prov('gpt', 2, 0.5, 8);

  it('the article’s workload: 10M output tokens a day', () => {
    // 10 × $1.20 = $12/day, $360 per 30-day month, $4,380 a year
    const rows = project([gpt, deepseek], { inputTokens: 0, outputTokens: 10e6, cachedShare: 0, source: 't' }, USD, 'gpt');
    expect(rows.map((r) => [r.provider, r.daily, r.monthly, r.yearly])).toEqual([
      ['deepseek', 12, 360, 4380],
      ['gpt', 80, 2400, 29200],
    ]);
    expect(rows[0].vs_baseline_daily).toBe(-68);
    expect(rows[0].vs_baseline_pct).toBeCloseTo(-0.85, 10);
  });

  it('prices cached input apart: 30M input, 30% cached, 10M output', () => {
    // (21M × 0.95 + 9M × 0.16 + 10M × 4) / 1M = 19.95 + 1.44 + 40 = 61.39
    expect(dailyUsd({ inputTokens: 30e6, outputTokens: 10e6, cachedShare: 0.3, source: 't' }, kimi.price!)).toBeCloseTo(61.39, 9);
  });

  it('prices a measured cache-write share at the write surcharge only where writes are billed apart', () => {
    // 10M input a day, 20% written to the cache, no output. Anthropic's dialect: 8M × 3 + 2M × 3.75 = 31.5;
    // an OpenAI-dialect provider at the same prices charges nothing extra to write: 10M × 3 = 30; one whose
    // config gives price.cache_write is billed at it: 8M × 3 + 2M × 6 = 36.
    const price = '{ input: 3, cached_input: 0.3, output: 15, priced_at: 2026-11-01 }';
    const cfg = parseConfig(
      `providers:
  claude: { api: anthropic, base_url: https://a.test/v1, model: m, price: ${price} }
  auto: { api: openai, base_url: https://b.test/v1, model: m, price: ${price} }
  hour: { api: openai, base_url: https://c.test/v1, model: m, price: { input: 3, cached_input: 0.3, cache_write: 6, output: 15, priced_at: 2026-11-01 } }
`,
      'x.yaml',
    );
    const w = { inputTokens: 10e6, outputTokens: 0, cachedShare: 0, cacheWriteShare: 0.2, source: 't' };
    const providers = [...cfg.providers.values()];
    expect(providers.map((p) => [p.name, dailyUsd(w, p.price!)])).toEqual([
      ['claude', 31.5],
      ['auto', 30],
      ['hour', 36],
    ]);
    expect(priceRows(providers, USD).map((r) => [r.provider, r.cache_write])).toEqual([
      ['claude', 3.75],
      ['auto', 3],
      ['hour', 6],
    ]);
  });

  it('converts currency', () => {
    const [row] = project([deepseek], { inputTokens: 0, outputTokens: 1e6, cachedShare: 0, source: 't' }, { code: 'CNY', rate: 7.1 });
    expect(row.daily).toBeCloseTo(1.2 * 7.1, 9);
  });

  it('blends a chain: each step passes on the fall-over share', () => {
    const c = blend('default', [deepseek, kimi, gpt], 0.05, { inputTokens: 0, outputTokens: 1e6, cachedShare: 0, source: 't' }, USD);
    expect(c.shares.map((s) => s.share)).toEqual([0.95, 0.0475, 0.0025000000000000005]);
    expect(c.daily).toBeCloseTo(0.95 * 1.2 + 0.0475 * 4 + 0.0025 * 8, 9);
  });

  it('reads token volumes', () => {
    expect(parseVolume('10M/day')).toBe(10e6);
    expect(parseVolume('300k')).toBe(300e3);
    expect(parseVolume('1.5B/month')).toBe(50e6);
    expect(parseVolume('ten')).toBeUndefined();
  });

  it('builds a workload from a real bench result', async () => {
    const server = await emulator({ p: { dialect: 'deepseek', output_tokens: { dist: 'constant', value: 10 }, cached_share: 0.5 } });
    const r = await runBench([target(server, 'p')], { requests: 4, concurrency: 2 });
    const w = workloadFromResult(r, 1000);
    const p = r.providers[0];
    expect(w.outputTokens).toBe(10 * 1000);
    expect(w.inputTokens).toBe((p.tokens.input / 4) * 1000);
    expect(w.cachedShare).toBeCloseTo(p.tokens.cached_input / p.tokens.input, 12);
  });
});

describe('cost command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmf-cost-'));
  const cfg = join(dir, 'p.yaml');
  writeFileSync(
    cfg,
    `providers:
  cheap: { api: openai, base_url: https://a.test/v1, model: a, price: { input: 0.3, cached_input: 0.006, output: 1.2, priced_at: 2026-10-27 } }
  dear: { api: openai, base_url: https://b.test/v1, model: b, price: { input: 2, output: 8, priced_at: 2026-06-04 } }
chains:
  default: [cheap, dear]
currency: { code: CNY, rate: 7.2 }
`,
  );

  it('prints prices and the projection in the config’s currency, JSON for scripts', async () => {
    const r = await run(['--config', cfg, 'cost', '--output-tokens', '10M/day', '--format', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.currency).toEqual({ code: 'CNY', rate: 7.2 });
    expect(j.projection.map((p: { provider: string; daily: number }) => [p.provider, +p.daily.toFixed(6)])).toEqual([
      ['cheap', 86.4],
      ['dear', 576],
    ]);
    const table = await run(['--config', cfg, 'cost', '--output-tokens', '10M/day', '--currency', 'USD', '--baseline', 'dear']);
    expect(table.stdout).toMatch(/cheap\s+│ a\s+│\s+\$12\.00 │\s+\$360 │\s+\$4,380 │ saves \$24,820 \(-85%\)/);
  });

  it('answers bad input with exit 2 and one line', async () => {
    const cases: [string[], string][] = [
      [['cost', '--output-tokens', 'lots'], '--output-tokens: "lots" is not a token volume; write it like "10M/day", "300k" or "1.5B/month"'],
      [['cost', '--currency', 'EUR', '--output-tokens', '1M'], '--currency EUR: give the exchange rate with --rate (units of EUR per USD), or set currency: {code: EUR, rate: ...} in the config'],
      [['cost', '--currency', 'euros', '--rate', '0.9', '--output-tokens', '1M'], '--currency: "euros" is not a currency code; give the 3-letter ISO 4217 code (e.g. EUR, GBP, JPY)'],
      [['cost', '--currency', 'E1R', '--output-tokens', '1M'], '--currency: "E1R" is not a currency code; give the 3-letter ISO 4217 code (e.g. EUR, GBP, JPY)'],
      [['cost', '--currency', 'usd', '--rate', '7', '--output-tokens', '1M'], '--rate: prices are already in USD, so --currency USD takes no rate (got 7); leave --rate out, or name the currency it converts to (e.g. --currency CNY --rate 7)'],
      [['cost', '--baseline', 'cheap'], 'cost: give a workload (--output-tokens 10M/day, --input-tokens, or --from result.json --requests-per-day N) for a projection'],
      [['cost', '--from', join(dir, 'none.json'), '--requests-per-day', '5'], `--from: ${join(dir, 'none.json')}: no such file; pass a file written by "llm-fallback bench --out FILE"`],
    ];
    for (const [args, msg] of cases) {
      const r = await run(['--config', cfg, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim()).toBe(msg);
    }
  });

  it('names holding commas, quotes and | stay one field in CSV (read back by Python’s csv module) and one cell in markdown; JSON is snake_case', async () => {
    const hostile = join(dir, 'hostile.yaml');
    writeFileSync(
      hostile,
      `providers:
  'a,b"c': { api: openai, base_url: https://a.test/v1, model: 'm,1', price: { input: 1, cached_input: 0.1, output: 4, priced_at: 2026-11-01 } }
  'p|q': { api: openai, base_url: https://b.test/v1, model: 'm\`2', price: { input: 2, output: 8, priced_at: 2026-11-01 } }
`,
    );
    const flags = ['--input-tokens', '30M/day', '--cached-share', '30%', '--output-tokens', '10M/day'];
    const csv = await run(['--config', hostile, 'cost', ...flags, '--format', 'csv']);
    const rows = JSON.parse(execFileSync('python3', ['-c', 'import csv, json, sys; print(json.dumps(list(csv.reader(sys.stdin))))'], { input: csv.stdout, encoding: 'utf8' }));
    // By hand: 21M uncached × $1 + 9M cached × $0.10 + 10M × $4 = $61.90/day; × 30 = 1857; × 365 = 22593.5.
    // The last column, cache writes: an `api: openai` provider charges the plain input price for them.
    expect(rows[1]).toEqual(['a,b"c', 'm,1', 'USD', '1.00', '0.10', '4.00', '2026-11-01', '61.90', '1857.00', '22593.50', '1.00']);
    expect(rows[2].slice(0, 2)).toEqual(['p|q', 'm`2']);
    const md = (await run(['--config', hostile, 'cost', ...flags, '--format', 'markdown'])).stdout;
    expect(md).toContain('| p\\|q | m\\`2 | $2.00 |');
    expect(md).toContain('| p\\|q | $140 | $4,200 | $51,100 |');
    const j = JSON.parse((await run(['--config', hostile, 'cost', ...flags, '--format', 'json'])).stdout);
    expect(j.workload).toEqual({ input_tokens: 30e6, output_tokens: 10e6, cached_share: 0.3, cache_write_share: 0, source: 'from the flags' });
  });

  it('a chain with an unpriced member says its blend is a lower bound, and by how much traffic', async () => {
    const partial = join(dir, 'partial.yaml');
    writeFileSync(
      partial,
      `providers:
  a: { api: openai, base_url: https://a.test/v1, model: a, price: { input: 1, output: 4, priced_at: 2026-11-01 } }
  b: { api: openai, base_url: https://b.test/v1, model: b }
chains:
  c: [b, a]
`,
    );
    const args = ['--config', partial, 'cost', '--output-tokens', '1M/day', '--chain', 'c', '--fallover-rate', '10%'];
    // a serves the 10% that falls over from b: 0.1 × 1M × $4 = $0.40/day.
    const table = await run(args);
    expect(table.stdout).toContain('  blended: $0.400/day, $12.00/month, $146/year\n  a lower bound: b has no price in the config; 90.00% of the traffic is counted at 0\n');
    const j = JSON.parse((await run([...args, '--format', 'json'])).stdout);
    expect(j.chain).toMatchObject({ daily: 0.4, unpriced: ['b'] });
  });

  it('keeps to 100 columns: long model names are shortened in the tables, the chain line and price notes wrap', async () => {
    const wide = join(dir, 'wide.yaml');
    const names = ['openrouter-primary', 'openrouter-secondary', 'deepseek-direct', 'moonshot-kimi', 'minimax-global'];
    writeFileSync(
      wide,
      `providers:
${names.map((n, i) => `  ${n}: { api: openai, base_url: https://${n}.test/v1, model: vendor/a-model-name-that-goes-on-and-on-${i}, context_window: 1048576, price: { input: 0.5, cached_input: 0.05, output: ${i + 1}, priced_at: 2020-01-0${i + 1} } }`).join('\n')}
chains:
  everything: [${names.join(', ')}]
`,
    );
    const r = await run(['--config', wide, 'cost', '--output-tokens', '10M/day', '--input-tokens', '30M/day', '--baseline', 'minimax-global', '--chain', 'everything', '--fallover-rate', '5%']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    // The chain line, the stale-price note and both tables were 130 to 330 columns wide.
    expect(Math.max(...lines.map((l) => [...l].length))).toBeLessThanOrEqual(100);
    // The provider, which tells the rows apart, stays whole; the model gives up characters.
    for (const n of names) expect(r.stdout).toMatch(new RegExp(`^│ ${n} +│ vendo\\S*… │`, 'm'));
    const prose = r.stdout.replace(/\n {2,}/g, ' ');
    expect(prose).toContain('Chain everything with 5.0% falling over at each step: openrouter-primary 95.00%, openrouter-secondary 4.75%, deepseek-direct 0.24%, moonshot-kimi 0.01%, minimax-global 0.00%');
    expect(prose).toMatch(/Prices older than 90 days: openrouter-primary \(2020-01-01, \d+ days\), openrouter-secondary \(2020-01-02, \d+ days\), deepseek-direct \(2020-01-03, \d+ days\), moonshot-kimi \(2020-01-04, \d+ days\), minimax-global \(2020-01-05, \d+ days\); check them and update priced_at in the config\./);
    // The JSON keeps every name whole.
    const j = JSON.parse((await run(['--config', wide, 'cost', '--format', 'json'])).stdout);
    expect(j.prices.map((p: { model: string }) => p.model)).toContain('vendor/a-model-name-that-goes-on-and-on-0');
  });
});

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, run } from './cli-helpers.js';
import { emulator } from './helpers.js';

/**
 * Figures as a parser reads them, checked by parsers we did not write: Python's csv module and
 * decimal.Decimal for CSV, Python's json (which would accept a bare NaN) and JSON.parse for JSON.
 * A figure fails when it is not a plain decimal (exponent notation, NaN, Infinity, -0) or carries
 * more than 12 significant digits (binary-float noise such as 153.29999999999998).
 */
const PYTHON_CHECK = String.raw`
import csv, decimal, json, sys
kind, text = sys.argv[1], sys.stdin.read()
bad = []
def check_text(where, s, exponent_ok=False):
    try:
        d = decimal.Decimal(s)
    except decimal.InvalidOperation:
        return
    t = d.as_tuple()
    digits = len(str(abs(int(''.join(map(str, t.digits)))))) if any(t.digits) else 1
    if not d.is_finite() or 'e' in s.lower() and not exponent_ok or s.startswith('-0') and d == 0 or digits > 12:
        bad.append(f'{where}: {s}')
def json_number(s):
    # The number as written in the JSON text; an exponent is valid JSON, noise and NaN are not wanted.
    check_text('json', s, exponent_ok=True)
    return float(s)
if kind == 'csv':
    rows = list(csv.reader(text.splitlines()))
    for r, row in enumerate(rows[1:], 2):
        for c, cell in enumerate(row): check_text(f'row {r} {rows[0][c]}', cell)
    out = [dict(zip(rows[0], row)) for row in rows[1:]]
else:
    def refuse(name): bad.append(f'json: bare {name}')
    out = json.loads(text, parse_constant=refuse, parse_float=json_number)
print(json.dumps({'bad': bad, 'rows': out}))
`;

function python(kind: 'csv' | 'json', text: string): { bad: string[]; rows: Record<string, string>[] } {
  return JSON.parse(execFileSync('python3', ['-c', PYTHON_CHECK, kind], { input: text, encoding: 'utf8' }));
}

const dir = mkdtempSync(join(tmpdir(), 'llmf-numbers-'));
const config = join(dir, 'providers.yaml');
// Hand-written fixture: holysheep's 0.14 / 0.42 and deepseek's 0.30 / 0.006 / 1.20 as the repository's
// providers.yaml gives them; "near" is priced a hair above holysheep, so its difference is tiny.
writeFileSync(
  config,
  `providers:
  holysheep: { api: openai, base_url: https://a.test/v1, model: deepseek-v3.2, price: { input: 0.14, output: 0.42, priced_at: 2026-11-20 } }
  deepseek: { api: openai, base_url: https://b.test/v1, model: deepseek-v4-flash, price: { input: 0.30, cached_input: 0.006, output: 1.20, priced_at: 2026-11-20 } }
  near: { api: openai, base_url: https://c.test/v1, model: n, price: { input: 0.14, output: 0.4201, priced_at: 2026-11-20 } }
  far: { api: openai, base_url: https://d.test/v1, model: f, price: { input: 1.1, output: 4.4, priced_at: 2026-11-20 } }
chains:
  four: [holysheep, deepseek, near, far]
`,
);
const env = { HOME: dir };

describe('cost: every figure a plain decimal, without float noise', () => {
  it('CSV: 0.42 × 365 is 153.30, not 153.29999999999998; money always shows its cents', async () => {
    const r = await run(['--config', config, 'cost', '--output-tokens', '1M/day', '--format', 'csv'], { env });
    expect(r.code).toBe(0);
    const { bad, rows } = python('csv', r.stdout);
    expect(bad).toEqual([]);
    const holysheep = rows.find((row) => row.provider === 'holysheep')!;
    expect([holysheep.input_per_1m, holysheep.output_per_1m, holysheep.daily, holysheep.monthly, holysheep.yearly]).toEqual(['0.14', '0.42', '0.42', '12.60', '153.30']);
    // A price with more decimals than cents keeps them, as the config gives it.
    expect(rows.find((row) => row.provider === 'deepseek')!.cached_input_per_1m).toBe('0.006');
  });

  it('CSV and JSON in another currency: 0.42 × 7.1 is 2.982, 30M input with 30% cached is exact', async () => {
    const flags = ['--input-tokens', '3M/day', '--cached-share', '30%', '--output-tokens', '1M/day', '--currency', 'CNY', '--rate', '7.1'];
    const csv = await run(['--config', config, 'cost', ...flags, '--format', 'csv'], { env });
    const { bad, rows } = python('csv', csv.stdout);
    expect(bad).toEqual([]);
    expect(rows.find((row) => row.provider === 'holysheep')!.output_per_1m).toBe('2.982');
    // deepseek: (2.1M × 0.30 + 0.9M × 0.006 + 1M × 1.20) / 1M = 1.8354 USD/day; × 365 × 7.1 = 4756.43910 CNY.
    expect(rows.find((row) => row.provider === 'deepseek')!.yearly).toBe('4756.4391');
    const json = await run(['--config', config, 'cost', ...flags, '--baseline', 'holysheep', '--format', 'json'], { env });
    const checked = python('json', json.stdout);
    expect(checked.bad).toEqual([]);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.prices.find((p: { provider: string }) => p.provider === 'holysheep').output).toBe(2.982);
    expect(parsed.projection.find((p: { provider: string }) => p.provider === 'deepseek').yearly).toBe(4756.4391);
  });

  it('a difference from the baseline: -0.001 a day in JSON, and 0% (not -0%) in the table', async () => {
    const flags = ['--output-tokens', '10M/day', '--baseline', 'near'];
    const json = await run(['--config', config, 'cost', ...flags, '--format', 'json'], { env });
    expect(python('json', json.stdout).bad).toEqual([]);
    const holysheep = JSON.parse(json.stdout).projection.find((p: { provider: string }) => p.provider === 'holysheep');
    expect(holysheep.vs_baseline_daily).toBe(-0.001);
    const table = await run(['--config', config, 'cost', ...flags], { env });
    expect(table.stdout).toMatch(/│ holysheep +│ deepseek-v3\.2 +│ +\$4\.20 │ +\$126 │ +\$1,533 │ +saves \$0\.365 \(0%\) │/);
    expect(table.stdout).not.toContain('-0%');
  });
});

describe('cost: the shares of a chain add up to the 100.00 % they split', () => {
  it('3.1 % falling over at each of four steps: 96.90 + 3.01 + 0.09 + 0.00, not 96.90 + 3.00 + 0.09 + 0.00', async () => {
    // Exactly: 96.9 %, 3.0039 %, 0.0931209 %, 0.0029791 %; one by one they round to 99.99 %.
    const r = await run(['--config', config, 'cost', '--output-tokens', '1M/day', '--chain', 'four', '--fallover-rate', '3.1%'], { env });
    expect(r.code, r.stderr).toBe(0);
    const line = r.stdout.slice(r.stdout.indexOf('Chain four')).split('\n  blended')[0].replace(/\n +/g, ' ');
    expect(line).toBe('Chain four with 3.1% falling over at each step: holysheep 96.90%, deepseek 3.01%, near 0.09%, far 0.00%');
  });
});

describe('bench CSV: a tiny cost is a decimal, not exponent notation', () => {
  it('cost_usd of 5 output tokens at $0.01 per 1M reads back through Decimal as the JSON figure', async () => {
    const server = await emulator({ tiny: { dialect: 'openai', ttft: { dist: 'constant', value: 1 }, output_tokens: { dist: 'constant', value: 5 } } });
    const bench = join(dir, 'bench.yaml');
    writeFileSync(
      bench,
      `providers:\n  tiny: { api: openai, base_url: "${server.baseUrl('tiny')}", model: m, price: { input: 0.01, output: 0.01, priced_at: 2026-11-20 } }\n` +
        `  whole: { api: openai, base_url: "${server.baseUrl('tiny')}", model: m, price: { input: 0, output: 2, priced_at: 2026-11-20 } }\n`,
    );
    const out = join(dir, 'tiny.json');
    const r = await run(['--config', bench, 'bench', 'tiny', 'whole', '-n', '1', '-q', '--out', out, '--format', 'csv', '--sort', 'name'], { env, timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const { bad, rows: all } = python('csv', r.stdout);
    expect(bad).toEqual([]);
    const rows = all.filter((row) => row.provider === 'tiny');
    // Money keeps its cents, as cost's CSV writes it: $2 per 1M output tokens is 2.00, as the table shows $2.00.
    expect(all.find((row) => row.provider === 'whole')!.cost_per_1m_output_tokens_usd).toBe('2.00');
    const result = JSON.parse(readFileSync(out, 'utf8'));
    result.providers = result.providers.filter((p: { name: string }) => p.name === 'tiny');
    const costUsd: number = result.providers[0].cost_usd;
    // Below 1e-6 JavaScript's String() switches to exponent notation: the case this test exists for.
    expect(costUsd).toBeLessThan(1e-6);
    expect(rows[0].cost_usd).toMatch(/^0\.0000000?\d+$/);
    expect(Number(rows[0].cost_usd)).toBe(costUsd);
    expect(rows[0].cost_usd).toBe(((result.providers[0].tokens.input + 5) * 0.01 / 1e6).toFixed(9).replace(/0+$/, ''));

  });
});

describe('health and ask --json: a cost without float noise', () => {
  it('health --format json and ask --json write the cost of a request at $0.1 / $0.3 per 1M as Python reads it', async () => {
    const server = await emulator({ cheap: { dialect: 'openai', ttft: { dist: 'constant', value: 1 }, output_tokens: { dist: 'constant', value: 7 } } });
    const cfg = join(dir, 'health.yaml');
    writeFileSync(cfg, `providers:\n  cheap: { api: openai, base_url: "${server.baseUrl('cheap')}", model: m, price: { input: 0.1, output: 0.3, priced_at: 2026-11-20 } }\n`);
    const health = await run(['--config', cfg, 'health', 'cheap', '--format', 'json'], { env });
    expect(health.code, health.stderr).toBe(0);
    expect(python('json', health.stdout).bad).toEqual([]);
    const costUsd: number = JSON.parse(health.stdout).providers[0].cost_usd;
    expect(costUsd).toBeGreaterThan(0);
    const ask = await run(['--config', cfg, 'ask', '--json', '--provider', 'cheap', 'hello there'], { env });
    expect(ask.code, ask.stderr).toBe(0);
    expect(python('json', ask.stdout).bad).toEqual([]);
    const answer = JSON.parse(ask.stdout);
    // The same price of the same tokens, in the decimal a person would write: (input × 0.1 + 7 × 0.3) / 1M.
    expect(answer.cost_usd).toBe(Number(((answer.usage.input_tokens * 0.1 + 7 * 0.3) / 1e6).toPrecision(12)));
    expect(ask.stdout).toMatch(/"cost_usd": 0\.\d{1,12},/);
  });
});

describe('ask --json: a cost below a ten-billionth keeps its digits', () => {
  // $0.01875 per 1M is Gemini 2.0 Flash-Lite's cached-input price (ai.google.dev/gemini-api/docs/pricing), used
  // here as an input price so every prompt token costs $0.00000001875: eleven decimals. Checked by Python's
  // Decimal, which multiplies the token count by the price exactly.
  it('n input tokens at $0.01875 per 1M are written n × 0.00000001875, not cut to ten decimals', async () => {
    const server = await emulator({ gem: { dialect: 'openai', ttft: { dist: 'constant', value: 1 }, output_tokens: { dist: 'constant', value: 3 } } });
    const cfg = join(dir, 'flash-lite.yaml');
    writeFileSync(cfg, `providers:\n  gem: { api: openai, base_url: "${server.baseUrl('gem')}", model: m, price: { input: 0.01875, output: 0, priced_at: 2026-11-20 } }\n`);
    const ask = await run(['--config', cfg, 'ask', '--json', '--no-cache', '--provider', 'gem', 'hello there'], { env });
    expect(ask.code, ask.stderr).toBe(0);
    const inputTokens: number = JSON.parse(ask.stdout).usage.input_tokens;
    // A multiple of 8 tokens would cost a figure ten decimals hold: the case this test exists for is the other.
    expect(inputTokens % 8).not.toBe(0);
    const written = /"cost_usd": ([0-9.e-]+),/.exec(ask.stdout)![1];
    const exact = execFileSync('python3', ['-c', 'import decimal,sys; print(decimal.Decimal(sys.argv[1]) * decimal.Decimal("0.01875") / 10**6 == decimal.Decimal(sys.argv[2]))', String(inputTokens), written], { encoding: 'utf8' }).trim();
    expect(exact, `${inputTokens} tokens written as ${written}`).toBe('True');
    expect(python('json', ask.stdout).bad).toEqual([]);
  });
});

describe('compare: a change too small to show is +0.0%, never -0.0%', () => {
  it('throughput 0.02 % lower reads +0.0% in the table and the markdown', async () => {
    const server = await emulator({ steady: { dialect: 'openai', ttft: { dist: 'constant', value: 5 }, output_tokens: { dist: 'constant', value: 6 } } });
    const cfg = join(dir, 'compare.yaml');
    writeFileSync(cfg, `providers:\n  steady: { api: openai, base_url: "${server.baseUrl('steady')}", model: m, price: { input: 0.1, output: 0.3, priced_at: 2026-11-20 } }\n`);
    const base = join(dir, 'base.json');
    expect((await run(['--config', cfg, 'bench', 'steady', '-n', '3', '-q', '--out', base], { env, timeoutMs: 60_000 })).code).toBe(0);
    // The "current" run is the measured one with its throughput lowered by 0.02 % (edited here, so the
    // change is known): -0.02 % rounds to zero at one decimal.
    const result = JSON.parse(readFileSync(base, 'utf8'));
    const tps: number = result.providers[0].output_tokens_per_s.aggregate;
    result.providers[0].output_tokens_per_s.aggregate = Number((tps * 0.9998).toFixed(3));
    const now = join(dir, 'now.json');
    writeFileSync(now, JSON.stringify(result));
    for (const format of ['table', 'markdown']) {
      const r = await run(['compare', base, now, '--format', format], { env });
      expect(r.stderr).toBe('');
      const row = r.stdout.split('\n').find((l) => l.includes('output tok/s'))!;
      expect(row, format).toMatch(/ \+0\.0% /);
      expect(r.stdout).not.toMatch(/-0\.0(%| pts)/);
    }
  });
});

describe('serve /metrics: the cost counter without float noise, as promtool reads it', () => {
  it('seven answers of $0.0000027 add up to 0.0000189 in llm_fallback_cost_usd_total, not 0.000018900000000000002', async () => {
    const server = await emulator({ cheap: { dialect: 'openai', ttft: { dist: 'constant', value: 1 }, output_tokens: { dist: 'constant', value: 7 } } });
    const cfg = join(dir, 'serve.yaml');
    writeFileSync(cfg, `providers:\n  cheap: { api: openai, base_url: "${server.baseUrl('cheap')}", model: m, price: { input: 0.1, output: 0.3, priced_at: 2026-11-20 } }\nchains:\n  default: [cheap]\n`);
    const child = spawn(process.execPath, [BIN, '--config', cfg, 'serve', '--port', '0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const base = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`serve did not listen within 15 s: ${out}`)), 15_000);
        child.stdout.on('data', (d) => {
          out += d;
          const m = /listening (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      // Each answer's cost header, in ten-billionths of a dollar (the header has at most 10 decimals), summed exactly.
      let total = 0;
      for (let i = 0; i < 7; i++) {
        const r = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'default', messages: [{ role: 'user', content: 'hi there' }] }) });
        expect(r.status).toBe(200);
        await r.text();
        total += Math.round(Number(r.headers.get('x-llm-fallback-cost-usd')) * 1e10);
      }
      const text = await (await fetch(`${base}/metrics`)).text();
      const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
      expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
      const line = text.split('\n').find((l) => l.startsWith('llm_fallback_cost_usd_total{'))!;
      expect(line).toBe(`llm_fallback_cost_usd_total{provider="cheap"} ${total / 1e10}`);
      // The emulator counts 6 input tokens in "hi there" and sends 7: (6 × 0.1 + 7 × 0.3) / 1M = $0.0000027 an
      // answer, and seven of them added in doubles are 0.000018900000000000002.
      expect(total / 1e10).toBe(0.0000189);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });
});

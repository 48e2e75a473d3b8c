import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeResults } from '../src/bench/merge.js';
import type { RequestRecord } from '../src/bench/runner.js';
import { parseSlos } from '../src/bench/slo.js';
import { evaluateThresholds, parseThreshold } from '../src/bench/thresholds.js';
import { UsageError } from '../src/errors.js';
import { benchCsv, benchMarkdown, benchTable } from '../src/format/bench.js';
import { runBench, target } from './bench-helpers.js';
import { run } from './cli-helpers.js';
import { emulator } from './helpers.js';
import { validate } from './json-schema.js';

const c = (value: number) => ({ dist: 'constant' as const, value });
const schema = JSON.parse(readFileSync(new URL('../schema/bench-result.schema.json', import.meta.url), 'utf8'));

// Scripted, one request at a time: 2 rate-limited, then 3 with a 1.5 s first token, then fast ones for good.
const server = await emulator({
  mixed: {
    dialect: 'openai',
    ttft: c(5),
    itl: c(2),
    output_tokens: c(6),
    script: [
      { kind: 'rate_limit', times: 2 },
      { kind: 'slow_first_token', delay_ms: 1500, times: 3 },
      { kind: 'ok' },
    ],
  },
  steady: { dialect: 'deepseek', ttft: c(20), itl: c(2), output_tokens: c(6) },
});

const usage = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
};

describe('--slo parsing', () => {
  it('reads our spelling, vLLM and AIPerf spellings, commas or spaces, ms or s', () => {
    const ours = parseSlos(['ttft<=300ms, tpot < 50, latency<=5s']);
    expect(ours.map((s) => [s.metric, s.op, s.limit, s.expression])).toEqual([
      ['ttft', '<=', 300, 'ttft<=300ms'],
      ['tpot', '<', 50, 'tpot<50ms'],
      ['latency', '<=', 5000, 'latency<=5s'],
    ]);
    // vLLM: --goodput ttft:300 tpot:50 e2el:5000 (ms); AIPerf: time_to_first_token:300 inter_token_latency:50 request_latency:5000
    const vllm = parseSlos(['ttft:300 tpot:50 e2el:5000']);
    const aiperf = parseSlos(['time_to_first_token:300', 'inter_token_latency:50 request_latency:5000']);
    expect(vllm).toEqual(ours.map((s) => (s.metric === 'tpot' ? { ...s, op: '<=', expression: 'tpot<=50ms' } : s)));
    expect(aiperf).toEqual(vllm);
    expect(parseSlos(['output_token_throughput_per_user:20'])).toEqual([{ expression: 'tps>=20', metric: 'tps', op: '>=', limit: 20 }]);
  });

  it('rejects bad SLOs with one line that says how to fix them', () => {
    expect(usage(() => parseSlos(['ttfx<=300ms']))).toBe('--slo: unknown SLO metric "ttfx" in "ttfx<=300ms"; did you mean "ttft"?; use ttft, tpot, latency or tps');
    expect(usage(() => parseSlos(['ttft>=300ms']))).toBe('--slo: "ttft>=300ms" bounds ttft from the wrong side; an SLO on ttft is "ttft<=300ms"');
    expect(usage(() => parseSlos(['latency<=5m']))).toBe('--slo: unit "m" does not fit latency in "latency<=5m"; use ms or s (a bare number is ms)');
    expect(usage(() => parseSlos(['ttft<=300ms,ttft:200']))).toBe('--slo: "ttft<=300ms" and "ttft<=200ms" both bound ttft; keep one');
    expect(usage(() => parseSlos(['ttft=300']))).toBe('--slo: "ttft=300" is not an SLO; write metric<=value, e.g. "ttft<=300ms", or vLLM\'s "ttft:300"');
    expect(usage(() => parseSlos([' , ']))).toBe('--slo: " , " names no SLO; write e.g. "ttft<=300ms,tpot<=50ms,latency<=5s"');
  });
});

describe('goodput against the emulator', () => {
  const slos = parseSlos(['ttft<=800ms,latency<=10s']);

  it('counts a request good only when it succeeded and met every SLO; failures stay in the denominator', async () => {
    const records: Record<string, RequestRecord[]> = { mixed: [], steady: [] };
    const result = await runBench([target(server, 'mixed'), target(server, 'steady')], { concurrency: 1, requests: 10, slos }, (name, r) => records[name].push(r));
    const [mixed, steady] = result.providers;
    // Judged from the raw records by hand: the 2 rate-limited requests are measured and never good.
    const judge = (rs: RequestRecord[]) => {
      const ttft = rs.filter((r) => r.ok && r.firstToken! - r.start <= 800).length;
      const latency = rs.filter((r) => r.ok && r.end - r.start <= 10_000).length;
      const good = rs.filter((r) => r.ok && r.firstToken! - r.start <= 800 && r.end - r.start <= 10_000).length;
      return { ttft, latency, good };
    };
    const m = judge(records.mixed);
    expect(mixed.failed).toBe(2);
    expect(m.good).toBeLessThanOrEqual(5); // the three 1.5 s first tokens miss the SLO, however idle the machine
    expect(mixed.goodput!.requests_per_s).toBeCloseTo((m.good / mixed.wall_ms) * 1000, 4);
    expect(mixed.goodput).toEqual({
      requests_per_s: mixed.goodput!.requests_per_s,
      attainment: m.good / 10,
      good: m.good,
      measured: 10,
      slos: [
        { expression: 'ttft<=800ms', met: m.ttft, pass_rate: m.ttft / 10 },
        { expression: 'latency<=10s', met: m.latency, pass_rate: m.latency / 10 },
      ],
    });
    expect(steady.goodput).toMatchObject({ good: judge(records.steady).good, measured: 10 });

    result.run.slo = slos;
    expect(validate(result, schema)).toEqual([]);
    const attain = evaluateThresholds([parseThreshold('goodput_attainment>=80%', '--fail-on'), parseThreshold('steady:goodput_rps>0', '--fail-on')], result.providers);
    expect(attain.map((t) => [t.provider, t.metric, t.pass])).toEqual([
      ['mixed', 'goodput_attainment', false],
      ['steady', 'goodput_attainment', true],
      ['steady', 'goodput_rps', true],
    ]);
    expect(attain[0].message).toBe('mixed: goodput_attainment FAILED: measured 50%, required >= 80%');

    // Every format shows it: the table and markdown a goodput table, CSV its columns.
    const pc = (n: number) => `${(n * 10).toFixed(1)}%`;
    expect(benchTable(result)).toMatch(new RegExp(`│ mixed\\s+│\\s+${m.good}/10 │\\s+${pc(m.good)} │\\s+[\\d.]+ │\\s+${pc(m.ttft)} │\\s+${pc(m.latency)} │`));
    expect(benchMarkdown(result)).toContain(`| mixed | ${m.good}/10 | ${pc(m.good)} |`);
    const csv = benchCsv(result).trim().split('\n');
    const head = csv[0].split(',');
    expect(head.slice(-4)).toEqual(['goodput_requests_per_s', 'goodput_attainment', 'slo_ttft_pass_rate', 'slo_latency_pass_rate']);
    expect(csv[1].split(',').slice(-3)).toEqual([m.good / 10, m.ttft / 10, m.latency / 10].map(String));

    // merge adds the counts exactly: a second machine's run with the same counts (the same run given twice is refused)
    const later = (iso: string) => new Date(Date.parse(iso) + 1000).toISOString();
    const twin = { ...result, started_at: later(result.started_at), ended_at: later(result.ended_at) };
    const merged = mergeResults([result, twin], ['a.json', 'b.json'], 'test');
    expect(merged.providers[0].goodput).toMatchObject({ good: 2 * m.good, measured: 20, attainment: m.good / 10 });
    expect(merged.providers[0].goodput!.slos[1]).toEqual({ expression: 'latency<=10s', met: 2 * m.latency, pass_rate: m.latency / 10 });
    const other = { ...twin, run: { ...twin.run, slo: parseSlos(['ttft<=50ms']) } };
    expect(usage(() => mergeResults([result, other], ['a.json', 'b.json'], 'test'))).toBe('merge: b.json was judged against other SLOs than a.json; merge only runs with the same --slo');
  });

  it('without --slo the result has no goodput and the outputs stay as they were', async () => {
    const result = await runBench([target(server, 'steady')], { concurrency: 2, requests: 4 });
    expect(result.providers[0].goodput).toBeNull();
    expect(benchCsv(result)).not.toContain('goodput');
    expect(benchTable(result)).not.toContain('Goodput');
  });
});

describe('bench --slo on the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmf-slo-'));
  const config = join(dir, 'providers.yaml');
  writeFileSync(config, `providers:\n  steady: { api: openai, base_url: "${server.baseUrl('steady')}", model: m, price: { input: 1, output: 2, priced_at: 2026-11-24 } }\n`);

  it('judges requests, writes goodput into the JSON result and gates on goodput thresholds', async () => {
    const out = join(dir, 'slo.json');
    const ok = await run(['bench', '--config', config, 'steady', '-n', '4', '-q', '--slo', 'ttft:5000', '--slo', 'e2el:20000', '--fail-on', 'goodput_attainment>=99%', '--out', out]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/│ steady\s+│\s+4\/4 │\s+100\.0% │/);
    expect(ok.stdout).toContain('Goodput: a request is good when it succeeded and met every SLO (ttft<=5s, latency<=20s)');
    const result = JSON.parse(readFileSync(out, 'utf8'));
    expect(validate(result, schema)).toEqual([]);
    expect(result.run.slo.map((s: { expression: string }) => s.expression)).toEqual(['ttft<=5s', 'latency<=20s']);
    expect(result.providers[0].goodput.attainment).toBe(1);

    const strict = await run(['bench', '--config', config, 'steady', '-n', '3', '-q', '--slo', 'ttft<=1ms', '--fail-on', 'goodput_attainment>=50%']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('steady: goodput_attainment FAILED: measured 0%, required >= 50%');
  });

  it('a goodput threshold without --slo, or a bad --slo, is a usage error before anything is sent', async () => {
    const noSlo = await run(['bench', '--config', config, 'steady', '--fail-on', 'goodput_rps>1']);
    expect(noSlo.code).toBe(2);
    expect(noSlo.stderr.trim()).toBe('--fail-on: "goodput_rps>1" needs SLOs to judge requests by; add --slo, e.g. --slo "ttft<=300ms,latency<=5s"');
    const bad = await run(['bench', '--config', config, 'steady', '--slo', 'ttft<=3h']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('--slo: unit "h" does not fit ttft in "ttft<=3h"; use ms or s (a bare number is ms)');
  });
});

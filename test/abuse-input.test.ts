/**
 * Fault-and-abuse suite, hostile input: flags past every sane bound, durations past Node's timer limit,
 * thresholds that read two ways, prompts from endless devices, FIFOs and stalled pipes, configs built
 * to exhaust memory or the stack, and damaged result files. Each gets one line, exit 2, and no hang.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { parseConfig } from '../src/config/load.js';
import { readFileBounded } from '../src/util/read-input.js';
import { BIN, run, startCli } from './cli-helpers.js';
import { emulator } from './helpers.js';

const STACK = /\n\s+at .+:\d+:\d+/;
const server = await emulator({ good: { dialect: 'openai', output_tokens: { dist: 'constant', value: 3 } } });
const dir = mkdtempSync(join(tmpdir(), 'llmf-input-'));
const config = join(dir, 'providers.yaml');
writeFileSync(config, `providers:\n  good: { api: openai, base_url: "${server.baseUrl('good')}", model: m, price: { input: 1, output: 2, priced_at: 2026-11-24 } }\n`);
const env = { XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') };

async function expectUsage(args: string[], message: string | RegExp, opts: { timeoutMs?: number } = {}) {
  const r = await run(['--config', config, ...args], { env, timeoutMs: opts.timeoutMs });
  expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(2);
  if (typeof message === 'string') expect(r.stderr.trim()).toBe(message);
  else expect(r.stderr.trim()).toMatch(message);
  expect(r.stderr).not.toMatch(STACK);
}

describe('whole numbers, rates and durations have sane bounds and one wording', () => {
  const TOO_LONG = 'is too long; the longest is 596h (about 24.8 days, the longest a Node timer can run)';
  it.each<[string[], string]>([
    [['bench', 'good', '-c', '1e21'], '--concurrency: "1e21" is not a whole number between 1 and 10,000'],
    [['bench', 'good', '-c', '1e308'], '--concurrency: "1e308" is not a whole number between 1 and 10,000'],
    [['bench', 'good', '-c', ''], '--concurrency: "" is not a whole number between 1 and 10,000'],
    [['bench', 'good', '-n', '1e3'], '--requests: "1e3" is not a whole number between 1 and 1,000,000,000'],
    [['bench', 'good', '--warmup', ''], '--warmup: "" is not a whole number between 0 and 1,000,000,000'],
    [['bench', 'good', '--rate', '1e308'], '--rate: "1e308" is more than 100,000, the most this flag accepts'],
    [['bench', 'good', '--duration', '5'], '--duration: 5 has no unit; write a duration like "5s" or "5ms"'],
    [['bench', 'good', '--duration', '0s'], '--duration: must be greater than zero, got "0s"'],
    [['bench', 'good', '--timeout', '900h'], `--timeout: "900h" ${TOO_LONG}`],
    [['ask', '--hedge', '597h', 'hi'], `--hedge: "597h" ${TOO_LONG}`],
    [['health', '--watch', '1000h'], `--watch: "1000h" ${TOO_LONG}`],
    [['health', '--timeout', '0ms'], '--timeout: must be greater than zero, got "0ms"'],
    [['cost', '--output-tokens', '1M', '--chain', 'default', '--fallover-rate', '5'], '--fallover-rate: "5" has no %; write a percentage like "5%"'],
    [['cost', '--output-tokens', '1M', '--cached-share', '0.3'], '--cached-share: "0.3" has no %; write a percentage like "0.3%" (or "30%" if you meant the fraction 0.3)'],
    [['cost', '--output-tokens', '1M', '--cached-share', '130%'], '--cached-share: "130%" is more than 100%'],
  ])('%j', async (args, message) => expectUsage(args, message));
});

describe('thresholds that could be misread are refused', () => {
  it.each<[string, string]>([
    ['error_rate<1', 'error_rate in "error_rate<1": "1" has no %; write a percentage like "1%" (or "100%" if you meant the fraction 1)'],
    ['error_rate<200%', 'error_rate in "error_rate<200%": "200%" is more than 100%'],
    ['ttft_p95<1', 'ttft_p95 in "ttft_p95<1": 1 has no unit; write "ttft_p95<1ms" or "ttft_p95<1s"'],
    ['error_rate<0%', 'error_rate in "error_rate<0%": no run can ever pass this; check the operator and the value'],
    ['success_rate>100%', 'success_rate in "success_rate>100%": no run can ever pass this; check the operator and the value'],
  ])('--fail-on %s', async (expr, message) => expectUsage(['bench', 'good', '--fail-on', expr], `--fail-on: ${message}`));

  it('in the config too, with file:line:col', () => {
    const text = 'providers:\n  p: { api: openai, base_url: "https://x.example/v1", model: m }\nthresholds: ["error_rate<1", "ttft_p95<2s"]\n';
    expect(problems(text)).toEqual(['t.yaml:3:14: thresholds[0]: error_rate in "error_rate<1": "1" has no %; write a percentage like "1%" (or "100%" if you meant the fraction 1)']);
  });
});

function problems(text: string): string[] {
  try {
    parseConfig(text, 't.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('configs built to exhaust memory or the stack', () => {
  const head = 'providers:\n  p:\n    api: openai\n    base_url: "https://x.example/v1"\n    model: m\n    params:\n';
  it('an alias bomb is a config error at the first alias', () => {
    const lines = ['      a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 10; i++) lines.push(`      a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
    expect(problems(`${head}${lines.join('\n')}\n`)).toEqual([
      't.yaml:8:16: aliases (*name) expand to too many values (Excessive alias count indicates a resource exhaustion attack); write the values out instead',
    ]);
  });

  it('3,000-deep nesting and 40-deep nesting are config errors with positions', () => {
    expect(problems(`${head}      x: ${'['.repeat(3000)}${']'.repeat(3000)}\n`)).toEqual([expect.stringMatching(/^t\.yaml:7:\d+: nested too deeply to read; a config never needs more than 32 levels, flatten it$/)]);
    expect(problems(`${head}      x: ${'['.repeat(40)}${']'.repeat(40)}\n`)).toEqual(['t.yaml:7:38: nested more than 32 levels deep; a config never needs that many, flatten it']);
  });

  it('a 10 MB string, a 100,000-character value and an endless device are bounded', async () => {
    expect(problems(`${head}      x: "${'a'.repeat(10_000_000)}"\n`)).toEqual(['t.yaml:1:1: the file is larger than 1024 KiB, the most a config may be; is this the right file?']);
    expect(problems(`${head}      x: "${'a'.repeat(100_000)}"\n`)).toEqual(['t.yaml:7:10: a value of 100,000 characters; values may be at most 64 KiB']);
    const r = await run(['--config', '/dev/zero', 'config', 'check'], { timeoutMs: 10_000 });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('/dev/zero:1:1: the file is larger than 1024 KiB, the most a config may be; is this the right file?');
  });

  it('binary garbage gives lines of bounded length (the quoted excerpt is cut at 80 characters)', () => {
    const junk = `providers: x\n]}${'\u0001\u00ff"\u0007'.repeat(1500)}\n`;
    const lines = problems(junk);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.length).toBeLessThan(200);
    expect(lines.join('\n')).toMatch(/…" \(cut; is this a text file\?\)/);
  });

  it('durations in the config are bounded like flags (timers over 24.8 days fire at once)', () => {
    const text = 'providers:\n  p: { api: openai, base_url: "https://x.example/v1", model: m, timeouts: { total: 600h } }\nchains:\n  c: { providers: [p], hedge: 700h }\ndefaults: { cache_ttl: 720h }\n';
    expect(problems(text)).toEqual([
      't.yaml:2:84: providers.p.timeouts.total: "600h" is too long; the longest is 596h (about 24.8 days, the longest a Node timer can run)',
      't.yaml:4:31: chains.c.hedge: "700h" is too long; the longest is 596h (about 24.8 days, the longest a Node timer can run)',
    ]);
  });
});

describe('prompt input never grows past 8 MiB nor waits forever', () => {
  it('ask --file /dev/zero stops at the limit while reading', async () => {
    const t0 = Date.now();
    await expectUsage(['ask', '--file', '/dev/zero'], '--file /dev/zero: the prompt is over 8 MiB, the limit', { timeoutMs: 20_000 });
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('a FIFO nobody writes to gives up after --timeout', async () => {
    const fifo = join(dir, 'prompt.fifo');
    execFileSync('mkfifo', [fifo]);
    const t0 = Date.now();
    await expectUsage(['ask', '--timeout', '1s', '--file', fifo], `--file ${fifo}: no program opened this FIFO for writing within 1000ms (the --timeout); start the writer first, or pass the prompt another way`, { timeoutMs: 15_000 });
    expect(Date.now() - t0).toBeLessThan(12_000);
  });

  it('a FIFO with a writer is read as the prompt', async () => {
    const fifo = join(dir, 'answer.fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', `sleep 0.3; printf 'hello from a fifo' > '${fifo}'`]);
    const r = await run(['--config', config, 'ask', '--provider', 'good', '--no-cache', '--json', '--timeout', '10s', '--file', fifo], { env, timeoutMs: 20_000 });
    writer.kill();
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).source).toBe('live');
  });

  it('a stdin that stays open and silent gives up after --timeout', async () => {
    const child = spawn(process.execPath, [BIN, '--config', config, 'ask', '--timeout', '1s'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const t0 = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.on('close', (c) => {
        clearTimeout(kill);
        resolve(c);
      });
    });
    child.stdin.destroy();
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('stdin: no input arrived for 1000ms (the --timeout); is the program writing to it stalled?');
    expect(Date.now() - t0).toBeLessThan(12_000);
  });
});

describe('health --watch', () => {
  it('keeps no listener per round (no MaxListenersExceededWarning after many rounds)', async () => {
    const cli = startCli(['--config', config, 'health', 'good', '--shallow', '--watch', '10ms'], env);
    // The first report, then 2 s of 10 ms rounds: far more than the 11 that tripped the warning.
    for (let i = 0; i < 200 && !cli.out.stdout.includes('good'); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 2000));
    await cli.signal('SIGINT');
    expect(cli.out.stdout).toMatch(/good/);
    expect(cli.out.stderr).not.toMatch(/MaxListenersExceeded/);
  });
});

describe('every file input goes through one bounded reader (no hang, no bad_alloc)', () => {
  const fifo = join(dir, 'input.fifo');
  execFileSync('mkfifo', [fifo]);
  const folder = join(dir, 'prompts-folder');
  mkdirSync(join(folder, 'x.txt'), { recursive: true });
  const FIFO = 'is a FIFO (named pipe), which could wait forever for a writer; save the input to a file and pass that';
  const FIX = 'pass a file written by "llm-fallback bench --out FILE"';
  it.each<[string[], string]>([
    [['bench', 'good', '-n', '1', '--prompts', '/dev/zero'], '--prompts: "/dev/zero" is over 64 MiB, the limit'],
    [['bench', 'good', '-n', '1', '--prompts', fifo], `--prompts: "${fifo}" ${FIFO}`],
    [['bench', 'good', '-n', '1', '--prompts', folder], `--prompts: "${join(folder, 'x.txt')}" is a folder, not a file`],
    [['report', '/dev/zero', '--html', join(dir, 'r.html')], `/dev/zero is over 64 MiB, the limit; ${FIX}`],
    [['report', fifo, '--html', join(dir, 'r.html')], `${fifo} ${FIFO}; ${FIX}`],
    [['merge', '/dev/zero', fifo], `/dev/zero is over 64 MiB, the limit; ${FIX}`],
    [['cost', '--from', fifo, '--requests-per-day', '5'], `--from: ${fifo} ${FIFO}; ${FIX}`],
    [['cost', '--from', '/dev/zero', '--requests-per-day', '5'], `--from: /dev/zero is over 64 MiB, the limit; ${FIX}`],
    [['mock', '--profile', '/dev/zero'], '--profile: "/dev/zero" is over 1 MiB, the limit'],
    [['mock', '--profile', fifo], `--profile: "${fifo}" ${FIFO}`],
  ])('%j', async (args, message) => expectUsage(args, message, { timeoutMs: 20_000 }));

  it('--config on a FIFO or a folder is a config error, not a hang', async () => {
    for (const [file, what] of [[fifo, FIFO], [folder, 'is a folder, not a file; check the --config path']]) {
      const r = await run(['--config', file, 'config', 'check'], { env, timeoutMs: 10_000 });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim()).toBe(`${file}: cannot read config: it ${what}`);
    }
  });

  it('a regular file over the limit is refused before it is read', () => {
    const big = join(dir, 'big.json');
    writeFileSync(big, '');
    truncateSync(big, 65 * 1024 * 1024);
    expect(() => readFileBounded(big, 64 * 1024 * 1024)).toThrow('is 65.0 MiB; the limit is 64 MiB');
  });
});

describe('damaged result files', () => {
  it('are checked against the published schema; the message names the file and field', async () => {
    const good = join(dir, 'good.json');
    const r = await run(['--config', config, 'bench', 'good', '-n', '2', '-q', '--out', good], { env });
    expect(r.code, r.stderr).toBe(0);
    const base = JSON.parse(readFileSync(good, 'utf8'));
    const damage: [string, (j: any) => void, string][] = [
      ['requests.json', (j) => (j.providers[0].requests = 'many'), 'providers[0].requests: expected integer, got string'],
      ['tokens.json', (j) => delete j.providers[0].tokens, 'providers[0]: missing field tokens'],
      ['warnings.json', (j) => delete j.warnings, 'missing field warnings'],
      ['providers.json', (j) => (j.providers = 5), 'providers: expected array, got integer'],
      ['histogram.json', (j) => (j.providers[0].histograms.latency = '!!not a histogram'), 'providers[0].histograms.latency: not a readable histogram'],
    ];
    for (const [name, mutate, field] of damage) {
      const file = join(dir, name);
      const j = structuredClone(base);
      mutate(j);
      writeFileSync(file, JSON.stringify(j));
      const expected = `${file}: damaged bench result: ${field}; pass a file written by "llm-fallback bench --out FILE"`;
      await expectUsage(['merge', good, file], expected);
      await expectUsage(['cost', '--from', file, '--requests-per-day', '100'], `--from: ${expected}`);
      await expectUsage(['compare', good, file], expected);
    }
  }, 120_000);

  it('a number beyond a double (1e400, which JSON.parse reads as Infinity), or a share above 1, is damage, not a crash or a broken chart in report', async () => {
    const good = join(dir, 'finite.json');
    const r = await run(['--config', config, 'bench', 'good', '-n', '2', '-q', '--slo', 'ttft<=10s', '--out', good], { env });
    expect(r.code, r.stderr).toBe(0);
    const base = JSON.parse(readFileSync(good, 'utf8'));
    base.providers[0].price = { input: 1, cached_input: 1, cache_write: 1.25, output: 2, priced_at: '2026-11-01' };
    base.providers[0].cost_per_1k_requests_usd = 123456.789;
    const file = join(dir, 'infinite.json');
    writeFileSync(file, JSON.stringify(base).replace('123456.789', '1e400'));
    await expectUsage(['report', file, '--html', join(dir, 'infinite.html')], `${file}: damaged bench result: providers[0].cost_per_1k_requests_usd: expected number or null, got Infinity; pass a file written by "llm-fallback bench --out FILE"`);
    // A share above 1 is damage too: drawn, an attainment of 1e308 made a bar Infinity pixels wide.
    base.providers[0].cost_per_1k_requests_usd = 1;
    base.providers[0].goodput.attainment = 1e308;
    writeFileSync(file, JSON.stringify(base));
    await expectUsage(['report', file, '--html', join(dir, 'infinite.html')], `${file}: damaged bench result: providers[0].goodput.attainment: 1e+308 is above the maximum 1; pass a file written by "llm-fallback bench --out FILE"`);
  }, 60_000);

  it('tells an older or a newer result format from a damaged file', async () => {
    const good = join(dir, 'current.json');
    const r = await run(['--config', config, 'bench', 'good', '-n', '2', '-q', '--out', good], { env });
    expect(r.code, r.stderr).toBe(0);
    const base = JSON.parse(readFileSync(good, 'utf8'));
    expect(base.schema_version).toBe(2);
    const write = (name: string, mutate: (j: any) => void) => {
      const file = join(dir, name);
      const j = structuredClone(base);
      mutate(j);
      writeFileSync(file, JSON.stringify(j));
      return file;
    };
    // A version-1 file with every field this version needs is read: version 1 grew those fields before the bump.
    const v1Whole = write('v1-whole.json', (j) => (j.schema_version = 1));
    const read = await run(['compare', good, v1Whole]);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toMatch(/good/);
    // Its report says what it is: a version-1 file, not one of version 2.
    const html = join(dir, 'v1-whole.html');
    expect((await run(['report', v1Whole, '--html', html])).code).toBe(0);
    expect(readFileSync(html, 'utf8')).toContain('from a bench result (schema_version 1)');
    // A version-1 file from before a field existed is old, not damaged, and the message says how to go on.
    const v1Old = write('v1-old.json', (j) => {
      j.schema_version = 1;
      delete j.picks;
      j.tool.version = '0.0.9\u001b[31m';
    });
    await expectUsage(
      ['compare', good, v1Old],
      `${v1Old}: written by an older llm-fallback 0.0.9 (result schema_version 1; this one reads 2): missing field picks; run bench again with this version, or read the file with the version that wrote it`,
    );
    const v3 = write('v3.json', (j) => (j.schema_version = 3));
    await expectUsage(['report', v3, '--html', join(dir, 'v3.html')], `${v3}: written by a newer llm-fallback (result schema_version 3; this one reads up to 2); upgrade llm-fallback to read it`);
    for (const bad of ['"2"', '0', '1.5', 'null']) {
      const file = write(`version-${bad.replace(/\W/g, '')}.json`, (j) => (j.schema_version = JSON.parse(bad)));
      await expectUsage(['merge', good, file], `${file}: not an llm-fallback bench result (no "schema_version"); pass a file written by "llm-fallback bench --out FILE"`);
    }
  }, 120_000);
});

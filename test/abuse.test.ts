import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './cli-helpers.js';
import { emulator } from './helpers.js';

const STACK = /\n\s+at .+:\d+:\d+/;
const c = (value: number) => ({ dist: 'constant' as const, value });
const SECRET = 'sk-live-ZZTOPSECRET-0123456789abcdef';
const server = await emulator({
  good: { dialect: 'openai', output_tokens: c(5) },
  // Echoes whatever key it is sent into its 401 message, as careless servers do.
  echo: { dialect: 'deepseek', api_key: 'not-the-one-you-sent', echo_key: true },
  keyed: { dialect: 'anthropic', api_key: SECRET, output_tokens: c(5) },
  big: { dialect: 'openai', output_tokens: c(5000) },
});
const dir = mkdtempSync(join(tmpdir(), 'llmf-abuse-'));
const faulty = (kind: object) => `{ api: openai, base_url: "${server.baseUrl('good')}", model: m, headers: { x-mock-fault: '${JSON.stringify(kind)}' } }`;
const config = join(dir, 'providers.yaml');
writeFileSync(
  config,
  `providers:
  good: { api: openai, base_url: "${server.baseUrl('good')}", model: m, price: { input: 1, output: 2, priced_at: 2026-11-24 } }
  echo: { api: openai, base_url: "${server.baseUrl('echo')}", model: m, api_key_env: SECRET_KEY }
  keyed: { api: anthropic, base_url: "${server.baseUrl('keyed')}", model: claude, api_key_env: SECRET_KEY, price: { input: 3, output: 15, priced_at: 2026-11-24 } }
  notjson: ${faulty({ kind: 'malformed', after_tokens: 0 })}
  truncated: ${faulty({ kind: 'cut', after_tokens: 2 })}
  html: ${faulty({ kind: 'html' })}
  garbage: ${faulty({ kind: 'malformed', after_tokens: 3 })}
  huge: { api: openai, base_url: "${server.baseUrl('big')}", model: m, max_response_bytes: 65536 }
  remote: { api: openai, base_url: "http://llm.example.com/v1", model: m, api_key_env: SECRET_KEY }
chains:
  default: [echo, keyed, good]
`,
);
const env = { SECRET_KEY: SECRET, XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache'), GITHUB_STEP_SUMMARY: join(dir, 'summary.md') };
writeFileSync(env.GITHUB_STEP_SUMMARY, '');

describe('bad flags: one line, exit 2, no stack trace, for every command', () => {
  const cases: [string[], string][] = [
    [['bench', 'good', '--concurrency', '0'], '--concurrency: "0" is not a whole number between 1 and 10,000'],
    [['bench', 'good', '--rate', '-1'], '--rate: "-1" is not a number greater than 0'],
    [['bench', 'good', '--duration', 'forever'], '--duration: "forever" is not a duration; write it like "500ms", "10s", "2m" or "1h"'],
    [['bench', 'good', '--format', 'xml'], '--format: "xml" is not one of table, json, csv, markdown'],
    [['bench', 'good', '--prompts', '/nonexistent'], '--prompts: cannot read "/nonexistent" (no such file or folder)'],
    [['ask', '--temperature', '5', 'hi'], '--temperature: "5" is not a number between 0 and 2'],
    [['ask', '--on-content-filter', 'ignore', 'hi'], '--on-content-filter: "ignore" is not one of stop, fallover'],
    [['health', '--timeout', 'x'], '--timeout: "x" is not a duration; write it like "500ms", "10s", "2m" or "1h"'],
    [['cost', '--output-tokens', '1M', '--cached-share', 'lots'], '--cached-share: "lots" is not a percentage like "10%"'],
    [['mock', '--profile', '/nonexistent.yaml'], '--profile: "/nonexistent.yaml" is neither a built-in profile (demo, default, instant, workloads) nor a readable file'],
    [['compare', '/nonexistent-a.json', '/nonexistent-b.json'], '/nonexistent-a.json: no such file; pass a file written by "llm-fallback bench --out FILE"'],
    [['breaker', 'reset', 'godo'], `breaker reset: "godo" is not a provider in ${config}; did you mean "good"?`],
    [['cost', '--output-tokens', '1M', '--chain', 'defualt'], `--chain: "defualt" is not a chain in ${config}; did you mean "default"?`],
    [['mock', '--host', '256.1.1.1', '--port', '0'], '--host: cannot bind 256.1.1.1 on this machine'],
    // Without a near match, the names to choose from, as ask --provider gives them.
    [['health', 'nosuch'], `health: "nosuch" is neither a provider nor a chain in ${config}; providers: good, echo, keyed, notjson, truncated, html, garbage, huge, remote; chains: default`],
    [['bench', 'nosuch'], `bench: "nosuch" is neither a provider nor a chain in ${config}; providers: good, echo, keyed, notjson, truncated, html, garbage, huge, remote; chains: default`],
    [['bench', '--demo', '-n', '1'], `--demo: benchmarks the built-in emulator, not a config; drop --config ${config}, or drop --demo to bench its providers`],
    [['ask', '--provider', 'zzz', 'hi'], `--provider: "zzz" is not a provider in ${config}; providers: good, echo, keyed, notjson, truncated, html, garbage, huge, remote`],
  ];
  it.each(cases)('%j', async (args, message) => {
    const r = await run(['--config', config, ...args], { env });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(message);
    expect(r.stderr).not.toMatch(STACK);
  });

  it('YAML errors in --prompts and mock --profile read file:line:col, as config errors do', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'a: b\n- c\n');
    for (const [args, flag] of [[['bench', 'good', '-n', '1', '--prompts', bad], '--prompts'], [['mock', '--profile', bad], '--profile']] as const) {
      const r = await run(['--config', config, ...args], { env });
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(`${flag}: ${bad}:2:1: Implicit keys need to be on a single line`);
    }
  });

  it('an empty providers: {} names the cause (ask, bench, health, serve), not an empty list of variables', async () => {
    const empty = join(dir, 'empty-providers.yaml');
    writeFileSync(empty, 'providers: {}\n');
    for (const args of [['ask', 'hi'], ['bench', '-n', '1'], ['health'], ['serve', '--port', '0']]) {
      const r = await run(['--config', empty, ...args], { env, timeoutMs: 15_000 });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim()).toBe(`${empty}: no providers configured (providers: is empty); add one under providers: (see the shipped providers.yaml), or try --demo (no keys needed)`);
    }
  });

  it('refuses a config that would send a key over plain HTTP to a remote host', async () => {
    const r = await run(['--config', config, 'ask', '--provider', 'remote', 'hi'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('provider remote: refusing to send its API key over plain HTTP to llm.example.com; use an https:// base_url (plain http is allowed only for loopback: 127.0.0.0/8, ::1 and localhost)');
  });
});

describe('prompts that are wrong', () => {
  it('refuses an empty prompt, a huge one and invalid UTF-8, each in one line', async () => {
    const huge = join(dir, 'huge.txt');
    writeFileSync(huge, Buffer.alloc(9 * 1024 * 1024, 0x61));
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, Buffer.from([0x68, 0xc3, 0x28]));
    const cases: [string[], string][] = [
      [['ask', ''], 'ask: the prompt is empty'],
      [['ask', '--file', huge], `--file ${huge}: the prompt is 9.0 MiB; the limit is 8 MiB`],
      [['ask', '--file', bad], `--file ${bad}: the prompt is not valid UTF-8 text; convert it (e.g. iconv -t UTF-8) and try again`],
      [['bench', 'good', '--prompt', '   '], '--prompt #1: the prompt is empty'],
    ];
    for (const [args, message] of cases) {
      const r = await run(['--config', config, ...args], { env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim()).toBe(message);
    }
  });
});

describe('server replies that are wrong: one clear line each, never a hang', () => {
  it.each([
    ['notjson', 'malformed_response', /stream chunk is not JSON/],
    ['truncated', 'incomplete_stream', /connection lost mid-response|stream ended early/],
    ['html', 'malformed_response', /^html: expected text\/event-stream, got text\/html: HTML page "502 Bad Gateway", not an API answer: a proxy or load balancer in front of the provider answered$/],
    ['garbage', 'malformed_response', /stream chunk is not JSON/],
    ['huge', 'malformed_response', /response larger than 65536 bytes; raise max_response_bytes/],
  ])('%s → %s', async (name, cls, message) => {
    const r = await run(['--config', config, 'ask', '--provider', name, '--retries', '0', '--no-cache', '--json', 'hi'], { env, timeoutMs: 15_000 });
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.source).toBe('none');
    expect(j.attempts[0].error_class).toBe(cls);
    expect(j.attempts[0].error_message).toMatch(message);
    expect(r.stderr).not.toMatch(STACK);
  });
});

describe('secrets: a recognisable key appears in no output, log, result, raw, cache or state file', () => {
  it('across providers, config check, bench, ask, health and cost — even when a server echoes it', async () => {
    const outputs: string[] = [];
    const files = { out: join(dir, 'bench.json'), raw: join(dir, 'raw.jsonl'), junit: join(dir, 'health.xml') };
    const runs: string[][] = [
      ['providers'],
      ['providers', '--format', 'json'],
      ['config', 'check', config],
      ['bench', 'echo', 'keyed', '-n', '3', '--out', files.out, '--raw', files.raw, '--raw-include-text'],
      ['bench', 'echo', 'keyed', '-n', '2', '--format', 'json'],
      ['ask', 'hello there'],
      ['ask', '--json', 'hello again'],
      ['ask', '--debug', '--provider', 'echo', 'hi'],
      ['health', 'echo', 'keyed', '--format', 'junit', '--out', files.junit],
      ['health', 'echo', 'keyed', '--format', 'json'],
      ['health', 'echo', '--shallow'],
      ['cost', 'keyed', '--output-tokens', '1M'],
    ];
    for (const args of runs) {
      const r = await run(['--config', config, ...args], { env });
      expect(r.stderr, args.join(' ')).not.toMatch(STACK);
      outputs.push(r.stdout, r.stderr);
    }
    // The key really was used (keyed answered) and really was echoed back (echo's 401 carried it).
    expect(outputs.join('\n')).toMatch(/served by keyed \(claude\)/);
    expect(outputs.join('\n')).toMatch(/\[REDACTED\]/);
    const written: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else written.push(readFileSync(p, 'utf8'));
      }
    };
    walk(dir);
    expect(written.length).toBeGreaterThan(5);
    for (const text of [...outputs, ...written]) {
      expect(text).not.toContain('ZZTOPSECRET');
      expect(text).not.toContain('0123456789abcdef');
    }
  });
});

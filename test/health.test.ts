import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, startCli } from './cli-helpers.js';
import { emulator, refusedUrl, routeServer, until } from './helpers.js';
import { onTerminal } from './pty-helpers.js';
import { healthTable } from '../src/format/health.js';
import { displayWidth } from '../src/format/table.js';
import type { HealthReport } from '../src/health/check.js';

const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  ok: { dialect: 'openai', models: ['gpt-5.4-mini', 'gpt-test'], output_tokens: c(2), ttft: c(20) },
  slow: { dialect: 'openai', ttft: c(5000) },
  locked: { dialect: 'anthropic', api_key: 'the-right-key' },
  flip: { dialect: 'deepseek', output_tokens: c(2) },
});
const dir = mkdtempSync(join(tmpdir(), 'llmf-health-'));
const config = join(dir, 'providers.yaml');
writeFileSync(
  config,
  `providers:
  ok: { api: openai, base_url: "${server.baseUrl('ok')}", model: gpt-test, price: { input: 1, output: 2, priced_at: 2026-11-24 } }
  dead: { api: openai, base_url: "${await refusedUrl()}", model: m }
  slow: { api: openai, base_url: "${server.baseUrl('slow')}", model: m }
  locked: { api: anthropic, base_url: "${server.baseUrl('locked')}", model: claude-test, api_key_env: LOCKED_KEY }
  flip: { api: openai, base_url: "${server.baseUrl('flip')}", model: m }
  secret1: { api: openai, base_url: "${server.baseUrl('ok')}", model: s1, api_key_env: NOT_SET_KEY_1 }
  secret2: { api: openai, base_url: "${server.baseUrl('ok')}", model: s2, api_key_env: NOT_SET_KEY_2 }
chains:
  forked: [secret1, ok]
  secrets: [secret1, secret2]
  some: [dead, ok]
  none: [dead, locked]
`,
);
const env = { LOCKED_KEY: 'a-wrong-key-0123456789', XDG_STATE_HOME: join(dir, 'state') };
const all = ['ok', 'dead', 'slow', 'locked'];

describe('health', () => {
  it('tells healthy, dead, slow and unauthorised providers apart', async () => {
    const r = await run(['--config', config, 'health', ...all, '--timeout', '500ms', '--format', 'json'], { env });
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    const by = Object.fromEntries(j.providers.map((p: { name: string }) => [p.name, p]));
    expect(by.ok).toMatchObject({ healthy: true, status: 200, error_class: null, served_model: 'gpt-5.4-mini' });
    expect(by.ok.ttft_ms).toBeGreaterThan(15);
    expect(by.ok.cost_usd).toBeGreaterThan(0);
    expect(by.dead).toMatchObject({ healthy: false, error_class: 'network', error_detail: 'network:ECONNREFUSED' });
    expect(by.slow).toMatchObject({ healthy: false, error_class: 'timeout', error_detail: 'timeout:total', status: 200 });
    expect(by.locked).toMatchObject({ healthy: false, error_class: 'auth', status: 401 });
    expect(r.stdout).not.toContain('0123456789');
    expect(j.failures).toHaveLength(3);
  });

  it('the table fits 100 columns with long names, models and served models; a long chain line wraps', async () => {
    // A real report, given the names and models of a long config (the table was 121 columns wide with nine providers).
    const r = await run(['--config', config, 'health', 'ok', '--chain', 'some', '--format', 'json'], { env });
    const real = JSON.parse(r.stdout) as HealthReport;
    const long = (i: number) => ({ ...real.providers[0], name: `provider-number-${i}-of-a-long-chain`, model: `vendor/a-rather-long-model-name-${i}`, served_model: `vendor/a-rather-long-model-name-${i}-20260801` });
    const names = Array.from({ length: 9 }, (_, i) => long(i).name);
    const report: HealthReport = { ...real, providers: names.map((_, i) => long(i)), chains: [{ ...real.chains[0], providers: names }] };
    const out = healthTable(report);
    const widths = out.split('\n').map(displayWidth);
    expect(Math.max(...widths)).toBeLessThanOrEqual(100);
    expect(out).toMatch(/│ provider\S*… +│ vendor\S*… +│ \w+ +│ healthy +│ +200 │/);
    expect(out.split('\n').filter((l) => l.startsWith('chain some (')).length).toBe(1);
    expect(out).toMatch(/^ {2}\S.*: healthy$/m);
  });

  it('required vs optional: exit 0 when only optional providers are down; JUnit marks them skipped', async () => {
    const r = await run(['--config', config, 'health', ...all, '--timeout', '500ms', '--require', 'ok', '--format', 'junit'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/<testsuite name="llm-fallback health \(deep\)" tests="4" failures="0" skipped="3"/);
    expect(r.stdout).toMatch(/<testcase classname="llm-fallback.health.providers" name="dead \(m\)" time="[\d.]+">\n\s+<skipped message="optional provider down: network:ECONNREFUSED"\/>/);
    const req = await run(['--config', config, 'health', ...all, '--timeout', '500ms', '--require', 'ok,locked', '--format', 'junit'], { env });
    expect(req.code).toBe(1);
    expect(req.stdout).toMatch(/failures="1"/);
    expect(req.stdout).toMatch(/<failure type="auth" message="auth HTTP 401">/);
  });

  it('a chain is healthy when one of its providers is', async () => {
    expect((await run(['--config', config, 'health', '--chain', 'some'], { env })).code).toBe(0);
    const down = await run(['--config', config, 'health', '--chain', 'none'], { env });
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/✗ chain none: none of dead, locked is healthy/);
  });

  it('a deep check of a provider the config gives no price has an unknown cost, not $0.00', async () => {
    server.setScript('flip', [{ kind: 'ok' }]);
    const j = JSON.parse((await run(['--config', config, 'health', 'ok', 'flip', '--format', 'json'], { env })).stdout);
    expect(j.providers.map((p: { name: string; healthy: boolean; priced: boolean }) => [p.name, p.healthy, p.priced])).toEqual([['ok', true, true], ['flip', true, false]]);
    expect(j.providers[0].cost_usd).toBeGreaterThan(0);
    expect(j.providers[1].cost_usd).toBeNull();
    const table = (await run(['--config', config, 'health', 'ok', 'flip'], { env })).stdout;
    expect(table).toMatch(/│ ok .*│ +\$0\.\d+ │$/m);
    expect(table).toMatch(/│ flip .*│ +no price │$/m);
    // A model listing spends no tokens: free whether priced or not.
    const shallow = JSON.parse((await run(['--config', config, 'health', 'flip', '--shallow', '--format', 'json'], { env })).stdout);
    expect(shallow.providers[0]).toMatchObject({ name: 'flip', priced: false, cost_usd: 0 });
  });

  it('--shallow lists models: no tokens spent, auth still checked', async () => {
    const r = await run(['--config', config, 'health', 'ok', 'locked', '--shallow', '--format', 'json'], { env });
    const j = JSON.parse(r.stdout);
    expect(j.mode).toBe('shallow');
    expect(j.providers[0]).toMatchObject({ name: 'ok', healthy: true, cost_usd: 0, ttft_ms: null });
    expect(j.providers[1]).toMatchObject({ name: 'locked', healthy: false, error_class: 'auth' });
  });

  it('writes a markdown summary and updates the breaker state ask uses', async () => {
    const summary = join(dir, 'summary.md');
    writeFileSync(summary, '');
    for (let i = 0; i < 3; i++) await run(['--config', config, 'health', 'dead', 'ok'], { env: { ...env, GITHUB_STEP_SUMMARY: summary } });
    expect(readFileSync(summary, 'utf8')).toMatch(/\| dead \| m \| yes \| ❌ network:ECONNREFUSED \|/);
    const listed = await run(['--config', config, 'providers'], { env });
    expect(listed.stdout).toMatch(/dead .*│ open \d+s more \(network\)/);
    expect(listed.stdout).toMatch(/ok .*│ closed /);
  });

  it('--watch prints up/down transitions until stopped', async () => {
    server.setScript('flip', [{ kind: 'ok' }]);
    const cli = startCli(['--config', config, 'health', 'flip', '--watch', '300ms'], env);
    // The first report is the starting point (process start-up is slow on a loaded machine).
    for (let i = 0; i < 200 && !cli.out.stdout.includes('All required'); i++) await new Promise((r) => setTimeout(r, 50));
    // Each transition is waited for (bounded), not slept for: 700 ms of sleep left ~400 ms for a 300 ms
    // round to happen inside the window, which a stalled child process could miss.
    server.setScript('flip', [{ kind: 'overloaded' }]);
    await until(() => / DOWN /.test(cli.out.stdout), 'the DOWN transition');
    server.setScript('flip', [{ kind: 'ok' }]);
    await until(() => / DOWN [^]* UP /.test(cli.out.stdout), 'the UP transition');
    const { code } = await cli.signal('SIGINT');
    expect(code).toBe(130); // interrupted, as documented
    expect(cli.out.stdout).toMatch(/Z flip DOWN \(overloaded HTTP 503\)\n/);
    expect(cli.out.stdout).toMatch(/Z flip UP \([\d.]+ms\)\n/);
    expect(cli.out.stdout.indexOf('DOWN')).toBeLessThan(cli.out.stdout.lastIndexOf('UP'));
  });
});

describe('health in CI', () => {
  it('keyless optional providers and chain members are skipped, and the JUnit file is written; the table goes to stdout', async () => {
    const xmlFile = join(dir, 'forked.xml');
    const r = await run(['--config', config, 'health', '--chain', 'forked', '--format', 'junit', '--out', xmlFile], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/secre\S* .*│ skipped \(no key\)/);
    expect(r.stdout).not.toContain('<?xml');
    const xml = readFileSync(xmlFile, 'utf8');
    expect(xml).toMatch(/<testsuite [^>]*tests="3" failures="0" skipped="1"/);
    expect(xml).toMatch(/name="secret1 \(s1\)" time="0.000">\n\s+<skipped message="not checked: NOT_SET_KEY_1 is not set"\/>/);
  });

  it('fails (exit 1, file still written) only when a required provider, or every member of a chain, lacks its key', async () => {
    const xmlFile = join(dir, 'required.xml');
    const req = await run(['--config', config, 'health', 'ok', '--require', 'secret1', '--format', 'junit', '--out', xmlFile], { env });
    expect(req.code).toBe(1);
    expect(req.stdout).toContain('✗ secret1: required, but not checked: NOT_SET_KEY_1 is not set; export NOT_SET_KEY_1, or take secret1 out of --require\n');
    expect(readFileSync(xmlFile, 'utf8')).toContain('<failure type="no_key" message="required, not checked: NOT_SET_KEY_1 is not set; export NOT_SET_KEY_1, or take secret1 out of --require"/>');
    const jsonFile = join(dir, 'chain.json');
    const chain = await run(['--config', config, 'health', '--chain', 'secrets', '--format', 'json', '--out', jsonFile], { env });
    expect(chain.code).toBe(1);
    const j = JSON.parse(readFileSync(jsonFile, 'utf8'));
    expect(j.providers.map((p: { skipped: boolean }) => p.skipped)).toEqual([true, true]);
    expect(j.failures).toEqual(['chain secrets: no member has its API key set (NOT_SET_KEY_1 is not set; NOT_SET_KEY_2 is not set)']);
  });

  it('naming a provider asks for it: without its key it fails the run, saying how to make it optional; --require makes the others optional', async () => {
    const named = await run(['--config', config, 'health', 'ok', 'secret1', '--format', 'json'], { env });
    expect(named.code).toBe(1);
    const j = JSON.parse(named.stdout);
    expect(j.providers.map((p: { name: string; required: boolean; skipped: boolean }) => [p.name, p.required, p.skipped])).toEqual([['ok', true, false], ['secret1', true, true]]);
    expect(j.failures).toEqual(['secret1: required, but not checked: NOT_SET_KEY_1 is not set; export NOT_SET_KEY_1, or list in --require only the named providers that must pass']);
    const optional = await run(['--config', config, 'health', 'ok', 'secret1', '--require', 'ok', '--format', 'json'], { env });
    expect(optional.code).toBe(0);
    expect(JSON.parse(optional.stdout).providers[1]).toMatchObject({ name: 'secret1', required: false, skipped: true, error_message: 'NOT_SET_KEY_1 is not set' });
  });

  it('a provider with required: true and no key is not left out of a plain `health`: the run fails and says how to fix it', async () => {
    const file = join(dir, 'required-keyless.yaml');
    writeFileSync(file, `providers:\n  ok: { api: openai, base_url: "${server.baseUrl('ok')}", model: gpt-test, api_key_env: OK_KEY }\n  must: { api: openai, base_url: "${server.baseUrl('ok')}", model: m, api_key_env: NOT_SET_KEY_9, required: true }\n`);
    const r = await run(['--config', file, 'health', '--format', 'json'], { env: { ...env, OK_KEY: 'sk-ok-key-0123' } });
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.providers.map((p: { name: string; required: boolean; healthy: boolean; skipped: boolean }) => [p.name, p.required, p.healthy, p.skipped])).toEqual([['ok', false, true, false], ['must', true, false, true]]);
    expect(j.failures).toEqual([`must: required, but not checked: NOT_SET_KEY_9 is not set; export NOT_SET_KEY_9, or drop required: true from must in ${file}`]);
  });

  it('says what health needs when no key is set, and --require with a chain name points to --chain', async () => {
    const none = await run(['--config', config, 'health'], { env: { ...env, LOCKED_KEY: '' } });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^health: nothing to check — no provider in .* has its API key set \(LOCKED_KEY, NOT_SET_KEY_1, NOT_SET_KEY_2\); export the keys, or name what to check/);
    expect(none.stderr).not.toMatch(/bench/);
    // A config whose providers take no key (a local server, the emulator): no empty "()" and nothing to export.
    const keyless = join(dir, 'keyless.yaml');
    writeFileSync(keyless, `providers:\n  local: { api: openai, base_url: "${server.baseUrl('ok')}", model: gpt-test }\nchains:\n  default: [local]\n`);
    const noVars = await run(['--config', keyless, 'health', '--shallow'], { env });
    expect(noVars.code).toBe(2);
    expect(noVars.stderr.trim()).toBe(
      `health: nothing to check — no provider in ${keyless} sets api_key_env, and without names health checks only providers whose key is set (and required: true ones); name what to check (e.g. "health local" or "health --chain default")`,
    );
    const chain = await run(['--config', config, 'health', 'ok', '--require', 'forked'], { env });
    expect(chain.code).toBe(2);
    expect(chain.stderr.trim()).toBe('--require: "forked" is a chain; to require that it can answer, use --chain forked');
  });

  it.each(['', ' ', ',,'])('an empty --require (%j, an unset CI variable) is exit 2, not "all healthy"', async (value) => {
    const r = await run(['--config', config, 'health', ...all, '--timeout', '500ms', '--require', value], { env });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('--require: names no provider or chain; give a comma-separated list (e.g. --require deepseek,default) or leave the flag out');
    expect(r.stdout).not.toMatch(/healthy/);
  });

  it('--watch with a machine-readable format on stdout is exit 2: its transition lines would break the report', async () => {
    const r = await run(['--config', config, 'health', 'ok', '--watch', '1s', '--format', 'junit'], { env, timeoutMs: 10_000 });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('--watch: its up/down lines go to standard output and would break the junit report there; add --out FILE for the junit report (rewritten after each round), or leave --format out');
    expect(r.stdout).toBe('');
  });

  it('a bad --out is exit 2 naming the flag, before any check', async () => {
    const r = await run(['--config', config, 'health', 'ok', '--out', join(dir, 'missing', 'h.xml')], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^--out: the directory of .* does not exist/);
    expect(r.stdout).toBe('');
  });

  it('on SIGTERM prints the report of the interrupted checks, writes --out and exits 143', async () => {
    const out = join(dir, 'term.json');
    const before = server.stats().slow?.requests ?? 0;
    const cli = startCli(['--config', config, 'health', 'ok', 'slow', '--timeout', '20s', '--out', out], env);
    // Once the slow provider has the check's request, the checks (and their signal handling) are running.
    for (let i = 0; i < 300 && (server.stats().slow?.requests ?? 0) === before; i++) await new Promise((r) => setTimeout(r, 50));
    const { code, ms } = await cli.signal('SIGTERM');
    expect(code).toBe(143);
    expect(ms).toBeLessThan(10_000); // not the 20 s check timeout: the checks were aborted
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j.providers.find((p: { name: string }) => p.name === 'slow')).toMatchObject({ healthy: false, error_class: 'cancelled' });
    expect(cli.out.stdout).toMatch(/slow .*DOWN cancelled/);

    // With an earlier report there, the interrupted one goes beside it and the earlier one is kept.
    writeFileSync(out, '{"earlier":true}\n');
    const again = startCli(['--config', config, 'health', 'ok', 'slow', '--timeout', '20s', '--out', out], env);
    const seen = server.stats().slow?.requests ?? 0;
    for (let i = 0; i < 300 && (server.stats().slow?.requests ?? 0) === seen; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await again.signal('SIGTERM')).code).toBe(143);
    expect(readFileSync(out, 'utf8')).toBe('{"earlier":true}\n');
    const beside = out.replace(/\.json$/, '.partial.json');
    expect(JSON.parse(readFileSync(beside, 'utf8')).providers.find((p: { name: string }) => p.name === 'slow')).toMatchObject({ error_class: 'cancelled' });
    expect(again.out.stderr).toContain(`llm-fallback: --out: partial result written to ${beside}; ${out} kept`);
  });
});

describe('health --watch on a real terminal', () => {
  it('shows it is alive between transitions and exits 130 on Ctrl-C', async () => {
    server.setScript('flip', [{ kind: 'ok' }]);
    // Ctrl-C once the status line was drawn twice (a fixed 0.7 s after the first bet on a round being drawn in time).
    const r = await onTerminal({ args: ['--config', config, 'health', 'flip', '--watch', '200ms'], env, waitFor: 'watching 1 provider[\\s\\S]*watching 1 provider', delay: 0.1, send: '\u0003' });
    expect(r.sent).toBe(true);
    expect(r.exit).toBe(130);
    // Redrawn in place after every round: the status line appears several times, each after a line clear.
    const lines = r.output.match(/\r\x1b\[2Kwatching 1 provider: 1 up, 0 down · last check \d\d:\d\d:\d\d UTC · every 200ms · Ctrl-C to stop/g) ?? [];
    expect(lines.length).toBeGreaterThan(1);
  });
});

  // A server's error message may hold anything: quotes, markup, a CDATA end, characters XML 1.0 forbids
  // (C0 controls, U+FFFE, U+FFFF, an unpaired surrogate), markdown table syntax; the config's names too.
  const message = 'bad "quote" ]]> <tag> & \u0001ctl\u0008 | pipe `tick` \uFFFE\uFFFF \uD800 end';
  const upstream = await routeServer({
    hostile: (res) => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message, type: 'server_error' } })),
    hang: () => {}, // accepts the request and never answers
  });
  const name = 'we|ird"<n>`';
  const hostileConfig = join(dir, 'hostile.yaml');
  writeFileSync(
    hostileConfig,
    `providers:
  '${name}': { api: openai, base_url: "${upstream.url('hostile')}", model: 'm|1', api_key_env: HOSTILE_KEY }
  hang: { api: openai, base_url: "${upstream.url('hang')}", model: m, api_key_env: HOSTILE_KEY }
  nokey: { api: openai, base_url: "${upstream.url('hang')}", model: m, api_key_env: NOT_SET_KEY_3 }
chains:
  hc: [hang, nokey]
`,
  );
  const hostileEnv = { HOSTILE_KEY: 'sk-hostile-0123456789', XDG_STATE_HOME: join(dir, 'state') };

describe('health reports with names and messages we do not control', () => {
  it('JUnit: well-formed XML 1.0 (checked by xmllint), forbidden characters dropped, counts only where junit-10.xsd allows them', async () => {
    const file = join(dir, 'hostile.xml');
    const r = await run(['--config', hostileConfig, 'health', name, 'hang', 'nokey', '--require', 'hang,' + name, '--timeout', '300ms', '--format', 'junit', '--out', file], { env: hostileEnv });
    expect(r.code).toBe(1);
    const xml = readFileSync(file, 'utf8');
    // xmllint exits non-zero on a file a JUnit reader cannot parse.
    expect(execFileSync('xmllint', ['--noout', file], { encoding: 'utf8' })).toBe('');
    expect(xml).toContain(
      '<failure type="server" message="server HTTP 500">we|ird&quot;&lt;n&gt;`: HTTP 500: bad &quot;quote&quot; ]]&gt; &lt;tag&gt; &amp; ctl | pipe `tick`   end</failure>',
    );
    expect(xml).toContain('name="we|ird&quot;&lt;n&gt;` (m|1)"');
    expect(xml).toContain('<failure type="timeout" message="timeout:total">hang: total timeout after 300ms</failure>');
    expect(xml).toMatch(/name="nokey \(m\)" time="0.000">\n\s+<skipped message="not checked: NOT_SET_KEY_3 is not set"\/>/);
    // Jenkins' junit-10.xsd has no `skipped` on <testsuites>; <testsuite> carries it.
    expect(xml).toMatch(/\n<testsuites name="llm-fallback health" tests="3" failures="2" errors="0" time="[\d.]+">\n/);
    expect(xml).toMatch(/\n {2}<testsuite name="llm-fallback health \(deep\)" tests="3" failures="2" skipped="1" errors="0" time="[\d.]+" timestamp="/);
  });

  it('JUnit after SIGTERM (a cancelled CI job): the checks cut short are <error>s, not failures the provider is blamed for', async () => {
    const file = join(dir, 'cancelled.xml');
    const before = upstream.hits.hang ?? 0;
    const answered = upstream.hits.hostile ?? 0;
    const cli = startCli(['--config', hostileConfig, 'health', 'hang', name, '--require', `hang,${name}`, '--chain', 'hc', '--timeout', '20s', '--format', 'junit', '--out', file], hostileEnv);
    await until(() => (upstream.hits.hang ?? 0) > before, 'the check reaching the upstream that never answers');
    // The other check's 500 is written as its request ends (routeServer); the signal waits for that, then a
    // moment for the client to read it: on a loaded machine SIGTERM once came first and cut that check too.
    await until(() => (upstream.hits.hostile ?? 0) > answered, 'the failing check answered with its 500');
    await new Promise((r) => setTimeout(r, 500));
    expect((await cli.signal('SIGTERM')).code).toBe(143);
    const xml = readFileSync(file, 'utf8');
    expect(execFileSync('xmllint', ['--noout', file], { encoding: 'utf8' })).toBe('');
    expect(xml).toMatch(/name="hang \(m\)" time="[\d.]+">\n\s+<error type="cancelled" message="check interrupted before it finished"\/>/);
    expect(xml).toMatch(/name="hc" time="0">\n\s+<error type="cancelled" message="interrupted before one of hang, nokey answered"\/>/);
    expect(xml).toContain('<failure type="server" message="server HTTP 500">');
    expect(xml).toMatch(/<testsuite name="llm-fallback health \(deep\)" tests="4" failures="1" skipped="1" errors="2" /);
  });

  it('markdown step summary: one table row per provider whatever the names and messages hold', async () => {
    const summary = join(dir, 'hostile-summary.md');
    writeFileSync(summary, '');
    const r = await run(['--config', hostileConfig, 'health', name, '--timeout', '300ms'], { env: { ...hostileEnv, GITHUB_STEP_SUMMARY: summary } });
    expect(r.code).toBe(1);
    const md = readFileSync(summary, 'utf8');
    expect(md).toContain('| we\\|ird"&lt;n&gt;\\` | m\\|1 | yes | ❌ server | 500 |');
    expect(md).toContain('- **Unhealthy:** we\\|ird"&lt;n&gt;\\`: server (HTTP 500): bad "quote" \\]\\]&gt; &lt;tag&gt; &amp; ctl \\| pipe \\`tick\\`');
    // Every table row has the header's 7 cells: an unescaped | would add cells.
    for (const row of md.split('\n').filter((l) => l.startsWith('|'))) expect(row.split(/(?<!\\)\|/).length - 2).toBe(7);
  });

  it('with no key set, names each key variable once though two providers share one', async () => {
    const r = await run(['--config', hostileConfig, 'health'], { env: { XDG_STATE_HOME: join(dir, 'state') } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/has its API key set \(HOSTILE_KEY, NOT_SET_KEY_3\); export the keys/);
  });
});

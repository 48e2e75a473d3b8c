import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { refusedUrl } from '../src/mock/server.js';
import { run, startCli } from './cli-helpers.js';
import { emulator } from './helpers.js';

const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  ok: { dialect: 'openai', output_tokens: c(2), ttft: c(20) },
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
chains:
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

  it('required vs optional: exit 0 when only optional providers are down; JUnit marks them skipped', async () => {
    const r = await run(['--config', config, 'health', ...all, '--timeout', '500ms', '--require', 'ok', '--format', 'junit'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/<testsuites name="llm-fallback health" tests="4" failures="0" skipped="3"/);
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
    await new Promise((r) => setTimeout(r, 700));
    server.setScript('flip', [{ kind: 'overloaded' }]);
    await new Promise((r) => setTimeout(r, 700));
    server.setScript('flip', [{ kind: 'ok' }]);
    await new Promise((r) => setTimeout(r, 700));
    const { code } = await cli.signal('SIGINT');
    expect(code).toBe(0);
    expect(cli.out.stdout).toMatch(/Z flip DOWN \(overloaded HTTP 503\)\n/);
    expect(cli.out.stdout).toMatch(/Z flip UP \([\d.]+ms\)\n/);
    expect(cli.out.stdout.indexOf('DOWN')).toBeLessThan(cli.out.stdout.lastIndexOf('UP'));
  });
});

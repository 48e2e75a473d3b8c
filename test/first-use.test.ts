// What a new user meets first: mock's base URLs and ready config, cost and help without surprises, error lines that say where.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, run } from './cli-helpers.js';
import { emulator, refusedUrl } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'llmf-first-'));
const server = await emulator({ real: { dialect: 'openai' } });
const env = { XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache'), GITHUB_STEP_SUMMARY: '' };

/** Starts `mock` as a user would and collects its stdout and stderr until `ready` matches. */
async function startMock(args: string[], ready: RegExp) {
  const child = spawn(process.execPath, [BIN, 'mock', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (out.stdout += d));
  child.stderr.on('data', (d) => (out.stderr += d));
  for (let i = 0; i < 200 && !ready.test(out.stdout + out.stderr); i++) await new Promise((r) => setTimeout(r, 50));
  return { out, stop: () => new Promise((r) => (child.on('close', r), child.kill('SIGINT'))) };
}

describe('mock: pointing the tool at its own emulator', () => {
  it('prints the base_url to use for each provider, and each one works as base_url', async () => {
    const mock = await startMock([], /Ctrl-C to stop/);
    try {
      const rows = [...mock.out.stdout.matchAll(/^ {2}(\S+)\s+api: (\S+)\s+base_url: (\S+)\s+model: (\S+)/gm)];
      expect(rows.length).toBeGreaterThan(5);
      const config = join(dir, 'by-hand.yaml');
      writeFileSync(config, `providers:\n${rows.map(([, name, api, url, model]) => `  ${name}: { api: ${api}, base_url: "${url}", model: "${model}" }`).join('\n')}\n`);
      const r = await run(['--config', config, 'bench', ...rows.map((m) => m[1]), '-n', '1', '-q', '--format', 'json', '--max-tokens', '4'], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).providers.every((p: { ok: number }) => p.ok === 1)).toBe(true);
    } finally {
      await mock.stop();
    }
  });

  it('--print-config writes a providers.yaml for the running emulator that passes config check and answers', async () => {
    const mock = await startMock(['--print-config'], /Ctrl-C to stop/);
    try {
      expect(mock.out.stdout).toMatch(/^# providers\.yaml for the llm-fallback emulator at http:\/\/127\.0\.0\.1:\d+ \(profile default\)/);
      expect(mock.out.stderr).toMatch(/listening on/);
      const config = join(dir, 'mock.yaml');
      writeFileSync(config, mock.out.stdout);
      const check = await run(['config', 'check', config]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      const ask = await run(['--config', config, 'ask', '--provider', 'anthropic', '--no-cache', '--max-tokens', '4', 'hello'], { env });
      expect(ask.code, ask.stderr).toBe(0);
      expect(ask.stderr).toMatch(/served by anthropic \(claude-/);
    } finally {
      await mock.stop();
    }
  });
});

describe('first commands', () => {
  it('cost with no flags prints the price table', async () => {
    const r = await run(['cost']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Prices per 1M tokens \(USD\)/);
    expect(r.stdout).toMatch(/│ deepseek\s+│ deepseek-v4-flash/);
  });

  it('no help shows a meaningless default ("0" or [])', { timeout: 120_000 }, async () => {
    for (const cmd of ['bench', 'ask', 'health', 'cost', 'mock', 'merge', 'compare', 'providers']) {
      const r = await run([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout, cmd).not.toMatch(/\(default: (\[\]|"0")\)/);
    }
  });

  it('error lines name the provider once, and a refused connection names host:port', async () => {
    const dead = await refusedUrl();
    const config = join(dir, 'dead.yaml');
    writeFileSync(config, `providers:\n  dead: { api: openai, base_url: "${dead}", model: m }\n  nov1: { api: openai, base_url: "${server.url}/nosuch/v9", model: m }\n`);
    const wrongPath = await run(['--config', config, 'health', 'nov1'], { env });
    expect(wrongPath.stdout).toMatch(/^ {2}✗ nov1: bad_request \(HTTP 404\): emulator: no route for POST \/nosuch\/v9\/chat\/completions/m);
    expect(wrongPath.stdout).not.toMatch(/nov1: nov1:|HTTP 404: HTTP 404/);
    const r = await run(['--config', config, 'health', 'dead'], { env });
    expect(r.code).toBe(1);
    const port = new URL(dead).port;
    expect(r.stdout).toContain(`dead: connection refused (127.0.0.1:${port})`);
    expect(r.stdout).not.toMatch(/dead: dead:/);
    const a = await run(['--config', config, 'ask', '--provider', 'dead', '--retries', '0', '--no-cache', 'hi'], { env });
    expect(a.stderr).toMatch(new RegExp(`^ {2}dead \\(m\\) at \\+[\\d.]+m?s: stop — network:ECONNREFUSED: connection refused \\(127\\.0\\.0\\.1:${port}\\)$`, 'm'));
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli.js';
import { displayWidth } from '../src/format/table.js';
import { BUILTIN_PROFILES } from '../src/mock/profile.js';
import { run, spawnEmulator } from './cli-helpers.js';
import { onTerminal } from './pty-helpers.js';

const fixture = (name: string) => new URL(`./fixtures/config/${name}`, import.meta.url).pathname;
const version = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

describe('llm-fallback CLI', () => {
  it('prints its version', async () => {
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });

  it('shows help with examples for the program and each command', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Examples:/);
    for (const cmd of [['providers'], ['config', 'check'], ['mock']]) {
      const r = await run([...cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Examples:\n\s+\$ llm-fallback/);
    }
  });

  // Every command, from the program itself (a command added later is checked too).
  const paths = (c: Command, at: string[] = []): string[][] => [at, ...c.commands.flatMap((sub) => paths(sub, [...at, sub.name()]))];
  const tooWide = (text: string) => text.split(/\r?\n/).filter((l) => displayWidth(l) > 100);

  it('every --help fits 100 columns: prose wraps, long examples are split with a trailing backslash', { timeout: 120_000 }, async () => {
    const all = paths(buildProgram());
    expect(all.length).toBeGreaterThan(15);
    for (const cmd of all) {
      const r = await run([...cmd, '--help']);
      expect(r.code, cmd.join(' ')).toBe(0);
      expect(tooWide(r.stdout), cmd.join(' ')).toEqual([]);
    }
    // An example split in two still pastes as one command: the first part ends in a backslash.
    const serve = await run(['serve', '--help']);
    expect(serve.stdout).toContain("  $ curl -s localhost:8080/v1/chat/completions \\\n      -d '{\"model\":\"default\"");
  });

  it('on a terminal 200 columns wide, --help still fits 100 (Commander wraps options at the terminal width)', async () => {
    for (const cmd of ['serve', 'ask']) {
      const r = await onTerminal({ args: [cmd, '--help'], cols: 200 });
      expect(r.exit).toBe(0);
      expect(r.output).toMatch(/Options:/);
      expect(tooWide(r.output), cmd).toEqual([]);
    }
  });

  it('mock --help names every built-in profile', async () => {
    const r = await run(['mock', '--help']);
    const listed = /built-in profile \(([^)]*)\)/.exec(r.stdout.replace(/\s+/g, ' '))?.[1].split(', ');
    expect(listed?.sort()).toEqual(Object.keys(BUILTIN_PROFILES).sort());
  });

  it('answers a bad flag with one line and exit code 2', async () => {
    const r = await run(['providers', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(["error: unknown option '--bogus'"]);
  });

  it('config check: exit 0 on the shipped file, 2 with file:line:col lines and no stack trace on a broken one', async () => {
    const ok = await run(['config', 'check', 'providers.yaml'], { cwd: new URL('..', import.meta.url).pathname });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/providers\.yaml: ok — 9 providers/);
    const bad = await run(['config', 'check', fixture('bad-url.yaml')]);
    expect(bad.code).toBe(2);
    const lines = bad.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/bad-url\.yaml:5:15: providers\.p\.base_url: "api\.example\.com\/v1" is not a valid http\(s\) URL/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it('names the missing config file and exits 2', async () => {
    const r = await run(['--config', '/nonexistent/p.yaml', 'providers']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('/nonexistent/p.yaml: cannot read config (no such file); check the --config path');
  });

  it('providers: says whether each key is set, never the key', async () => {
    const secret = 'sk-test-NEVER-PRINT-0123456789';
    const r = await run(['providers', '--format', 'json'], { env: { DEEPSEEK_API_KEY: secret, LLM_FALLBACK_CONFIG: new URL('../providers.yaml', import.meta.url).pathname } });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(secret);
    const data = JSON.parse(r.stdout);
    const deepseek = data.providers.find((p: { name: string }) => p.name === 'deepseek');
    expect(deepseek.key_env).toBe('DEEPSEEK_API_KEY');
    expect(deepseek.key_set).toBe(true);
    expect(data.chains.default).toEqual(['holysheep', 'deepseek', 'kimi', 'minimax']);
    const table = await run(['providers'], { env: { DEEPSEEK_API_KEY: secret } });
    expect(table.stdout).toMatch(/│ deepseek +│.*│ set +│/);
    expect(table.stdout).not.toMatch(/Keys not set: .*DEEPSEEK_API_KEY/s);
    expect(table.stdout).not.toContain(secret);
    const wide = await run(['providers', '--wide'], { env: { DEEPSEEK_API_KEY: secret } });
    expect(wide.stdout).toMatch(/│ deepseek +│.*│ set +│ DEEPSEEK_API_KEY +│/);
    expect(wide.stdout).not.toContain(secret);
  });

  it('mock: serves on a free loopback port, answers a real request, stops cleanly on SIGINT', async () => {
    const mock = await spawnEmulator('instant');
    const url = mock.url;
    const res = await fetch(`${url}/instant/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'instant', messages: [{ role: 'user', content: 'hi' }] }) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { message: { content: string } }[]; usage: { completion_tokens: number } };
    expect(body.choices[0].message.content.trim().split(' ')).toHaveLength(16);
    expect(body.usage.completion_tokens).toBe(16);
    expect(await mock.close('SIGINT')).toBe(0);
  });

  it('mock: rejects a bad port with exit 2', async () => {
    const r = await run(['mock', '--port', '99999']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('--port: "99999" is not a port number (0-65535)');
  });
});

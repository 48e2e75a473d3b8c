/*
 * `llm-fallback serve` as a real child process: what it prints, what it refuses at start, SIGTERM
 * (graceful stop) and SIGHUP (config reload), against the emulator in its own process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, run, spawnEmulator, type SpawnedEmulator } from './cli-helpers.js';
import { freePort, until } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'llmf-serve-'));
const emu: SpawnedEmulator = await spawnEmulator({
  seed: 1,
  providers: {
    fast: { dialect: 'openai', model: 'fast-1', ttft: { dist: 'constant', value: 1 }, itl: { dist: 'constant', value: 0 }, output_tokens: { dist: 'constant', value: 4 } },
    // A slow stream: first token after 300 ms, then 12 tokens 150 ms apart (about 2 s in all).
    slow: { dialect: 'openai', model: 'slow-1', ttft: { dist: 'constant', value: 300 }, itl: { dist: 'constant', value: 150 }, output_tokens: { dist: 'constant', value: 12 } },
  },
});
afterAll(() => emu.close());

function writeConfig(name: string, opts: { providers?: string; chains?: string } = {}): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `providers:
  fast: { api: openai, base_url: "${emu.baseUrl('fast')}", model: fast-1 }
  slow: { api: openai, base_url: "${emu.baseUrl('slow')}", model: slow-1 }
${opts.providers ?? ''}chains:
  default: [fast, slow]
${opts.chains ?? ''}`,
  );
  return file;
}

interface Served {
  child: ChildProcess;
  url: string;
  out: { stdout: string; stderr: string };
  exit: Promise<number | null>;
}

/** Starts the CLI (args include `serve`) with `--port 0` and waits for its listening line. */
async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const child = spawn(process.execPath, [BIN, ...args, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
  const out = { stdout: '', stderr: '' };
  child.stderr!.on('data', (d) => (out.stderr += d));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out.stdout}${out.stderr}`)), 15_000);
    child.stdout!.on('data', (d) => {
      out.stdout += d;
      const m = /^listening (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out.stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exit.then((code) => reject(new Error(`serve exited (${code}): ${out.stderr}`)));
  });
  children.push(child);
  return { child, url, out, exit };
}
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

/**
 * Resolves once the emulator has logged more than `before` requests to "slow" (it logs one on arrival):
 * the request is in flight through serve. A fixed 400-500 ms sleep bet on serve getting it there in time.
 */
async function reachedEmulator(before: number): Promise<void> {
  await until(async () => (await emu.injected('slow')).length > before, 'the request to reach the emulator');
}

describe('serve: start', () => {
  it('prints the listening URL and one line per chain and provider, with those left out for lack of a key', async () => {
    const cfg = writeConfig('keys.yaml', {
      providers: `  nokey: { api: openai, base_url: "${emu.baseUrl('fast')}", model: n, api_key_env: SERVE_TEST_NOT_SET }\n`,
      chains: '  mixed: [nokey, fast]\n  dark: [nokey]\n',
    });
    const s = await serve(['--config', cfg, 'serve'], { SERVE_TEST_NOT_SET: '' });
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(143);
    const lines = s.out.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^listening http:\/\/127\.0\.0\.1:\d+$/);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}chain {4}default +fast → slow$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}chain {4}mixed +fast {3}\(left out: nokey, SERVE_TEST_NOT_SET is not set\)$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}chain {4}dark +not served: no provider of chain "dark" has its API key set; export SERVE_TEST_NOT_SET/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}provider fast +fast-1$/));
    // Notes go to stderr, the listening lines alone to stdout.
    expect(s.out.stderr).toMatch(/^serve: .*keys\.yaml; state memory; client key not required \(loopback only\)/m);
  });

  it('refuses to bind beyond loopback without a client key, and a client key variable that is not set (exit 2, one line)', async () => {
    const cfg = writeConfig('plain.yaml');
    const open = await run(['--config', cfg, 'serve', '--host', '0.0.0.0', '--port', '0']);
    expect(open.code).toBe(2);
    expect(open.stderr).toBe('--host 0.0.0.0: refusing to listen beyond loopback without a client key; set --api-key-env VAR (or serve.api_key_env) and export VAR, or bind 127.0.0.1\n');
    const unset = await run(['--config', cfg, 'serve', '--api-key-env', 'SERVE_TEST_CLIENT_KEY', '--port', '0'], { env: { SERVE_TEST_CLIENT_KEY: '' } });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/^--api-key-env: SERVE_TEST_CLIENT_KEY is not set; export SERVE_TEST_CLIENT_KEY=/);
    const short = await run(['--config', cfg, 'serve', '--api-key-env', 'SERVE_TEST_CLIENT_KEY', '--port', '0'], { env: { SERVE_TEST_CLIENT_KEY: 'abc' } });
    expect(short.code).toBe(2);
    expect(short.stderr).not.toContain('abc');
    // The key itself pasted where the variable's name belongs (`--api-key-env $(openssl rand -hex 24)`): refused, never quoted back.
    const pasted = '3f9a0c1d2e4b5a6978c0d1e2f3a4b5c6d7e8f90a1b2c3d4e';
    const given = await run(['--config', cfg, 'serve', '--api-key-env', pasted, '--port', '0']);
    expect(given.code).toBe(2);
    expect(given.stderr).toBe("--api-key-env: not an environment variable name (letters, digits and _, not starting with a digit); give the variable's name (e.g. LLMF_CLIENT_KEY), never the key itself\n");
    const shaped = await run(['--config', cfg, 'serve', '--api-key-env', 'xK7pQ2mZ9vR4tL8wN3bY6cH1', '--port', '0']);
    expect(shaped.code).toBe(2);
    expect(shaped.stderr).toBe("--api-key-env: looks like a key, not an environment variable's name; put the key in a variable (export LLMF_CLIENT_KEY=...) and give its name here\n");
    const port = await run(['--config', cfg, 'serve', '--port', '70000']);
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/^--port: "70000" is not a whole number between 0 and 65,535\n$/);
  });

  it('serve.host and serve.state from the config are reported as those keys with file:line:col, not as flags', async () => {
    const file = join(dir, 'serve-keys.yaml');
    writeFileSync(file, `providers:\n  fast: { api: openai, base_url: "${emu.baseUrl('fast')}", model: fast-1 }\nserve:\n  host: 0.0.0.0\n  state: redis://x:notaport\n`);
    const host = await run(['--config', file, 'serve', '--port', '0']);
    expect(host.code).toBe(2);
    expect(host.stderr).toBe(`${file}:4:9: serve.host 0.0.0.0: refusing to listen beyond loopback without a client key; set --api-key-env VAR (or serve.api_key_env) and export VAR, or bind 127.0.0.1\n`);
    const state = await run(['--config', file, 'serve', '--host', '127.0.0.1', '--port', '0']);
    expect(state.code).toBe(2);
    expect(state.stderr).toBe(`${file}:5:10: serve.state redis://x:notaport: not a valid URL; use redis://[:password@]host[:port][/db][?prefix=name:] or rediss://… for TLS\n`);
    // A Redis that cannot be reached is named where it was given too (nothing listens on a port just freed).
    const closed = await freePort();
    writeFileSync(file, `providers:\n  fast: { api: openai, base_url: "${emu.baseUrl('fast')}", model: fast-1 }\nserve:\n  state: redis://127.0.0.1:${closed}\n`);
    const down = await run(['--config', file, 'serve', '--port', '0']);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`llm-fallback: ${file}:4:10: serve.state redis://127.0.0.1:${closed}: cannot connect (ECONNREFUSED) (run with --debug for details)\n`);
    const flag = await run(['--config', file, 'serve', '--port', '0', '--state', `redis://127.0.0.1:${closed}`]);
    expect(flag.stderr).toBe(`llm-fallback: --state redis://127.0.0.1:${closed}: cannot connect (ECONNREFUSED) (run with --debug for details)\n`);
  });

  it('with --api-key-env clients must send the key; the key never reaches its output', async () => {
    const key = 'serve-test-key-0123456789abcdef';
    const s = await serve(['--config', writeConfig('keyed.yaml'), 'serve', '--api-key-env', 'SERVE_TEST_CLIENT_KEY'], { SERVE_TEST_CLIENT_KEY: key });
    expect((await fetch(`${s.url}/v1/models`)).status).toBe(401);
    expect((await fetch(`${s.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(143);
    expect(s.out.stderr).toMatch(/client key required/);
    expect(s.out.stdout + s.out.stderr).not.toContain(key);
  });
});

describe('serve: SIGTERM', () => {
  it('a streaming request in flight completes, new connections are refused, exit 143', async () => {
    const cfg = writeConfig('term.yaml', { chains: '\nserve:\n  shutdown_grace: 15s\n' });
    const s = await serve(['--config', cfg, 'serve']);
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'slow', stream: true, messages: [{ role: 'user', content: 'a long answer please' }] });
    // The stream is committed (its headers came); stop the server while the rest is still coming.
    let text = '';
    let finish: string | null = null;
    let signalled = false;
    let refused: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (!signalled && text) {
        signalled = true;
        s.child.kill('SIGTERM');
        await until(() => /SIGTERM: stopping; 1 request\(s\) in flight/.test(s.out.stderr));
        refused = await fetch(`${s.url}/healthz`).then(
          () => 'served',
          (e: Error & { cause?: { code?: string } }) => e.cause?.code,
        );
      }
    }
    expect(signalled).toBe(true);
    expect(refused).toBe('ECONNREFUSED');
    expect(finish).toBe('stop');
    // 12 tokens, every one of them: the answer was not cut by the stop.
    expect(text.trim().split(/\s+/)).toHaveLength(12);
    expect(await s.exit).toBe(143);
    expect(s.out.stderr).toMatch(/^serve: stopped \(1 finished\)$/m);
  });

  it('past shutdown_grace a request still running is aborted and the process exits 143', async () => {
    const cfg = writeConfig('grace.yaml', { chains: '\nserve:\n  shutdown_grace: 200ms\n' });
    const s = await serve(['--config', cfg, 'serve']);
    const before = (await emu.injected('slow')).length;
    const pending = fetch(`${s.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'slow', messages: [{ role: 'user', content: 'hi' }] }) }).then(
      (r) => r.status,
      () => 'connection closed',
    );
    await reachedEmulator(before);
    const t0 = Date.now();
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(143);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(s.out.stderr).toMatch(/^serve: stopped \(0 finished, 1 aborted after the grace period\)$/m);
    expect(await pending).not.toBe(200);
  });
});

describe('serve: SIGHUP', () => {
  it('a long request in flight completes on the old config while the new chain is served', async () => {
    const cfg = writeConfig('reload-inflight.yaml');
    const s = await serve(['--config', cfg, 'serve']);
    const before = (await emu.injected('slow')).length;
    const long = fetch(`${s.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'slow', messages: [{ role: 'user', content: 'hi' }] }) });
    await reachedEmulator(before);
    writeConfig('reload-inflight.yaml', { chains: '  later: [fast]\n' });
    s.child.kill('SIGHUP');
    await until(() => /reloaded/.test(s.out.stderr));
    const ids = ((await (await fetch(`${s.url}/v1/models`)).json()) as { data: { id: string }[] }).data.map((m) => m.id);
    expect(ids).toContain('later');
    const quick = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'later', messages: [{ role: 'user', content: 'hi' }] }) });
    expect(quick.status).toBe(200);
    const r = await long;
    expect(r.status).toBe(200);
    expect(r.headers.get('x-llm-fallback-provider')).toBe('slow');
    const body = (await r.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0].message.content.trim().split(/\s+/)).toHaveLength(12);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(143);
  });


  it('reloads the config: a new chain appears in /v1/models; a bad config keeps the running one and says why in one line', async () => {
    const cfg = writeConfig('reload.yaml');
    const s = await serve(['--config', cfg, 'serve']);
    const ids = async () => ((await (await fetch(`${s.url}/v1/models`)).json()) as { data: { id: string }[] }).data.map((m) => m.id);
    expect(await ids()).not.toContain('added');
    writeConfig('reload.yaml', { chains: '  added: [slow, fast]\n' });
    s.child.kill('SIGHUP');
    await until(() => /reloaded/.test(s.out.stderr));
    expect(await ids()).toContain('added');
    expect(s.out.stderr).toMatch(/^serve: SIGHUP: reloaded .*reload\.yaml: \d+ route\(s\), added added; requests in flight finish on the old config$/m);

    writeFileSync(cfg, 'providers: [not, a, map]\n');
    s.child.kill('SIGHUP');
    await until(() => /kept the running config/.test(s.out.stderr));
    const kept = s.out.stderr.split('\n').filter((l) => l.includes('kept the running config'));
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatch(/^serve: SIGHUP: kept the running config: .*reload\.yaml:1:\d+/);
    expect(await ids()).toContain('added');
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(143);
  });
});

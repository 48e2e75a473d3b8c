import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './cli-helpers.js';
import { emulator } from './helpers.js';

/* The chain's timers, locks and state as a real `ask` process meets them. */
const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  ok: { dialect: 'openai', output_tokens: c(6) },
  busy: { dialect: 'openai', script: [{ kind: 'overloaded', retry_after: 99999999999999 }] },
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'llmf-chain-cli-'));
  const config = join(dir, 'providers.yaml');
  writeFileSync(
    config,
    `defaults:
  breaker_failures: 1
providers:
  ok: { api: openai, base_url: "${server.baseUrl('ok')}", model: m1 }
  busy: { api: openai, base_url: "${server.baseUrl('busy')}", model: m2 }
chains:
  default: [busy, ok]
`,
  );
  const env = { XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') };
  const stateDir = join(dir, 'state', 'llm-fallback');
  return { dir, config, env, stateDir };
}

const timed = async (args: string[], env: NodeJS.ProcessEnv) => {
  const t0 = Date.now();
  const r = await run(args, { env, timeoutMs: 60_000 });
  return { ...r, ms: Date.now() - t0 };
};

describe('ask as a process', () => {
  it('--hedge takes a duration, auto or off; anything else is a usage error naming the flag', async () => {
    const { config, env } = setup();
    const bad = await timed(['ask', '--config', config, '--hedge', 'never', 'hi'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('--hedge: "never" is not a duration; write it like "500ms", "10s", "2m" or "1h" (or auto, or off)');
    const off = await timed(['ask', '--config', config, '--hedge', 'off', '--no-cache', '--json', 'hi'], env);
    expect(JSON.parse(off.stdout).attempts[0].clocks.hedge_ms).toBeNull();
  });

  it('--hedge 15s does not keep the process alive after a fast answer', async () => {
    const { config, env } = setup();
    const r = await timed(['ask', '--config', config, '--provider', 'ok', '--hedge', '15s', '--no-cache', 'hi'], env);
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(10_000); // the answer takes milliseconds; a live hedge timer held the process for 15 s
  });

  it('a hostile Retry-After never bricks later calls: the breaker opens for at most an hour and the next provider answers', async () => {
    const { config, env, stateDir } = setup();
    const first = await timed(['ask', '--config', config, '--no-cache', '--json', 'hi'], env);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout).provider).toBe('ok');
    const state = JSON.parse(readFileSync(join(stateDir, 'breakers.json'), 'utf8'));
    const busy = Object.values(state).find((r) => (r as { name: string }).name === 'busy') as { open_until: number };
    expect(busy.open_until - Date.now()).toBeLessThanOrEqual(3_600_000);
    const second = await timed(['ask', '--config', config, '--no-cache', '--json', 'hi'], env);
    expect(second.code).toBe(0);
    const j = JSON.parse(second.stdout);
    expect(j.attempts.map((a: { provider: string; decision: string }) => [a.provider, a.decision])).toEqual([
      ['busy', 'skipped_breaker_open'],
      ['ok', 'success'],
    ]);
  });

  it('a breakers.json of the wrong shape is a warning, never a failed call', async () => {
    const { config, env, stateDir } = setup();
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    for (const text of ['42', '"x"', JSON.stringify({ k: { name: 'busy', state: 'open', consecutive_failures: 1, open_until: 1e300, opened_at: 0, probe_started_at: null } })]) {
      writeFileSync(join(stateDir, 'breakers.json'), text);
      const r = await timed(['ask', '--config', config, '--no-cache', 'hi'], env);
      expect(r.code).toBe(0);
      if (text !== '42' && text !== '"x"') expect(r.stderr).not.toMatch(/Invalid time value/);
      else expect(r.stderr).toMatch(/warning: breaker state .* is not a JSON object; ignoring it/);
    }
  });

  it('--timeout 5s with the state lock held by a live process still answers from the healthy provider in time', async () => {
    const { config, env, stateDir } = setup();
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    // held by this (live) test process, which keeps it fresh
    const hold = () => writeFileSync(join(stateDir, 'breakers.json.lock'), JSON.stringify({ pid: process.pid, at: Date.now() }));
    hold();
    const holding = setInterval(hold, 200);
    const r = await timed(['ask', '--config', config, '--no-cache', '--timeout', '5s', '--json', 'hi'], env).finally(() => clearInterval(holding));
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.provider).toBe('ok');
    // the healthy provider is asked at once: recording busy's failure waits for the lock off the answer's path (it waited 3 s before)
    const [busy, ok] = j.attempts;
    expect(ok.start_ms - (busy.start_ms + busy.duration_ms)).toBeLessThan(500);
    expect(r.ms).toBeLessThan(5000 + 3000); // the call's deadline, plus process start-up on a loaded machine
    expect(r.stderr).toMatch(/could not record a failure of busy .*breakers\.json\.lock is held by another process/);
  });

  it('a lock dated in the future is taken over at once', async () => {
    const { config, env, stateDir } = setup();
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(stateDir, 'breakers.json.lock'), JSON.stringify({ pid: process.pid, at: Date.now() + 86_400_000 }));
    const r = await timed(['ask', '--config', config, '--no-cache', 'hi'], env);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/could not record/);
    const state = JSON.parse(readFileSync(join(stateDir, 'breakers.json'), 'utf8'));
    expect(Object.values(state).map((r) => (r as { name: string; state: string }).state)).toEqual(['open']); // busy's failure was recorded
  });

  it('breaker reset says what it did: records cleared, none, or nothing changed (exit 1) when it cannot lock', async () => {
    const { config, env, stateDir } = setup();
    await timed(['ask', '--config', config, '--no-cache', 'hi'], env); // busy's breaker opens
    const none = await timed(['--config', config, 'breaker', 'reset', 'ok'], env);
    expect(none.stdout).toMatch(/^the breaker of ok: no record in .*, nothing to reset$/m);
    // a live holder that keeps the lock fresh (as if it kept writing) for the whole run
    const hold = () => writeFileSync(join(stateDir, 'breakers.json.lock'), JSON.stringify({ pid: process.pid, at: Date.now() }));
    hold();
    const holding = setInterval(hold, 200);
    const locked = await timed(['--config', config, 'breaker', 'reset', 'busy'], env);
    clearInterval(holding);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toMatch(/breaker reset: nothing was changed in .*breakers\.json: breakers\.json\.lock is held by another process/);
    const done = await timed(['--config', config, 'breaker', 'reset', 'busy'], { ...env }); // the lock is stale by now or soon
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/^reset the breaker of busy \(1 record cleared in /);
  });
});

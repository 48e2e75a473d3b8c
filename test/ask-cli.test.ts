import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { BIN, run, startCli } from './cli-helpers.js';
import { onTerminal } from './pty-helpers.js';
import { emulator } from './helpers.js';

const c = (value: number) => ({ dist: 'constant' as const, value });
const KEY = 'sk-test-ASK-SECRET-0123456789';
const server = await emulator({
  p1: { dialect: 'openai', output_tokens: c(6), api_key: KEY },
  p2: { dialect: 'deepseek', output_tokens: c(7) },
  hang: { dialect: 'openai', script: [{ kind: 'hang' }] },
  claude: { dialect: 'anthropic', output_tokens: c(5) },
});

function setup(extra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'llmf-ask-'));
  const config = join(dir, 'providers.yaml');
  writeFileSync(
    config,
    `defaults:
  breaker_cooldown: 30s
  retries: 1
providers:
  p1: { api: openai, base_url: "${server.baseUrl('p1')}", model: m1, api_key_env: P1_KEY, price: { input: 1, output: 2, priced_at: 2026-11-24 } }
  p2: { api: openai, base_url: "${server.baseUrl('p2')}", model: m2, price: { input: 1, output: 2, priced_at: 2026-11-24 } }
  hang: { api: openai, base_url: "${server.baseUrl('hang')}", model: m3 }
chains:
  default: [p1, p2]
  bare: { providers: [p1, p2] }
  slow: [hang, p2]
static_message: "Static: try again later."
${extra}`,
  );
  const env = { P1_KEY: KEY, XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') };
  return { dir, config, env };
}

const ok = () => {
  server.setScript('p1', [{ kind: 'ok' }]);
  server.setScript('p2', [{ kind: 'ok' }]);
};
const down = () => {
  server.setScript('p1', [{ kind: 'overloaded' }]);
  server.setScript('p2', [{ kind: 'overloaded' }]);
};

/** Resolves once the `hang` provider has received one more request than when called (bounded: 10 s). */
async function hangReached() {
  const count = () => server.stats().hang?.requests ?? 0;
  const before = count();
  for (let i = 0; i < 200 && count() === before; i++) await new Promise((r) => setTimeout(r, 50));
}

describe('ask: tiers and exit codes', () => {
  it('0 live (prompt from stdin); 3 cached answer; 4 static message; 1 nothing, with every attempt listed', async () => {
    const { config, env } = setup();
    ok();
    const live = await run(['ask', '--config', config], { env, input: 'What is a circuit breaker?' });
    expect(live.code).toBe(0);
    expect(live.stdout.trim().split(' ')).toHaveLength(6);
    expect(live.stderr).toMatch(/^llm-fallback: served by p1 \(m1\) · /);

    down();
    const cached = await run(['ask', '--config', config, 'What is a circuit breaker?'], { env });
    expect(cached.code).toBe(3);
    expect(cached.stdout).toBe(live.stdout);
    expect(cached.stderr).toMatch(/cached answer from p1/);

    const fresh = await run(['ask', '--config', config, '--no-cache', 'What is a circuit breaker?'], { env });
    expect(fresh.code).toBe(4);
    expect(fresh.stdout).toBe('Static: try again later.\n');

    const noStatic = setup();
    writeFileSync(noStatic.config, readFileSync(noStatic.config, 'utf8').replace(/^static_message:.*$/m, ''));
    const none = await run(['ask', '--config', noStatic.config, '--chain', 'bare', 'hello'], { env: noStatic.env });
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
    // each fails fast: p1 falls over to p2 at once, then each gets its one retry as the last live options
    // (whichever backoff ends first goes first, so p2's line may say retry)
    expect(none.stderr).toMatch(/nothing could answer\. Attempts:\n {2}p1 \(m1\) at \+[\d.]+ms: fallover — overloaded HTTP 503: .*\n {2}p2 \(m2\) at \+[\d.]+ms: (fallover|retry) — overloaded HTTP 503: /);
    expect(none.stderr.match(/^ {2}p[12] /gm)).toHaveLength(4);
    // Nothing was asked after the fourth: it says the chain stopped there, not that it fell over.
    expect(none.stderr.match(/^ {2}p[12] \(m[12]\) at \+[\d.]+ms: (\w+) — /gm)!.map((l) => /: (\w+) — /.exec(l)![1]).at(-1)).toBe('stop');
    ok();
  });

  it('--json: the last attempt of a call that got no answer says stop; each before it names what followed', async () => {
    const { config, env } = setup();
    server.setScript('p1', [{ kind: 'server' }]);
    const r = await run(['ask', '--config', config, '--provider', 'p1', '--retries', '1', '--no-cache', '--json', 'hi'], { env });
    const j = JSON.parse(r.stdout);
    expect(j.source).toBe('static');
    expect(j.attempts.map((a: { decision: string; status: number | null }) => [a.decision, a.status])).toEqual([
      ['retry', 500],
      ['stop', 500],
    ]);
    ok();
  });

  it('--json: content, source, provider, usage, costs and attempts', async () => {
    const { config, env } = setup();
    server.setScript('p1', [{ kind: 'rate_limit', times: 1 }, { kind: 'ok' }]);
    const r = await run(['ask', '--config', config, '--json', '--no-cache', 'hi'], { env });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.source).toBe('live');
    expect(j.provider).toBe('p2'); // a 429 with a healthy provider next: fall over at once
    expect(j.usage.output_tokens).toBe(7);
    expect(j.cost_usd).toBeCloseTo((j.usage.input_tokens * 1 + 7 * 2) / 1e6, 12);
    expect(j.attempts.map((a: { provider: string; decision: string; error_class: string | null }) => [a.provider, a.decision, a.error_class])).toEqual([
      ['p1', 'fallover', 'rate_limit'],
      ['p2', 'success', null],
    ]);
    // no history yet: the defaults (the configured 30 s first-token clock, 10 s idle, hedge after 3 s), plus the prompt allowance
    expect(j.attempts[0].clocks).toMatchObject({ idle_ms: 10_000, basis: 'default' });
    expect(Math.round(j.attempts[0].clocks.first_token_ms)).toBe(30_001);
    expect(Math.round(j.attempts[0].clocks.hedge_ms)).toBe(3001);
    ok();
  });

  it('2 for usage errors, one line each', async () => {
    const { config, env } = setup();
    const cases: [string[], RegExp][] = [
      [['ask', '--config', config, '--chain', 'defualt', 'x'], /^--chain: "defualt" is not a chain in .*; did you mean "default"\?$/],
      [['ask', '--config', config, '--chain', 'default', '--provider', 'p1', 'x'], /^--chain and --provider: choose one$/],
      [['ask', '--config', config, '--timeout', 'soon', 'x'], /^--timeout: "soon" is not a duration/],
      [['ask', '--config', config, '   '], /^ask: the prompt is empty$/],
    ];
    for (const [args, msg] of cases) {
      const r = await run(args, { env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim()).toMatch(msg);
    }
    const badUtf8 = await run(['ask', '--config', config], { env, input: Buffer.from([0x68, 0x69, 0xff, 0xfe]) });
    expect(badUtf8.code).toBe(2);
    expect(badUtf8.stderr.trim()).toBe('stdin: the prompt is not valid UTF-8 text; convert it (e.g. iconv -t UTF-8) and try again');
  });

  it('130 on Ctrl-C, at once, with no fallback', async () => {
    const { config, env } = setup();
    const cli = startCli(['ask', '--config', config, '--chain', 'slow', 'hello'], env);
    await hangReached();
    const { code, ms } = await cli.signal('SIGINT');
    expect(code).toBe(130);
    expect(ms).toBeLessThan(2000);
    expect(cli.out.stderr).not.toMatch(/p2/); // no fallback after the user's stop
    // It reads as the user's stop, not as a provider failure.
    expect(cli.out.stderr).toMatch(/^llm-fallback: interrupted \(Ctrl-C\) after [\d.]+m?s; no answer\n$/);
    expect(cli.out.stderr).not.toMatch(/cancelled|HTTP|nothing could answer/);
  });

  it('143 on SIGTERM, said as such', async () => {
    const { config, env } = setup();
    const cli = startCli(['ask', '--config', config, '--chain', 'slow', 'hello'], env);
    await hangReached();
    const { code } = await cli.signal('SIGTERM');
    expect(code).toBe(143);
    expect(cli.out.stderr).toMatch(/^llm-fallback: interrupted \(SIGTERM\)/);
  });

  it('the summary says a provider without a price has an unknown cost, not $0.00', async () => {
    const { dir, env } = setup();
    const config = join(dir, 'unpriced.yaml');
    writeFileSync(
      config,
      `providers:
  priced: { api: openai, base_url: "${server.baseUrl('p2')}", model: m2, price: { input: 1, output: 2, priced_at: 2026-11-24 } }
  unpriced: { api: openai, base_url: "${server.baseUrl('p2')}", model: m2 }
`,
    );
    ok();
    const free = await run(['ask', '--config', config, '--provider', 'unpriced', '--no-cache', 'hi'], { env });
    expect(free.code).toBe(0);
    expect(free.stderr).toMatch(/^llm-fallback: served by unpriced \(m2\) · .* · \d+ in \/ 7 out tokens · cost unknown \(no price in the config\)$/m);
    expect(free.stderr).not.toContain('$');
    const paid = await run(['ask', '--config', config, '--provider', 'priced', '--no-cache', 'hi'], { env });
    expect(paid.stderr).toMatch(/ · \d+ in \/ 7 out tokens · \$0\.0000\d+$/m);
  });
});

describe('ask: memory between runs', () => {
  it('the breaker opens in one invocation and is honoured by the next; providers shows it; breaker reset clears it', async () => {
    const { config, env } = setup('');
    server.setScript('p1', [{ kind: 'overloaded' }]);
    server.setScript('p2', [{ kind: 'ok' }]);
    // p2 is healthy, so p1's 503 falls over at once: one failure per ask; the breaker opens at the third
    await run(['ask', '--config', config, '--no-cache', 'one'], { env });
    await run(['ask', '--config', config, '--no-cache', 'two'], { env });
    const second = await run(['ask', '--config', config, '--no-cache', '--json', 'two and a half'], { env });
    expect(JSON.parse(second.stdout).provider).toBe('p2');
    const before = server.stats().p1.requests;
    const third = await run(['ask', '--config', config, '--no-cache', '--json', 'three'], { env });
    const j = JSON.parse(third.stdout);
    expect(j.attempts[0]).toMatchObject({ provider: 'p1', decision: 'skipped_breaker_open' });
    expect(server.stats().p1.requests).toBe(before);
    const listed = await run(['--config', config, 'providers'], { env });
    expect(listed.stdout).toMatch(/p1 .*│ open \d+s more \(overloaded\)/);
    const reset = await run(['--config', config, 'breaker', 'reset', 'p1'], { env });
    expect(reset.code).toBe(0);
    expect((await run(['--config', config, 'providers'], { env })).stdout).toMatch(/p1 .*│ closed /);
    ok();
  }, 60_000); // seven processes in a row (one failure per ask now, so one ask more than before)

  it('state and cache are owner-only, hold no key, and survive a corrupt file', async () => {
    const { dir, config, env } = setup();
    ok();
    server.setScript('p1', [{ kind: 'overloaded', times: 1 }, { kind: 'ok' }]);
    const r = await run(['ask', '--config', config, 'perm test'], { env });
    expect(r.code).toBe(0);
    const stateDir = join(dir, 'state', 'llm-fallback');
    const answers = join(dir, 'cache', 'llm-fallback', 'answers');
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(stateDir, 'breakers.json')).mode & 0o777).toBe(0o600);
    expect(statSync(answers).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(answers)) {
      expect(statSync(join(answers, f)).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(answers, f), 'utf8')).not.toContain('0123456789');
    }
    expect(readFileSync(join(stateDir, 'breakers.json'), 'utf8')).not.toContain('0123456789');
    writeFileSync(join(stateDir, 'breakers.json'), '{ not json');
    for (const f of readdirSync(answers)) writeFileSync(join(answers, f), 'garbage');
    const again = await run(['ask', '--config', config, 'perm test'], { env });
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/warning: breaker state .* is not valid JSON; ignoring it/);
    const cleared = await run(['cache', 'clear'], { env });
    expect(cleared.stdout).toMatch(/^removed 1 cached answer from /);
  });

  it('parallel processes never corrupt the shared breaker state', async () => {
    const { dir, config, env } = setup();
    server.setScript('p1', [{ kind: 'server' }]);
    server.setScript('p2', [{ kind: 'ok' }]);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => run(['ask', '--config', config, '--no-cache', '--retries', '0', `parallel ${i}`], { env })));
    expect(results.every((r) => r.code === 0)).toBe(true);
    const state = JSON.parse(readFileSync(join(dir, 'state', 'llm-fallback', 'breakers.json'), 'utf8'));
    const p1 = Object.values(state).find((r) => (r as { name: string }).name === 'p1') as { state: string; consecutive_failures: number };
    // Every process that reached p1 recorded its failure: none was lost to a concurrent write.
    const reached = results.filter((r) => !/skipped/.test(r.stderr)).length;
    expect(p1.consecutive_failures).toBe(reached);
    expect(p1.state).toBe('open');
    ok();
  });
});

describe('ask: input and the emulator', () => {
  it('appends piped stdin to the prompt argument after a blank line', async () => {
    const { config, env } = setup();
    ok();
    const diff = 'diff --git a/x b/x\n+added line\n'.repeat(20);
    const alone = JSON.parse((await run(['ask', '--config', config, '--no-cache', '--json', 'Review this diff'], { env })).stdout);
    const piped = JSON.parse((await run(['ask', '--config', config, '--no-cache', '--json', 'Review this diff'], { env, input: diff })).stdout);
    // The emulator counts the prompt it received: the stdin text (~560 chars, ~140 tokens) arrived too.
    expect(piped.usage.input_tokens - alone.usage.input_tokens).toBeGreaterThan(120);
    expect(piped.usage.input_tokens - alone.usage.input_tokens).toBeLessThan(170);
  });

  it('a stdin that stays silent does not block a prompt given as an argument', async () => {
    const { config, env } = setup();
    ok();
    const child = spawn(process.execPath, [BIN, 'ask', '--config', config, '--no-cache', 'hello'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const code = await new Promise((r) => child.on('close', r)); // stdin left open, never written
    expect(code).toBe(0);
    expect(stdout.trim().split(' ')).toHaveLength(6);
  });

  it('--demo honours --provider and --chain against the emulated providers', async () => {
    const one = await run(['ask', '--demo', '--provider', 'kimi', '--json', '--max-tokens', '4', 'hi'], { env: setup().env, timeoutMs: 30_000 });
    expect(one.code).toBe(0);
    const j = JSON.parse(one.stdout);
    expect(j.provider).toBe('kimi');
    expect(j.attempts.map((a: { provider: string }) => a.provider)).toEqual(['kimi']);
    // A name outside the demo is refused naming what the demo runs, not the shipped file's other routes.
    const refusals: [string[], string][] = [
      [['--chain', 'western'], '--chain: chain "western" needs openai, anthropic, gemini, which the demo does not emulate; chains the demo runs: default'],
      [['--chain', 'nochain'], '--chain: "nochain" is not a chain the demo runs; chains the demo runs: default'],
      [['--provider', 'ollama'], '--provider: "ollama" is not emulated by the demo; providers the demo runs: holysheep, deepseek, kimi, minimax'],
      [['--provider', 'no-such'], '--provider: "no-such" is not a provider the demo runs; providers the demo runs: holysheep, deepseek, kimi, minimax'],
      [['--provider', 'kimii'], '--provider: "kimii" is not a provider the demo runs; did you mean "kimi"?'],
    ];
    for (const [flags, message] of refusals) {
      const r = await run(['ask', '--demo', ...flags, 'hi'], { env: setup().env });
      expect([r.code, r.stderr.trim()]).toEqual([2, message]);
    }
  });

  it('a prompt larger than every context window: exit 2 saying so, nothing sent', async () => {
    const { config, env, dir } = setup();
    const cfg = readFileSync(config, 'utf8')
      .replace(/^( {2}p1: \{.*)( \})$/m, '$1, context_window: 1000 }')
      .replace(/^( {2}p2: \{.*)( \})$/m, '$1, context_window: 2000 }');
    writeFileSync(config, cfg);
    const before = JSON.stringify(await (await fetch(`${server.url}/_mock/stats`)).json());
    const file = join(dir, 'long.txt');
    writeFileSync(file, 'word '.repeat(4000));
    const r = await run(['ask', '--config', config, '--file', file], { env });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('ask: the prompt (~5,004 tokens) does not fit the context window of any provider of chain "default" (largest: p2, 2,000 tokens); shorten it or use a provider with a larger window');
    expect(r.stdout).toBe('');
    expect(JSON.stringify(await (await fetch(`${server.url}/_mock/stats`)).json())).toBe(before);
  });
});

describe('ask on a real terminal', () => {
  it('shows which provider it is waiting on, on stderr, and clears it when the answer streams', async () => {
    const { config, env } = setup();
    ok();
    server.setScript('hang', [{ kind: 'hang' }]);
    const r = await onTerminal({ args: ['ask', '--config', config, '--chain', 'slow', '--no-cache', 'hello'], env, waitFor: 'waiting for hang \\(m3\\)', delay: 0.3, send: '\u0003' });
    expect(r.exit).toBe(130);
    expect(r.output).toMatch(/\r\x1b\[2Kwaiting for hang \(m3\)…/);
    // The status line is erased before the interruption is reported.
    expect(r.output).toMatch(/\r\x1b\[2K(\r\n)?llm-fallback: interrupted \(Ctrl-C\)/);
    const live = await onTerminal({ args: ['ask', '--config', config, '--no-cache', 'hello'], env });
    expect(live.exit).toBe(0);
    expect(live.output).toMatch(/^\r\x1b\[2Kwaiting for p1 \(m1\)…\r\x1b\[2K\w/);
  });
});

describe('ask --reasoning-effort', () => {
  const last = (name: string) => server.received(name).at(-1);

  it('fills the same request field as serve: reasoning_effort to an OpenAI-dialect provider, a thinking budget to an Anthropic one', async () => {
    const { config, env } = setup();
    writeFileSync(config, readFileSync(config, 'utf8').replace('chains:', `  claude: { api: anthropic, base_url: "${server.baseUrl('claude')}", model: c1 }\nchains:`));
    ok();
    const o = await run(['ask', '--config', config, '--provider', 'p1', '--no-cache', '--reasoning-effort', 'high', 'Is 9.11 larger than 9.8?'], { env });
    expect(o.code).toBe(0);
    expect(last('p1')).toMatchObject({ reasoning_effort: 'high' });

    const a = await run(['ask', '--config', config, '--provider', 'claude', '--no-cache', '--reasoning-effort', 'medium', 'Is 9.11 larger than 9.8?'], { env });
    expect(a.code).toBe(0);
    expect(last('claude')).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 8192 }, max_tokens: 8192 + 1024 });

    const before = server.received('claude').length;
    const tight = await run(['ask', '--config', config, '--provider', 'claude', '--no-cache', '--reasoning-effort', 'low', '--max-tokens', '600', 'Is 9.11 larger than 9.8?'], { env });
    expect(tight.code).toBe(2);
    expect(tight.stderr.trim().split('\n')).toHaveLength(1);
    // named by its flags, not the library's fields
    expect(tight.stderr).toMatch(/^ask: --reasoning-effort: reasoning effort "low" is a thinking budget of 1024 tokens for provider "claude", which must be less than max_tokens \(600\) as Anthropic requires; raise --max-tokens above 1024 or ask for less reasoning\n$/);
    expect(server.received('claude').length).toBe(before);
  });

  it('refuses a level it does not know, naming the choices', async () => {
    const { config, env } = setup();
    const r = await run(['ask', '--config', config, '--reasoning-effort', 'extreme', 'hi'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--reasoning-effort: "extreme" is not one of none, minimal, low, medium, high, xhigh, max');
  });
});

import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FallbackChain, type ChainProvider } from '../src/chain/chain.js';
import { Rng } from '../src/mock/random.js';
import { createAdapter } from '../src/providers/index.js';
import { emulator } from './helpers.js';

/*
 * Chaos soak: a bounded number of asks against a three-provider chain where every provider, on every
 * call, draws one of the emulator's faults (or none). The test knows, per call, whether any provider had
 * an answer to give, so it can check the chain answers exactly when it could, never passes a broken
 * answer off as a success, and always ends within its deadline.
 */
const FAULTS = [
  { kind: 'ok' },
  { kind: 'ok' },
  { kind: 'ok' },
  { kind: 'slow_first_token', delay_ms: 100 }, // within the 800 ms first-token clock: still an answer
  { kind: 'rate_limit', retry_after_ms: 50 },
  { kind: 'overloaded' },
  { kind: 'server' },
  { kind: 'billing' },
  { kind: 'auth' },
  { kind: 'reset' },
  { kind: 'hang' },
  { kind: 'stall', after_tokens: 2 },
  { kind: 'cut', after_tokens: 3 },
  { kind: 'malformed', after_tokens: 1 },
  { kind: 'error_event', after_tokens: 2 },
  { kind: 'no_done' },
  { kind: 'no_finish' },
  { kind: 'html' },
] as const;
const ANSWERS = new Set(['ok', 'slow_first_token']);
// A finish reason and a clean end of body complete an OpenAI-style stream without [DONE] (MiniMax never
// sends it); Anthropic's stream still needs message_stop (p2 is the anthropic provider).
const answers = (name: string, f: number) => ANSWERS.has(FAULTS[f].kind) || (FAULTS[f].kind === 'no_done' && name !== 'p2');
const TOKENS: Record<string, number> = { p0: 6, p1: 7, p2: 8 };
const CALLS = 240;
const PARALLEL = 24;
// The clocks detect hang (first token) and stall (idle); an answer takes ~10 ms (100 ms when slowed), so
// the clocks are the room a loaded machine has before a good answer is taken for a broken one. At 400 /
// 300 ms a full-suite run under two CPU hogs lost [no_done, malformed, hang], which p0 could answer, as
// 'none'; at 800 / 600 ms a stall must be twice as long. The deadline grows with them (3 clocks and a retry).
const CLOCKS = { connect: 1000, firstToken: 800, idle: 600, total: 2000 };
const DEADLINE = 5000;

const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  p0: { dialect: 'openai', output_tokens: c(6), itl: c(1) },
  p1: { dialect: 'deepseek', output_tokens: c(7), itl: c(1) },
  p2: { dialect: 'anthropic', output_tokens: c(8), itl: c(1) },
});

// One adapter per (provider, fault): the fault rides on a request header, as any user could configure.
const adapters = new Map<string, ChainProvider>();
function provider(name: string, f: number): ChainProvider {
  const key = `${name}:${f}`;
  let p = adapters.get(key);
  if (!p) {
    const spec = server.profile.providers[name];
    p = {
      name,
      model: spec.model,
      adapter: createAdapter({ name, api: spec.dialect === 'anthropic' ? 'anthropic' : 'openai', baseUrl: server.baseUrl(name), model: spec.model, headers: { 'x-mock-fault': JSON.stringify(FAULTS[f]) }, params: {}, timeouts: {} }),
      timeouts: CLOCKS,
      breakerKey: key,
    };
    adapters.set(key, p);
  }
  return p;
}

const fds = () => readdirSync('/proc/self/fd').length;

describe('chaos soak', () => {
  it(`${CALLS} asks against randomly failing providers: an answer exactly when one was possible, complete, within the deadline`, async () => {
    const rng = new Rng(2026);
    const plans = Array.from({ length: CALLS }, () => ['p0', 'p1', 'p2'].map((n) => [n, rng.int(FAULTS.length)] as const));
    const fd0 = fds();
    const heap0 = process.memoryUsage().heapUsed;
    let answered = 0;
    let possible = 0;
    const slowest: number[] = [];
    for (let i = 0; i < CALLS; i += PARALLEL) {
      await Promise.all(
        plans.slice(i, i + PARALLEL).map(async (plan) => {
          const chain = new FallbackChain(
            plan.map(([n, f]) => provider(n, f)),
            { retries: 1, backoffBaseMs: 10, backoffCapMs: 50, deadlineMs: DEADLINE, onContentFilter: 'stop', firstTokenMsPerPromptToken: 0 },
          );
          const t0 = Date.now();
          const r = await chain.run({ messages: [{ role: 'user', content: 'chaos' }] });
          slowest.push(Date.now() - t0);
          const canAnswer = plan.some(([n, f]) => answers(n, f));
          if (canAnswer) possible++;
          expect(r.source, JSON.stringify(plan.map(([n, f]) => [n, FAULTS[f].kind]))).toBe(canAnswer ? 'live' : 'none');
          if (r.source === 'live') {
            answered++;
            // the answer is exactly the serving provider's whole answer: nothing cut, nothing spliced
            expect(r.content.trim().split(' ')).toHaveLength(TOKENS[r.provider!]);
            const served = plan.find(([n]) => n === r.provider)!;
            expect(answers(served[0], served[1])).toBe(true);
            expect(r.finish_reason).toBe('stop');
          }
        }),
      );
    }
    expect(answered).toBe(possible);
    expect(possible).toBeGreaterThan(CALLS / 2);
    expect(Math.max(...slowest)).toBeLessThan(DEADLINE + 1000);
    expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(64 * 1024 * 1024);
    // Idle keep-alive connections stay pooled on purpose; once the pools close, every descriptor opened
    // by thousands of failed, cut, hung and aborted requests must be gone (client and emulator sides).
    expect(fds()).toBeGreaterThan(fd0);
    await Promise.all([...adapters.values()].map((p) => p.adapter.close()));
    await new Promise((r) => setTimeout(r, 300));
    expect(fds() - fd0).toBeLessThan(5);
  }, 120_000);
});

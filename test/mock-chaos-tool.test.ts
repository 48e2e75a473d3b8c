import { describe, expect, it } from 'vitest';
import { spawnEmulator } from './cli-helpers.js';
import { until } from './helpers.js';

/*
 * `llm-fallback mock` as a user's chaos tool: the emulator run as a real child process (as a user runs it
 * beside their own application), faults asked for over HTTP, and what the user sees of it.
 */

const chat = (stream: boolean) => JSON.stringify({ model: 'gpt-5.4-mini', stream, messages: [{ role: 'user', content: 'hi' }] });

describe('stopping the emulator', () => {
  // A minute-long first token, a hung request and a stalled stream, open when the signal comes: the
  // process must go at once, not when the longest injected delay runs out.
  it.each(['SIGTERM', 'SIGINT'] as const)('%s ends it promptly with slow, hung and stalled requests open', async (signal) => {
    const mock = await spawnEmulator({ providers: { p: { dialect: 'openai', model: 'gpt-5.4-mini' } } });
    const faults = ['{"kind":"slow_first_token","delay":"60s"}', 'hang', '{"kind":"stall","after_tokens":1}'];
    const open = faults.flatMap((fault) =>
      [true, false].map((stream) =>
        fetch(`${mock.baseUrl('p')}/chat/completions`, { method: 'POST', headers: { 'x-mock-fault': fault }, body: chat(stream) })
          .then((r) => r.text())
          .catch(() => 'connection closed'),
      ),
    );
    await until(async () => ((await (await fetch(`${mock.url}/_mock/stats`)).json()) as { p: { requests: number } }).p.requests === open.length, 'all requests to arrive');
    const t0 = Date.now();
    expect(await mock.close(signal)).toBe(0);
    // Well inside the 60 s delay (it held the process for all of it before).
    expect(Date.now() - t0).toBeLessThan(20_000);
    await Promise.all(open);
  }, 40_000);
});

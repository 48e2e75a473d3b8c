import { mkdtempSync, readdirSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { measureRequest } from '../src/bench/measure.js';
import { createAdapter } from '../src/providers/index.js';
import { run } from './cli-helpers.js';
import { FIXTURES, replayServer, wireBody } from './wire-fixtures.js';

// "A success with no content and no tool call is never an answer." The empty answer here is derived from
// the real Magistral recording (vercel-magistral-reasoning): the same chunks with the answer's text part
// dropped, so only thinking parts and the finish chunk with usage remain, which is what an adapter that
// cannot read typed parts saw before. The good answer is the real mistral-small recording unchanged.
const magistral = FIXTURES.find((f) => f.file === 'mistral/vercel-magistral-reasoning.chunks.txt')!;
const mistral = FIXTURES.find((f) => f.file === 'mistral/vercel-mistral-text.chunks.txt')!;
// Recorded unchanged: a hidden-reasoning model (gpt-5.6-luna) whose 16 max tokens all went to reasoning it
// never returns as text: no text at all, finish "length", usage with 16 reasoning_tokens.
const hiddenReasoning = FIXTURES.find((f) => f.file === 'openai/genai-gpt-5.6-luna-length-hidden-reasoning.sse')!;
const thinkingOnly = Buffer.from(
  wireBody(magistral)
    .toString()
    .split('\n\n')
    .filter((ev) => !ev.includes('"content":[{"type":"text"'))
    .join('\n\n'),
);
// The same thinking, cut by the max-tokens budget: finish_reason "length" instead of "stop".
const thinkingOutOfBudget = Buffer.from(thinkingOnly.toString().replace(/"finish_reason":"stop"/g, '"finish_reason":"length"'));
const server = await replayServer({
  empty: { status: 200, contentType: 'text/event-stream', body: thinkingOnly },
  budget: { status: 200, contentType: 'text/event-stream', body: thinkingOutOfBudget },
  hidden: { status: 200, contentType: 'text/event-stream', body: wireBody(hiddenReasoning) },
  good: { status: 200, contentType: 'text/event-stream', body: wireBody(mistral) },
});
afterAll(() => server.close());

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'llmf-empty-'));
  const config = join(dir, 'providers.yaml');
  writeFileSync(
    config,
    `defaults:
  retries: 2
providers:
  empty: { api: openai, base_url: "${server.url('empty')}", model: magistral-medium-2507, price: { input: 2, output: 5, priced_at: 2026-11-29 } }
  budget: { api: openai, base_url: "${server.url('budget')}", model: magistral-medium-2507 }
  hidden: { api: openai, base_url: "${server.url('hidden')}", model: gpt-5.6-luna }
  good: { api: openai, base_url: "${server.url('good')}", model: mistral-small-latest, price: { input: 0.1, output: 0.3, priced_at: 2026-11-29 } }
chains:
  default: [empty, good]
  alone: [empty]
`,
  );
  return { config, cache: join(dir, 'cache'), env: { XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') } };
}

describe('an empty answer is a failure of that provider', () => {
  it('the adapter ends with empty_response (not retryable), after the usage the server reported', async () => {
    const adapter = createAdapter({ name: 'empty', api: 'openai', baseUrl: server.url('empty'), model: 'm', headers: {}, params: {}, timeouts: {} });
    afterAll(() => adapter.close());
    const events = [];
    for await (const ev of adapter.stream({ messages: [{ role: 'user', content: '2+2?' }], stream: true })) events.push(ev);
    const end = events[events.length - 1];
    if (end.type !== 'error') throw new Error(`expected an error, got ${end.type}`);
    expect(end.error.errorClass).toBe('empty_response');
    expect(end.error.isRetryable).toBe(false);
    expect(end.error.message).toMatch(/empty answer with finish_reason "stop": only reasoning \(\d+ characters\) arrived/);
    expect(events.filter((e) => e.type === 'usage').map((e) => e.type === 'usage' && e.usage.outputTokens)).toEqual([46]);
  });

  it('ask falls over to the next provider at once (no retry of the empty one) and serves its answer', async () => {
    const { config, env } = setup();
    const r = await run(['ask', '--config', config, '--json', '2+2?'], { env });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { provider: string; content: string; attempts: { provider: string; error_class: string | null; decision: string }[] };
    expect(out.provider).toBe('good');
    expect(out.content).toBe('Hello, world! This is a test response.');
    expect(out.attempts.map((a) => [a.provider, a.error_class, a.decision])).toEqual([
      ['empty', 'empty_response', 'fallover'],
      ['good', null, 'success'],
    ]);
  });

  it('ask never caches it: alone, the empty provider gives exit 1 twice, and the cache stays empty', async () => {
    const { config, env, cache } = setup();
    for (let i = 0; i < 2; i++) {
      const r = await run(['ask', '--config', config, '--chain', 'alone', '2+2?'], { env });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('empty_response');
    }
    const answers = join(cache, 'llm-fallback', 'answers');
    expect(existsSync(answers) ? readdirSync(answers) : []).toEqual([]);
  });

  it('health reports the provider unhealthy with the class', async () => {
    const { config, env } = setup();
    const r = await run(['health', 'empty', '--config', config, '--format', 'json'], { env });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { providers: { name: string; healthy: boolean; error_class: string }[] };
    expect(report.providers.map((p) => [p.name, p.healthy, p.error_class])).toEqual([['empty', false, 'empty_response']]);
  });

  it("health counts a model that spent the probe's budget thinking as healthy (it is serving), ask still does not take it as an answer", async () => {
    expect(thinkingOutOfBudget.toString()).toContain('"finish_reason":"length"');
    const { config, env } = setup();
    const h = await run(['health', 'budget', 'hidden', 'empty', '--config', config, '--format', 'json'], { env });
    const report = JSON.parse(h.stdout) as { providers: { name: string; healthy: boolean; error_class: string | null; ttft_ms: number | null }[] };
    expect(report.providers.map((p) => [p.name, p.healthy, p.error_class])).toEqual([
      ['budget', true, null],
      ['hidden', true, null],
      ['empty', false, 'empty_response'],
    ]);
    expect(report.providers[0].ttft_ms).not.toBeNull();
    // The hidden reasoning sent no token to time: its first token is unknown, not zero.
    expect(report.providers[1].ttft_ms).toBeNull();
    expect(h.code).toBe(1);
    const a = await run(['ask', '--config', config, '--provider', 'budget', '--json', '2+2?'], { env });
    expect(a.code).toBe(1);
    expect(JSON.parse(a.stdout).attempts.map((x: { error_class: string }) => x.error_class)).toContain('empty_response');
  });

  it('bench counts it as an error', async () => {
    const adapter = createAdapter({ name: 'empty', api: 'openai', baseUrl: server.url('empty'), model: 'm', headers: {}, params: {}, timeouts: {} });
    afterAll(() => adapter.close());
    const rec = await measureRequest(adapter, { messages: [{ role: 'user', content: '2+2?' }], stream: true }, { index: 0, promptIndex: 0, warmup: false, keepText: false });
    expect(rec.ok).toBe(false);
    expect(rec.errorClass).toBe('empty_response');
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRouter } from '../src/router.js';
import { run } from './cli-helpers.js';
import { startHarness } from './serve-harness.js';
import { FIXTURES, replayServer, wireBody } from './wire-fixtures.js';

// What a recorded Anthropic stream with a prompt cache costs, end to end (ask --json, bench --out, serve's
// Anthropic usage), against the usage the provider reported. The recording's final message_delta (counts
// cumulative) reports input_tokens 6, cache_creation_input_tokens 3337, cache_read_input_tokens 6289,
// output_tokens 198. Anthropic bills the 3337 cache writes at 1.25 × the input price (5-minute writes).
// At $3 input, $0.30 cached, $15 output per 1M tokens (no cache_write in the config, so 1.25 × $3 = $3.75):
//   6 × 3 + 3337 × 3.75 + 6289 × 0.30 + 198 × 15 = 18 + 12513.75 + 1886.7 + 2970 = 17388.45 per 1M → $0.01738845
// (billing the writes at the plain input price gave $0.0148857, 14% less than the provider billed).

const fixture = FIXTURES.find((f) => f.file === 'anthropic/vercel-anthropic-prompt-cache.chunks.txt')!;
const server = await replayServer({ cache: { status: 200, contentType: 'text/event-stream', body: wireBody(fixture) } });
afterAll(() => server.close());

const PROVIDER = { api: 'anthropic', base_url: server.url('cache'), model: 'claude-sonnet-4-5', price: { input: 3, cached_input: 0.3, output: 15, priced_at: '2026-11-01' } };
const BILLED = 0.01738845;

function setup(price: Record<string, unknown> = PROVIDER.price) {
  const dir = mkdtempSync(join(tmpdir(), 'llmf-cost-wire-'));
  const config = join(dir, 'providers.yaml');
  writeFileSync(
    config,
    `providers:
  claude: ${JSON.stringify({ ...PROVIDER, price })}
chains:
  default: [claude]
`,
  );
  return { dir, config, env: { XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') } };
}

describe('cost of a recorded Anthropic prompt-cache stream', () => {
  it('ask --json: cache writes are reported apart and billed at 1.25 × input, or at price.cache_write', async () => {
    const { config, env } = setup();
    const r = await run(['ask', '--config', config, '--no-cache', '--json', 'hi'], { env });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { usage: Record<string, unknown>; cost_usd: number };
    // reasoning_tokens: the recording's message_delta says output_tokens_details.thinking_tokens 0.
    expect(out.usage).toEqual({ input_tokens: 9632, cached_input_tokens: 6289, cache_write_input_tokens: 3337, output_tokens: 198, reasoning_tokens: 0 });
    expect(out.cost_usd).toBeCloseTo(BILLED, 12);

    // 1-hour writes cost 2 × input: the config says so with cache_write.
    const hour = setup({ ...PROVIDER.price, cache_write: 6 });
    const h = await run(['ask', '--config', hour.config, '--no-cache', '--json', 'hi'], { env: hour.env });
    expect((JSON.parse(h.stdout) as { cost_usd: number }).cost_usd).toBeCloseTo((18 + 3337 * 6 + 1886.7 + 2970) / 1e6, 12);
  });

  it('bench --out and cost --from: the writes are counted in tokens.cache_write_input and priced in cost_usd and the projection', async () => {
    const { dir, config, env } = setup();
    const out = join(dir, 'result.json');
    const r = await run(['bench', '--config', config, 'claude', '-n', '2', '--out', out], { env });
    expect(r.code, r.stderr).toBe(0);
    const p = (JSON.parse(readFileSync(out, 'utf8')) as { providers: { tokens: Record<string, unknown>; cost_usd: number; price: Record<string, unknown> }[] }).providers[0];
    expect(p.tokens).toMatchObject({ input: 19264, cached_input: 12578, cache_write_input: 6674, output: 396, source: 'reported' });
    expect(p.cost_usd).toBeCloseTo(2 * BILLED, 12);
    expect(p.price).toEqual({ input: 3, cached_input: 0.3, cache_write: 3.75, output: 15, priced_at: '2026-11-01' });

    // cost --from projects the measured writes at the same price: 1000 requests a day cost 1000 × the billed figure.
    const c = await run(['cost', '--config', config, '--from', out, '--requests-per-day', '1000', '--format', 'json'], { env });
    expect((JSON.parse(c.stdout) as { projection: { daily: number }[] }).projection[0].daily).toBeCloseTo(1000 * BILLED, 9);

    // The default write price is shown as a price is written: 1.25 × $0.14 is 0.175, not 0.17500000000000002.
    const cheap = setup({ input: 0.14, output: 0.42, priced_at: '2026-11-01' });
    const csv = await run(['cost', '--config', cheap.config, '--format', 'csv'], { env: cheap.env });
    expect(csv.stdout.split('\n')[1]).toBe('claude,claude-sonnet-4-5,USD,0.14,0.14,0.42,2026-11-01,,,,0.175');
  });

  it("serve's Anthropic usage gives back the upstream's input_tokens and cache_creation_input_tokens", async () => {
    const router = await createRouter({ config: { defaults: { retries: 0 }, providers: { claude: PROVIDER }, chains: { default: ['claude'] } }, who: 'serve' });
    const h = await startHarness(router);
    afterAll(async () => {
      await h.close();
      await router.close();
    });
    const upstream = { input_tokens: 6, cache_creation_input_tokens: 3337, cache_read_input_tokens: 6289, output_tokens: 198 };
    const post = (stream: boolean) =>
      fetch(`${h.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'default', max_tokens: 100, stream, messages: [{ role: 'user', content: 'hi' }] }) });

    const whole = await post(false);
    expect(((await whole.json()) as { usage: unknown }).usage).toEqual(upstream);
    expect(Number(whole.headers.get('x-llm-fallback-cost-usd'))).toBeCloseTo(BILLED, 6);

    const sse = await (await post(true)).text();
    const delta = sse.split('\n').find((l) => l.startsWith('data: {"type":"message_delta"'))!;
    expect((JSON.parse(delta.slice(6)) as { usage: unknown }).usage).toEqual(upstream);
  });
});

// A recorded OpenAI stream with no usage at all (gpt-4o-mini, recorded without include_usage; a server that
// ignores the option sends the same). The provider still billed the prompt and "Hello, World!": the chain
// estimates both at four characters a token and says so. Prompt "hi": ceil(2/4) + 4 for the message = 5
// tokens; answer: ceil(13/4) = 4 tokens. At $0.15 input and $0.60 output per 1M: 5 × 0.15 + 4 × 0.60 = 3.15 → $0.00000315.
describe('cost of a recorded stream that reports no usage', async () => {
  const silent = FIXTURES.find((f) => f.file === 'openai/gomodel-gpt-4o-mini.sse')!;
  const upstream = await replayServer({ silent: { status: 200, contentType: 'text/event-stream', body: wireBody(silent) } });
  afterAll(() => upstream.close());
  const provider = { api: 'openai', base_url: upstream.url('silent'), model: 'gpt-4o-mini', price: { input: 0.15, output: 0.6, priced_at: '2026-11-01' } };
  const ESTIMATE = 0.00000315;

  it('ask: the cost is estimated and labelled so, in --json and on the summary line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmf-cost-wire-'));
    const config = join(dir, 'providers.yaml');
    writeFileSync(config, `providers:\n  gpt: ${JSON.stringify(provider)}\nchains:\n  default: [gpt]\n`);
    const env = { XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') };
    const j = await run(['ask', '--config', config, '--no-cache', '--json', 'hi'], { env });
    const out = JSON.parse(j.stdout) as { usage: unknown; cost_usd: number; cost_estimated: boolean; attempts: { cost_usd: number; cost_estimated: boolean }[] };
    expect(out.usage).toBeNull();
    expect((out as unknown as { estimated_usage: unknown }).estimated_usage).toEqual({ input_tokens: 5, cached_input_tokens: 0, cache_write_input_tokens: null, output_tokens: 4, reasoning_tokens: null });
    expect(out.cost_usd).toBeCloseTo(ESTIMATE, 12);
    expect(out.cost_estimated).toBe(true);
    expect(out.attempts.map((a) => [a.cost_usd, a.cost_estimated])).toEqual([[out.cost_usd, true]]);
    const line = await run(['ask', '--config', config, '--no-cache', 'hi'], { env });
    expect(line.stderr).toContain('~$0.000003150 (estimated: no usage reported)');
  });

  it("serve: the cost header carries the estimate, flagged by x-llm-fallback-cost-estimated; the Anthropic shape's usage the same estimate, not 0", async () => {
    const router = await createRouter({ config: { defaults: { retries: 0 }, providers: { gpt: provider }, chains: { default: ['gpt'] } }, who: 'serve' });
    const h = await startHarness(router);
    afterAll(async () => {
      await h.close();
      await router.close();
    });
    const res = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'default', messages: [{ role: 'user', content: 'hi' }] }) });
    const body = (await res.json()) as { usage?: unknown };
    // The body's usage stays what the upstream reported: nothing.
    expect(body.usage).toBeUndefined();
    expect(res.headers.get('x-llm-fallback-cost-usd')).toBe('0.00000315');
    expect(res.headers.get('x-llm-fallback-cost-estimated')).toBe('true');

    // The Anthropic shape must give counts: the same estimate (5 in, 4 out), in the message and in the
    // stream's message_delta (which the SDK takes as the total), never 0 in / 0 out.
    const estimate = { input_tokens: 5, cache_creation_input_tokens: null, cache_read_input_tokens: 0, output_tokens: 4 };
    const post = (stream: boolean) =>
      fetch(`${h.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'default', max_tokens: 100, stream, messages: [{ role: 'user', content: 'hi' }] }) });
    expect(((await (await post(false)).json()) as { usage: unknown }).usage).toEqual(estimate);
    const sse = await (await post(true)).text();
    const delta = sse.split('\n').find((l) => l.startsWith('data: {"type":"message_delta"'))!;
    expect((JSON.parse(delta.slice(6)) as { usage: unknown }).usage).toEqual(estimate);
  });
});

// Hand-written (labelled so): a DeepSeek-style stream that reasons in reasoning_content, answers "Hello" and
// reports no usage; the recorded no-usage stream above has no reasoning. The provider billed the reasoning as
// output: the estimate counts it, and the Anthropic shape's usage must say what the cost header prices.
// Output: ceil((400 + 5) / 4) = 102 tokens; prompt "hi": 5 tokens. At $1 input, $2 output per 1M: 5 + 204 = 209 → $0.000209.
describe('estimated usage of an answer that reasoned', async () => {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'r1', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const body = Buffer.from(chunk({ role: 'assistant', content: '' }) + chunk({ reasoning_content: 'r'.repeat(400) }) + chunk({ content: 'Hello' }) + chunk({}, 'stop') + 'data: [DONE]\n\n');
  const upstream = await replayServer({ thinker: { status: 200, contentType: 'text/event-stream', body } });
  afterAll(() => upstream.close());
  const provider = { api: 'openai', base_url: upstream.url('thinker'), model: 'r1', price: { input: 1, output: 2, priced_at: '2026-11-01' } };

  it('counts the reasoning: the cost header, ask --json and the Anthropic shape give the same 102 output tokens', async () => {
    const router = await createRouter({ config: { defaults: { retries: 0 }, providers: { r: provider }, chains: { default: ['r'] } }, who: 'serve' });
    const h = await startHarness(router);
    afterAll(async () => {
      await h.close();
      await router.close();
    });
    const r = await router.chat({ model: 'default', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.estimated_usage).toEqual({ inputTokens: 5, cachedInputTokens: 0, outputTokens: 102 });
    expect(r.cost_usd).toBeCloseTo(0.000209, 12);
    const res = await fetch(`${h.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'default', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }) });
    expect(res.headers.get('x-llm-fallback-cost-usd')).toBe('0.000209');
    expect(((await res.json()) as { usage: { output_tokens: number } }).usage.output_tokens).toBe(102);
  });
});

// The recorded no-usage stream above, cut by us after " World" (the cut is ours; the bytes before it are the
// recording's): no finish_reason, so the attempt fails and the chain falls over. The provider billed the prompt
// and the 12 characters it generated all the same: 5 + ceil(12 / 4) = 3 tokens, 5 × 0.15 + 3 × 0.60 = 2.55 →
// $0.00000255, estimated and flagged, never $0.
describe('cost of a recorded stream cut before its answer was complete', async () => {
  const silent = FIXTURES.find((f) => f.file === 'openai/gomodel-gpt-4o-mini.sse')!;
  const whole = wireBody(silent);
  const cutAfter = whole.indexOf('\n\n', whole.indexOf('"content":" World"')) + 2;
  const upstream = await replayServer({
    cut: { status: 200, contentType: 'text/event-stream', body: whole, cutAfter },
    whole: { status: 200, contentType: 'text/event-stream', body: whole },
  });
  afterAll(() => upstream.close());
  const price = { input: 0.15, output: 0.6, priced_at: '2026-11-01' };
  const providers = { cut: { api: 'openai', base_url: upstream.url('cut'), model: 'gpt-4o-mini', price }, whole: { api: 'openai', base_url: upstream.url('whole'), model: 'gpt-4o-mini', price } };
  const CUT = 0.00000255;
  const dir = mkdtempSync(join(tmpdir(), 'llmf-cost-wire-'));
  const config = join(dir, 'providers.yaml');
  writeFileSync(config, `defaults: { retries: 0 }\nproviders:\n  cut: ${JSON.stringify(providers.cut)}\n  whole: ${JSON.stringify(providers.whole)}\nchains:\n  default: [cut, whole]\n`);
  const env = { XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') };

  it('ask: the failed attempt is estimated and flagged, in --json and on the summary line', async () => {
    const j = await run(['ask', '--config', config, '--no-cache', '--json', 'hi'], { env });
    const out = JSON.parse(j.stdout) as { provider: string; failed_attempts_cost_usd: number; attempts: { provider: string; decision: string; error_class: string; cost_usd: number; cost_estimated: boolean }[] };
    expect(out.provider).toBe('whole');
    expect(out.attempts.map((a) => [a.provider, a.decision, a.cost_estimated])).toEqual([
      ['cut', 'fallover', true],
      ['whole', 'success', true],
    ]);
    expect(out.attempts[0].cost_usd).toBeCloseTo(CUT, 12);
    expect(out.failed_attempts_cost_usd).toBeCloseTo(CUT, 12);
    const line = await run(['ask', '--config', config, '--no-cache', 'hi'], { env });
    expect(line.stderr).toContain('(+~$0.000002550 failed attempts, estimated)');
  });

  it('serve: x-llm-fallback-failed-attempts-cost-usd carries the estimate, flagged by …-failed-attempts-cost-estimated', async () => {
    const router = await createRouter({ config: { defaults: { retries: 0 }, providers, chains: { default: ['cut', 'whole'] } }, who: 'serve' });
    const h = await startHarness(router);
    afterAll(async () => {
      await h.close();
      await router.close();
    });
    const res = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'default', messages: [{ role: 'user', content: 'hi' }] }) });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-llm-fallback-failed-attempts-cost-usd')).toBe('0.00000255');
    expect(res.headers.get('x-llm-fallback-failed-attempts-cost-estimated')).toBe('true');
  });

  it('bench: a failed request that streamed text counts its estimated tokens and cost, and its figures are marked as estimates', async () => {
    const out = join(dir, 'cut.json');
    const r = await run(['bench', '--config', config, 'cut', '-n', '2', '-c', '1', '--prompt', 'hi', '--out', out], { env });
    expect(r.code, r.stderr).toBe(1); // a provider with no successful request
    const p = (JSON.parse(readFileSync(out, 'utf8')) as { providers: { ok: number; failed: number; tokens: Record<string, unknown>; cost_usd: number }[] }).providers[0];
    expect([p.ok, p.failed]).toEqual([0, 2]);
    expect(p.tokens).toMatchObject({ input: 10, output: 6, source: 'estimated', reported_requests: 0, estimated_requests: 2 });
    expect(p.cost_usd).toBeCloseTo(2 * CUT, 12);
  });
});

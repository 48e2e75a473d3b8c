import { describe, expect, it } from 'vitest';
import { httpError } from '../src/providers/classify.js';
import { readUsage } from '../src/providers/openai.js';
import { retryAfterMs } from '../src/providers/retry-after.js';
import { redact, registerSecret } from '../src/util/redact.js';

// Bodies copied from the shapes in docs/providers.md (shared), one per envelope. Real recorded bodies are
// replayed over HTTP in test/wire-replay.test.ts (test/fixtures/wire).
const cases: [string, number, string, string][] = [
  ['OpenAI insufficient_quota is billing, not a rate limit', 429, '{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}', 'billing'],
  ['OpenAI rate_limit_exceeded', 429, '{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}', 'rate_limit'],
  ['DeepSeek 402 insufficient balance', 402, '{"error":{"message":"Insufficient Balance","type":"unknown_error","param":null,"code":"invalid_request_error"}}', 'billing'],
  ['DeepSeek 503 overloaded', 503, '{"error":{"message":"Server overloaded","type":"x","param":null,"code":"invalid_request_error"}}', 'overloaded'],
  ['Moonshot 429 engine_overloaded_error is capacity', 429, '{"error":{"message":"The engine is currently overloaded, please try again later","type":"engine_overloaded_error"}}', 'overloaded'],
  ['Moonshot 403 insufficient balance', 403, '{"error":{"message":"insufficient balance","type":"exceeded_current_quota_error"}}', 'billing'],
  ['MiniMax 500 insufficient balance (1008) is billing', 500, '{"type":"error","error":{"type":"api_error","message":"insufficient balance (1008)"}}', 'billing'],
  ['MiniMax base_resp 1008 at HTTP 200', 200, '{"id":"","choices":null,"base_resp":{"status_code":1008,"status_msg":"insufficient balance"}}', 'billing'],
  ['MiniMax base_resp 1002 at HTTP 200', 200, '{"base_resp":{"status_code":1002,"status_msg":"rate limit"}}', 'rate_limit'],
  ['MiniMax 2013 invalid params', 400, '{"error":{"message":"invalid params, chat content has invalid message role: system (2013)","type":"bad_request_error","param":"","code":null}}', 'bad_request'],
  ['Anthropic 529 overloaded', 529, '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}', 'overloaded'],
  ['Anthropic spend cap 429 is billing', 429, '{"type":"error","error":{"type":"rate_limit_error","message":"spend limit","details":{"error_code":"enforced_spend_limit_reached"}}}', 'billing'],
  ['Gemini array envelope, 429 quota', 429, '[{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}]', 'rate_limit'],
  ['Gemini array envelope, bad key', 400, '[{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}]', 'auth'],
  ['OpenRouter numeric code 402', 402, '{"error":{"code":402,"message":"Insufficient credits","metadata":{"limit_source":"openrouter_credits"}}}', 'billing'],
  ['OpenRouter 403 moderation', 403, '{"error":{"code":403,"message":"Input flagged by moderation","metadata":{"reasons":["x"]}}}', 'content_filter'],
  ['vLLM bare error object, context', 400, '{"object":"error","message":"This model\'s maximum context length is 8192 tokens. However, you requested 9100 tokens.","type":"BadRequestError","param":null,"code":400}', 'context_length'],
  ['llama.cpp exceed_context_size_error', 400, '{"error":{"code":400,"message":"the request exceeds the available context size","type":"exceed_context_size_error"}}', 'context_length'],
  ['Ollama string error', 404, '{"error":"model \\"llama9\\" not found, try pulling it first"}', 'bad_request'],
  ['not JSON at all', 502, '<html>Bad Gateway</html>', 'server'],
];

describe('httpError classification', () => {
  it.each(cases)('%s', (_, status, body, cls) => {
    expect(httpError('p', status, {}, body).errorClass).toBe(cls);
  });

  it('names an HTML error page by its title and Server header, never its markup', () => {
    // nginx 1.22.1's own 502 page, byte for byte as it sent it (test/nginx.test.ts gets it from nginx itself).
    const nginx502 = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n';
    const e = httpError('p', 502, { 'content-type': 'text/html', server: 'nginx/1.22.1' }, nginx502);
    expect(e.errorClass).toBe('server');
    expect(e.message).toBe('p: HTTP 502: HTML page "502 Bad Gateway" (server: nginx/1.22.1), not an API answer: a proxy or load balancer in front of the provider answered');
    // Handwritten: a page without a title (its first heading, entities decoded), and one sent with no content type.
    expect(httpError('p', 503, { 'content-type': 'text/html; charset=utf-8' }, '<body><h1>Service &amp; <b>API</b> down</h1></body>').message).toBe('p: HTTP 503: HTML page "Service & API down", not an API answer: a proxy or load balancer in front of the provider answered');
    expect(httpError('p', 500, {}, '  <!DOCTYPE html><html><p>oops</p></html>').message).toBe('p: HTTP 500: HTML page, not an API answer: a proxy or load balancer in front of the provider answered');
    // Text that is not a page stays as it was.
    expect(httpError('p', 500, { 'content-type': 'text/plain' }, 'upstream <b> reset').message).toBe('p: HTTP 500: upstream <b> reset');
  });

  it('reads a hostile HTML error body of unclosed tags in bounded time', () => {
    // Handwritten: 256 KiB (the most of an error body read) of tags that never close.
    for (const bomb of ['<html>' + '<title'.repeat(44_000), '<html>' + '<h1'.repeat(88_000)]) {
      const t0 = performance.now();
      expect(httpError('p', 502, { 'content-type': 'text/html' }, bomb.slice(0, 256 * 1024)).message).toBe('p: HTTP 502: HTML page, not an API answer: a proxy or load balancer in front of the provider answered');
      // Over the whole body it took 6.6 s and 15 s on the 2-core machine; bounded, milliseconds.
      expect(performance.now() - t0).toBeLessThan(1000);
    }
  });

  it('lets x-should-retry override the class default', () => {
    expect(httpError('p', 500, { 'x-should-retry': 'false' }, '{}').isRetryable).toBe(false);
    expect(httpError('p', 400, { 'x-should-retry': 'true' }, '{}').isRetryable).toBe(true);
  });

  it('retries an OpenRouter 402 only when Retry-After came with it', () => {
    expect(httpError('p', 402, {}, '{"error":{"code":402,"message":"Insufficient credits"}}').isRetryable).toBe(false);
    expect(httpError('p', 402, { 'retry-after': '3' }, '{"error":{"code":402,"message":"Insufficient credits"}}').isRetryable).toBe(true);
  });

  it('MiniMax: a base_resp code outside the documented table on HTTP 200 is not retried and keeps the provider message', () => {
    const e = httpError('p', 200, {}, '{"base_resp":{"status_code":2999,"status_msg":"some new condition"}}');
    expect(e.errorClass).toBe('bad_request');
    expect(e.isRetryable).toBe(false);
    expect(e.message).toContain('some new condition (2999)');
  });

  it('Gemini: RetryInfo gives the wait when no header does, and a header still wins', () => {
    const body = '{"error":{"code":429,"message":"Quota exceeded. Please retry in 7.5s.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"3s"}]}}';
    expect(httpError('p', 429, {}, body).retryAfterMs).toBe(3000);
    expect(httpError('p', 429, { 'retry-after': '1' }, body).retryAfterMs).toBe(1000);
    // A spent budget's reset is when it refills, not when the server asked to be called again: the body's word wins.
    expect(httpError('p', 429, { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '9s' }, body).retryAfterMs).toBe(3000);
    expect(httpError('p', 429, {}, body.replace(',"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"3s"}]', '')).retryAfterMs).toBe(7500);
  });

  it('redacts a key that a server echoes back', () => {
    registerSecret('sk-live-ECHOED-0123456789');
    const e = httpError('p', 401, {}, '{"error":{"message":"Incorrect API key provided: sk-live-ECHOED-0123456789"}}');
    expect(e.message).not.toContain('ECHOED-0123456789');
    expect(e.message).toContain('[REDACTED]');
  });
});

describe('retryAfterMs', () => {
  it('reads seconds, milliseconds and HTTP dates', () => {
    expect(retryAfterMs({ 'retry-after': '7' })).toBe(7000);
    expect(retryAfterMs({ 'retry-after-ms': '250', 'retry-after': '7' })).toBe(250);
    expect(retryAfterMs({ 'retry-after': 'Wed, 25 Nov 2026 10:00:30 GMT' }, Date.parse('2026-11-25T10:00:00Z'))).toBe(30_000);
    expect(retryAfterMs({ 'retry-after': 'soon' })).toBeUndefined();
    expect(retryAfterMs({})).toBeUndefined();
  });

  it('without one, the reset of a spent budget: OpenAI Go durations, Anthropic RFC 3339 times; never a signed number read as a date', () => {
    const openai = (remaining: string, reset: string) => retryAfterMs({ 'x-ratelimit-remaining-tokens': remaining, 'x-ratelimit-reset-tokens': reset });
    expect([openai('0', '6m0s'), openai('0', '12ms'), openai('0', '1h2m3.5s'), openai('0', '250us'), openai('0', '6m0'), openai('120', '6m0s')]).toEqual([360_000, 12, 3_723_500, 0.25, undefined, undefined]);
    const at = Date.parse('2026-11-25T10:00:00Z');
    const anthropic = (reset: string) => retryAfterMs({ 'anthropic-ratelimit-output-tokens-remaining': '0', 'anthropic-ratelimit-output-tokens-reset': reset }, at);
    expect([anthropic('2026-11-25T10:00:30Z'), anthropic('2026-11-25T09:59:00Z'), anthropic('2026'), anthropic('5')]).toEqual([30_000, 0, undefined, undefined]);
    expect(retryAfterMs({ 'retry-after': '2', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '9s' })).toBe(2000);
    expect([retryAfterMs({ 'retry-after': '-5' }), retryAfterMs({ 'retry-after': '+5' }), retryAfterMs({ 'retry-after': '1,5' }), retryAfterMs({ 'retry-after': '12:00' })]).toEqual([undefined, undefined, undefined, undefined]);
    expect(retryAfterMs({ 'retry-after': 'Wednesday, 25-Nov-26 10:00:30 GMT' }, Date.parse('2026-11-25T10:00:00Z'))).toBe(30_000); // RFC 850 form
  });
});

describe('readUsage', () => {
  it('OpenAI: cached tokens from prompt_tokens_details, reasoning from completion_tokens_details', () => {
    expect(readUsage({ prompt_tokens: 1210, completion_tokens: 42, total_tokens: 1252, prompt_tokens_details: { cached_tokens: 1024 }, completion_tokens_details: { reasoning_tokens: 32 } })).toEqual({
      inputTokens: 1210,
      cachedInputTokens: 1024,
      outputTokens: 42,
      reasoningTokens: 32,
    });
  });
  it('DeepSeek: prompt_cache_hit_tokens', () => {
    expect(readUsage({ prompt_tokens: 18, completion_tokens: 57, total_tokens: 75, prompt_cache_hit_tokens: 10, prompt_cache_miss_tokens: 8 })?.cachedInputTokens).toBe(10);
  });
  it('Moonshot: cached_tokens at the top level of usage', () => {
    expect(readUsage({ prompt_tokens: 96, completion_tokens: 9, total_tokens: 105, cached_tokens: 64 })?.cachedInputTokens).toBe(64);
  });
  it('MiniMax: the placeholder usage carries no counts', () => {
    expect(readUsage({ total_tokens: 0, total_characters: 0 })).toBeUndefined();
  });
  it('xAI: reasoning_tokens left out of completion_tokens (total = prompt + completion + reasoning) are counted once', () => {
    expect(readUsage({ prompt_tokens: 12, completion_tokens: 1, total_tokens: 303, completion_tokens_details: { reasoning_tokens: 290 } })).toEqual({ inputTokens: 12, cachedInputTokens: 0, outputTokens: 291, reasoningTokens: 290 });
  });
  it('Gemini: thinking tokens missing from completion_tokens are output all the same', () => {
    expect(readUsage({ prompt_tokens: 12, completion_tokens: 2, total_tokens: 214 })).toEqual({ inputTokens: 12, cachedInputTokens: 0, outputTokens: 202, reasoningTokens: 200 });
  });
});

describe('redact', () => {
  it('masks key-shaped strings it was never told about', () => {
    const out = redact('bad key sk-proj-abcdefghijklmnop and Bearer eyJhbGciOiJIUzI1 and cr_0123456789abcdef');
    expect(out).not.toMatch(/abcdefghijklmnop|eyJhbGciOiJIUzI1|0123456789abcdef/);
  });
});

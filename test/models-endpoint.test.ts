import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './cli-helpers.js';
import { routeServer } from './helpers.js';

/*
 * GET /v1/models, which `health --shallow` calls, judged by what the real services answered, not by our
 * emulator: recorded bodies served from a loopback server.
 *
 * Recordings (go-vcr cassettes of live calls, maruel/genai):
 *  - ANTHROPIC_MODEL: providers/anthropic/testdata/TestClient/GetModel.yaml @ a77a984d3b6e107009a17e72941a7cb19cab69f7,
 *    GET https://api.anthropic.com/v1/models/claude-sonnet-4-20250514, 200: one ModelInfo, verbatim.
 *  - ANTHROPIC_401: providers/anthropic/testdata/TestClient/errors/bad_apiKey/ListModels.yaml @ a2629bc542014f730a0662835b1d7df31b49db15
 *    (GET https://api.anthropic.com/v1/models?limit=1000 with a bad key).
 *  - OPENAI_401: providers/openaichat/testdata/TestClient/errors/bad_apiKey/ListModels.yaml @ 5f224cb2b6a40ff924832ce4e2284161fcf6d458.
 *  - DEEPSEEK_401: providers/deepseek/testdata/TestClient/errors/bad_apiKey/ListModels.yaml @ d68d6ff5a2f69a5509731250a211faf453b36610.
 * MiniMax has no model list: GET https://api.minimax.io/v1/models answers 404 "404 page not found", quoted in
 * MiniMax-AI/MiniMax-M2.5#19 (2026-03-13), where MiniMax replied "the /v1/models endpoint is not supported".
 */
const ANTHROPIC_MODEL = '{"type":"model","id":"claude-sonnet-4-20250514","display_name":"Claude Sonnet 4","created_at":"2025-05-22T00:00:00Z"}';
// Composed: the recorded ModelInfo above in the page envelope @anthropic-ai/sdk's Page reads (data, has_more, first_id, last_id).
const ANTHROPIC_PAGE = `{"data":[${ANTHROPIC_MODEL}],"has_more":false,"first_id":"claude-sonnet-4-20250514","last_id":"claude-sonnet-4-20250514"}`;
const ANTHROPIC_401 = '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_011CbXcvfEJXcr6SSABkFoMJ"}';
const OPENAI_401 = `{
  "error": {
    "message": "Incorrect API key provided: bad apiKey. You can find your API key at https://platform.openai.com/account/api-keys.",
    "type": "invalid_request_error",
    "param": null,
    "code": "invalid_api_key"
  }
}`;
const DEEPSEEK_401 = '{"error":{"message":"Authentication Fails, Your api key: ****iKey is invalid","type":"authentication_error","param":null,"code":"invalid_request_error"}}';
const MINIMAX_404 = '404 page not found';

const seen: Record<string, IncomingMessage['headers']> = {};
const reply = (status: number, type: string, body: string) => (res: ServerResponse, _n: number, req: IncomingMessage) => {
  seen[(req.url ?? '').split('/')[1]] = req.headers;
  res.writeHead(status, { 'content-type': type }).end(body);
};
const json = 'application/json';
const recorded = await routeServer({
  anthropic: reply(200, json, ANTHROPIC_PAGE),
  anthropic401: reply(401, json, ANTHROPIC_401),
  openai401: reply(401, json, OPENAI_401),
  deepseek401: reply(401, json, DEEPSEEK_401),
  minimax: reply(404, 'text/plain; charset=utf-8', MINIMAX_404),
});

const dir = mkdtempSync(join(tmpdir(), 'llmf-models-'));
const config = join(dir, 'providers.yaml');
const entry = (name: string, api: string, url: string, model: string) => `  ${name}: { api: ${api}, base_url: "${url}", model: ${model}, api_key_env: KEY }\n`;
writeFileSync(
  config,
  'providers:\n' +
    entry('anthropic', 'anthropic', recorded.url('anthropic'), 'claude-sonnet-4-20250514') +
    entry('anthropic401', 'anthropic', recorded.url('anthropic401'), 'claude-sonnet-4-20250514') +
    entry('openai401', 'openai', recorded.url('openai401'), 'gpt-4.1-nano') +
    entry('deepseek401', 'openai', recorded.url('deepseek401'), 'deepseek-chat') +
    entry('minimax', 'openai', recorded.url('minimax'), 'MiniMax-M2.7'),
);

async function shallow(names: string[], key = 'sk-test-key-0123'): Promise<Record<string, Record<string, unknown>>> {
  const r = await run(['--config', config, 'health', ...names, '--shallow', '--format', 'json'], { env: { KEY: key } });
  const j = JSON.parse(r.stdout) as { providers: { name: string }[] };
  return Object.fromEntries(j.providers.map((p) => [p.name, p as Record<string, unknown>]));
}

describe('health --shallow on recorded model-list answers', () => {
  it("reads Anthropic's page of ModelInfo as healthy, sending x-api-key and anthropic-version as the SDK does", async () => {
    const by = await shallow(['anthropic']);
    expect(by.anthropic).toMatchObject({ healthy: true, status: 200, error_class: null, cost_usd: 0 });
    expect(seen.anthropic['x-api-key']).toBe('sk-test-key-0123');
    expect(seen.anthropic['anthropic-version']).toBe('2023-06-01');
    expect(seen.anthropic.authorization).toBeUndefined();
  });

  it("classes each service's recorded 401 to the model list as auth", async () => {
    const by = await shallow(['anthropic401', 'openai401', 'deepseek401']);
    expect(by.anthropic401).toMatchObject({ healthy: false, status: 401, error_class: 'auth' });
    expect(by.anthropic401.error_message).toContain('invalid x-api-key');
    expect(by.openai401).toMatchObject({ healthy: false, status: 401, error_class: 'auth' });
    expect(by.deepseek401).toMatchObject({ healthy: false, status: 401, error_class: 'auth' });
    expect(seen.openai401.authorization).toBe('Bearer sk-test-key-0123');
  });

  it("says MiniMax's 404 means no model list, not an outage, and how to check it instead", async () => {
    const by = await shallow(['minimax']);
    expect(by.minimax).toMatchObject({ healthy: false, status: 404, error_class: 'bad_request' });
    expect(by.minimax.error_message).toBe(
      'minimax: no model list at its base_url (GET /models answered HTTP 404: 404 page not found), so --shallow cannot check it; some providers have none (MiniMax); check minimax without --shallow, or correct its base_url',
    );
  });
});

import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './cli-helpers.js';
import { emulator, routeServer } from './helpers.js';

/*
 * GET /v1/models, which `health --shallow` calls, judged by what the real services answered, not by our
 * emulator: recorded bodies served from a loopback server, then the emulator checked against the same
 * recordings and against the official SDKs' models.list().
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

const server = await emulator({
  oa: { dialect: 'openai', model: 'gpt-5.4-mini', api_key: 'sk-right' },
  ds: { dialect: 'deepseek', model: 'deepseek-v4-flash' },
  gm: { dialect: 'gemini', model: 'gemini-2.5-flash' },
  mm: { dialect: 'minimax', model: 'MiniMax-M2.7', api_key: 'sk-right' },
  an: { dialect: 'anthropic', model: 'claude-sonnet-4-6', models: ['claude-sonnet-4-6', 'claude-haiku-4-5'], api_key: 'sk-ant-right' },
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
    entry('minimax', 'openai', recorded.url('minimax'), 'MiniMax-M2.7') +
    entry('emu_an', 'anthropic', server.baseUrl('an'), 'claude-sonnet-4-6') +
    entry('emu_mm', 'openai', server.baseUrl('mm'), 'MiniMax-M2.7'),
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

  it('the emulator answers the shallow check as the recordings do: Anthropic healthy, MiniMax the same 404', async () => {
    const by = await shallow(['emu_an', 'emu_mm'], 'sk-ant-right');
    expect(by.emu_an).toMatchObject({ healthy: true, status: 200 });
    expect(by.emu_mm).toMatchObject({ healthy: false, status: 404, error_class: 'bad_request' });
    expect(by.emu_mm.error_message).toContain('(GET /models answered HTTP 404: 404 page not found)');
  });
});

describe("the emulator's GET /v1/models per dialect", () => {
  const anthropic = (apiKey: string) => new Anthropic({ apiKey, baseURL: server.baseUrl('an').replace(/\/v1$/, ''), maxRetries: 0, timeout: 5000 });
  const openai = (name: string, apiKey = 'sk-right') => new OpenAI({ apiKey, baseURL: server.baseUrl(name), maxRetries: 0, timeout: 5000 });

  it("Anthropic: @anthropic-ai/sdk's models.list() reads a page of ModelInfo shaped like the recorded one", async () => {
    const listed: Anthropic.ModelInfo[] = [];
    for await (const m of anthropic('sk-ant-right').models.list()) listed.push(m);
    expect(listed.map((m) => m.id)).toEqual(['claude-sonnet-4-6', 'claude-haiku-4-5']);
    const raw = (await (await fetch(`${server.baseUrl('an')}/models`, { headers: { 'x-api-key': 'sk-ant-right', 'anthropic-version': '2023-06-01' } })).json()) as Record<string, unknown>;
    const recordedKeys = Object.keys(JSON.parse(ANTHROPIC_MODEL) as object).sort();
    for (const m of raw.data as Record<string, unknown>[]) {
      expect(Object.keys(m).sort()).toEqual(recordedKeys);
      expect(m.type).toBe('model');
      expect(m.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    expect(raw).toMatchObject({ has_more: false, first_id: 'claude-sonnet-4-6', last_id: 'claude-haiku-4-5' });
    expect(raw).not.toHaveProperty('object');
  });

  it('Anthropic: a wrong key is the recorded 401, a missing anthropic-version the 400 /v1/messages gives', async () => {
    const wrong = await anthropic('sk-ant-wrong').models.list().catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(Anthropic.AuthenticationError);
    const body = (wrong as InstanceType<typeof Anthropic.AuthenticationError>).error as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe((JSON.parse(ANTHROPIC_401) as { error: { type: string } }).error.type);
    expect(body.error.message).toMatch(/^invalid x-api-key/);
    const noVersion = await fetch(`${server.baseUrl('an')}/models`, { headers: { 'x-api-key': 'sk-ant-right' } });
    expect(noVersion.status).toBe(400);
    const refused = (await noVersion.json()) as { type: string; error: { type: string; message: string }; request_id: string };
    expect(refused).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } });
    expect(refused.request_id).toBe(noVersion.headers.get('request-id'));
  });

  it("OpenAI, DeepSeek, Gemini: the openai SDK's models.list() reads each list; Gemini names models models/<id>", async () => {
    expect((await openai('oa').models.list()).data.map((m) => [m.id, m.object])).toEqual([['gpt-5.4-mini', 'model']]);
    expect((await openai('ds').models.list()).data.map((m) => m.id)).toEqual(['deepseek-v4-flash']);
    expect((await openai('gm').models.list()).data.map((m) => m.id)).toEqual(['models/gemini-2.5-flash']);
    const wrong = await openai('oa', 'sk-wrong').models.list().catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((wrong as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe((JSON.parse(OPENAI_401) as { error: { code: string } }).error.code);
  });

  it('MiniMax: no model list, whatever the key, as the live service (404 "404 page not found", plain text)', async () => {
    const r = await fetch(`${server.baseUrl('mm')}/models`, { headers: { authorization: 'Bearer sk-right' } });
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    expect((await r.text()).trim()).toBe(MINIMAX_404);
    expect(await openai('mm').models.list().catch((e: unknown) => e)).toBeInstanceOf(OpenAI.NotFoundError);
  });
});

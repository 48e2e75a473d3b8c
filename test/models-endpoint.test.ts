import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
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
/*
 * Whole lists, recorded by maruel/genai @ 23c16cde24c8854001963bd0c18adb3b18964e34 (2026-08-17), each the
 * GET .../models of providers/<name>/testdata/TestClient/Warmup.yaml:
 *  - DEEPSEEK_LIST: https://api.deepseek.com/models, verbatim.
 *  - ANTHROPIC_LIST: https://api.anthropic.com/v1/models?limit=1000, all ten models, each entry cut to the four
 *    fields the SDK's ModelInfo has (the recording adds max_input_tokens, max_tokens, capabilities). Models
 *    before the 4.6 generation are listed by dated id only.
 *  - OPENROUTER_LIST: https://openrouter.ai/api/v1/models, an excerpt: six of its 414 entries (the DeepSeek V4
 *    ones, a :free catalog variant, openrouter/auto), each cut to id, canonical_slug and name; the envelope
 *    (total_count, links) verbatim.
 *  - GEMINI_NATIVE: https://generativelanguage.googleapis.com/v1beta/models?pageSize=1000, one of its 50 entries
 *    verbatim: Gemini's own API, which lists `models` with `name`, not an OpenAI list.
 */
const DEEPSEEK_LIST = '{"object":"list","data":[{"id":"deepseek-v4-flash","object":"model","owned_by":"deepseek"},{"id":"deepseek-v4-pro","object":"model","owned_by":"deepseek"}]}';
const ANTHROPIC_LIST =
  '{"data":[{"type":"model","id":"claude-opus-5","display_name":"Claude Opus 5","created_at":"2026-07-24T00:00:00Z"},{"type":"model","id":"claude-sonnet-5","display_name":"Claude Sonnet 5","created_at":"2026-06-29T00:00:00Z"},{"type":"model","id":"claude-fable-5","display_name":"Claude Fable 5","created_at":"2026-06-07T00:00:00Z"},{"type":"model","id":"claude-opus-4-8","display_name":"Claude Opus 4.8","created_at":"2026-05-28T00:00:00Z"},{"type":"model","id":"claude-opus-4-7","display_name":"Claude Opus 4.7","created_at":"2026-04-14T00:00:00Z"},{"type":"model","id":"claude-sonnet-4-6","display_name":"Claude Sonnet 4.6","created_at":"2026-02-17T00:00:00Z"},{"type":"model","id":"claude-opus-4-6","display_name":"Claude Opus 4.6","created_at":"2026-02-04T00:00:00Z"},{"type":"model","id":"claude-opus-4-5-20251101","display_name":"Claude Opus 4.5","created_at":"2025-11-24T00:00:00Z"},{"type":"model","id":"claude-haiku-4-5-20251001","display_name":"Claude Haiku 4.5","created_at":"2025-10-15T00:00:00Z"},{"type":"model","id":"claude-sonnet-4-5-20250929","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"}],"has_more":false,"first_id":"claude-opus-5","last_id":"claude-sonnet-4-5-20250929"}';
const OPENROUTER_LIST =
  '{"data":[{"id":"deepseek/deepseek-v4-pro-0813","canonical_slug":"deepseek/deepseek-v4-pro-20260813","name":"DeepSeek: DeepSeek V4 Pro 0813"},{"id":"deepseek/deepseek-v4-flash-0731","canonical_slug":"deepseek/deepseek-v4-flash-20260731","name":"DeepSeek: DeepSeek V4 Flash 0731"},{"id":"z-ai/glm-5.2:free","canonical_slug":"z-ai/glm-5.2-20260616","name":"Z.ai: GLM 5.2 (free)"},{"id":"deepseek/deepseek-v4-pro","canonical_slug":"deepseek/deepseek-v4-pro-20260423","name":"DeepSeek: DeepSeek V4 Pro 0423"},{"id":"deepseek/deepseek-v4-flash","canonical_slug":"deepseek/deepseek-v4-flash-20260423","name":"DeepSeek: DeepSeek V4 Flash 0423"},{"id":"openrouter/auto","canonical_slug":"openrouter/auto","name":"Auto Router"}],"total_count":414,"links":{"next":null}}';
const GEMINI_NATIVE =
  '{"models":[{"name":"models/gemini-2.5-flash","version":"001","displayName":"Gemini 2.5 Flash","description":"Stable version of Gemini 2.5 Flash, our mid-size multimodal model that supports up to 1 million tokens, released in June of 2025.","inputTokenLimit":1048576,"outputTokenLimit":65536,"supportedGenerationMethods":["generateContent","countTokens","createCachedContent","batchGenerateContent"],"temperature":1,"topP":0.95,"topK":64,"maxTemperature":2,"thinking":true}]}';

/*
 * Pages, hand-written in the recorded envelopes above (OpenRouter's data + total_count + links.next, a path
 * on its own host as its API reference's example "/api/v1/models?offset=500&limit=500"; Anthropic's data +
 * has_more + first_id + last_id): no recording pages, since the real lists fit one page today.
 */
const orPage = (ids: string[], next: string | null) => JSON.stringify({ data: ids.map((id) => ({ id, canonical_slug: id, name: id })), total_count: 414, links: { next } });
const anPage = (ids: string[], hasMore: boolean) =>
  JSON.stringify({ data: ids.map((id) => ({ type: 'model', id, display_name: id, created_at: '2026-07-24T00:00:00Z' })), has_more: hasMore, first_id: ids[0], last_id: ids[ids.length - 1] });
/**
 * OpenRouter's whole recorded list, the body of the Warmup.yaml interaction above (maruel/genai
 * providers/openrouter/testdata/TestClient/Warmup.yaml @ 23c16cde24c8854001963bd0c18adb3b18964e34,
 * 2026-08-17, GET https://openrouter.ai/api/v1/models): 414 models in 681,068 bytes, one page, links.next
 * null, kept verbatim, gzipped, in test/fixtures/models/openrouter-models.json.gz.
 */
const OPENROUTER_WHOLE = gunzipSync(readFileSync(new URL('./fixtures/models/openrouter-models.json.gz', import.meta.url))).toString('utf8');
/**
 * Hand-written, a hostile list: an id of 5,000 characters and one carrying terminal escapes (a colour, a
 * window title). The shallow check's suggestions quote listed ids, so they must come out short and inert.
 */
const HOSTILE_LIST = JSON.stringify({ object: 'list', data: [{ id: 'x'.repeat(5000) }, { id: 'evil\u001b[31m-model\u001b]0;pwned\u0007' }] });
/** Each request's path and query, by route. */
const urls: Record<string, string[]> = {};
const paged = (body: (n: number) => string) => (res: ServerResponse, n: number, req: IncomingMessage) => {
  const name = (req.url ?? '').split('/')[1];
  (urls[name] ??= []).push(req.url ?? '');
  res.writeHead(200, { 'content-type': 'application/json' }).end(body(n));
};

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
  deepseekList: reply(200, json, DEEPSEEK_LIST),
  anthropicList: reply(200, json, ANTHROPIC_LIST),
  openrouterList: reply(200, json, OPENROUTER_LIST),
  geminiNative: reply(200, json, GEMINI_NATIVE),
  orBig: reply(200, json, OPENROUTER_WHOLE),
  hostile: reply(200, json, HOSTILE_LIST),
  orPaged: paged((n) => (n === 1 ? orPage(['deepseek/deepseek-v4-pro', 'openrouter/auto'], '/orPaged/v1/models?offset=2&limit=2') : orPage(['deepseek/deepseek-v4-flash'], null))),
  orLoop: paged(() => orPage(['openrouter/auto'], '/orLoop/v1/models?offset=1')),
  orElsewhere: paged(() => orPage(['openrouter/auto'], 'http://localhost:9/api/v1/models?offset=1')),
  anLoop: paged(() => anPage(['claude-opus-5'], true)),
  anEndless: paged((n) => anPage([`claude-page-${n}`], true)),
});

const BIG_LIST = ['claude-sonnet-4-6', ...Array.from({ length: 1024 }, (_, i) => `claude-emu-${String(i + 1).padStart(4, '0')}`)];
const server = await emulator({
  oa: { dialect: 'openai', model: 'gpt-5.4-mini', api_key: 'sk-right' },
  ds: { dialect: 'deepseek', model: 'deepseek-v4-flash' },
  gm: { dialect: 'gemini', model: 'gemini-2.5-flash' },
  mm: { dialect: 'minimax', model: 'MiniMax-M2.7', api_key: 'sk-right' },
  an: { dialect: 'anthropic', model: 'claude-sonnet-4-6', models: ['claude-sonnet-4-6', 'claude-haiku-4-5'], api_key: 'sk-ant-right' },
  // More models than Anthropic's largest page (1,000): the last ones are on page 2 however the client pages.
  anBig: { dialect: 'anthropic', model: 'claude-sonnet-4-6', models: BIG_LIST, api_key: 'sk-ant-right' },
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
    entry('emu_mm', 'openai', server.baseUrl('mm'), 'MiniMax-M2.7') +
    entry('ds_ok', 'openai', recorded.url('deepseekList'), 'deepseek-v4-pro') +
    entry('ds_typo', 'openai', recorded.url('deepseekList'), 'deepseek-v4-flsh') +
    entry('an_dated', 'anthropic', recorded.url('anthropicList'), 'claude-haiku-4-5-20251001') +
    entry('an_alias', 'anthropic', recorded.url('anthropicList'), 'claude-haiku-4-5') +
    entry('an_new', 'anthropic', recorded.url('anthropicList'), 'claude-sonnet-4-6') +
    entry('an_retired', 'anthropic', recorded.url('anthropicList'), 'claude-3-5-sonnet-20241022') +
    entry('an_prefix', 'anthropic', recorded.url('anthropicList'), 'claude-sonnet') +
    entry('or_ok', 'openai', recorded.url('openrouterList'), 'deepseek/deepseek-v4-flash') +
    entry('or_nitro', 'openai', recorded.url('openrouterList'), 'deepseek/deepseek-v4-flash:nitro') +
    entry('or_free', 'openai', recorded.url('openrouterList'), 'deepseek/deepseek-v4-flash:free') +
    entry('or_bare', 'openai', recorded.url('openrouterList'), 'deepseek-v4-flash') +
    entry('gm_native', 'openai', recorded.url('geminiNative'), 'gemini-2.5-flash') +
    entry('emu_gm', 'openai', server.baseUrl('gm'), 'gemini-2.5-flash') +
    entry('emu_gm_prefixed', 'openai', server.baseUrl('gm'), 'models/gemini-2.5-flash') +
    entry('emu_gm_typo', 'openai', server.baseUrl('gm'), 'gemini-2.5-flahs') +
    entry('emu_an_page2', 'anthropic', server.baseUrl('anBig'), 'claude-emu-1024') +
    entry('emu_an_unlisted', 'anthropic', server.baseUrl('anBig'), 'claude-emu-2000') +
    entry('or_big', 'openai', recorded.url('orBig'), 'deepseek/deepseek-v4-flash') +
    entry('hostile', 'openai', recorded.url('hostile'), 'evil-modle') +
    entry('or_paged', 'openai', recorded.url('orPaged'), 'deepseek/deepseek-v4-flash') +
    entry('or_loop', 'openai', recorded.url('orLoop'), 'deepseek/deepseek-v4-flash') +
    entry('or_elsewhere', 'openai', recorded.url('orElsewhere'), 'deepseek/deepseek-v4-flash') +
    entry('an_loop', 'anthropic', recorded.url('anLoop'), 'claude-sonnet-4-6') +
    entry('an_endless', 'anthropic', recorded.url('anEndless'), 'claude-sonnet-4-6'),
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

describe('health --shallow checks the configured model against the recorded lists', () => {
  const fields = (p: Record<string, unknown>) => [p.healthy, p.error_class, p.status];

  it('OpenAI-style (DeepSeek): a listed model is healthy; a typo is down, naming the model and the closest listed id, exit 1', async () => {
    const by = await shallow(['ds_ok', 'ds_typo']);
    expect(fields(by.ds_ok)).toEqual([true, null, 200]);
    expect(fields(by.ds_typo)).toEqual([false, 'bad_request', null]);
    expect(by.ds_typo.error_message).toBe(
      'ds_typo: model "deepseek-v4-flsh" is not in its model list (GET /models, 2 models), so every call to it would fail; closest listed: deepseek-v4-flash, deepseek-v4-pro; set ds_typo\'s model in providers.yaml to a listed one',
    );
    const r = await run(['--config', config, 'health', 'ds_typo', '--shallow'], { env: { KEY: 'sk-test-key-0123' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('✗ ds_typo: bad_request: model "deepseek-v4-flsh" is not in its model list');
  });

  it('Anthropic: a dated id and its dateless alias (listed by dated id only) are healthy, as is a 4.6-generation id; a retired model and a bare family name are down', async () => {
    const by = await shallow(['an_dated', 'an_alias', 'an_new', 'an_retired', 'an_prefix']);
    expect(fields(by.an_dated)).toEqual([true, null, 200]);
    expect(fields(by.an_alias)).toEqual([true, null, 200]);
    expect(fields(by.an_new)).toEqual([true, null, 200]);
    expect(fields(by.an_retired)).toEqual([false, 'bad_request', null]);
    expect(by.an_retired.error_message).toMatch(/^an_retired: model "claude-3-5-sonnet-20241022" is not in its model list \(GET \/models, 10 models\), so every call to it would fail; closest listed: claude-sonnet-4-6, claude-sonnet-4-5-20250929, claude-sonnet-5; /);
    expect(fields(by.an_prefix)).toEqual([false, 'bad_request', null]);
  });

  it('OpenRouter: a listed id and a routing variant of it (:nitro, not listed) are healthy; a catalog variant it does not list, or an id without its vendor, is down', async () => {
    const by = await shallow(['or_ok', 'or_nitro', 'or_free', 'or_bare']);
    expect(fields(by.or_ok)).toEqual([true, null, 200]);
    expect(fields(by.or_nitro)).toEqual([true, null, 200]);
    expect(fields(by.or_free)).toEqual([false, 'bad_request', null]);
    expect(fields(by.or_bare)).toEqual([false, 'bad_request', null]);
    expect(by.or_bare.error_message).toContain('closest listed: deepseek/deepseek-v4-flash, ');
  });

  it("Gemini: the emulator lists models/<id> and the bare id (what the chat API takes) is found, prefixed or not; a typo's suggestion is the bare id", async () => {
    const by = await shallow(['emu_gm', 'emu_gm_prefixed', 'emu_gm_typo']);
    expect(fields(by.emu_gm)).toEqual([true, null, 200]);
    expect(fields(by.emu_gm_prefixed)).toEqual([true, null, 200]);
    expect(fields(by.emu_gm_typo)).toEqual([false, 'bad_request', null]);
    expect(by.emu_gm_typo.error_message).toContain('closest listed: gemini-2.5-flash;');
  });

  it("a list that names no model (Gemini's native API, not its OpenAI-compatible one) is a clear failure, not a crash or a pass", async () => {
    const by = await shallow(['gm_native']);
    expect(fields(by.gm_native)).toEqual([false, 'bad_request', null]);
    expect(by.gm_native.error_message).toBe(
      'gm_native: its model list (GET /models) names no model, so --shallow cannot check gemini-2.5-flash: a list is {"data":[{"id":...}]}; check that base_url is the OpenAI-compatible (or Anthropic) API\'s, or check gm_native without --shallow',
    );
  });
});

describe('health --shallow reads every page of a model list, and no more than it must', () => {
  const fields = (p: Record<string, unknown>) => [p.healthy, p.error_class, p.status];

  it("Anthropic (the emulator paging as the API does): a model on page 2 is listed; the largest page is asked for, so 1,025 models take two requests", async () => {
    const by = await shallow(['emu_an_page2', 'emu_an_unlisted'], 'sk-ant-right');
    expect(fields(by.emu_an_page2)).toEqual([true, null, 200]);
    expect(fields(by.emu_an_unlisted)).toEqual([false, 'bad_request', null]);
    // All 1,025 were read: at the API's default page of 20 it would have taken 52 requests, past the cap.
    expect(by.emu_an_unlisted.error_message).toMatch(/^emu_an_unlisted: model "claude-emu-2000" is not in its model list \(GET \/models, 1025 models\)/);
  });

  it('OpenRouter: links.next is followed on its own host until null, the page query as the link gives it', async () => {
    const by = await shallow(['or_paged']);
    expect(fields(by.or_paged)).toEqual([true, null, 200]);
    expect(urls.orPaged).toEqual(['/orPaged/v1/models', '/orPaged/v1/models?offset=2&limit=2']);
  });

  it("OpenRouter: its whole recorded list (414 models, 0.68 MB in one page) is read whole", async () => {
    expect(Buffer.byteLength(OPENROUTER_WHOLE)).toBe(681_068);
    const by = await shallow(['or_big']);
    expect(fields(by.or_big)).toEqual([true, null, 200]);
  });

  it("a hostile list's ids are quoted short and without escapes in the suggestion", async () => {
    const r = await run(['--config', config, 'health', 'hostile', '--shallow'], { env: { KEY: 'sk-test-key-0123' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/closest listed: evil-model, x{100}…;/);
    expect(r.stdout).not.toContain('\x1b');
    expect(r.stdout).not.toContain('x'.repeat(101));
  });

  it('a list that repeats a page, or never ends, or links to another host, is a clear failure after a bounded number of requests', async () => {
    const by = await shallow(['an_loop', 'or_loop', 'an_endless', 'or_elsewhere']);
    expect(urls.anLoop).toEqual(['/anLoop/v1/models?limit=1000', '/anLoop/v1/models?limit=1000&after_id=claude-opus-5']);
    expect(by.an_loop).toMatchObject({ healthy: false, error_class: 'malformed_response' });
    expect(by.an_loop.error_message).toBe('an_loop: its model list (GET /models) led back to a page already read after page 2, so it would never end; check an_loop without --shallow');
    expect(urls.orLoop).toEqual(['/orLoop/v1/models', '/orLoop/v1/models?offset=1']);
    expect(by.or_loop.error_message).toBe('or_loop: its model list (GET /models) led back to a page already read after page 2, so it would never end; check or_loop without --shallow');
    expect(urls.anEndless).toHaveLength(20);
    expect(urls.anEndless[19]).toBe('/anEndless/v1/models?limit=1000&after_id=claude-page-19');
    expect(by.an_endless).toMatchObject({ healthy: false, error_class: 'malformed_response' });
    expect(by.an_endless.error_message).toBe('an_endless: its model list (GET /models) had more than 20 pages (20 models so far) and was not read to the end; check an_endless without --shallow');
    expect(urls.orElsewhere).toEqual(['/orElsewhere/v1/models']);
    expect(by.or_elsewhere.error_message).toBe(
      'or_elsewhere: its model list\'s next page (links.next) is on another host, localhost:9, and is not followed (credentials are never sent to another host); check or_elsewhere without --shallow',
    );
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

  it("Anthropic: @anthropic-ai/sdk's models.list() pages the emulator by limit, after_id and before_id", async () => {
    const client = new Anthropic({ apiKey: 'sk-ant-right', baseURL: server.baseUrl('anBig').replace(/\/v1$/, ''), maxRetries: 0, timeout: 5000 });
    // Auto-pagination at the default page of 20: 52 pages, every model once, in order.
    const listed: string[] = [];
    for await (const m of client.models.list()) listed.push(m.id);
    expect(listed).toEqual(BIG_LIST);
    const first = await client.models.list({ limit: 1000 });
    expect([first.data.length, first.has_more, first.first_id, first.last_id]).toEqual([1000, true, BIG_LIST[0], BIG_LIST[999]]);
    const second = await first.getNextPage();
    expect([second.data.length, second.has_more, second.last_id, second.hasNextPage()]).toEqual([25, false, 'claude-emu-1024', false]);
    // Backwards from before_id, as the SDK pages when asked so.
    const back: string[] = [];
    for await (const m of client.models.list({ before_id: BIG_LIST[25], limit: 10 })) back.push(m.id);
    expect(back).toEqual([...BIG_LIST.slice(15, 25), ...BIG_LIST.slice(5, 15), ...BIG_LIST.slice(0, 5)]);
    expect(await client.models.list({ limit: 1001 }).catch((e: unknown) => e)).toBeInstanceOf(Anthropic.BadRequestError);
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

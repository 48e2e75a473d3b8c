import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findConfigFile, loadConfig, parseConfig, resolveProvider, SHIPPED_CONFIG } from '../src/config/load.js';
import { toJsonSchema } from '../src/config/schema.js';
import { ConfigError } from '../src/errors.js';

const dir = new URL('./fixtures/config/', import.meta.url);

function problemsOf(text: string, file: string): string[] {
  try {
    parseConfig(text, file);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('broken config corpus: exact message and position', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  it('has fixtures', () => expect(files.length).toBeGreaterThanOrEqual(10));
  it.each(files)('%s', (file) => {
    const text = readFileSync(new URL(file, dir), 'utf8');
    const expected = [...text.matchAll(/^# expect: (.*)$/gm)].map((m) => m[1]);
    expect(expected.length).toBeGreaterThan(0);
    expect(problemsOf(text, file)).toEqual(expected);
  });
});

describe('the shipped providers.yaml', () => {
  const cfg = loadConfig(SHIPPED_CONFIG);
  it('declares the article’s providers and the usual references, with dated prices', () => {
    for (const name of ['holysheep', 'deepseek', 'kimi', 'minimax', 'openai', 'anthropic', 'gemini', 'openrouter', 'ollama']) {
      const p = cfg.providers.get(name);
      expect(p, name).toBeDefined();
      expect(p!.price?.pricedAt).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(p!.price?.source).toBeTruthy();
    }
    expect(cfg.providers.get('holysheep')!.baseUrl).toBe('https://api.holysheep.ai/v1');
    expect(cfg.providers.get('anthropic')!.api).toBe('anthropic');
  });
  it('has the article’s default chain and a static message', () => {
    expect(cfg.chains.get('default')!.providers).toEqual(['holysheep', 'deepseek', 'kimi', 'minimax']);
    expect(cfg.staticMessage).toBeTruthy();
  });
  it('references the published schema, which is generated from the code’s schema', () => {
    expect(readFileSync(SHIPPED_CONFIG, 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\/schema\/providers\.schema\.json/);
    const published = JSON.parse(readFileSync(new URL('../schema/providers.schema.json', import.meta.url), 'utf8'));
    expect(published).toEqual(toJsonSchema());
  });
});

describe('lookup order and key resolution', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'llmf-cfg-'));
  const local = join(tmp, 'providers.yaml');
  writeFileSync(local, 'providers:\n  p:\n    api: openai\n    base_url: ${BASE}/v1\n    model: m\n    api_key_env: P_KEY\n    headers: { X-Team: "${TEAM}" }\n');

  it('prefers --config, then $LLM_FALLBACK_CONFIG, then ./providers.yaml, then the shipped file', () => {
    expect(findConfigFile('x.yaml', { LLM_FALLBACK_CONFIG: 'y.yaml' }, tmp)).toBe(join(tmp, 'x.yaml'));
    expect(findConfigFile(undefined, { LLM_FALLBACK_CONFIG: 'y.yaml' }, tmp)).toBe(join(tmp, 'y.yaml'));
    expect(findConfigFile(undefined, {}, tmp)).toBe(local);
    expect(findConfigFile(undefined, {}, tmpdir())).toBe(SHIPPED_CONFIG);
  });

  it('reports a missing key only when the provider is used, naming the variable', () => {
    const cfg = loadConfig(local);
    const p = cfg.providers.get('p')!;
    expect(() => resolveProvider(p, { BASE: 'https://x.test', TEAM: 't' })).toThrow(/set the environment variable P_KEY \(export P_KEY=\.\.\.\)/);
  });

  it('expands ${VAR} in strings and reports an unset one', () => {
    const p = loadConfig(local).providers.get('p')!;
    const s = resolveProvider(p, { BASE: 'https://x.test', TEAM: 'red', P_KEY: 'k' });
    expect(s.baseUrl).toBe('https://x.test/v1');
    expect(s.headers['X-Team']).toBe('red');
    expect(s.apiKey).toBe('k');
    expect(() => resolveProvider(p, { TEAM: 'red', P_KEY: 'k' })).toThrow(/uses \$\{BASE\}, which is not set/);
  });

  it('takes ${VAR} inside a URL (a port), checks it once expanded, and keeps header values to one line', () => {
    const text = 'providers:\n  p: { api: openai, base_url: "http://127.0.0.1:${PORT}/v1", model: m, headers: { X-Team: "${TEAM}" } }\n  q: { api: openai, base_url: "http://127.0.0.1:${PORT/v1", model: m }\n';
    expect(problemsOf(text, 'u.yaml')).toEqual(['u.yaml:3:31: providers.q.base_url: "http://127.0.0.1:${PORT/v1" is not a valid http(s) URL; write it like https://api.example.com/v1']);
    const p = parseConfig(text.split('\n').slice(0, 2).join('\n'), 'u.yaml').providers.get('p')!;
    expect(resolveProvider(p, { PORT: '8080', TEAM: 'red' }).baseUrl).toBe('http://127.0.0.1:8080/v1');
    expect(() => resolveProvider(p, { PORT: 'x y', TEAM: 'red' })).toThrow('u.yaml:2:3: provider p: base_url "http://127.0.0.1:x y/v1" is not a valid URL after expanding variables');
    expect(() => resolveProvider(p, { PORT: '8080', TEAM: 'red\r\nX-Evil: 1' })).toThrow('u.yaml:2:3: provider p: header X-Team holds a control character (a line break, NUL, …) or a character outside Latin-1 once its variables are expanded; no HTTP header may carry one');
    expect(() => resolveProvider(p, { PORT: '8080', TEAM: 'team 🚀' })).toThrow(/header X-Team holds a control character .* or a character outside Latin-1 once/);
  });

  it('says which path it could not read', () => {
    expect(() => loadConfig(join(tmp, 'nope.yaml'))).toThrow(/cannot read config \(no such file\); check the --config path/);
  });
});

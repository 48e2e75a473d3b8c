/**
 * config check catches what used to pass and fail later: an endpoint path in base_url, an unset ${VAR},
 * a key over plain HTTP to a remote host, the api_key typo; prices without a date or older than 90 days
 * are flagged by config check, cost and bench.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './cli-helpers.js';
import { emulator } from './helpers.js';
import { priceNotes } from '../src/cost/price-age.js';
import { loadConfig } from '../src/config/load.js';
import { configWarnings } from '../src/config/warnings.js';

const server = await emulator({ good: { dialect: 'openai', output_tokens: { dist: 'constant', value: 3 } } });
const dir = mkdtempSync(join(tmpdir(), 'llmf-check-'));
const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};
const env = { XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache'), REMOTE_URL: 'http://0.0.0.0:9/v1' };

describe('config check', () => {
  it('warns (stderr, exit 0) about settings that would fail at run time or mislead', async () => {
    const file = write(
      'warn.yaml',
      `providers:
  a: { api: openai, base_url: "https://api.example.com/v1/chat/completions", model: m, price: { input: 1, output: 2 } }
  b: { api: anthropic, base_url: "https://api.example.com/v1/messages/", model: m, price: { input: 1, output: 2, priced_at: 2020-01-01 } }
  c: { api: openai, base_url: "http://10.0.0.5:8000/v1", model: m, headers: { api-key: "\${UNSET_AZURE_KEY}" } }
  d: { api: openai, base_url: "\${REMOTE_URL}", model: m, api_key_env: D_KEY }
  e: { api: openai, base_url: "http://127.0.0.1:9/v1", model: m, api_key_env: E_KEY, price: { input: 1, output: 2, priced_at: ${new Date().toISOString().slice(0, 10)} } }
  f: { api: openai, base_url: "http://10.0.0.6/v1?key=\${E_KEY}", model: m }
  g: { api: openai, base_url: "https://api.example.com/v1", model: m, price: { input: 0.1, cached_input: 1, output: 2, priced_at: 2099-01-01 } }
`,
    );
    const r = await run(['config', 'check', file], { env });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`${file}: ok — 7 providers, chains: default (7); 11 warnings above`);
    const days = Math.floor((Date.now() - Date.parse('2020-01-01T00:00:00Z')) / 86_400_000);
    // Ahead of the date it is anywhere now: counted on the clock of UTC+14, the zone that reaches a date first.
    const ahead = -Math.floor((Date.now() + 14 * 3_600_000 - Date.parse('2099-01-01T00:00:00Z')) / 86_400_000);
    expect(r.stderr.trim().split('\n')).toEqual([
      `${file}:2:3: warning: providers.a.base_url ends in /chat/completions; give the API root (e.g. https://api.example.com/v1): the tool adds /chat/completions itself`,
      `${file}:2:3: warning: providers.a.price has no priced_at; add the date you read it (YYYY-MM-DD) so an old price can be flagged`,
      `${file}:3:3: warning: providers.b.base_url ends in /messages; give the API root (e.g. https://api.example.com/v1): the tool adds /messages itself`,
      `${file}:3:3: warning: providers.b.price.priced_at is 2020-01-01, ${days} days ago; check the price and update priced_at`,
      `${file}:4:3: warning: providers.c.headers.api-key uses \${UNSET_AZURE_KEY}, which is not set; export UNSET_AZURE_KEY=... before using c`,
      `${file}:4:3: warning: providers.c.base_url is plain http to 10.0.0.5:8000, which is not loopback; c's key would be refused at run time: use https://`,
      `${file}:5:3: warning: providers.d.base_url is plain http to 0.0.0.0:9, which is not loopback; d's key would be refused at run time: use https://`,
      `${file}:7:3: warning: providers.f.base_url uses \${E_KEY}, which is not set; export E_KEY=... before using f`,
      `${file}:7:3: warning: providers.f.base_url is plain http to 10.0.0.6, which is not loopback; f's key would be refused at run time: use https://`,
      `${file}:8:3: warning: providers.g.price.priced_at is 2099-01-01, ${ahead} days ahead; give the date you read the price`,
      `${file}:8:3: warning: providers.g.price.cached_input (1) is above price.input (0.1); cached input is billed at a fraction of input: check the two are not swapped`,
    ]);
  });

  it('a priced_at that is today somewhere on Earth is not "ahead": a user east of UTC writes their own date', () => {
    // 21:00 UTC on 30 Nov is 06:00 on 1 Dec in Tokyo (UTC+9) and 11:00 in Kiritimati (UTC+14): 1 Dec is
    // today there. 2 Dec is today nowhere yet.
    const asOf = new Date('2026-11-30T21:00:00Z');
    const warned = (date: string) => {
      const file = write(`tz-${date}.yaml`, `providers:\n  p: { api: openai, base_url: "https://x.example/v1", model: m, price: { input: 1, output: 2, priced_at: ${date} } }\n`);
      return configWarnings(loadConfig(file, env), env, asOf).map((w) => w.slice(w.indexOf('warning: ')));
    };
    expect(warned('2026-11-30')).toEqual([]);
    expect(warned('2026-12-01')).toEqual([]);
    expect(warned('2026-12-02')).toEqual(['warning: providers.p.price.priced_at is 2026-12-02, 1 day ahead; give the date you read the price']);
  });

  it('says "1 provider", and suggests api_key_env for api_key', async () => {
    const one = write('one.yaml', `providers:\n  p: { api: openai, base_url: "https://x.example/v1", model: m }\n`);
    const ok = await run(['config', 'check', one], { env });
    expect(ok.stdout.trim()).toBe(`${one}: ok — 1 provider, chains: default (1)`);
    expect(ok.stderr).toBe('');
    const typo = write('typo.yaml', `providers:\n  p: { api: openai, base_url: "https://x.example/v1", model: m, api_key: sk-123 }\n`);
    const bad = await run(['config', 'check', typo], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      `${typo}:2:65: providers.p.api_key: unknown key; did you mean "api_key_env"? It takes the name of the environment variable that holds the key (e.g. DEEPSEEK_API_KEY), never the key itself`,
    );
  });
});

describe('old and undated prices', () => {
  const file = write(
    'prices.yaml',
    `providers:
  old: { api: openai, base_url: "${server.baseUrl('good')}", model: m, price: { input: 1, output: 2, priced_at: 2020-01-01 } }
  undated: { api: openai, base_url: "${server.baseUrl('good')}", model: m, price: { input: 1, output: 2 } }
  fresh: { api: openai, base_url: "${server.baseUrl('good')}", model: m, price: { input: 1, output: 2, priced_at: ${new Date().toISOString().slice(0, 10)} } }
`,
  );
  const stale = /^Prices older than 90 days: old \(2020-01-01, \d+ days\); check them and update priced_at in the config\.$/m;
  const undated = /^Prices with no priced_at date: undated; add the date you read them \(YYYY-MM-DD\)\.$/m;

  it('are noted under the cost tables and in its JSON', async () => {
    const r = await run(['--config', file, 'cost', '--output-tokens', '1M'], { env });
    expect(r.code, r.stderr).toBe(0);
    // Wrapped to 100 columns with a two-space continuation indent, as under the bench table.
    const prose = r.stdout.replace(/\n {2}(?=\S)/g, ' ');
    expect(prose).toMatch(stale);
    expect(prose).toMatch(undated);
    expect(r.stdout).not.toMatch(/fresh \(/);
    const j = JSON.parse((await run(['--config', file, 'cost', '--output-tokens', '1M', '--format', 'json'], { env })).stdout);
    expect(j.notes).toHaveLength(2);
    expect(j.prices.find((p: { provider: string }) => p.provider === 'undated').priced_at).toBeNull();
  });

  it('are noted under the bench table and in the result file', async () => {
    const out = join(dir, 'bench.json');
    const r = await run(['--config', file, 'bench', 'old', 'undated', 'fresh', '-n', '1', '-q', '--out', out], { env });
    expect(r.code, r.stderr).toBe(0);
    // The table's prose is wrapped to 100 columns with a two-space continuation indent.
    const prose = r.stdout.replace(/\n {2}(?=\S)/g, ' ');
    expect(prose).toMatch(stale);
    expect(prose).toMatch(undated);
    const notes: string[] = JSON.parse(readFileSync(out, 'utf8')).notes;
    expect(notes.some((n) => stale.test(n))).toBe(true);
  });

  it('are judged as of a given date, at 90 days exactly', () => {
    const asOf = new Date('2026-04-01T12:00:00Z');
    expect(priceNotes([{ name: 'a', pricedAt: '2026-01-01' }], asOf)).toEqual([]); // 90 days
    expect(priceNotes([{ name: 'a', pricedAt: '2025-12-31' }], asOf)).toEqual(['Prices older than 90 days: a (2025-12-31, 91 days); check them and update priced_at in the config.']);
  });
});

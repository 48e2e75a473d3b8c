/**
 * Names from providers.yaml and text from servers in CJK, emoji, combining accents and scripts with
 * marks, through every table the CLI prints: real runs against the emulator, each table measured with
 * displayWidth (UAX #11 / UTS #51, checked in width.test.ts) and its borders found at the same columns on
 * every line. Bidi and invisible controls from a server never reach the output; in a name they are refused.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './cli-helpers.js';
import { emulator } from './helpers.js';
import { displayWidth } from '../src/format/width.js';

const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  deep: { dialect: 'openai', output_tokens: c(3), ttft: c(5) },
  fast: { dialect: 'openai', output_tokens: c(3) },
  // A served-model name and an error message carrying bidi overrides, isolates and zero-width characters.
  trick: { dialect: 'openai', model: 'gpt-\u202eevil\u202c-\u200bmini', models: ['gpt-\u202eevil\u202c-\u200bmini', 'm'], output_tokens: c(3) },
  broken: { dialect: 'openai', script: [{ kind: 'status', status: 400, message: 'bad \u202eledom\u202c \u2066x\u2069 \u200bname\ufeff', times: 99 }] },
});

const NAMES = { deep: '深度求索深度求索', fast: '🚀fast', accent: 'cafe\u0301', coder: '👩\u200d💻coder', melt: '\u{1fae0}melt', hebrew: 'שָׁלוֹם', trick: 'トリック', broken: 'ошибка' };
const dir = mkdtempSync(join(tmpdir(), 'llmf-wide-'));
const config = join(dir, 'providers.yaml');
const price = 'price: { input: 0.3, output: 1.2, priced_at: 2026-11-24 }';
writeFileSync(
  config,
  `providers:
  "${NAMES.deep}": { api: openai, base_url: "${server.baseUrl('deep')}", model: "深度-chat-大模型", ${price} }
  "${NAMES.fast}": { api: openai, base_url: "${server.baseUrl('fast')}", model: gpt-test, ${price} }
  "${NAMES.accent}": { api: openai, base_url: "${server.baseUrl('fast')}", model: gpt-test }
  "${NAMES.coder}": { api: openai, base_url: "${server.baseUrl('fast')}", model: gpt-test }
  "${NAMES.melt}": { api: openai, base_url: "${server.baseUrl('fast')}", model: gpt-test }
  "${NAMES.hebrew}": { api: openai, base_url: "${server.baseUrl('fast')}", model: gpt-test, ${price} }
  "${NAMES.trick}": { api: openai, base_url: "${server.baseUrl('trick')}", model: m }
  "${NAMES.broken}": { api: openai, base_url: "${server.baseUrl('broken')}", model: m }
chains:
  默认: ["${NAMES.deep}", "${NAMES.fast}", "${NAMES.accent}", "${NAMES.coder}", "${NAMES.melt}", "${NAMES.hebrew}", "${NAMES.trick}", "${NAMES.broken}"]
`,
);
const env = { XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') };
const BIDI_OR_INVISIBLE = /[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/u;

/** Each table in the output (┌ to ┘), as its lines. */
function tables(out: string): string[][] {
  return [...out.matchAll(/^┌[^\n]*\n(?:[^\n]*\n)*?└[^\n]*$/gm)].map((m) => m[0].split('\n'));
}

/** The terminal columns of a line's box-drawing borders, the line measured character by character (grapheme clusters). */
function borders(line: string): number[] {
  const at: number[] = [];
  let col = 0;
  for (const { segment } of new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(line)) {
    if ('│┬┴┌┐└┘'.includes(segment)) at.push(col);
    col += displayWidth(segment);
  }
  return at;
}

/** Every line of every table has its borders where the top line has them; returns the tables' widths. */
function expectAligned(out: string): number[] {
  const found = tables(out);
  expect(found.length, out).toBeGreaterThan(0);
  for (const t of found) for (const line of t) expect(borders(line), `${line}\nin\n${t.join('\n')}`).toEqual(borders(t[0]));
  return found.map((t) => displayWidth(t[0]));
}

describe('wide, combining and emoji names and server text', () => {
  it('providers: every row lines up and every name is shown whole', async () => {
    const r = await run(['--config', config, 'providers'], { env });
    expect(r.code).toBe(0);
    for (const w of expectAligned(r.stdout)) expect(w).toBeLessThanOrEqual(100);
    for (const n of Object.values(NAMES)) expect(r.stdout).toContain(`│ ${n} `);
  });

  it('health: rows line up, and no bidi or invisible control from a served model name or an error message reaches the output', async () => {
    const r = await run(['--config', config, 'health', '--chain', '默认', '--timeout', '5s'], { env });
    // The chain is healthy while one of its providers is.
    expect(r.code, r.stderr).toBe(0);
    expectAligned(r.stdout);
    // The served model is cut to fit 100 columns here; its whole cleaned name is in the JSON below.
    expect(r.stdout).toMatch(/│ gpt-e\S*… *│/);
    expect(r.stdout).toContain('bad ledom x name');
    expect(r.stdout + r.stderr).not.toMatch(BIDI_OR_INVISIBLE);
    const j = await run(['--config', config, 'health', '--chain', '默认', '--timeout', '5s', '--format', 'json'], { env });
    expect(j.stdout).not.toMatch(BIDI_OR_INVISIBLE);
    const by = Object.fromEntries(JSON.parse(j.stdout).providers.map((p: { name: string }) => [p.name, p]));
    expect(by[NAMES.trick].served_model).toBe('gpt-evil-mini');
    expect(by[NAMES.broken].error_message).toContain('bad ledom x name');
  });

  it('bench: the table fits 100 columns and lines up, cutting only the name column, on whole characters', async () => {
    const names = [NAMES.deep, NAMES.coder, NAMES.melt, NAMES.hebrew];
    const r = await run(['--config', config, 'bench', '-n', '2', ...names], { env, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const [w] = expectAligned(r.stdout);
    expect(w).toBeLessThanOrEqual(100);
    for (const line of r.stdout.split('\n')) expect(displayWidth(line), line).toBeLessThanOrEqual(100);
    const wide = await run(['--config', config, 'bench', '-n', '2', '--wide', ...names], { env, timeoutMs: 60_000 });
    expectAligned(wide.stdout);
    for (const n of names) expect(wide.stdout).toContain(`│ ${n} `);
  });

  it('cost: the price and workload tables line up', async () => {
    const r = await run(['--config', config, 'cost', '--output-tokens', '1M/day'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(tables(r.stdout)).toHaveLength(2);
    expectAligned(r.stdout);
    for (const n of [NAMES.deep, NAMES.fast, NAMES.hebrew]) expect(r.stdout).toContain(`│ ${n} `);
  });

  it('config check refuses a name holding a bidi or invisible character, at its file:line:col, without printing the character', async () => {
    const bad = join(dir, 'bidi.yaml');
    writeFileSync(
      bad,
      `providers:
  ok: { api: openai, base_url: "${server.baseUrl('fast')}", model: m }
  "gpt\\u202Eevil": { api: openai, base_url: "${server.baseUrl('fast')}", model: m }
chains:
  "a\\u200Bb": [ok]
`,
    );
    const r = await run(['config', 'check', bad], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bidi.yaml:3:3: providers: the name "gpt\\u202Eevil" holds U+202E (a control, invisible or direction-changing character)');
    expect(r.stderr).toContain('bidi.yaml:5:3: chains: the name "a\\u200Bb" holds U+200B');
    expect(r.stderr).not.toMatch(BIDI_OR_INVISIBLE);
    const ok = await run(['config', 'check', config], { env });
    expect(ok.code, ok.stderr).toBe(0);
  });
});

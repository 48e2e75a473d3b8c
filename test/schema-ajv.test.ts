// The published JSON Schemas judged by a validator we did not write: ajv (the validator CI users run, and
// the engine behind most editor tooling), in strict mode, against the draft each schema declares. The
// documents checked are real: result files the built CLI wrote against the emulator on loopback, in every
// shape bench writes, the shipped providers.yaml and the README's configs. Then each real document is
// mutated field by field, and ajv and our own checker (src/util/json-schema.ts, which merge, compare,
// report and cost --from run first) must agree on every mutation.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { run, startCli } from './cli-helpers.js';
import { emulator } from './helpers.js';
import { validate } from './json-schema.js';

// ajv-formats is CommonJS: under Node's ESM its function is the default export's default.
const addFormats = ((addFormatsModule as unknown as { default?: FormatsPlugin }).default ?? addFormatsModule) as FormatsPlugin;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Json;
const resultSchema = readJson(new URL('../schema/bench-result.schema.json', import.meta.url).pathname) as Record<string, Json>;
const configSchema = readJson(new URL('../schema/providers.schema.json', import.meta.url).pathname) as Record<string, Json>;

/** ajv for the draft the schema names in `$schema`, as strict as ajv gets; anything it would only log is kept. */
function compileStrict(schema: Record<string, Json>): { check: ValidateFunction; complaints: string[] } {
  const complaints: string[] = [];
  const logger = { log: () => {}, warn: (...m: unknown[]) => complaints.push(m.join(' ')), error: (...m: unknown[]) => complaints.push(m.join(' ')) };
  const options = { strict: true, strictTypes: true, strictTuples: true, strictRequired: true, allErrors: true, logger } as const;
  const draft = String(schema.$schema);
  const ajv = draft === 'https://json-schema.org/draft/2020-12/schema' ? new Ajv2020(options) : draft === 'https://json-schema.org/draft/2019-09/schema' ? new Ajv2019(options) : draft === 'http://json-schema.org/draft-07/schema#' ? new Ajv(options) : undefined;
  if (!ajv) throw new Error(`no ajv for $schema ${draft}`);
  addFormats(ajv);
  return { check: ajv.compile(schema), complaints };
}

/**
 * Every way a real document can be broken one field at a time: each field dropped, nulled, given a value
 * of another type, emptied or pushed out of range; an unknown key added to every object (also keys that
 * name Object.prototype's members); every array emptied or given a null. Descriptions name the path.
 */
function* mutations(doc: Json): Generator<[string, Json]> {
  const at = (path: (string | number)[], change: (parent: Json[] | Record<string, Json>, key: string | number) => void): Json => {
    const copy = structuredClone(doc);
    let node = copy as Json[] | Record<string, Json>;
    for (const k of path.slice(0, -1)) node = (node as Record<string, Json>)[k] as Json[] | Record<string, Json>;
    change(node, path[path.length - 1]);
    return copy;
  };
  const set = (path: (string | number)[], v: Json) => at(path, (p, k) => ((p as Record<string, Json>)[k] = v));
  function* walk(node: Json, path: (string | number)[]): Generator<[string, Json]> {
    const where = `$${path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('')}`;
    if (path.length) {
      yield [`${where} = null`, set(path, null)];
      if (typeof node === 'number') {
        for (const v of ['1', -1, 0, 0.5, 1e21, Number.MAX_SAFE_INTEGER + 2, true]) yield [`${where} = ${JSON.stringify(v)}`, set(path, v)];
        yield [`${where} = Infinity`, set(path, Infinity as number)];
      } else if (typeof node === 'string') {
        for (const v of ['', 'not a date', '2026-02-30T00:00:00Z', '2026-11-30', 'x'.repeat(300), 'a\u202eb', '😀', 1, false]) yield [`${where} = ${JSON.stringify(v)}`, set(path, v)];
      } else if (typeof node === 'boolean') {
        for (const v of ['true', 0]) yield [`${where} = ${JSON.stringify(v)}`, set(path, v)];
      }
    }
    if (Array.isArray(node)) {
      if (path.length) yield [`${where} = {}`, set(path, {})];
      yield [`${where} emptied`, path.length ? set(path, []) : []];
      yield [`${where} + null`, path.length ? set(path, [...node, null]) : [...node, null]];
      for (let i = 0; i < node.length; i++) yield* walk(node[i], [...path, i]);
    } else if (node && typeof node === 'object') {
      if (path.length) yield [`${where} = []`, set(path, [])];
      for (const extra of ['zz_unknown', 'constructor', 'toString', '__proto__', 'hasOwnProperty']) {
        const copy = path.length ? at(path, (p, k) => Object.defineProperty((p as Record<string, Json>)[k], extra, { value: 1, enumerable: true, writable: true, configurable: true })) : Object.defineProperty(structuredClone(node), extra, { value: 1, enumerable: true, writable: true, configurable: true });
        yield [`${where} + key ${extra}`, copy];
      }
      for (const k of Object.keys(node)) {
        yield [`${where} without ${k}`, at([...path, k], (p, key) => delete (p as Record<string, Json>)[key])];
        yield* walk(node[k], [...path, k]);
      }
    }
  }
  yield* walk(doc, []);
}

/** The mutations ajv and our checker (or a second judge) decide differently: each as "description: ajv accepts|rejects, ours …". */
function disagreements(doc: Json, schema: Record<string, Json>, check: ValidateFunction, other: (doc: Json) => boolean = (d) => validate(d, schema).length === 0): string[] {
  const out: string[] = [];
  for (const [what, mutated] of mutations(doc)) {
    const ajvOk = check(mutated);
    const oursOk = other(mutated);
    if (ajvOk !== oursOk) out.push(`${what}: ajv ${ajvOk ? 'accepts' : 'rejects'}, ours ${oursOk ? 'accepts' : 'rejects'}`);
  }
  // One line per distinct disagreement shape, so a failure reads as a list of defects rather than thousands of paths.
  return [...new Set(out.map((l) => l.replace(/\[\d+\]/g, '[i]')))];
}

describe('the published schemas compile in ajv strict mode', () => {
  it.each([
    ['bench-result', resultSchema],
    ['providers', configSchema],
  ])('%s: against the draft it declares, with no strict-mode complaint', (_name, schema) => {
    const { complaints } = compileStrict(schema);
    expect(complaints).toEqual([]);
  });

  it('ajv is strict enough to refuse what our checker would not notice (the judge is awake)', () => {
    // Hand-written schemas, each one defect strict mode exists to catch.
    const base = { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' };
    expect(() => compileStrict({ ...base, properties: { a: { type: 'string', minLenght: 1 } } })).toThrow(/unknown keyword/);
    expect(() => compileStrict({ ...base, required: ['b'], properties: { a: { type: 'string' } } })).toThrow(/required property "b" is not defined/);
    expect(() => compileStrict({ ...base, properties: { a: { minimum: 1 } } })).toThrow(/missing type "number/);
  });
});

const dir = mkdtempSync(join(tmpdir(), 'llmf-schema-ajv-'));
const home = { HOME: dir, XDG_STATE_HOME: dir, XDG_CACHE_HOME: dir, GITHUB_STEP_SUMMARY: '' };
/** Each result file bench and merge write, by what kind of run wrote it. */
const results = new Map<string, Json>();

describe('every kind of result file the CLI writes passes ajv and our checker, and they agree on each mutation', () => {
  beforeAll(async () => {
    const c = (value: number) => ({ dist: 'constant' as const, value });
    const server = await emulator({
      steady: { dialect: 'openai', ttft: c(5), itl: c(1), output_tokens: c(6) },
      claude: { dialect: 'anthropic', ttft: c(10), itl: c(1), output_tokens: c(4) },
      flaky: { dialect: 'openai', ttft: c(5), output_tokens: c(4), faults: [{ kind: 'overloaded', p: 0.4 }, { kind: 'cut', p: 0.2, after_tokens: 1 }] },
      refusing: { dialect: 'openai', api_key: 'sk-the-right-key-000000000000' },
      endless: { dialect: 'openai', ttft: c(20), itl: c(50), output_tokens: c(400) },
    });
    const config = join(dir, 'providers.yaml');
    writeFileSync(
      config,
      `providers:
  steady: { api: openai, base_url: "${server.baseUrl('steady')}", model: m, price: { input: 1, cached_input: 0.1, output: 2, priced_at: 2026-11-24 } }
  claude: { api: anthropic, base_url: "${server.baseUrl('claude')}", model: m, price: { input: 3, output: 15 } }
  flaky: { api: openai, base_url: "${server.baseUrl('flaky')}", model: m }
  refusing: { api: openai, base_url: "${server.baseUrl('refusing')}", model: m, api_key_env: WRONG_KEY }
  endless: { api: openai, base_url: "${server.baseUrl('endless')}", model: m }
thresholds: ["error_rate<50%"]
`,
    );
    const env = { ...home, WRONG_KEY: 'sk-a-wrong-key-00000000000000' };
    const out = (name: string) => join(dir, `${name}.json`);
    const bench = (name: string, args: string[]) => run(['--config', config, 'bench', ...args, '-q', '--out', out(name)], { env, timeoutMs: 60_000 }).then((r) => ({ name, r }));
    const runs = await Promise.all([
      bench('streaming', ['steady', 'claude', '-n', '6', '-c', '2', '--slo', 'ttft<=1s,latency<=5s', '--fail-on', 'ttft_p95<10s']),
      bench('plain', ['steady', '-n', '4', '--no-stream']),
      bench('errors', ['flaky', 'refusing', '-n', '10', '-c', '2', '--allow-failures']),
      bench('repeat', ['steady', '--repeat', '2', '-n', '4']),
      bench('sweep', ['steady', '--sweep', '--slo', 'latency<=1s', '--rate', '4', '--step-duration', '500ms', '--max-requests', '12']),
      bench('workers', ['steady', '--workers', '2', '-c', '2', '-n', '6', '--warmup', '2']),
      bench('open-loop', ['steady', '--rate', '30', '--arrival', 'poisson', '-n', '6']),
      bench('workload', ['steady', '--input-tokens', '40', '--shared-prefix-tokens', '20', '--cache-bust', '50%', '--turns', '2', '-n', '4']),
      bench('shard-1', ['steady', '-n', '6', '-c', '2', '--shard', '1/2']),
      bench('shard-2', ['steady', '-n', '6', '-c', '2', '--shard', '2/2']),
    ]);
    for (const { name, r } of runs) {
      // errors: the config's error_rate<50% fails against flaky and refusing (exit 1); the rest pass.
      expect(r.code, `${name}: ${r.stderr}`).toBe(name === 'errors' ? 1 : 0);
      results.set(name, readJson(out(name)));
    }
    const merged = await run(['merge', out('shard-1'), out('shard-2'), '--out', out('merged'), '--format', 'json'], { env });
    expect(merged.code, merged.stderr).toBe(0);
    results.set('merged', readJson(out('merged')));

    // Interrupted: Ctrl-C once the run has started writes the partial result.
    const cli = startCli(['--config', config, 'bench', 'endless', '--duration', '60s', '-c', '2', '--out', out('partial')], env);
    for (let i = 0; i < 300 && !cli.out.stderr.includes('closed loop'); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    expect((await cli.signal('SIGINT')).code).toBe(130);
    results.set('partial', readJson(out('partial')));
  }, 120_000);

  it('the runs are the kinds they claim to be', () => {
    const r = (name: string) => results.get(name) as Record<string, any>;
    expect(r('streaming').run.stream).toBe(true);
    expect(r('plain').run.stream).toBe(false);
    expect(r('errors').providers.find((p: { name: string }) => p.name === 'refusing').ok).toBe(0);
    expect(r('errors').providers.find((p: { name: string }) => p.name === 'flaky').failed).toBeGreaterThan(0);
    expect(r('repeat').providers[0].repeats).toBeTruthy();
    expect(r('sweep').providers[0].sweep).toBeTruthy();
    expect(r('workers').run.workers).toBe(2);
    expect(r('open-loop').run.mode).toBe('open');
    expect(r('merged').merged_from).toBe(2);
    expect(r('partial').partial).toBe(true);
  });

  const kinds = ['streaming', 'plain', 'errors', 'repeat', 'sweep', 'workers', 'open-loop', 'workload', 'merged', 'partial'];
  const { check } = compileStrict(resultSchema);

  it.each(kinds)('%s: ajv and our checker accept it', (kind) => {
    const doc = results.get(kind)!;
    check(doc);
    expect(check.errors ?? []).toEqual([]);
    expect(validate(doc, resultSchema)).toEqual([]);
  });

  it.each(kinds)('%s: ajv and our checker agree on every one-field mutation', (kind) => {
    expect(disagreements(results.get(kind)!, resultSchema, check)).toEqual([]);
  });

  it('a draft-07 validator decides every mutation of a result as the 2020-12 one does (no keyword changed meaning)', () => {
    const asDraft7 = compileStrict({ ...resultSchema, $schema: 'http://json-schema.org/draft-07/schema#' });
    expect(asDraft7.complaints).toEqual([]);
    for (const kind of ['errors', 'sweep', 'merged']) expect(disagreements(results.get(kind)!, resultSchema, check, (d) => asDraft7.check(d)), kind).toEqual([]);
  });

  it('merge refuses a started_at that is no date-time with one line and exit 2, and reads a leap second', async () => {
    const shard = results.get('shard-1') as Record<string, Json>;
    const file = join(dir, 'edited.json');
    // "not a date" reached Date.parse and ended as "Invalid time value", exit 1; 02-30 was read as 2 March.
    // (Not among them: a space for the T, which RFC 3339's ABNF refuses and we refuse, but which ajv-formats
    // accepts by the RFC's note that applications may agree on one; bench never writes it.)
    for (const bad of ['not a date', '2026-02-30T00:00:00Z', '2026-11-30T24:00:00Z']) {
      writeFileSync(file, JSON.stringify({ ...shard, started_at: bad }));
      expect(check(JSON.parse(readFileSync(file, 'utf8'))), bad).toBe(false);
      const r = await run(['merge', file, join(dir, 'shard-2.json')], { env: home });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim()).toBe(`${file}: damaged bench result: started_at: ${JSON.stringify(bad)} is not an RFC 3339 date-time (e.g. 2026-11-30T12:00:00.000Z); pass a file written by "llm-fallback bench --out FILE"`);
    }
    // RFC 3339's leap second is a valid date-time (ajv agrees); Date.parse reads it as NaN.
    const leap = '2016-12-31T23:59:60Z';
    writeFileSync(file, JSON.stringify({ ...shard, started_at: leap, ended_at: '2017-01-01T00:00:01Z' }));
    expect(check(JSON.parse(readFileSync(file, 'utf8')))).toBe(true);
    const r = await run(['merge', file, join(dir, 'shard-2.json'), '--format', 'json'], { env: home });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).started_at).toBe('2017-01-01T00:00:00.000Z');
  });
});

describe('the config schema, judged by ajv', () => {
  const { check } = compileStrict(configSchema);
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  // As test/schema-agreement.test.ts collects them: every README yaml block but the emulator profiles.
  const configs: [string, string][] = [['providers.yaml', readFileSync(new URL('../providers.yaml', import.meta.url), 'utf8')], ...[...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => !/^seed:/m.test(b)).map((b, i): [string, string] => [`README block ${i + 1}`, b])];

  it.each(configs)('%s passes ajv, and ajv and our checker agree on every one-field mutation of it', (_name, text) => {
    const doc = parse(text) as Json;
    check(doc);
    expect(check.errors ?? []).toEqual([]);
    expect(disagreements(doc, configSchema, check)).toEqual([]);
  });

  // Editors read the config through yaml-language-server, which validates as draft-07 whatever $schema says
  // (redhat-developer/yaml-language-server#856, open; 2019-09/2020-12 support was reverted, #1112). The
  // schema uses no keyword whose meaning changed after draft-07: a draft-07 ajv decides every mutation alike.
  it.each(configs)('%s: a draft-07 validator (as editors run) decides every mutation as the 2020-12 one does', (_name, text) => {
    const asDraft7 = compileStrict({ ...configSchema, $schema: 'http://json-schema.org/draft-07/schema#' });
    expect(asDraft7.complaints).toEqual([]);
    expect(disagreements(parse(text) as Json, configSchema, check, (d) => asDraft7.check(d))).toEqual([]);
  });

  // The same corpus and the same exceptions as test/schema-agreement.test.ts: these break rules JSON Schema
  // cannot state (YAML syntax, duplicate keys, an empty file, references between keys, a name that reads as a
  // key); the loader refuses them, and that test checks it does.
  const LOADER_ONLY = new Set(['syntax-error.yaml', 'duplicate-provider.yaml', 'empty.yaml', 'unknown-chain-provider.yaml', 'key-shaped-name.yaml', 'thinking-on-openai.yaml', 'effort-on-anthropic.yaml']);
  const fixtures = new URL('./fixtures/config/', import.meta.url);
  it.each(readdirSync(fixtures).filter((f) => !LOADER_ONLY.has(f)))('ajv refuses the broken config %s', (file) => {
    expect(check(parse(readFileSync(new URL(file, fixtures), 'utf8')))).toBe(false);
  });
});

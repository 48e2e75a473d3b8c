import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../src/config/load.js';
import { ConfigError } from '../src/errors.js';
import { validate } from './json-schema.js';

const schema = JSON.parse(readFileSync(new URL('../schema/providers.schema.json', import.meta.url), 'utf8'));
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const readmeConfigs = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => !/^seed:/m.test(b));
const fixtures = new URL('./fixtures/config/', import.meta.url);

// Problems JSON Schema cannot express: YAML syntax, duplicate keys, an empty file, references between keys
// (a chain's unknown provider, a thinking form the provider's api does not take),
// and a variable's name that reads as a key (a pattern cannot judge randomness; the loader's looksLikeKey does).
const LOADER_ONLY = new Set(['syntax-error.yaml', 'duplicate-provider.yaml', 'empty.yaml', 'unknown-chain-provider.yaml', 'key-shaped-name.yaml', 'thinking-on-openai.yaml', 'effort-on-anthropic.yaml']);

describe('the published JSON Schema and the loader agree', () => {
  it('accept the shipped providers.yaml and every README config', () => {
    const files = [readFileSync(new URL('../providers.yaml', import.meta.url), 'utf8'), ...readmeConfigs];
    for (const text of files) {
      expect(validate(parse(text), schema)).toEqual([]);
      expect(() => parseConfig(text, 'x.yaml')).not.toThrow();
    }
  });

  it.each(readdirSync(fixtures).filter((f) => !LOADER_ONLY.has(f)))('both reject %s', (file) => {
    const text = readFileSync(new URL(file, fixtures), 'utf8');
    expect(validate(parse(text), schema).length, 'schema').toBeGreaterThan(0);
    expect(() => parseConfig(text, file)).toThrow(ConfigError);
  });
});

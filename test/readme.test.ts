import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { profileFromObject } from '../src/mock/profile.js';
import { parse } from 'yaml';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);

describe('README examples are real', () => {
  it('has YAML examples', () => expect(blocks.length).toBeGreaterThanOrEqual(2));
  it.each(blocks.map((b, i) => [i, b]))('YAML block %i loads without error', (_, block) => {
    const text = block as string;
    if (/^seed:/m.test(text)) {
      const profile = profileFromObject(parse(text), 'README');
      expect(Object.keys(profile.providers).length).toBeGreaterThan(0);
    } else {
      const cfg = parseConfig(text, 'README.md');
      expect(cfg.providers.size).toBeGreaterThan(0);
    }
  });
  it('names the same test command that .ci/run runs', () => {
    expect(readme).toMatch(/```sh\nnpm test\n```/);
    expect(readFileSync(new URL('../.ci/run', import.meta.url), 'utf8')).toMatch(/^npm test$/m);
  });
});

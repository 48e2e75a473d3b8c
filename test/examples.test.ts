import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli.js';
import { reportCommand } from '../src/commands/report.js';

const files = ['examples/github-actions.yml', 'examples/gitlab-ci.yml', 'examples/github-actions-shards.yml'];

/** Every `npx llm-fallback ...` command in a CI example, with its arguments split as a shell would. */
function commands(text: string): string[][] {
  const joined = text.replace(/>\n\s+/g, '').replace(/\n\s{10,}(?=--)/g, ' ');
  return [...joined.matchAll(/npx llm-fallback ([^\n]+)/g)].map((m) => [...m[1].matchAll(/"([^"]*)"|(\S+)/g)].map((a) => a[1] ?? a[2]));
}

function stubActions(cmd: Command): void {
  for (const c of cmd.commands) {
    c.exitOverride();
    c.action(() => {});
    stubActions(c);
  }
}

describe('CI examples use only the tool’s real flags', () => {
  it.each(files)('%s', async (file) => {
    const cmds = commands(readFileSync(new URL(`../${file}`, import.meta.url), 'utf8'));
    expect(cmds.length).toBeGreaterThanOrEqual(3);
    for (const args of cmds) {
      const program = buildProgram();
      program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
      stubActions(program);
      let error: unknown;
      try {
        await program.parseAsync(['node', 'llm-fallback', ...args]);
      } catch (e) {
        error = e;
      }
      expect(error instanceof CommanderError ? `${args.join(' ')}: ${error.message}` : undefined).toBeUndefined();
    }
  });
});

describe('the shipped demo result and report', () => {
  it('report accepts examples/bench-demo-result.json and renders examples/bench-demo-report.html byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-fallback-examples-'));
    try {
      const out = join(dir, 'report.html');
      const code = await reportCommand(new URL('../examples/bench-demo-result.json', import.meta.url).pathname, { html: out, quiet: true });
      expect(code).toBe(0);
      // A stale example (a result from before a schema change, or a page from an older renderer) fails here: regenerate
      // both with the README's `bench --demo --slo … --html examples/bench-demo-report.html --out examples/bench-demo-result.json`.
      expect(readFileSync(out).equals(readFileSync(new URL('../examples/bench-demo-report.html', import.meta.url)))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

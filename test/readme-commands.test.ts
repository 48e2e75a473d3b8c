import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from './cli-helpers.js';

// Every `llm-fallback …` command README shows in a shell block is checked against the built CLI's own
// `--help`: the command (and subcommand) must exist, and every flag it uses must be one that command lists.
// The help text is the outside truth here, not README's prose: a renamed or dropped flag breaks this test.

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** Commands whose word after them names a subcommand (`config check`, `breaker show`, `cache clear`). */
const GROUPS = new Set(['config', 'breaker', 'cache']);

interface Invocation {
  line: string;
  /** Global options given before the command (`--config mock.yaml`). */
  globals: string[];
  /** `bench`, `config check`, … as typed; empty when the line names no command. */
  command: string[];
  /** Every option token after the command, `--flag=value` split at the `=`. */
  flags: string[];
  /** The values given to `--format`. */
  formats: string[];
}

/** The shell lines of README: every line of a ```sh block, and the `$ ` lines of an untagged block. */
function shellLines(text: string): string[] {
  const lines: string[] = [];
  for (const m of text.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)) {
    const lang = m[1];
    if (!['', 'sh', 'bash', 'console', 'shell'].includes(lang)) continue;
    for (const raw of m[2].split('\n')) {
      if (raw.startsWith('$ ')) lines.push(raw.slice(2));
      else if (lang !== '' && raw.trim() && !raw.startsWith('#')) lines.push(raw);
    }
  }
  return lines;
}

/** Splits a shell line into words as sh would for these examples: quotes, comments, pipes and redirects end it. */
function words(line: string): string[][] {
  const segments: string[][] = [[]];
  let word: string | null = null;
  const end = () => {
    if (word !== null) segments[segments.length - 1].push(word);
    word = null;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'" || c === '"') {
      const close = line.indexOf(c, i + 1);
      word = (word ?? '') + line.slice(i + 1, close < 0 ? line.length : close);
      i = close < 0 ? line.length : close;
    } else if (c === ' ' || c === '\t') end();
    else if (c === '#' && word === null) break;
    else if (c === '|' || c === ';' || c === '&' || c === '>' || c === '<') {
      // A redirect's target is no argument of the command: `2>/dev/null`, `> mock.yaml`.
      if (word !== null && /^\d$/.test(word) && c === '>') word = null;
      end();
      segments.push([]);
      while (line[i + 1] === c || line[i + 1] === '&') i++;
      if (c === '>' || c === '<') {
        while (line[i + 1] === ' ') i++;
        while (i + 1 < line.length && line[i + 1] !== ' ') i++; // the redirect's file
      }
    } else word = (word ?? '') + c;
  }
  end();
  return segments;
}

/** Every `llm-fallback` invocation in the lines, with its command and flags separated. */
function invocations(lines: string[], optionsTakingValue: (command: string[]) => Set<string>): Invocation[] {
  const found: Invocation[] = [];
  for (const line of lines) {
    for (const segment of words(line)) {
      // The program is the first word, after `npx` and VAR=value assignments (`npm install -g llm-fallback` is no run).
      const at = segment.findIndex((w) => w !== 'npx' && !/^[A-Z_][A-Z0-9_]*=/.test(w));
      if (segment[at] !== 'llm-fallback') continue;
      // The usage synopses write optional parts in brackets: `[--port N]`.
      const args = segment.slice(at + 1).map((a) => a.replace(/^\[/, '').replace(/\]$/, ''));
      const globals: string[] = [];
      let i = 0;
      const rootValued = optionsTakingValue([]);
      while (i < args.length && args[i].startsWith('-')) {
        const name = args[i].split('=')[0];
        globals.push(name);
        i += rootValued.has(name) && !args[i].includes('=') ? 2 : 1;
      }
      const command: string[] = [];
      if (i < args.length) command.push(args[i++]);
      if (GROUPS.has(command[0]) && i < args.length && !args[i].startsWith('-')) command.push(args[i++]);
      const valued = command.length ? optionsTakingValue(command) : new Set<string>();
      const flags: string[] = [];
      const formats: string[] = [];
      for (; i < args.length; i++) {
        const arg = args[i];
        if (!/^-[A-Za-z-]/.test(arg)) continue;
        const [name, inline] = arg.split(/=(.*)/s);
        flags.push(name);
        const value = inline ?? (valued.has(name) || rootValued.has(name) ? args[++i] : undefined);
        if (name === '--format' && value !== undefined) formats.push(value);
      }
      found.push({ line, globals, command, flags, formats });
    }
  }
  return found;
}

interface Help {
  /** Every option the help lists, long and short (`--no-stream`, `-c`, `--concurrency`). */
  options: Set<string>;
  /** Those of them that take a value (`<n>`; an optional `[share]` is not skipped). */
  valued: Set<string>;
  /** The subcommands it lists. */
  commands: Set<string>;
}

/** Reads Commander's help text: options and commands are the lines indented by two spaces in their sections. */
function parseHelp(text: string): Help {
  const help: Help = { options: new Set(), valued: new Set(), commands: new Set() };
  let section = '';
  for (const line of text.split('\n')) {
    if (/^\S.*:$/.test(line)) section = line;
    const m = /^ {2}(\S.*?)(?: {2,}|$)/.exec(line);
    if (!m) continue;
    if (section === 'Options:') {
      const names = m[1].match(/--?[A-Za-z][\w-]*/g) ?? [];
      for (const name of names) {
        help.options.add(name);
        if (/<[^>]+>/.test(m[1])) help.valued.add(name);
      }
    } else if (section === 'Commands:') help.commands.add(m[1].split(' ')[0]);
  }
  return help;
}

const helps = new Map<string, Help>();
async function helpOf(command: string[]): Promise<Help> {
  const key = command.join(' ');
  let help = helps.get(key);
  if (!help) {
    const result = await run([...command, '--help']);
    expect(result.code, `llm-fallback ${key} --help: ${result.stderr}`).toBe(0);
    help = parseHelp(result.stdout);
    helps.set(key, help);
  }
  return help;
}

const lines = shellLines(readme);

/** Loads the help of every command README names, so that invocations() can skip option values. */
async function readmeInvocations(text = lines): Promise<Invocation[]> {
  const root = await helpOf([]);
  // A first pass without values finds the commands; their help then tells which options take one.
  const rough = invocations(text, () => new Set());
  for (const inv of rough) {
    if (!inv.command.length || !root.commands.has(inv.command[0])) continue;
    if (GROUPS.has(inv.command[0])) await helpOf([inv.command[0]]);
    await helpOf(inv.command);
  }
  return invocations(text, (command) => helps.get(command.join(' '))?.valued ?? new Set());
}

/** What is wrong with one invocation, in words; empty when it matches the CLI. */
async function problems(inv: Invocation): Promise<string[]> {
  const root = await helpOf([]);
  const out: string[] = [];
  for (const g of inv.globals) if (!root.options.has(g)) out.push(`global option ${g} does not exist`);
  if (!inv.command.length) return out;
  if (!root.commands.has(inv.command[0])) return [...out, `command "${inv.command[0]}" does not exist`];
  if (GROUPS.has(inv.command[0])) {
    const group = await helpOf([inv.command[0]]);
    if (inv.command.length < 2 || !group.commands.has(inv.command[1])) return [...out, `"${inv.command.join(' ')}" names no subcommand of ${inv.command[0]} (${[...group.commands].join(', ')})`];
  }
  const help = await helpOf(inv.command);
  // Commander accepts the program's own options (--config, --debug) after a subcommand too.
  for (const flag of inv.flags) if (!help.options.has(flag) && !root.options.has(flag)) out.push(`${inv.command.join(' ')} has no option ${flag}`);
  return out;
}

describe('README commands exist in the CLI', () => {
  it('finds the README’s commands', async () => {
    const all = await readmeInvocations();
    const named = new Set(all.map((i) => i.command.join(' ')));
    // Every command the tool has appears in README at least once (a block for each section).
    for (const c of ['bench', 'ask', 'serve', 'health', 'cost', 'providers', 'config check', 'mock', 'merge', 'compare', 'report', 'breaker show', 'breaker reset', 'cache clear']) {
      expect(named, c).toContain(c);
    }
    expect(all.length).toBeGreaterThan(40);
    expect(all.filter((i) => !i.command.length).map((i) => i.line)).toEqual([]);
  });

  it('uses only commands and flags that the command’s --help lists', async () => {
    const wrong: string[] = [];
    for (const inv of await readmeInvocations()) for (const p of await problems(inv)) wrong.push(`${p}: ${inv.line}`);
    expect(wrong).toEqual([]);
  });

  it('catches a made-up flag, a made-up command and a made-up subcommand', async () => {
    const made = ['npx llm-fallback bench --demo --no-such-flag 3', 'llm-fallback --config x.yaml frobnicate', 'llm-fallback breaker wipe', 'llm-fallback ask -Z "hi"', 'llm-fallback cost --currency=CNY --ratee=7'];
    const found = await Promise.all((await readmeInvocations(made)).map(problems));
    expect(found).toEqual([
      ['bench has no option --no-such-flag'],
      ['command "frobnicate" does not exist'],
      ['"breaker wipe" names no subcommand of breaker (show, reset, help)'],
      ['ask has no option -Z'],
      ['cost has no option --ratee'],
    ]);
  });

  it('reads negations, short flags, --flag=value, values that look like flags, and pipes', async () => {
    const [a, b, c] = await readmeInvocations([
      'npx llm-fallback --config mock.yaml bench vllm --no-stream -c 50 --format=json -q | jq -c .providers',
      'git diff | llm-fallback ask --system "Review --this" --chain western 2>/dev/null',
      'llm-fallback cache clear --state redis://127.0.0.1:16379 > out.txt',
    ]);
    expect(a).toMatchObject({ globals: ['--config'], command: ['bench'], flags: ['--no-stream', '-c', '--format', '-q'], formats: ['json'] });
    expect(b).toMatchObject({ command: ['ask'], flags: ['--system', '--chain'] });
    expect(c).toMatchObject({ command: ['cache', 'clear'], flags: ['--state'] });
  });
});

/** The flags in the first column of README's `| flag | … |` tables, by the `## command` section they sit in. */
function flagTables(text: string): Map<string, string[]> {
  const byCommand = new Map<string, string[]>();
  const sections = text.split(/^## /m).slice(1);
  for (const section of sections) {
    const command = /^(bench|serve)\b/.exec(section)?.[1];
    if (!command) continue;
    for (const table of section.matchAll(/^\| flag \|.*\n\|[-| ]+\n((?:\|.*\n)+)/gm)) {
      for (const row of table[1].split('\n')) {
        const firstCell = row.split(/(?<!\\)\|/)[1] ?? '';
        for (const code of firstCell.matchAll(/`([^`]+)`/g)) {
          for (const name of code[1].split(/,\s*/)) if (/^--?[A-Za-z]/.test(name)) byCommand.set(command, [...(byCommand.get(command) ?? []), name.split(/[ =]/)[0]]);
        }
      }
    }
  }
  return byCommand;
}

describe('README flag tables', () => {
  it('list only flags that bench’s and serve’s --help list', async () => {
    const tables = flagTables(readme);
    expect(tables.get('bench')?.length).toBeGreaterThan(30);
    expect(tables.get('serve')).toEqual(['--port', '--host', '--api-key-env', '--state', '--otlp-endpoint']);
    const wrong: string[] = [];
    for (const [command, flags] of tables) {
      const help = await helpOf([command]);
      for (const flag of flags) if (!help.options.has(flag)) wrong.push(`${command} ${flag}`);
    }
    expect(wrong).toEqual([]);
  });
});

/**
 * A `--format` value is accepted when the command, given it, does not refuse it. The probe gives each command
 * a run that ends at once without sending anything (a target that does not exist, a missing file), and a
 * made-up format shows that the same probe would refuse a wrong one.
 */
const FORMAT_PROBES: Record<string, string[]> = {
  bench: ['bench', '--demo', 'no-such-provider'],
  health: ['health', '--config', 'providers.yaml', 'no-such-provider'],
  providers: ['--config', 'providers.yaml', 'providers'],
  cost: ['--config', 'providers.yaml', 'cost'],
  merge: ['merge', 'examples/bench-demo-result.json'],
  compare: ['compare', 'examples/bench-demo-result.json', 'examples/bench-demo-result.json'],
};

/** `--format` values README gives in shell blocks, and those it lists for a command in a flag table. */
async function readmeFormats(): Promise<Map<string, Set<string>>> {
  const byCommand = new Map<string, Set<string>>();
  const add = (command: string, value: string) => byCommand.set(command, (byCommand.get(command) ?? new Set()).add(value));
  for (const inv of await readmeInvocations()) for (const f of inv.formats) add(inv.command.join(' '), f);
  // bench's flag table: `--format table\|json\|csv\|markdown`.
  const table = /^\| `--format ([\w\\|]+)`/m.exec(readme.slice(readme.indexOf('\n## bench\n')));
  expect(table, 'bench flag table lists --format').not.toBeNull();
  for (const v of table![1].split('\\|')) add('bench', v);
  return byCommand;
}

describe('README --format values are accepted', () => {
  it('by the command README gives them to', async () => {
    const formats = await readmeFormats();
    expect([...formats.keys()].sort()).toEqual(expect.arrayContaining(['bench', 'health', 'providers']));
    const refused: string[] = [];
    const root = fileURLToPath(new URL('..', import.meta.url));
    for (const [command, values] of formats) {
      const probe = FORMAT_PROBES[command];
      expect(probe, `a probe for ${command}`).toBeDefined();
      const wrong = await run([...probe, '--format', 'made-up'], { cwd: root });
      expect(wrong.code, command).toBe(2);
      expect(wrong.stderr, command).toMatch(/--format/);
      for (const value of values) {
        const result = await run([...probe, '--format', value], { cwd: root });
        if (/--format/.test(result.stderr)) refused.push(`${command} --format ${value}: ${result.stderr.trim()}`);
      }
    }
    expect(refused).toEqual([]);
  });
});

// Where results go: symlinks followed, devices and FIFOs written in place, two outputs (or an output and an
// input) on one file refused, an earlier result never replaced by a partial one, stdout errors in one line.
// Real child processes, real files in a temporary directory, /dev/full and /dev/null (as root, nodes of its own made with mknod).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, createReadStream, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, run } from './cli-helpers.js';
import { emulator } from './helpers.js';

const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  fast: { dialect: 'openai', ttft: c(5), output_tokens: c(8) },
  endless: { dialect: 'openai', ttft: c(50), itl: c(50), output_tokens: c(200) },
});
const root = mkdtempSync(join(tmpdir(), 'llmf-outputs-'));
const config = join(root, 'providers.yaml');
writeFileSync(
  config,
  `providers:
  fast: { api: openai, base_url: "${server.baseUrl('fast')}", model: m }
  endless: { api: openai, base_url: "${server.baseUrl('endless')}", model: m }
`,
);
const env = { GITHUB_STEP_SUMMARY: '', HOME: root };
let n = 0;
const freshDir = () => mkdtempSync(join(root, `t${n++}-`));
const bench = (...args: string[]) => ['bench', '--config', config, 'fast', '-n', '2', '-q', ...args];
const isRoot = process.getuid?.() === 0;
const EARLIER = '{"earlier":true}\n';

/** One line on stderr, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe('outputs that are not plain files', () => {
  it('a symlink given to --out, --raw, --html or --hlog stays a link and its target gets the output', async () => {
    const dir = freshDir();
    const names = { out: 'r.json', raw: 'r.jsonl', html: 'r.html', hlog: 'r.hlog' };
    for (const name of Object.values(names)) {
      writeFileSync(join(dir, `real-${name}`), 'old\n');
      symlinkSync(`real-${name}`, join(dir, `link-${name}`));
    }
    // A dangling link: its target is created.
    symlinkSync('made-by-bench.json', join(dir, 'dangling.json'));
    const r = await run(bench('--out', join(dir, 'link-r.json'), '--raw', join(dir, 'link-r.jsonl'), '--html', join(dir, 'link-r.html'), '--hlog', join(dir, 'link-r.hlog')), { env });
    expect(r.code, r.stderr).toBe(0);
    for (const name of Object.values(names)) {
      expect(lstatSync(join(dir, `link-${name}`)).isSymbolicLink(), name).toBe(true);
      expect(readlinkSync(join(dir, `link-${name}`))).toBe(`real-${name}`);
      expect(readFileSync(join(dir, `real-${name}`), 'utf8'), name).not.toBe('old\n');
    }
    expect(JSON.parse(readFileSync(join(dir, 'real-r.json'), 'utf8')).providers[0].name).toBe('fast');
    expect(readFileSync(join(dir, 'real-r.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(readFileSync(join(dir, 'real-r.html'), 'utf8')).toMatch(/^<!doctype html>/i);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const d = await run(bench('--out', join(dir, 'dangling.json')), { env });
    expect(d.code, d.stderr).toBe(0);
    expect(lstatSync(join(dir, 'dangling.json')).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'made-by-bench.json'), 'utf8')).schema_version).toBe(2);
  });

  it('a FIFO gets the result written into it and stays a FIFO', async () => {
    const dir = freshDir();
    const fifo = join(dir, 'pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    let read = '';
    const reader = new Promise<void>((done) => createReadStream(fifo).on('data', (d) => (read += d)).on('end', done));
    const r = await run(bench('--out', fifo), { env });
    await reader;
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(fifo).isFIFO()).toBe(true);
    expect(JSON.parse(read).providers[0].name).toBe('fast');
  });

  // As root, a broken build would replace the system's /dev/null or /dev/full (it did, before the fix): root
  // tests on its own nodes made with mknod; anyone else on the real ones, which a broken build cannot replace.
  const device = (name: 'null' | 'full') => {
    if (!isRoot) return `/dev/${name}`;
    const path = join(freshDir(), name);
    expect(spawnSync('mknod', ['-m', '666', path, 'c', '1', name === 'null' ? '3' : '7']).status).toBe(0);
    return path;
  };

  it('/dev/null stays a device; a write error on /dev/full is one line naming the flag and file, exit 1, table printed', async () => {
    const nul = device('null');
    const ok = await run(bench('--out', nul, '--raw', nul, '--html', nul), { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(statSync(nul).isCharacterDevice()).toBe(true);
    expect(ok.stderr).toBe('');

    const full = device('full');
    for (const flag of ['--out', '--raw', '--html', '--hlog']) {
      const r = await run(bench(flag, full), { env });
      expect(r.code, `${flag}: ${r.stderr}`).toBe(1);
      expect(r.stdout).toMatch(/│ fast\s+│/);
      expect(oneLine(r.stderr)).toBe(`llm-fallback: ${flag}: could not write ${full}: ENOSPC (no space left on device); the result printed above is all that was kept`);
      expect(statSync(full).isCharacterDevice()).toBe(true);
    }
  });

  it('a socket is refused before the run: exit 2, one line naming the flag', async () => {
    const dir = freshDir();
    const sock = join(dir, 'sock');
    const listener = createServer();
    await new Promise<void>((done) => listener.listen(sock, done));
    try {
      for (const flag of ['--out', '--raw', '--html', '--hlog']) {
        const r = await run(bench(flag, sock), { env });
        expect(r.code).toBe(2);
        expect(r.stdout).toBe('');
        expect(oneLine(r.stderr)).toBe(`${flag}: "${sock}" is a socket, not a file; give a regular file, a FIFO or a character device such as /dev/stdout`);
      }
    } finally {
      listener.close();
    }
  });

  // mknod needs root; a FIFO and a socket above cover the rest without it.
  it.skipIf(!isRoot)('as root: a character device made with mknod is written in place, a block device refused (exit 2)', async () => {
    const dir = freshDir();
    const nul = join(dir, 'null');
    const blk = join(dir, 'loop');
    expect(spawnSync('mknod', [nul, 'c', '1', '3']).status).toBe(0);
    expect(spawnSync('mknod', [blk, 'b', '7', '250']).status).toBe(0);
    const r = await run(bench('--out', nul, '--raw', nul), { env });
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(nul).isCharacterDevice()).toBe(true);
    const b = await run(bench('--out', blk), { env });
    expect(b.code).toBe(2);
    expect(oneLine(b.stderr)).toMatch(/^--out: ".*loop" is a block device, not a file/);
    expect(statSync(blk).isBlockDevice()).toBe(true);
  });
});

describe('two outputs, or an output and an input, on one file', () => {
  it('bench: --out, --raw, --html, --hlog and $GITHUB_STEP_SUMMARY naming one file (also through a symlink) are exit 2 before any request', async () => {
    const dir = freshDir();
    const f = join(dir, 'r.json');
    writeFileSync(f, EARLIER);
    symlinkSync('r.json', join(dir, 'alias.json'));
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['--out', f, '--html', f], {}, /^--html: ".*r\.json" is the same file as --out ".*r\.json"; one would overwrite the other/],
      [['--out', f, '--raw', f], {}, /^--raw: ".*r\.json" is the same file as --out/],
      [['--out', f, '--hlog', join(dir, 'alias.json')], {}, /^--hlog: ".*alias\.json" is the same file as --out ".*r\.json"/],
      [['--html', join(dir, 'new.html'), '--raw', join(dir, '.', 'new.html')], {}, /^--html: .* is the same file as --raw/],
      [['--out', f], { GITHUB_STEP_SUMMARY: join(dir, 'alias.json') }, /^\$GITHUB_STEP_SUMMARY: ".*alias\.json" is the same file as --out/],
    ];
    for (const [args, extra, message] of cases) {
      const t0 = Date.now();
      const r = await run(bench(...args), { env: { ...env, ...extra } });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(oneLine(r.stderr)).toMatch(message);
      expect(r.stdout).toBe('');
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(readFileSync(f, 'utf8')).toBe(EARLIER);
    }
    expect(readdirSync(dir).sort()).toEqual(['alias.json', 'r.json']);
  });

  it('bench: an output naming --prompts or the config is exit 2', async () => {
    const dir = freshDir();
    const prompts = join(dir, 'prompts.txt');
    writeFileSync(prompts, 'hello\n');
    const r = await run(bench('--prompts', prompts, '--out', prompts), { env });
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/^--out: ".*prompts\.txt" is --prompts ".*prompts\.txt", which this command reads/);
    expect(readFileSync(prompts, 'utf8')).toBe('hello\n');
    const before = readFileSync(config, 'utf8');
    const c2 = await run(bench('--html', config), { env });
    expect(c2.code).toBe(2);
    expect(oneLine(c2.stderr)).toMatch(/^--html: ".*providers\.yaml" is the config/);
    expect(readFileSync(config, 'utf8')).toBe(before);
  });

  it('report --html and merge --out naming the input (also through a symlink) are exit 2 and the input is kept', async () => {
    const dir = freshDir();
    const keep = join(dir, 'keep.json');
    const made = await run(bench('--out', keep), { env });
    expect(made.code, made.stderr).toBe(0);
    const original = readFileSync(keep, 'utf8');
    symlinkSync('keep.json', join(dir, 'link.json'));
    for (const args of [
      ['report', keep, '--html', keep],
      ['report', keep, '--html', join(dir, 'link.json')],
      ['merge', keep, '--out', keep],
      ['merge', keep, '--out', join(dir, 'link.json')],
    ]) {
      const r = await run(args, { env });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(oneLine(r.stderr)).toMatch(/^(--html|--out): ".*(keep|link)\.json" is the (result|input) ".*keep\.json", which this command reads; writing there would destroy it/);
      expect(readFileSync(keep, 'utf8')).toBe(original);
      expect(lstatSync(join(dir, 'link.json')).isSymbolicLink()).toBe(true);
    }
  });
});

/** Starts a long bench, waits until it has been measuring a while, sends the signals, returns what happened. */
async function interrupted(args: string[], signals: NodeJS.Signals[], cwd: string) {
  const child = spawn(process.execPath, [BIN, 'bench', '--config', config, 'endless', 'fast', '--duration', '60s', '-c', '2', ...args], {
    env: { ...process.env, ...env, NO_COLOR: '1' },
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (out.stdout += d));
  child.stderr.on('data', (d) => (out.stderr += d));
  for (let i = 0; i < 300 && !out.stderr.includes('closed loop'); i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 1500));
  const code = await new Promise<number | null>((done) => {
    child.on('close', done);
    signals.forEach((s, i) => setTimeout(() => child.kill(s), i * 100));
  });
  return { code, ...out };
}

describe('an interrupted run keeps an earlier result', () => {
  it('Ctrl-C with an earlier --out, --raw and --html: they are kept, the partial result goes beside them, one line each', async () => {
    const dir = freshDir();
    for (const f of ['prev.json', 'prev.jsonl', 'prev.html']) writeFileSync(join(dir, f), EARLIER);
    const r = await interrupted(['--out', 'prev.json', '--raw', 'prev.jsonl', '--html', 'prev.html'], ['SIGINT'], dir);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toMatch(/PARTIAL RESULT/);
    for (const f of ['prev.json', 'prev.jsonl', 'prev.html']) expect(readFileSync(join(dir, f), 'utf8'), f).toBe(EARLIER);
    expect(JSON.parse(readFileSync(join(dir, 'prev.partial.json'), 'utf8')).partial).toBe(true);
    expect(readFileSync(join(dir, 'prev.partial.jsonl'), 'utf8').trim().split('\n').length).toBeGreaterThan(0);
    expect(readFileSync(join(dir, 'prev.partial.html'), 'utf8')).toMatch(/^<!doctype html>/i);
    expect(r.stderr).toContain('llm-fallback: --out: partial result written to prev.partial.json; prev.json kept\n');
    expect(r.stderr).toContain('llm-fallback: --raw: partial result written to prev.partial.jsonl; prev.jsonl kept\n');
    expect(r.stderr).toContain('llm-fallback: --html: partial result written to prev.partial.html; prev.html kept\n');
    expect(r.stderr).not.toContain('Result written to');
  });

  it('SIGTERM with no earlier file: the partial result goes to the target itself', async () => {
    const dir = freshDir();
    const r = await interrupted(['--out', 'new.json'], ['SIGTERM'], dir);
    expect(r.code, r.stderr).toBe(143);
    expect(JSON.parse(readFileSync(join(dir, 'new.json'), 'utf8')).partial).toBe(true);
    expect(readdirSync(dir)).toEqual(['new.json']);
    expect(r.stderr).toContain('Result written to new.json');
  });

  it('a second Ctrl-C quits at once and leaves no --raw temporary file behind', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'p.jsonl'), EARLIER);
    const r = await interrupted(['--raw', 'p.jsonl'], ['SIGINT', 'SIGINT'], dir);
    expect(r.code, r.stderr).toBe(130);
    expect(readdirSync(dir)).toEqual(['p.jsonl']);
    expect(readFileSync(join(dir, 'p.jsonl'), 'utf8')).toBe(EARLIER);
  });
});

describe('standard output that cannot be written', () => {
  /** Runs the CLI with stdout on /dev/full. */
  function toFull(args: string[]): Promise<{ code: number | null; stderr: string }> {
    const fd = openSync('/dev/full', 'w');
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', fd, 'pipe'] });
    closeSync(fd);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d)); // stdio[2] is 'pipe', so stderr is a stream
    return new Promise((done) => child.on('close', (code) => done({ code, stderr })));
  }

  it('providers > /dev/full is one line and exit 1; --debug adds the stack', async () => {
    const r = await toFull(['--config', config, 'providers']);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toBe('llm-fallback: cannot write to standard output: ENOSPC (no space left on device)');
    const d = await toFull(['--config', config, 'providers', '--debug']);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/^llm-fallback: cannot write to standard output: ENOSPC \(no space left on device\)\nError: ENOSPC.*\n\s+at /);
  });

  it('bench > /dev/full: one line, exit 1, and the --out file is still written', async () => {
    const dir = freshDir();
    const out = join(dir, 'r.json');
    const r = await toFull(bench('--out', out));
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toBe('llm-fallback: cannot write to standard output: ENOSPC (no space left on device)');
    expect(JSON.parse(readFileSync(out, 'utf8')).providers[0].name).toBe('fast');
  });
});

// Never lose a run: signals on real child processes, output paths on real directories and a real full disk.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, run, startCli } from './cli-helpers.js';
import { emulator } from './helpers.js';

const c = (value: number) => ({ dist: 'constant' as const, value });
const server = await emulator({
  fast: { dialect: 'openai', ttft: c(5), output_tokens: c(8) },
  endless: { dialect: 'openai', ttft: c(50), itl: c(50), output_tokens: c(200) },
  broken: { dialect: 'openai', faults: [{ kind: 'server', p: 1 }] },
});
const dir = mkdtempSync(join(tmpdir(), 'llmf-runs-'));
const config = join(dir, 'providers.yaml');
writeFileSync(
  config,
  `providers:
  fast: { api: openai, base_url: "${server.baseUrl('fast')}", model: m }
  fast2: { api: openai, base_url: "${server.baseUrl('fast')}", model: m2 }
  endless: { api: openai, base_url: "${server.baseUrl('endless')}", model: m }
  broken: { api: openai, base_url: "${server.baseUrl('broken')}", model: m }
`,
);
const env = { GITHUB_STEP_SUMMARY: '', HOME: dir };

describe('signals: SIGTERM is handled like Ctrl-C', () => {
  it('bench on SIGTERM stops, prints and writes the partial result, and exits 143', async () => {
    const out = join(dir, 'term.json');
    const raw = join(dir, 'term.jsonl');
    const cli = startCli(['bench', '--config', config, 'endless', 'fast', '--duration', '60s', '-c', '2', '--out', out, '--raw', raw], env);
    // Once the header is out the run has started; give it a moment to finish some requests.
    for (let i = 0; i < 300 && !cli.out.stderr.includes('closed loop'); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1000));
    const { code, ms } = await cli.signal('SIGTERM');
    expect(code).toBe(143);
    expect(ms).toBeLessThan(5000);
    expect(cli.out.stderr).toMatch(/Interrupted: stopping \(SIGTERM\)/);
    expect(cli.out.stdout).toMatch(/PARTIAL RESULT/);
    const result = JSON.parse(readFileSync(out, 'utf8'));
    expect(result.partial).toBe(true);
    expect(result.providers.find((p: { name: string }) => p.name === 'fast').ok).toBeGreaterThan(0);
    // The raw lines written up to the stop were kept, one per finished request.
    expect(readFileSync(raw, 'utf8').trim().split('\n').length).toBeGreaterThan(0);
  });

  // Three runs in a row, each bounded by the default per-call limit.
  it('a signal landing at the very end of a run never loses the result', { timeout: 120_000 }, async () => {
    // The signal is sent the moment the result starts to appear on stdout, i.e. after the run ended,
    // while the files are still being written: the handler must still be installed then.
    for (let i = 0; i < 3; i++) {
      const out = join(dir, `end-${i}.json`);
      const summary = join(dir, `end-${i}.md`);
      const child = spawn(process.execPath, [BIN, 'bench', '--config', config, 'fast', '-n', '3', '-q', '--format', 'json', '--out', out], {
        env: { ...process.env, ...env, GITHUB_STEP_SUMMARY: summary },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.once('data', () => child.kill('SIGINT'));
      child.stdout.on('data', (d) => (stdout += d));
      const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
      // 130 when the signal came before the last file was written, 0 when after: never killed, never lost.
      expect([0, 130]).toContain(code);
      expect(JSON.parse(stdout).providers[0].ok).toBe(3);
      expect(JSON.parse(readFileSync(out, 'utf8')).providers[0].ok).toBe(3);
      expect(readFileSync(summary, 'utf8')).toMatch(/\| fast \|/);
    }
  });
});

describe('output paths are checked before anything is sent', () => {
  it('a bad --out, --raw or $GITHUB_STEP_SUMMARY is exit 2 naming it, and no request is sent', { timeout: 120_000 }, async () => {
    const ro = join(dir, 'read-only');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    const asRoot = process.getuid?.() === 0; // root writes into a 0555 directory: that case is covered by the tmpfs test
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['--out', join(dir, 'no-such-dir', 'r.json')], {}, /^--out: the directory of .* does not exist/],
      [['--out', dir], {}, /^--out: ".*" is a directory/],
      [['--raw', join(dir, 'missing', 'r.jsonl')], {}, /^--raw: the directory of .* does not exist/],
      [['--raw', ''], {}, /^--raw: the file name is empty/],
      [[], { GITHUB_STEP_SUMMARY: join(dir, 'nope', 'summary.md') }, /^\$GITHUB_STEP_SUMMARY: the directory of .* does not exist/],
      ...(asRoot ? [] : [[['--out', join(ro, 'r.json')], {}, /^--out: cannot write in /] as [string[], NodeJS.ProcessEnv, RegExp]]),
    ];
    const before = (await (await fetch(`${server.url}/_mock/stats`)).json()) as Record<string, { requests?: number }>;
    for (const [args, extra, message] of cases) {
      const r = await run(['bench', '--config', config, 'fast', '-n', '2', '-q', ...args], { env: { ...env, ...extra }, timeoutMs: 10_000 });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim()).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
    const after = (await (await fetch(`${server.url}/_mock/stats`)).json()) as Record<string, { requests?: number }>;
    expect(JSON.stringify(after)).toBe(JSON.stringify(before));
  });

  // Twelve runs, each bounded on its own (a hang fails its case at 15 s, not the test's overall limit).
  it('every usage error with --demo exits 2 within a bound: the in-process emulator is always closed', { timeout: 240_000 }, async () => {
    const cases = [
      ['--fail-on', 'nosuch:error_rate<5%'],
      ['--fail-on', 'nosuch_metric<5'],
      ['nosuch'],
      ['--out', join(dir, 'missing', 'x.json')],
      ['--raw', dir],
      ['--rate', '1', '-c', '2'],
      ['--arrival', 'poisson'],
      ['--format', 'yaml'],
      ['--sort', 'price'],
      ['-n', '0'],
      ['--timeout', 'soon'],
      ['--prompts', join(dir, 'no-such-prompts.txt')],
    ];
    for (const args of cases) {
      const t0 = Date.now();
      const r = await run(['bench', '--demo', '-q', ...args], { env, timeoutMs: 15_000 });
      expect(r.code, args.join(' ')).toBe(2);
      expect(Date.now() - t0, args.join(' ')).toBeLessThan(10_000);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

/** A small real file system that fills up: a 64 KiB tmpfs where mounting is allowed (root), else a file-size limit. */
function fullDisk(): { dir: string; wrap: (argv: string[]) => [string, string[]]; kind: string } {
  const mnt = mkdtempSync(join(tmpdir(), 'llmf-full-'));
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]).status === 0) {
    afterAll(() => {
      spawnSync('umount', [mnt]);
    });
    return { dir: mnt, wrap: (argv) => [process.execPath, argv], kind: 'tmpfs' };
  }
  // Without mount: RLIMIT_FSIZE of 8 KiB makes every larger write fail with EFBIG (SIGXFSZ ignored).
  return { dir: mnt, wrap: (argv) => ['bash', ['-c', `trap '' XFSZ; ulimit -f 8; exec "$0" "$@"`, process.execPath, ...argv]], kind: 'ulimit -f' };
}

describe('a write that fails at the end', () => {
  const disk = fullDisk();

  it(`on a full disk the table is still printed, the old --out is intact, the failure is named, exit 1`, async () => {
    const out = join(disk.dir, 'result.json');
    const old = '{"an earlier result": true}\n';
    writeFileSync(out, old);
    if (disk.kind === 'tmpfs') writeFileSync(join(disk.dir, 'filler'), Buffer.alloc(56 * 1024)); // leaves one 4 KiB page: less than a two-provider result
    const [cmd, argv] = disk.wrap([BIN, 'bench', '--config', config, 'fast', 'fast2', '-n', '3', '-c', '3', '--out', out, '--raw', join(disk.dir, 'raw.jsonl'), '--raw-include-text']);
    // Asynchronously: the emulator answering the requests lives in this process.
    const child = spawn(cmd, argv, { env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const r = { stdout: '', stderr: '', status: null as number | null };
    child.stdout.on('data', (d) => (r.stdout += d));
    child.stderr.on('data', (d) => (r.stderr += d));
    r.status = await new Promise((done) => child.on('close', done));
    expect(r.status, `${disk.kind}: ${r.stderr}`).toBe(1);
    expect(r.stdout).toMatch(/│ fast\s+│/);
    expect(r.stderr).toMatch(/--out: could not write .*result\.json: (ENOSPC|EFBIG)\b/);
    expect(readFileSync(out, 'utf8')).toBe(old);
    // No temporary file is left behind.
    expect(readdirSync(disk.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('a provider that never succeeds', () => {
  it('fails the run (exit 1, named) without --fail-on, unless --allow-failures', async () => {
    const r = await run(['bench', '--config', config, 'fast', 'broken', '-n', '3', '-q'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken: no successful request/);
    expect(r.stderr).not.toMatch(/fast/);
    const allowed = await run(['bench', '--config', config, 'fast', 'broken', '-n', '3', '-q', '--allow-failures'], { env });
    expect(allowed.code).toBe(0);
  });
});

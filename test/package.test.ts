// Ready to publish: what `npm pack` ships, and that the shipped files alone run the main job.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const npm = (args: string[], cwd = ROOT) => execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });

describe('the npm package', () => {
  // --ignore-scripts: `npm test` has just built dist/; prepack would only build it again.
  const listing = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts']))[0] as { files: { path: string }[] };
  const files = listing.files.map((f) => f.path).sort();

  it('ships the CLI, its data files and the licence, and nothing dev-only', () => {
    // bench --self-check starts the emulator as its own process through dist/perf/mock-process.js: shipped.
    for (const f of ['dist/perf/mock-process.js', 'LICENSE', 'README.md', 'package.json', 'bin/llm-fallback.js', 'dist/cli.js', 'dist/commands/bench.js', 'providers.yaml', 'prompts/default.yaml', 'schema/bench-result.schema.json', 'schema/providers.schema.json']) {
      expect(files, f).toContain(f);
    }
    const devOnly = files.filter((f) => /^(src|test|examples|\.ci)\/|^dist\/perf\/(run|memory|emulator-throughput)\.js$|^dist\/write-schema\.js$|\.map$|(?<!\.d)\.ts$|^tsconfig|^vitest/.test(f));
    expect(devOnly).toEqual([]);
    // Every compiled file that is shipped is reachable code or its type declarations for library users: no source maps point at unshipped sources.
    expect(files.filter((f) => f.startsWith('dist/') && !f.endsWith('.js') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files).toContain('dist/index.d.ts');
    // Of the perf harness only the emulator launcher ships (bench --self-check runs it); its other files are dev-only.
    expect(files.filter((f) => f.startsWith('dist/perf/'))).toEqual(['dist/perf/mock-process.js']);
    // No declarations for a module that is not shipped.
    expect(files.filter((f) => f.endsWith('.d.ts') && !files.includes(f.replace(/\.d\.ts$/, '.js')))).toEqual([]);
  });

  it('a CommonJS program can require() it: the export map has a condition require() matches', () => {
    // Node 20.19+ loads an ES module from require(); with only an "import" condition it failed with
    // ERR_PACKAGE_PATH_NOT_EXPORTED ("No exports main defined"), which tells the user nothing.
    const r = spawnSync(process.execPath, ['-e', "const m = require('llm-fallback'); console.log(typeof m.createRouter, typeof m.ProviderError)"], { cwd: join(ROOT, 'test'), encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('function function\n');
  });

  it('builds when packed, not when installed; MIT like its LICENSE; Node >= 20.18', () => {
    expect(pkg.scripts.prepare).toBeUndefined();
    expect(pkg.scripts.postinstall).toBeUndefined();
    expect(pkg.scripts.prepack).toMatch(/tsc -p tsconfig\.json/);
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
    expect(pkg.engines.node).toBe('>=20.18');
  });

  // Packs, unpacks and runs a demo bench: give a loaded machine room.
  it('the packed tarball alone runs bench --demo', { timeout: 120_000 }, () => {
    // Unpacked under node_modules/ so that the runtime dependencies resolve from this clone's install,
    // as they would from the installer's node_modules: only the package's own files come from the tarball.
    const scratch = join(ROOT, 'node_modules', '.cache', 'llmf-pack-test');
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    const tgz = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', scratch]))[0].filename as string;
    execFileSync('tar', ['-xzf', join(scratch, tgz), '-C', scratch]);
    const home = mkdtempSync(join(tmpdir(), 'llmf-pack-'));
    const r = spawnSync(process.execPath, [join(scratch, 'package', 'bin', 'llm-fallback.js'), 'bench', '--demo', '-n', '1', '-q', '--format', 'json'], {
      cwd: home, // not the clone: the shipped providers.yaml and prompts/ must be found inside the package
      env: { ...process.env, HOME: home, GITHUB_STEP_SUMMARY: '' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).providers.map((p: { name: string }) => p.name)).toEqual(['holysheep', 'deepseek', 'kimi', 'minimax']);
    // Every shipped module resolves its imports from the package itself (dev-only files left out are never imported).
    const imports = spawnSync(process.execPath, ['--input-type=module', '-e', `for (const f of ${JSON.stringify(files.filter((f) => f.startsWith('dist/') && f.endsWith('.js')).map((f) => join(scratch, 'package', f)))}) await import(f);`], { encoding: 'utf8', timeout: 60_000 });
    expect(imports.status, imports.stderr).toBe(0);
    rmSync(scratch, { recursive: true, force: true });
  });
});

// Ready to publish: what `npm pack` ships, and the package as a user's project installs it: its bin runs, its
// types resolve (arethetypeswrong, TypeScript's own checker) and the README's library example compiles and runs.
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CLASSES } from '../src/index.js';
import { until } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const npm = (args: string[], cwd = ROOT) => execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });

// --ignore-scripts: `npm test` has just built dist/; prepack would only build it again.
const listing = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts']))[0] as { files: { path: string }[] };
const files = listing.files.map((f) => f.path).sort();

describe('the npm package', () => {
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
});

/**
 * The package as `npm install ./llm-fallback-x.tgz` leaves it in a user's project: the packed tarball's files in
 * node_modules/llm-fallback, its bin linked in node_modules/.bin, and beside it only what that project holds —
 * the package's declared dependencies and, for the TypeScript checks, typescript and @types/node. Each of those
 * is a link to this clone's installed copy (the versions npm would fetch for it; nothing is fetched, no npm
 * cache is needed). The project is outside the clone, so an import of a dev-only dependency does not resolve.
 */
function installPacked(): { project: string; tgz: string } {
  const project = mkdtempSync(join(tmpdir(), 'llmf-installed-'));
  const tgz = join(project, JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', project]))[0].filename as string);
  const modules = join(project, 'node_modules');
  mkdirSync(join(modules, 'llm-fallback'), { recursive: true });
  execFileSync('tar', ['-xzf', tgz, '-C', join(modules, 'llm-fallback'), '--strip-components=1']);
  for (const dep of [...Object.keys(pkg.dependencies), 'typescript', '@types/node']) {
    mkdirSync(dirname(join(modules, dep)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', dep), join(modules, dep), 'dir');
  }
  mkdirSync(join(modules, '.bin'));
  symlinkSync(join('..', 'llm-fallback', pkg.bin['llm-fallback']), join(modules, '.bin', 'llm-fallback'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'a-user-project', private: true, type: 'module', dependencies: { 'llm-fallback': `file:${basename(tgz)}` } }));
  return { project, tgz };
}

/** The README's library example, exactly as the README shows it. */
function readmeLibraryExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Library\n'));
  return section.slice(section.indexOf('```js\n') + '```js\n'.length, section.indexOf('\n```\n'));
}

describe('the packed package, installed in a project of its own', () => {
  let project = '';
  let tgz = '';
  let home = '';
  const bin = () => join(project, 'node_modules', '.bin', 'llm-fallback');
  const env = () => ({ ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CACHE_HOME: join(home, 'cache'), GITHUB_STEP_SUMMARY: '' });

  beforeAll(() => {
    ({ project, tgz } = installPacked());
    home = mkdtempSync(join(tmpdir(), 'llmf-installed-home-'));
  }, 120_000);
  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('arethetypeswrong finds its types resolve for node10, node16 from ESM and bundler; only a CommonJS require is flagged', async () => {
    // @arethetypeswrong/core (attw) resolves every entry point of the tarball as each TypeScript module mode does.
    const result = await checkPackage(createPackageFromTarballData(new Uint8Array(readFileSync(tgz))));
    if (result.types === false) throw new Error('attw found no types in the package');
    expect(result.types).toEqual({ kind: 'included' });
    // The one problem it reports, and the only acceptable one: the package is ESM only, so under
    // `module: node16` a CommonJS file's require() resolves to ESM, which TypeScript 5.6 (attw's) calls an
    // error. Node 20.19+ loads it (see the require() test above); older Node and CJS consumers use import().
    expect(result.problems).toEqual([{ kind: 'CJSResolvesToESM', entrypoint: '.', resolutionKind: 'node16-cjs' }]);
  });

  it('its bin runs --help and a demo bench of 5 requests, with only its declared dependencies installed', { timeout: 120_000 }, () => {
    const help = spawnSync(bin(), ['--help'], { cwd: home, env: env(), encoding: 'utf8', timeout: 30_000 });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: llm-fallback \[options\] \[command\]\n/);
    expect(help.stdout).toMatch(/\n {2}bench \[options\] \[targets\.\.\.\] /);
    const bench = spawnSync(bin(), ['bench', '--demo', '-n', '5', '-q', '--format', 'json'], {
      cwd: home, // not the clone: the shipped providers.yaml and prompts/ must be found inside the package
      env: env(),
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(bench.status, bench.stderr).toBe(0);
    const providers = JSON.parse(bench.stdout).providers as { name: string; requests: number; ok: number }[];
    expect(providers.map((p) => [p.name, p.requests, p.ok])).toEqual(['holysheep', 'deepseek', 'kimi', 'minimax'].map((n) => [n, 5, 5]));
  });

  it('every shipped module loads from the install (dev-only files left out are never imported)', { timeout: 60_000 }, () => {
    const installed = files.filter((f) => f.startsWith('dist/') && f.endsWith('.js')).map((f) => join(project, 'node_modules', 'llm-fallback', f));
    const imports = spawnSync(process.execPath, ['--input-type=module', '-e', `for (const f of ${JSON.stringify(installed)}) await import(f);`], { cwd: project, encoding: 'utf8', timeout: 60_000 });
    expect(imports.status, imports.stderr).toBe(0);
  });

  it('every type its public declarations name is exported or internal on purpose, and none is `any`', () => {
    // TypeScript's own checker, over the installed declarations: from each export of 'llm-fallback', every
    // named type a declaration mentions (properties, parameters, returns, bases; private members left out),
    // followed transitively. A user can only name what index.d.ts exports.
    writeFileSync(join(project, 'surface.ts'), "export * from 'llm-fallback';\n");
    const program = ts.createProgram([join(project, 'surface.ts')], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, types: ['node'], noEmit: true });
    const checker = program.getTypeChecker();
    const entry = checker.getSymbolAtLocation((program.getSourceFile(join(project, 'surface.ts'))!.statements[0] as ts.ExportDeclaration).moduleSpecifier!)!;
    const aliased = (s: ts.Symbol | undefined) => (s && s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
    const exported = new Set(checker.getExportsOfModule(entry).map(aliased));
    const inPackage = (d: ts.Node) => d.getSourceFile().fileName.includes('/node_modules/llm-fallback/');
    // Reached only through what a program never builds itself, so not walked: Router's constructor takes the
    // demo's emulator (createRouter builds it), and ProviderHandle.adapter is the wire protocol's internals.
    const internal = new Set(['MockServer', 'ProviderAdapter']);
    // Named by a public type but needing no name of their own: MemoryLatencyHistory's base class, openStores'
    // `warn` callback type, and the lists ReasoningEffort and ThinkTags are `typeof` of.
    const unnamedOnPurpose = new Set(['BufferedHistory', 'Warn', 'REASONING_EFFORTS', 'THINK_TAG_MODES']);
    const unexported = new Set<string>();
    const anys: string[] = [];
    const queue = [...exported].filter((s) => s !== undefined);
    const walked = new Set<ts.Symbol>();
    for (let sym = queue.shift(); sym; sym = queue.shift()) {
      if (walked.has(sym) || internal.has(sym.name)) continue;
      walked.add(sym);
      for (const decl of (sym.declarations ?? []).filter(inPackage)) {
        const visit = (n: ts.Node): void => {
          if (n !== decl && (ts.isPropertyDeclaration(n) || ts.isMethodDeclaration(n)) && ts.getCombinedModifierFlags(n) & ts.ModifierFlags.Private) return;
          if (n.kind === ts.SyntaxKind.AnyKeyword) anys.push(`${sym.name} in ${n.getSourceFile().fileName.split('/llm-fallback/')[1]}`);
          const name = ts.isTypeReferenceNode(n) ? n.typeName : ts.isExpressionWithTypeArguments(n) ? n.expression : ts.isTypeQueryNode(n) ? n.exprName : undefined;
          const target = name && aliased(checker.getSymbolAtLocation(ts.isQualifiedName(name) ? name.right : name));
          if (target && !(target.flags & ts.SymbolFlags.TypeParameter) && target.declarations?.some(inPackage)) {
            if (!exported.has(target) && !internal.has(target.name) && !unnamedOnPurpose.has(target.name)) unexported.add(target.name);
            queue.push(target);
          }
          ts.forEachChild(n, visit);
        };
        visit(decl);
      }
    }
    expect([...unexported].sort()).toEqual([]);
    expect(anys).toEqual([]);
    // The walk reached what it guards: the request, the result's attempts, the config and the store interfaces.
    expect([...walked].map((s) => s.name)).toEqual(expect.arrayContaining(['CallRequest', 'ChainResult', 'Attempt', 'SentSettings', 'Config', 'ServeConfig', 'Breakers', 'Admission', 'LatencyHistory', 'LatencySamples']));
  });

  it('the README library example and a typed consumer compile in strict TypeScript (nodenext and bundler) and run against the installed bin\'s emulator', { timeout: 180_000 }, async () => {
    writeFileSync(join(project, 'readme-example.ts'), readmeLibraryExample());
    writeFileSync(join(project, 'library-consumer.ts'), readFileSync(join(ROOT, 'test', 'clients', 'library-consumer.ts')));
    const strict = { target: 'ES2022', strict: true, types: ['node'], skipLibCheck: false };
    // nodenext also checks every shipped declaration file (each must resolve what it imports), and emits the programs to run.
    writeFileSync(join(project, 'tsconfig.nodenext.json'), JSON.stringify({ compilerOptions: { ...strict, module: 'NodeNext', moduleResolution: 'NodeNext', rootDir: '.', outDir: 'out' }, include: ['readme-example.ts', 'library-consumer.ts', 'node_modules/llm-fallback/dist/**/*.d.ts'] }));
    writeFileSync(join(project, 'tsconfig.bundler.json'), JSON.stringify({ compilerOptions: { ...strict, module: 'ESNext', moduleResolution: 'Bundler', noEmit: true }, include: ['readme-example.ts', 'library-consumer.ts'] }));
    const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
    expect(JSON.parse(readFileSync(join(project, 'node_modules', 'typescript', 'package.json'), 'utf8')).version).toBe(pkg.devDependencies.typescript);
    for (const config of ['tsconfig.nodenext.json', 'tsconfig.bundler.json']) {
      const r = spawnSync(process.execPath, [tsc, '-p', config], { cwd: project, encoding: 'utf8', timeout: 90_000 });
      expect(`${config}: ${r.stdout}${r.stderr}`).toBe(`${config}: `);
      expect(r.status).toBe(0);
    }

    // The emulator, from the installed package's own bin, on a free port: its providers.yaml on stdout.
    const mock = spawn(bin(), ['mock', '--port', '0', '--print-config'], { cwd: project, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let printed = '';
      mock.stdout.setEncoding('utf8').on('data', (d: string) => (printed += d));
      await until(() => /\nchains:\n {2}default: \[[^\]]+\]\n/.test(printed), 'mock --print-config, run from the installed bin', 30_000);
      writeFileSync(join(project, 'mock.yaml'), printed);
      const node = (args: string[]) =>
        new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
          execFile(process.execPath, args, { cwd: project, env: env(), encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr })),
        );

      // The README example, compiled from TypeScript, as written (demo: true, the package's in-process emulator)…
      const asWritten = await node([join('out', 'readme-example.js')]);
      // …and pointed at the emulator the bin started, as the README says to ("drop it to use your providers.yaml").
      const onMock = readmeLibraryExample().replace('createRouter({ demo: true })', "createRouter({ config: 'mock.yaml' })");
      expect(onMock).toContain("config: 'mock.yaml'");
      writeFileSync(join(project, 'readme-example-mock.mjs'), onMock);
      const againstMock = await node(['readme-example-mock.mjs']);
      for (const [run, cost] of [[asWritten, /\$0\.0000\d\d$/], [againstMock, /\$0\.000000$/]] as const) {
        expect(run.code, run.stderr).toBe(0);
        expect(run.stderr).toBe('');
        const lines = run.stdout.split('\n');
        expect(lines[0]).toMatch(/^live answer from holysheep \(deepseek-v3\.2\) in \d+ ms, \$\d\.\d{6}$/);
        expect(lines[0]).toMatch(cost); // the demo's shipped prices; mock.yaml has none
        expect(lines.slice(1, 3)).toEqual(['holysheep: success', '→ asking holysheep']);
        expect(lines[3].trim()).not.toBe('');
        expect(lines[4]).toMatch(/^✓ holysheep, first token \d+ ms$/);
      }

      const consumer = await node([join('out', 'library-consumer.js'), 'mock.yaml']);
      expect(consumer.code, consumer.stderr).toBe(0);
      expect(consumer.stdout.split('\n')).toEqual([
        `chat: live holysheep [holysheep success - max_tokens=8 127.0.0.1]`,
        'stores: admitted 1, latency samples true; 9 providers, routes 10',
        'stream: start holysheep, token, end, answer live',
        'refused: sampling.topK',
        'unknown route: true',
        'missing config: 1',
        'openStores: file',
        `error classes: ${ERROR_CLASSES.length}`,
        '',
      ]);
    } finally {
      mock.kill();
    }
  });
});

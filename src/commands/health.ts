import { selectProviders } from '../bench/targets.js';
import { findChain, findConfigFile, hasKey, loadConfig, requireSomeProviders } from '../config/load.js';
import type { Config, ProviderConfig } from '../config/types.js';
import { HEALTH_DEFAULTS } from '../defaults.js';
import { UsageError } from '../errors.js';
import { healthJunit, healthMarkdown, healthTable, watchLine } from '../format/health.js';
import { reportJson } from '../format/numbers.js';
import { keylessResult, probe, verdict, type HealthReport, type HealthResult, type HealthTarget } from '../health/check.js';
import { openProvider } from '../providers/handle.js';
import { progressWanted } from '../report/progress.js';
import { checkOutputPaths, divertedLines, failureLines, stepSummaryTarget, writeOutputs, type Diverted, type OutputTarget } from '../report/write.js';
import { FileBreakers } from '../state/breaker.js';
import { formatMs } from '../util/duration.js';
import { StopSignals } from '../util/signals.js';
import { sleep } from '../util/time.js';
import { closest } from '../util/suggest.js';
import { choiceFlag, durationFlag } from './options.js';

export interface HealthOptions {
  shallow?: boolean;
  require?: string;
  chain?: string;
  format: string;
  out?: string;
  timeout: string;
  watch?: string;
  quiet?: boolean;
}

const FORMATS = ['table', 'json', 'markdown', 'junit'] as const;
type Format = (typeof FORMATS)[number];

/**
 * The providers to check: those named (chains expanded), else every provider whose key is set and every
 * provider marked `required: true` (one without its key fails the run as required, rather than vanish).
 */
function selectForHealth(cfg: Config, names: string[], chains: string[]): ProviderConfig[] {
  if (names.length || chains.length) return selectProviders(cfg, [...names, ...chains], process.env, 'health');
  requireSomeProviders(cfg);
  const withKeys = [...cfg.providers.values()].filter((p) => (p.apiKeyEnv && hasKey(p)) || p.required);
  if (withKeys.length === 0) {
    // Providers often share one key variable: each is named once.
    const vars = [...new Set([...cfg.providers.values()].map((p) => p.apiKeyEnv).filter(Boolean))];
    const example = `(e.g. "health ${[...cfg.providers.keys()][0]}"${cfg.chains.size ? ` or "health --chain ${[...cfg.chains.keys()][0]}"` : ''})`;
    // A config whose providers take no key (local servers, the emulator) has no variable to name or export.
    if (vars.length === 0) {
      throw new UsageError(`health: nothing to check — no provider in ${cfg.file} sets api_key_env, and without names health checks only providers whose key is set (and required: true ones); name what to check ${example}`);
    }
    throw new UsageError(
      `health: nothing to check — no provider in ${cfg.file} has its API key set (${vars.slice(0, 3).join(', ')}${vars.length > 3 ? ', ...' : ''}); export the keys, or name what to check ${example}`,
    );
  }
  return withKeys;
}

/** Why a provider must be healthy: what a message tells the user to change when it cannot be checked. */
type RequiredBy = 'require' | 'config' | 'named';

/**
 * The providers that must be healthy, each with what made it so. A provider named by --require but not
 * selected is added to `selected`: leaving it out would hide that it is missing (e.g. has no key). Naming
 * providers asks for them: without --require or `required: true`, every one named must pass, so a named
 * provider without its key fails the run instead of passing it unchecked.
 */
function requireProviders(cfg: Config, opts: HealthOptions, selected: ProviderConfig[], chains: unknown[]): Map<string, RequiredBy> {
  const selectedNames = selected.map((p) => p.name);
  if (opts.require !== undefined) {
    const list = opts.require.split(',').map((s) => s.trim()).filter(Boolean);
    // An empty --require (a CI variable left unset) must not pass as "nothing is required".
    if (list.length === 0) throw new UsageError('--require: names no provider or chain; give a comma-separated list (e.g. --require deepseek,default) or leave the flag out');
    for (const n of list) {
      if (cfg.chains.has(n) && !cfg.providers.has(n)) throw new UsageError(`--require: "${n}" is a chain; to require that it can answer, use --chain ${n}`);
      if (!cfg.providers.has(n)) {
        const hint = closest(n, [...cfg.providers.keys()]);
        throw new UsageError(`--require: "${n}" is not a provider in ${cfg.file}${hint ? `; did you mean "${hint}"?` : ''}`);
      }
      if (!selectedNames.includes(n)) selected.push(cfg.providers.get(n)!);
    }
    return new Map(list.map((n) => [n, 'require']));
  }
  if (selected.some((p) => p.required)) return new Map(selected.filter((p) => p.required).map((p) => [p.name, 'config']));
  // With a chain, the chain decides; otherwise every selected provider counts.
  return new Map(chains.length ? [] : selectedNames.map((n) => [n, 'named']));
}

/** The fix for a required provider whose key is not set, by what made it required. */
function keyFix(p: ProviderConfig, by: RequiredBy, file: string): string {
  const v = p.apiKeyEnv!;
  if (by === 'require') return `export ${v}, or take ${p.name} out of --require`;
  if (by === 'config') return `export ${v}, or drop required: true from ${p.name} in ${file}`;
  return `export ${v}, or list in --require only the named providers that must pass`;
}

export async function healthCommand(names: string[], opts: HealthOptions, global: { config?: string }): Promise<number> {
  const format = choiceFlag<Format>('--format', opts.format, FORMATS)!;
  const timeoutMs = durationFlag('--timeout', opts.timeout) ?? HEALTH_DEFAULTS.timeoutMs;
  const watchMs = durationFlag('--watch', opts.watch);
  // --watch prints transition lines on stdout: after a JSON/JUnit/markdown report they would make it unreadable.
  if (watchMs !== undefined && format !== 'table' && opts.out === undefined) {
    throw new UsageError(`--watch: its up/down lines go to standard output and would break the ${format} report there; add --out FILE for the ${format} report (rewritten after each round), or leave --format out`);
  }
  const outputs: OutputTarget[] = [];
  if (opts.out !== undefined) outputs.push({ source: '--out', file: opts.out });
  const summary = stepSummaryTarget();
  if (summary) outputs.push(summary);
  checkOutputPaths(outputs, [{ source: 'the config', file: findConfigFile(global.config) }]);

  const cfg = loadConfig(global.config);
  const chains: { name: string; providers: string[] }[] = [];
  if (opts.chain) {
    const chain = findChain(cfg, opts.chain, '--chain');
    chains.push({ name: chain.name, providers: chain.providers });
  }
  const selected = selectForHealth(cfg, names, chains.map((c) => c.name));
  const required = requireProviders(cfg, opts, selected, chains);
  const mode = opts.shallow ? 'shallow' : 'deep';
  // Keyless providers are left out as skipped, as ask does: a missing secret fails only what must be checked.
  const keyless: HealthResult[] = selected.filter((p) => !hasKey(p)).map((p) => {
    const by = required.get(p.name);
    return keylessResult(p.name, p.model, by !== undefined, p.price !== undefined, p.apiKeyEnv!, mode, by && keyFix(p, by, cfg.file));
  });
  const targets: HealthTarget[] = selected
    .filter((p) => hasKey(p))
    .map((p) => ({ ...openProvider(p), required: required.has(p.name) }));
  const order = selected.map((p) => p.name);
  const warn = (m: string) => process.stderr.write(`llm-fallback: warning: ${m}\n`);
  const breakers = new FileBreakers({ failures: cfg.ask.breakerFailures, cooldownMs: cfg.ask.breakerCooldownMs, probeTimeoutMs: HEALTH_DEFAULTS.probeTimeoutMs }, process.env, warn);
  const abort = new AbortController();
  const signals = new StopSignals(() => abort.abort());

  const round = async (): Promise<HealthReport> => {
    const probes = await Promise.all(targets.map((t) => probe(t, mode, timeoutMs, abort.signal)));
    const checked = probes.map((p) => p.result);
    // An interrupted check says nothing about the provider: the breaker is left as it was.
    if (!abort.signal.aborted) {
      await breakers.load();
      for (const { result: r, blamesProvider } of probes) {
        const t = targets.find((x) => x.name === r.name)!;
        if (r.healthy) await breakers.success(t.breakerKey, t.name);
        else if (r.error_class && blamesProvider) await breakers.failure(t.breakerKey, t.name, r.error_class, undefined);
      }
    }
    const results = [...checked, ...keyless].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
    return verdict(results, chains, mode);
  };

  const rendered = (report: HealthReport, f: Format) =>
    f === 'json' ? reportJson(report) : f === 'markdown' ? healthMarkdown(report) : f === 'junit' ? healthJunit(report) : healthTable(report);
  /** With --out the file gets the chosen format (JSON for table) and the terminal the table; without, stdout gets the format. */
  const emit = (report: HealthReport): number => {
    process.stdout.write(rendered(report, opts.out !== undefined ? 'table' : format));
    // Checks cut short by a signal keep an earlier file whole: their report goes beside it, as bench's does.
    const diverted: Diverted[] = [];
    const failures = writeOutputs([
      ...(opts.out !== undefined ? [{ source: '--out', file: opts.out, text: rendered(report, format === 'table' ? 'json' : format) }] : []),
      ...(summary ? [{ ...summary, text: healthMarkdown(report) }] : []),
    ], { partial: abort.signal.aborted, diverted });
    for (const line of [...failureLines(failures), ...divertedLines(diverted)]) process.stderr.write(`${line}\n`);
    return failures.length;
  };

  try {
    let report = await round();
    const failedWrites = emit(report);
    if (signals.received) return signals.exitCode;
    if (watchMs === undefined) return report.ok && !failedWrites ? 0 : 1;
    // --watch: re-check on an interval and print only the changes, until Ctrl-C (130) or SIGTERM (143).
    // Redrawn in place, so only where a line can be cleared (not TERM=dumb), as bench's progress.
    const alive = progressWanted(process.stderr, process.env, false) ? (text: string) => process.stderr.write(`\r\x1b[2K${text}`) : undefined;
    let prev = new Map(report.providers.map((p) => [p.name, p.healthy]));
    while (!abort.signal.aborted) {
      alive?.(watchLine(report, watchMs));
      // sleep() removes its abort listener each round; a listener left per round tripped MaxListenersExceededWarning.
      await sleep(watchMs, abort.signal);
      if (abort.signal.aborted) break;
      report = await round();
      if (abort.signal.aborted) break;
      alive?.('');
      for (const p of report.providers) {
        if (prev.get(p.name) !== p.healthy) process.stdout.write(`${new Date().toISOString()} ${p.name} ${transition(p)}\n`);
      }
      prev = new Map(report.providers.map((p) => [p.name, p.healthy]));
      if (opts.out !== undefined) for (const line of failureLines(writeOutputs([{ source: '--out', file: opts.out, text: rendered(report, format === 'table' ? 'json' : format) }]))) process.stderr.write(`${line}\n`);
    }
    alive?.('');
    return signals.exitCode;
  } finally {
    signals.finish();
    await Promise.all(targets.map((t) => t.adapter.close()));
  }
}

function transition(p: HealthResult): string {
  if (p.healthy) return `UP (${formatMs(p.latency_ms)})`;
  return `DOWN (${p.error_detail ?? 'unhealthy'}${p.status ? ` HTTP ${p.status}` : ''})`;
}

import { appendFileSync, writeFileSync } from 'node:fs';
import { selectProviders } from '../bench/targets.js';
import { findChain, loadConfig, resolveProvider, type ProviderConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { healthJunit, healthMarkdown, healthTable } from '../format/health.js';
import { checkOne, verdict, type HealthReport, type HealthTarget } from '../health/check.js';
import { countsAgainstProvider } from '../providers/errors.js';
import { createAdapter } from '../providers/index.js';
import { FileBreakers, breakerKey } from '../state/breaker.js';
import { formatMs } from '../util/duration.js';
import { closest } from '../util/suggest.js';
import { sleep } from '../util/time.js';
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

export async function healthCommand(names: string[], opts: HealthOptions, global: { config?: string }): Promise<number> {
  const format = choiceFlag('--format', opts.format, FORMATS)!;
  const timeoutMs = durationFlag('--timeout', opts.timeout)!;
  const watchMs = durationFlag('--watch', opts.watch);
  const cfg = loadConfig(global.config);
  const chains: { name: string; providers: string[] }[] = [];
  if (opts.chain) {
    const chain = findChain(cfg, opts.chain, '--chain');
    chains.push({ name: chain.name, providers: chain.providers });
  }
  const selected: ProviderConfig[] = names.length || chains.length ? selectProviders(cfg, [...names, ...chains.map((c) => c.name)], process.env) : selectProviders(cfg, [], process.env);
  const selectedNames = selected.map((p) => p.name);
  let required: Set<string>;
  if (opts.require !== undefined) {
    const list = opts.require.split(',').map((s) => s.trim()).filter(Boolean);
    for (const n of list) {
      if (!selectedNames.includes(n)) {
        const hint = closest(n, selectedNames);
        throw new UsageError(`--require: "${n}" is not among the checked providers (${selectedNames.join(', ')})${hint ? `; did you mean "${hint}"?` : ''}`);
      }
    }
    required = new Set(list);
  } else if (selected.some((p) => p.required)) {
    required = new Set(selected.filter((p) => p.required).map((p) => p.name));
  } else {
    // With a chain, the chain decides; otherwise every checked provider counts.
    required = new Set(chains.length ? [] : selectedNames);
  }
  const targets: HealthTarget[] = selected.map((p) => {
    const s = resolveProvider(p);
    return { name: p.name, model: s.model, adapter: createAdapter(s), price: p.price, required: required.has(p.name), breakerKey: breakerKey(p.name, s.baseUrl, s.model) };
  });
  const warn = (m: string) => process.stderr.write(`llm-fallback: warning: ${m}\n`);
  const breakers = new FileBreakers({ failures: cfg.ask.breakerFailures, cooldownMs: cfg.ask.breakerCooldownMs, probeTimeoutMs: 60_000 }, process.env, warn);
  const mode = opts.shallow ? 'shallow' : 'deep';
  const abort = new AbortController();

  const round = async (): Promise<HealthReport> => {
    const results = await Promise.all(targets.map((t) => checkOne(t, mode, timeoutMs, abort.signal)));
    await breakers.load();
    for (const r of results) {
      const t = targets.find((x) => x.name === r.name)!;
      if (r.healthy) await breakers.success(t.breakerKey, t.name);
      else if (r.error_class && countsAgainstProvider(r.error_class)) await breakers.failure(t.breakerKey, t.name, r.error_class, undefined);
    }
    return verdict(results, chains, mode);
  };

  const emit = (report: HealthReport) => {
    const text = format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : format === 'markdown' ? healthMarkdown(report) : format === 'junit' ? healthJunit(report) : healthTable(report);
    if (opts.out) writeFileSync(opts.out, format === 'table' ? `${JSON.stringify(report, null, 2)}\n` : text);
    if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, healthMarkdown(report));
    process.stdout.write(text);
  };

  try {
    let report = await round();
    emit(report);
    if (watchMs === undefined) return report.ok ? 0 : 1;
    // --watch: re-check on an interval and print only the changes, until Ctrl-C.
    let stop = false;
    const onSigint = () => {
      stop = true;
      abort.abort();
    };
    process.once('SIGINT', onSigint);
    process.once('SIGTERM', onSigint);
    let prev = new Map(report.providers.map((p) => [p.name, p.healthy]));
    while (!stop) {
      // sleep() removes its abort listener each round; a listener left per round tripped MaxListenersExceededWarning.
      await sleep(watchMs, abort.signal);
      if (stop) break;
      report = await round();
      for (const p of report.providers) {
        if (prev.get(p.name) !== p.healthy) {
          process.stdout.write(
            `${new Date().toISOString()} ${p.name} ${p.healthy ? `UP (${formatMs(p.latency_ms)})` : `DOWN (${p.error_detail ?? 'unhealthy'}${p.status ? ` HTTP ${p.status}` : ''})`}\n`,
          );
        }
      }
      prev = new Map(report.providers.map((p) => [p.name, p.healthy]));
      if (opts.out) writeFileSync(opts.out, `${JSON.stringify(report, null, 2)}\n`);
    }
    process.off('SIGINT', onSigint);
    return report.ok ? 0 : 1;
  } finally {
    await Promise.all(targets.map((t) => t.adapter.close()));
  }
}

import type { EventEmitter } from 'node:events';
import { assembleResult } from '../bench/assemble.js';
import { DEFAULT_PROMPTS, loadPrompts, toMessages } from '../bench/prompts.js';
import type { BenchResult, RunSettings } from '../bench/result.js';
import { BenchRunner, type BenchTarget, type LoadSpec, type RequestRecord } from '../bench/runner.js';
import { demoTargets, selectProviders, targetsFor, workerTargetsFor } from '../bench/targets.js';
import { parseWorkers, threadLoads, WorkerPool, type WorkerTarget } from '../bench/workers.js';
import { checkGoodputThresholds, parseSlos } from '../bench/slo.js';
import { IntervalLog } from '../bench/hlog.js';
import { globalIndex, parseShard, parseStartAt, shardLoad } from '../bench/shard.js';
import { buildWorkload, workloadFlags, type WorkloadOptions } from '../bench/workloads/options.js';
import { checkThresholdProviders, evaluateThresholds, parseThreshold, type Threshold } from '../bench/thresholds.js';
import { findConfigFile, loadConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { benchCsv, benchMarkdown, benchTable, SORT_KEYS, thresholdLines, type SortKey } from '../format/bench.js';
import { wrapText } from '../format/table.js';
import { colorWanted, LiveProgress, progressWanted } from '../report/progress.js';
import type { MockServer } from '../mock/server.js';
import { htmlReport } from '../report/html.js';
import { AtomicLineFile, checkOutputPaths, divertedLines, failureLines, stepSummaryTarget, writeOutputs, type Diverted, type InputFile, type OutputTarget } from '../report/write.js';
import { StopSignals } from '../util/signals.js';
import { BENCH_DEFAULTS, EXIT } from '../defaults.js';
import { now } from '../util/clock.js';
import { formatMs } from '../util/duration.js';
import { choiceFlag, durationFlag, intFlag, numberFlag, outputFileFlag, positiveNumberFlag } from './options.js';
import { CapacitySweep, sweepSettings } from '../bench/sweep.js';
import { RepeatedRuns } from '../bench/repeat.js';
import { checkSweepThresholds, sweepConfig, type SweepFlags } from './sweep-flags.js';
import { sweepProgressLine } from '../format/sweep.js';

export interface BenchOptions extends SweepFlags, WorkloadOptions {
  demo?: boolean;
  concurrency?: string;
  rate?: string;
  arrival?: string;
  requests?: string;
  duration?: string;
  warmup?: string;
  maxTokens?: string;
  temperature?: string;
  stream: boolean;
  timeout?: string;
  seed?: string;
  prompts?: string;
  prompt?: string[];
  sort?: string;
  format?: string;
  out?: string;
  raw?: string;
  rawIncludeText?: boolean;
  failOn?: string[];
  slo?: string[];
  html?: string;
  hlog?: string;
  shard?: string;
  startAt?: string;
  quiet?: boolean;
  wide?: boolean;
  maxInflight?: string;
  allowFailures?: boolean;
  repeat?: string;
  workers?: string;
}

const FORMATS = ['table', 'json', 'csv', 'markdown'] as const;

/** Demo defaults keep `bench --demo` well under a minute. */
/** Each unit of concurrency is a worker and a socket; past these a run measures the client, not the provider. */
const MAX_CONCURRENCY = 10_000;
const MAX_RATE = 100_000;
/** Past this many runs, --repeat is a soak test: use --duration instead. */
const MAX_REPEAT = 1_000;
const REPEAT_NOTE = 'Repeated runs (--repeat): the figures are every run\'s requests together; each provider\'s repeats list every run\'s own figures and their spread.';
const SWEEP_NOTE = 'Capacity search (--sweep): each provider\'s figures are those of its step at the maximum (or, when no step met the target, of the lowest level tried); every step is listed under sweep.';

export async function benchCommand(names: string[], opts: BenchOptions, global: { config?: string; version: string }): Promise<number> {
  // --demo measures the built-in emulator; a --config beside it would be silently ignored.
  if (opts.demo && global.config !== undefined) throw new UsageError(`--demo: benchmarks the built-in emulator, not a config; drop --config ${global.config}, or drop --demo to bench its providers`);
  const format = choiceFlag('--format', opts.format ?? 'table', FORMATS)!;
  const sort = choiceFlag<SortKey>('--sort', opts.sort, SORT_KEYS);
  const rate = positiveNumberFlag('--rate', opts.rate, MAX_RATE);
  const concurrencyFlag = intFlag('--concurrency', opts.concurrency, 1, MAX_CONCURRENCY);
  if (rate !== undefined && concurrencyFlag !== undefined) throw new UsageError('--rate and --concurrency: choose one; --concurrency N is a closed loop, --rate R an open loop at R requests/s');
  const arrival = choiceFlag('--arrival', opts.arrival ?? 'constant', ['constant', 'poisson'] as const)!;
  if (opts.arrival && rate === undefined) throw new UsageError('--arrival: only applies with --rate (open loop)');
  const durationMs = durationFlag('--duration', opts.duration);
  let requests = intFlag('--requests', opts.requests);
  const slos = parseSlos(opts.slo ?? []);
  const sweep = sweepConfig(opts, { rate, concurrency: concurrencyFlag, requests: opts.requests, duration: opts.duration, warmup: opts.warmup, slos, maxRate: MAX_RATE, maxConcurrency: MAX_CONCURRENCY });
  // A trace is replayed whole unless --requests or --duration cut it short.
  if (requests === undefined && durationMs === undefined && !sweep && opts.trace === undefined) requests = opts.demo ? BENCH_DEFAULTS.demoRequests : BENCH_DEFAULTS.requests;
  const repeat = intFlag('--repeat', opts.repeat, 1, MAX_REPEAT) ?? 1;
  if (repeat > 1 && sweep) throw new UsageError('--repeat: a capacity search (--sweep) runs its own series of steps; run the sweep once, or repeat a fixed load without --sweep');
  const warmup = intFlag('--warmup', opts.warmup, 0) ?? 0;
  const maxTokens = intFlag('--max-tokens', opts.maxTokens);
  const temperature = numberFlag('--temperature', opts.temperature, 0, 2);
  const timeoutMs = durationFlag('--timeout', opts.timeout);
  const seed = intFlag('--seed', opts.seed, 0) ?? 1;
  const maxInflight = intFlag('--max-inflight', opts.maxInflight) ?? BENCH_DEFAULTS.maxInflight;
  const thresholds: Threshold[] = (opts.failOn ?? []).map((e) => parseThreshold(e, '--fail-on'));
  const html = outputFileFlag('--html', opts.html);
  const hlog = outputFileFlag('--hlog', opts.hlog);
  const shard = parseShard(opts.shard);
  if (shard && sweep) throw new UsageError('--shard: a capacity search (--sweep) adapts each step to the last one and cannot be split; run it in one process');
  const startAtMs = parseStartAt(opts.startAt);
  const workloadSpec = workloadFlags(opts);
  if (workloadSpec && (sweep || repeat > 1)) throw new UsageError(`${sweep ? '--sweep' : '--repeat'}: not combined with --input-tokens, --output-tokens, --shared-prefix-tokens, --turns or --trace yet (their figures would mix every step); run the workload once without it`);

  // Given both, one would be dropped without a word: the run would not send what the user asked for.
  if (opts.prompt?.length && opts.prompts !== undefined) throw new UsageError(`--prompt and --prompts: choose one; --prompt "..." sends the prompts given on the command line, --prompts ${opts.prompts} those of the file`);
  let prompts;
  if (opts.prompt?.length) prompts = opts.prompt.map((p, i) => toMessages(p, `--prompt #${i + 1}`));
  else prompts = loadPrompts(opts.prompts ?? DEFAULT_PROMPTS);
  // Loads the tokenizer and checks a trace whole before anything is started.
  const workload = workloadSpec ? await buildWorkload(workloadSpec, prompts, seed) : undefined;

  // Every output path is checked before anything starts: a typo must not cost a finished run.
  const outputs: OutputTarget[] = [];
  if (opts.out !== undefined) outputs.push({ source: '--out', file: opts.out });
  if (opts.raw !== undefined) outputs.push({ source: '--raw', file: opts.raw });
  if (html) outputs.push({ source: '--html', file: html });
  if (hlog) outputs.push({ source: '--hlog', file: hlog });
  const summary = stepSummaryTarget();
  if (summary) outputs.push(summary);
  // No output may name another (one would overwrite the other) or a file this run reads.
  const inputs: InputFile[] = [];
  if (!opts.demo) inputs.push({ source: 'the config', file: findConfigFile(global.config) });
  if (opts.prompts !== undefined && !opts.prompt?.length) inputs.push({ source: '--prompts', file: opts.prompts });
  if (opts.trace !== undefined) inputs.push({ source: '--trace', file: opts.trace });
  checkOutputPaths(outputs, inputs);

  let targets: BenchTarget[];
  let server: MockServer | undefined;
  let sources: () => WorkerTarget[];
  if (opts.demo) {
    let demoSources: WorkerTarget[];
    ({ targets, server, sources: demoSources } = await demoTargets(names));
    sources = () => demoSources;
  } else {
    const cfg = loadConfig(global.config);
    const selected = selectProviders(cfg, names, process.env);
    targets = targetsFor(selected, process.env);
    sources = () => workerTargetsFor(selected, process.env);
    thresholds.push(...cfg.thresholds.map((e, i) => parseThreshold(e, `${cfg.file}: thresholds[${i}]`)));
    for (const p of selected) thresholds.push(...p.thresholds.map((e, i) => ({ ...parseThreshold(e, `${cfg.file}: providers.${p.name}.thresholds[${i}]`), provider: p.name })));
  }
  // From here on every path, the error paths included, closes what was started (the demo emulator, sockets).
  const closeAll = async () => {
    await Promise.all(targets.map((t) => t.adapter.close()));
    await server?.close();
  };
  try {
    checkThresholdProviders(thresholds, targets.map((t) => t.name));
    checkGoodputThresholds(thresholds, slos);
    checkSweepThresholds(thresholds, sweep);
  } catch (e) {
    await closeAll();
    throw e;
  }

  // --shard: this process runs its share of the whole load the flags describe.
  const mode = rate !== undefined || sweep?.mode === 'rate' || workload?.tracing ? 'open' : 'closed';
  let share;
  let workers: number;
  const whole = { mode, requests, concurrency: concurrencyFlag ?? (opts.demo && !sweep ? BENCH_DEFAULTS.demoConcurrency : BENCH_DEFAULTS.concurrency), rate: rate ?? 0, warmup } as const;
  try {
    share = shardLoad(whole, shard);
    workers = parseWorkers(opts.workers, { ...whole, requests: share.requests, concurrency: share.concurrency });
    if (workers > 1) {
      // Engines that adapt step by step, or whose prompts depend on earlier answers, run in one thread only.
      const alone = sweep ? '--sweep' : repeat > 1 ? '--repeat' : workloadSpec ? 'a workload flag (--input-tokens, --output-tokens, --shared-prefix-tokens, --turns, --trace)' : undefined;
      if (alone) throw new UsageError(`--workers ${workers}: not combined with ${alone} yet; run it with --workers 1 (the default)`);
      threadLoads(whole, workers, shard);
    }
    await workload?.prepare(targets, share.requests !== undefined ? warmup + share.requests : undefined, (i) => globalIndex(i, warmup, shard));
  } catch (e) {
    await closeAll();
    throw e;
  }
  const spec: LoadSpec = {
    mode,
    concurrency: share.concurrency,
    rate: share.rate,
    arrival,
    requests: share.requests,
    durationMs,
    warmup,
    stream: opts.stream,
    maxTokens,
    temperature,
    timeoutMs,
    seed,
    prompts,
    keepText: Boolean(opts.rawIncludeText),
    maxInflight,
    slos,
    shard,
    startAtMs,
    workload,
  };
  const settings: RunSettings = {
    mode: spec.mode,
    // A sweep's rate or concurrency differs per step and provider: see each provider's sweep.steps.
    concurrency: spec.mode === 'closed' && !sweep ? spec.concurrency : null,
    rate: sweep || rate === undefined ? null : spec.rate,
    arrival: spec.mode === 'open' ? arrival : null,
    requests: spec.requests ?? null,
    duration_ms: durationMs ?? null,
    warmup: sweep ? sweep.warmup : warmup,
    stream: opts.stream,
    max_tokens: maxTokens ?? null,
    temperature: temperature ?? null,
    timeout_ms: timeoutMs ?? null,
    seed,
    prompts: prompts.length,
    demo: Boolean(opts.demo),
    slo: slos.length ? slos : null,
    shard: shard ?? null,
    start_at: startAtMs === undefined ? null : new Date(startAtMs).toISOString(),
    sweep: sweep ? sweepSettings(sweep) : null,
    repeat: repeat > 1 ? repeat : null,
    workers,
  };
  if (workload) settings.workload = workload.settings;

  const wantProgress = progressWanted(process.stderr, process.env, Boolean(opts.quiet));
  const runner = workers > 1 ? new WorkerPool(sources(), spec, whole, workers, { progress: wantProgress, forward: opts.raw !== undefined || hlog !== undefined }) : sweep ? new CapacitySweep(targets, spec, sweep) : repeat > 1 ? new RepeatedRuns(targets, spec, repeat) : new BenchRunner(targets, spec);
  if (runner instanceof RepeatedRuns && !opts.quiet) runner.on('run', (i: number, o: { startedAt: Date; endedAt: Date }) => stderr.write(`  run ${i} of ${repeat} done (${formatMs(o.endedAt.getTime() - o.startedAt.getTime())})\n`));
  const stderr = process.stderr;
  // Ctrl-C and SIGTERM (timeout, docker stop, a cancelled CI job) stop the run the same way. The handlers stay
  // installed until the result is printed and written, so a signal landing at the very end cannot lose it.
  let progress: { stop(): void } | undefined;
  const signals = new StopSignals(() => {
    progress?.stop();
    stderr.write(`\nInterrupted: stopping${signals.received === 'SIGTERM' ? ' (SIGTERM)' : ''}, waiting briefly for requests in flight (${signals.received === 'SIGTERM' ? 'a second signal' : 'Ctrl-C again'} to quit at once)…\n`);
    runner.stop();
  });
  if (!opts.quiet && sweep) {
    stderr.write(`${wrapText(`bench --sweep ${sweep.mode}${opts.demo ? ' --demo' : ''}: ${targets.map((t) => t.name).join(', ')} — steps of ${formatMs(sweep.stepDurationMs)} from ${sweep.start}${sweep.mode === 'rate' ? '/s' : ' in flight'}, each must reach ${Math.round(sweep.targetAttainment * 1000) / 10}% attainment of ${slos.map((s) => s.expression).join(', ')}; at most ${sweep.maxRequests} requests${sweep.maxCostUsd !== undefined ? ` or $${sweep.maxCostUsd}` : ''} per provider`).join('\n')}\n`);
    runner.on('step', (name: string, step) => stderr.write(`${sweepProgressLine(name, step)}\n`));
  } else if (!opts.quiet) {
    const load = workload?.tracing ? `trace replay of ${workload.settings.trace!.file}` : spec.mode === 'open' ? `open loop, ${rate}/s ${arrival} arrivals` : `closed loop, concurrency ${spec.concurrency}`;
    const bound = [requests !== undefined ? `${requests} requests` : '', durationMs !== undefined ? `${formatMs(durationMs)}` : '', workload?.tracing && requests === undefined ? `${workload.settings.trace!.requests} requests` : ''].filter(Boolean).join(' or ');
    stderr.write(`${wrapText(`bench${opts.demo ? ' --demo (emulated providers on loopback, no keys)' : ''}: ${targets.map((t) => t.name).join(', ')} — ${load}, ${bound} each${warmup ? ` after ${warmup} warm-up` : ''}, ${opts.stream ? 'streaming' : 'not streaming'}${repeat > 1 ? `; ${repeat} runs` : ''}${workers > 1 ? `; ${workers} worker threads` : ''}`).join('\n')}\n`);
  }
  try {
    let raw: ReturnType<typeof rawWriter> | undefined;
    let intervals: IntervalLog | undefined;
    let outcome;
    try {
      raw = opts.raw !== undefined ? rawWriter({ source: '--raw', file: opts.raw }, runner, Boolean(opts.rawIncludeText), spec.prompts) : undefined;
      if (hlog) {
        // The log's StartTime is the first measured request's start, in wall-clock time.
        runner.on('request', (name: string, rec: RequestRecord) => {
          if (rec.warmup) return;
          intervals ??= new IntervalLog(Date.now() - (now() - rec.start), rec.start);
          intervals.add(name, rec);
        });
      }
      if (startAtMs !== undefined && startAtMs < Date.now() && !opts.quiet) stderr.write(`llm-fallback: warning: --start-at ${new Date(startAtMs).toISOString()} is already past; starting now\n`);
      // Live progress on a terminal only, whatever the output format; stdout may be a file or a pipe. Drawn
      // once Ctrl-C is handled, so a Ctrl-C typed as soon as it shows still gives the partial result.
      progress = (runner instanceof BenchRunner || runner instanceof WorkerPool) && wantProgress ? new LiveProgress(runner, { warmup, requests, durationMs }, stderr, colorWanted(stderr, process.env)).start() : undefined;
      outcome = await runner.run();
    } catch (e) {
      raw?.discard();
      throw e;
    } finally {
      progress?.stop();
      await closeAll();
    }
    // A partial run keeps an earlier file whole and goes beside it (see destination() in report/write.ts).
    const rawFailure = await raw?.close(outcome.partial);

    const result: BenchResult = assembleResult({
      version: global.version,
      identities: targets,
      accumulators: outcome.accumulators,
      run: settings,
      startedAt: outcome.startedAt,
      endedAt: outcome.endedAt,
      partial: outcome.partial,
      client: 'client' in outcome ? outcome.client : undefined,
      notes: 'sweeps' in outcome ? [SWEEP_NOTE] : 'repeats' in outcome ? [REPEAT_NOTE] : undefined,
    });
    if ('sweeps' in outcome) for (const p of result.providers) p.sweep = outcome.sweeps.get(p.name) ?? null;
    if ('repeats' in outcome) for (const p of result.providers) p.repeats = outcome.repeats.get(p.name) ?? null;
    if (workload) for (const p of result.providers) p.workload = workload.report(p.name);
    result.thresholds = evaluateThresholds(thresholds, result.providers);

    // Print first: whatever happens to the files, the result is on screen.
    const stdout = process.stdout;
    if (format === 'json') stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else if (format === 'csv') stdout.write(benchCsv(result, sort));
    else if (format === 'markdown') stdout.write(benchMarkdown(result, { sort, wide: opts.wide }));
    else {
      stdout.write(benchTable(result, { sort, wide: opts.wide }));
      const lines = thresholdLines(result);
      if (lines.length) stdout.write(`${lines.join('\n')}\n`);
    }
    const diverted: Diverted[] = raw?.diverted() ? [raw.diverted()!] : [];
    const failures = writeOutputs([
      ...(opts.out !== undefined ? [{ source: '--out', file: opts.out, text: `${JSON.stringify(result, null, 2)}\n` }] : []),
      ...(summary ? [{ ...summary, text: benchMarkdown(result, { sort, wide: opts.wide }) }] : []),
      ...(html ? [{ source: '--html', file: html, text: htmlReport(result) }] : []),
      ...(hlog ? [{ source: '--hlog', file: hlog, text: intervals?.text() ?? new IntervalLog(Date.now(), now()).text() }] : []),
    ], { partial: result.partial, diverted });
    if (rawFailure) failures.push(rawFailure);
    for (const line of failureLines(failures)) stderr.write(`${line}\n`);
    for (const line of divertedLines(diverted)) stderr.write(`${line}\n`);
    const written = (source: string) => !failures.some((f) => f.source === source) && !diverted.some((d) => d.source === source);
    if (opts.out && !opts.quiet && written('--out')) stderr.write(`Result written to ${opts.out}\n`);
    if (html && !opts.quiet && written('--html')) stderr.write(`HTML report written to ${html}\n`);

    // A provider with not one successful request is down, whatever the thresholds say.
    const dead = result.partial ? [] : result.providers.filter((p) => p.ok === 0 && p.failed > 0);
    if (dead.length && !opts.allowFailures) {
      stderr.write(`llm-fallback: ${dead.map((p) => p.name).join(', ')}: no successful request (${dead.length === 1 ? 'it failed' : 'they failed'} every time); exit 1 (--allow-failures to accept)\n`);
    }
    if (signals.received) return signals.exitCode;
    if (result.partial) return EXIT.interrupted;
    if (failures.length) return 1;
    if (dead.length && !opts.allowFailures) return 1;
    return result.thresholds.some((t) => !t.pass) ? 1 : 0;
  } finally {
    signals.finish();
  }
}

/** One JSONL line per request; no keys ever, and no prompt or answer text unless asked. */
function rawWriter(target: OutputTarget, runner: EventEmitter, includeText: boolean, prompts: { content: string }[][]) {
  const file = new AtomicLineFile(target);
  const t0 = now();
  const rel = (t: number | undefined) => (t === undefined ? null : Math.round((t - t0) * 1000) / 1000);
  const d = (a: number | undefined, b: number) => (a === undefined ? null : Math.round((a - b) * 1000) / 1000);
  const listener = (provider: string, r: RequestRecord) => {
    const line: Record<string, unknown> = {
      provider,
      index: r.index,
      prompt_index: r.promptIndex,
      warmup: r.warmup,
      scheduled_ms: rel(r.scheduled),
      sent_ms: rel(r.sent),
      ttfb_ms: d(r.firstByte, r.start),
      ttft_ms: d(r.firstToken, r.start),
      latency_ms: d(r.end, r.start),
      ok: r.ok,
      status: r.status ?? null,
      error_class: r.errorClass ?? null,
      error_detail: r.errorDetail ?? null,
      error_message: r.errorMessage ?? null,
      finish_reason: r.finishReason ?? null,
      chunks: r.chunks,
      input_tokens: r.usage?.inputTokens ?? r.estimatedInputTokens,
      cached_input_tokens: r.usage?.cachedInputTokens ?? 0,
      cache_write_input_tokens: r.usage?.cacheWriteInputTokens ?? 0,
      output_tokens: r.usage?.outputTokens ?? r.estimatedOutputTokens,
      token_source: r.usage ? 'reported' : 'estimated',
    };
    if (includeText) {
      line.prompt = r.messages ?? prompts[r.promptIndex];
      line.text = r.text ?? '';
    }
    if (!file.write(`${JSON.stringify(line)}\n`)) runner.off('request', listener);
  };
  runner.on('request', listener);
  return {
    close: (partial: boolean) => {
      runner.off('request', listener);
      return file.close(partial);
    },
    diverted: () => file.diverted,
    discard: () => {
      runner.off('request', listener);
      file.discard();
    },
  };
}

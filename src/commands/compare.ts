import { compareResults } from '../bench/compare.js';
import { mergeResults, readResult } from '../bench/merge.js';
import { checkThresholdProviders, evaluateThresholds, parseThreshold, type Threshold } from '../bench/thresholds.js';
import { EXIT } from '../defaults.js';
import { benchCsv, benchMarkdown, benchTable, thresholdLines } from '../format/bench.js';
import { checkOutputPaths, failureLines, writeOutputs } from '../report/write.js';
import { compareMarkdown, compareTable } from '../format/compare.js';
import { choiceFlag, numberFlag, ratioFlag } from './options.js';

export async function compareCommand(baseFile: string, newFile: string, opts: { tolerance: string; errorTolerance: string; format: string; alpha?: string }): Promise<number> {
  const format = choiceFlag('--format', opts.format, ['table', 'json', 'markdown'] as const)!;
  const tolerance = ratioFlag('--tolerance', opts.tolerance, 1000)!;
  const errorTolerance = ratioFlag('--error-tolerance', opts.errorTolerance)!;
  const alpha = numberFlag('--alpha', opts.alpha, 0.0001, 0.5);
  const c = compareResults(readResult(baseFile), readResult(newFile), tolerance, errorTolerance, alpha);
  if (format === 'json') process.stdout.write(`${JSON.stringify({ tolerance, error_tolerance: errorTolerance, ...c }, null, 2)}\n`);
  else if (format === 'markdown') process.stdout.write(compareMarkdown(c));
  else process.stdout.write(compareTable(c, tolerance));
  return c.regressions > 0 ? 1 : 0;
}

export async function mergeCommand(files: string[], opts: { out?: string; format: string; wide?: boolean; failOn?: string[] }, version: string): Promise<number> {
  const format = choiceFlag('--format', opts.format, ['table', 'json', 'csv', 'markdown'] as const)!;
  const extra: Threshold[] = (opts.failOn ?? []).map((e) => parseThreshold(e, '--fail-on'));
  if (opts.out !== undefined) checkOutputPaths([{ source: '--out', file: opts.out }], files.map((file) => ({ source: 'the input', file })));
  const results = files.map((f) => readResult(f));
  const merged = mergeResults(results, files, version);
  // The thresholds each run was held to, judged again on the whole load, with any given here.
  const seen = new Set<string>();
  const thresholds: Threshold[] = [];
  results.forEach((r, i) => {
    for (const t of r.thresholds ?? []) {
      const key = `${t.provider}\u0000${t.expression}`;
      if (seen.has(key)) continue;
      seen.add(key);
      thresholds.push({ expression: t.expression, provider: t.provider, metric: t.metric, op: t.op as Threshold['op'], limit: t.limit, origin: files[i] });
    }
  });
  checkThresholdProviders(extra, merged.providers.map((p) => p.name));
  merged.thresholds = evaluateThresholds([...thresholds, ...extra], merged.providers);
  if (format === 'json') process.stdout.write(`${JSON.stringify(merged, null, 2)}\n`);
  else if (format === 'csv') process.stdout.write(benchCsv(merged));
  else if (format === 'markdown') process.stdout.write(benchMarkdown(merged, { wide: opts.wide }));
  else {
    process.stdout.write(benchTable(merged, { wide: opts.wide }));
    const lines = thresholdLines(merged);
    if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
  }
  const failures = opts.out !== undefined ? writeOutputs([{ source: '--out', file: opts.out, text: `${JSON.stringify(merged, null, 2)}\n` }]) : [];
  for (const line of failureLines(failures)) process.stderr.write(`${line}\n`);
  if (failures.length) return EXIT.failure;
  return merged.thresholds.some((t) => !t.pass) ? EXIT.failure : EXIT.ok;
}

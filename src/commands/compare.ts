import { compareResults } from '../bench/compare.js';
import { mergeResults, readResult } from '../bench/merge.js';
import { benchCsv, benchMarkdown, benchTable } from '../format/bench.js';
import { compareMarkdown, compareTable } from '../format/compare.js';
import { writeFileSync } from 'node:fs';
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

export async function mergeCommand(files: string[], opts: { out?: string; format: string; wide?: boolean }, version: string): Promise<number> {
  const format = choiceFlag('--format', opts.format, ['table', 'json', 'csv', 'markdown'] as const)!;
  const merged = mergeResults(files.map(readResult), files, version);
  if (opts.out) writeFileSync(opts.out, `${JSON.stringify(merged, null, 2)}\n`);
  if (format === 'json') process.stdout.write(`${JSON.stringify(merged, null, 2)}\n`);
  else if (format === 'csv') process.stdout.write(benchCsv(merged));
  else if (format === 'markdown') process.stdout.write(benchMarkdown(merged, { wide: opts.wide }));
  else process.stdout.write(benchTable(merged, { wide: opts.wide }));
  return 0;
}

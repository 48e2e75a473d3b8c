import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { ProviderAccumulator } from './accumulator.js';
import { assembleResult, type Identity } from './assemble.js';
import { accumulatorFrom, type BenchResult } from './result.js';

/** Reads a bench result file, with a clear error when it is not one. */
export function readResult(file: string): BenchResult {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: ${code === 'ENOENT' ? 'no such file' : code ? `cannot read (${code})` : 'not valid JSON'}; pass a file written by "llm-fallback bench --out FILE"`);
  }
  const r = data as Partial<BenchResult>;
  if (!r || r.schema_version !== 1 || !Array.isArray(r.providers) || r.providers.some((p) => !p?.histograms || typeof p.name !== 'string')) {
    throw new UsageError(`${file}: not an llm-fallback bench result (schema_version 1 with providers and histograms); write one with "bench --out FILE"`);
  }
  return r as BenchResult;
}

/**
 * Merges results of the same providers measured in several processes or machines by adding their
 * histograms and counters: exact percentiles, not averages of percentiles. The runs are taken to have
 * run at the same time (a CI matrix, parallel Jobs): the merged wall time is the longest one, so
 * throughput adds up.
 */
export function mergeResults(results: BenchResult[], files: string[], version: string): BenchResult {
  if (results.length < 2) throw new UsageError('merge: give at least two result files');
  const accs = new Map<string, ProviderAccumulator>();
  const ids = new Map<string, Identity>();
  results.forEach((r, i) => {
    for (const p of r.providers) {
      const seen = ids.get(p.name);
      if (seen && seen.model !== p.model) {
        throw new UsageError(`merge: ${files[i]} measured ${p.name} with model ${p.model}, an earlier file with ${seen.model}; merge only runs of the same model`);
      }
      const acc = accumulatorFrom(p);
      const prev = accs.get(p.name);
      if (prev) {
        prev.merge(acc);
        prev.wallMs = Math.max(prev.wallMs, acc.wallMs);
      } else {
        accs.set(p.name, acc);
        ids.set(p.name, { name: p.name, model: p.model, api: p.api });
      }
    }
  });
  const starts = results.map((r) => Date.parse(r.started_at));
  const ends = results.map((r) => Date.parse(r.ended_at));
  const merged = assembleResult({
    version,
    identities: [...ids.values()],
    accumulators: accs,
    run: results[0].run,
    startedAt: new Date(Math.min(...starts)),
    endedAt: new Date(Math.max(...ends)),
    partial: results.some((r) => r.partial),
    mergedFrom: results.reduce((n, r) => n + (r.merged_from ?? 1), 0),
    notes: [`Merged from ${files.join(', ')}.`],
  });
  return merged;
}

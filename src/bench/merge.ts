import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { InputFileError, readFileBounded } from '../util/read-input.js';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { serverText } from '../util/redact.js';
import { validate } from '../util/json-schema.js';
import { HISTOGRAM_NAMES } from './accumulator.js';
import { decode } from './histogram.js';
import type { ProviderAccumulator } from './accumulator.js';
import { assembleResult, RESULT_SCHEMA_VERSION, type Identity } from './assemble.js';
import { accumulatorFrom, type BenchResult } from './result.js';

/** The published result schema, shipped in the package next to dist/. */
const RESULT_SCHEMA = fileURLToPath(new URL('../../schema/bench-result.schema.json', import.meta.url));
let resultSchema: Record<string, unknown> | undefined;

const FIX = 'pass a file written by "llm-fallback bench --out FILE"';

/**
 * The most a result file may be. A provider takes about 5 KB in examples/bench-demo-result.json and a
 * few hundred KB with wide histograms, so this holds results of hundreds of providers while keeping
 * /dev/zero or a wrong file from exhausting memory.
 */
export const RESULT_FILE_BYTES = 64 * 1024 * 1024;

/**
 * A schema-valid date-time in ms since the epoch. RFC 3339 allows the leap second (23:59:60), which the
 * schema's "format": "date-time" therefore accepts but Date.parse reads as NaN: it is read as the next
 * second, the one a JS clock shows after it.
 */
function epochMs(dateTime: string): number {
  const leap = /^(.*:)60(\.\d+)?(.*)$/.exec(dateTime);
  return leap ? Date.parse(`${leap[1]}59${leap[3]}`) + 1000 : Date.parse(dateTime);
}

/**
 * Reads a bench result file and checks it against the published schema (and its histograms can be
 * decoded) before anything trusts it, so a damaged file gets one line naming the file and field.
 */
export function readResult(file: string, flag?: string): BenchResult {
  const where = flag ? `${flag}: ${file}` : file;
  let text: string;
  try {
    text = readFileBounded(file, RESULT_FILE_BYTES).toString('utf8');
  } catch (e) {
    if (!(e instanceof InputFileError)) throw e;
    throw new UsageError(e.reason === 'missing' ? `${where}: no such file; ${FIX}` : `${where} ${e.detail}; ${FIX}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UsageError(`${where}: not valid JSON; ${FIX}`);
  }
  const r = data as { schema_version?: unknown; tool?: { version?: unknown } } | null;
  const version = r && typeof r === 'object' && !Array.isArray(r) ? r.schema_version : undefined;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new UsageError(`${where}: not an llm-fallback bench result (no "schema_version"); ${FIX}`);
  }
  if (version > RESULT_SCHEMA_VERSION) {
    throw new UsageError(`${where}: written by a newer llm-fallback (result schema_version ${version}; this one reads up to ${RESULT_SCHEMA_VERSION}); upgrade llm-fallback to read it`);
  }
  // Version 1 is the format before the version went up: the fields were added under 1 over time, so a version-1
  // file holding every field this one needs is read (as the version it is), and one that lacks some is old, not damaged.
  const current = { ...(data as object), schema_version: RESULT_SCHEMA_VERSION };
  resultSchema ??= JSON.parse(readFileSync(RESULT_SCHEMA, 'utf8')) as Record<string, unknown>;
  const problems = validate(current, resultSchema);
  if (problems.length) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
    if (version < RESULT_SCHEMA_VERSION) {
      const by = typeof r!.tool?.version === 'string' ? ` ${serverText(r!.tool.version, 40)}` : '';
      throw new UsageError(
        `${where}: written by an older llm-fallback${by} (result schema_version ${version}; this one reads ${RESULT_SCHEMA_VERSION}): ${readablePath(problems[0])}${more}; run bench again with this version, or read the file with the version that wrote it`,
      );
    }
    throw new UsageError(`${where}: damaged bench result: ${readablePath(problems[0])}${more}; ${FIX}`);
  }
  // Read as the version it is: what it says of itself (the report's footer) stays true; what is written from it is the current version.
  const result = { ...current, schema_version: version } as BenchResult;
  result.providers.forEach((p, i) => {
    for (const n of HISTOGRAM_NAMES) {
      try {
        decode(p.histograms[n]);
      } catch {
        throw new UsageError(`${where}: damaged bench result: providers[${i}].histograms.${n}: not a readable histogram; ${FIX}`);
      }
    }
  });
  return result;
}

/** A schema problem read well: "$: missing warnings" is "missing field warnings", "$.providers[0]: missing tokens" "providers[0]: missing field tokens". */
function readablePath(problem: string): string {
  const text = problem.replace(/: missing (\S+)$/, ': missing field $1');
  return text.startsWith('$: ') ? text.slice(3) : text.replace(/^\$\.?/, '');
}

/**
 * The run settings of merged shards: the whole load's requests, concurrency and rate (the shards' sum), and
 * no shard. Shards must be of one load — the same N, each index once, none missing — or the merged
 * percentiles would describe a load nobody ran. Results without --shard (several machines each running
 * the full load) keep the first file's settings, as before.
 */
function wholeRun(results: BenchResult[], files: string[]): BenchResult['run'] {
  const shards = results.map((r) => r.run.shard ?? null);
  if (shards.every((s) => s === null)) return results[0].run;
  const at = shards.findIndex((s) => s === null);
  if (at >= 0) throw new UsageError(`merge: ${files[at]} is not a shard (no --shard) but ${files[shards.findIndex((s) => s !== null)]} is; merge the shards of one run`);
  const count = shards[0]!.count;
  const other = shards.findIndex((s) => s!.count !== count);
  if (other >= 0) throw new UsageError(`merge: ${files[other]} is shard ${shards[other]!.index}/${shards[other]!.count}, ${files[0]} one of ${count}; merge the shards of one run`);
  const seen = new Map<number, string>();
  shards.forEach((s, i) => {
    const dup = seen.get(s!.index);
    if (dup) throw new UsageError(`merge: ${files[i]} and ${dup} are both shard ${s!.index}/${count}; each shard once`);
    seen.set(s!.index, files[i]);
  });
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length) throw new UsageError(`merge: shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${count} missing; pass every shard's result`);
  const sum = (f: (r: BenchResult['run']) => number | null) => (results.every((r) => f(r.run) !== null) ? results.reduce((n, r) => n + f(r.run)!, 0) : null);
  return { ...results[0].run, requests: sum((r) => r.requests), concurrency: sum((r) => r.concurrency), rate: sum((r) => r.rate), shard: null };
}

/**
 * A run's identity: its start, end and measurements. A copy of a result file has the same one; two runs,
 * even of one config on one machine, differ at least in their times. A digest, so a merged result can list
 * every run it holds (merged_runs) in little space.
 */
export const runKey = (r: BenchResult): string =>
  createHash('sha256').update(JSON.stringify([r.started_at, r.ended_at, r.providers.map((p) => [p.name, p.histograms])])).digest('hex');

/**
 * The runs a result holds: a merged result lists them in merged_runs; a single run, or a result merged by a
 * version before merged_runs existed (only recognised as a whole), is its own.
 */
const runsOf = (r: BenchResult): string[] => r.merged_runs ?? [runKey(r)];

/** Why two results overlap, naming both files (`file` is the later one). */
function overlap(file: string, r: BenchResult, earlierFile: string, earlier: BenchResult): string {
  const merged = (x: BenchResult) => x.merged_runs !== undefined;
  if (merged(r) && merged(earlier)) return `${file} and ${earlierFile} were merged from the same run`;
  if (merged(r)) return `${file} already holds the run in ${earlierFile} (it was merged from it)`;
  if (merged(earlier)) return `${earlierFile} already holds the run in ${file} (it was merged from it)`;
  return `${file} is the same run as ${earlierFile} (same start, end and measurements)`;
}

/**
 * Merges results of the same providers measured in several processes or machines by adding their
 * histograms and counters: exact percentiles, not averages of percentiles. The runs are taken to have
 * run at the same time (a CI matrix, parallel Jobs): the merged wall time is the longest one, so
 * throughput adds up.
 */
export function mergeResults(results: BenchResult[], files: string[], version: string): BenchResult {
  if (results.length < 2) throw new UsageError('merge: give at least two result files');
  // The same run given twice (one file twice, a copy of it, or inside a merged result beside it) would count
  // every request twice; a shard given twice is named by the shard check instead.
  const runs = new Map<string, number>();
  results.forEach((r, i) => {
    if (r.run.shard) return;
    for (const key of runsOf(r)) {
      const first = runs.get(key);
      if (first !== undefined) throw new UsageError(`merge: ${overlap(files[i], r, files[first], results[first])}; give each run's result once`);
      runs.set(key, i);
    }
  });
  const slos = results[0].run.slo ?? [];
  results.forEach((r, i) => {
    if (JSON.stringify(r.run.slo ?? []) !== JSON.stringify(slos)) throw new UsageError(`merge: ${files[i]} was judged against other SLOs than ${files[0]}; merge only runs with the same --slo`);
  });
  const accs = new Map<string, ProviderAccumulator>();
  const ids = new Map<string, Identity>();
  results.forEach((r, i) => {
    for (const p of r.providers) {
      const seen = ids.get(p.name);
      if (seen && seen.model !== p.model) {
        throw new UsageError(`merge: ${files[i]} measured ${p.name} with model ${p.model}, an earlier file with ${seen.model}; merge only runs of the same model`);
      }
      const acc = accumulatorFrom(p, slos);
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
  const starts = results.map((r) => epochMs(r.started_at));
  const ends = results.map((r) => epochMs(r.ended_at));
  const merged = assembleResult({
    version,
    identities: [...ids.values()],
    accumulators: accs,
    run: wholeRun(results, files),
    startedAt: new Date(Math.min(...starts)),
    endedAt: new Date(Math.max(...ends)),
    partial: results.some((r) => r.partial),
    mergedFrom: results.reduce((n, r) => n + (r.merged_from ?? 1), 0),
    mergedRuns: [...new Set(results.flatMap(runsOf))],
    notes: [`Merged from ${files.join(', ')}.`],
  });
  return merged;
}

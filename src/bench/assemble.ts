import { cpus, platform } from 'node:os';
import { priceNotes } from '../cost/price-age.js';
import type { ProviderAccumulator } from './accumulator.js';
import { pickProviders } from './picks.js';
import { providerResult, type BenchResult, type ClientHealth, type ProviderResult, type RunSettings } from './result.js';

export const RESULT_SCHEMA_URL = 'https://raw.githubusercontent.com/llm-fallback/llm-fallback/main/schema/bench-result.schema.json';
/**
 * The result format's version: it goes up when a field readers need is added, removed or changes meaning, so a
 * reader can tell an older file from a damaged one (src/bench/merge.ts readResult).
 */
export const RESULT_SCHEMA_VERSION = 2;

export interface Identity {
  name: string;
  model: string;
  api: string;
}

/** Pure: accumulators plus run metadata → the one result type every output format is made from. */
export function assembleResult(args: {
  version: string;
  identities: Identity[];
  accumulators: Map<string, ProviderAccumulator>;
  run: RunSettings;
  startedAt: Date;
  endedAt: Date;
  partial: boolean;
  mergedFrom?: number;
  /** A merged result's runs (merge.ts runKey); absent for a single run. */
  mergedRuns?: string[];
  notes?: string[];
  client?: ClientHealth;
}): BenchResult {
  const notes = [...(args.notes ?? [])];
  for (const id of args.identities) {
    const acc = args.accumulators.get(id.name)!;
    const { reported, estimated } = acc.estimateCheck;
    if (reported > 0 && (estimated / reported > 2 || estimated / reported < 0.5)) {
      notes.push(`${id.name}: the characters/4 token estimate is ${(estimated / reported).toFixed(2)}× the server's reported count; estimated figures for this provider would be off by as much.`);
    }
  }
  // Prices are judged as of the run, so a result file says the same thing whenever it is read.
  const priced = args.identities.flatMap((id) => {
    const price = args.accumulators.get(id.name)!.price;
    return price ? [{ name: id.name, pricedAt: price.pricedAt }] : [];
  });
  notes.push(...priceNotes(priced, args.startedAt));
  const providers = args.identities.map((id) => providerResult(args.accumulators.get(id.name)!, id));
  const result: BenchResult = {
    $schema: RESULT_SCHEMA_URL,
    schema_version: RESULT_SCHEMA_VERSION,
    tool: { name: 'llm-fallback', version: args.version },
    started_at: args.startedAt.toISOString(),
    ended_at: args.endedAt.toISOString(),
    partial: args.partial,
    merged_from: args.mergedFrom ?? 1,
    run: args.run,
    machine: { cpus: cpus().length, node: process.version, platform: platform() },
    providers,
    picks: pickProviders(providers),
    thresholds: [],
    notes,
    warnings: clientWarnings(args.run, providers, args.client),
  };
  if (args.mergedRuns) result.merged_runs = args.mergedRuns;
  if (args.client) result.client = args.client;
  return result;
}

/** Open loop: achieved below this share of the target rate means the client could not keep the schedule. */
const SCHEDULE_KEPT = 0.95;
/** An event-loop delay (p99) above this many ms is worth a reader's attention. Send lag is judged by the formatter (bench/schedule.ts). */
const LATE_MS = 10;
/** One event loop uses one core: CPU above this share of it means the client was the bottleneck. */
const SATURATED_CPU_PERCENT = 90;

/** Pure: when the measuring client itself may have shaped the figures, say so (shown under the table). */
export function clientWarnings(run: RunSettings, providers: ProviderResult[], client: ClientHealth | undefined): string[] {
  const out: string[] = [];
  if (run.mode === 'open' && run.rate) {
    for (const p of providers) {
      if (p.achieved_rate !== null && p.achieved_rate < run.rate * SCHEDULE_KEPT) {
        out.push(`${p.name}: the client sent ${p.achieved_rate}/s of the ${run.rate}/s asked for: it could not keep the schedule (raise --max-inflight, or lower the rate).`);
      }
    }
  }
  // Worker threads each have a core's worth of event loop; the process's CPU is over all of them.
  const threads = run.workers ?? 1;
  if (client && client.cpu_percent >= SATURATED_CPU_PERCENT * threads) {
    out.push(`the client used ${client.cpu_percent}% of a core${threads > 1 ? ` over its ${threads} worker threads` : ''}: its own CPU was saturated, so timings include its queueing (use fewer streams per process, or ${threads > 1 ? 'a machine with more cores' : '--workers'}).`);
  }
  if (client?.event_loop_delay_ms && client.event_loop_delay_ms.p99 > LATE_MS) {
    out.push(`the client's event loop ran up to ${client.event_loop_delay_ms.p99} ms late (p99): any timing may include that much of the client's own delay.`);
  }
  return out;
}

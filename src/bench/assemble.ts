import { cpus, platform } from 'node:os';
import { priceNotes } from '../cost/price-age.js';
import type { ProviderAccumulator } from './accumulator.js';
import { pickProviders } from './picks.js';
import { providerResult, type BenchResult, type RunSettings } from './result.js';

export const RESULT_SCHEMA_URL = 'https://raw.githubusercontent.com/llm-fallback/llm-fallback/main/schema/bench-result.schema.json';

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
  notes?: string[];
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
  return {
    $schema: RESULT_SCHEMA_URL,
    schema_version: 1,
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
  };
}

// The client's own health under the table (issue #11, "Open loop shows its own health"): a missed schedule
// from a real run against the emulator on loopback; a saturated CPU and a late event loop through the same
// result assembly and formatters a run uses (the machine cannot be made to saturate on cue).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProviderAccumulator } from '../src/bench/accumulator.js';
import { assembleResult } from '../src/bench/assemble.js';
import type { ClientHealth, RunSettings } from '../src/bench/result.js';
import { benchMarkdown, benchTable } from '../src/format/bench.js';
import { run } from './cli-helpers.js';
import { emulator } from './helpers.js';

const server = await emulator({ slow: { dialect: 'openai', ttft: { dist: 'constant', value: 150 }, output_tokens: { dist: 'constant', value: 4 } } });
const dir = mkdtempSync(join(tmpdir(), 'llmf-warn-'));
const config = join(dir, 'providers.yaml');
writeFileSync(config, `providers:\n  slow: { api: openai, base_url: "${server.baseUrl('slow')}", model: m }\n`);
const env = { HOME: dir, GITHUB_STEP_SUMMARY: '' };

const RUN: RunSettings = { mode: 'closed', concurrency: 4, rate: null, arrival: null, requests: 10, duration_ms: null, warmup: 0, stream: true, max_tokens: null, temperature: null, timeout_ms: null, seed: 1, prompts: 1, demo: false };
const health = (cpu: number, loopP99 = 1): ClientHealth => ({ prepare_ms: 100, cpu_ms: cpu * 10, cpu_percent: cpu, event_loop_delay_ms: { count: 100, p50: 0.5, p90: 0.8, p95: 0.9, p99: loopP99, max: loopP99, mean: 0.5 } });
function resultWith(client: ClientHealth, run: RunSettings = RUN) {
  const acc = new ProviderAccumulator(undefined);
  acc.add({ index: 0, promptIndex: 0, warmup: false, start: 0, issued: 0, sent: 0, firstToken: 5, end: 10, ok: true, gaps: [], chunks: 1, estimatedInputTokens: 5, estimatedOutputTokens: 4 });
  acc.wallMs = 10;
  return assembleResult({ version: 't', identities: [{ name: 'p', model: 'm', api: 'openai' }], accumulators: new Map([['p', acc]]), run, startedAt: new Date(), endedAt: new Date(), partial: false, client });
}

describe('warnings about the client under the table', () => {
  it('an open loop the client could not keep: achieved vs asked rate, in the table and the JSON', async () => {
    // One request in flight against a 150 ms provider cannot keep 40/s.
    const r = await run(['bench', '--config', config, 'slow', '--rate', '40', '--max-inflight', '1', '-n', '6'], { env });
    expect(r.code).toBe(0);
    const prose = r.stdout.replace(/\n {2}/g, ' ');
    expect(prose).toMatch(/WARNING: slow: the client sent \d+(\.\d+)?\/s of the 40\/s asked for: it could not keep the schedule \(raise --max-inflight, or lower the rate\)\./);
    const json = JSON.parse((await run(['bench', '--config', config, 'slow', '--rate', '40', '--max-inflight', '1', '-n', '6', '--format', 'json'], { env })).stdout);
    expect(json.warnings.some((w: string) => w.startsWith('slow: the client sent '))).toBe(true);
    // The same load the client can keep has no such warning.
    const kept = JSON.parse((await run(['bench', '--config', config, 'slow', '--rate', '5', '-n', '6', '--format', 'json'], { env })).stdout);
    expect(kept.warnings.filter((w: string) => /could not keep|fell behind/.test(w))).toEqual([]);
  });

  it('a saturated client CPU is a warning on the table and in markdown; with worker threads the bar is per thread', () => {
    const busy = resultWith(health(97));
    expect(busy.warnings).toContain('the client used 97% of a core: its own CPU was saturated, so timings include its queueing (use fewer streams per process, or --workers).');
    expect(benchTable(busy).replace(/\n {2}/g, ' ')).toContain('WARNING: the client used 97% of a core: its own CPU was saturated');
    expect(benchMarkdown(busy)).toContain('⚠️ the client used 97% of a core');
    expect(resultWith(health(60)).warnings).toEqual([]);
    // Two threads at 150% of a core between them are not saturated; at 185% they are.
    expect(resultWith(health(150), { ...RUN, workers: 2 }).warnings).toEqual([]);
    expect(resultWith(health(185), { ...RUN, workers: 2 }).warnings).toEqual(['the client used 185% of a core over its 2 worker threads: its own CPU was saturated, so timings include its queueing (use fewer streams per process, or a machine with more cores).']);
  });

  it('a late event loop is a warning with its p99', () => {
    const late = resultWith(health(30, 42.5));
    expect(late.warnings).toEqual(["the client's event loop ran up to 42.5 ms late (p99): any timing may include that much of the client's own delay."]);
    expect(benchTable(late).replace(/\n {2}/g, ' ')).toContain("WARNING: the client's event loop ran up to 42.5 ms late (p99)");
  });
});

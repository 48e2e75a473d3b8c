// npm run perf, capacity section: `bench --sweep` against an emulated provider whose knee is known.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchResult } from '../bench/result.js';
import { BIN, spawnMock } from './mock-process.js';

/** slots requests served at once, each taking SERVICE_MS, the rest queued: the knee is SLOTS / service time. */
const SLOTS = 8;
const SERVICE_MS = 200;
const SLO = `latency<=${SERVICE_MS * 1.5}ms`;
const START_RATE = 5;

/** The section's headline: the known knee against what the sweep measured. */
export function kneeLine(knownRate: number, maxRate: number | null): string {
  if (maxRate === null) return `**Known knee ${knownRate}/s (slots / service time); the sweep found no passing rate.**`;
  const off = ((maxRate - knownRate) / knownRate) * 100;
  return `**Known knee ${knownRate}/s (slots / service time); measured max_rate ${maxRate}/s (${off >= 0 ? '+' : '−'}${Math.abs(off).toFixed(1)} %; target: within 10 %).**`;
}

export async function capacitySection(): Promise<string[]> {
  const mock = await spawnMock({ seed: 5, providers: { knee: { dialect: 'openai', ttft: SERVICE_MS, output_tokens: 1, capacity: { slots: SLOTS } } } });
  const dir = mkdtempSync(join(tmpdir(), 'llmf-perf-sweep-'));
  const cfg = join(dir, 'providers.yaml');
  writeFileSync(cfg, `providers:\n  knee: { api: openai, base_url: "${mock.baseUrl('knee')}", model: knee }\n`);
  const args = ['--config', cfg, 'bench', 'knee', '--sweep', '--rate', String(START_RATE), '--slo', SLO, '--format', 'json', '-q'];
  const text = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [BIN, ...args], { maxBuffer: 64 << 20 }, (e, stdout, stderr) => (e && !stdout ? reject(new Error(`bench --sweep: ${stderr}`)) : resolve(stdout))),
  );
  await mock.close();
  const result = JSON.parse(text) as BenchResult;
  const s = result.providers[0].sweep!;
  const known = SLOTS / (SERVICE_MS / 1000);
  const f = (v: number | null, unit = '') => (v === null ? '-' : `${Math.round(v * 10) / 10}${unit}`);
  return [
    '## Capacity search against a known knee',
    '',
    `\`llm-fallback bench knee --sweep --rate ${START_RATE} --slo "${SLO}"\` (defaults: ${Math.round(s.target_attainment * 100)} % attainment, steps of ${s.step_duration_ms / 1000} s) against an emulated provider in its own process that serves ${SLOTS} requests at once, ${SERVICE_MS} ms each, and queues the rest (profile \`capacity: {slots: ${SLOTS}}\`, \`ttft: ${SERVICE_MS}ms\`): its capacity is ${SLOTS} / ${SERVICE_MS / 1000} s = ${known} requests/s. Below it no request waits; above it the queue grows every second, and waits pass the SLO's ${SERVICE_MS / 2} ms of slack.`,
    '',
    '| step | rate asked | rate sent | attainment | latency p95 | requests | verdict |',
    '|--:|--:|--:|--:|--:|--:|---|',
    ...s.steps.map((x, i) => `| ${i + 1} | ${f(x.rate, '/s')} | ${f(x.achieved_rate, '/s')} | ${x.attainment === null ? '-' : `${(x.attainment * 100).toFixed(1)} %`} | ${f(x.latency_p95_ms, ' ms')} | ${x.requests} | ${x.verdict} |`),
    '',
    kneeLine(known, s.max_rate),
    `The search stopped: ${s.stop_reason} (first failing rate ${f(s.first_failing, '/s')}), after ${s.steps.length} steps and ${s.requests} requests.`,
    '',
  ];
}

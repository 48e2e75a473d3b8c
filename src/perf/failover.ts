// npm run perf, failover section: what a failing primary adds to `ask`, measured on fresh processes.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, spawnMock, type MockProcess } from './mock-process.js';

export interface Scenario {
  label: string;
  chain: string;
  /** A fresh state directory per run (the failure is met every time), or one kept across runs (a breaker stays open). */
  freshState: boolean;
}

export const SCENARIOS: Scenario[] = [
  { label: 'none (ask the secondary directly)', chain: 'direct', freshState: false },
  { label: 'primary refuses connections', chain: 'refused', freshState: true },
  { label: 'primary answers 503', chain: 'dead', freshState: true },
  { label: 'primary answers 503, `retry_same_first: true` (the pre-#10 policy)', chain: 'dead-retry-first', freshState: true },
  { label: 'primary’s circuit breaker open (skipped without a request)', chain: 'open', freshState: false },
  { label: 'primary silent (hedged after the default 3 s)', chain: 'hang', freshState: true },
];

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f1 = (v: number) => (Math.round(v * 10) / 10).toString();
const signed = (v: number) => `${v >= 0 ? '+' : '−'}${f1(Math.abs(v))} ms`;

/** One `ask --json` in a fresh process: wall time from spawn to exit, and when the secondary's request started inside the chain. */
function askOnce(cfg: string, chain: string, env: NodeJS.ProcessEnv): Promise<{ wallMs: number; secondaryStartMs: number | null; provider: string | null }> {
  const args = [BIN, '--config', cfg, 'ask', '--no-cache', '--json', ...(chain === 'direct' ? ['--provider', 'secondary'] : ['--chain', chain]), 'hi'];
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { ...process.env, ...env } }, (_err, stdout) => {
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      try {
        const r = JSON.parse(stdout) as { provider: string | null; attempts: { provider: string; start_ms: number }[] };
        resolve({ wallMs, provider: r.provider, secondaryStartMs: r.attempts.find((a) => a.provider === 'secondary')?.start_ms ?? null });
      } catch {
        resolve({ wallMs, provider: null, secondaryStartMs: null });
      }
    });
  });
}

/**
 * Runs every scenario `rounds` times, interleaved (one run of each per round), so that drift in the
 * machine's load affects them alike; reports medians against asking the secondary alone.
 */
/** The emulator behind every scenario: a healthy secondary, a primary answering 503, one that never answers. */
export const FAILOVER_PROFILE = {
  seed: 1,
  providers: {
    secondary: { dialect: 'openai', output_tokens: 16 },
    dead: { dialect: 'openai', script: [{ kind: 'overloaded' }] },
    hang: { dialect: 'openai', script: [{ kind: 'hang' }] },
  },
};

/** providers.yaml for the scenarios against a running emulator; `breakerFailures` 1 keeps a tripped breaker open for the hour. */
export function failoverConfig(mock: MockProcess, breakerFailures = 1): string {
  return `defaults:
  breaker_failures: ${breakerFailures}
  breaker_cooldown: 1h
providers:
  secondary: { api: openai, base_url: "${mock.baseUrl('secondary')}", model: m }
  dead: { api: openai, base_url: "${mock.baseUrl('dead')}", model: m }
  refused: { api: openai, base_url: "http://127.0.0.1:1/v1", model: m }
  hang: { api: openai, base_url: "${mock.baseUrl('hang')}", model: m }
  tripped: { api: openai, base_url: "${mock.baseUrl('dead')}", model: t }
chains:
  dead: [dead, secondary]
  dead-retry-first: { providers: [dead, secondary], retry_same_first: true }
  refused: [refused, secondary]
  hang: [hang, secondary]
  open: [tripped, secondary]
`;
}

export async function failoverSection(rounds = 9): Promise<string[]> {
  const mock = await spawnMock(FAILOVER_PROFILE);
  const dir = mkdtempSync(join(tmpdir(), 'llmf-perf-'));
  const cfg = join(dir, 'providers.yaml');
  writeFileSync(cfg, failoverConfig(mock));
  const stateFor = (s: Scenario, round: number) => ({ XDG_STATE_HOME: join(dir, s.freshState ? `s-${s.chain}-${round}` : `s-${s.chain}`), XDG_CACHE_HOME: join(dir, 'c') });
  // Trip the breaker once (and warm the file cache) before measuring.
  await askOnce(cfg, 'open', stateFor(SCENARIOS[4], 0));
  await askOnce(cfg, 'direct', stateFor(SCENARIOS[0], 0));
  const wall = new Map<string, number[]>(SCENARIOS.map((s) => [s.chain, []]));
  const inner = new Map<string, number[]>(SCENARIOS.map((s) => [s.chain, []]));
  const wrong: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const s of SCENARIOS) {
      const r = await askOnce(cfg, s.chain, stateFor(s, round));
      if (r.provider !== 'secondary') wrong.push(`${s.chain} (round ${round}): served by ${r.provider ?? 'nobody'}`);
      wall.get(s.chain)!.push(r.wallMs);
      if (r.secondaryStartMs !== null) inner.get(s.chain)!.push(r.secondaryStartMs);
    }
  }
  await mock.close();
  const direct = median(wall.get('direct')!);
  const directInner = median(inner.get('direct')!);
  return [
    '## Failover: what a failing primary adds to `ask`',
    '',
    `\`llm-fallback ask --json\` against the emulator in its own process, ${rounds} rounds with the scenarios interleaved (one fresh process each), medians. "Added" is against asking the secondary alone (${f1(direct)} ms process start to exit). "Secondary starts at" is when the chain sent the request that answered, from the chain's own start (from \`attempts[].start_ms\`): the cost of the failover inside the process, free of start-up noise. Defaults: fast failures fall over at once; the hedge fires after 3 s without history.`,
    '',
    '| primary | median (process) | added | secondary starts at | added in the chain |',
    '|---|--:|--:|--:|--:|',
    ...SCENARIOS.map((s) => {
      const w = median(wall.get(s.chain)!);
      const i = inner.get(s.chain)!.length ? median(inner.get(s.chain)!) : NaN;
      return s.chain === 'direct' ? `| ${s.label} | ${f1(w)} ms | — | ${f1(i)} ms | — |` : `| ${s.label} | ${f1(w)} ms | ${signed(w - direct)} | ${f1(i)} ms | ${signed(i - directInner)} |`;
    }),
    '',
    ...(wrong.length ? [`Runs not served by the secondary (a measurement problem): ${wrong.join('; ')}.`, ''] : []),
  ];
}

// `node dist/perf/failover.js [rounds]`: this section alone, printed to stdout.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.stdout.write(`${(await failoverSection(Number(process.argv[2]) || undefined)).join('\n')}\n`);
}

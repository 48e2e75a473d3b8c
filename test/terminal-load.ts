import type { MockServer } from '../src/mock/server.js';
import { emulator } from './helpers.js';

/*
 * The load both terminal test files run bench against: the pty tests (terminal.test.ts) check the bytes
 * written, the tmux tests (tmux-screen.test.ts) the screen drawn from them, so they share one emulator shape.
 */
const c = (value: number) => ({ dist: 'constant' as const, value });

/**
 * An emulator with three providers: `steady` (~150 ms a request, so a run of a dozen lasts several
 * redraws), `flaky` (the same, 40 % overloaded), and `endless` (400 tokens 50 ms apart: still running when
 * a test presses Ctrl-C).
 */
export function terminalEmulator(): Promise<MockServer> {
  return emulator({
    steady: { dialect: 'openai', ttft: c(50), itl: c(10), output_tokens: c(10) },
    flaky: { dialect: 'openai', ttft: c(50), itl: c(10), output_tokens: c(10), faults: [{ kind: 'overloaded', p: 0.4 }] },
    endless: { dialect: 'openai', ttft: c(50), itl: c(50), output_tokens: c(400) },
  });
}

/** providers.yaml's providers for that emulator (`steady` priced), with `extra` lines after them. */
export function terminalProviders(server: MockServer, extra = ''): string {
  return `providers:
  steady: { api: openai, base_url: "${server.baseUrl('steady')}", model: m, price: { input: 1, output: 2, priced_at: 2026-11-24 } }
  flaky: { api: openai, base_url: "${server.baseUrl('flaky')}", model: m }
  endless: { api: openai, base_url: "${server.baseUrl('endless')}", model: m }
${extra}`;
}

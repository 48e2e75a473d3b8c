import { spawn } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, run } from './cli-helpers.js';
import { routeServer } from './helpers.js';
import { onTerminal } from './pty-helpers.js';
import { terminalEmulator, terminalProviders } from './terminal-load.js';
import { displayWidth } from '../src/format/width.js';

const SGR = /\x1b\[[0-9;]*m/;
/** What the terminal shows on each line: the text after the last carriage return, escapes removed. */
const drawnLines = (output: string) => output.split('\n').map((l) => l.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').split('\r').filter(Boolean).pop() ?? '');

const server = await terminalEmulator();
const dir = mkdtempSync(join(tmpdir(), 'llmf-tty-'));
const config = join(dir, 'providers.yaml');
writeFileSync(config, terminalProviders(server, `  深度求索深度求索深度求索: { api: openai, base_url: "${server.baseUrl('steady')}", model: m }
`));
const env = { HOME: dir, GITHUB_STEP_SUMMARY: '' };

describe('bench on a real terminal', () => {
  it('Ctrl-C stops the run with the partial result, exits 130 and leaves the terminal in cooked mode', async () => {
    const out = join(dir, 'partial.json');
    const r = await onTerminal({ args: ['--config', config, 'bench', 'endless', 'steady', '-n', '500', '-c', '2', '--out', out], env, waitFor: 'p50 \\d', delay: 0.3, send: '\x03', timeout: 40 });
    expect(r.seen).toBe(true);
    // While the progress is drawn, the terminal still turns Ctrl-C, Ctrl-\ and Ctrl-Z into signals.
    expect(r.during).toEqual({ icanon: true, isig: true, echo: true });
    expect(r.timed_out).toBe(false);
    expect(r.exit).toBe(130);
    expect(r.output).toMatch(/Interrupted: stopping/);
    expect(r.output).toMatch(/│ steady\s+│\s+\d+\/\d+ │/);
    expect(r.output).toMatch(/PARTIAL RESULT/);
    const result = JSON.parse(readFileSync(out, 'utf8'));
    expect(result.partial).toBe(true);
    expect(result.providers.find((p: { name: string }) => p.name === 'steady').ok).toBeGreaterThan(0);
    expect(result.providers.find((p: { name: string }) => p.name === 'steady').ok).toBeLessThan(500);
    expect(r.after).toEqual({ icanon: true, isig: true, echo: true });
  }, 60_000);

  it('draws live progress per provider: done / total, errors, running p50 and ETA; erased before the result', async () => {
    const r = await onTerminal({ args: ['--config', config, 'bench', 'steady', 'flaky', '-n', '12', '-c', '1'], env: { ...env, NO_COLOR: '1' } });
    expect(r.exit).toBe(0);
    expect(r.output).toMatch(/steady {2}\d+\/12 done {2}0 err {2}p50 \d+(\.\d+)?ms {2}ETA \d+s/);
    expect(r.output).toMatch(/flaky {3}\d+\/12 done {2}[1-9]\d* err {2}p50 \d+(\.\d+)?ms {2}(ETA \d+s|finished)/);
    // NO_COLOR: no colour escape anywhere, progress included.
    expect(r.output).not.toMatch(SGR);
    // The display is erased: the table follows the header with no progress line left between.
    const screen = drawnLines(r.output);
    expect(screen.some((l) => / done /.test(l))).toBe(true);
    const tableStart = screen.findIndex((l) => l.startsWith('┌'));
    expect(screen.slice(tableStart).some((l) => / done /.test(l))).toBe(false);
  });

  it('colours the progress without NO_COLOR, and cuts its lines to the terminal width', async () => {
    const r = await onTerminal({ args: ['--config', config, 'bench', 'steady', '-n', '8', '-c', '1'], env, cols: 40 });
    expect(r.exit).toBe(0);
    expect(r.output).toMatch(SGR);
    const progress = r.output.split(/\r?\n/).map((l) => l.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/^\r+/, '')).filter((l) => / done /.test(l));
    expect(progress.length).toBeGreaterThan(0);
    for (const line of progress) expect([...line].length).toBeLessThanOrEqual(39);
  });

  it('cuts a progress line by the columns its wide characters take, so it never wraps', async () => {
    // Each ideograph takes two columns: the line counted per character (28 of them) fitted 39; on the terminal it took 50 and wrapped.
    const r = await onTerminal({ args: ['--config', config, 'bench', '深度求索深度求索深度求索', '-n', '8', '-c', '1'], env: { ...env, NO_COLOR: '1' }, cols: 40 });
    expect(r.exit).toBe(0);
    const progress = drawnLines(r.output).filter((l) => / done /.test(l));
    expect(progress.length).toBeGreaterThan(0);
    for (const line of progress) expect(displayWidth(line), line).toBeLessThanOrEqual(39);
  });

  it('a duration-bound run shows elapsed / duration', async () => {
    const r = await onTerminal({ args: ['--config', config, 'bench', 'steady', '--duration', '2s', '-c', '1'], env: { ...env, NO_COLOR: '1' } });
    expect(r.exit).toBe(0);
    expect(r.output).toMatch(/steady {2}\d+ done, [0-2]s\/2s {2}0 err {2}p50 \S+ {2}ETA [0-2]s/);
  });

  it('--format json on a terminal: progress on the terminal, clean JSON on stdout', async () => {
    const r = await onTerminal({ args: ['--config', config, 'bench', 'steady', '-n', '8', '-c', '1', '--format', 'json'], env, stdoutPipe: true });
    expect(r.exit).toBe(0);
    expect(r.output).toMatch(/steady {2}\d+\/8 done/);
    expect(JSON.parse(r.stdout).providers[0].ok).toBe(8);
  });

  it('never draws progress off a terminal', async () => {
    const r = await run(['--config', config, 'bench', 'steady', '-n', '8', '-c', '1', '--format', 'json'], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/done|ETA|\x1b/);
  });
});

describe('ask on a real terminal', () => {
  // Hand-written stream (the OpenAI dialect's chunk shape): an answer a prompt injection could produce, with
  // an OSC 52 clipboard write, a screen clear, a colour, a carriage return that would hide what came before
  // it, and a right-to-left override; one escape sequence is split across two chunks.
  const pieces = ['Hello \x1b]52;c;ZXZpbA==\x07 world', ' \x1b', '[2Jcleared \x1b[31mred', ' safe\rhidden \u202eesrever'];
  const chunk = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const sse = (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(pieces.map((p) => chunk({ content: p })).join('') + chunk({}, 'stop') + 'data: [DONE]\n\n');
  };

  it("makes an answer's escape sequences, carriage returns and bidi overrides inert on the terminal, and keeps them for a pipe", async () => {
    const upstream = await routeServer({ injected: sse });
    const cfg = join(dir, 'injected.yaml');
    writeFileSync(cfg, `providers:\n  injected: { api: openai, base_url: "${upstream.url('injected')}", model: m }\n`);
    const tty = await onTerminal({ args: ['--config', cfg, 'ask', '--provider', 'injected', '--no-cache', 'hi'], env: { ...env, NO_COLOR: '1' } });
    expect(tty.exit).toBe(0);
    // The sequences lose their ESC and show as text; nothing reaches the terminal that acts on it.
    expect(tty.output).toContain('Hello ]52;c;ZXZpbA== world [2Jcleared [31mred safehidden esrever');
    for (const act of ['\x1b]52', '\x1b[2J', '\x1b[31m', '\u202e', 'safe\rhidden']) expect(tty.output).not.toContain(act);
    // Piped, the answer is what the model sent, byte for byte.
    const piped = await run(['--config', cfg, 'ask', '--provider', 'injected', '--no-cache', '-q', 'hi'], { env });
    expect(piped.stdout).toBe(`${pieces.join('')}\n`);
  });
});

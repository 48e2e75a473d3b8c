import type { ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { routeServer } from './helpers.js';
import { onTerminal } from './pty-helpers.js';
import { terminalEmulator, terminalProviders } from './terminal-load.js';
import { TmuxSession } from './tmux-helpers.js';
import { displayWidth } from '../src/format/width.js';

// The screen a person sees, as tmux (a real terminal emulator) draws the CLI's output: wrapped, redrawn and
// erased, with its scrollback. The pty tests (terminal.test.ts) check the bytes; these check the result.

const server = await terminalEmulator();
const dir = mkdtempSync(join(tmpdir(), 'llmf-tmux-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = join(dir, 'providers.yaml');
writeFileSync(config, terminalProviders(server));
const env = { HOME: dir, GITHUB_STEP_SUMMARY: '' };
const PROGRESS = / done /;
// After a Ctrl-C the terminal echoed "^C" where the cursor was, which may be the start of that row.
const EXIT = /^(?:\^C)?EXIT=(\d+)$/;

let sessions: TmuxSession[] = [];
const open = (...a: ConstructorParameters<typeof TmuxSession>) => {
  const s = new TmuxSession(...a);
  sessions.push(s);
  return s;
};
afterEach(() => {
  for (const s of sessions) s.kill();
  sessions = [];
});

/** The exit code the shell printed after the command ended. */
const exitOf = (rows: string[]) => Number(rows.map((r) => EXIT.exec(r)?.[1]).find(Boolean));

/** A finished table's rows (joined back where the terminal wrapped them) all take the same columns, and no more than 100. */
function expectWholeTables(joined: string[]) {
  const table = joined.filter((r) => /^[┌│├└]/.test(r));
  expect(table.length).toBeGreaterThan(2);
  const widths = new Set(table.map(displayWidth));
  expect(widths.size, table.join('\n')).toBe(1);
  for (const r of joined) expect(displayWidth(r), r).toBeLessThanOrEqual(100);
}

describe('bench as a terminal shows it', () => {
  for (const cols of [60, 80, 100, 200]) {
    it(`${cols} columns: progress redrawn in place, one row per provider, erased before the table`, async () => {
      const t = open(['--config', config, 'bench', 'steady', 'flaky', '-n', '16', '-c', '1'], { cols, env });
      const during = await t.waitFor(/steady +\d+\/16 done .*p50 \d/);
      const progress = during.filter((r) => PROGRESS.test(r));
      // One row per provider, never a trail of earlier frames, none wrapped onto a second row.
      expect(progress).toHaveLength(2);
      for (const r of progress) expect(displayWidth(r), r).toBeLessThanOrEqual(cols - 1);
      const end = await t.waitFor(EXIT);
      expect(exitOf(end)).toBe(0);
      expect(end.filter((r) => PROGRESS.test(r)), 'a progress row left on the screen or in the scrollback').toEqual([]);
      const joined = t.screen({ history: true, joined: true });
      expect(joined.some((r) => /^│ steady +│ +16\/16 │/.test(r))).toBe(true);
      // README: the table keeps to 100 columns, or fits a narrower terminal when it can; this one cannot fit
      // 60 or 80 and is laid out as for 100, its rows wrapped by the terminal and whole once joined.
      expectWholeTables(joined);
      // The notes under it are wrapped at the terminal's width (at most 100), between words.
      // (Joined back, a note the program wrapped stays on its rows, one the terminal wrapped is one long row.)
      const notes = joined.slice(joined.findIndex((r) => r.startsWith('└')) + 1, joined.findIndex((r) => EXIT.test(r)));
      expect(notes.some((r) => r.startsWith('Latency counts'))).toBe(true);
      for (const r of notes) expect(displayWidth(r), r).toBeLessThanOrEqual(Math.min(cols, 100));
      if (cols >= 100) for (const r of end) expect(displayWidth(r), r).toBeLessThanOrEqual(100);
    }, 40_000);
  }

  it('TERM=dumb and NO_COLOR: no progress and not one escape sequence, the table still whole', async () => {
    for (const extra of [{ TERM: 'dumb' }, { NO_COLOR: '1' }] as Record<string, string>[]) {
      const t = open(['--config', config, 'bench', 'steady', 'flaky', '-n', '8', '-c', '1'], { cols: 100, env: { ...env, ...extra } });
      const end = await t.waitFor(EXIT);
      expect(exitOf(end)).toBe(0);
      const drawn = t.screen({ history: true, escapes: true }).join('\n');
      // capture-pane -e writes the colours the screen holds as SGR sequences: none means none were drawn.
      expect(drawn).not.toMatch(/\x1b\[/);
      if (extra.TERM) expect(end.filter((r) => PROGRESS.test(r))).toEqual([]);
      expectWholeTables(t.screen({ history: true, joined: true }));
    }
  }, 40_000);

  it('a terminal made narrower during the run: the progress is cut to the new width, no copy of it left behind', async () => {
    const t = open(['--config', config, 'bench', 'endless', 'steady', '-n', '500', '-c', '2'], { cols: 80, rows: 30, env });
    await t.waitFor(/steady +\d+\/500 done .*p50 \d/);
    // Lines of ~45 columns, which tmux re-wraps onto two rows each when the window shrinks to 30.
    t.resize(50);
    await new Promise((r) => setTimeout(r, 500));
    t.resize(30);
    await t.waitFor(/^.{0,2}steady +\d+\/500 done +0 e\S*…$/);
    // A few redraws at the new width.
    await new Promise((r) => setTimeout(r, 600));
    const rows = t.screen({ history: true });
    const progress = rows.filter((r) => /endless|steady|p50|ETA/.test(r) && !r.startsWith('bench:'));
    expect(progress, rows.join('\n')).toHaveLength(2);
    for (const r of progress) expect(displayWidth(r)).toBeLessThanOrEqual(29);
    t.keys('C-c');
    const end = await t.waitFor(EXIT);
    expect(exitOf(end)).toBe(130);
    expect(end.filter((r) => PROGRESS.test(r) || /ETA/.test(r)), end.join('\n')).toEqual([]);
  }, 40_000);

  it('Ctrl-C: the partial table and the note, no progress row left, the prompt back with exit 130', async () => {
    const t = open(['--config', config, 'bench', 'endless', 'steady', '-n', '500', '-c', '2'], { cols: 100, rows: 30, env });
    await t.waitFor(/steady +\d+\/500 done .*p50 \d/);
    t.keys('C-c');
    const end = await t.waitFor(EXIT);
    expect(exitOf(end)).toBe(130);
    expect(end.filter((r) => PROGRESS.test(r)), end.join('\n')).toEqual([]);
    expect(end.some((r) => /^Interrupted: stopping/.test(r))).toBe(true);
    expect(end.some((r) => /^│ steady +│ +\d+\/\d+ │/.test(r))).toBe(true);
    expect(end.some((r) => /^PARTIAL RESULT: the run was interrupted/.test(r))).toBe(true);
    expectWholeTables(t.screen({ history: true, joined: true }));
  }, 40_000);
});

describe('ask as a terminal shows it', () => {
  // Hand-written stream (the OpenAI dialect's chunk shape), sent 7 characters a chunk so a chunk can end
  // inside an emoji sequence: ideographs and emoji take two columns each, and the answer is longer than a row.
  const answer = '深度求索是一家中国公司🙂👍🏽 family 👨‍👩‍👧 and then a long line of English that runs past the right edge of the terminal and wraps, twice over at sixty columns. 終わり';
  const chunk = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const sse = async (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const piece of answer.match(/.{1,7}/gsu)!) {
      res.write(chunk({ content: piece }));
      await new Promise((r) => setTimeout(r, 5));
    }
    res.end(chunk({}, 'stop') + 'data: [DONE]\n\n');
  };

  it('the screen holds the answer as sent, wide characters and wrapping included; the summary on a row of its own', async () => {
    const upstream = await routeServer({ wide: (res) => void sse(res) });
    const cfg = join(dir, 'wide.yaml');
    writeFileSync(cfg, `providers:\n  wide: { api: openai, base_url: "${upstream.url('wide')}", model: m }\n`);
    const t = open(['--config', cfg, 'ask', '--provider', 'wide', '--no-cache', 'hi'], { cols: 60, env });
    const end = await t.waitFor(EXIT);
    expect(exitOf(end)).toBe(0);
    const joined = t.screen({ joined: true });
    expect(joined[0]).toBe(answer);
    expect(joined[1]).toMatch(/^llm-fallback: served by wide \(m\)/);
    // The terminal wrapped it: the answer takes several rows, joined back above by capture-pane -J.
    expect(end.findIndex((r) => r.startsWith('llm-fallback: served by'))).toBeGreaterThan(1);
  }, 30_000);
});

describe('TERM=dumb: nothing redrawn in place', () => {
  // A dumb terminal has no way to clear a line (ncurses' terminfo entry for dumb: am, cols, bel, cr, cud1,
  // ind; no el, no cuu1): bench's progress already kept off it, ask's "waiting for" line did not.
  const slow = (res: ServerResponse) =>
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: { content: 'late answer' }, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`);
    }, 1500);

  /** Whether the screen showed `pattern` at any point before the command ended (polled every 50 ms, bounded). */
  async function shownBeforeExit(t: TmuxSession, pattern: RegExp): Promise<{ seen: boolean; end: string[] }> {
    let seen = false;
    for (const end = Date.now() + 20_000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
      const rows = t.screen();
      seen ||= rows.some((r) => pattern.test(r));
      if (rows.some((r) => EXIT.test(r))) return { seen, end: rows };
    }
    throw new Error('the command did not end within 20 s');
  }

  it("ask shows which provider it waits on, but not on TERM=dumb, where no escape sequence is written", async () => {
    const upstream = await routeServer({ slow });
    const cfg = join(dir, 'slow.yaml');
    writeFileSync(cfg, `providers:\n  slow: { api: openai, base_url: "${upstream.url('slow')}", model: m }\n`);
    const args = ['--config', cfg, 'ask', '--provider', 'slow', '--no-cache', 'hi'];
    const WAITING = /waiting for slow \(m\)…/;
    const normal = await shownBeforeExit(open(args, { cols: 80, env }), WAITING);
    expect(normal.seen).toBe(true);
    expect(normal.end[0]).toBe('late answer');
    const dumb = await shownBeforeExit(open(args, { cols: 80, env: { ...env, TERM: 'dumb' } }), WAITING);
    expect(dumb.seen).toBe(false);
    expect(dumb.end[0]).toBe('late answer');
    expect(exitOf(dumb.end)).toBe(0);
    // The bytes too (tmux would act on an escape a dumb terminal prints as text).
    const bytes = await onTerminal({ args, env: { ...env, TERM: 'dumb' } });
    expect(bytes.exit).toBe(0);
    expect(bytes.output).toContain('late answer');
    expect(bytes.output).not.toContain('\x1b');
  }, 40_000);

  it('health --watch keeps its "watching" line off TERM=dumb, and shows it elsewhere', async () => {
    const args = ['--config', config, 'health', 'steady', '--watch', '1s'];
    const normal = open(args, { cols: 120, env });
    await normal.waitFor(/^watching 1 provider: 1 up/);
    normal.keys('C-c');
    expect(exitOf(await normal.waitFor(EXIT))).toBe(130);
    const dumb = open(args, { cols: 120, env: { ...env, TERM: 'dumb' } });
    await dumb.waitFor(/^│ steady /);
    // Two rounds at least (1 s apart) without the line.
    await new Promise((r) => setTimeout(r, 2500));
    expect(dumb.screen({ history: true }).filter((r) => /watching/.test(r))).toEqual([]);
    dumb.keys('C-c');
    expect(exitOf(await dumb.waitFor(EXIT))).toBe(130);
  }, 40_000);
});

describe('health and cost as a terminal shows them', () => {
  for (const cols of [60, 80]) {
    it(`${cols} columns: whole tables, fitted to the terminal when they can be`, async () => {
      const health = open(['--config', config, 'health', 'steady', 'flaky'], { cols, env });
      const hEnd = await health.waitFor(EXIT);
      expect([0, 1]).toContain(exitOf(hEnd));
      const hRows = health.screen({ history: true, joined: true });
      expect(hRows.some((r) => /^│ steady +│/.test(r))).toBe(true);
      expectWholeTables(hRows);
      const cost = open(['--config', join(process.cwd(), 'providers.yaml'), 'cost'], { cols, env });
      expect(exitOf(await cost.waitFor(EXIT))).toBe(0);
      const cRows = cost.screen({ history: true, joined: true });
      expectWholeTables(cRows);
      if (cols === 80) {
        // The price table fits 80 columns (headings on two lines, models shortened), so nothing is wrapped.
        expect(cost.screen({ history: true })).toEqual(cRows);
        expect(cRows.some((r) => /^│ deepseek +│ deepseek-v4… +│/.test(r))).toBe(true);
        for (const r of cRows) expect(displayWidth(r), r).toBeLessThanOrEqual(80);
      } else {
        // It cannot fit 60: laid out as for 100 (the model whole where it fits there), wrapped by the terminal.
        expect(cRows.some((r) => /^│ deepseek +│ deepseek-v4-flash +│/.test(r))).toBe(true);
      }
    }, 40_000);
  }
});

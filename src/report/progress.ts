import type { EventEmitter } from 'node:events';
import type { ProgressSnapshot, RequestRecord } from '../bench/runner.js';
import { now } from '../util/clock.js';
import { formatMs } from '../util/duration.js';
import { displayWidth, padToWidth, truncateToWidth } from '../format/width.js';

/** What the progress display listens to: the bench runner's 'request' events and its snapshot. */
export interface ProgressSource extends EventEmitter {
  snapshot(): ProgressSnapshot[];
}

/** The run's bounds per provider, to show how far along each provider is. */
export interface ProgressPlan {
  warmup: number;
  requests?: number;
  durationMs?: number;
}

/** A terminal the display can draw on: stderr, or a test's stand-in. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

/** Redraws per second are 1000 / REDRAW_MS: smooth enough to read, cheap enough not to disturb the measurement. */
const REDRAW_MS = 125;
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** Assumed when the terminal reports no width (some pseudo-terminals report 0). */
const FALLBACK_COLUMNS = 80;

/**
 * Whether to draw live progress: only on a terminal that can move its cursor, and never with -q.
 * Off a terminal nothing but the result is printed, so pipes and CI logs stay clean.
 */
export function progressWanted(stream: ProgressStream, env: NodeJS.ProcessEnv, quiet: boolean): boolean {
  return !quiet && Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

/** NO_COLOR (no-color.org): present and not empty means no colour, whatever else is set. */
export function colorWanted(stream: ProgressStream, env: NodeJS.ProcessEnv): boolean {
  return !env.NO_COLOR && Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

interface Tally {
  warm: number;
  done: number;
  /** Earliest measured (non-warm-up) request start, scheduled time in an open loop: when its duration began. */
  measuredStart?: number;
}

const secs = (ms: number) => (ms >= 60_000 ? `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s` : `${Math.max(0, Math.round(ms / 1000))}s`);

/**
 * Live per-provider progress on stderr: done / total (or elapsed / duration), errors, running p50 and
 * an ETA, one line per provider, redrawn in place. A detachable listener over the runner (as
 * autocannon's progress tracker): the run does not know it is watched. It never touches stdin, so the
 * terminal stays in cooked mode and Ctrl-C, Ctrl-\ and Ctrl-Z keep working.
 */
export class LiveProgress {
  private readonly tally = new Map<string, Tally>();
  private timer?: NodeJS.Timeout;
  /** The columns each line drawn last takes, to find the first of them again (see erase). */
  private drawn: number[] = [];
  private frame = 0;
  private readonly onRequest = (name: string, r: RequestRecord) => {
    const t = this.tally.get(name) ?? { warm: 0, done: 0 };
    if (r.warmup) t.warm++;
    else {
      if (r.errorClass !== 'cancelled') t.done++;
      const start = r.scheduled ?? r.start;
      t.measuredStart = Math.min(t.measuredStart ?? start, start);
    }
    this.tally.set(name, t);
  };

  constructor(
    private readonly source: ProgressSource,
    private readonly plan: ProgressPlan,
    private readonly stream: ProgressStream,
    private readonly color: boolean,
  ) {}

  start(): this {
    this.source.on('request', this.onRequest);
    this.draw();
    this.timer = setInterval(() => this.draw(), REDRAW_MS);
    // The display must never keep a finished process alive.
    this.timer.unref();
    return this;
  }

  /** Detaches from the runner and erases the display, leaving the cursor where the display began. */
  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.source.off('request', this.onRequest);
    this.stream.write(this.erase());
  }

  /** The lines as they would be drawn now (without colour), for one provider each. */
  private lines(at = now()): string[] {
    const spin = FRAMES[this.frame % FRAMES.length];
    const snaps = this.source.snapshot();
    const nameWidth = Math.max(...snaps.map((s) => displayWidth(s.name)));
    return snaps.map((s) => `${spin} ${padToWidth(s.name, nameWidth)}  ${this.describe(s, at)}`);
  }

  private describe(s: ProgressSnapshot, at: number): string {
    // Worker threads count for themselves (the requests happen in other threads); a runner is counted here.
    const t = s.done !== undefined ? { warm: s.warm ?? 0, done: s.done, measuredStart: s.measuredStart } : (this.tally.get(s.name) ?? { warm: 0, done: 0 });
    const { warmup, requests, durationMs } = this.plan;
    const parts: string[] = [];
    if (t.warm < warmup && t.done === 0) return `warming up ${t.warm}/${warmup}`;
    const elapsed = at - (t.measuredStart ?? at);
    const etas: number[] = [];
    if (requests !== undefined) {
      parts.push(`${t.done}/${requests} done`);
      // Measured requests finish at a steady pace once the run is under way.
      if (t.done > 0 && t.done < requests) etas.push(((at - t.measuredStart!) / t.done) * (requests - t.done));
    }
    if (durationMs !== undefined) {
      parts.push(`${requests === undefined ? `${t.done} done, ` : ''}${secs(Math.min(elapsed, durationMs))}/${secs(durationMs)}`);
      if (t.measuredStart !== undefined) etas.push(Math.max(0, durationMs - elapsed));
    }
    parts.push(`${s.failed} err`);
    parts.push(`p50 ${s.p50Ms === null ? '-' : formatMs(s.p50Ms)}`);
    const finished = requests !== undefined && t.done >= requests;
    parts.push(finished ? 'finished' : etas.length ? `ETA ${secs(Math.min(...etas))}` : 'ETA -');
    return parts.join('  ');
  }

  /**
   * Clears the display, leaving the cursor where it began. Each row is cleared on its own, the cursor's
   * included (where the terminal echoed "^C"): a clear to the end of the screen from its top-left corner,
   * where the display sits once the lines above it have scrolled away, makes tmux (scroll-on-clear) push
   * the whole screen into its history, so a copy of the progress stayed in the scrollback.
   */
  private erase(): string {
    const rows = this.rowsDrawn();
    return `${up(rows)}${'\x1b[2K\x1b[B'.repeat(rows)}\x1b[2K${rows > 0 ? `\x1b[${rows}A` : ''}`;
  }

  /**
   * The rows the lines drawn last take now, forgotten as they are counted. A terminal made narrower since
   * the last draw (tmux, VTE, kitty, iTerm2, Windows Terminal) has re-wrapped each of them onto as many rows
   * as the new width needs: going up one row a line left the first rows of the display on the screen, and a
   * new copy under them on every redraw. (xterm cuts lines instead of re-wrapping them; there this also
   * clears lines above the display, which is the lesser harm.)
   */
  private rowsDrawn(): number {
    const cols = this.stream.columns || FALLBACK_COLUMNS;
    const rows = this.drawn.reduce((sum, width) => sum + Math.max(1, Math.ceil(width / cols)), 0);
    this.drawn = [];
    return rows;
  }

  private draw(): void {
    this.frame++;
    // One terminal line per provider: a wrapped line would leave stale copies behind on every redraw.
    const width = Math.max(10, (this.stream.columns || FALLBACK_COLUMNS) - 1);
    const lines = this.lines().map((l) => truncateToWidth(l, width));
    // Each line clears its own row; the screen is cleared to its end only below the new lines (see erase).
    const rows = this.rowsDrawn();
    this.stream.write(`${up(rows)}${lines.map((l) => `\x1b[2K${this.color ? paint(l) : l}\n`).join('')}\x1b[J`);
    this.drawn = lines.map(displayWidth);
  }
}

/** To the start of the line `rows` rows up. */
const up = (rows: number) => (rows > 0 ? `\r\x1b[${rows}A` : '\r');

/** Colours a drawn line: the spinner cyan, a non-zero error count red. */
function paint(line: string): string {
  return line.replace(/^(\S+)/, '\x1b[36m$1\x1b[39m').replace(/(\s)([1-9]\d* err)/, '$1\x1b[31m$2\x1b[39m');
}

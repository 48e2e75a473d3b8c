import { decimalText } from './numbers.js';
import { displayWidth, padToWidth, truncateToWidth } from './width.js';

export { displayWidth };

/** The most columns a table or line printed by default takes, so nothing wraps on a common terminal. */
export const MAX_TEXT_WIDTH = 100;
/** Below this a terminal is too narrow to fit text to: its lines wrap instead. */
const MIN_TEXT_WIDTH = 40;

/**
 * Every table and line printed by default fits this many columns: 100, or the width of a narrower terminal
 * the output goes to (fitTextToTerminal). An 80-column terminal wrapped every row of a 96-column table
 * onto a second line. Exported as a live binding: formatters read it when they format.
 */
export let TEXT_WIDTH = MAX_TEXT_WIDTH;

/** Fits what is printed from now on to a terminal `columns` wide (100 at most, 40 at least); undefined or 0 (not a terminal, or no size): 100. */
export function fitTextToTerminal(columns: number | undefined): void {
  TEXT_WIDTH = columns ? Math.max(MIN_TEXT_WIDTH, Math.min(MAX_TEXT_WIDTH, columns)) : MAX_TEXT_WIDTH;
}

type Align = 'left' | 'right';

/**
 * A borderless-rows table, the one style every command prints. Cells are measured and padded here, by
 * displayWidth: cli-table3, which drew them before, pads by string-width 4, which counts a Hebrew vowel
 * point, an Indic sign or a zero-width joiner as a column and emoji newer than 2017 as one, so such a
 * name misaligned its row.
 */
class TextTable {
  private readonly rows: string[][] = [];

  constructor(
    private readonly head: string[],
    private readonly align: Align[] = [],
    private readonly colWidths?: number[],
  ) {}

  push(...rows: unknown[][]): void {
    for (const r of rows) this.rows.push(r.map((c) => (c === null || c === undefined ? '' : String(c))));
  }

  toString(): string {
    const all = [this.head, ...this.rows];
    const lines = (cell: string) => cell.split('\n');
    // Natural widths: each column's widest line plus one space of padding each side.
    const widths = this.colWidths ?? this.head.map((_, i) => Math.max(...all.map((r) => Math.max(...lines(r[i] ?? '').map(displayWidth)))) + 2);
    const rule = (left: string, mid: string, right: string) => `${left}${widths.map((w) => '─'.repeat(w)).join(mid)}${right}`;
    const out = [rule('┌', '┬', '┐')];
    for (const r of all) {
      const cells = widths.map((w, i) => lines(r[i] ?? '').map((l) => truncateToWidth(l, w - 2)));
      const height = Math.max(...cells.map((c) => c.length));
      for (let k = 0; k < height; k++) {
        const shown = cells.map((c, i) => {
          const text = c[k] ?? '';
          const gap = ' '.repeat(Math.max(0, widths[i] - 2 - displayWidth(text)));
          return this.align[i] === 'right' ? ` ${gap}${text} ` : ` ${padToWidth(text, widths[i] - 2)} `;
        });
        out.push(`│${shown.join('│')}│`);
      }
    }
    out.push(rule('└', '┴', '┘'));
    return out.join('\n');
  }
}

/** A table with these headings and column alignments, at its natural widths unless `colWidths` are given. */
export function makeTable(head: string[], align?: Align[], colWidths?: number[]): TextTable {
  return new TextTable(head, align, colWidths);
}

/** Each column's width: its widest cell plus one space of padding each side. */
function columnWidths(head: string[], rows: string[][]): number[] {
  return head.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i]))) + 2);
}

/** The columns a table of these column widths takes: the widths, one border per column, plus one. */
function tableWidth(widths: number[]): number {
  return widths.reduce((a, b) => a + b, 0) + widths.length + 1;
}

/** How wide a table of these cells would be at its natural widths (nothing shortened). */
export function naturalTableWidth(head: string[], rows: string[][]): number {
  return tableWidth(columnWidths(head, rows));
}

/**
 * A count in at most 5 characters, for a table that would not fit its width with every digit: exact below
 * 100,000 (a shorter form would be no shorter), then thousands or millions ("106k", "1.2M", "12.3M").
 */
export function compactCount(n: number): string {
  if (n < 100_000) return String(n);
  if (n < 999_500) return `${Math.round(n / 1000)}k`;
  return `${(n / 1_000_000).toFixed(n < 99_950_000 ? 1 : 0)}M`;
}

/**
 * A table no wider than `maxWidth` columns: when it would be wider, the `shrinkable` columns (names,
 * models) give up characters, widest first, and their cells end in "…"; if that is not enough, the other
 * columns' headings that are wider than their cells go onto two lines ("TTFT" over "p50"). Without
 * maxWidth: natural widths.
 */
export function fitTable(
  head: string[],
  rows: string[][],
  align: ('left' | 'right')[],
  opts: { maxWidth?: number; shrinkable?: number[]; shrinkFirst?: number[] } = {},
): string {
  const widths = columnWidths(head, rows);
  const total = () => tableWidth(widths);
  const shrinkable = opts.shrinkable ?? [];
  const MIN_CELL = 6;
  if (opts.maxWidth !== undefined) {
    // `shrinkFirst` (the least needed, in order) gives up characters before the other shrinkable columns do.
    for (const i of opts.shrinkFirst ?? []) while (total() > opts.maxWidth && widths[i] > MIN_CELL + 2) widths[i]--;
    while (total() > opts.maxWidth) {
      const widest = shrinkable.filter((i) => widths[i] > MIN_CELL + 2).sort((a, b) => widths[b] - widths[a])[0];
      if (widest === undefined) break;
      widths[widest]--;
    }
  }
  let heads = head;
  if (opts.maxWidth !== undefined && total() > opts.maxWidth) {
    heads = head.map((h, i) => {
      const space = h.lastIndexOf(' ');
      if (space < 0 || shrinkable.includes(i) || opts.shrinkFirst?.includes(i)) return h;
      const lines = [h.slice(0, space), h.slice(space + 1)];
      const width = Math.max(...lines.map(displayWidth), ...rows.map((r) => displayWidth(r[i]))) + 2;
      if (width >= widths[i]) return h;
      widths[i] = width;
      return lines.join('\n');
    });
  }
  // Headings put on two lines can leave room the names gave up before: they take it back, narrowest first.
  if (opts.maxWidth !== undefined && heads !== head) {
    const natural = columnWidths(head, rows);
    for (;;) {
      const grow = [...(opts.shrinkFirst ?? []), ...shrinkable].filter((i) => widths[i] < natural[i]).sort((a, b) => widths[a] - widths[b])[0];
      if (grow === undefined || total() >= opts.maxWidth) break;
      widths[grow]++;
    }
  }
  // A table that cannot fit a terminal narrower than 100 columns is laid out as for 100, which the terminal
  // wraps: fitted to the narrower width it would still wrap, with its names cut shorter for nothing.
  if (opts.maxWidth !== undefined && opts.maxWidth < MAX_TEXT_WIDTH && total() > opts.maxWidth) return fitTable(head, rows, align, { ...opts, maxWidth: MAX_TEXT_WIDTH });
  // The table cuts each line of a cell to its column's width.
  const t = makeTable(heads, align, widths);
  t.push(...rows);
  return t.toString();
}

/** Word-wraps one line of prose to `width` columns; continuation lines start with `indent`. */
export function wrapText(text: string, width = TEXT_WIDTH, indent = '  '): string[] {
  const lead = /^ */.exec(text)![0];
  const lines: string[] = [];
  let line = lead;
  for (const word of text.slice(lead.length).split(' ')) {
    const candidate = line.trim() ? `${line} ${word}` : `${line}${word}`;
    if (line.trim() && displayWidth(candidate) > width) {
      lines.push(line);
      line = `${indent}${word}`;
    } else line = candidate;
  }
  lines.push(line);
  return lines;
}

/** USD with as many decimals as the value needs, at least two ($0.006, $0.30, $15.00). */
export function usd(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  let d = 2;
  while (d < 6 && Math.abs(Number(v.toFixed(d)) - v) > 1e-12 * Math.max(1, Math.abs(v))) d++;
  return `${v < 0 ? '-' : ''}$${Math.abs(v).toFixed(d)}`;
}

/** A cost: four significant digits, at least two decimals ($0.001162, $0.5290, $12.35). */
export function usdCost(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  if (v === 0) return '$0.00';
  const abs = Math.abs(v);
  const decimals = Math.max(2, 3 - Math.floor(Math.log10(abs)));
  return `${v < 0 ? '-' : ''}$${abs.toFixed(Math.min(decimals, 10))}`;
}

/**
 * Provider error messages start with the provider's name (and often "HTTP 404: "); a line that already
 * shows the name, or the status, drops the repeat: `nov1: bad_request (HTTP 404): no route…`, not `nov1: … nov1: HTTP 404: …`.
 */
export function withoutName(name: string, message: string, status?: number | null): string {
  let m = message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message;
  if (status && m.startsWith(`HTTP ${status}: `)) m = m.slice(`HTTP ${status}: `.length);
  return m;
}

/**
 * What a spreadsheet runs as a formula when a cell starts with it (OWASP "CSV Injection": = + - @ TAB CR;
 * ASVS 5.0 1.2.10 adds NUL). Provider and model names come from a config and may be anyone's.
 */
const FORMULA_START = /^[=+\-@\t\r\0]/;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, its quotes doubled.
 * Text that starts like a formula gets a leading `'`, so Excel and LibreOffice show it as text instead of
 * running it (a name such as `=HYPERLINK(...)`); numbers never get the `'`, so -0.5 stays a number, and are
 * written as plain decimals (decimalText: no "3e-7", no float noise, NaN as an empty cell).
 */
export function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'number' ? decimalText(v) : typeof v === 'string' && FORMULA_START.test(v) ? `'${v}` : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Text for one GitHub-flavoured markdown table cell, or a list item, from names and messages we do not
 * control, so that it renders as the same text: a `|` (even inside backticks) would end the cell, a line
 * break the row, a backtick open a code span that swallows the next cells, `*`, `_` and `~` emphasise,
 * `[`/`]` make a link, `&amp;` names an entity, and `<…>` is read as HTML (a step summary renders `<img>`).
 */
export function markdownCell(s: string): string {
  return s
    .replace(/\r\n|[\r\n]/g, ' ')
    .replace(/[\\|`*~[\]]/g, '\\$&')
    // A `_` between letters or digits never emphasises (CommonMark): ignore_eos stays as it is typed.
    .replace(/(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu, '\\_')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

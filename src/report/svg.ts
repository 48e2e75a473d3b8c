/** Tiny SVG chart kit for the HTML report: axes, nice ticks and escaping. Everything is drawn here, nothing fetched. */

export const PALETTE = ['#2563eb', '#d97706', '#059669', '#db2777', '#7c3aed', '#0891b2', '#65a30d', '#dc2626'];

/**
 * Bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069). Left in a name, an override such as
 * U+202E runs on past it: "NAME: 14 failed" read "deliaf 41 :EMAN". Script direction needs none of them.
 */
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;

/** Text (a name, a server's words) made safe for the page: markup escaped, bidi controls dropped. */
export function esc(s: unknown): string {
  return String(s)
    .replace(BIDI_CONTROLS, '')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * A provider or model name in the page's HTML: one line, cut with an ellipsis past the width the CSS class
 * `nm` allows, the whole name in its tooltip. Table cells do not wrap, so an uncut long name widened its
 * column until every figure of the table was off the page.
 */
export function nameHtml(name: string): string {
  return `<span class="nm" title="${esc(name)}">${esc(name)}</span>`;
}

/** Longest name drawn as a chart label (SVG text neither wraps nor cuts: a longer one would run over the chart). */
const LABEL_CHARS = 40;

/** A name as an SVG label, cut to LABEL_CHARS with an ellipsis; the point's tooltip keeps it whole. */
export function nameLabel(name: string): string {
  return esc(name.length > LABEL_CHARS ? `${name.slice(0, LABEL_CHARS - 1)}…` : name);
}

/** Round tick values (1, 2, 2.5, 5 × 10^k; whole numbers for counts) covering [0, max]. */
export function niceTicks(max: number, target = 5, whole = false): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const steps = [1, 2, 2.5, 5, 10].map((m) => m * mag).filter((s) => !whole || (s >= 1 && Number.isInteger(s)));
  const step = steps.find((s) => s >= raw) ?? (whole ? Math.max(1, 10 * mag) : 10 * mag);
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < max) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

export interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
  xMax: number;
  yMax: number;
  xMin?: number;
}

/** Maps data to pixels inside a frame's plot area. */
export function scales(f: Frame) {
  const x0 = f.xMin ?? 0;
  const w = f.width - f.left - f.right;
  const h = f.height - f.top - f.bottom;
  return {
    x: (v: number) => round1(f.left + ((v - x0) / (f.xMax - x0 || 1)) * w),
    y: (v: number) => round1(f.top + h - (v / (f.yMax || 1)) * h),
  };
}

export const round1 = (v: number) => Math.round(v * 10) / 10;

/** Axis labels for dollars, with just enough decimals to tell the ticks apart. */
export function tickUsd(ticks: number[]): (v: number) => string {
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
  const decimals = Math.max(2, -Math.floor(Math.log10(step)) + (Number.isInteger(step * 10 ** -Math.floor(Math.log10(step))) ? 0 : 1));
  return (v) => (v === 0 ? '0' : `$${v.toFixed(decimals)}`);
}

/** Axis labels for milliseconds: "0", "250ms", "2s", "2.5s". */
export function tickMs(v: number): string {
  if (v === 0) return '0';
  return v >= 1000 ? `${Number((v / 1000).toPrecision(4))}s` : `${Number(v.toPrecision(4))}ms`;
}

/** Grid, ticks and axis titles for a frame whose axis maxima are tick values. */
export function axes(f: Frame, xTicks: number[], yTicks: number[], fmtX: (v: number) => string, fmtY: (v: number) => string, xTitle: string, yTitle: string): string {
  const { x, y } = scales(f);
  const bottom = f.height - f.bottom;
  const parts: string[] = ['<g class="axes">'];
  for (const t of yTicks) parts.push(`<line class="grid" x1="${f.left}" x2="${f.width - f.right}" y1="${y(t)}" y2="${y(t)}"/><text class="tick" x="${f.left - 6}" y="${y(t) + 4}" text-anchor="end">${esc(fmtY(t))}</text>`);
  for (const t of xTicks) parts.push(`<line class="grid" x1="${x(t)}" x2="${x(t)}" y1="${f.top}" y2="${bottom}"/><text class="tick" x="${x(t)}" y="${bottom + 16}" text-anchor="middle">${esc(fmtX(t))}</text>`);
  parts.push(`<line class="axis" x1="${f.left}" x2="${f.width - f.right}" y1="${bottom}" y2="${bottom}"/><line class="axis" x1="${f.left}" x2="${f.left}" y1="${f.top}" y2="${bottom}"/>`);
  parts.push(`<text class="title" x="${(f.left + f.width - f.right) / 2}" y="${f.height - 4}" text-anchor="middle">${esc(xTitle)}</text>`);
  parts.push(`<text class="title" transform="translate(14 ${(f.top + bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yTitle)}</text>`);
  parts.push('</g>');
  return parts.join('');
}

export function svgOpen(chart: string, f: Frame, label: string): string {
  return `<svg class="chart" data-chart="${esc(chart)}" viewBox="0 0 ${f.width} ${f.height}" role="img" aria-label="${esc(label)}" xmlns="http://www.w3.org/2000/svg">`;
}

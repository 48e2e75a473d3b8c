import type { BenchResult, ProviderResult } from '../bench/result.js';
import type { SweepResult } from '../bench/sweep.js';
import { STOP_REASONS, sweepCaption } from '../format/sweep.js';
import { formatMs } from '../util/duration.js';
import { axes, esc, nameHtml, nameLabel, niceTicks, round1, scales, svgOpen, type Frame } from './svg.js';

/** The HTML report's capacity search (--sweep): attainment against load per provider, the knee marked. */

type Swept = { p: ProviderResult & { sweep: SweepResult }; i: number };
const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);

export function sweepSection(r: BenchResult, color: (i: number) => string): string {
  const swept = r.providers.map((p, i) => ({ p, i })).filter((x): x is Swept => Boolean(x.p.sweep));
  if (swept.length === 0) return '<p class="empty">No provider was swept.</p>';
  return `<p class="hint">${esc(sweepCaption(r))}</p>${attainmentChart(r, swept, color)}${summary(swept, color)}`;
}

function attainmentChart(r: BenchResult, swept: Swept[], color: (i: number) => string): string {
  const rateMode = r.run.sweep!.mode === 'rate';
  const levelOf = (s: { rate: number | null; concurrency: number | null }) => (rateMode ? s.rate : s.concurrency) ?? 0;
  const xTicks = niceTicks(Math.max(1, ...swept.flatMap(({ p }) => p.sweep.steps.map(levelOf))) * 1.05, 8, !rateMode);
  const f: Frame = { width: 960, height: 340, left: 64, right: 24, top: 16, bottom: 44, xMax: xTicks[xTicks.length - 1], yMax: 100 };
  const { x, y } = scales(f);
  const target = r.run.sweep!.target_attainment * 100;
  const unit = rateMode ? '/s' : ' in flight';
  const goal = `<g class="target"><line x1="${f.left}" x2="${f.width - f.right}" y1="${y(target)}" y2="${y(target)}" stroke="#b91c1c" stroke-dasharray="6 4"/><text class="tick" x="${f.width - f.right - 4}" y="${y(target) - 5}" text-anchor="end">target ${round1(target)}%</text></g>`;
  const series = swept.map(({ p, i }) => {
    const judged = p.sweep.steps.filter((s) => s.attainment !== null).sort((a, b) => levelOf(a) - levelOf(b));
    const line = judged.map((s, j) => `${j ? 'L' : 'M'}${x(levelOf(s))},${y(s.attainment! * 100)}`).join('');
    const dots = judged.map(
      (s) =>
        `<circle class="pt" cx="${x(levelOf(s))}" cy="${y(s.attainment! * 100)}" r="4" fill="${s.verdict === 'pass' ? color(i) : '#fff'}" stroke="${color(i)}" stroke-width="2"><title>${esc(p.name)} at ${levelOf(s)}${unit}: ${pct(s.attainment)} good, latency p95 ${s.latency_p95_ms === null ? '-' : formatMs(s.latency_p95_ms)}, errors ${pct(s.error_rate)}, ${s.requests} requests → ${s.verdict}</title></circle>`,
    );
    const max = rateMode ? p.sweep.max_rate : p.sweep.max_concurrency;
    const knee =
      max === null
        ? ''
        : `<g class="knee" data-provider="${esc(p.name)}"><line x1="${x(max)}" x2="${x(max)}" y1="${f.top}" y2="${f.height - f.bottom}" stroke="${color(i)}" stroke-width="1.5" stroke-dasharray="3 3"/><text class="label" x="${x(max) + (x(max) > f.width * 0.7 ? -4 : 4)}" y="${f.top + 40 + 14 * (i % 4)}" text-anchor="${x(max) > f.width * 0.7 ? 'end' : 'start'}">${nameLabel(p.name)} max ${max}${unit}</text></g>`;
    return `<g class="series" data-provider="${esc(p.name)}"><path d="${line}" fill="none" stroke="${color(i)}" stroke-width="2"/>${dots.join('')}${knee}</g>`;
  });
  return `${svgOpen('sweep-attainment', f, 'SLO attainment against load, the knee marked')}${axes(f, xTicks, [0, 25, 50, 75, 90, 100], (v) => `${v}${rateMode ? '/s' : ''}`, (v) => `${v}%`, rateMode ? 'requests per second asked for' : 'requests in flight', 'attainment')}${goal}${series.join('')}</svg><p class="hint">Filled dot = a step that met the target, hollow = one that did not; the dashed vertical line is each provider's maximum (the knee).</p>`;
}

function summary(swept: Swept[], color: (i: number) => string): string {
  const rows = swept.map(({ p, i }) => {
    const s = p.sweep;
    const unit = s.mode === 'rate' ? '/s' : '';
    const max = s.mode === 'rate' ? s.max_rate : s.max_concurrency;
    return `<tr><td><i class="sw" style="background:${color(i)}"></i> ${nameHtml(p.name)}</td><td>${max === null ? '-' : `${max}${unit}`}</td><td>${s.first_failing === null ? '-' : `${s.first_failing}${unit}`}</td><td>${s.steps.length}</td><td>${s.requests}</td><td class="l">${esc(STOP_REASONS[s.stop_reason])}</td></tr>`;
  });
  return `<div class="scroll"><table><thead><tr><th class="l">provider</th><th>max</th><th>first failing</th><th>steps</th><th>requests</th><th class="l">search</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

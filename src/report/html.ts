import type { Summary } from '../bench/histogram.js';
import type { BenchResult, ProviderResult } from '../bench/result.js';
import { formatValue } from '../bench/thresholds.js';
import { bestLines, est } from '../format/bench.js';
import { usdCost } from '../format/table.js';
import { formatMs } from '../util/duration.js';
import { binCounts, cdf, recordedValues, type ValueCount } from './distribution.js';
import { sweepSection } from './sweep-chart.js';
import { axes, esc, nameHtml, nameLabel, niceTicks, PALETTE, round1, scales, svgOpen, tickMs, tickUsd, type Frame } from './svg.js';

/**
 * The bench result as one self-contained HTML page: inline CSS and SVG drawn here, no script, no font,
 * no image, nothing fetched (a Content-Security-Policy of default-src 'none' makes browsers refuse any
 * fetch). A pure function of the serialised result, so `--html` and a saved `--out` file give the same page.
 */
export function htmlReport(result: BenchResult): string {
  const providers = result.providers;
  const color = (i: number) => PALETTE[i % PALETTE.length];
  const latency = providers.map((p) => recordedValues(p.histograms?.latency));
  const ttft = providers.map((p) => recordedValues(p.histograms?.ttft));
  const failedChecks = result.thresholds.filter((t) => !t.pass).length;
  const title = `llm-fallback bench — ${providers.map((p) => p.name).join(', ')}`;
  const body = [
    `<header><h1>llm-fallback bench</h1><p class="sub">${esc(result.started_at)} → ${esc(result.ended_at)} · ${esc(loadLine(result))}${result.run.demo ? ' · <b>demo</b>: emulated providers, not measurements of the real services' : ''}</p>`,
    badges(result, failedChecks),
    '</header>',
    legend(providers, color),
    section('Summary', summaryTable(result, color), bestLines(result).map((l) => `<p class="note">${esc(l)}</p>`).join('')),
    result.run.slo?.length ? section('SLOs and goodput', goodputChart(result, color), goodputTable(result)) : '',
    result.run.sweep ? section('Capacity search', sweepSection(result, color)) : '',
    section('Latency distribution', `<p class="hint">Successful requests; latency = end − ${result.run.mode === 'open' ? 'scheduled send time' : 'send time'}. From the HDR histograms in the result (3 significant digits).</p>`, cdfChart('latency-cdf', 'Latency CDF', providers, latency, color), histograms('latency-hist', providers, latency, color)),
    section('Time to first token', `<p class="hint">First non-empty content or reasoning token − start.</p>`, cdfChart('ttft-cdf', 'TTFT CDF', providers, ttft, color), histograms('ttft-hist', providers, ttft, color)),
    section('Latency over time', timeSeries(providers, color)),
    section('Cost and latency', costChart(providers, color)),
    section('Thresholds', thresholdTable(result)),
    section('Run settings', settingsTable(result), result.notes.length ? `<ul class="notes">${result.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''),
  ].join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="generator" content="llm-fallback ${esc(result.tool.version)}">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
<footer>Written by llm-fallback ${esc(result.tool.version)} from a bench result (schema_version ${result.schema_version}). Self-contained: no script, nothing fetched.</footer>
</main>
</body>
</html>
`;
}

const CSS = `
:root{--fg:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#ffffff;--card:#f9fafb;--bad:#b91c1c;--good:#047857}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 28px 40px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:0 0 10px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:14px;margin:8px 0 4px}
.sub,.hint,footer{color:var(--muted)}
.hint{margin:0 0 8px;font-size:13px}
section{margin:26px 0}
.badges{display:flex;gap:8px;flex-wrap:wrap;margin-top:8px}
.badge{border-radius:999px;padding:2px 10px;font-size:12px;font-weight:600;background:#eef2ff;color:#3730a3}
.badge.bad{background:#fee2e2;color:var(--bad)}.badge.good{background:#d1fae5;color:var(--good)}
.legend{display:flex;gap:18px;flex-wrap:wrap;margin:16px 0 0;padding:10px 14px;background:var(--card);border:1px solid var(--line);border-radius:8px}
.legend span{display:inline-flex;align-items:center;gap:6px;font-weight:600}
.sw{display:inline-block;width:12px;height:12px;border-radius:3px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:5px 7px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap;font-size:13px}
th{font-size:12px;color:var(--muted);font-weight:600}
th:first-child,td:first-child,td.l,th.l{text-align:left}
.scroll{overflow-x:auto}
.pass{color:var(--good);font-weight:600}.fail{color:var(--bad);font-weight:600}
.note{margin:4px 0;font-size:13px}
.chart{width:100%;height:auto;display:block;margin:6px 0 10px}
.chart text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:var(--fg)}
.chart .tick{fill:var(--muted);font-size:11px}
.chart .title{fill:var(--muted);font-size:12px}
.chart .grid{stroke:#eef0f3}.chart .axis{stroke:#9ca3af}
.chart .label{font-weight:600}
.grid3{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:8px 18px}
.grid3 h3{display:flex;align-items:center;gap:6px}
.empty{color:var(--muted);font-style:italic}
.nm{unicode-bidi:isolate;display:inline-block;max-width:24em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;vertical-align:bottom}
.legend>span,.grid3>div{min-width:0;max-width:100%}.sw{flex:none}p,li,dd{overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}dt{color:var(--muted)}dd{margin:0}
@media print{main{padding:0}section{break-inside:avoid}}
`;

function section(title: string, ...parts: string[]): string {
  const id = title.toLowerCase().replace(/[^a-z]+/g, '-');
  return `<section id="${id}"><h2>${esc(title)}</h2>${parts.join('\n')}</section>`;
}

function loadLine(r: BenchResult): string {
  const run = r.run;
  if (run.sweep) return `capacity search over ${run.sweep.mode === 'rate' ? 'the rate' : 'concurrency'}, steps of ${formatMs(run.sweep.step_duration_ms)}, ${run.stream ? 'streaming' : 'not streaming'}`;
  const load = run.mode === 'open' ? `open loop, ${run.rate}/s ${run.arrival ?? ''} arrivals` : `closed loop, concurrency ${run.concurrency}`;
  const bound = [run.requests !== null ? `${run.requests} requests` : '', run.duration_ms !== null ? formatMs(run.duration_ms) : ''].filter(Boolean).join(' or ');
  return `${load}, ${bound} per provider, ${run.stream ? 'streaming' : 'not streaming'}`;
}

function badges(r: BenchResult, failedChecks: number): string {
  const b: string[] = [];
  if (r.partial) b.push('<span class="badge bad">partial: the run was interrupted</span>');
  if (r.merged_from > 1) b.push(`<span class="badge">merged from ${r.merged_from} runs</span>`);
  if (r.thresholds.length) b.push(failedChecks ? `<span class="badge bad">${failedChecks} of ${r.thresholds.length} thresholds failed</span>` : `<span class="badge good">all ${r.thresholds.length} thresholds passed</span>`);
  if (r.run.slo?.length) b.push(`<span class="badge">SLO ${esc(r.run.slo.map((s) => s.expression).join(', '))}</span>`);
  return b.length ? `<div class="badges">${b.join('')}</div>` : '';
}

function legend(providers: ProviderResult[], color: (i: number) => string): string {
  return `<div class="legend">${providers.map((p, i) => `<span><i class="sw" style="background:${color(i)}"></i>${nameHtml(p.name)} <small>${nameHtml(p.model)}</small></span>`).join('')}</div>`;
}

const ms = (s: Summary | null | undefined, k: keyof Summary) => (s ? formatMs(s[k]) : '-');
const pct = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${(v * 100).toFixed(1)}%`);

function summaryTable(r: BenchResult, color: (i: number) => string): string {
  const head = ['provider', 'model', 'ok/sent', 'errors', 'p50', 'p95', 'p99', 'TTFT p50', 'TTFT p95', 'ITL p50', 'tok/s', 'cost', '$/1k req', '$/1M out'];
  const rows = r.providers.map((p, i) => {
    const errs = Object.entries(p.errors).map(([k, v]) => `${k} ${v}`).join(', ');
    return `<tr><td><i class="sw" style="background:${color(i)}"></i> ${nameHtml(p.name)}</td><td class="l">${nameHtml(p.model)}</td><td>${p.ok}/${p.requests}</td><td title="${esc(errs)}">${pct(p.error_rate)}</td><td>${ms(p.latency_ms, 'p50')}</td><td>${ms(p.latency_ms, 'p95')}</td><td>${ms(p.latency_ms, 'p99')}</td><td>${ms(p.ttft_ms, 'p50')}</td><td>${ms(p.ttft_ms, 'p95')}</td><td>${ms(p.itl_ms, 'p50')}</td><td>${p.output_tokens_per_s.aggregate === null ? '-' : `${est(p)}${p.output_tokens_per_s.aggregate.toFixed(1)}`}</td><td>${p.price ? `${est(p)}${usdCost(p.cost_usd)}` : 'no price'}</td><td>${p.price && p.cost_per_1k_requests_usd !== null ? `${est(p)}${usdCost(p.cost_per_1k_requests_usd)}` : '-'}</td><td>${p.price && p.cost_per_1m_output_tokens_usd !== null ? `${est(p)}${usdCost(p.cost_per_1m_output_tokens_usd)}` : '-'}</td></tr>`;
  });
  const estimated = r.providers.some((p) => est(p)) ? ['<p class="note">~ token counts (and the tok/s and cost built on them) are estimated: the server reported no usage for some requests.</p>'] : [];
  const errors = r.providers
    .filter((p) => p.failed > 0)
    .map((p) => `<p class="note">${nameHtml(p.name)}: ${p.failed} failed — ${esc(Object.entries(p.errors).map(([k, v]) => `${k} ${v}`).join(', '))}</p>`);
  return `<div class="scroll"><table><thead><tr>${head.map((h, i) => `<th${i < 2 ? ' class="l"' : ''}>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>${[...errors, ...estimated].join('')}`;
}

function goodputTable(r: BenchResult): string {
  const slos = r.run.slo ?? [];
  const head = ['provider', 'good', 'attainment', 'goodput/s', ...slos.map((s) => esc(s.expression))];
  const rows = r.providers.map((p) => {
    const g = p.goodput;
    return `<tr><td>${nameHtml(p.name)}</td><td>${g ? `${g.good}/${g.measured}` : '-'}</td><td>${pct(g?.attainment)}</td><td>${g?.requests_per_s?.toFixed(2) ?? '-'}</td>${slos.map((_, i) => `<td>${pct(g?.slos[i]?.pass_rate)}</td>`).join('')}</tr>`;
  });
  return `<div class="scroll"><table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div><p class="hint">A request is good when it succeeded and met every SLO; attainment = good / measured requests, failures included; each SLO column is that SLO's own pass rate.</p>`;
}

function goodputChart(r: BenchResult, color: (i: number) => string): string {
  const rowH = 34;
  const f: Frame = { width: 960, height: 46 + rowH * r.providers.length, left: 130, right: 90, top: 8, bottom: 38, xMax: 100, yMax: 1 };
  const { x } = scales(f);
  const bars = r.providers.map((p, i) => {
    const a = p.goodput?.attainment;
    const y = f.top + i * rowH + 6;
    const w = a === null || a === undefined ? 0 : x(a * 100) - f.left;
    return `<g class="series" data-provider="${esc(p.name)}"><text class="label" x="${f.left - 8}" y="${y + 15}" text-anchor="end">${nameLabel(p.name)}</text><rect class="pt" x="${f.left}" y="${y}" width="${round1(w)}" height="${rowH - 12}" rx="3" fill="${color(i)}"><title>${esc(p.name)}: ${pct(a)} of requests good (${p.goodput?.good ?? 0}/${p.goodput?.measured ?? 0}), ${p.goodput?.requests_per_s?.toFixed(2) ?? '-'} good/s</title></rect><text x="${f.left + w + 6}" y="${y + 15}">${pct(a)}</text></g>`;
  });
  const ticks = [0, 20, 40, 60, 80, 100];
  const grid = ticks.map((t) => `<line class="grid" x1="${x(t)}" x2="${x(t)}" y1="${f.top}" y2="${f.height - f.bottom}"/><text class="tick" x="${x(t)}" y="${f.height - f.bottom + 16}" text-anchor="middle">${t}%</text>`).join('');
  return `${svgOpen('goodput', f, 'SLO attainment per provider')}${grid}<text class="title" x="${(f.left + f.width - f.right) / 2}" y="${f.height - 4}" text-anchor="middle">attainment: share of requests that succeeded and met every SLO</text>${bars.join('')}</svg>`;
}

/** Cumulative distribution of every provider on one chart, with p50/p90/p99 marked. */
function cdfChart(chart: string, label: string, providers: ProviderResult[], values: ValueCount[][], color: (i: number) => string): string {
  const max = Math.max(0, ...values.flatMap((v) => (v.length ? [v[v.length - 1].ms] : [])));
  if (max === 0) return '<p class="empty">No successful request to chart.</p>';
  const xTicks = niceTicks(max, 8);
  const f: Frame = { width: 960, height: 340, left: 64, right: 24, top: 12, bottom: 44, xMax: xTicks[xTicks.length - 1], yMax: 100 };
  const { x, y } = scales(f);
  const series = providers.map((p, i) => {
    const points = cdf(values[i]);
    if (points.length === 0) return `<g class="series" data-provider="${esc(p.name)}"></g>`;
    let d = `M${x(points[0].ms)},${y(0)}`;
    let prevY = 0;
    for (const pt of points) {
      d += `L${x(pt.ms)},${y(prevY * 100)}L${x(pt.ms)},${y(pt.share * 100)}`;
      prevY = pt.share;
    }
    const marks = [50, 90, 99].map((q) => {
      const at = points.find((pt) => pt.share * 100 >= q) ?? points[points.length - 1];
      return `<circle class="pt" cx="${x(at.ms)}" cy="${y(q)}" r="4" fill="${color(i)}"><title>${esc(p.name)} p${q}: ${formatMs(at.ms)}</title></circle>`;
    });
    return `<g class="series" data-provider="${esc(p.name)}"><path d="${d}" fill="none" stroke="${color(i)}" stroke-width="2"/>${marks.join('')}</g>`;
  });
  return `${svgOpen(chart, f, label)}${axes(f, xTicks, [0, 25, 50, 75, 90, 100], tickMs, (v) => `${v}%`, 'milliseconds', 'share of requests at or below')}${series.join('')}</svg>`;
}

/** One small histogram per provider, on a shared x axis so their shapes compare. */
function histograms(chart: string, providers: ProviderResult[], values: ValueCount[][], color: (i: number) => string): string {
  const max = Math.max(0, ...values.flatMap((v) => (v.length ? [v[v.length - 1].ms] : [])));
  if (max === 0) return '';
  const xTicks = niceTicks(max, 4);
  const bins = 30;
  const cells = providers.map((p, i) => {
    const counts = binCounts(values[i], xTicks[xTicks.length - 1], bins);
    const peak = Math.max(1, ...counts);
    const yTicks = niceTicks(peak, 3, true);
    const f: Frame = { width: 300, height: 180, left: 40, right: 10, top: 8, bottom: 40, xMax: xTicks[xTicks.length - 1], yMax: yTicks[yTicks.length - 1] };
    const { x, y } = scales(f);
    const w = (x(f.xMax) - x(0)) / bins;
    const binMs = f.xMax / bins;
    const rects = counts
      .map((c, b) => (c === 0 ? '' : `<rect class="pt" x="${round1(x(0) + b * w + 0.5)}" y="${y(c)}" width="${round1(Math.max(1, w - 1))}" height="${round1(y(0) - y(c))}" fill="${color(i)}"><title>${esc(p.name)}: ${c} request(s) between ${formatMs(b * binMs)} and ${formatMs((b + 1) * binMs)}</title></rect>`))
      .join('');
    return `<div><h3><i class="sw" style="background:${color(i)}"></i>${nameHtml(p.name)}</h3>${svgOpen(chart, f, `${p.name} histogram`)}${axes(f, xTicks, yTicks, tickMs, (v) => String(v), 'milliseconds', 'requests')}<g class="series" data-provider="${esc(p.name)}">${rects}</g></svg></div>`;
  });
  return `<div class="grid3">${cells.join('')}</div>`;
}

/** p50 (solid) and p95 (dashed) latency per time bucket; failures as red marks on the axis. */
function timeSeries(providers: ProviderResult[], color: (i: number) => string): string {
  const withData = providers.filter((p) => p.timeline?.buckets.length);
  if (withData.length === 0) return '<p class="empty">No time series in this result (merged results and runs without a measured request have none).</p>';
  const tMax = Math.max(...withData.map((p) => p.timeline!.buckets[p.timeline!.buckets.length - 1].t_s + p.timeline!.bucket_ms / 1000));
  const yMax = Math.max(1, ...withData.flatMap((p) => p.timeline!.buckets.map((b) => b.latency_ms?.p95 ?? 0)));
  const xTicks = niceTicks(tMax, 8);
  const yTicks = niceTicks(yMax, 5);
  const f: Frame = { width: 960, height: 320, left: 64, right: 24, top: 12, bottom: 44, xMax: xTicks[xTicks.length - 1], yMax: yTicks[yTicks.length - 1] };
  const { x, y } = scales(f);
  const series = providers.map((p, i) => {
    const tl = p.timeline;
    if (!tl) return '';
    const half = tl.bucket_ms / 2000;
    const pts = tl.buckets.filter((b) => b.latency_ms);
    const line = (k: 'p50' | 'p95') => pts.map((b, j) => `${j ? 'L' : 'M'}${x(b.t_s + half)},${y(b.latency_ms![k])}`).join('');
    const dots = pts.map((b) => `<circle class="pt" cx="${x(b.t_s + half)}" cy="${y(b.latency_ms!.p50)}" r="3" fill="${color(i)}"><title>${esc(p.name)} at ${b.t_s}s: p50 ${formatMs(b.latency_ms!.p50)}, p95 ${formatMs(b.latency_ms!.p95)}, max ${formatMs(b.latency_ms!.max)}; ${b.ok} ok, ${b.failed} failed</title></circle>`);
    const fails = tl.buckets
      .filter((b) => b.failed > 0)
      .map((b) => `<path class="fail-mark" d="M${x(b.t_s + half) - 4},${y(0) + 1}l4,-8l4,8z" fill="${color(i)}" stroke="#b91c1c"><title>${esc(p.name)} at ${b.t_s}s: ${b.failed} failed</title></path>`);
    return `<g class="series" data-provider="${esc(p.name)}"><path d="${line('p95')}" fill="none" stroke="${color(i)}" stroke-width="1.5" stroke-dasharray="5 4" opacity="0.7"/><path d="${line('p50')}" fill="none" stroke="${color(i)}" stroke-width="2"/>${dots.join('')}${fails.join('')}</g>`;
  });
  const width = withData[0].timeline!.bucket_ms;
  return `<p class="hint">Requests grouped by start time in ${tickMs(width)} buckets: solid = p50, dashed = p95 of the bucket's successful requests (within 1%); ▲ on the axis = failures in that bucket.</p>${svgOpen('latency-time', f, 'Latency over time')}${axes(f, xTicks, yTicks, (v) => `${v}s`, tickMs, 'seconds since the run started', 'latency')}${series.join('')}</svg>`;
}

/** Every provider's cost per 1k requests against its latency: p50 as the point, a whisker to p95. */
function costChart(providers: ProviderResult[], color: (i: number) => string): string {
  const priced = (p: ProviderResult) => p.price !== null && p.latency_ms !== null && p.cost_per_1k_requests_usd !== null;
  const plotted = providers.map((p, i) => ({ p, i })).filter(({ p }) => priced(p));
  const unpriced = providers.filter((p) => !priced(p)).map((p) => nameHtml(p.name));
  const note = unpriced.length ? `<p class="hint">Not on the chart (no price or no successful request): ${unpriced.join(', ')}.</p>` : '';
  if (plotted.length === 0) return `<p class="empty">No provider with both a price and a successful request.</p>${note}`;
  const xTicks = niceTicks(Math.max(...plotted.map(({ p }) => p.latency_ms!.p95)) * 1.08, 8);
  const yTicks = niceTicks(Math.max(...plotted.map(({ p }) => p.cost_per_1k_requests_usd!)) * 1.1, 5);
  const f: Frame = { width: 960, height: 340, left: 76, right: 24, top: 16, bottom: 44, xMax: xTicks[xTicks.length - 1], yMax: yTicks[yTicks.length - 1] };
  const { x, y } = scales(f);
  const points = plotted.map(({ p, i }) => {
    const cx = x(p.latency_ms!.p50);
    const cy = y(p.cost_per_1k_requests_usd!);
    return `<g class="series" data-provider="${esc(p.name)}"><line x1="${cx}" x2="${x(p.latency_ms!.p95)}" y1="${cy}" y2="${cy}" stroke="${color(i)}" stroke-width="2"/><line x1="${x(p.latency_ms!.p95)}" x2="${x(p.latency_ms!.p95)}" y1="${cy - 5}" y2="${cy + 5}" stroke="${color(i)}" stroke-width="2"/><circle class="pt" cx="${cx}" cy="${cy}" r="7" fill="${color(i)}"><title>${esc(p.name)}: ${usdCost(p.cost_per_1k_requests_usd)} per 1k requests, latency p50 ${formatMs(p.latency_ms!.p50)}, p95 ${formatMs(p.latency_ms!.p95)}</title></circle><text class="label" x="${cx}" y="${cy - 12}" text-anchor="middle">${nameLabel(p.name)}</text></g>`;
  });
  return `<p class="hint">Lower left is better. Dot = p50 latency, whisker to p95; cost per 1,000 successful requests from the usage the servers reported (or estimated).</p>${svgOpen('cost-latency', f, 'Cost vs latency')}${axes(f, xTicks, yTicks, tickMs, tickUsd(yTicks), 'latency (p50 → p95)', 'USD per 1k requests')}${points.join('')}</svg>${note}`;
}

function thresholdTable(r: BenchResult): string {
  if (r.thresholds.length === 0) return '<p class="empty">No thresholds were set (--fail-on or thresholds: in providers.yaml).</p>';
  const rows = r.thresholds.map(
    (t) =>
      `<tr><td class="${t.pass ? 'pass' : 'fail'}">${t.pass ? 'pass' : 'FAIL'}</td><td class="l">${nameHtml(t.provider)}</td><td class="l"><code>${esc(t.expression)}</code></td><td>${t.value === null ? 'no data' : esc(formatValue(t.metric, t.value))}</td><td>${esc(t.op)} ${esc(formatValue(t.metric, t.limit))}</td></tr>`,
  );
  return `<table><thead><tr><th class="l">result</th><th class="l">provider</th><th class="l">threshold</th><th>measured</th><th>required</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function settingsTable(r: BenchResult): string {
  const run = r.run;
  const items: [string, string][] = [
    ['load', loadLine(r)],
    ['warm-up requests', String(run.warmup)],
    ['max tokens', run.max_tokens === null ? 'provider default' : String(run.max_tokens)],
    ['temperature', run.temperature === null ? 'provider default' : String(run.temperature)],
    ['timeout', run.timeout_ms === null ? 'per provider' : formatMs(run.timeout_ms)],
    ['seed', String(run.seed)],
    ['prompts', String(run.prompts)],
    ['SLOs', run.slo?.length ? run.slo.map((s) => s.expression).join(', ') : 'none'],
    ['started', r.started_at],
    ['ended', r.ended_at],
    ['machine', `${r.machine.platform}, ${r.machine.cpus} CPUs, Node ${r.machine.node}`],
    ['tool', `${r.tool.name} ${r.tool.version}`],
    ['prices', r.providers.map((p) => (p.price ? `${p.name} $${p.price.input}/$${p.price.output} per 1M in/out (${p.price.priced_at})` : `${p.name}: none`)).join('; ')],
  ];
  return `<dl>${items.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`;
}

import type { ChainHealth, HealthReport, HealthResult } from '../health/check.js';
import { formatMs } from '../util/duration.js';
import { fitTable, markdownCell as md, TEXT_WIDTH, usdCost, withoutName, wrapText } from './table.js';

export function healthTable(r: HealthReport): string {
  const head = ['provider', 'model', 'required', 'health', 'status', 'latency', 'TTFT', 'served model', 'cost'];
  const rows = r.providers.map((p) => [
    p.name,
    p.model,
    p.required ? 'yes' : 'no',
    p.healthy ? 'healthy' : p.skipped ? 'skipped (no key)' : `DOWN ${p.error_detail ?? ''}`,
    p.status === null ? '-' : String(p.status),
    formatMs(p.latency_ms),
    p.ttft_ms === null ? '-' : formatMs(p.ttft_ms),
    p.served_model ?? '-',
    // A deep check of a provider without a price spent tokens at an unknown price: not $0.00.
    p.cost_usd === null ? 'no price' : usdCost(p.cost_usd),
  ]);
  // Within TEXT_WIDTH: the served model gives up characters first, then names and models (the config and
  // --format json have them whole).
  const t = fitTable(head, rows, ['left', 'left', 'left', 'left', 'right', 'right', 'right', 'left', 'right'], { maxWidth: TEXT_WIDTH, shrinkFirst: [7], shrinkable: [0, 1] });
  const lines = [t];
  for (const c of r.chains) lines.push(...wrapText(`chain ${c.name} (${c.providers.join(' → ')}): ${c.healthy ? 'healthy' : 'DOWN'}`));
  for (const p of r.providers) if (!p.healthy && p.error_message) lines.push(`${p.name}: ${withoutName(p.name, p.error_message)}`);
  lines.push(r.ok ? 'All required providers and chains are healthy.' : `UNHEALTHY:\n${r.failures.map((f) => `  ✗ ${f}`).join('\n')}`);
  return `${lines.join('\n')}\n`;
}

export function healthMarkdown(r: HealthReport): string {
  const rows = ['### llm-fallback health', '', '| provider | model | required | health | status | latency | TTFT |', '|---|---|---|---|--:|--:|--:|'];
  for (const p of r.providers) {
    rows.push(`| ${md(p.name)} | ${md(p.model)} | ${p.required ? 'yes' : 'no'} | ${p.healthy ? '✅ healthy' : p.skipped ? '⏭️ skipped (no key)' : `❌ ${md(p.error_detail ?? 'down')}`} | ${p.status ?? '-'} | ${formatMs(p.latency_ms)} | ${p.ttft_ms === null ? '-' : formatMs(p.ttft_ms)} |`);
  }
  rows.push('');
  for (const c of r.chains) rows.push(`- chain **${md(c.name)}**: ${c.healthy ? '✅ healthy' : '❌ down'}`);
  rows.push(r.ok ? '- All required providers and chains are healthy.' : `- **Unhealthy:** ${r.failures.map(md).join('; ')}`);
  return `${rows.join('\n')}\n`;
}

/**
 * Text for an XML 1.0 attribute or element. Characters XML 1.0 forbids even as references (C0 controls but
 * tab/LF/CR, U+FFFE, U+FFFF, and a UTF-16 surrogate without its pair, all of which a server's error message
 * can hold) are dropped: one of them makes the whole file unreadable to a JUnit parser.
 */
const xml = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '');

/**
 * A check cut short by Ctrl-C/SIGTERM (a cancelled CI job) says nothing about the provider: JUnit's
 * <error> (could not run), not <failure>, so the job's test report does not blame the provider.
 */
const interrupted = (p: HealthResult | undefined) => p !== undefined && !p.healthy && p.error_class === 'cancelled';

/**
 * JUnit XML: each provider (and chain) is a test case, so CI systems list them. Optional providers that are down are "skipped", not failed.
 * Valid against Jenkins' junit-10.xsd (xunit-plugin), which allows no `skipped` on <testsuites>: the count is on <testsuite>.
 */
export function healthJunit(r: HealthReport): string {
  const secs = (ms: number) => (ms / 1000).toFixed(3);
  const cases = r.providers.map((p) => {
    const name = `${p.name} (${p.model})`;
    let body = '';
    if (p.skipped && p.required) body = `\n      <failure type="no_key" message="${xml(`required, not checked: ${p.error_message}`)}"/>\n    `;
    else if (p.skipped) body = `\n      <skipped message="${xml(`not checked: ${p.error_message}`)}"/>\n    `;
    else if (interrupted(p) && p.required) body = `\n      <error type="cancelled" message="check interrupted before it finished"/>\n    `;
    else if (!p.healthy && p.required) body = `\n      <failure type="${xml(p.error_class ?? 'unhealthy')}" message="${xml(`${p.error_detail ?? 'unhealthy'}${p.status ? ` HTTP ${p.status}` : ''}`)}">${xml(p.error_message ?? '')}</failure>\n    `;
    else if (!p.healthy) body = `\n      <skipped message="${xml(`optional provider down: ${p.error_detail ?? ''}`)}"/>\n    `;
    return `    <testcase classname="llm-fallback.health.providers" name="${xml(name)}" time="${secs(p.latency_ms)}">${body}</testcase>`;
  });
  const byName = new Map(r.providers.map((p) => [p.name, p]));
  // A down chain with a member whose check was cut short was not judged either.
  const chainCut = (c: ChainHealth) => !c.healthy && c.providers.some((n) => interrupted(byName.get(n)));
  const chainCases = r.chains.map((c) => {
    const body = c.healthy
      ? ''
      : chainCut(c)
        ? `\n      <error type="cancelled" message="${xml(`interrupted before one of ${c.providers.join(', ')} answered`)}"/>\n    `
        : `\n      <failure type="chain_down" message="${xml(`none of ${c.providers.join(', ')} is healthy`)}"/>\n    `;
    return `    <testcase classname="llm-fallback.health.chains" name="${xml(c.name)}" time="0">${body}</testcase>`;
  });
  const errors = r.providers.filter((p) => p.required && interrupted(p)).length + r.chains.filter(chainCut).length;
  const failures = r.providers.filter((p) => p.required && !p.healthy).length + r.chains.filter((c) => !c.healthy).length - errors;
  const skipped = r.providers.filter((p) => !p.required && !p.healthy).length;
  const total = r.providers.length + r.chains.length;
  const time = secs(Math.max(0, ...r.providers.map((p) => p.latency_ms)));
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="llm-fallback health" tests="${total}" failures="${failures}" errors="${errors}" time="${time}">
  <testsuite name="llm-fallback health (${r.mode})" tests="${total}" failures="${failures}" skipped="${skipped}" errors="${errors}" time="${time}" timestamp="${r.checked_at}">
${[...cases, ...chainCases].join('\n')}
  </testsuite>
</testsuites>
`;
}

/** health --watch on a TTY: one status line, rewritten after each round, so a quiet watch visibly lives. */
export function watchLine(r: HealthReport, everyMs: number): string {
  const up = r.providers.filter((p: HealthResult) => p.healthy).length;
  const checked = r.providers.filter((p) => !p.skipped).length;
  const at = new Date(r.checked_at).toISOString().slice(11, 19);
  return `watching ${checked} provider${checked === 1 ? '' : 's'}: ${up} up, ${checked - up} down · last check ${at} UTC · every ${formatMs(everyMs)} · Ctrl-C to stop`;
}

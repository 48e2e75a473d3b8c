import { formatMs } from '../util/duration.js';
import type { BenchResult } from './result.js';

/** Send lag (p99) under this many ms is the timer's ordinary jitter, not a client falling behind. */
export const LAG_TOLERANCE_MS = 10;

/**
 * Open loop: providers whose requests left later than planned — the client (CPU, --max-inflight)
 * could not keep the schedule, so their latency includes the client's own delay. Late means a send
 * lag p99 above the larger of LAG_TOLERANCE_MS and one arrival interval (of a trace: its mean).
 * Warnings the engine put in the result itself (a `warnings` list, on the result or a provider) come first.
 */
export function scheduleWarnings(result: BenchResult): string[] {
  const given = (o: object) => {
    const w = (o as { warnings?: unknown }).warnings;
    return Array.isArray(w) ? w.filter((x): x is string => typeof x === 'string') : [];
  };
  const out = [...given(result), ...result.providers.flatMap((p) => given(p).map((w) => (w.startsWith(`${p.name}:`) ? w : `${p.name}: ${w}`)))];
  // A trace replay sets its own times (run.rate is null): its mean arrival interval, at the replay speed, is the interval.
  const trace = result.run.workload?.trace;
  const rate = result.run.rate ?? (trace ? (trace.span_ms > 0 ? ((trace.requests - 1) * 1000) / trace.span_ms : Infinity) : null);
  if (result.run.mode === 'open' && rate) {
    const allowed = Math.max(LAG_TOLERANCE_MS, 1000 / rate);
    const late = result.providers.filter((p) => p.send_lag_ms !== null && p.send_lag_ms.p99 > allowed);
    if (late.length) {
      out.push(
        `the client fell behind its schedule — send lag p99 over ${formatMs(allowed)} for ${late.map((p) => `${p.name} (${formatMs(p.send_lag_ms!.p99)})`).join(', ')} — so latency there includes the client's own delay; lower ${trace ? '--trace-speed' : '--rate'}, raise --max-inflight or use a less loaded machine.`,
      );
    }
  }
  return out;
}

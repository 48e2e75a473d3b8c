// bench --self-check's own bookkeeping, against the emulator in its own process: every request pairs a
// client send with an emulator arrival, and the table says how long requests queued before the
// emulator's clock started (the share of the error that is the emulator's, not the client's).
import { describe, expect, it } from 'vitest';
import { selfCheck } from '../src/bench/self-check.js';
import { selfCheckTable } from '../src/format/self-check.js';

describe('bench --self-check', () => {
  it('measures each level against the emulator\'s log and reports the queueing before the emulator saw each request', { timeout: 60_000 }, async () => {
    const [level] = await selfCheck([10]);
    expect(level.streams).toBe(10);
    expect(level.ok).toBe(level.requests);
    // The emulator logged 200 ms to the first token; the client saw at least that.
    expect(level.ttft.truth_p50).toBeGreaterThanOrEqual(199);
    expect(level.ttft.p50).toBeGreaterThanOrEqual(level.ttft.truth_p50 - 1);
    // Sends and arrivals pair up: the lag is a small non-negative time (clocks of two processes on one machine agree to well under a millisecond).
    expect(level.arrival_lag).not.toBeNull();
    expect(level.arrival_lag!.p50).toBeGreaterThan(-1);
    expect(level.arrival_lag!.p99).toBeGreaterThanOrEqual(level.arrival_lag!.p50);
    expect(level.arrival_lag!.p99).toBeLessThan(level.ttft.p99 - level.ttft.truth_p99 + 50);
    // The client's own queue (issue → bytes written) is measured per request and the emulator reports its loop's lateness.
    expect(level.client_queue).not.toBeNull();
    expect(level.client_queue!.p50).toBeGreaterThanOrEqual(0);
    expect(level.client_queue!.p99).toBeGreaterThanOrEqual(level.client_queue!.p50);
    expect(level.emulator_loop_delay_p99).not.toBeNull();
    expect(level.emulator_loop_delay_p99!).toBeGreaterThanOrEqual(0);
    const table = selfCheckTable([level]);
    expect(table).toMatch(/queued p99/);
    expect(table).toMatch(/client q p99/);
    expect(table).toContain(`${level.client_queue!.p99.toFixed(1)}ms`);
    expect(table).toContain(`${level.arrival_lag!.p99.toFixed(1)}ms`);
  });
});

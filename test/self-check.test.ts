// bench --self-check's own bookkeeping, against the emulator in its own process: every request pairs a
// client send with an emulator arrival, and the table says how long requests queued before the
// emulator's clock started (the share of the error that is the emulator's, not the client's).
import { describe, expect, it } from 'vitest';
import { emulatorOnPlan, selfCheck, type SelfCheckLevel } from '../src/bench/self-check.js';
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
    expect(level.emulator_loop_delay_max).not.toBeNull();
    expect(level.emulator_loop_delay_max!).toBeGreaterThanOrEqual(0);
    const table = selfCheckTable([level]);
    expect(table).toMatch(/│ +queued │/);
    expect(table).toMatch(/│ +client q │/);
    // Like every table of the tool, it fits 100 columns, even with 1,000 streams' figures in it.
    const wide = selfCheckTable([{ ...level, streams: 1000, requests: 1000, ok: 1000, ttft: { ...level.ttft, p50: level.ttft.truth_p50 + 1708, p99: level.ttft.truth_p99 + 1698.4 }, client_queue: { p50: 1000, p99: 1620.4 }, arrival_lag: { p50: 1000, p99: 2014.9 }, emulator_loop_delay_max: 201.6, event_loop_delay_p99: 2582.9, cpu_percent: 100 }]);
    for (const line of wide.split('\n').filter((l) => l.startsWith('│') || l.startsWith('┌'))) expect([...line].length).toBeLessThanOrEqual(100);
    const shown = (v: number) => `${v.toFixed(Math.abs(v) >= 100 ? 0 : 1)}ms`;
    expect(table).toContain(shown(level.client_queue!.p99));
    expect(table).toContain(shown(level.arrival_lag!.p99));
    // The flag follows the emulator's own log, and the table speaks of it exactly when it is down (a quiet
    // machine keeps the plan at 10 streams; one loaded by parallel tests may not).
    expect(level.emulator_on_plan).toBe(emulatorOnPlan(level.ttft.truth_p50, level.itl.truth_p50));
    expect(table.includes('fell behind')).toBe(!level.emulator_on_plan);
  });

  it('says where the emulator fell behind its own plan, so an overloaded level is not read as bench\'s accuracy', () => {
    expect(emulatorOnPlan(203, 20.4)).toBe(true);
    expect(emulatorOnPlan(378, 19)).toBe(false); // first token late
    expect(emulatorOnPlan(205, 0.1)).toBe(false); // tokens bunched
    const level = (streams: number, ttftTruth: number, itlTruth: number): SelfCheckLevel => ({
      streams, requests: streams, ok: streams,
      ttft: { p50: ttftTruth + 5, p99: ttftTruth + 9, truth_p50: ttftTruth, truth_p99: ttftTruth + 2 },
      latency: { p50: 600, p99: 610, truth_p50: 600, truth_p99: 605 },
      itl: { p50: itlTruth, truth_p50: itlTruth },
      connect_ms_p50: 0.3, arrival_lag: { p50: 1, p99: 2 }, client_queue: { p50: 0.1, p99: 1 },
      emulator_loop_delay_max: 4, event_loop_delay_p99: 1, cpu_percent: 10, cpu_us_per_event: 30,
      emulator_on_plan: emulatorOnPlan(ttftTruth, itlTruth),
    });
    const table = selfCheckTable([level(100, 201, 20), level(1000, 378, 0.1)]);
    expect(table).toContain('Note: the emulator fell behind its own plan at 1000 streams (first token p50 378 ms for 200, token gap p50 0.1 ms for 20)');
    expect(table).not.toContain('at 100 streams');
    // A level the emulator logged nothing for (every request failed) has no truth to judge: no note, no crash.
    const empty = { ...level(10, NaN, NaN), ok: 0 };
    expect(empty.emulator_on_plan).toBe(true);
    expect(selfCheckTable([empty])).not.toContain('fell behind');
  });
});

describe('the emulator\'s arrival stamps under a burst', () => {
  it('stamps every request that arrived together before it serves any of them, so its log does not start their clocks late', { timeout: 30_000 }, async () => {
    const { emulator } = await import('./helpers.js');
    const { connect } = await import('node:net');
    // First token at once, then a gap: each request's first token is written as soon as it is served.
    const server = await emulator({ burst: { dialect: 'openai', ttft: { dist: 'constant', value: 0 }, itl: { dist: 'constant', value: 5 }, output_tokens: { dist: 'constant', value: 2 } } });
    const url = new URL(server.baseUrl('burst'));
    const N = 40;
    const sockets = await Promise.all(Array.from({ length: N }, () => new Promise<import('node:net').Socket>((resolve) => {
      const s = connect(Number(url.port), url.hostname, () => resolve(s));
    })));
    // Let the emulator accept every connection before any request is written.
    await new Promise((r) => setTimeout(r, 50));
    const body = JSON.stringify({ model: server.profile.providers.burst.model, messages: [{ role: 'user', content: 'hi' }], stream: true });
    const done = sockets.map((s) => new Promise<void>((resolve) => {
      let text = '';
      s.on('data', (d) => {
        text += d;
        if (text.includes('[DONE]')) resolve();
      });
    }));
    // All requests are in the kernel before the emulator's event loop gets to run again.
    for (const s of sockets) s.write(`POST ${url.pathname}/chat/completions HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await Promise.all(done);
    for (const s of sockets) s.destroy();
    const log = server.injected('burst');
    expect(log).toHaveLength(N);
    const lastArrival = Math.max(...log.map((i) => i.arrivedAt));
    const firstTokenWritten = Math.min(...log.map((i) => i.arrivedAt + i.ttftMs));
    // Served as they were read, each request would be stamped only after the ones before it wrote their first token.
    expect(lastArrival).toBeLessThanOrEqual(firstTokenWritten);
  });
});

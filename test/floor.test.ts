import { describe, expect, it } from 'vitest';
import { machineFloor } from '../src/perf/floor.js';

/*
 * The accuracy section's floors (npm run perf): two bare processes over loopback, the server in a child
 * process. Only what cannot depend on the machine's speed is asserted: every exchange is counted, and each
 * error is one exchange's own two one-way delays, not a stamp paired with another token's (the tokens are
 * 10 ms apart, so a first token's read paired with the last token's write would be ~20 ms off either way).
 */
describe('the machine floor of the accuracy matrix', () => {
  it('streams in the cells’ shape and pairs each token’s write with its own read', async () => {
    const f = await machineFloor(2, 10, 30, 'stream', { tokens: 3, itlMs: 10 });
    expect(f.exchanges).toBe(10);
    for (const p of [f, f.ttft]) {
      expect(p.p50).toBeGreaterThan(-1);
      expect(p.p50).toBeLessThan(10);
      expect(p.p99).toBeGreaterThanOrEqual(p.p50);
    }
  });

  it('answers at once over node:http, where the first and the last byte are one write', async () => {
    const f = await machineFloor(2, 10, 30, 'http');
    expect(f.exchanges).toBe(10);
    expect(f.ttft).toEqual({ p50: f.p50, p95: f.p95, p99: f.p99 });
    expect(f.p50).toBeGreaterThan(-1);
    expect(f.p50).toBeLessThan(10);
  });
});

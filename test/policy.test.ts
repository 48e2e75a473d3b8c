import { describe, expect, it } from 'vitest';
import { attemptClocks, failureKind, percentile, pickNext, retryDelay, type Slot } from '../src/chain/policy.js';
import type { ErrorClass } from '../src/providers/errors.js';

/* The chain's decision table, as pure functions: every row, no network. */
const err = (errorClass: ErrorClass, isRetryable: boolean, timeoutPhase?: 'connect' | 'first_token' | 'idle' | 'total') => ({ errorClass, isRetryable, timeoutPhase });

describe('failureKind: what a failure says about asking the same provider again', () => {
  it.each([
    ['refused/reset (network)', err('network', true), false, 'again'],
    ['503/529 (overloaded)', err('overloaded', true), false, 'again'],
    ['429 (rate_limit)', err('rate_limit', true), false, 'again'],
    ['5xx (server)', err('server', true), false, 'again'],
    ['connect timeout', err('timeout', true, 'connect'), false, 'again'],
    ['silent: first-token timeout', err('timeout', true, 'first_token'), false, 'done'],
    ['stalled: idle timeout', err('timeout', true, 'idle'), true, 'done'],
    ['cut after output started', err('incomplete_stream', true), true, 'done'],
    ['auth', err('auth', false), false, 'done'],
    ['billing', err('billing', false), false, 'done'],
    ['context_length', err('context_length', false), false, 'done'],
    ['cancelled', err('cancelled', false), false, 'stop'],
  ] as const)('%s → %s', (_label, e, started, kind) => {
    expect(failureKind(e, started, 'stop')).toBe(kind);
  });

  it('content_filter stops the chain, or falls over when configured', () => {
    expect(failureKind(err('content_filter', false), false, 'stop')).toBe('stop');
    expect(failureKind(err('content_filter', false), false, 'fallover')).toBe('done');
  });
});

describe('retryDelay', () => {
  it('full jitter without a server hint, exactly the server’s delay with one, nothing past the deadline', () => {
    expect(retryDelay(0, undefined, 10_000, () => 0.5)).toBe(125);
    expect(retryDelay(2, undefined, 10_000, () => 0.5)).toBe(500);
    expect(retryDelay(10, undefined, 10_000, () => 0.999)).toBe(7992); // capped at 8 s
    expect(retryDelay(0, 1000, 10_000, () => 0.5)).toBe(1000);
    expect(retryDelay(0, 30_000, 10_000, () => 0.5)).toBeUndefined();
    expect(retryDelay(0, 1e300, 10_000, () => 0.5)).toBeUndefined();
    expect(retryDelay(0, Infinity, 10_000, () => 0.5)).toBe(125); // not a number a server can mean
  });
});

describe('pickNext: who goes next', () => {
  const s = (state: Slot['state'], readyAt = 0): Slot => ({ state, readyAt });
  it.each([
    ['the next provider not asked yet, before a retry', [s('waiting', 10), s('fresh')], 0, false, 1],
    ['retry_same_first: the one that just failed', [s('waiting', 10), s('fresh')], 0, true, 0],
    ['when all were asked: the waiting one ready first', [s('waiting', 50), s('waiting', 20), s('done')], 1, false, 1],
    ['ties go in chain order', [s('waiting', 20), s('waiting', 20)], 1, false, 0],
    ['nothing left', [s('done'), s('running')], 0, false, -1],
  ] as const)('%s', (_label, slots, last, first, want) => {
    expect(pickNext(slots, last, first)).toBe(want);
  });
});

describe('attemptClocks: hedge and clocks from history, within the configured bounds', () => {
  const configured = { connect: 5000, firstToken: 30_000, idle: 30_000, total: 120_000 };
  const hist = (ttft: number[], gaps: number[] = ttft.map(() => 40)) => ({ name: 'p', ttft_ms: ttft, max_gap_ms: gaps, updated_at: 0 });

  it('without history: the configured first-token clock, 10 s idle, hedge after 3 s (plus the prompt allowance)', () => {
    expect(attemptClocks(configured, undefined, { kind: 'auto' }, 0)).toEqual({ firstTokenMs: 30_000, idleMs: 10_000, hedgeMs: 3000, basis: 'default' });
    expect(attemptClocks(configured, undefined, { kind: 'auto' }, 1000)).toEqual({ firstTokenMs: 31_000, idleMs: 10_000, hedgeMs: 4000, basis: 'default' });
    expect(attemptClocks({ ...configured, idle: 4000 }, undefined, { kind: 'auto' }, 0).idleMs).toBe(4000);
  });

  it('too little history counts as none', () => {
    expect(attemptClocks(configured, hist([100, 100, 100]), { kind: 'auto' }, 0).basis).toBe('default');
  });

  it('a fast provider: hedge at its p95 (at least 300 ms), first token at 3 × p99 (at least 5 s), idle 3 × p99 gap (at least 2 s)', () => {
    const c = attemptClocks(configured, hist([200, 210, 220, 230, 240, 250, 260, 270, 280, 900], [50, 50, 50, 50, 50, 50, 50, 50, 50, 1000]), { kind: 'auto' }, 0);
    expect(c).toEqual({ firstTokenMs: 5000, idleMs: 3000, hedgeMs: 900, basis: 'history' });
  });

  it('a model that thinks silently for ~20 s: hedged late, cut only at the configured ceiling', () => {
    const c = attemptClocks(configured, hist([18_000, 19_000, 20_000, 21_000, 22_000, 19_500, 20_500, 21_500]), { kind: 'auto' }, 0);
    expect(c.hedgeMs).toBe(22_000);
    expect(c.firstTokenMs).toBe(30_000);
  });

  it('a hedge that could not fire before the first-token clock is none; fixed and off override history', () => {
    const slowCeiling = { ...configured, firstToken: 2000 };
    expect(attemptClocks(slowCeiling, undefined, { kind: 'auto' }, 0).hedgeMs).toBeUndefined();
    expect(attemptClocks(configured, hist(Array(10).fill(100)), { kind: 'fixed', ms: 800 }, 0).hedgeMs).toBe(800);
    expect(attemptClocks(configured, hist(Array(10).fill(100)), { kind: 'off' }, 0).hedgeMs).toBeUndefined();
  });

  it('percentile is nearest-rank', () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    const sample = [50, 10, 400, 20, 30];
    expect(percentile(sample, 99)).toBe(400); // numeric order, not the string order a bare sort() gives arrays
    expect(percentile(sample, 50)).toBe(30);
    expect(sample).toEqual([50, 10, 400, 20, 30]); // the caller's sample is untouched
  });
});

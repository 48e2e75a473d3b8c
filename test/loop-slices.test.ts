import { describe, expect, it } from 'vitest';
import { inSlice, sliceTimeout } from '../src/util/loop-slices.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* work held in a slice */
  }
}

/**
 * Waits for the queued slices to have run. The second slice runs a turn after the 20 ms one (setImmediate),
 * after that turn's timers: a 30 ms wait left 10 ms for the loop to get there, and a process descheduled for
 * longer saw its timer fire first (order still empty). Waiting longer only gives the timer under test more
 * time to misfire, so 300 ms is stricter, not looser.
 */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe('slice timers', () => {
  it('a timer that falls due while earlier work waits for its slice runs after that work, and a cancel from that work stops it', async () => {
    const order: string[] = [];
    let cancelled = false;
    const timer = sliceTimeout(() => order.push(cancelled ? 'timer after cancel' : 'timer'), 1);
    // A task longer than a slice, then one that cancels the timer: it waits for the next turn, and the
    // timer falls due before it runs.
    inSlice(() => busy(20));
    inSlice(() => {
      order.push('earlier work');
      timer.cancel();
      cancelled = true;
    });
    await settle();
    expect(order).toEqual(['earlier work']);
  });

  it('a timer nobody cancels runs once, behind the work queued before it fell due', async () => {
    const order: string[] = [];
    sliceTimeout(() => order.push('timer'), 1);
    inSlice(() => busy(20));
    inSlice(() => order.push('earlier work'));
    await settle();
    expect(order).toEqual(['earlier work', 'timer']);
  });
});

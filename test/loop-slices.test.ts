import { describe, expect, it } from 'vitest';
import { inSlice, sliceTimeout } from '../src/util/loop-slices.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* work held in a slice */
  }
}

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
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(order).toEqual(['earlier work']);
  });

  it('a timer nobody cancels runs once, behind the work queued before it fell due', async () => {
    const order: string[] = [];
    sliceTimeout(() => order.push('timer'), 1);
    inSlice(() => busy(20));
    inSlice(() => order.push('earlier work'));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(order).toEqual(['earlier work', 'timer']);
  });
});

import { describe, expect, it } from 'vitest';
import { neighbourRatios } from '../src/perf/interleave.js';

describe('runs taken in turns (npm run perf, request rate)', () => {
  it('compares each measured run with the mean of the reference runs on either side of it', () => {
    // reference 100, 120, 140 (a steady drift); measured 110 and 130 ran at the reference's pace: ratio 1
    expect(neighbourRatios([100, 120, 140], [110, 130])).toEqual([1, 1]);
    expect(neighbourRatios([100, 100], [90])).toEqual([0.9]);
    // a jump between two reference runs is not cancelled: 100 beside a mean of 150
    expect(neighbourRatios([100, 200], [100])[0]).toBeCloseTo(2 / 3, 12);
  });

  it('refuses runs that did not alternate', () => {
    expect(() => neighbourRatios([100, 120], [110, 130])).toThrow(/2 measured runs need 3 reference runs/);
  });
});

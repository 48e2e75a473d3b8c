// Comparing two programs measured in turns on a machine whose speed drifts (npm run perf, request rate).

/**
 * Runs alternate reference, measured, reference, …, reference: `measured[i]` ran between `reference[i]`
 * and `reference[i + 1]`, and is compared with their mean. A steady drift over the three runs cancels out;
 * a jump does not, which is why the caller takes the median of several comparisons.
 */
export function neighbourRatios(reference: number[], measured: number[]): number[] {
  if (reference.length !== measured.length + 1) throw new Error(`neighbourRatios: ${measured.length} measured runs need ${measured.length + 1} reference runs around them, not ${reference.length}`);
  return measured.map((m, i) => m / ((reference[i] + reference[i + 1]) / 2));
}

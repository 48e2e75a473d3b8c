/**
 * Every field of T, present even when undefined: an object literal of this type must name them all, so a
 * copy made field by field (to give V8 one object shape, see bench/runner.ts) cannot silently drop a field
 * added to T later.
 */
export type EveryField<T> = { [K in keyof Required<T>]: T[K] };

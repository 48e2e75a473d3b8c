/** A price read longer ago than this is flagged wherever costs are shown: provider prices change often. */
export const STALE_PRICE_DAYS = 90;
const DAY_MS = 86_400_000;

export interface DatedPrice {
  name: string;
  /** YYYY-MM-DD, or undefined when the config gives no date. */
  pricedAt?: string;
}

/** Whole days from `pricedAt` to `asOf`, or undefined without a readable date. */
export function priceAgeDays(pricedAt: string | undefined, asOf: Date): number | undefined {
  const t = pricedAt ? Date.parse(`${pricedAt}T00:00:00Z`) : NaN;
  return Number.isFinite(t) ? Math.floor((asOf.getTime() - t) / DAY_MS) : undefined;
}

/** One-line notes about prices older than STALE_PRICE_DAYS and prices with no date, for under a table. */
export function priceNotes(prices: DatedPrice[], asOf: Date): string[] {
  const notes: string[] = [];
  const stale = prices
    .map((p) => ({ ...p, age: priceAgeDays(p.pricedAt, asOf) }))
    .filter((p) => p.age !== undefined && p.age > STALE_PRICE_DAYS)
    .map((p) => `${p.name} (${p.pricedAt}, ${p.age} days)`);
  if (stale.length) notes.push(`Prices older than ${STALE_PRICE_DAYS} days: ${stale.join(', ')}; check them and update priced_at in the config.`);
  const undated = prices.filter((p) => !p.pricedAt).map((p) => p.name);
  if (undated.length) notes.push(`Prices with no priced_at date: ${undated.join(', ')}; add the date you read them (YYYY-MM-DD).`);
  return notes;
}

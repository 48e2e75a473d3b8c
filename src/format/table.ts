import Table from 'cli-table3';

/** A borderless-rows table, the one style every command prints. */
export function makeTable(head: string[], align?: ('left' | 'right')[]): Table.Table {
  return new Table({
    head,
    colAligns: align,
    style: { head: [], border: [], 'padding-left': 1, 'padding-right': 1 },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
}

/** USD with as many decimals as the value needs, at least two ($0.006, $0.30, $15.00). */
export function usd(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  let d = 2;
  while (d < 6 && Math.abs(Number(v.toFixed(d)) - v) > 1e-12 * Math.max(1, Math.abs(v))) d++;
  return `${v < 0 ? '-' : ''}$${Math.abs(v).toFixed(d)}`;
}

/** A cost: four significant digits, at least two decimals ($0.001162, $0.5290, $12.35). */
export function usdCost(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  if (v === 0) return '$0.00';
  const abs = Math.abs(v);
  const decimals = Math.max(2, 3 - Math.floor(Math.log10(abs)));
  return `${v < 0 ? '-' : ''}$${abs.toFixed(Math.min(decimals, 10))}`;
}

import { selfCheck } from '../bench/self-check.js';
import { UsageError } from '../errors.js';
import { selfCheckTable } from '../format/self-check.js';

/** `bench --self-check`: how far to trust bench's figures on this machine, level by level. */
export async function selfCheckCommand(opts: { format?: string; quiet?: boolean }): Promise<number> {
  const format = opts.format ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError(`--format ${format}: --self-check prints table or json`);
  if (!opts.quiet) process.stderr.write('bench --self-check: this client against the emulator in its own process, 1 → 1000 concurrent streams, as a default run (no --warmup)…\n');
  const levels = await selfCheck(undefined, (l) => {
    if (!opts.quiet) process.stderr.write(`  ${l.streams} streams: done\n`);
  });
  process.stdout.write(format === 'json' ? `${JSON.stringify({ levels }, null, 2)}\n` : selfCheckTable(levels));
  return 0;
}

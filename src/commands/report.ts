import { readResult } from '../bench/merge.js';
import { htmlReport } from '../report/html.js';
import { checkOutputPaths, writeAtomic } from '../report/write.js';
import { outputFileFlag } from './options.js';

/** Renders a saved result (bench --out, merge --out) as the same HTML report `bench --html` writes. */
export async function reportCommand(file: string, opts: { html: string; quiet?: boolean }): Promise<number> {
  const html = outputFileFlag('--html', opts.html)!;
  // The result given may be the only copy of a run: --html must not name it (nor a link to it).
  checkOutputPaths([{ source: '--html', file: html }], [{ source: 'the result', file }]);
  writeAtomic(html, htmlReport(readResult(file)));
  if (!opts.quiet) process.stderr.write(`HTML report written to ${html}\n`);
  return 0;
}

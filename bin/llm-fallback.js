#!/usr/bin/env node
// Runs the compiled CLI; no TypeScript is compiled at run time.
import('../dist/cli.js')
  .then((cli) => cli.main(process.argv))
  .catch((e) => {
    if (e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/cli.js')) {
      process.stderr.write('llm-fallback: the compiled code is missing; run `npm run build` in the package folder (a clone needs `npm ci && npm run build`)\n');
      process.exit(2);
    }
    throw e;
  });

import { findProvider, loadConfig } from '../config/load.js';
import { FileBreakers } from '../state/breaker.js';
import { FileAnswerCache } from '../state/cache.js';

const warn = (m: string) => process.stderr.write(`llm-fallback: warning: ${m}\n`);

/** Says what really happened: how many records went, none, or that nothing could be changed (exit 1). */
export async function breakerResetCommand(name: string | undefined, configFile: string | undefined): Promise<void> {
  if (name !== undefined) {
    findProvider(loadConfig(configFile), name, 'breaker reset');
  }
  const store = new FileBreakers(undefined, process.env, warn);
  let n: number;
  try {
    n = await store.reset(name);
  } catch (e) {
    throw new Error(`breaker reset: nothing was changed in ${store.file}: ${(e as Error).message}`);
  }
  const what = name ? `the breaker of ${name}` : 'every breaker';
  process.stdout.write(n === 0 ? `${what}: no record in ${store.file}, nothing to reset\n` : `reset ${what} (${n} record${n === 1 ? '' : 's'} cleared in ${store.file})\n`);
}

export async function cacheClearCommand(): Promise<void> {
  const cache = new FileAnswerCache(0, process.env, warn);
  let n: number;
  try {
    n = await cache.clear();
  } catch (e) {
    throw new Error(`cache clear: ${(e as Error).message}`);
  }
  process.stdout.write(`removed ${n} cached answer${n === 1 ? '' : 's'} from ${cache.dir}\n`);
}

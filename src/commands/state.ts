import { findProvider, loadConfig } from '../config/load.js';
import { BreakerStore } from '../state/breaker.js';
import { AnswerCache } from '../state/cache.js';

export async function breakerResetCommand(name: string | undefined, configFile: string | undefined): Promise<void> {
  if (name !== undefined) {
    findProvider(loadConfig(configFile), name, 'breaker reset');
  }
  const store = new BreakerStore(undefined, process.env, (m) => process.stderr.write(`llm-fallback: warning: ${m}\n`));
  const n = store.reset(name);
  process.stdout.write(`${name ? `reset the breaker of ${name}` : 'reset every breaker'} (${n} record${n === 1 ? '' : 's'} cleared in ${store.file})\n`);
}

export async function cacheClearCommand(): Promise<void> {
  const cache = new AnswerCache(0);
  const n = cache.clear();
  process.stdout.write(`removed ${n} cached answer${n === 1 ? '' : 's'} from ${cache.dir}\n`);
}

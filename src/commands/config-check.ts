import { loadConfig } from '../config/load.js';
import { configWarnings } from '../config/warnings.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Validates the config (errors exit 2 through ConfigError) and prints warnings to stderr; warnings do not fail. */
export async function configCheckCommand(file: string | undefined): Promise<void> {
  const cfg = loadConfig(file);
  const warnings = configWarnings(cfg, process.env, new Date());
  for (const w of warnings) process.stderr.write(`${w}\n`);
  const chains = [...cfg.chains.values()].map((c) => `${c.name} (${c.providers.length})`).join(', ');
  const tail = warnings.length ? `; ${plural(warnings.length, 'warning')} above` : '';
  process.stdout.write(`${cfg.file}: ok — ${plural(cfg.providers.size, 'provider')}, chains: ${chains}${tail}\n`);
}

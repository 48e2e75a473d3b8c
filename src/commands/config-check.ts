import { loadConfig } from '../config/load.js';

export async function configCheckCommand(file: string | undefined): Promise<void> {
  const cfg = loadConfig(file);
  const chains = [...cfg.chains.values()].map((c) => `${c.name} (${c.providers.length})`).join(', ');
  process.stdout.write(`${cfg.file}: ok — ${cfg.providers.size} providers, chains: ${chains}\n`);
}

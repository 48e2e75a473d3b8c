import { loadConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { providerRows, providersTable } from '../format/providers.js';
import { FileBreakers } from '../state/breaker.js';

export async function providersCommand(configFile: string | undefined, opts: { format: string; wide?: boolean }): Promise<void> {
  if (opts.format !== 'table' && opts.format !== 'json') throw new UsageError(`--format: "${opts.format}" is not one of table, json`);
  const cfg = loadConfig(configFile);
  const breakers = await new FileBreakers(undefined, process.env, (m: string) => process.stderr.write(`llm-fallback: warning: ${m}\n`)).all();
  const rows = providerRows(cfg, process.env, breakers);
  if (opts.format === 'json') {
    const chains = Object.fromEntries([...cfg.chains.values()].map((c) => [c.name, c.providers]));
    process.stdout.write(`${JSON.stringify({ config: cfg.file, providers: rows, chains, static_message: cfg.staticMessage ?? null }, null, 2)}\n`);
    return;
  }
  process.stdout.write(providersTable(cfg, rows, { wide: opts.wide }));
}

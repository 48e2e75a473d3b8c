import { UsageError } from '../errors.js';
import { loadProfile, type MockProfile } from '../mock/profile.js';
import { startMock, type MockServer } from '../mock/server.js';
import type { RateLimit } from '../mock/rate-budget.js';
import { listenFailure } from './options.js';

export interface MockOptions {
  port?: string;
  host: string;
  profile: string;
  printConfig?: boolean;
}

export async function mockCommand(opts: MockOptions): Promise<void> {
  const port = Number(opts.port ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: "${opts.port}" is not a port number (0-65535)`);
  const profile = loadProfile(opts.profile);
  let server;
  try {
    server = await startMock({ profile, port, host: opts.host });
  } catch (e) {
    throw listenFailure(e, port, opts.host) ?? e;
  }
  // With --print-config stdout carries only the YAML (redirect it to a file); the notes go to stderr.
  const notes = opts.printConfig ? process.stderr : process.stdout;
  notes.write(`llm-fallback mock listening on ${server.url}\n`);
  if (opts.printConfig) {
    process.stdout.write(emulatorConfig(server, profile, opts.profile));
  } else {
    notes.write('base_url for each emulated provider (mock --print-config writes a ready providers.yaml):\n');
    for (const [name, spec] of Object.entries(profile.providers)) {
      notes.write(`  ${name.padEnd(12)} api: ${apiOf(spec.dialect).padEnd(9)} base_url: ${server.baseUrl(name).padEnd(40)} model: ${spec.model}${spec.dialect !== apiOf(spec.dialect) ? `  (${spec.dialect} dialect)` : ''}${budgetNote(spec.rate_limit)}\n`);
    }
  }
  notes.write('Admin: GET /_mock/stats, GET /_mock/providers/{name}/injected, POST /_mock/reset (counters, scripts and faults back to the profile), PUT /_mock/providers/{name}/script|faults. Ctrl-C to stop.\n');
  await new Promise<void>((resolve) => {
    const stop = () => {
      server.close().then(resolve, resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  // Ctrl-C is how a server is stopped: a clean exit, not an interrupted run.
}

/** The config dialect a client uses for an emulated wire dialect. */
const apiOf = (dialect: string) => (dialect === 'anthropic' ? 'anthropic' : 'openai');

/** A providers.yaml pointing at this running emulator: every provider, and a chain of all of them in order. */
export function emulatorConfig(server: MockServer, profile: MockProfile, profileName: string): string {
  const lines = [`# providers.yaml for the llm-fallback emulator at ${server.url} (profile ${profileName}); valid while it runs.`, 'providers:'];
  const keyed: string[] = [];
  for (const [name, spec] of Object.entries(profile.providers)) {
    const keyVar = spec.api_key !== undefined ? `MOCK_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_KEY` : undefined;
    if (keyVar) keyed.push(`${keyVar} (the profile's api_key for ${name})`);
    lines.push(`  ${name}: { api: ${apiOf(spec.dialect)}, base_url: "${server.baseUrl(name)}", model: ${JSON.stringify(spec.model)}${keyVar ? `, api_key_env: ${keyVar}` : ''} }`);
  }
  if (keyed.length) lines.splice(1, 0, `# The emulator checks keys for some providers: export ${keyed.join(', ')}.`);
  lines.push('chains:', `  default: [${Object.keys(profile.providers).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

/** A provider's enforced budget, as the listing shows it ("" without one). */
function budgetNote(limit: RateLimit | undefined): string {
  if (!limit) return '';
  const parts = [];
  if (Number.isFinite(limit.requests_per_minute)) parts.push(`${limit.requests_per_minute.toLocaleString('en-US')} request${limit.requests_per_minute === 1 ? '' : 's'}`);
  if (Number.isFinite(limit.tokens_per_minute)) parts.push(`${limit.tokens_per_minute.toLocaleString('en-US')} tokens`);
  return `  (rate limit: ${parts.join(', ')} a minute)`;
}

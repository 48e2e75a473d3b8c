import { loadConfig, resolveProvider, SHIPPED_CONFIG } from '../config/load.js';
import type { Config, ProviderConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import type { ProviderSettings } from '../providers/index.js';
import { BUILTIN_PROFILES } from './profile.js';
import { startMock, type MockServer } from './server.js';

export interface DemoProvider {
  /** The shipped provider of the same name: its price, context window and clocks. */
  config: ProviderConfig;
  /** Its adapter settings, pointed at the emulator (no key). */
  settings: ProviderSettings;
}

/**
 * `--demo`: the emulator in-process on loopback with the article's four providers, each paired with the
 * shipped providers.yaml entry of the same name, so the demo is priced and timed like the real thing.
 */
export async function startDemo(names: string[], who: string, shipped: Config = loadConfig(SHIPPED_CONFIG), background = false): Promise<{ server: MockServer; providers: DemoProvider[] }> {
  const profile = BUILTIN_PROFILES.demo();
  const wanted = names.length ? names : Object.keys(profile.providers);
  for (const n of wanted) {
    if (!profile.providers[n] || !shipped.providers.has(n)) {
      throw new UsageError(`${who}: "${n}" is not an emulated demo provider; choose from ${Object.keys(profile.providers).join(', ')}`);
    }
  }
  const server = await startMock({ profile, background });
  const providers = wanted.map((name) => {
    const spec = profile.providers[name];
    const config = shipped.providers.get(name)!;
    const settings = resolveProvider({
      ...config,
      api: spec.dialect === 'anthropic' ? 'anthropic' : 'openai',
      baseUrl: server.baseUrl(name),
      model: spec.model,
      apiKeyEnv: undefined,
      headers: {},
      params: {},
    });
    return { config, settings };
  });
  return { server, providers };
}

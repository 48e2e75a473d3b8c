import { UsageError } from '../errors.js';
import { registerSecret } from '../util/redact.js';
import { AnthropicAdapter } from './anthropic.js';
import type { ProviderSettings } from './http-adapter.js';
import { OpenAIAdapter } from './openai.js';
import { isLoopbackHost, PLAIN_HTTP_RULE } from './transport.js';
import type { ProviderAdapter } from './types.js';

export type { ProviderSettings } from './http-adapter.js';

/** Builds the adapter for a provider, refusing to send a key or secret header in clear text to anything but loopback. */
export function createAdapter(settings: ProviderSettings): ProviderAdapter {
  const url = new URL(settings.baseUrl);
  const secrets = [settings.apiKey, ...(settings.secrets ?? [])].filter((s): s is string => Boolean(s));
  for (const s of secrets) registerSecret(s);
  if (secrets.length && url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    const what = settings.apiKey ? 'its API key' : 'its secrets (values expanded from ${VAR} in headers or in the base_url query)';
    throw new UsageError(`provider ${settings.name}: refusing to send ${what} over plain HTTP to ${url.host}; ${PLAIN_HTTP_RULE}`);
  }
  return settings.api === 'anthropic' ? new AnthropicAdapter(settings) : new OpenAIAdapter(settings);
}

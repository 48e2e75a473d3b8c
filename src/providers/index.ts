import { UsageError } from '../errors.js';
import { registerSecret } from '../util/redact.js';
import { AnthropicAdapter } from './anthropic.js';
import type { ProviderSettings } from './http-adapter.js';
import { OpenAIAdapter } from './openai.js';
import { isLoopbackHost } from './transport.js';
import type { ProviderAdapter } from './types.js';

export type { ProviderSettings } from './http-adapter.js';

/** Builds the adapter for a provider, refusing to send a key in clear text to anything but loopback. */
export function createAdapter(settings: ProviderSettings): ProviderAdapter {
  const url = new URL(settings.baseUrl);
  if (settings.apiKey) {
    registerSecret(settings.apiKey);
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      throw new UsageError(
        `provider ${settings.name}: refusing to send its API key over plain HTTP to ${url.host}; use an https:// base_url (plain http is allowed only for 127.0.0.1, localhost and ::1)`,
      );
    }
  }
  return settings.api === 'anthropic' ? new AnthropicAdapter(settings) : new OpenAIAdapter(settings);
}

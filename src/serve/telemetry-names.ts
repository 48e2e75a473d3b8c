import type { Attempt } from '../chain/events.js';

/*
 * Names shared by the Prometheus metrics and the OTLP spans, after the OpenTelemetry GenAI semantic
 * conventions (open-telemetry/semantic-conventions-genai, Development status as of 2026-11). Every
 * chain call is a `chat` operation; each attempt is a GenAI client call to one provider.
 */

/** gen_ai.operation.name for everything the gateway does (a chat completion, whatever the client dialect). */
export const GEN_AI_OPERATION = 'chat';

/**
 * Our provider names whose gen_ai.provider.name has a well-known value of its own. The conventions say a
 * well-known value MUST be used where one applies; any other name (holysheep, openrouter, ollama, a
 * user's own) is passed through as a custom value.
 */
const WELL_KNOWN_PROVIDER = new Map([
  ['kimi', 'moonshot_ai'],
  ['moonshot', 'moonshot_ai'],
  ['gemini', 'gcp.gemini'],
  ['vertex', 'gcp.vertex_ai'],
  ['mistral', 'mistral_ai'],
  ['xai', 'x_ai'],
  ['grok', 'x_ai'],
  ['bedrock', 'aws.bedrock'],
  ['azure', 'azure.ai.openai'],
  ['watsonx', 'ibm.watsonx.ai'],
]);

/**
 * gen_ai.provider.name of a gateway call no provider answered now: a cached answer, the static message,
 * or none at all. The attribute is Required on the GenAI spans and metrics, and the conventions give no
 * value for "no provider" (gcp.gen_ai's "backend unknown" is Google's only); they say to set it to "the
 * provider as identified by the client or server instrumentation" by its best knowledge, and allow a
 * custom value. What answered such a call is the gateway itself: llm_fallback (its own attribute prefix).
 */
export const GATEWAY_PROVIDER = 'llm_fallback';

/** gen_ai.provider.name for one of our provider names (the config's key). A Map, so a provider named "constructor" stays itself. */
export function genAiProviderName(provider: string): string {
  return WELL_KNOWN_PROVIDER.get(provider) ?? provider;
}

/** error.type's fallback value in the conventions, for a failure that carries no class of its own. */
export const OTHER_ERROR = '_OTHER';

/** error.type of an attempt: our error class (a short, fixed vocabulary), or '' for a success. */
export function attemptErrorType(a: Attempt): string {
  return a.decision === 'success' ? '' : (a.error_class ?? OTHER_ERROR);
}

/** The attempt never reached the provider (breaker open, prompt too long for its window). */
export function skipped(a: Attempt): boolean {
  return a.decision === 'skipped_breaker_open' || a.decision === 'skipped_context_window';
}

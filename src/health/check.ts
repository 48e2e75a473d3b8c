import type { Price } from '../config/types.js';
import { costOf } from '../cost/usage-cost.js';
import { REASONING_BUDGET_SPENT } from '../providers/answer.js';
import { blamesProvider, ProviderError } from '../providers/errors.js';
import { foldStream, StreamFold } from '../providers/fold.js';
import type { ProviderAdapter } from '../providers/types.js';
import { withoutName } from '../format/table.js';
import { listedAs, nearestListed } from './model-list.js';
import { now } from '../util/clock.js';
import { serverText } from '../util/redact.js';
import { roundMs as round } from '../util/time.js';

export interface HealthTarget {
  name: string;
  model: string;
  adapter: ProviderAdapter;
  price?: Price;
  required: boolean;
  breakerKey: string;
}

export interface HealthResult {
  name: string;
  model: string;
  required: boolean;
  healthy: boolean;
  /** Not checked: its API key variable is not set (forked pull requests get no secrets). */
  skipped: boolean;
  mode: 'deep' | 'shallow';
  status: number | null;
  error_class: string | null;
  error_detail: string | null;
  error_message: string | null;
  latency_ms: number;
  ttft_ms: number | null;
  /** The model the server says answered (deep checks). */
  served_model: string | null;
  /** The config gives the provider a price. */
  priced: boolean;
  /** What the check cost; null for a deep check of a provider without a price: tokens were spent at an unknown price, not for free. */
  cost_usd: number | null;
  checked_at: string;
}

/** The deep check: one small real completion, streamed so that time to first token is measured. */
const PROBE = [{ role: 'user' as const, content: 'Reply with the single word OK.' }];
const PROBE_MAX_TOKENS = 8;

/** A check's result, and whether its failure moves the provider's breaker (see blamesProvider: not when our proxy failed). */
export async function probe(t: HealthTarget, mode: 'deep' | 'shallow', timeoutMs: number, signal?: AbortSignal): Promise<{ result: HealthResult; blamesProvider: boolean }> {
  const { result, error } = await run(t, mode, timeoutMs, signal);
  return { result, blamesProvider: !result.healthy && error !== undefined && blamesProvider(error) };
}

async function run(t: HealthTarget, mode: 'deep' | 'shallow', timeoutMs: number, signal?: AbortSignal): Promise<{ result: HealthResult; error?: ProviderError }> {
  const base = { name: t.name, model: t.model, required: t.required, skipped: false, mode, priced: t.price !== undefined, checked_at: new Date().toISOString() };
  const t0 = now();
  if (mode === 'shallow') {
    try {
      const m = await t.adapter.listModels(timeoutMs, signal);
      const missing = notListed(t, m.models);
      if (missing) return { result: { ...base, healthy: false, status: null, error_class: missing.errorClass, error_detail: missing.detail, error_message: missing.message, latency_ms: round(m.latencyMs), ttft_ms: null, served_model: null, cost_usd: 0 }, error: missing };
      return { result: { ...base, healthy: true, status: m.status, error_class: null, error_detail: null, error_message: null, latency_ms: round(m.latencyMs), ttft_ms: null, served_model: null, cost_usd: 0 } };
    } catch (e) {
      const err = noModelList(t.name, e instanceof ProviderError ? e : new ProviderError({ errorClass: 'network', provider: t.name, message: String(e) }));
      return { result: { ...base, healthy: false, status: err.status ?? null, error_class: err.errorClass, error_detail: err.detail, error_message: err.message, latency_ms: round(now() - t0), ttft_ms: null, served_model: null, cost_usd: 0 }, error: err };
    }
  }
  const f = await foldStream(t.adapter, { messages: PROBE, maxTokens: PROBE_MAX_TOKENS, stream: true, signal, timeouts: { totalMs: timeoutMs } }, new StreamFold());
  // The probe's few tokens all went to thinking: the model is serving, so it is healthy, whether it streamed
  // its thoughts or only counted them in its usage (OpenAI's reasoning models never return the text: the
  // recorded gpt-5.6-luna answer to 16 max tokens is no text, finish "length", 16 reasoning_tokens). An
  // empty answer with no reasoning at all is not healthy.
  const thinking = f.error?.providerCode === REASONING_BUDGET_SPENT;
  const e = thinking ? undefined : f.error;
  const result: HealthResult = {
    ...base,
    healthy: f.ok || thinking,
    status: e?.status ?? f.status ?? null,
    error_class: e?.errorClass ?? null,
    error_detail: e?.detail ?? null,
    error_message: e?.message ?? null,
    latency_ms: round((f.endAt ?? t0) - t0),
    ttft_ms: f.firstTokenAt !== undefined ? round(f.firstTokenAt - t0) : null,
    served_model: f.servedModel ?? null,
    cost_usd: !t.price ? null : f.usage ? costOf(f.usage, t.price) : 0,
  };
  return { result, error: e };
}

/**
 * The shallow check's verdict on the model: a list answered 200 but a model it does not name fails every
 * real call (a typo, a retired model), so that is a failure here too, with the nearest listed ids. A list
 * naming no model at all is not a model list (a base_url aimed at another API). Neither is the provider's
 * health, so neither moves its breaker: the first is a bad_request, as the chat call's 404 would be.
 */
function notListed(t: HealthTarget, ids: string[]): ProviderError | undefined {
  if (ids.length === 0) {
    return new ProviderError({ errorClass: 'bad_request', provider: t.name, retryable: false, message: `${t.name}: its model list (GET /models) names no model, so --shallow cannot check ${t.model}: a list is {"data":[{"id":...}]}; check that base_url is the OpenAI-compatible (or Anthropic) API's, or check ${t.name} without --shallow` });
  }
  if (listedAs(t.model, ids) !== undefined) return undefined;
  return new ProviderError({
    errorClass: 'bad_request',
    provider: t.name,
    retryable: false,
    providerCode: 'model_not_found',
    message: `${t.name}: model "${t.model}" is not in its model list (GET /models, ${ids.length} model${ids.length === 1 ? '' : 's'}), so every call to it would fail; closest listed: ${nearestListed(t.model, ids).map((id) => serverText(id, 100)).join(', ')}; set ${t.name}'s model in providers.yaml to a listed one`,
  });
}

/**
 * A 404 to GET {base_url}/models: nothing lists models there. Some providers have no model list at all
 * (MiniMax answers "404 page not found", MiniMax-AI/MiniMax-M2.5#19), so this is not an outage, and the
 * message says so and what to do instead of a bare "HTTP 404" that reads like one.
 */
function noModelList(name: string, err: ProviderError): ProviderError {
  if (err.status !== 404 || err.errorClass !== 'bad_request') return err;
  const said = err.message.startsWith(`${name}: `) ? err.message.slice(name.length + 2) : err.message;
  const message = `${name}: no model list at its base_url (GET /models answered ${said}), so --shallow cannot check it; some providers have none (MiniMax); check ${name} without --shallow, or correct its base_url`;
  return new ProviderError({ errorClass: err.errorClass, provider: name, status: err.status, headers: err.headers, retryable: false, providerCode: err.providerCode, message });
}

/** A provider left out because its key is not set: a failure only if it is required, and then `fix` says how to put that right. */
export function keylessResult(name: string, model: string, required: boolean, priced: boolean, keyVar: string, mode: 'deep' | 'shallow', fix?: string): HealthResult {
  return {
    name,
    model,
    required,
    healthy: false,
    skipped: true,
    mode,
    status: null,
    error_class: null,
    error_detail: 'no_key',
    error_message: fix ? `${keyVar} is not set; ${fix}` : `${keyVar} is not set`,
    latency_ms: 0,
    ttft_ms: null,
    served_model: null,
    priced,
    cost_usd: 0,
    checked_at: new Date().toISOString(),
  };
}

export interface ChainHealth {
  name: string;
  providers: string[];
  healthy: boolean;
}

export interface HealthReport {
  checked_at: string;
  mode: 'deep' | 'shallow';
  providers: HealthResult[];
  chains: ChainHealth[];
  /** Every required provider and every named chain is healthy. */
  ok: boolean;
  failures: string[];
}

/** Pure: the verdict. A chain is healthy when at least one of its providers is. */
export function verdict(results: HealthResult[], chains: { name: string; providers: string[] }[], mode: 'deep' | 'shallow'): HealthReport {
  const by = new Map(results.map((r) => [r.name, r]));
  const chainHealth = chains.map((c) => ({ name: c.name, providers: c.providers, healthy: c.providers.some((p) => by.get(p)?.healthy) }));
  const failures: string[] = [];
  for (const r of results) {
    if (r.required && r.skipped) failures.push(`${r.name}: required, but not checked: ${r.error_message}`);
    else if (r.required && !r.healthy) failures.push(`${r.name}: ${r.error_detail ?? 'unhealthy'}${r.status ? ` (HTTP ${r.status})` : ''}: ${withoutName(r.name, r.error_message ?? '', r.status)}`);
  }
  for (const c of chainHealth) {
    if (c.healthy) continue;
    const keyless = c.providers.every((p) => by.get(p)?.skipped);
    failures.push(keyless ? `chain ${c.name}: no member has its API key set (${c.providers.map((p) => by.get(p)?.error_message).join('; ')})` : `chain ${c.name}: none of ${c.providers.join(', ')} is healthy`);
  }
  return { checked_at: new Date().toISOString(), mode, providers: results, chains: chainHealth, ok: failures.length === 0, failures };
}

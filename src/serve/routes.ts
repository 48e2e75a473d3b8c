/**
 * What a router exposes through the gateway: each chain and provider it can open (its key set, or the
 * demo), the ones it cannot with why, and whether each chain can answer now (readiness).
 */
import type { Route, Router } from '../router.js';
import { UsageError } from '../errors.js';

export interface Exposure {
  /** Routes a request may name, opened. */
  served: Route[];
  /** Routes not served: no provider of them has its key. */
  unserved: { name: string; kind: 'chain' | 'provider'; reason: string }[];
}

export function expose(router: Router): Exposure {
  const served: Route[] = [];
  const unserved: Exposure['unserved'] = [];
  for (const info of router.routes()) {
    try {
      served.push(router.route(info.name, info.kind, 'serve'));
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      unserved.push({ name: info.name, kind: info.kind, reason: e.message.replace(/^serve: /, '') });
    }
  }
  return { served, unserved };
}

/**
 * Chains that cannot answer now: every provider's breaker open. With no chain served, the gateway is
 * ready when some served provider is admitted.
 */
export function notReady(router: Router, exposure: Exposure, nowMs = Date.now()): string[] {
  const admitted = (r: Route) => r.providers.some((p) => router.breakers.admit(p.breakerKey, p.name, nowMs).allowed);
  const chains = exposure.served.filter((r) => r.kind === 'chain');
  if (chains.length) return chains.filter((r) => !admitted(r)).map((r) => `chain "${r.name}": every provider's circuit breaker is open (${r.providers.map((p) => p.name).join(', ')})`);
  return exposure.served.some(admitted) ? [] : ['every provider\'s circuit breaker is open'];
}

/** One route as a model, in the dialect that asked: OpenAI's `Model` (with what it falls over through), or Anthropic's `ModelInfo`. */
function modelEntry(r: Exposure['served'][number], created: number, dialect: 'openai' | 'anthropic'): Record<string, unknown> {
  if (dialect === 'anthropic') return { type: 'model', id: r.name, display_name: r.name, created_at: new Date(created * 1000).toISOString() };
  return {
    id: r.name,
    object: 'model',
    created,
    owned_by: 'llm-fallback',
    kind: r.kind,
    providers: r.providers.map((p) => ({ name: p.name, model: p.model })),
    ...(r.leftOut.length ? { left_out: r.leftOut } : {}),
  };
}

/**
 * The routes as a model list, in the shape each SDK's `models.list()` reads: OpenAI's `{ object: "list", data }`,
 * or Anthropic's page `{ data, has_more, first_id, last_id }` (one page: the routes are few).
 */
export function modelList(exposure: Exposure, created: number, dialect: 'openai' | 'anthropic' = 'openai'): Record<string, unknown> {
  const data = exposure.served.map((r) => modelEntry(r, created, dialect));
  if (dialect === 'anthropic') return { data, has_more: false, first_id: exposure.served[0]?.name ?? null, last_id: exposure.served.at(-1)?.name ?? null };
  return { object: 'list', data };
}

/** One route as `models.retrieve(id)` reads it, or undefined when the gateway serves no such route. */
export function modelInfo(exposure: Exposure, created: number, id: string, dialect: 'openai' | 'anthropic'): Record<string, unknown> | undefined {
  const r = exposure.served.find((x) => x.name === id);
  return r && modelEntry(r, created, dialect);
}

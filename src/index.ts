/**
 * The library: the same fallback chain as `llm-fallback ask` and `serve`, in your own process.
 *
 *   import { createRouter } from 'llm-fallback';
 *   const router = await createRouter({ config: 'providers.yaml' });
 *   const answer = await router.chat({ model: 'default', messages: [{ role: 'user', content: 'Hi' }] });
 *
 * Only the chain core is loaded from here: not the CLI, not its argument parser, not the emulator
 * (unless `demo: true` asks for it).
 */
export { createRouter, Router } from './router.js';
export type { BreakerView, CallRequest, Route, RouteInfo, RouterOptions } from './router.js';
export type { Attempt, ChainErrorClass, ChainEvent, ChainResult, Decision, LiveSink } from './chain/events.js';
export type { ChatMessage, FinishReason, Reasoning, ReasoningEffort, Sampling, Usage } from './providers/types.js';
export type { ProviderHandle } from './providers/handle.js';
export type { Config, ChainConfig, ProviderConfig, Price } from './config/types.js';
export { ProviderError, ERROR_CLASSES, type ErrorClass, type TimeoutPhase } from './providers/errors.js';
export { ConfigError, RefusedFieldError, UsageError } from './errors.js';
export { MemoryBreakers, type Breakers, type BreakerPolicy } from './state/breaker.js';
export { MemoryAnswerCache, type AnswerCache, type CachedAnswer } from './state/cache.js';
export { MemoryLatencyHistory, type LatencyHistory } from './state/latency.js';
export { openStores, type OpenStoresOptions, type StateStores } from './state/stores.js';

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
export type { ChatMessage, FinishReason, Reasoning, ReasoningEffort, Sampling, SentSettings, Usage } from './providers/types.js';
export type { ProviderHandle, ServerAddress } from './providers/handle.js';
export type { ThinkingForm } from './providers/reasoning.js';
export type { ThinkTags } from './providers/think-tags.js';
export type { AskDefaults, Config, ChainConfig, ProviderConfig, Price, ServeConfig, StreamCommit, TimeoutsMs } from './config/types.js';
export { ProviderError, ERROR_CLASSES, type ErrorClass, type ProviderErrorInit, type TimeoutPhase } from './providers/errors.js';
export { ConfigError, RefusedFieldError, UsageError } from './errors.js';
export { MemoryBreakers, type Admission, type BreakerPolicy, type BreakerRecord, type Breakers, type BreakerState } from './state/breaker.js';
export { MemoryAnswerCache, type AnswerCache, type CachedAnswer } from './state/cache.js';
export { MemoryLatencyHistory, type LatencyHistory, type LatencySample, type LatencySamples } from './state/latency.js';
export { openStores, type OpenStoresOptions, type StateStores } from './state/stores.js';

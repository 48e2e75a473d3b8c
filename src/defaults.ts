/**
 * Every default a user can see and every exit code, stated once. Help texts, the config loader, the
 * commands, the gateway and the library read them from here, so a default cannot say one thing in
 * --help and do another. (The chain's internal tuning lives in chain/policy.ts CHAIN_DEFAULTS.)
 */
import type { TimeoutsMs } from './config/types.js';

/** Process exit codes shared by every command; a signal's is 128 + its number, as shells report it. */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130, terminated: 143 } as const;

/** `ask` also tells a live answer from a fallback tier, so scripts can. */
export const ASK_EXIT = { live: EXIT.ok, none: EXIT.failure, usage: EXIT.usage, cache: 3, static: 4, interrupted: EXIT.interrupted } as const;

/** Per-attempt clocks of a provider that sets none (providers.yaml `defaults.timeouts` overrides them). */
export const DEFAULT_TIMEOUTS: TimeoutsMs = { connect: 5_000, firstToken: 30_000, idle: 30_000, total: 120_000 };

/** providers.yaml `defaults:` when the file says nothing. */
export const CONFIG_DEFAULTS = {
  /** Retries of one provider for fast failures, taken when it is the last live option. */
  retries: 2,
  /** Consecutive failures that open a provider's breaker, and how long it stays open before one probe. */
  breakerFailures: 3,
  breakerCooldownMs: 30_000,
  /** How long a good answer stays in the answer cache. */
  cacheTtlMs: 24 * 3_600_000,
} as const;

/** One call through a chain (ask, serve, the library). */
export const CALL_DEFAULTS = {
  /** One deadline for the whole call, every retry and fallback included. */
  deadlineMs: 120_000,
  /** Long prompts get a longer first-token clock: +1 s per 10,000 prompt tokens. */
  firstTokenMsPerPromptToken: 0.1,
  /** A half-open probe that never reports back frees the breaker after at least this long. */
  minProbeTimeoutMs: 10_000,
  onContentFilter: 'stop',
} as const;

/** `serve`, the gateway (providers.yaml `serve:` and the flags override them). */
export const SERVE_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  state: 'memory',
  maxBodyBytes: 4 * 1024 * 1024,
  maxConcurrentPerClient: 64,
  /** A stream is held back until this many tokens came or this long passed since its first token. */
  streamCommit: { tokens: 20, ms: 1_000 },
  shutdownGraceMs: 30_000,
  /** Slow clients: the whole request (headers and body) must arrive within this long. */
  requestReceiveMs: 30_000,
  headersReceiveMs: 10_000,
  /** An idle keep-alive connection is closed after this long: longer than common load balancers' 60 s idle timeout, so they close first. */
  keepAliveMs: 65_000,
  /** Open connections in total; past it new ones are closed at once. */
  maxConnections: 4_096,
  /**
   * A streamed answer its client stopped reading: once more than maxUnreadBytes of it wait in the gateway (past
   * what the socket buffers took) for unreadMs without draining, the stream is dropped and its chain call
   * cancelled, so a client that never reads holds neither an unbounded buffer nor a provider's stream.
   */
  maxUnreadBytes: 256 * 1024,
  unreadMs: 10_000,
} as const;

/** `health`. */
export const HEALTH_DEFAULTS = { timeoutMs: 20_000, probeTimeoutMs: 60_000 } as const;

/** `bench`. */
export const BENCH_DEFAULTS = {
  requests: 20,
  concurrency: 1,
  demoRequests: 24,
  demoConcurrency: 4,
  /** Open loop: cap on requests in flight per provider. */
  maxInflight: 10_000,
  /**
   * Worker threads sharing the load: one unless asked (--workers N), since on a small machine a thread
   * more only competes with the provider or emulator for the same cores. `--workers auto` = cores − 1,
   * at most the concurrency (closed loop) and the requests (-n), at least 1.
   */
  workers: 1,
} as const;

/** `bench --sweep`, the capacity search (its resolution and step limit: bench/sweep.ts). */
export const SWEEP_DEFAULTS = {
  attainment: '95%',
  stepDuration: '5s',
  startRate: 1,
  startConcurrency: 1,
  /** Per provider, over the whole search. */
  maxRequests: 10_000,
  /** Requests sent before each provider's first step and left out. */
  warmup: 5,
} as const;

/**
 * `serve`'s telemetry: /metrics and OTLP traces. Histogram bounds (s) are the ones the OpenTelemetry GenAI
 * conventions recommend for operation duration and time to first chunk; the series cap is the OpenTelemetry
 * SDK's default cardinality limit; the OTLP figures are its batch span processor's and exporter's defaults.
 */
export const TELEMETRY_DEFAULTS = {
  latencyBucketsS: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
  ttftBucketsS: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
  /** Label sets per metric before new ones fold into one `otel_metric_overflow="true"` series. */
  maxSeriesPerMetric: 2000,
  otlp: { serviceName: 'llm-fallback', maxBatch: 512, maxQueue: 2048, flushIntervalMs: 5_000, timeoutMs: 10_000, retries: 3, retryBaseMs: 1_000, maxRetryWaitMs: 30_000 },
} as const;

// A library user's TypeScript program — hand-written for test/package.test.ts, which compiles it in strict mode
// against the packed and installed package (moduleResolution nodenext and bundler) and runs it against the
// emulator started from the installed package's bin. It names the exported types as a user would: a type
// that is not exported, an `any`, or a declaration that does not resolve makes it fail to compile.
// (Not in tsconfig.tests.json: here 'llm-fallback' is the installed tarball, not this clone.)
//
//   node library-consumer.js <providers.yaml>
import {
  ConfigError, createRouter, ERROR_CLASSES, MemoryAnswerCache, MemoryBreakers, MemoryLatencyHistory, openStores, ProviderError, RefusedFieldError, Router, UsageError,
  type Admission, type Attempt, type Breakers, type CallRequest, type ChainErrorClass, type ChainEvent, type ChainResult, type ChatMessage, type Config,
  type ErrorClass, type LatencyHistory, type LatencySample, type LatencySamples, type SentSettings, type ServerAddress,
} from 'llm-fallback';

// Every class a result's error can carry, handled: a class added to the package makes this switch fail to compile.
function advice(c: ChainErrorClass): string {
  switch (c) {
    case 'auth': case 'billing': case 'bad_request': case 'context_length': case 'content_filter': case 'empty_response': return 'fix';
    case 'rate_limit': case 'overloaded': case 'server': case 'timeout': case 'network': case 'malformed_response': case 'incomplete_stream': return 'retry';
    case 'cancelled': return 'stopped';
    case 'unavailable': return 'skipped';
    default: { const unhandled: never = c; return unhandled; }
  }
}
const classes: readonly ErrorClass[] = ERROR_CLASSES;

// Every event of a stream, handled.
function show(e: ChainEvent): string {
  switch (e.type) {
    case 'attempt_start': return `start ${e.provider}`;
    case 'token': return 'token';
    case 'attempt_end': return 'end';
    case 'restart': return `restart ${e.failed} ${e.error instanceof ProviderError ? `${e.error.provider} ${e.error.status} ${e.error.isRetryable}` : ''}`;
    case 'tier': return `tier ${e.tier}`;
    case 'answer': return `answer ${e.result.source}`;
    default: { const unhandled: never = e; return unhandled; }
  }
}

// Stores of one's own, as `stores` takes them: the interfaces, and what their methods take and return, are all nameable.
class CountingBreakers implements Breakers {
  private readonly inner = new MemoryBreakers();
  admitted = 0;
  load(deadline?: number): Promise<void> { return this.inner.load(deadline); }
  admit(key: string, name: string, nowMs?: number): Admission { this.admitted++; return this.inner.admit(key, name, nowMs); }
  claimProbe(key: string, name: string, nowMs?: number): Promise<boolean> { return this.inner.claimProbe(key, name, nowMs); }
  success(key: string, name: string, nowMs?: number): Promise<void> { return this.inner.success(key, name, nowMs); }
  failure(key: string, name: string, errorClass: string, retryAfterMs: number | undefined, nowMs?: number): Promise<void> { return this.inner.failure(key, name, errorClass, retryAfterMs, nowMs); }
}
class CountingHistory implements LatencyHistory {
  private readonly inner = new MemoryLatencyHistory();
  added = 0;
  load(deadline?: number): Promise<void> { return this.inner.load(deadline); }
  get(key: string): LatencySamples | undefined { return this.inner.get(key); }
  add(key: string, name: string, sample: LatencySample): void { this.added++; this.inner.add(key, name, sample); }
  flush(): Promise<void> { return this.inner.flush(); }
}

// What an attempt says about its request and its server (ChainResult.attempts[]).
function describeAttempt(a: Attempt): string {
  const sent: SentSettings | undefined = a.request;
  const server: ServerAddress | undefined = a.server;
  return `${a.provider} ${a.decision} ${a.error_class === null ? '-' : advice(a.error_class)} max_tokens=${sent?.max_tokens} ${server?.address}`;
}

const configFile = process.argv[2];
if (!configFile) throw new Error('usage: node library-consumer.js <providers.yaml>');
const breakers = new CountingBreakers();
const history = new CountingHistory();
const router: Router = await createRouter({ config: configFile, stores: { breakers, history, cache: new MemoryAnswerCache(60_000) } });
const config: Config = router.config;
const messages: ChatMessage[] = [{ role: 'user', content: 'Hello' }];
const request: CallRequest = { model: 'default', messages, maxTokens: 8 };

const answer: ChainResult = await router.chat(request);
await router.settled();
console.log(`chat: ${answer.source} ${answer.provider} [${answer.attempts.map(describeAttempt).join('; ')}]`);
console.log(`stores: admitted ${breakers.admitted}, latency samples ${history.added > 0}; ${config.providers.size} providers, routes ${router.routes().length}`);

const shown: string[] = [];
for await (const e of router.stream({ ...request, cache: false })) if (!shown.includes(show(e))) shown.push(show(e));
console.log(`stream: ${shown.join(', ')}`);

// What the package throws is the class it exports (one module, one class), with the field it names.
try { await router.chat({ model: 'holysheep', messages, sampling: { topK: 40 } }); console.log('refused: nothing thrown'); }
catch (err) { console.log(`refused: ${err instanceof RefusedFieldError && err instanceof UsageError ? err.field : `not a RefusedFieldError: ${String(err)}`}`); }
try { await router.chat({ model: 'no-such-route', messages }); console.log('unknown route: nothing thrown'); }
catch (err) { console.log(`unknown route: ${err instanceof UsageError}`); }
try { await createRouter({ config: 'no-such-file.yaml' }); console.log('missing config: nothing thrown'); }
catch (err) { console.log(`missing config: ${err instanceof ConfigError ? err.problems.length : String(err)}`); }

// The README's shared-state example (Library section), as written there.
const stores = await openStores({ url: 'file', breaker: { failures: 3, cooldownMs: 30_000, probeTimeoutMs: 120_000 }, cacheTtlMs: 86_400_000 });
console.log(`openStores: ${stores.describe.split(' ')[0]}`);
await stores.close();
await router.close();
console.log(`error classes: ${classes.length}`);

// Misuse the types must refuse. An unneeded @ts-expect-error is itself an error, so these also prove the
// request's type is not `any`. Never called.
export function misuse(): void {
  // @ts-expect-error a role no provider has
  void router.chat({ messages: [{ role: 'robot', content: 'x' }] });
  // @ts-expect-error maxTokens is a number
  void router.chat({ messages, maxTokens: '30' });
}

import { getEventListeners } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { FallbackChain } from '../src/chain/chain.js';
import type { ChainProvider } from '../src/chain/events.js';
import { probe } from '../src/health/check.js';
import { foldStream, StreamFold } from '../src/providers/fold.js';
import type { ProviderAdapter } from '../src/providers/types.js';
import type { RequestRecord } from '../src/bench/measure.js';
import { runBench } from './bench-helpers.js';
import { dataObjects, decodedText, FIXTURES, recordedText, recordingAdapter, wireBody, type WireFixture } from './wire-fixtures.js';

// The shared stream fold, driven by real recordings (test/fixtures/wire) read by the real adapters over
// loopback. The server writes one SSE event per TCP write and holds the first event that carries answer
// text until the test lets it go, so a recording of a model that thinks first arrives the way it did:
// reasoning, a pause, then the answer. Expected texts come from the recording (decodedText), never from
// the adapter.

/** A recorded body cut into its SSE events, each with its blank-line terminator. */
function sseEvents(body: Buffer): Buffer[] {
  return body
    .toString('utf8')
    .split(/(?<=\r?\n\r?\n)/)
    .filter((s) => s.length > 0)
    .map((s) => Buffer.from(s));
}

/**
 * Index of the event at which answer text first appears: the recording read up to and including it. Read whole,
 * not event by event, because whether text is answer or thinking depends on what came before (a </think> in an
 * earlier event, the opening <think> that a think_tags: open template never sends).
 */
function firstContentEvent(f: WireFixture, events: Buffer[]): number {
  const i = events.findIndex((_, n) => decodedText(f, Buffer.concat(events.slice(0, n + 1))).content.length > 0);
  if (i < 0) throw new Error(`${f.file}: no answer text`);
  return i;
}

interface Route {
  fixture: WireFixture;
  events: Buffer[];
  /** The first event with answer text: awaited `beforeContent` before it is written. */
  hold: number;
  beforeContent: () => Promise<void>;
}

const routes = new Map<string, Route>();
const httpServer = createServer((req, res) => {
  req.resume();
  req.on('end', async () => {
    const route = routes.get(decodeURIComponent((req.url ?? '').split('/')[1] ?? ''));
    if (!route) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no such route"}}');
      return;
    }
    const f = route.fixture;
    req.socket.setNoDelay(true);
    if (f.kind === 'error') {
      res.writeHead(f.status ?? 500, { 'content-type': 'application/json' }).end(wireBody(f));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const { events, hold } = route;
    for (let i = 0; i < events.length; i++) {
      if (i === hold) await route.beforeContent();
      if (res.destroyed) return;
      res.write(events[i]);
      await sleep(1);
    }
    res.end();
  });
});
await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
afterAll(
  () =>
    new Promise<void>((resolve) => {
      httpServer.closeAllConnections();
      httpServer.close(() => resolve());
    }),
);
const port = (httpServer.address() as AddressInfo).port;

let routeCount = 0;
/** Serves `fixture` under a fresh name; returns the adapter the commands would build for it. */
function serve(fixture: WireFixture, beforeContent: () => Promise<void> = async () => {}): ProviderAdapter {
  const name = `r${++routeCount}`;
  const events = fixture.kind === 'stream' ? sseEvents(wireBody(fixture)) : [];
  routes.set(name, { fixture, events, hold: fixture.kind === 'stream' ? firstContentEvent(fixture, events) : -1, beforeContent });
  const adapter = recordingAdapter(fixture, `http://127.0.0.1:${port}/${name}`);
  afterAll(() => adapter.close());
  return adapter;
}

const fixture = (file: string) => FIXTURES.find((f) => f.file === file)!;
const req = { messages: [{ role: 'user' as const, content: 'replay' }], stream: true };
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
/** The pause the server makes between the last reasoning and the first answer text. */
const PAUSE_MS = 25;

// Each has an answer after its thinking (a tool call's thinking, minimax/supervisor-proxy-m27-tool-calls, has none).
const THINKING = FIXTURES.filter((f) => f.kind === 'stream' && f.expect.finish && !f.handwritten && recordedText(f).reasoning.length > 0 && recordedText(f).content.length > 0);

it('the recordings of models that think first are all here (the tests below run on them)', () => {
  expect(THINKING.map((f) => f.file)).toEqual(expect.arrayContaining(['deepseek/vercel-deepseek-reasoning.chunks.txt', 'anthropic/vercel-anthropic-thinking.chunks.txt', 'minimax/gomodel-m27-reasoning-split.sse', 'xai/vercel-xai-grok-3-mini.chunks.txt']));
});

describe.each(THINKING)('the fold of recorded reasoning stream $file', (f) => {
  it('first token = the first reasoning delta, seen while the answer is still held back; first content later; figures add up', async () => {
    let open!: () => void;
    const firstTokenSeen = new Promise<void>((resolve) => (open = resolve));
    const adapter = serve(f, async () => {
      // The answer is written only once the client has folded the first reasoning token: the hook
      // fires while the stream runs, not at its end (bounded, so a fold that misses it fails below).
      await Promise.race([firstTokenSeen, sleep(3000)]);
      await sleep(PAUSE_MS);
    });
    const atHook = { t: -1, contentChars: -1, reasoningChars: -1 };
    const pieces: string[] = [];
    const fold = new StreamFold({
      keepContent: true,
      keepGaps: true,
      onFirstToken: (t) => {
        Object.assign(atHook, { t, contentChars: fold.contentChars, reasoningChars: fold.reasoningChars });
        open();
      },
      onContent: (text) => pieces.push(text),
    });
    await foldStream(adapter, req, fold);

    const recorded = recordedText(f);
    expect(fold.error?.message).toBeUndefined();
    expect(fold.ok).toBe(true);
    expect(fold.finish).toBe(f.expect.finish);
    if (f.expect.usage) expect(fold.usage).toEqual(f.expect.usage);
    expect(fold.status).toBe(200);
    expect(fold.requestsSent).toBe(1);

    // the first token was reasoning: at the hook no answer text had been folded, some reasoning had
    expect(atHook.t).toBe(fold.firstTokenAt);
    expect(atHook.contentChars).toBe(0);
    expect(atHook.reasoningChars).toBeGreaterThan(0);

    // the named instants, in order; the answer came after the held pause
    const { sentAt, headersAt, firstByteAt, firstTokenAt, firstContentAt, lastTokenAt, endAt } = fold;
    const instants = [sentAt, headersAt, firstByteAt, firstTokenAt, firstContentAt, lastTokenAt, endAt];
    expect(instants.every((t) => typeof t === 'number')).toBe(true);
    expect([...(instants as number[])].sort((a, b) => a - b)).toEqual(instants);
    expect(sentAt!).toBeLessThan(headersAt!);
    expect(firstContentAt! - firstTokenAt!).toBeGreaterThanOrEqual(PAUSE_MS - 2);

    // texts and lengths are the recording's
    expect(fold.content).toBe(recorded.content);
    expect(pieces.join('')).toBe(recorded.content);
    expect(fold.contentChars).toBe(recorded.content.length);
    expect(fold.reasoningChars).toBe(recorded.reasoning.length);

    // one gap per token after the first; they span first to last token; the held pause is the longest
    expect(fold.gaps).toHaveLength(fold.tokenChunks - 1);
    expect(sum(fold.gaps!)).toBeCloseTo(lastTokenAt! - firstTokenAt!, 6);
    expect(fold.maxGap).toBe(Math.max(...fold.gaps!));
    expect(fold.maxGap).toBeGreaterThanOrEqual(PAUSE_MS - 2);
  });
});

describe('the fold of other recordings', () => {
  it('a model that answers at once: first token and first content are the same instant, no reasoning', async () => {
    const f = fixture('openai/gomodel-gpt-4o-mini.sse');
    const fold = await foldStream(serve(f), req, new StreamFold({ keepContent: true }));
    expect(fold.ok).toBe(true);
    expect(fold.firstTokenAt).toBeDefined();
    expect(fold.firstContentAt).toBe(fold.firstTokenAt);
    expect(fold.reasoningChars).toBe(0);
    expect(fold.content).toBe(recordedText(f).content);
    expect(fold.gaps).toBeUndefined(); // not asked for: only the longest gap is kept
    expect(fold.maxGap).toBeGreaterThan(0);
    expect(fold.usage ?? null).toEqual(f.expect.usage ?? null);
    expect(fold.endAt!).toBeGreaterThanOrEqual(fold.lastTokenAt!);
  });

  it('without keepContent only the lengths are kept', async () => {
    const f = fixture('deepseek/vercel-deepseek-reasoning.chunks.txt');
    const fold = await foldStream(serve(f), req, new StreamFold());
    expect(fold.ok).toBe(true);
    expect(fold.content).toBe('');
    expect(fold.contentChars).toBe(recordedText(f).content.length);
    expect(fold.reasoningChars).toBe(recordedText(f).reasoning.length);
  });

  it('a recorded 429: status, error and end, no token', async () => {
    const f = fixture('openai/error-429-rate-limit-tpm.json');
    const fold = await foldStream(serve(f), req, new StreamFold({ keepGaps: true }));
    expect(fold.ok).toBe(false);
    expect(fold.status).toBe(429);
    expect(fold.error?.errorClass).toBe(f.expect.errorClass);
    expect(fold.firstTokenAt).toBeUndefined();
    expect(fold.tokenChunks).toBe(0);
    expect(fold.gaps).toEqual([]);
    expect(fold.endAt!).toBeGreaterThanOrEqual(fold.headersAt!);
  });
});

describe('a chunk that carries both reasoning and answer text', () => {
  // Hand-written fixture (index.json: handwritten, derived from the DeepSeek reasoner recording): vLLM's
  // deepseek_r1 reasoning parser sends the text either side of </think> in one delta when the tag falls
  // inside it. vLLM's bench (vllm/benchmarks/lib/endpoint_request_func.py) appends one ITL value per
  // chunk, not per kind of text in it: a chunk is one arrival.
  const f = fixture('deepseek/handwritten-reasoning-and-content-one-chunk.chunks.txt');
  const delta = (o: Record<string, unknown>) => ((o.choices as { delta?: Record<string, unknown> }[])[0]?.delta ?? {}) as Record<string, unknown>;
  const withText = dataObjects(wireBody(f)).filter((o) => Array.isArray(o.choices) && (delta(o).content || delta(o).reasoning_content));

  it('is one token and no gap: bench counts the recording\'s chunks, its ITL one gap fewer, its texts whole', async () => {
    expect(withText.filter((o) => delta(o).content && delta(o).reasoning_content)).toHaveLength(1);
    const records: RequestRecord[] = [];
    const r = await runBench([{ name: 'boundary', model: 'recorded', api: 'openai', adapter: serve(f) }], { requests: 1, concurrency: 1, prepare: false }, (_, rec) => records.push(rec));
    expect(r.providers[0].ok).toBe(1);
    const [rec] = records;
    expect(rec.chunks).toBe(withText.length);
    expect(rec.gaps).toHaveLength(withText.length - 1);
    // the texts of the shared chunk are both kept (estimated tokens count them: 4 characters a token)
    const recorded = recordedText(f);
    expect(recorded.content.startsWith('The')).toBe(true);
    expect(rec.estimatedOutputTokens).toBe(Math.ceil((recorded.content.length + recorded.reasoning.length) / 4));
    const fold = await foldStream(serve(f), req, new StreamFold({ keepContent: true, keepGaps: true }));
    expect(fold.content).toBe(recorded.content);
    expect(fold.reasoningChars).toBe(recorded.reasoning.length);
    expect(fold.tokenChunks).toBe(withText.length);
    expect(fold.firstContentAt!).toBeGreaterThan(fold.firstTokenAt!);
  });
});

// One model that thinks for a while before it answers (the DeepSeek reasoner recording with the answer
// held back THINK_MS), measured by each engine. All three count its first reasoning token as the first
// token, so their TTFTs agree and are far below the answer's start; the chain does not hedge it.
const THINK_MS = 2000;
const EARLY_MS = 1000;

describe('bench, chain and health agree on TTFT for a model that thinks first', () => {
  const thinker = fixture('deepseek/vercel-deepseek-reasoning.chunks.txt');
  const recorded = recordedText(thinker);

  it('bench: TTFT is the first reasoning token; latency includes the thinking', async () => {
    const adapter = serve(thinker, () => sleep(THINK_MS));
    const records: RequestRecord[] = [];
    const r = await runBench([{ name: 'thinker', model: 'recorded', api: 'openai', adapter }], { requests: 2, concurrency: 1, prepare: false }, (_, rec) => records.push(rec));
    const p = r.providers[0];
    expect(p.ok).toBe(2);
    expect(records.map((rec) => rec.firstToken! - rec.start).every((ttft) => ttft < EARLY_MS)).toBe(true);
    expect(p.ttft_ms!.max).toBeLessThan(EARLY_MS);
    expect(p.latency_ms!.p50).toBeGreaterThan(THINK_MS);
    // the pause is one inter-token gap, not part of TTFT
    expect(p.itl_ms!.max).toBeGreaterThanOrEqual(THINK_MS - 2);
  });

  it('chain: the first reasoning token commits the attempt, so a 1 s hedge never fires while it thinks (2 s)', async () => {
    const T = { connect: 2000, firstToken: 5000, idle: 5000, total: 20_000 };
    const provider = (name: string, adapter: ProviderAdapter): ChainProvider => ({ name, model: 'recorded', adapter, timeouts: T, breakerKey: `fold-test:${name}:${Math.random()}` });
    const quick = serve(fixture('openai/gomodel-gpt-4o-mini.sse'));
    const chain = new FallbackChain([provider('thinker', serve(thinker, () => sleep(THINK_MS))), provider('quick', quick)], {
      retries: 0,
      deadlineMs: 20_000,
      onContentFilter: 'stop',
      firstTokenMsPerPromptToken: 0,
      hedge: { kind: 'fixed', ms: EARLY_MS },
    });
    const r = await chain.run({ messages: req.messages });
    expect(r.attempts.map((a) => [a.provider, a.decision, a.hedged])).toEqual([['thinker', 'success', false]]);
    expect(r.content).toBe(recorded.content);
    expect(r.attempts[0].ttft_ms!).toBeLessThan(EARLY_MS);
    expect(r.ttft_ms!).toBeLessThan(EARLY_MS);
    expect(r.latency_ms).toBeGreaterThan(THINK_MS);
  });

  it('health: TTFT is the first reasoning token and the model is healthy', async () => {
    const adapter = serve(thinker, () => sleep(THINK_MS));
    const { result: h } = await probe({ name: 'thinker', model: 'recorded', adapter, required: true, breakerKey: 'fold-test:health' }, 'deep', 20_000);
    expect(h.error_message).toBeNull();
    expect(h.healthy).toBe(true);
    expect(h.ttft_ms!).toBeLessThan(EARLY_MS);
    expect(h.latency_ms).toBeGreaterThan(THINK_MS);
  });
});

describe('a consumer that throws', () => {
  it('gets its own error back from foldStream (not a provider failure), and the connection is let go', async () => {
    const { emulator, adapterFor } = await import('./helpers.js');
    const server = await emulator({ p: { dialect: 'openai', ttft: { dist: 'constant', value: 5 }, itl: { dist: 'constant', value: 5 }, output_tokens: { dist: 'constant', value: 50 } } });
    const adapter = adapterFor(server, 'p');
    const broken = new StreamFold({ onContent: () => { throw new Error('the consumer broke'); } });
    await expect(foldStream(adapter, { messages: [{ role: 'user', content: 'hi' }], stream: true }, broken)).rejects.toThrow('the consumer broke');
    // The fold saw the token it broke on and no invented transport error.
    expect(broken.tokenChunks).toBe(1);
    expect(broken.error).toBeUndefined();
    // The same adapter still answers: the exchange that was cut short did not keep its connection.
    const ok = await foldStream(adapter, { messages: [{ role: 'user', content: 'hi' }], stream: true }, new StreamFold());
    expect(ok.ok).toBe(true);
    await adapter.close();
  });
});

describe('many requests on one stop signal', () => {
  it('listen to it once between them, and all end as cancelled when it fires', async () => {
    const { emulator, adapterFor } = await import('./helpers.js');
    const server = await emulator({ slow: { dialect: 'openai', ttft: { dist: 'constant', value: 2000 }, output_tokens: { dist: 'constant', value: 2 } } });
    const adapter = adapterFor(server, 'slow');
    const stop = new AbortController();
    const folds = Array.from({ length: 20 }, () => foldStream(adapter, { messages: [{ role: 'user', content: 'hi' }], stream: true, signal: stop.signal }, new StreamFold()));
    await sleep(100);
    // bench's 1,000 requests in flight watch the run's one signal: one listener, not one each.
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(1);
    stop.abort();
    const done = await Promise.all(folds);
    expect(done.map((f) => f.error?.errorClass)).toEqual(Array(20).fill('cancelled'));
    await adapter.close();
  });
});

// The library (`import { createRouter } from 'llm-fallback'`): the package's own export map, resolved as
// a user's program would resolve it, in a child process whose module loads are recorded, against the
// emulator on loopback with a chain whose first provider is down.
import { execFile, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, createRouter, MemoryLatencyHistory, UsageError, type CallRequest, type ChainErrorClass, type ChainEvent, type ErrorClass } from '../src/index.js';
import { countingRelay, emulator, freePort, until, untilSettled } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Runs an ES module from inside the repository (so 'llm-fallback' resolves through package.json `exports`), recording every module it loads. */
async function runModule(source: string): Promise<{ status: number | null; stdout: string; stderr: string; loaded: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'llmf-lib-'));
  const hooks = join(dir, 'hooks.mjs');
  const log = join(dir, 'loaded.txt');
  writeFileSync(hooks, `import { appendFileSync } from 'node:fs';\nexport async function resolve(spec, ctx, next) { const r = await next(spec, ctx); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }\n`);
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(new URL(`file://${hooks}`).href)});\n`);
  // The program lives in the repository's test/ folder so that the package resolves itself by name.
  const main = join(ROOT, 'test', `.library-${process.pid}-${Date.now()}.mjs`);
  writeFileSync(main, source);
  try {
    // Asynchronous: the emulator it talks to runs in this process and must keep serving meanwhile.
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', register, main], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, XDG_STATE_HOME: dir, HOME: dir } }, (err, stdout, stderr) =>
        resolve({ status: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
    });
    return { ...r, loaded: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
  } finally {
    spawnSync('rm', ['-f', main]);
  }
}

describe('library: createRouter', () => {
  it('answers through a chain whose first provider is down, streams the same chain as events, and loads neither the CLI nor the emulator', { timeout: 90_000 }, async () => {
    const server = await emulator({ up: { dialect: 'openai', model: 'up-model' } });
    const down = await freePort(); // nothing listens there
    const config = {
      providers: {
        down: { api: 'openai', base_url: `http://127.0.0.1:${down}/v1`, model: 'm' },
        up: { api: 'openai', base_url: server.baseUrl('up'), model: 'up-model', price: { input: 1, output: 2 } },
      },
      chains: { main: ['down', 'up'] },
    };
    const r = await runModule(`
import { createRouter, UsageError } from 'llm-fallback';
const router = await createRouter({ config: ${JSON.stringify(config)} });
const out = {};
out.routes = router.routes();
const a = await router.chat({ model: 'main', messages: [{ role: 'user', content: 'Say something.' }], maxTokens: 40 });
out.chat = { source: a.source, provider: a.provider, model: a.model, content: a.content.length, decisions: a.attempts.map((x) => x.provider + ':' + x.decision + ':' + x.error_class) , cost: a.cost_usd };
const types = [];
let text = '';
for await (const ev of router.stream({ model: 'main', messages: [{ role: 'user', content: 'Another one.' }], cache: false })) {
  types.push(ev.type);
  if (ev.type === 'token') text += ev.text;
  if (ev.type === 'answer') out.streamAnswer = { content: ev.result.content, provider: ev.result.provider };
}
out.types = types;
out.text = text;
try { router.stream({ model: 'mian', messages: [{ role: 'user', content: 'x' }] }); } catch (e) { out.unknown = { usage: e instanceof UsageError, message: e.message }; }
out.breakers = router.breakerStates();
await router.close();
console.log(JSON.stringify(out));
`);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.routes).toEqual([
      { name: 'main', kind: 'chain', providers: ['down', 'up'] },
      { name: 'default', kind: 'chain', providers: ['down', 'up'] },
      { name: 'down', kind: 'provider', providers: ['down'] },
      { name: 'up', kind: 'provider', providers: ['up'] },
    ]);
    expect(out.chat.source).toBe('live');
    expect(out.chat.provider).toBe('up');
    expect(out.chat.model).toBe('up-model');
    expect(out.chat.content).toBeGreaterThan(0);
    expect(out.chat.cost).toBeGreaterThan(0);
    expect(out.chat.decisions).toEqual(['down:fallover:network', 'up:success:null']);
    // The stream: the down provider's attempt, then the answer's tokens, then exactly one answer whose content is the tokens.
    expect(out.types[0]).toBe('attempt_start');
    expect(out.types.filter((t: string) => t === 'answer')).toHaveLength(1);
    expect(out.types.at(-1)).toBe('answer');
    expect(out.types).toContain('token');
    expect(out.text).toBe(out.streamAnswer.content);
    expect(out.streamAnswer.provider).toBe('up');
    expect(out.unknown).toEqual({ usage: true, message: expect.stringMatching(/^router: "mian" is not a chain or provider in \(config object\); did you mean "main"\?$/) });
    expect(out.breakers.map((b: { provider: string }) => b.provider).sort()).toEqual(['down', 'up']);
    // The library import resolved through the export map to dist/index.js, and never loaded the CLI, commander or the emulator.
    expect(r.loaded.some((u) => u.endsWith('/dist/index.js'))).toBe(true);
    const unwanted = r.loaded.filter((u) => /\/dist\/(cli|commands\/|mock\/)|\/node_modules\/(commander|cli-table3)\//.test(u));
    expect(unwanted).toEqual([]);
  });

  it('its types compile for a TypeScript user through package.json "types" and "exports", the shipped declarations checked too (no skipLibCheck), under NodeNext and bundler resolution', { timeout: 120_000 }, () => {
    const file = join(ROOT, 'test', `.library-types-${process.pid}.ts`);
    writeFileSync(
      file,
      `import { createRouter, openStores, ProviderError, type ChainEvent, type ChainResult, type OpenStoresOptions, type TimeoutPhase } from 'llm-fallback';
const router = await createRouter({ demo: true });
const r: ChainResult = await router.chat({ model: 'default', messages: [{ role: 'user', content: 'hi' }] });
const first: string = r.content;
for await (const ev of router.stream({ messages: [{ role: 'user', content: 'hi' }] })) {
  const e: ChainEvent = ev;
  if (e.type === 'restart') { const err: ProviderError = e.error; const phase: TimeoutPhase | undefined = err.timeoutPhase; void phase; }
}
const opts: OpenStoresOptions = { url: 'memory', breaker: { failures: 3, cooldownMs: 1000, probeTimeoutMs: 1000 }, cacheTtlMs: 1000 };
await openStores(opts);
// @ts-expect-error a message role the library does not take
await router.chat({ messages: [{ role: 'robot', content: 'x' }] });
void first;
`,
    );
    try {
      for (const resolution of [['--module', 'nodenext', '--moduleResolution', 'nodenext'], ['--module', 'esnext', '--moduleResolution', 'bundler']]) {
        const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', ...resolution, '--target', 'es2022', '--types', 'node', file], { cwd: ROOT, encoding: 'utf8', timeout: 80_000 });
        expect(tsc.stdout + tsc.stderr, resolution.join(' ')).toBe('');
        expect(tsc.status).toBe(0);
      }
    } finally {
      spawnSync('rm', ['-f', file]);
    }
  });

  it('a demo program that forgets router.close() still exits when its calls are done', { timeout: 90_000 }, async () => {
    // The demo's emulator runs in the caller's process: it must not hold that process open once the calls are done.
    const r = await runModule(`
import { createRouter } from 'llm-fallback';
const router = await createRouter({ demo: true });
const a = await router.chat({ messages: [{ role: 'user', content: 'Hi' }], maxTokens: 5 });
console.log(a.source, a.provider);
`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('live holysheep\n');
  });

  it('the README example (examples/library.mjs) runs as shown, on the demo', { timeout: 90_000 }, async () => {
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const home = mkdtempSync(join(tmpdir(), 'llmf-lib-'));
      execFile(process.execPath, [join(ROOT, 'examples', 'library.mjs')], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, HOME: home, XDG_STATE_HOME: home, XDG_CACHE_HOME: home } }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
    });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^live answer from holysheep \(deepseek-v3\.2\) in \d+ ms, \$0\.\d{6}$/);
    expect(lines[1]).toBe('holysheep: success');
    expect(lines[2]).toBe('→ asking holysheep');
    expect(lines[3].trim().length).toBeGreaterThan(0);
    expect(lines[4]).toMatch(/^✓ holysheep, first token \d+ ms$/);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(readFileSync(join(ROOT, 'examples', 'library.mjs'), 'utf8').split('\n').slice(2).join('\n').trim());
  });
});

describe('library: leaving a stream early', () => {
  it('a `break` out of `for await (router.stream(...))` before the answer closes the request on the wire', { timeout: 60_000 }, async () => {
    // A provider that streams a long answer slowly (1,000 tokens, one per 20 ms): nobody reads past the third.
    const served: { written: number; finished?: boolean }[] = [];
    const upstream = createServer((req, res) => {
      req.resume();
      const s: { written: number; finished?: boolean } = { written: 0 };
      served.push(s);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta: string, finish: string | null) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: delta ? { content: delta } : {}, finish_reason: finish }] })}\n\n`;
      const tick = setInterval(() => {
        if (s.written === 1000) {
          res.end(chunk('', 'stop') + 'data: [DONE]\n\n');
          return clearInterval(tick);
        }
        res.write(chunk(`t${++s.written} `, null));
      }, 20);
      res.on('close', () => {
        clearInterval(tick);
        s.finished = res.writableFinished;
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const { port } = upstream.address() as { port: number };
    try {
      const router = await createRouter({ config: { providers: { slow: { api: 'openai', base_url: `http://127.0.0.1:${port}/v1`, model: 'm' } } }, env: {} });
      const seen: string[] = [];
      for await (const ev of router.stream({ model: 'slow', messages: [{ role: 'user', content: 'Write a long story.' }], cache: false })) {
        seen.push(ev.type === 'token' ? ev.text : ev.type);
        if (seen.length === 4) break;
      }
      expect(seen).toEqual(['attempt_start', 't1 ', 't2 ', 't3 ']);
      // The upstream sees its response closed by the client, unfinished: not read to its end in the background.
      await until(() => served[0]?.finished !== undefined, 'the upstream response closed');
      expect(served).toHaveLength(1);
      expect(served[0].finished).toBe(false);
      expect(served[0].written).toBeLessThan(1000);
      // A cancel is the caller's doing, not the provider's: its breaker stays closed.
      await router.close();
      expect(router.breakerStates()).toEqual([{ provider: 'slow', model: 'm', state: 'closed' }]);
    } finally {
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });
});

describe('library: router.stream() starts on the first read', () => {
  // Both providers on the emulator over loopback; its request counts are what the provider would bill.
  // slow: 400 tokens 20 ms apart (8 s), so a call left running would still be writing long after the break.
  const lazy = emulator({ quick: { dialect: 'openai', model: 'm' }, slow: { dialect: 'openai', model: 'm', itl: { dist: 'constant', value: 20 }, output_tokens: { dist: 'constant', value: 400 } } });

  it('sends nothing for a stream built and not read, sends its one request when read later, and sends nothing for one closed before its first read', { timeout: 60_000 }, async () => {
    const server = await lazy;
    const router = await createRouter({ config: { providers: { quick: { api: 'openai', base_url: server.baseUrl('quick'), model: 'm' } } }, env: {} });
    const requests = () => server.stats().quick?.requests ?? 0;
    try {
      const before = requests();
      const later = router.stream({ model: 'quick', messages: [{ role: 'user', content: 'Not yet.' }], cache: false });
      const closed = router.stream({ model: 'quick', messages: [{ role: 'user', content: 'Never.' }], cache: false })[Symbol.asyncIterator]();
      expect(await closed.return?.()).toEqual({ done: true, value: undefined });
      // settled() waits for every call started: a stream that had started its call would be waited for, and counted.
      await router.settled();
      expect(requests()).toBe(before);
      const types: string[] = [];
      for await (const ev of later) types.push(ev.type);
      expect(types[0]).toBe('attempt_start');
      expect(types.at(-1)).toBe('answer');
      expect(requests()).toBe(before + 1);
      await router.settled();
      expect(requests()).toBe(before + 1);
    } finally {
      await router.close();
    }
  });

  it('a break after the first token cancels the request in flight: the emulator never finishes writing it', { timeout: 60_000 }, async () => {
    const server = await lazy;
    const router = await createRouter({ config: { providers: { slow: { api: 'openai', base_url: server.baseUrl('slow'), model: 'm' } } }, env: {} });
    try {
      const before = server.stats().slow?.requests ?? 0;
      const okBefore = server.stats().slow?.ok ?? 0;
      let tokens = 0;
      for await (const ev of router.stream({ model: 'slow', messages: [{ role: 'user', content: 'Write a long story.' }], cache: false })) {
        if (ev.type === 'token' && ++tokens === 1) break;
      }
      // settled() resolves once the call has ended: had the break not cancelled it, only after all 400 tokens.
      await router.settled();
      const st = server.stats().slow;
      expect(st.requests).toBe(before + 1);
      expect(st.ok).toBe(okBefore);
      expect(server.injected('slow').at(-1)!.gapsMs.length).toBeLessThan(399);
    } finally {
      await router.close();
    }
  });
});

describe('library: a reader that falls behind holds the provider back', () => {
  // A long answer streamed as fast as the emulator can write it (40,000 tokens, no gap: megabytes of SSE),
  // through a relay that counts what reaches the chain's connection.
  // mid: 3,000 tokens, past the chain's 1,024 but within one exchange queue: read to its end while held.
  const fast = emulator({
    fast: { dialect: 'openai', model: 'm', ttft: { dist: 'constant', value: 1 }, itl: { dist: 'constant', value: 0 }, output_tokens: { dist: 'constant', value: 40_000 } },
    mid: { dialect: 'openai', model: 'm', ttft: { dist: 'constant', value: 1 }, itl: { dist: 'constant', value: 0 }, output_tokens: { dist: 'constant', value: 3_000 } },
  });

  it('a reader that stops for a while: the provider\'s stream stalls at a bounded amount, the idle clock waits, and the whole answer arrives once it reads', { timeout: 60_000 }, async () => {
    const server = await fast;
    const relay = await countingRelay(server.baseUrl('fast'));
    // An idle clock far shorter than the pause: the reader's wait must not count as the provider's silence.
    const history = new MemoryLatencyHistory();
    const router = await createRouter({ config: { providers: { fast: { api: 'openai', base_url: relay.url, model: 'm', timeouts: { idle: '400ms' } } } }, env: {}, stores: { history } });
    try {
      const it = router.stream({ model: 'fast', messages: [{ role: 'user', content: 'Write a very long story.' }], maxTokens: 50_000, cache: false })[Symbol.asyncIterator]();
      let text = '';
      for (let r = await it.next(); !r.done; r = await it.next()) {
        if (r.value.type !== 'token') continue;
        text += r.value.text;
        break;
      }
      // The reader reads nothing now. What reaches the chain stops growing: the relay's count settles.
      const stalled = await untilSettled(() => relay.bytes(), 'the provider\'s stream to stall');
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // over twice the idle clock
      expect(relay.bytes()).toBe(stalled);
      let answer: Extract<ChainEvent, { type: 'answer' }> | undefined;
      const take = (ev: ChainEvent) => {
        if (ev.type === 'token') text += ev.text;
        else if (ev.type === 'answer') answer = ev;
      };
      // What the process holds for the reader: the events it can have without waiting for the network (handed
      // over in microtasks, before the setImmediate below can run): the chain's queue and the exchange's.
      let io = false;
      setImmediate(() => (io = true));
      let ready = 0;
      let r = await it.next();
      for (; !r.done && !io; r = await it.next()) {
        ready++;
        take(r.value);
      }
      for (; !r.done; r = await it.next()) take(r.value);
      expect(answer!.result).toMatchObject({ source: 'live', finish_reason: 'stop', error: null });
      expect(answer!.result.attempts.map((a) => a.decision)).toEqual(['success']);
      expect(text).toBe(answer!.result.content);
      expect(text.trim().split(/\s+/)).toHaveLength(40_000);
      // While it waited, a bounded part of the answer was held: the chain's 1,024 events and one read of the
      // exchange (up to its 1 MiB, some 3,600 of these tokens), not the 40,000 the provider could send. The rest
      // waited in the kernel's socket buffers and at the emulator, whose writes stalled.
      expect(ready).toBeGreaterThan(0);
      expect(ready).toBeLessThan(8_000);
      expect(relay.bytes()).toBeGreaterThan(stalled * 1.5);
      // The reader's pause is among this answer's gaps between tokens: the idle clock is not learnt from it
      // (its time to first token is).
      await router.settled();
      const [samples] = Object.values(history.records);
      expect(samples.ttft_ms).toHaveLength(1);
      expect(samples.max_gap_ms).toEqual([]);
    } finally {
      await router.close();
    }
  });

  it('a caller that cancels while its reader is behind ends the call, though the provider\'s whole answer was already read', { timeout: 60_000 }, async () => {
    const server = await fast;
    const router = await createRouter({ config: { providers: { mid: { api: 'openai', base_url: server.baseUrl('mid'), model: 'm' } } }, env: {} });
    const ac = new AbortController();
    try {
      const it = router.stream({ model: 'mid', messages: [{ role: 'user', content: 'Write a story.' }], maxTokens: 5_000, cache: false, signal: ac.signal })[Symbol.asyncIterator]();
      for (let r = await it.next(); !r.done && r.value.type !== 'token'; r = await it.next());
      // The reader reads nothing: the chain holds the rest, and the whole response arrives in the exchange meanwhile.
      await until(() => server.stats().mid.ok === 1, 'the emulator to finish writing the answer');
      await new Promise((resolve) => setTimeout(resolve, 200)); // for its last bytes to cross loopback
      ac.abort();
      // The call ends without the reader reading on: before, it waited for the reader (settled() and close() hung).
      const settled = await Promise.race([router.settled().then(() => 'settled'), new Promise((resolve) => setTimeout(() => resolve('still running'), 5_000))]);
      expect(settled).toBe('settled');
      let answer: Extract<ChainEvent, { type: 'answer' }> | undefined;
      let tokens = 0;
      for (let r = await it.next(); !r.done; r = await it.next()) {
        if (r.value.type === 'answer') answer = r.value;
        else if (r.value.type === 'token') tokens++;
      }
      expect(answer!.result).toMatchObject({ source: 'none', error: { class: 'cancelled' } });
      expect(answer!.result.attempts.map((a) => [a.decision, a.error_class])).toEqual([['stop', 'cancelled']]);
      // The classes are typed (tsc checks this file): a program can narrow and switch over them.
      const why: ChainErrorClass | undefined = answer!.result.error?.class;
      const attemptClass: ErrorClass | null = answer!.result.attempts[0].error_class;
      expect([why, attemptClass]).toEqual(['cancelled', 'cancelled']);
      // What the chain held for the reader came; the rest of the cancelled answer was not handed on.
      expect(tokens).toBeLessThan(2_999);
    } finally {
      await router.close();
    }
  });

  it('a reader that stays behind past the provider\'s total clock: the attempt times out saying so, and the provider\'s breaker does not move', { timeout: 60_000 }, async () => {
    const server = await fast;
    // One failure opens a breaker: a timeout blamed on the provider would open this one.
    const router = await createRouter({ config: { defaults: { breaker_failures: 1 }, providers: { fast: { api: 'openai', base_url: server.baseUrl('fast'), model: 'm', timeouts: { total: '1500ms' } } } }, env: {} });
    try {
      const it = router.stream({ model: 'fast', messages: [{ role: 'user', content: 'Write a very long story.' }], maxTokens: 50_000, cache: false })[Symbol.asyncIterator]();
      for (let r = await it.next(); !r.done && r.value.type !== 'token'; r = await it.next());
      // The provider could send its whole answer well within its 1.5 s; the reader holds it back for longer.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      let answer: Extract<ChainEvent, { type: 'answer' }> | undefined;
      for (let r = await it.next(); !r.done; r = await it.next()) if (r.value.type === 'answer') answer = r.value;
      await router.settled();
      const [attempt] = answer!.result.attempts;
      expect(attempt).toMatchObject({ provider: 'fast', error_class: 'timeout', error_detail: 'timeout:total' });
      expect(attempt.error_message).toBe('fast: total timeout after 1500ms, while the reader was behind (the provider was held back for it)');
      expect(router.breakerStates()).toEqual([{ provider: 'fast', model: 'm', state: 'closed' }]);
    } finally {
      await router.close();
    }
  });
});

describe('library: a request from plain JavaScript', () => {
  it('a wrong shape is a UsageError naming the field, before anything is sent', { timeout: 60_000 }, async () => {
    // A provider that always fails: before, text parts got as far as the cache key (a TypeError) only then.
    let requests = 0;
    const upstream = createServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"down"}}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const { port } = upstream.address() as { port: number };
    const router = await createRouter({ config: { providers: { p: { api: 'openai', base_url: `http://127.0.0.1:${port}/v1`, model: 'm' } } }, env: {} });
    const hi = [{ role: 'user', content: 'hi' }];
    const cases: [unknown, string][] = [
      [{ model: 'p', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }, 'router: messages[0].content must be a string (got a list); text parts and images are not supported'],
      [{ model: 'p', messages: [{ role: 'user', content: null }] }, 'router: messages[0].content must be a string (got null); text parts and images are not supported'],
      [{ model: 'p', messages: [hi[0], { role: 'robot', content: 'x' }] }, 'router: messages[1].role: "robot" is not one of system, user, assistant'],
      [{ model: 'p', messages: [null] }, 'router: messages[0] must be an object with role and content (got null)'],
      [{ model: 5, messages: hi }, 'router: model must be a chain, provider or provider/model name (got 5)'],
      [{ model: 'p', messages: hi, maxTokens: -5 }, 'router: maxTokens must be a whole number of at least 1 (got -5)'],
      [{ model: 'p', messages: hi, maxTokens: '10' }, 'router: maxTokens must be a whole number of at least 1 (got "10")'],
      [{ model: 'p', messages: hi, temperature: Number.NaN }, 'router: temperature must be a number of at least 0 (got NaN)'],
      [{ model: 'p', messages: hi, timeoutMs: -1 }, 'router: timeoutMs must be a number of milliseconds above 0 (got -1)'],
      [{ model: 'p', messages: hi, retries: 1.5 }, 'router: retries must be a whole number of at least 0 (got 1.5)'],
      [{ model: 'p', messages: hi, hedge: 'fast' }, 'router: hedge must be "auto", "off" or a number of milliseconds (got "fast")'],
      [{ model: 'p', messages: hi, onContentFilter: 'retry' }, 'router: onContentFilter must be "stop" or "fallover" (got "retry")'],
      [{ model: 'p', messages: hi, signal: {} }, 'router: signal must be an AbortSignal (got an object)'],
      [null, 'router: a request must be an object with messages (got null)'],
    ];
    try {
      for (const [req, message] of cases) {
        const chat = await router.chat(req as CallRequest).then(
          () => 'resolved',
          (e: unknown) => e,
        );
        expect(chat, message).toBeInstanceOf(UsageError);
        expect((chat as Error).message).toBe(message);
        expect(() => router.stream(req as CallRequest)).toThrow(message);
      }
      expect(requests).toBe(0);
      // The same call well formed is sent (and, the provider being down, answered with source none).
      const ok = await router.chat({ model: 'p', messages: [{ role: 'user', content: 'hi' }], retries: 0, signal: new AbortController().signal });
      expect([ok.source, ok.error?.class, requests]).toEqual(['none', 'server', 1]);
      for (const config of [42, null]) {
        const e = await createRouter({ config: config as unknown as string }).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(UsageError);
        expect((e as Error).message).toBe(`router: config must be a path to a providers.yaml or its content as an object (got ${config === null ? 'null' : 'number'})`);
      }
    } finally {
      await router.close();
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });
});

describe('library: one AbortSignal for many calls', () => {
  it('aborts every call that shares it, and adds one listener to it however many calls there are (no warning on the host stderr)', { timeout: 60_000 }, async () => {
    // A provider that takes requests and never answers: only the abort ends them.
    const open = new Set<object>();
    let closed = 0;
    const upstream = createServer((req, res) => {
      req.resume();
      open.add(res);
      res.on('close', () => closed++);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const { port } = upstream.address() as { port: number };
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    const router = await createRouter({ config: { providers: { p: { api: 'openai', base_url: `http://127.0.0.1:${port}/v1`, model: 'm' } } }, env: {} });
    try {
      const shutdown = new AbortController();
      const calls = Array.from({ length: 15 }, (_, i) => router.chat({ model: 'p', messages: [{ role: 'user', content: `question ${i}` }], cache: false, signal: shutdown.signal }));
      await until(() => open.size === 15, 'all 15 requests at the provider');
      shutdown.abort();
      const results = await Promise.all(calls);
      expect(results.map((r) => `${r.source}:${r.error?.class}`)).toEqual(Array(15).fill('none:cancelled'));
      await until(() => closed === 15, 'all 15 requests closed by the client');
      await new Promise((resolve) => setImmediate(resolve)); // a warning is emitted on the next tick
      expect(warnings.filter((w) => /MaxListeners/.test(w))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await router.close();
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });
});

describe('library: a key pasted into the config', () => {
  it('is masked in the ConfigError the caller gets (its message and problems), as the CLI masks what it prints', async () => {
    const key = 'sk-proj-Zx81kq0Lm27Vb93Hn45Tw';
    const e = await createRouter({
      config: { providers: { p: { api: 'openai', base_url: `ftp://example.com/${key}`, model: 'm', api_key_env: key } } },
      env: {},
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    const { message, problems } = e as ConfigError;
    expect(problems).toEqual([
      '(config object):4:15: providers.p.base_url: "ftp://example.com/sk-proj-[REDACTED]" is not a valid http(s) URL; write it like https://api.example.com/v1',
      '(config object):6:18: providers.p.api_key_env: not an environment variable name (letters, digits and _, not starting with a digit); give the variable\'s name (e.g. DEEPSEEK_API_KEY), never the key itself',
    ]);
    expect(message).toBe(problems.join('\n'));
  });
});

describe('library: the fix a message gives is one a program can apply', () => {
  it('names createRouter\'s config and demo options, not the CLI\'s --config and --demo flags', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'llmf-lib-')), 'nope.yaml');
    const e1 = await createRouter({ config: missing }).catch((x: unknown) => x);
    expect(e1).toBeInstanceOf(ConfigError);
    expect((e1 as Error).message).toBe(`${missing}: cannot read config (no such file); check the config path passed to createRouter`);

    const noKey = await createRouter({ config: { providers: { p: { api: 'openai', base_url: 'https://api.example.com/v1', model: 'm', api_key_env: 'P_KEY' } } }, env: {} });
    const hi: CallRequest = { messages: [{ role: 'user', content: 'hi' }] };
    await expect(noKey.chat(hi)).rejects.toThrow(new UsageError('router: no provider of chain "default" has its API key set; export P_KEY, or pass demo: true to createRouter (no keys needed)'));
    await noKey.close();

    const empty = await createRouter({ config: { providers: {} }, env: {} });
    await expect(empty.chat(hi)).rejects.toThrow('(config object): no providers configured (providers: is empty); add one under providers: (see the shipped providers.yaml), or pass demo: true to createRouter (no keys needed)');
    await empty.close();
  });

  it('a call on a closed router is a UsageError that says what to do', async () => {
    const router = await createRouter({ demo: true });
    await router.close();
    const e = await router.chat({ messages: [{ role: 'user', content: 'hi' }] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).toBe('router: this router is closed; create a new one with createRouter for more calls');
  });
});

/**
 * TPOT and the read stamps (src/bench/slo.ts tpotOf, src/util/clock.ts ioNow). bench stamps every socket read
 * of one event-loop turn with the turn's first read time, so tokens that came in one read, or in separate
 * TCP segments read in one turn, are 0 ms apart. TPOT is left out only when *every* gap between tokens is 0
 * (the whole answer came at once: a buffering proxy); one real gap and it is reported, by vLLM's definition,
 * (end − first token) / (output tokens − 1). A raw `net` server on 127.0.0.1 writes each stream's bytes
 * itself (handwritten OpenAI chunks in the shape of recorded ones), with Nagle off so each write is a segment.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../src/bench/measure.js';
import { runBench, target } from './bench-helpers.js';

const chunk = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const usage = (n: number) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 5, completion_tokens: n, total_tokens: 5 + n } })}\n\n`;
const HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n';
const framed = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
const tokens = (n: number) => Array.from({ length: n }, (_, i) => chunk({ content: ` t${i}` }));
const END = (n: number) => chunk({}, 'stop') + usage(n) + 'data: [DONE]\n\n';
const GAP_MS = 40;

/** Each stream: the writes the server makes, and the pause before each (ms). */
type Step = { afterMs: number; text: string };
const STREAMS: Record<string, Step[]> = {
  // Tokens 1 and 2 in two segments written back to back (one turn of the client), then three 40 ms apart.
  twoTogetherThenSpaced: [
    { afterMs: 0, text: chunk({ role: 'assistant', content: '' }) },
    { afterMs: 0, text: tokens(1)[0] },
    { afterMs: 0, text: chunk({ content: ' t1' }) },
    ...tokens(3).map((t) => ({ afterMs: GAP_MS, text: t })),
    { afterMs: 0, text: END(5) },
  ],
  // The first token alone, then the other four at once 40 ms later: one real gap.
  firstThenRestAtOnce: [
    { afterMs: 0, text: chunk({ role: 'assistant', content: '' }) + tokens(1)[0] },
    { afterMs: GAP_MS, text: tokens(4).join('') + END(5) },
  ],
  // A buffering proxy: the whole answer in one write.
  allAtOnce: [{ afterMs: 0, text: chunk({ role: 'assistant', content: '' }) + tokens(5).join('') + END(5) }],
  // Every token at once, the finish 40 ms later: still no time between tokens was seen.
  tokensAtOnceFinishLater: [
    { afterMs: 0, text: chunk({ role: 'assistant', content: '' }) + tokens(5).join('') },
    { afterMs: GAP_MS, text: END(5) },
  ],
};

const sockets = new Set<Socket>();
const server = createServer((socket) => {
  sockets.add(socket);
  socket.setNoDelay(true);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => {});
  let head = '';
  socket.on('data', async (d) => {
    head += d.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (end < 0 || head.length < end + 4 + length) return;
    const name = head.split(' ')[1].split('/')[1];
    head = '';
    socket.write(HEAD);
    for (const step of STREAMS[name]) {
      if (step.afterMs) await new Promise((r) => setTimeout(r, step.afterMs));
      socket.write(framed(step.text));
    }
    socket.write('0\r\n\r\n');
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
afterAll(() => {
  for (const s of sockets) s.destroy();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

async function bench(name: string): Promise<{ tpot: number | null; record: RequestRecord }> {
  const records: RequestRecord[] = [];
  const r = await runBench([target({ baseUrl: () => '' }, name, undefined, `${base}/${name}/v1`)], { requests: 1, concurrency: 1 }, (_, rec) => records.push(rec));
  const p = r.providers[0];
  expect(p.ok, name).toBe(1);
  expect(p.tokens.output).toBe(5);
  expect(records[0].chunks).toBe(5);
  return { tpot: p.tpot_ms?.p50 ?? null, record: records[0] };
}

describe('TPOT with reads stamped per event-loop turn', () => {
  it('is reported when any gap between tokens is real, though some tokens shared one read time', async () => {
    const { tpot, record } = await bench('twoTogetherThenSpaced');
    // The first two tokens shared a read time (one read or one turn's run of reads); the later three did not.
    expect(record.gaps[0]).toBe(0);
    expect(record.gaps.slice(1).every((g) => g >= GAP_MS - 5)).toBe(true);
    expect(tpot).not.toBeNull();
    // (end − first token) / 4, within the histogram's three significant digits.
    const want = (record.end - record.firstToken!) / 4;
    expect(Math.abs(tpot! - want)).toBeLessThan(want * 0.01 + 0.01);
    expect(tpot!).toBeGreaterThanOrEqual(((GAP_MS - 5) * 3) / 4);
  });

  it('is reported when only the first token came apart from the rest', async () => {
    const { tpot, record } = await bench('firstThenRestAtOnce');
    expect(record.gaps).toEqual([record.gaps[0], 0, 0, 0]);
    expect(record.gaps[0]).toBeGreaterThanOrEqual(GAP_MS - 5);
    expect(tpot).not.toBeNull();
    expect(tpot!).toBeGreaterThanOrEqual((GAP_MS - 5) / 4);
  });

  it('is left out only when every token came at once, the finish with them or after them', async () => {
    for (const name of ['allAtOnce', 'tokensAtOnceFinishLater']) {
      const { tpot, record } = await bench(name);
      expect(record.gaps, name).toEqual([0, 0, 0, 0]);
      expect(tpot, name).toBeNull();
    }
  });
});

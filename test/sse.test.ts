import { describe, expect, it } from 'vitest';
import { SseParser, type SseEvent } from '../src/providers/sse.js';

function parse(chunks: Buffer[]) {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const p = new SseParser({ event: (e) => events.push(e), comment: (c) => comments.push(c) });
  for (const c of chunks) p.push(c);
  const clean = p.end();
  return { events, comments, clean };
}

const text = 'event: message_start\r\ndata: {"a":"naïve 数据"}\r\n\r\n: keep-alive\n\ndata:{"b":1}\n\ndata: line1\ndata: line2\n\nerror: {"code":400}\n\n';

describe('SseParser', () => {
  it('parses CRLF and LF lines, comments, data without a space, multi-line data and unknown fields', () => {
    const { events, comments, clean } = parse([Buffer.from(text)]);
    expect(clean).toBe(true);
    expect(comments).toEqual(['keep-alive']);
    expect(events).toEqual([
      { event: 'message_start', data: '{"a":"naïve 数据"}' },
      { data: '{"b":1}' },
      { data: 'line1\nline2' },
      { extra: { error: '{"code":400}' } },
    ]);
  });

  it('gives the same events however the bytes are split, including inside a UTF-8 character and between CR and LF', () => {
    const whole = parse([Buffer.from(text)]).events;
    const bytes = Buffer.from(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(parse([bytes.subarray(0, cut), bytes.subarray(cut)]).events).toEqual(whole);
    }
    // one byte at a time
    expect(parse([...bytes].map((b) => Buffer.from([b]))).events).toEqual(whole);
  });

  it('reports a body that stops inside a line as not clean', () => {
    const r = parse([Buffer.from('data: {"a":1}\n\ndata: {"trunc')]);
    expect(r.events).toEqual([{ data: '{"a":1}' }]);
    expect(r.clean).toBe(false);
  });

  it('dispatches a last event that lacks only its blank line', () => {
    const r = parse([Buffer.from('data: [DONE]\n')]);
    expect(r.events).toEqual([{ data: '[DONE]' }]);
    expect(r.clean).toBe(true);
  });

  it('accepts a lone CR as a line end', () => {
    expect(parse([Buffer.from('data: x\r\rdata: y\r\r')]).events).toEqual([{ data: 'x' }, { data: 'y' }]);
  });

  it('refuses an event larger than its cap', () => {
    const p = new SseParser({ event: () => {}, comment: () => {} }, 1024);
    expect(() => p.push(Buffer.from(`data: ${'x'.repeat(2000)}`))).toThrow(/exceeded 1024 bytes/);
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { categoryOf, cpuByCategory, type CpuProfile } from '../src/perf/cpu-categories.js';

// The profile below is written by hand (the shape V8's Profiler.stop returns); the perf section runs on real ones.
const dir = mkdtempSync(join(tmpdir(), 'llmf-cpu-cat-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CPU profile by kind of work (npm run perf, "Where bench’s CPU goes")', () => {
  it('places functions by their module, and natives by name', () => {
    expect(categoryOf('(garbage collector)', '')).toBe('garbage collection');
    expect(categoryOf('(idle)', '')).toBe('idle');
    expect(categoryOf('writeUtf8String', '')).toBe('socket writes (system calls)');
    expect(categoryOf('dispatch', '')).toBe('idle'); // the inspector starting or stopping the profiler
    expect(categoryOf('execute', 'file:///x/dist/providers/h1/response-parser.js')).toBe('HTTP/1.1 client (request, response framing)');
    expect(categoryOf('decodeChunk', 'file:///x/dist/providers/openai.js')).toBe('SSE and body decoding, stream fold');
    expect(categoryOf('arm', 'file:///x/dist/providers/transport.js')).toBe('clocks and timers');
    expect(categoryOf('recordValue', 'file:///x/node_modules/hdr-histogram-js/dist/JsHistogram.js')).toBe('histogram recording');
    expect(categoryOf('add', 'file:///x/dist/bench/accumulator.js')).toBe('bench loop and accounting');
    expect(categoryOf('streamInto', 'file:///x/dist/providers/http-adapter.js')).toBe('request plumbing (adapter, exchange)');
    expect(categoryOf('processTicksAndRejections', 'node:internal/process/task_queues')).toBe('promises and microtasks');
    expect(categoryOf('onStreamRead', 'node:internal/stream_base_commons')).toBe('Node sockets, streams and buffers');
    expect(categoryOf('somethingElse', 'node:internal/url')).toBe('other');
  });

  it('sums self time per kind, splits JSON.parse and JSON.stringify out of their callers by line, and leaves idle out', () => {
    const file = join(dir, 'dist', 'providers', 'http-adapter.js');
    mkdirSync(join(dir, 'dist', 'providers'), { recursive: true });
    writeFileSync(file, ['function streamInto() {', '  const body = JSON.stringify(x);', '  const parsed = JSON.parse(text);', '  return parsed;', '}'].join('\n'));
    const url = pathToFileURL(file).href;
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '' } },
        { id: 2, callFrame: { functionName: '(idle)', url: '' } },
        { id: 3, callFrame: { functionName: '(garbage collector)', url: '' } },
        // 10 line ticks: 2 on the stringify line, 6 on the parse line, 2 elsewhere
        { id: 4, callFrame: { functionName: 'streamInto', url }, positionTicks: [{ line: 2, ticks: 2 }, { line: 3, ticks: 6 }, { line: 4, ticks: 2 }] },
        { id: 5, callFrame: { functionName: 'writeUtf8String', url: '' } },
      ],
      samples: [2, 3, 4, 4, 4, 4, 4, 5, 2],
      timeDeltas: [500, 100, 200, 200, 200, 200, 200, 300, 400],
    };
    const by = cpuByCategory(profile);
    expect(by.get('garbage collection')).toBe(100);
    expect(by.get('socket writes (system calls)')).toBe(300);
    // streamInto's 1,000 µs: 600 on JSON.parse's line, 200 on JSON.stringify's, 200 its own
    expect(by.get('JSON.parse')).toBeCloseTo(600, 6);
    expect(by.get('JSON.stringify')).toBeCloseTo(200, 6);
    expect(by.get('request plumbing (adapter, exchange)')).toBeCloseTo(200, 6);
    expect([...by.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(1400, 6); // idle's 900 µs left out
  });
});

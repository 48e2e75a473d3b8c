import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { categoryOf, samplesByCategory, type CpuProfile } from '../src/perf/cpu-categories.js';
import { profileTable, type ClientProfile } from '../src/perf/client-profile.js';

// The profiles below are written by hand (the shape V8's Profiler.stop returns); the perf section runs on real ones.
const dir = mkdtempSync(join(tmpdir(), 'llmf-cpu-cat-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CPU profile by kind of work (npm run perf, "Where bench’s CPU goes")', () => {
  it('places functions by their module, and natives by name', () => {
    expect(categoryOf('(garbage collector)', '')).toBe('garbage collection');
    expect(categoryOf('(idle)', '')).toBe('idle');
    expect(categoryOf('(program)', '')).toBe('V8 and native, unattributed');
    expect(categoryOf('writeUtf8String', '')).toBe('socket writes (native write, system call)');
    expect(categoryOf('dispatch', '')).toBe('idle'); // the inspector starting or stopping the profiler
    expect(categoryOf('execute', 'file:///x/dist/providers/h1/response-parser.js')).toBe('HTTP/1.1 client (request, response framing)');
    expect(categoryOf('decodeChunk', 'file:///x/dist/providers/openai.js')).toBe('SSE and body decoding, stream fold');
    expect(categoryOf('arm', 'file:///x/dist/providers/transport.js')).toBe('clocks and timers');
    expect(categoryOf('ioNow', 'file:///x/dist/util/clock.js')).toBe('clocks and timers');
    expect(categoryOf('now', 'node:internal/perf/utils')).toBe('clocks and timers');
    expect(categoryOf('step', 'file:///x/dist/util/loop-slices.js')).toBe('per-event scheduling (loop slices, promises, microtasks)');
    expect(categoryOf('processTicksAndRejections', 'node:internal/process/task_queues')).toBe('per-event scheduling (loop slices, promises, microtasks)');
    expect(categoryOf('runMicrotasks', '')).toBe('per-event scheduling (loop slices, promises, microtasks)');
    // the histogram's own module, before the wider rule for bench's directory
    expect(categoryOf('recordMs', 'file:///x/dist/bench/histogram.js')).toBe('histogram recording');
    expect(categoryOf('recordValue', 'file:///x/node_modules/hdr-histogram-js/dist/JsHistogram.js')).toBe('histogram recording');
    expect(categoryOf('add', 'file:///x/dist/bench/accumulator.js')).toBe('bench loop and accounting');
    expect(categoryOf('streamInto', 'file:///x/dist/providers/http-adapter.js')).toBe('request plumbing (adapter, exchange)');
    expect(categoryOf('onStreamRead', 'node:internal/stream_base_commons')).toBe('Node sockets, streams, buffers and events');
    expect(categoryOf('emit', 'node:events')).toBe('Node sockets, streams, buffers and events');
    expect(categoryOf('somethingElse', 'node:internal/url')).toBe('other');
  });

  it('counts samples per kind, splits JSON.parse and JSON.stringify out of their callers by line, and leaves idle out', () => {
    mkdirSync(join(dir, 'dist', 'providers'), { recursive: true });
    const file = join(dir, 'dist', 'providers', 'http-adapter.js');
    writeFileSync(file, ['function streamInto() {', '  const body = JSON.stringify(x);', '  const parsed = JSON.parse(text);', '  return parsed;', '}'].join('\n'));
    const url = pathToFileURL(file).href;
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '' } },
        { id: 2, callFrame: { functionName: '(idle)', url: '' } },
        { id: 3, callFrame: { functionName: '(garbage collector)', url: '' } },
        // line ticks: 2 on the stringify line, 6 on the parse line, 2 elsewhere
        { id: 4, callFrame: { functionName: 'streamInto', url }, positionTicks: [{ line: 2, ticks: 2 }, { line: 3, ticks: 6 }, { line: 4, ticks: 2 }] },
        { id: 5, callFrame: { functionName: 'writeUtf8String', url: '' } },
      ],
      // a sample counts once however long the thread was away before it (no time deltas)
      samples: [2, 3, 4, 4, 4, 4, 4, 5, 5, 2, 2],
    };
    const by = samplesByCategory(profile);
    expect(by.get('garbage collection')).toBe(1);
    expect(by.get('socket writes (native write, system call)')).toBe(2);
    // streamInto's 5 samples: 3 on JSON.parse's line, 1 on JSON.stringify's, 1 its own
    expect(by.get('JSON.parse')).toBeCloseTo(3, 9);
    expect(by.get('JSON.stringify')).toBeCloseTo(1, 9);
    expect(by.get('request plumbing (adapter, exchange)')).toBeCloseTo(1, 9);
    expect([...by.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(8, 9); // idle's 3 samples left out
  });

  it('turns shares of the samples into µs of the main thread’s measured CPU per event or per request', () => {
    const streamed: ClientProfile = { ok: 10, failed: 0, events: 200, wallMs: 1000, mainThreadCpuMs: 40, samples: { 'JSON.parse': 30, 'garbage collection': 10, other: 0.1 } };
    const plain: ClientProfile = { ok: 100, failed: 0, events: 0, wallMs: 1000, mainThreadCpuMs: 5, samples: { 'JSON.parse': 1, 'socket writes (native write, system call)': 3 } };
    const table = profileTable([
      { label: 'streamed', per: 'event', profile: streamed },
      { label: 'plain', per: 'request', profile: plain },
    ]);
    expect(table[0]).toBe('| kind of work | streamed: share | µs per event | plain: share | µs per request |');
    // JSON.parse: 30 of 40.1 samples of 40 ms over 200 events; 1 of 4 samples of 5 ms over 100 requests
    expect(table).toContain('| JSON.parse | 74.8 % | 149.6 | 25 % | 12.5 |');
    expect(table).toContain('| socket writes (native write, system call) | 0 % | 0 | 75 % | 37.5 |');
    expect(table).toContain('| main thread, all of it | 100 % | 200 | 100 % | 50 |');
    // under 0.5 % in every run: left out
    expect(table.some((row) => row.startsWith('| other |'))).toBe(false);
    // rows follow the first run's shares
    expect(table.findIndex((r) => r.startsWith('| JSON.parse'))).toBeLessThan(table.findIndex((r) => r.startsWith('| garbage collection')));
  });
});

// Where a CPU profile's time went, by kind of work: the breakdown BENCHMARKS.md quotes for bench's client.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The parts of a V8 CPU profile (`Profiler.stop`, or a `--cpu-prof` file) this reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; positionTicks?: { line: number; ticks: number }[] }[];
  samples: number[];
}

/** The kinds of work, in the order a breakdown lists them when shares are equal. */
export const CATEGORIES = [
  'socket writes (native write, system call)',
  'garbage collection',
  'JSON.parse',
  'JSON.stringify',
  'SSE and body decoding, stream fold',
  'HTTP/1.1 client (request, response framing)',
  'request plumbing (adapter, exchange)',
  'clocks and timers',
  'per-event scheduling (loop slices, promises, microtasks)',
  'histogram recording',
  'bench loop and accounting',
  'Node sockets, streams, buffers and events',
  'V8 and native, unattributed',
  'other',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** Native functions (no script of their own) by what they do. */
const NATIVE: Record<string, Category | 'idle'> = {
  writeUtf8String: 'socket writes (native write, system call)',
  writeBuffer: 'socket writes (native write, system call)',
  writev: 'socket writes (native write, system call)',
  writeLatin1String: 'socket writes (native write, system call)',
  writeAsciiString: 'socket writes (native write, system call)',
  writeUcs2String: 'socket writes (native write, system call)',
  now: 'clocks and timers',
  ref: 'Node sockets, streams, buffers and events',
  unref: 'Node sockets, streams, buffers and events',
  indexOfBuffer: 'Node sockets, streams, buffers and events',
  latin1Slice: 'Node sockets, streams, buffers and events',
  utf8Slice: 'Node sockets, streams, buffers and events',
  asciiSlice: 'Node sockets, streams, buffers and events',
  enqueueMicrotask: 'per-event scheduling (loop slices, promises, microtasks)',
  runMicrotasks: 'per-event scheduling (loop slices, promises, microtasks)',
  // The inspector session starting and stopping the profiler itself, not the client's work.
  dispatch: 'idle',
};

/**
 * The kind of work of a function, from where it is (our modules by their directory, Node's by theirs).
 * Natives have no script: they are known by name, and only when their URL is empty.
 */
export function categoryOf(functionName: string, url: string): Category | 'idle' {
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(program)') return 'V8 and native, unattributed';
  if (url === '' && NATIVE[functionName] !== undefined) return NATIVE[functionName];
  if (/\/dist\/providers\/h1\//.test(url)) return 'HTTP/1.1 client (request, response framing)';
  if (/\/dist\/providers\/(openai|anthropic|sse|fold)\.js$/.test(url)) return 'SSE and body decoding, stream fold';
  // The clocks of each attempt, the time stamps (performance.now and its wrappers) and Node's timers.
  if (/\/dist\/providers\/transport\.js$|\/dist\/util\/clock\.js$|^node:internal\/timers$|^node:timers$|^node:internal\/perf\/(performance|utils)$/.test(url)) return 'clocks and timers';
  // What hands each read on to its decoding: the slices of loop time, and the promises and microtasks that wake readers.
  if (/\/dist\/util\/loop-slices\.js$/.test(url) || /^node:internal\/(process\/task_queues|process\/promises|async_hooks)$/.test(url)) return 'per-event scheduling (loop slices, promises, microtasks)';
  if (/hdr-histogram-js|\/dist\/bench\/histogram\.js$/.test(url)) return 'histogram recording';
  if (/\/dist\/bench\/|\/dist\/util\/tokens\.js$/.test(url)) return 'bench loop and accounting';
  if (/\/dist\/providers\//.test(url) || /\/dist\/util\/redact\.js$/.test(url)) return 'request plumbing (adapter, exchange)';
  // The client's health monitor (event-loop delay), part of every bench run.
  if (url === 'node:internal/perf/event_loop_delay') return 'bench loop and accounting';
  if (/^node:(net|buffer|events|internal\/(stream_base_commons|streams\/|buffer|net))/.test(url)) return 'Node sockets, streams, buffers and events';
  return 'other';
}

/** The source line `line` (1-based) of a module given by its file:// URL, or '' when it cannot be read. */
function sourceLineReader(): (url: string, line: number) => string {
  const files = new Map<string, string[]>();
  return (url, line) => {
    if (!url.startsWith('file://')) return '';
    let lines = files.get(url);
    if (lines === undefined) {
      try {
        lines = readFileSync(fileURLToPath(url), 'utf8').split('\n');
      } catch {
        lines = [];
      }
      files.set(url, lines);
    }
    return lines[line - 1] ?? '';
  };
}

/**
 * Samples per kind of work (shares of the sampled time: each sample is one sampling interval of the
 * thread's work). The profile's time deltas are not used: a thread off its core between two samples (on a
 * machine shared with the server it measures) would lend that wait to whatever ran when it came back.
 * JSON.parse and JSON.stringify run inside the function that calls them (a profile has no frame of their
 * own), so the lines that call them are counted apart: a function's samples are split over its lines by
 * the profile's line ticks.
 */
export function samplesByCategory(profile: CpuProfile, lineOf: (url: string, line: number) => string = sourceLineReader()): Map<Category, number> {
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const out = new Map<Category, number>();
  const add = (c: Category, n: number) => out.set(c, (out.get(c) ?? 0) + n);
  for (const node of profile.nodes) {
    const n = hits.get(node.id);
    if (!n) continue;
    const { functionName, url } = node.callFrame;
    const category = categoryOf(functionName, url);
    if (category === 'idle') continue;
    const ticks = node.positionTicks ?? [];
    const total = ticks.reduce((a, t) => a + t.ticks, 0);
    let rest = n;
    for (const t of total > 0 ? ticks : []) {
      const text = lineOf(url, t.line);
      const json = text.includes('JSON.parse(') ? 'JSON.parse' : text.includes('JSON.stringify(') ? 'JSON.stringify' : undefined;
      if (json) {
        const share = (n * t.ticks) / total;
        add(json, share);
        rest -= share;
      }
    }
    add(category, rest);
  }
  return out;
}

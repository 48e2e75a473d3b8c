// Where a CPU profile's time went, by kind of work: the breakdown BENCHMARKS.md quotes for bench's client.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The parts of a V8 CPU profile (`Profiler.stop`, or a `--cpu-prof` file) this reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; positionTicks?: { line: number; ticks: number }[] }[];
  samples: number[];
  timeDeltas: number[];
}

/** The kinds of work, in the order a breakdown lists them when shares are equal. */
export const CATEGORIES = [
  'socket writes (system calls)',
  'garbage collection',
  'JSON.parse',
  'JSON.stringify',
  'SSE and body decoding, stream fold',
  'HTTP/1.1 client (request, response framing)',
  'request plumbing (adapter, exchange)',
  'clocks and timers',
  'histogram recording',
  'bench loop and accounting',
  'promises and microtasks',
  'Node sockets, streams and buffers',
  'V8 and native, unattributed',
  'other',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** Native functions (no script of their own) by what they do. */
const NATIVE: Record<string, Category | 'idle'> = {
  writeUtf8String: 'socket writes (system calls)',
  writeBuffer: 'socket writes (system calls)',
  writev: 'socket writes (system calls)',
  writeLatin1String: 'socket writes (system calls)',
  writeAsciiString: 'socket writes (system calls)',
  writeUcs2String: 'socket writes (system calls)',
  now: 'clocks and timers',
  ref: 'Node sockets, streams and buffers',
  unref: 'Node sockets, streams and buffers',
  indexOfBuffer: 'Node sockets, streams and buffers',
  latin1Slice: 'Node sockets, streams and buffers',
  utf8Slice: 'Node sockets, streams and buffers',
  asciiSlice: 'Node sockets, streams and buffers',
  enqueueMicrotask: 'promises and microtasks',
  runMicrotasks: 'promises and microtasks',
  // The inspector session starting and stopping the profiler itself, not the client's work.
  dispatch: 'idle',
};

/** The kind of work of a function, from where it is (our modules by their directory, Node's by theirs). */
export function categoryOf(functionName: string, url: string): Category | 'idle' {
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(program)') return 'V8 and native, unattributed';
  if (url === '' && NATIVE[functionName] !== undefined) return NATIVE[functionName];
  if (/\/dist\/providers\/h1\//.test(url)) return 'HTTP/1.1 client (request, response framing)';
  if (/\/dist\/providers\/(openai|anthropic|sse|fold)\.js$/.test(url)) return 'SSE and body decoding, stream fold';
  if (/\/dist\/providers\/transport\.js$|\/dist\/util\/loop-slices\.js$|^node:internal\/timers$|^node:timers$/.test(url)) return 'clocks and timers';
  if (/hdr-histogram-js|\/dist\/bench\/histogram\.js$/.test(url)) return 'histogram recording';
  if (/\/dist\/bench\/|\/dist\/util\/tokens\.js$/.test(url)) return 'bench loop and accounting';
  if (/\/dist\/providers\//.test(url) || /\/dist\/util\/(clock|redact)\.js$/.test(url)) return 'request plumbing (adapter, exchange)';
  if (/^node:internal\/(process\/task_queues|process\/promises|async_hooks)$/.test(url)) return 'promises and microtasks';
  // The client's health monitor (event-loop delay), part of every bench run.
  if (url === 'node:internal/perf/event_loop_delay') return 'bench loop and accounting';
  if (/^node:(net|buffer|events|internal\/(stream_base_commons|streams\/|buffer|net))/.test(url)) return 'Node sockets, streams and buffers';
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
 * Self time (µs) per kind of work. JSON.parse and JSON.stringify run inside the function that calls them
 * (a profile has no frame of their own), so the lines that call them are counted apart: a function's self
 * time is split over its lines by the profile's line ticks.
 */
export function cpuByCategory(profile: CpuProfile, lineOf: (url: string, line: number) => string = sourceLineReader()): Map<Category, number> {
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const out = new Map<Category, number>();
  const add = (c: Category, us: number) => out.set(c, (out.get(c) ?? 0) + us);
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id);
    if (!us) continue;
    const { functionName, url } = node.callFrame;
    const category = categoryOf(functionName, url);
    if (category === 'idle') continue;
    const ticks = node.positionTicks ?? [];
    const total = ticks.reduce((a, t) => a + t.ticks, 0);
    let rest = us;
    for (const t of total > 0 ? ticks : []) {
      const text = lineOf(url, t.line);
      const json = text.includes('JSON.parse(') ? 'JSON.parse' : text.includes('JSON.stringify(') ? 'JSON.stringify' : undefined;
      if (json) {
        const share = (us * t.ticks) / total;
        add(json, share);
        rest -= share;
      }
    }
    add(category, rest);
  }
  return out;
}

import { performance } from 'node:perf_hooks';
import { markDeferredWork } from './clock.js';

/**
 * How long deferred work may run in one turn of the event loop before the loop goes back to the network.
 * Network reads are time-stamped when they happen (clock.ts, ioNow), so work held back costs no accuracy;
 * but a read that waits behind a long run of work is stamped as late as the run was long.
 */
const SLICE_MS = 0.5;

/** Tasks waiting for a slice, oldest first, from `head`. */
let tasks: ((() => void) | undefined)[] = [];
let head = 0;
let scheduled = false;
/** When the running slice ends. */
let sliceEnds = 0;

function schedule(): void {
  if (!scheduled) {
    scheduled = true;
    setImmediate(drain);
  }
}

function drain(): void {
  scheduled = false;
  sliceEnds = performance.now() + SLICE_MS;
  markDeferredWork(true);
  step();
}

const endWork = (): void => markDeferredWork(false);

/** The chain of tasks stops: deferred work ends after the ticks it queued (a TLS socket's resume delivers its bytes in one). */
function stop(): void {
  process.nextTick(endWork);
}

/**
 * Runs the oldest task, then comes back as a microtask queued behind the ones the task released (an
 * awaiting reader's processing of a response), so that processing runs, and is counted, before the next
 * task starts. When the slice is spent, the rest waits for the next turn, after a poll for ready sockets.
 */
function step(): void {
  if (head === tasks.length) {
    tasks = [];
    head = 0;
    stop();
    return;
  }
  if (performance.now() > sliceEnds) {
    if (head > 1024) {
      tasks = tasks.slice(head);
      head = 0;
    }
    schedule();
    stop();
    return;
  }
  const task = tasks[head]!;
  tasks[head++] = undefined;
  try {
    task();
  } finally {
    // Behind the microtasks the task released; queued even if it threw, so the rest are not stranded.
    queueMicrotask(step);
  }
}

/** Runs `task` after the current poll phase, within this turn's slice of processing time or a later turn's, in the order asked. */
export function inSlice(task: () => void): void {
  tasks.push(task);
  schedule();
}

/** Resolves in a slice (see inSlice). */
export function nextSlice(): Promise<void> {
  return new Promise((resolve) => inSlice(resolve));
}

/**
 * One caller's waits (an emulated stream's token gaps), which end at once when it stops (its connection
 * closed): a pending timer would keep the process alive after Ctrl-C until it ran out. A field per wait
 * rather than an AbortSignal listener per wait: adding and removing a listener cost the emulator about
 * 2 µs a token, which at 1,000 streams is a load the self-check's emulator cannot spare.
 */
export class Waits {
  ended = false;
  timer: NodeJS.Timeout | undefined = undefined;
  resolve: (() => void) | undefined = undefined;

  /** Ends the pending wait, and makes every later one resolve at once. */
  end(): void {
    this.ended = true;
    clearTimeout(this.timer);
    const resolve = this.resolve;
    this.timer = this.resolve = undefined;
    resolve?.();
  }
}

function waitFell(w: Waits): void {
  const resolve = w.resolve!;
  w.timer = w.resolve = undefined;
  inSlice(resolve);
}

/**
 * Resolves in a slice once `ms` have passed: a timer's callbacks all run at once, their work need not.
 * Work already due goes on at once while the running slice lasts (behind schedule, each step would
 * otherwise wait for the whole queue again). With `waits`, the wait ends early when they are ended (the
 * caller checks why); one wait at a time per Waits.
 */
export function sliceAfter(ms: number, waits?: Waits): Promise<void> {
  if (ms <= 0 && performance.now() <= sliceEnds) return Promise.resolve();
  return new Promise((resolve) => {
    if (ms <= 0) return inSlice(resolve);
    if (!waits) return void setTimeout(inSlice, ms, resolve);
    if (waits.ended) return resolve();
    waits.resolve = resolve;
    waits.timer = setTimeout(waitFell, ms, waits);
  });
}

/** A timer set with sliceTimeout. */
export interface SliceTimer {
  /** Stops the timer, and its callback if the timer fell due and the callback waits for its slice. */
  cancel(): void;
}

/**
 * setTimeout for timers that judge what the network brought (a first-token clock, a hedge, serve's
 * commit): the callback runs in a slice, behind the wake-ups of every read made before the timer fell
 * due, so a token read in time but not yet decoded is seen before the timer decides it never came.
 */
export function sliceTimeout(callback: () => void, ms: number): SliceTimer {
  let live = true;
  const timer = setTimeout(inSlice, ms, () => {
    if (live) callback();
  });
  return {
    cancel() {
      live = false;
      clearTimeout(timer);
    },
  };
}

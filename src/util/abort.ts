/**
 * One listener per caller signal, however many requests watch it: Node's addEventListener and
 * removeEventListener cost more per request than the rest of the clock (bench's 1,000 requests in
 * flight all watch the run's one stop signal), and past 10 listeners on one signal Node prints a
 * MaxListenersExceededWarning on the host program's stderr (a library user's one shutdown signal
 * passed to many calls at once).
 */
const watchers = new WeakMap<AbortSignal, Set<() => void>>();

export function watchAbort(signal: AbortSignal, onAbort: () => void): void {
  let set = watchers.get(signal);
  if (!set) {
    const s = new Set<() => void>();
    set = s;
    watchers.set(signal, s);
    signal.addEventListener('abort', () => {
      for (const f of [...s]) f();
      s.clear();
    }, { once: true });
  }
  set.add(onAbort);
}

export function unwatchAbort(signal: AbortSignal, onAbort: () => void): void {
  watchers.get(signal)?.delete(onAbort);
}

import type { ServerResponse } from 'node:http';
import { now } from '../util/clock.js';

/**
 * A provider's serving capacity (profile `capacity: { slots: N }`): at most N requests are in service at
 * once and the rest wait in arrival order, so the provider has a real knee at N / service time
 * requests per second. A request whose client gives up while it waits leaves the queue.
 */
export class ServiceSlots {
  private busy = 0;
  private readonly waiting: { res: ServerResponse; start: (at: number) => void }[] = [];

  constructor(readonly slots: number) {}

  /** Resolves with the time service starts, or undefined when the client went away while waiting. */
  take(res: ServerResponse): Promise<number | undefined> {
    if (this.busy < this.slots) {
      this.busy++;
      return Promise.resolve(now());
    }
    return new Promise((resolve) => {
      const entry = { res, start: (at: number) => resolve(at) };
      this.waiting.push(entry);
      res.once('close', () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          resolve(undefined);
        }
      });
    });
  }

  /** The slot passes straight to the longest-waiting request, if any. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next.start(now());
    else this.busy--;
  }

  /** Requests waiting for a slot now. */
  get queued(): number {
    return this.waiting.length;
  }
}

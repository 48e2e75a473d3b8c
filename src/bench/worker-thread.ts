/**
 * One `bench --workers` thread: builds its own adapters (its own connections), runs its share of the load
 * in a BenchRunner of its own (warming its request path and opening its connections before the clock),
 * posts progress while it runs and its accumulators, encoded as a result's providers, when it ends.
 * Started only by WorkerPool (workers.ts); the protocol is the messages typed there.
 */
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createAdapter } from '../providers/index.js';
import { toEpochMs } from '../util/clock.js';
import { encode } from './histogram.js';
import { providerResult } from './result.js';
import { BenchRunner, type BenchTarget, type RequestRecord } from './runner.js';
import { processIndex, type FromWorker, type ToWorker, type WorkerInit, type WorkerProvider } from './workers.js';

/** Forwarded records go out at least this often, or once this many are waiting. */
const FORWARD_MS = 50;
const FORWARD_BATCH = 256;

const init = workerData as WorkerInit | null;
const post = (m: FromWorker) => parentPort!.postMessage(m);
const epoch = (t: number) => (Number.isFinite(t) ? toEpochMs(t) : null);

async function main(init: WorkerInit, port: NonNullable<typeof parentPort>): Promise<void> {
  const targets: BenchTarget[] = init.targets.map(({ settings, price }) => ({ name: settings.name, model: settings.model, api: settings.api, adapter: createAdapter(settings), price }));
  const runner = new BenchRunner(targets, init.spec);
  let go!: () => void;
  const started = new Promise<void>((resolve) => (go = resolve));
  port.on('message', (m: ToWorker) => {
    if (m.type === 'stop') runner.stop();
    // A stop before the clock starts releases the wait too: the runner then sends nothing.
    go();
  });
  const warm = new Map<string, number>();
  // --raw and --hlog follow every request: records go to the main thread in batches (without the token gaps neither uses).
  let batch: [string, RequestRecord][] = [];
  const flush = () => {
    if (batch.length) post({ type: 'requests', origin: performance.timeOrigin, items: batch });
    batch = [];
  };
  runner.on('request', (name: string, r: RequestRecord) => {
    if (r.warmup) warm.set(name, (warm.get(name) ?? 0) + 1);
    if (init.forward && batch.push([name, { ...r, index: processIndex(r.index, init.spec.warmup, init.thread), gaps: [] }]) >= FORWARD_BATCH) flush();
  });
  const flusher = init.forward ? setInterval(flush, FORWARD_MS) : undefined;
  const progress = () =>
    post({
      type: 'progress',
      providers: targets.map((t) => {
        const acc = runner.accumulators.get(t.name)!;
        return { name: t.name, warm: warm.get(t.name) ?? 0, done: acc.ok + acc.failed, failed: acc.failed, measuredStart: epoch(acc.firstStart), latency: acc.h.latency.totalCount ? encode(acc.h.latency) : '' };
      }),
    });
  const timer = init.progressMs ? setInterval(progress, init.progressMs) : undefined;
  try {
    const outcome = await runner.run(async () => {
      post({ type: 'ready' });
      await started;
    });
    if (timer) clearInterval(timer);
    if (flusher) clearInterval(flusher);
    flush();
    const providers: WorkerProvider[] = targets.map((t) => {
      const acc = outcome.accumulators.get(t.name)!;
      return { result: providerResult(acc, t), timeline: acc.timeline.state(), firstStart: epoch(acc.firstStart), lastEnd: epoch(acc.lastEnd), sends: acc.sends, firstSend: epoch(acc.firstSend), lastSend: epoch(acc.lastSend) };
    });
    post({ type: 'done', providers, partial: outcome.partial, startedAt: outcome.startedAt.getTime(), endedAt: outcome.endedAt.getTime(), client: outcome.client });
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  } finally {
    if (timer) clearInterval(timer);
    if (flusher) clearInterval(flusher);
    await Promise.all(targets.map((t) => t.adapter.close()));
    port.close();
  }
}

// Runs only as a thread WorkerPool started; importing the module elsewhere does nothing.
if (!isMainThread && parentPort && init) await main(init, parentPort);

// Child process of `npm run perf`: a bench client's memory after 1k, 10k and 100k real requests, then after
// 1M request records folded into the same accumulator. Prints one JSON line. `node memory.js URL` reads the
// resident memory at each mark; `node --expose-gc memory.js URL held` what is still held after a full
// collection instead: the JavaScript heap and the memory outside it (buffers and typed arrays: the HDR
// histograms' counts). A separate run: a full collection changes how much heap V8 keeps, and so the
// resident figures.
import { ProviderAccumulator } from '../bench/accumulator.js';
import type { RequestRecord } from '../bench/measure.js';
import { perfRunner } from './perf-runner.js';

const url = process.argv[2];
const held = process.argv[3] === 'held';
const collect = (globalThis as { gc?: () => void }).gc;
if (held && !collect) throw new Error('memory.js held needs node --expose-gc');
const marks: Record<string, number> = {};
const toMiB = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
const mark = (at: string) => {
  if (held) {
    // Twice: V8 frees the memory of dead buffers and typed arrays in the background after a collection,
    // and the next one waits for that (after only one, `external` still counted up to 14 MiB of dead buffers).
    collect!();
    collect!();
    const m = process.memoryUsage();
    marks[at] = toMiB(m.heapUsed + m.external);
  } else marks[at] = toMiB(process.memoryUsage().rss);
};
const { runner, adapter } = perfRunner(url, 'instant', { concurrency: 32, requests: 100_000, prompts: [[{ role: 'user', content: 'memory' }]], maxInflight: 1000 });
let n = 0;
runner.on('request', () => {
  n++;
  if (n === 1_000) mark('1k');
  if (n === 10_000) mark('10k');
});
const t0 = Date.now();
await runner.run();
mark('100k');
const networkSeconds = (Date.now() - t0) / 1000;
// 1M more records through the accumulator, without the network: the memory question is the accumulator's.
const acc = runner.accumulators.get('instant') as ProviderAccumulator;
const rec: RequestRecord = { index: 0, promptIndex: 0, warmup: false, start: 0, issued: 0, sent: 0, firstByte: 0.3, firstToken: 0.5, end: 2, ok: true, status: 200, finishReason: 'stop', gaps: [0.1, 0.1, 0.2], chunks: 4, usage: { inputTokens: 10, cachedInputTokens: 0, outputTokens: 4 }, estimatedInputTokens: 10, estimatedOutputTokens: 4 };
for (let i = 0; i < 900_000; i++) {
  rec.end = 2 + (i % 977) / 100;
  acc.add(rec);
}
mark('1M');
await adapter.close();
process.stdout.write(`${JSON.stringify({ marks, networkSeconds, requestsRecorded: acc.sent })}\n`);

/**
 * `--hlog FILE`: the standard HdrHistogram interval log (format 1.3, as HdrHistogram's Java
 * HistogramLogWriter writes it), so the run can be read by hdr-histogram-js's HistogramLogReader, the
 * Java/Go/Python HDR tools and HdrHistogramVisualizer. One interval histogram per second, per provider and
 * figure, tagged `PROVIDER.latency` and `PROVIDER.ttft` (see hlogTag), values in microseconds (Interval_Max in ms).
 */
import hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import type { RequestRecord } from './measure.js';
import { newHistogram, recordMs } from './histogram.js';

export const HLOG_INTERVAL_MS = 1_000;
/** A request ends at most this many intervals after another that ended later: older intervals are complete and written out. */
const SETTLE_INTERVALS = 2;

type Figure = 'latency' | 'ttft';

/**
 * A tag may not hold a comma, space or line break (the log's field separators; Java's HistogramLogWriter
 * refuses them). Each character of the name outside a safe set is written as %XX of its UTF-8 bytes, as in
 * a URL: two providers never share a tag (replacing with `_` gave "my model" and "my_model" one tag, their
 * requests added together), and decodeURIComponent gives the name back.
 */
export function hlogTag(provider: string, figure: Figure): string {
  const escaped = provider.replace(/[^A-Za-z0-9_.:-]/gu, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
  return `${escaped}.${figure}`;
}

/**
 * Folds finished requests into per-second histograms by the time they ended, and renders each interval
 * once it can no longer change, so memory stays bounded however long the run is (one encoded line per
 * interval, provider and figure).
 */
export class IntervalLog {
  private readonly open = new Map<number, Map<string, Histogram>>();
  private readonly lines: string[] = [];
  private readonly writer: InstanceType<typeof hdr.HistogramLogWriter>;
  private newest = -1;

  /** `monoStart`: the monotonic clock (util/clock now()) at `epochStartMs`. */
  constructor(
    epochStartMs: number,
    private readonly monoStart: number,
  ) {
    this.writer = new hdr.HistogramLogWriter((text: string) => this.lines.push(text));
    this.writer.outputComment('[Logged with llm-fallback bench --hlog]');
    this.writer.outputLogFormatVersion();
    // Written here rather than by outputStartTime, which adds a blank line some readers stop at.
    // Whole milliseconds, as Java's outputStartTime takes them: the seconds and the ISO time then name the
    // same instant (toFixed rounded a fractional ms up where toISOString cut it off, 1 ms apart).
    const startMs = Math.round(epochStartMs);
    this.writer.outputComment(`[StartTime: ${(startMs / 1000).toFixed(3)} (seconds since epoch), ${new Date(startMs).toISOString()}]`);
    this.writer.outputLegend();
  }

  add(provider: string, r: RequestRecord): void {
    if (r.warmup || !r.ok) return;
    const k = Math.max(0, Math.floor((r.end - this.monoStart) / HLOG_INTERVAL_MS));
    let slot = this.open.get(k);
    if (!slot) this.open.set(k, (slot = new Map()));
    const put = (figure: Figure, ms: number) => {
      const tag = hlogTag(provider, figure);
      let h = slot!.get(tag);
      if (!h) slot!.set(tag, (h = newHistogram()));
      recordMs(h, ms);
    };
    put('latency', r.end - r.start);
    if (r.firstToken !== undefined) put('ttft', r.firstToken - r.start);
    if (k > this.newest) {
      this.newest = k;
      for (const old of [...this.open.keys()].filter((i) => i < k - SETTLE_INTERVALS).sort((a, b) => a - b)) this.flush(old);
    }
  }

  /** The whole log, every interval written (call once, at the end of the run). */
  text(): string {
    for (const k of [...this.open.keys()].sort((a, b) => a - b)) this.flush(k);
    return this.lines.join('');
  }

  private flush(k: number): void {
    const slot = this.open.get(k)!;
    this.open.delete(k);
    const start = (k * HLOG_INTERVAL_MS) / 1000;
    for (const tag of [...slot.keys()].sort()) {
      const h = slot.get(tag)!;
      h.tag = tag;
      this.writer.outputIntervalHistogram(h, start, start + HLOG_INTERVAL_MS / 1000, 1000);
      h.destroy();
    }
  }
}

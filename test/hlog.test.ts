// `bench --hlog` judged by the format's owner rather than by the library that writes it: hlog.ts writes
// through hdr-histogram-js's HistogramLogWriter, so reading back with the same library proves little. The
// lines are checked against HdrHistogram's Java HistogramLogWriter and HistogramLogScanner
// (github.com/HdrHistogram/HdrHistogram at de84b0a7, src/main/java/org/HdrHistogram/): the header lines
// outputComment/outputLogFormatVersion/outputStartTime/outputLegend print, interval lines as
// "Tag=%s,%.3f,%.3f,%.3f,%s", fields split on [ ,\r\n] as the Scanner splits them, a tag refused when it
// holds a comma, space or line break, and relative timestamps read against StartTime. The counts are
// checked against the run's own JSON and its --raw lines, from real runs of the CLI against the emulator.
// And the log is read by that Java library itself: HdrHistogram 2.1.11's HistogramLogProcessor, from
// Debian's libhdrhistogram-java (.ci/run installs it with a headless JRE).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { run } from './cli-helpers.js';
import { emulator } from './helpers.js';

const HDR_JAR = '/usr/share/java/hdrhistogram.jar';
if (!existsSync(HDR_JAR)) throw new Error(`the --hlog tests need ${HDR_JAR} and a JRE (Debian packages libhdrhistogram-java and default-jre-headless; .ci/run installs them)`);

const dir = mkdtempSync(join(tmpdir(), 'llmf-hlog-'));
const home = { HOME: dir, XDG_STATE_HOME: dir, XDG_CACHE_HOME: dir, GITHUB_STEP_SUMMARY: '' };

// Names a tag cannot hold as they are (a space, a comma), one that only differs from another by a space,
// an '=' (the tag field's own separator) and a non-ASCII letter; the emulator serves each under a plain route.
const NAMES = ['plain', 'with space', 'with_space', 'with,comma', 'a=b', 'naïve'];
const server = await emulator(Object.fromEntries(NAMES.map((_, i) => [`p${i}`, { dialect: 'openai' as const, ttft: { dist: 'uniform' as const, min: 5, max: 40 }, itl: { dist: 'constant' as const, value: 1 }, output_tokens: { dist: 'uniform' as const, min: 3, max: 8 } }])));
const config = join(dir, 'providers.yaml');
writeFileSync(config, `providers:\n${NAMES.map((n, i) => `  ${JSON.stringify(n)}: { api: openai, base_url: "${server.baseUrl(`p${i}`)}", model: m }`).join('\n')}\n`);

interface Interval {
  tag: string;
  start: number;
  length: number;
  max: number;
  payload: string;
}

/** Reads a log as Java's HistogramLogScanner does, failing where the Java reader would fail or misread. */
function readAsJava(text: string): { startTimeSec: number; startIso: string; header: string[]; intervals: Interval[] } {
  const lines = text.split('\n');
  expect(lines.pop(), 'the log ends with a line break').toBe('');
  const header = lines.filter((l) => l.startsWith('#') || l.startsWith('"'));
  const start = /^#\[StartTime: (\d+\.\d{3}) \(seconds since epoch\), (.*)\]$/.exec(header.find((l) => l.startsWith('#[StartTime:')) ?? '');
  expect(start, 'a StartTime comment').not.toBeNull();
  const intervals = lines
    .filter((l) => !l.startsWith('#') && !l.startsWith('"StartTimestamp"'))
    .map((line) => {
      // The Scanner's delimiter is one of space, comma, CR, LF: a tag holding one would shift every field.
      const fields = line.split(/[ ,\r\n]/);
      expect(fields, line).toHaveLength(5);
      const [tagField, start, length, max, payload] = fields;
      expect(tagField, line).toMatch(/^Tag=[^, \r\n]+$/);
      // Java writes each figure with %.3f (Locale.US).
      for (const n of [start, length, max]) expect(n, line).toMatch(/^\d+\.\d{3}$/);
      expect(payload, line).toMatch(/^HISTF[A-Za-z0-9+/]+=*$/);
      return { tag: tagField.slice(4), start: Number(start), length: Number(length), max: Number(max), payload };
    });
  return { startTimeSec: Number(start![1]), startIso: start![2], header, intervals };
}

interface RawLine {
  provider: string;
  warmup: boolean;
  ok: boolean;
  scheduled_ms: number | null;
  sent_ms: number;
  latency_ms: number;
  ttft_ms: number | null;
}

/** Every check of one run's log against the format and against the run's own JSON and --raw lines. */
function checkRun(text: string, result: { started_at: string; ended_at: string; providers: { name: string; ok: number; latency_ms: { max: number }; ttft_ms: { max: number } }[] }, raw: RawLine[]) {
  const log = readAsJava(text);
  // Header as Java's writer prints it, in the conventional order, and no BaseTime: timestamps are relative to StartTime.
  expect(log.header).toEqual([
    '#[Logged with llm-fallback bench --hlog]',
    '#[Histogram log format version 1.3]',
    expect.stringMatching(/^#\[StartTime: /),
    '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"',
  ]);
  expect(log.startTimeSec * 1000, 'StartTime seconds and ISO time are one instant').toBe(Date.parse(log.startIso));
  expect(log.startTimeSec * 1000).toBeGreaterThanOrEqual(Date.parse(result.started_at) - 1);
  expect(log.startTimeSec * 1000).toBeLessThanOrEqual(Date.parse(result.ended_at));

  // In time order, one line per tag and second, each a whole second long starting on a whole second.
  const starts = log.intervals.map((i) => i.start);
  expect(starts).toEqual([...starts].sort((a, b) => a - b));
  expect(new Set(log.intervals.map((i) => `${i.tag}@${i.start}`)).size).toBe(log.intervals.length);
  for (const i of log.intervals) {
    expect(i.length).toBe(1);
    expect(Number.isInteger(i.start)).toBe(true);
  }

  // One tag per provider and figure; the name reads back from the tag.
  const tagOf = (name: string, figure: string) => log.intervals.find((i) => decodeURIComponent(i.tag.slice(0, i.tag.lastIndexOf('.'))) === name && i.tag.endsWith(`.${figure}`))?.tag;
  const tags = new Set(log.intervals.map((i) => i.tag));
  expect(tags.size).toBe(result.providers.length * 2);
  expect(hdr.listTags(text).sort()).toEqual([...tags].sort());

  // The same log through hdr-histogram-js's reader: absolute times from StartTime, histograms decoded.
  const reader = new hdr.HistogramLogReader(text);
  const decoded: { tag: string; startMs: number; count: number; maxUs: number }[] = [];
  for (let h = reader.nextIntervalHistogram(); h; h = reader.nextIntervalHistogram()) decoded.push({ tag: h.tag, startMs: h.startTimeStampMsec, count: h.totalCount, maxUs: h.maxValue });
  expect(decoded).toHaveLength(log.intervals.length);
  decoded.forEach((d, n) => {
    const line = log.intervals[n];
    expect(d.startMs).toBeCloseTo((log.startTimeSec + line.start) * 1000, 3);
    // Interval_Max is the max in ms; the decoded histogram knows it to its bucket (3 significant digits).
    expect(Math.abs(d.maxUs / 1000 - line.max)).toBeLessThanOrEqual(line.max * 0.001 + 0.001);
  });

  const measured = raw.filter((l) => !l.warmup && l.ok);
  const first = raw.find((l) => !l.warmup)!;
  // The log's clock starts at the first measured request's start (the first one to finish, as raw lists them).
  const t0 = first.scheduled_ms ?? first.sent_ms;
  for (const p of result.providers) {
    for (const [figure, max, value] of [
      ['latency', p.latency_ms.max, (l: RawLine) => l.latency_ms],
      ['ttft', p.ttft_ms.max, (l: RawLine) => l.ttft_ms!],
    ] as const) {
      const tag = tagOf(p.name, figure);
      expect(tag, `${p.name}.${figure}`).toBeDefined();
      const lines = log.intervals.filter((i) => i.tag === tag);
      const counts = decoded.filter((d) => d.tag === tag);
      expect(counts.reduce((n, d) => n + d.count, 0), `${tag} count`).toBe(p.ok);
      // The JSON's max is the exact one the log's interval max is, with threads too: their histograms are added
      // through an encoding that keeps a max only to its bucket, and the exact max is restored beside it.
      expect(Math.max(...lines.map((i) => i.max)), `${tag} max`).toBe(max);
      // Each second's count is the requests of this provider that ended in it (by the --raw times, to the µs).
      // A request ending within 10 µs of a second's edge may fall either side of it (the raw times are rounded to the µs).
      const perSecond = new Map<number, { n: number; max: number }>();
      let nearEdge = 0;
      for (const l of measured.filter((x) => x.provider === p.name)) {
        const endSec = ((l.scheduled_ms ?? l.sent_ms) + l.latency_ms - t0) / 1000;
        if (Math.abs(endSec - Math.round(endSec)) < 0.00001) nearEdge++;
        else {
          const sec = Math.max(0, Math.floor(endSec));
          const s = perSecond.get(sec) ?? { n: 0, max: 0 };
          perSecond.set(sec, { n: s.n + 1, max: Math.max(s.max, value(l)) });
        }
        expect(value(l)).toBeLessThanOrEqual(max * 1.001 + 0.001);
      }
      for (const [sec, { n, max: secMax }] of perSecond) {
        const at = lines.findIndex((i) => i.start === sec);
        const logged = counts[at]?.count ?? 0;
        expect(logged, `${tag} at ${sec} s`).toBeGreaterThanOrEqual(n);
        expect(logged, `${tag} at ${sec} s`).toBeLessThanOrEqual(n + nearEdge);
        // Interval_Max is the slowest request of the second, to the µs the raw line gives.
        if (!nearEdge) expect(lines[at].max, `${tag} max at ${sec} s`).toBe(secMax);
      }
      expect(new Set(lines.map((i) => i.start))).toEqual(nearEdge ? expect.anything() : new Set(perSecond.keys()));
    }
  }
  return { log, tags };
}

/** HdrHistogram's own Java HistogramLogProcessor on a log: its stdout, or with `-o`, the file it writes. */
function javaProcessor(args: string[]): string {
  return execFileSync('java', ['-cp', HDR_JAR, 'org.HdrHistogram.HistogramLogProcessor', ...args], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

const rawLines = (file: string): RawLine[] => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RawLine);

describe('bench --hlog, read as HdrHistogram defines the log', () => {
  it('six providers over several seconds: each its own tag, every interval matching the run', { timeout: 60_000 }, async () => {
    const hlog = join(dir, 'many.hlog');
    const raw = join(dir, 'many.jsonl');
    const r = await run(['--config', config, 'bench', ...NAMES, '--rate', '20', '-n', '50', '--warmup', '2', '-q', '--format', 'json', '--hlog', hlog, '--raw', raw], { env: home, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.providers.map((p: { ok: number }) => p.ok)).toEqual(NAMES.map(() => 50));
    const { log, tags } = checkRun(readFileSync(hlog, 'utf8'), result, rawLines(raw));
    // 50 requests at 20/s: at least three seconds of intervals.
    expect(new Set(log.intervals.map((i) => i.start)).size).toBeGreaterThanOrEqual(3);
    // "with space" and "with_space" used to share the tag with_space.*, their requests added together.
    expect([...tags].sort()).toEqual(['a%3Db.latency', 'a%3Db.ttft', 'na%C3%AFve.latency', 'na%C3%AFve.ttft', 'plain.latency', 'plain.ttft', 'with%20space.latency', 'with%20space.ttft', 'with%2Ccomma.latency', 'with%2Ccomma.ttft', 'with_space.latency', 'with_space.ttft']);

    // The Java reader itself: the same tags, and per tag each interval's count and max and the run's total.
    const listed = javaProcessor(['-i', hlog, '-listtags']).trim().split('\n');
    expect(listed[0]).toBe('Tags found in input file:');
    expect(listed.slice(1).sort()).toEqual([...tags].sort());
    for (const p of result.providers as { name: string; ok: number; latency_ms: { max: number } }[]) {
      const tag = `${encodeURIComponent(p.name)}.latency`;
      const base = join(dir, `java-${tag}`);
      javaProcessor(['-i', hlog, '-tag', tag, '-csv', '-outputValueUnitRatio', '1000', '-o', base]);
      const out = readFileSync(base, 'utf8').trim().split('\n');
      // Java reads StartTime back as the log gives it, and times the intervals from it.
      expect(out[1].startsWith(`#[StartTime: ${log.startTimeSec.toFixed(3)} (seconds since epoch)`), out[1]).toBe(true);
      expect(out[2]).toBe('"Timestamp","Int_Count","Int_50%","Int_90%","Int_Max","Total_Count","Total_50%","Total_90%","Total_99%","Total_99.9%","Total_99.99%","Total_Max"');
      const rows = out.slice(3).map((l) => l.split(',').map(Number));
      const ours = log.intervals.filter((i) => i.tag === tag);
      expect(rows.map((r) => r[0]), tag).toEqual(ours.map((i) => i.start + i.length)); // Java stamps an interval by its end
      const decoded = new hdr.HistogramLogReader(readFileSync(hlog, 'utf8'));
      const counts: number[] = [];
      for (let h = decoded.nextIntervalHistogram(); h; h = decoded.nextIntervalHistogram()) if (h.tag === tag) counts.push(h.totalCount);
      expect(rows.map((r) => r[1]), tag).toEqual(counts);
      rows.forEach((r, n) => expect(Math.abs(r[4] - ours[n].max), `${tag} Int_Max`).toBeLessThanOrEqual(ours[n].max * 0.001 + 0.001));
      expect(rows.at(-1)![5], tag).toBe(p.ok);
      expect(Math.abs(rows.at(-1)![11] - p.latency_ms.max)).toBeLessThanOrEqual(p.latency_ms.max * 0.001 + 0.001);
    }
  });

  it('with worker threads: every thread\'s requests in the intervals, still in time order', { timeout: 60_000 }, async () => {
    const hlog = join(dir, 'workers.hlog');
    const raw = join(dir, 'workers.jsonl');
    const r = await run(['--config', config, 'bench', 'with space', 'plain', '--workers', '2', '--rate', '40', '-n', '100', '-q', '--format', 'json', '--hlog', hlog, '--raw', raw], { env: home, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.run.workers).toBe(2);
    const { log } = checkRun(readFileSync(hlog, 'utf8'), result, rawLines(raw));
    expect(new Set(log.intervals.map((i) => i.start)).size).toBeGreaterThanOrEqual(2);
  });
});

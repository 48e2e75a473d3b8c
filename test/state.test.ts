import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileBreakers } from '../src/state/breaker.js';
import { FileAnswerCache, cacheKey } from '../src/state/cache.js';
import { LOCK_STALE_MS, LockTimeout, atomicWrite, cleanStaleTmp, ensurePrivateDir, lockIsStale, withLock } from '../src/state/files.js';
import { FileLatencyHistory, HISTORY_KEYS, HISTORY_SAMPLES, MemoryLatencyHistory } from '../src/state/latency.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'llmf-state-'));
const HOUR = 3_600_000;

describe('state files: breakers.json that cannot be used is ignored with a warning', () => {
  it.each([
    ['a number', '42'],
    ['a string', '"open"'],
    ['a list', '[1, 2]'],
    ['not JSON', '{ not json'],
  ])('%s', async (_what, text) => {
    const dir = fresh();
    mkdirSync(join(dir, 'llm-fallback'), { mode: 0o700 });
    writeFileSync(join(dir, 'llm-fallback', 'breakers.json'), text);
    const warnings: string[] = [];
    const b = new FileBreakers(undefined, { XDG_STATE_HOME: dir }, (m) => warnings.push(m));
    expect(await b.all()).toEqual({});
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/breaker state .*breakers\.json is not (valid JSON|a JSON object); ignoring it/);
    // and a failure is recorded over it, not lost
    await b.failure('k', 'p', 'server', undefined);
    expect((await b.get('k'))!.consecutive_failures).toBe(1);
  });

  it('drops wrong-shaped records, clamps a huge open_until to an hour, and keeps the good ones', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'llm-fallback'), { mode: 0o700 });
    const now = Date.now();
    const good = { name: 'g', state: 'open', consecutive_failures: 3, open_until: now + 10_000, opened_at: now, last_error: 'server', probe_started_at: null, updated_at: now };
    writeFileSync(
      join(dir, 'llm-fallback', 'breakers.json'),
      JSON.stringify({ g: good, huge: { ...good, name: 'huge', open_until: 1e300 }, bad: { name: 'bad', state: 'open', open_until: 'tomorrow' }, n: 7 }),
    );
    const warnings: string[] = [];
    const b = new FileBreakers(undefined, { XDG_STATE_HOME: dir }, (m) => warnings.push(m));
    const all = await b.all();
    expect(Object.keys(all).sort()).toEqual(['g', 'huge']);
    expect(all.huge.open_until! - now).toBeLessThanOrEqual(HOUR + 1000);
    expect(warnings).toEqual([expect.stringMatching(/ignoring 2 records of the wrong shape \(bad, n\)/)]);
    // the admission message can always be formatted
    const adm = b.admit('huge', 'huge');
    expect(adm.allowed).toBe(false);
    if (!adm.allowed) expect(new Date(adm.openUntil).toISOString()).toMatch(/^\d{4}-/);
  });
});

describe('locks', () => {
  it('decides staleness by holder, age and a date in the future', () => {
    const now = 1_000_000;
    expect(lockIsStale({ pid: process.pid, at: now - 100 }, now)).toBeUndefined();
    expect(lockIsStale({ pid: process.pid, at: now + 60_000 }, now)).toBe('dated in the future');
    expect(lockIsStale({ pid: process.pid, at: now - LOCK_STALE_MS - 1 }, now)).toMatch(/older than/);
    expect(lockIsStale({ pid: 4242, at: now - 100 }, now, () => false)).toBe('its process 4242 is gone');
  });

  it('takes over a lock dated in the future, and one whose process is gone', async () => {
    const dir = fresh();
    const file = join(dir, 'x.json');
    for (const body of [JSON.stringify({ pid: process.pid, at: Date.now() + 24 * HOUR }), JSON.stringify({ pid: 2 ** 22 + 12345, at: Date.now() })]) {
      writeFileSync(`${file}.lock`, body);
      const t0 = Date.now();
      expect(await withLock(file, async () => 'ran')).toBe('ran');
      expect(Date.now() - t0).toBeLessThan(500);
      expect(existsSync(`${file}.lock`)).toBe(false);
    }
  });

  it('a lock from an old version (no content) dated in the future by its mtime is taken over', async () => {
    const dir = fresh();
    const file = join(dir, 'x.json');
    writeFileSync(`${file}.lock`, '');
    const future = new Date(Date.now() + 10 * 24 * HOUR);
    utimesSync(`${file}.lock`, future, future);
    expect(await withLock(file, async () => 1)).toBe(1);
  });

  it('waits for a live holder without blocking the event loop, and never past the deadline', async () => {
    const dir = fresh();
    const file = join(dir, 'x.json');
    writeFileSync(`${file}.lock`, JSON.stringify({ pid: process.pid, at: Date.now() }));
    let ticks = 0;
    const tick = setInterval(() => ticks++, 10);
    const t0 = Date.now();
    await expect(withLock(file, async () => 1, Date.now() + 300)).rejects.toBeInstanceOf(LockTimeout);
    clearInterval(tick);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1000);
    expect(ticks).toBeGreaterThan(5); // the loop kept turning while we waited
  });

  it('breaker reset reports a lock it could not take instead of claiming success', async () => {
    const dir = fresh();
    const b = new FileBreakers(undefined, { XDG_STATE_HOME: dir });
    await b.failure('k', 'p', 'server', undefined);
    // a live holder that keeps its lock fresh
    const hold = () => writeFileSync(`${b.file}.lock`, JSON.stringify({ pid: process.pid, at: Date.now() }));
    hold();
    const holding = setInterval(hold, 200);
    await expect(b.reset('p')).rejects.toBeInstanceOf(LockTimeout).finally(() => clearInterval(holding));
    expect(Object.keys(await b.all())).toEqual(['k']);
  });
});

describe('state and cache directories', () => {
  it('never follows a symlinked state directory: the target keeps its mode and gets no files', async () => {
    const dir = fresh();
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    mkdirSync(join(dir, 'state'));
    symlinkSync(shared, join(dir, 'state', 'llm-fallback'));
    const warnings: string[] = [];
    const b = new FileBreakers(undefined, { XDG_STATE_HOME: join(dir, 'state') }, (m) => warnings.push(m));
    await b.failure('k', 'p', 'server', undefined);
    expect(statSync(shared).mode & 0o777).toBe(0o777);
    expect(readdirSync(shared)).toEqual([]);
    expect(warnings.join('\n')).toMatch(/is a symbolic link; llm-fallback does not follow links/);
  });

  it('never reads or writes through a symlinked state file', async () => {
    const dir = fresh();
    const target = join(dir, 'package.json');
    writeFileSync(target, '{"name":"not ours"}');
    mkdirSync(join(dir, 'st', 'llm-fallback'), { recursive: true, mode: 0o700 });
    symlinkSync(target, join(dir, 'st', 'llm-fallback', 'breakers.json'));
    const warnings: string[] = [];
    const b = new FileBreakers(undefined, { XDG_STATE_HOME: join(dir, 'st') }, (m) => warnings.push(m));
    expect(await b.all()).toEqual({});
    expect(warnings[0]).toMatch(/breakers\.json is a symbolic link; ignoring it/);
    await b.failure('k', 'p', 'server', undefined);
    expect(readFileSync(target, 'utf8')).toBe('{"name":"not ours"}');
    expect(lstatSync(join(dir, 'st', 'llm-fallback', 'breakers.json')).isFile()).toBe(true); // the link was replaced, not followed
  });

  it('cache clear removes only its own entries, and refuses a symlinked cache directory', async () => {
    const dir = fresh();
    const env = { XDG_CACHE_HOME: join(dir, 'cache') };
    const cache = new FileAnswerCache(60_000, env);
    await cache.put(cacheKey({ messages: [{ role: 'user', content: 'q' }] }), { content: 'a', provider: 'p', model: 'm', usage: null });
    writeFileSync(join(cache.dir, 'package.json'), '{}');
    writeFileSync(join(cache.dir, 'notes.txt'), 'mine');
    expect(await cache.clear()).toBe(1);
    expect(readdirSync(cache.dir).sort()).toEqual(['notes.txt', 'package.json']);

    const project = join(dir, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), '{}');
    writeFileSync(join(project, `${'a'.repeat(64)}.json`), '{}');
    mkdirSync(join(dir, 'c2', 'llm-fallback'), { recursive: true });
    symlinkSync(project, join(dir, 'c2', 'llm-fallback', 'answers'));
    const linked = new FileAnswerCache(60_000, { XDG_CACHE_HOME: join(dir, 'c2') });
    await expect(linked.clear()).rejects.toThrow(/is a symbolic link/);
    expect(readdirSync(project).sort()).toEqual([`${'a'.repeat(64)}.json`, 'package.json']);
  });

  it('a read-only state directory is reported, not made writable', async () => {
    const dir = fresh();
    const own = join(dir, 'llm-fallback');
    mkdirSync(own, { mode: 0o500 });
    await expect(ensurePrivateDir(own)).rejects.toThrow(/is read-only; make it writable/);
    expect(statSync(own).mode & 0o777).toBe(0o500);
  });

  it('cleans up temp files that a killed write left behind (ours only), and never leaves one on a failed write', async () => {
    const dir = fresh();
    const leftover = join(dir, `latency.json.${2 ** 22 + 777}.abc123.tmp`);
    writeFileSync(leftover, 'half');
    writeFileSync(join(dir, 'other.tmp'), 'not ours');
    expect(await cleanStaleTmp(dir)).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(['other.tmp']);
    await expect(atomicWrite(join(dir, 'no-such-dir', 'sub', 'f.json'), 'x')).resolves.toBeUndefined();
    mkdirSync(join(dir, 'f.json'));
    await expect(atomicWrite(join(dir, 'f.json'), 'x')).rejects.toThrow();
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual(['other.tmp']);
    // and the next write of a state file removes what a killed one left
    const state = join(dir, 'st', 'llm-fallback');
    mkdirSync(state, { recursive: true, mode: 0o700 });
    writeFileSync(join(state, `breakers.json.${2 ** 22 + 778}.k1.tmp`), '{"half');
    await new FileBreakers(undefined, { XDG_STATE_HOME: join(dir, 'st') }).failure('k', 'p', 'server', undefined);
    expect(readdirSync(state)).toEqual(['breakers.json']);
  });

  it('latency history survives a corrupt file and merges what parallel writers recorded', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'llm-fallback'), { mode: 0o700 });
    writeFileSync(join(dir, 'llm-fallback', 'latency.json'), '[]');
    const warnings: string[] = [];
    const h1 = new FileLatencyHistory({ XDG_STATE_HOME: dir }, (m) => warnings.push(m));
    const h2 = new FileLatencyHistory({ XDG_STATE_HOME: dir });
    await Promise.all([h1.load(), h2.load()]);
    expect(warnings[0]).toMatch(/latency history .* is not a JSON object/);
    h1.add('k', 'p', { ttftMs: 100 });
    h2.add('k', 'p', { ttftMs: 200, maxGapMs: 30 });
    await Promise.all([h1.flush(), h2.flush()]);
    const saved = JSON.parse(readFileSync(join(dir, 'llm-fallback', 'latency.json'), 'utf8'));
    expect(saved.k.ttft_ms.sort()).toEqual([100, 200]);
    expect(saved.k.max_gap_ms).toEqual([30]);
  });
});

describe('latency history bounds', () => {
  it('keeps the newest HISTORY_SAMPLES per provider+model and the HISTORY_KEYS most recently updated, merged in place call after call', async () => {
    const h = new MemoryLatencyHistory();
    for (let i = 0; i < HISTORY_SAMPLES + 6; i++) {
      h.add('p#m', 'p', { ttftMs: i + 0.4, maxGapMs: 1000 + i });
      await h.flush();
    }
    const r = h.get('p#m')!;
    expect(r.ttft_ms).toEqual(Array.from({ length: HISTORY_SAMPLES }, (_, i) => i + 6)); // rounded, oldest six dropped
    expect(r.max_gap_ms[0]).toBe(1006);
    expect(r.max_gap_ms).toHaveLength(HISTORY_SAMPLES);

    // Keys updated later survive; the least recently updated go once there are too many.
    const base = Date.now();
    for (let k = 0; k < HISTORY_KEYS; k++) h.records[`k${k}`] = { name: `k${k}`, ttft_ms: [k], max_gap_ms: [], updated_at: base - 10_000 + k };
    h.add('p#m', 'p', { ttftMs: 5 });
    h.add('new#m', 'new', { ttftMs: 7 });
    await h.flush();
    const keys = Object.keys(h.records);
    expect(keys).toHaveLength(HISTORY_KEYS);
    expect(keys).toContain('new#m');
    expect(keys).toContain('p#m');
    expect(keys).not.toContain('k0');
    expect(keys).not.toContain('k1');
    expect(keys).toContain('k2');
  });
});

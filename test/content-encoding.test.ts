import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { constants, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdapter } from '../src/providers/index.js';
import type { ProviderSettings } from '../src/providers/http-adapter.js';
import type { ProviderAdapter, ProviderEvent } from '../src/providers/types.js';
import { run } from './cli-helpers.js';
import { ask, collect, emulator, errorOf, freePort, last, only, textOf } from './helpers.js';
import { FIXTURES, rawBytes, type WireFixture } from './wire-fixtures.js';
import { nginxTempPaths, startNginx } from './nginx-process.js';

/*
 * Compressed answers (Content-Encoding). The client asks for `identity`, yet a proxy may compress anyway, or
 * the user's providers.yaml may ask for gzip. The outside truth here: a real nginx (Debian's package) serving
 * recorded provider answers gzipped by the `gzip` command with `gzip_static always` (sent gzipped whatever the
 * request said), nginx's own streaming gzip (`gzip on`) in front of the emulator, and Python's brotli module
 * (Google's C library, Debian's python3-brotli) streaming a recorded answer event by event. deflate and the
 * failure cases are served by Node servers written here (Node's zlib is the codec; the server is ours).
 */

const fixture = (file: string): WireFixture => FIXTURES.find((f) => f.file === file)!;
const OPENAI_SSE = fixture('openai/gomodel-gpt-4o-mini.sse');
const ANTHROPIC_SSE = fixture('anthropic/gomodel-claude-sonnet-4.sse');
const OPENAI_429 = fixture('openai/error-429-rate-limit-tpm.json');
/** OpenRouter's whole model list (414 models), recorded and already gzipped: test/fixtures/models (see models-endpoint.test.ts). */
const OPENROUTER_MODELS_GZ = new URL('./fixtures/models/openrouter-models.json.gz', import.meta.url);

const c = (value: number) => ({ dist: 'constant' as const, value });
const mock = await emulator({
  // 300 ms to the first token, then 5 more 120 ms apart: nginx's gzip must pass each on as it comes.
  spaced: { dialect: 'openai', ttft: c(300), itl: c(120), output_tokens: c(6) },
  fast: { dialect: 'openai', output_tokens: c(8) },
});
const upstream = new URL(mock.url).host;

const dir = mkdtempSync(join(tmpdir(), 'llmf-coding-'));
const port = await freePort();
const nginxConf = `
master_process off;
error_log ${dir}/error.log info;
events { worker_connections 64; }
http {
  log_format coding '$request_uri ae=$http_accept_encoding ce=$sent_http_content_encoding status=$status';
  access_log ${dir}/access.log coding;
  ${nginxTempPaths(dir)}
  server {
    listen 127.0.0.1:${port};
    # Recorded answers, pre-compressed: gzip_static always sends the .gz file gzipped whatever the request
    # accepts. The static module answers POST with 405; error_page turns that into a GET of the same file
    # with the status the recording had.
    location /sse/ { alias ${dir}/www/; types {} default_type text/event-stream; gzip_static always; error_page 405 =200 $uri; }
    location /json/ { alias ${dir}/www/; types {} default_type application/json; gzip_static always; }
    location /e429/ { alias ${dir}/www/; types {} default_type application/json; gzip_static always; error_page 405 =429 $uri; }
    # nginx compressing the emulator's live answers for clients that accept gzip, stream included.
    location /live/ {
      proxy_pass http://${upstream}/;
      proxy_buffering off;
      gzip on;
      gzip_types text/event-stream application/json;
    }
  }
}
`;

/**
 * Puts `body` at www/<path>.gz, gzipped by the gzip command (not by Node). The plain file stays beside it: for
 * a POST the static module looks for it before answering the 405 that error_page turns into the .gz file.
 */
function gzipFile(path: string, body: Buffer): void {
  const file = join(dir, 'www', path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, body);
  execFileSync('gzip', ['-9', '-k', '-f', file]);
}

let nginx: Awaited<ReturnType<typeof startNginx>> | undefined;
beforeAll(async () => {
  mkdirSync(join(dir, 'tmp'));
  gzipFile('openai/v1/chat/completions', rawBytes(OPENAI_SSE));
  gzipFile('anthropic/v1/messages', rawBytes(ANTHROPIC_SSE));
  gzipFile('limited/v1/chat/completions', rawBytes(OPENAI_429));
  mkdirSync(join(dir, 'www/openrouter/v1'), { recursive: true });
  copyFileSync(OPENROUTER_MODELS_GZ, join(dir, 'www/openrouter/v1/models.gz'));
  nginx = await startNginx(dir, nginxConf, port, 'content-encoding tests');
});
afterAll(() => nginx?.stop());

/** nginx's access log lines for request URIs starting with `prefix`. */
function logged(prefix: string): string[] {
  const log = existsSync(join(dir, 'access.log')) ? readFileSync(join(dir, 'access.log'), 'utf8') : '';
  return log.split('\n').filter((l) => l.startsWith(prefix));
}

const adapters: ProviderAdapter[] = [];
afterAll(async () => {
  await Promise.all(adapters.map((a) => a.close()));
});
function adapter(baseUrl: string, over: Partial<ProviderSettings> = {}): ProviderAdapter {
  const a = createAdapter({
    name: 'p',
    api: 'openai',
    baseUrl,
    model: 'm',
    apiKey: 'sk-test-coding-0000',
    headers: {},
    params: {},
    timeouts: { connectMs: 2000, firstTokenMs: 5000, idleMs: 5000, totalMs: 10_000 },
    ...over,
  });
  adapters.push(a);
  return a;
}

const nginxBase = (location: string, provider: string) => `http://127.0.0.1:${port}/${location}/${provider}/v1`;
const deltaTimes = (events: ProviderEvent[]) => only(events, 'content_delta').map((e) => e.t);

describe('nginx gzip_static always: recorded answers sent gzipped although the client asked for identity', () => {
  it('an OpenAI SSE stream decodes to the recorded answer, and the request said accept-encoding: identity', async () => {
    const events = await collect(adapter(nginxBase('sse', 'openai')), ask());
    expect(textOf(events)).toBe(OPENAI_SSE.expect.content);
    expect(last(events)).toMatchObject({ type: 'finish', reason: OPENAI_SSE.expect.finish });
    // What nginx saw and sent, from its own log.
    expect(logged('/sse/openai/')).toEqual([expect.stringContaining('ae=identity ce=gzip status=200')]);
  });

  it('an Anthropic SSE stream decodes to the recorded answer and usage', async () => {
    const events = await collect(adapter(nginxBase('sse', 'anthropic'), { api: 'anthropic' }), ask());
    expect(textOf(events)).toBe(ANTHROPIC_SSE.expect.content);
    expect(last(events)).toMatchObject({ type: 'finish', reason: ANTHROPIC_SSE.expect.finish });
    expect(only(events, 'usage').at(-1)?.usage).toMatchObject({ inputTokens: 10, outputTokens: 5 });
    expect(logged('/sse/anthropic/')).toEqual([expect.stringContaining('ce=gzip status=200')]);
  });

  it("a gzipped 429 body is quoted decoded in the error, classified as the rate limit it is", async () => {
    const err = errorOf(await collect(adapter(nginxBase('e429', 'limited'), { }), ask()));
    expect(err.errorClass).toBe('rate_limit');
    expect(err.status).toBe(429);
    expect(err.message).toContain('Rate limit reached for gpt-4 in organization');
    expect(logged('/e429/limited/')).toEqual([expect.stringContaining('ce=gzip status=429')]);
  });

  it("OpenRouter's recorded model list, gzipped, is read whole by listModels and by health --shallow", async () => {
    const list = await adapter(nginxBase('json', 'openrouter')).listModels(5000);
    expect(list.models).toHaveLength(414);
    expect(list.models).toContain('openai/gpt-4o-mini');
    const config = join(dir, 'health.yaml');
    writeFileSync(config, `providers:\n  openrouter: { api: openai, base_url: "${nginxBase('json', 'openrouter')}", model: openai/gpt-4o-mini }\n`);
    const r = await run(['--config', config, 'health', 'openrouter', '--shallow', '--format', 'json'], { env: { XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Healthy only if the decoded list names the model.
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, providers: [{ name: 'openrouter', healthy: true, status: 200 }] });
    expect(logged('/json/openrouter/').every((l) => l.includes('ae=identity ce=gzip status=200'))).toBe(true);
  });
});

describe("nginx's own gzip in front of the emulator, the client asking for gzip through providers.yaml headers", () => {
  it('tokens of the gzipped live stream arrive as nginx sends them, not all at the end', async () => {
    const a = adapter(nginxBase('live', 'spaced'), { headers: { 'Accept-Encoding': 'gzip' } });
    const events = await collect(a, ask());
    expect(last(events).type).toBe('finish');
    expect(textOf(events).length).toBeGreaterThan(0);
    const sent = only(events, 'request_sent')[0].t;
    const times = deltaTimes(events);
    expect(times.length).toBe(6);
    // First token after the emulator's 300 ms, the last one 5 × 120 ms later: each read stamped as it came.
    expect(times[0] - sent).toBeGreaterThanOrEqual(280);
    expect(times.at(-1)! - times[0]).toBeGreaterThanOrEqual(500);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(80);
    // The user's header went as given, alone (no `identity` of ours beside it), and nginx compressed.
    expect(logged('/live/spaced/')).toEqual([expect.stringContaining('ae=gzip ce=gzip status=200')]);
  });

  it('a non-streamed answer gzipped by nginx is read as its JSON', async () => {
    const events = await collect(adapter(nginxBase('live', 'fast'), { headers: { 'accept-encoding': 'gzip' } }), ask('hi', { stream: false }));
    expect(last(events).type).toBe('finish');
    expect(textOf(events).split(' ').filter(Boolean).length).toBeGreaterThan(0);
    expect(logged('/live/fast/')).toEqual([expect.stringContaining('ae=gzip ce=gzip status=200')]);
  });

  it('bench --raw through the gzipping nginx: first token well before the end of each request', { timeout: 30_000 }, async () => {
    const config = join(dir, 'bench.yaml');
    writeFileSync(config, `providers:\n  spaced: { api: openai, base_url: "${nginxBase('live', 'spaced')}", model: m, headers: { Accept-Encoding: gzip } }\n`);
    const out = join(dir, 'bench.jsonl');
    const r = await run(['--config', config, 'bench', 'spaced', '-n', '2', '-c', '1', '--warmup', '0', '--raw', out], { env: { XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') }, timeoutMs: 25_000 });
    expect(r.code, r.stderr).toBe(0);
    const raw = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; warmup: boolean; ttft_ms: number; latency_ms: number }).filter((x) => !x.warmup);
    expect(raw).toHaveLength(2);
    for (const x of raw) {
      expect(x.ok).toBe(true);
      expect(x.ttft_ms).toBeGreaterThanOrEqual(280);
      expect(x.latency_ms - x.ttft_ms).toBeGreaterThanOrEqual(500);
    }
  });
});

describe("br from Python's brotli module, streamed event by event", () => {
  let py: ChildProcess | undefined;
  let pyUrl = '';
  beforeAll(async () => {
    // A chunked HTTP/1.1 answer: each SSE event compressed, flushed (BROTLI_OPERATION_FLUSH) and written, 80 ms apart.
    const script = `
import sys, time, brotli, http.server
events = [e for e in open(sys.argv[1], 'rb').read().split(b'\\n\\n') if e.strip()]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_POST(self):
        self.rfile.read(int(self.headers.get('content-length', 0)))
        self.send_response(200)
        self.send_header('content-type', 'text/event-stream')
        self.send_header('content-encoding', 'br')
        self.send_header('transfer-encoding', 'chunked')
        self.end_headers()
        c = brotli.Compressor()
        def chunk(data):
            if data:
                self.wfile.write(b'%x\\r\\n%s\\r\\n' % (len(data), data))
                self.wfile.flush()
        for e in events:
            chunk(c.process(e + b'\\n\\n') + c.flush())
            time.sleep(0.08)
        chunk(c.finish())
        self.wfile.write(b'0\\r\\n\\r\\n')
        self.wfile.flush()
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
`;
    py = spawn('/usr/bin/python3', ['-c', script, join(dir, 'openai.sse')], { stdio: ['ignore', 'pipe', 'pipe'] });
    writeFileSync(join(dir, 'openai.sse'), rawBytes(OPENAI_SSE));
    let stderr = '';
    py.stderr!.on('data', (d) => (stderr += d));
    const portLine = await new Promise<string>((resolve, reject) => {
      py!.stdout!.once('data', (d) => resolve(String(d).trim()));
      py!.once('exit', () => reject(new Error(`python brotli server exited: ${stderr} (Debian package python3-brotli; .ci/run installs it)`)));
    });
    pyUrl = `http://127.0.0.1:${portLine}/v1`;
  });
  afterAll(() => py?.kill('SIGKILL'));

  it('decodes to the recorded answer, each token with the time its event arrived', async () => {
    const events = await collect(adapter(pyUrl), ask());
    expect(textOf(events)).toBe(OPENAI_SSE.expect.content);
    expect(last(events)).toMatchObject({ type: 'finish', reason: OPENAI_SSE.expect.finish });
    const times = deltaTimes(events);
    expect(times.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(50);
  });
});

/**
 * A loopback server (ours) that answers each request with `status`, the headers given and `body`, recording
 * the request's raw headers. Node's zlib makes the coded bodies.
 */
async function codedServer(answers: Record<string, { status?: number; coding: string; body: Buffer; type?: string }>) {
  const seen: string[][] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(req.rawHeaders);
    req.resume();
    req.on('end', () => {
      const a = answers[(req.url ?? '').split('/')[1]];
      res.writeHead(a.status ?? 200, { 'content-type': a.type ?? 'text/event-stream', 'content-encoding': a.coding });
      res.end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  afterAll(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  const at = (name: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/${name}/v1`;
  return { at, seen };
}

describe('deflate, x-gzip and the codings that cannot be read (Node servers written here; Node zlib the codec)', async () => {
  const sse = rawBytes(OPENAI_SSE);
  const gz = gzipSync(sse);
  const badCrc = Buffer.from(gz);
  badCrc[badCrc.length - 6] ^= 0xff; // inside the CRC-32 of the gzip trailer
  const s = await codedServer({
    zlib: { coding: 'deflate', body: deflateSync(sse) },
    raw: { coding: 'deflate', body: deflateRawSync(sse) },
    xgzip: { coding: 'x-gzip', body: gz },
    upper: { coding: ' GZIP', body: gz },
    zstd: { coding: 'zstd', body: Buffer.from('(zstd bytes)') },
    compress: { coding: 'compress', body: Buffer.from('(lzw bytes)') },
    twice: { coding: 'gzip, br', body: gz },
    zstd429: { status: 429, coding: 'zstd', type: 'application/json', body: Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 1, 2]) },
    truncated: { coding: 'gzip', body: gz.subarray(0, gz.length - 12) },
    badcrc: { coding: 'gzip', body: badCrc },
    // 64 MiB of zeros in 64 KiB: what a decompression bomb looks like.
    bomb: { coding: 'gzip', type: 'application/json', body: gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20), { level: constants.Z_BEST_COMPRESSION }) },
  });

  it.each(['zlib', 'raw', 'xgzip', 'upper'])('%s decodes to the recorded answer', async (name) => {
    const events = await collect(adapter(s.at(name)), ask());
    expect(textOf(events)).toBe(OPENAI_SSE.expect.content);
    expect(last(events)).toMatchObject({ type: 'finish', reason: 'stop' });
  });

  it('sends accept-encoding: identity once, and a configured accept-encoding instead of it (never both)', async () => {
    s.seen.length = 0;
    await collect(adapter(s.at('zlib')), ask());
    await collect(adapter(s.at('zlib'), { headers: { 'Accept-Encoding': 'gzip, deflate' } }), ask());
    await adapter(s.at('zlib')).listModels(2000).catch(() => undefined);
    const ae = s.seen.map((raw) => raw.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === 'accept-encoding' ? [raw[i + 1]] : [])));
    expect(ae).toEqual([['identity'], ['gzip, deflate'], ['identity']]);
  });

  it.each([
    ['zstd', 'zstd'],
    ['compress', 'compress'],
    ['twice', 'gzip, br'],
  ])('%s: one malformed_response naming the coding, not retried', async (name, coding) => {
    const t0 = Date.now();
    const err = errorOf(await collect(adapter(s.at(name)), ask()));
    expect(err.errorClass).toBe('malformed_response');
    expect(err.isRetryable).toBe(false);
    expect(err.message).toBe(
      `p: the server answered content-encoding: ${coding}, which llm-fallback cannot decode (it decodes gzip, deflate and br, and asks for identity); if a proxy in front of the provider compresses, turn compression off for this path, and remove any accept-encoding from the provider's headers`,
    );
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('an error status in a coding that cannot be read keeps its class; the body is said to be unreadable, not quoted', async () => {
    const err = errorOf(await collect(adapter(s.at('zstd429')), ask()));
    expect(err.errorClass).toBe('rate_limit');
    expect(err.status).toBe(429);
    expect(err.message).toContain('(body not shown: content-encoding zstd, which llm-fallback cannot decode)');
  });

  it('a cut-off gzip body and one with a bad checksum are clear malformed_response errors', async () => {
    const cut = errorOf(await collect(adapter(s.at('truncated')), ask()));
    expect(cut.errorClass).toBe('malformed_response');
    expect(cut.message).toBe('p: the gzip-coded body does not decode (it ends before the compressed data does); the server or a proxy in front of it sent a broken or cut-off compressed body');
    const crc = errorOf(await collect(adapter(s.at('badcrc')), ask()));
    expect(crc.errorClass).toBe('malformed_response');
    expect(crc.message).toBe('p: the gzip-coded body does not decode (its checksum does not match: the data was damaged); the server or a proxy in front of it sent a broken or cut-off compressed body');
  });

  it('a decompression bomb stops at max_response_bytes counted in decoded bytes', async () => {
    const t0 = Date.now();
    const before = process.memoryUsage().rss;
    const err = errorOf(await collect(adapter(s.at('bomb'), { maxResponseBytes: 1024 * 1024 }), ask('hi', { stream: false })));
    expect(err.errorClass).toBe('malformed_response');
    expect(err.isRetryable).toBe(false);
    expect(err.message).toBe('p: response larger than 1048576 bytes; raise max_response_bytes if this is expected');
    expect(Date.now() - t0).toBeLessThan(2000);
    // Far from the 64 MiB the body would decode to.
    expect(process.memoryUsage().rss - before).toBeLessThan(32 * 1024 * 1024);
  });

  it("a compressed model list stops at the list's own cap, counted in decoded bytes", async () => {
    const err = await adapter(s.at('bomb')).listModels(5000).then(
      () => undefined,
      (e: unknown) => e as { errorClass: string; message: string },
    );
    expect(err?.errorClass).toBe('malformed_response');
    expect(err?.message).toBe('p: model list page larger than 8388608 bytes (GET /models)');
  });
});

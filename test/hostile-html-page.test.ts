/**
 * A proxy's HTML error page chosen by a hostile server, over a raw `net` server on 127.0.0.1 (so every byte,
 * invalid UTF-8 and control bytes in a header included, is the server's): what `ask` prints of its title and
 * Server header must hold no escape sequence, control or bidi character and be cut to length, and the
 * worst pages the title search, tag stripping and entity decoding can meet must cost milliseconds.
 * The pages are handwritten (labelled below); the cost bound is the outside measure.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRouter } from '../src/router.js';
import { run } from './cli-helpers.js';

/** Handwritten: a title of terminal attacks (ESC sequences raw and as character references, C1 CSI, U+202E, NUL, invalid UTF-8, a long run). */
const TERMINAL_PAGE = Buffer.concat([
  Buffer.from('<html><head><title>\u001b[2J\u001b]0;pwned\u0007Bad\u202e Gateway\u0000 &#27;[31mred &#x9b;31m &#x202e;x &#x2066;y &#0; ', 'utf8'),
  Buffer.from([0xff, 0xfe, 0xc3]),
  Buffer.from(` ${'A'.repeat(300)}</title></head><body><h1>not this</h1></body></html>`, 'utf8'),
]);
const MAX_BODY = 256 * 1024;
/** Handwritten: the worst inputs for each pattern run over a page's first 4 KiB, then padding up to the most of an error body read. */
const BOMBS: Record<string, string> = {
  unclosedTags: `<html><title>${'<a'.repeat(2040)}</title>`,
  entities: `<html><title>${'&#x'.repeat(1360)}</title>`,
  entityNames: `<html><title>${'&'.repeat(2000)}${'a'.repeat(2000)}</title>`,
  whitespace: `<html><title>${' \t'.repeat(2000)}x</title>`,
  escapes: `<html><title>${'\u001b]'.repeat(2000)}</title>`,
  headings: `<html>${'<h1'.repeat(1300)}</h1>`,
};

const pages = new Map<string, Buffer>([['terminal', TERMINAL_PAGE]]);
for (const [name, page] of Object.entries(BOMBS)) pages.set(name, Buffer.from(page.padEnd(MAX_BODY - 1024, '<title')));

const server = createServer((socket: Socket) => {
  let head = '';
  socket.on('data', (d) => {
    head += d.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    const name = head.split(' ')[1].split('/')[1];
    const body = pages.get(name) ?? Buffer.from('<html></html>');
    // Bytes a header value may carry (obs-text) but a terminal must not act on: U+202E's UTF-8 and a C1 CSI.
    const serverHeader = Buffer.from([...Buffer.from('nginx/1.22.1 '), 0xe2, 0x80, 0xae, 0x9b, ...Buffer.from('31m '), ...Buffer.from('B'.repeat(100))]);
    socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: ${body.length}\r\nConnection: close\r\nServer: `), serverHeader, Buffer.from('\r\n\r\n'), body]));
  });
  socket.on('error', () => {});
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
const port = (server.address() as AddressInfo).port;
const provider = (name: string) => ({ api: 'openai', base_url: `http://127.0.0.1:${port}/${name}/v1`, model: 'm', api_key_env: 'PAGE_KEY' });

describe('a hostile HTML error page', () => {
  it('is named on the terminal without escapes, controls, bidi characters or its full length', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmf-page-'));
    const config = join(dir, 'providers.yaml');
    writeFileSync(config, `providers:\n  terminal: ${JSON.stringify(provider('terminal'))}\n`);
    const r = await run(['--config', config, 'ask', '--provider', 'terminal', '--retries', '0', '--no-cache', 'hi'], {
      env: { PAGE_KEY: 'sk-pagekey-0123456789abcdef', XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') },
    });
    expect(r.code).toBe(1);
    const first = r.stderr.split('\n')[0];
    // The title (not the h1), cleaned: the escape sequences, NUL, U+202E/U+2066 and the decoded ESC and C1 CSI sequences are gone;
    // "&#0;" is no character and stays text; invalid UTF-8 shows as U+FFFD; cut at 100 characters.
    const title = `Bad Gateway red x y &#0; \ufffd\ufffd\ufffd ${'A'.repeat(300)}`.slice(0, 100);
    // The header's bytes are read as Latin-1 (as Node's are): U+202E's three bytes become "â", a C1 (stripped) and "®"; the C1 CSI goes with its "31m".
    expect(first).toBe(`llm-fallback: no answer: terminal: HTTP 502: HTML page "${title}…" (server: nginx/1.22.1 â® ${'B'.repeat(60 - 'nginx/1.22.1 â® '.length)}…), not an API answer: a proxy or load balancer in front of the provider answered · attempts: terminal server→stop`);
    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  }, 30_000);

  it('costs milliseconds at worst: the title search, tag stripping, entity decoding and control stripping stay in the first 4 KiB', async () => {
    const router = await createRouter({ config: { providers: Object.fromEntries(Object.keys(BOMBS).map((n) => [n, provider(n)])) }, env: { PAGE_KEY: 'sk-pagekey-0123456789abcdef' } });
    try {
      for (const name of Object.keys(BOMBS)) {
        const t0 = performance.now();
        const result = await router.chat({ model: name, messages: [{ role: 'user', content: 'hi' }], cache: false, retries: 0 });
        const ms = performance.now() - t0;
        expect(result.error?.message, name).toContain(': HTTP 502: HTML page');
        // Loopback and 255 KiB, one attempt: tens of milliseconds; a pattern run over the whole body took seconds (5f57030).
        expect(ms, `${name}: ${ms.toFixed(0)} ms`).toBeLessThan(500);
      }
    } finally {
      await router.close();
    }
  }, 30_000);
});

/**
 * A hostile server on loopback that echoes the key it was sent back in every shape we know of: an HTML
 * page, a non-JSON SSE line, a redirect's Location header, a long text body where the key straddles the
 * old 300/120-character cut, JSON-escaped, URL-encoded, base64 of `user:key` and partially masked. Every
 * output and file of ask, bench and health must come out without any of it, and without terminal escapes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from './cli-helpers.js';
import { onTerminal } from './pty-helpers.js';
import { createRouter } from '../src/router.js';

// '/', '+' and '=' change under URL encoding; none of them changes under JSON or XML escaping.
const KEY = 'Zk9/+abTOPSECRET=q1w2e3r4t5y6u7i8o9p0';
// Sent in a header from the environment (api-key: ${AZURE_KEY}), with no api_key_env at all.
const HEADER_KEY = 'AzUr3/+HDRSECRET=m1n2b3v4c5x6z7l8k9j0';

function presentedKey(req: IncomingMessage): string {
  const auth = String(req.headers.authorization ?? '');
  if (auth.startsWith('Bearer ')) return auth.slice(7);
  return String(req.headers['api-key'] ?? req.headers['x-api-key'] ?? '');
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
/** `key` in pieces of 8 characters (shorter than a fragment redact() knows), joined by each of `separators` in turn. */
const splitBy = (key: string, separators: string[]) => key.match(/.{1,8}/g)!.reduce((out, piece, i) => (i ? `${out}${separators[(i - 1) % separators.length]}${piece}` : piece), '');
const ESC = '\u001b[31m\u001b]0;pwned\u0007';

/** One echo per path prefix: /<mode>/v1/... */
function respond(mode: string, key: string, res: ServerResponse): void {
  switch (mode) {
    case 'html':
      res.writeHead(502, { 'content-type': 'text/html' });
      // The page is shown by its title only (src/providers/html-page.ts), so the echo is there as well as in the body.
      return void res.end(`<html><head><title>${ESC}Bad Gateway: upstream rejected ${key}</title></head><body>upstream rejected ${key}</body></html>`);
    case 'sseline':
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      return void res.end(`data: oops ${ESC}key=${key} is not valid\n\n`);
    case 'redirect':
      res.writeHead(302, { location: `https://elsewhere.example/v1?key=${encodeURIComponent(key)}&auth=${b64(`user:${key}`)}` });
      return void res.end();
    case 'straddle300':
      res.writeHead(500, { 'content-type': 'text/plain' });
      return void res.end(`${'x'.repeat(290)}${key} trailing text`);
    case 'straddle120':
      res.writeHead(200, { 'content-type': 'text/html' });
      return void res.end(`${'y'.repeat(110)}${key} trailing text`);
    case 'forms':
      res.writeHead(500, { 'content-type': 'text/plain' });
      return void res.end(`escaped ${key.replace(/\//g, '\\/')} masked ${key.slice(0, 3)}****${key.slice(-4)} basic ${b64(`u:${key}`)} pct ${encodeURIComponent(key)}`);
    case 'answer': {
      // A 200 stream whose answer text carries the key.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta: object, finish: string | null) => `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', model: `m${ESC}`, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      return void res.end(`${chunk({ role: 'assistant', content: `your key is ${key} ` }, null)}${chunk({}, 'stop')}data: [DONE]\n\n`);
    }
    case 'split': {
      // The key split across two content deltas: each piece alone holds no whole form of it.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const half = Math.floor(key.length / 2);
      const chunk = (delta: object, finish: string | null) => `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      return void res.end(`${chunk({ role: 'assistant', content: `split key: ${key.slice(0, half)}` }, null)}${chunk({ content: `${key.slice(half)} end` }, null)}${chunk({}, 'stop')}data: [DONE]\n\n`);
    }
    case 'encodings': {
      // Echoes no redaction list had: hex, every byte %-encoded, upper case, reversed, the first 20 characters.
      res.writeHead(401, { 'content-type': 'application/json' });
      const bytes = Buffer.from(key);
      const forms = [bytes.toString('hex'), [...bytes].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''), key.toUpperCase(), [...key].reverse().join(''), key.slice(0, 20)];
      return void res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${forms.join(' / ')}.`, type: 'invalid_request_error', code: 'invalid_api_key' } }));
    }
    // The HTML page paths (src/providers/html-page.ts): the key only in a heading, split by markup, as
    // HTML character references, %-encoded, and in the Server header the page is named by.
    case 'htmlh1':
      res.writeHead(502, { 'content-type': 'text/html' });
      return void res.end(`<html><body><h1>upstream rejected ${key}</h1></body></html>`);
    case 'htmlsplit':
      res.writeHead(502, { 'content-type': 'text/html' });
      // Every piece between the tags is shorter than the 12 characters redact() knows a fragment by.
      return void res.end(`<html><head><title>rejected ${key.match(/.{1,8}/g)!.join('<b></b>')}</title></head></html>`);
    case 'htmlentity':
      res.writeHead(502, { 'content-type': 'text/html' });
      return void res.end(`<html><head><title>rejected ${[...key].map((ch) => `&#${ch.charCodeAt(0)};`).join('')}</title></head><body><h1>${[...key].map((ch) => `&#x${ch.charCodeAt(0).toString(16)};`).join('')}</h1></body></html>`);
    case 'htmlpct':
      res.writeHead(502, { 'content-type': 'text/html' });
      return void res.end(`<html><head><title>rejected ${encodeURIComponent(key)} ${[...Buffer.from(key)].map((b) => `%${b.toString(16).toUpperCase()}`).join('')}</title></head></html>`);
    case 'htmlserver':
      res.writeHead(504, { 'content-type': 'text/html', server: `gateway/${key}` });
      return void res.end('<html><body>no title here</body></html>');
    // The key split by characters the shown text loses (NUL, zero-width space, an escape sequence, U+202E,
    // a zero-width space as a character reference): the pieces join only once those are stripped.
    case 'htmlcontrols':
      res.writeHead(502, { 'content-type': 'text/html' });
      return void res.end(`<html><head><title>rejected ${splitBy(key, ['\u200b', '\u0000', '\u001b[0m', '\u202e', '&#x200b;'])}</title></head></html>`);
    case 'textcontrols':
      res.writeHead(500, { 'content-type': 'text/plain' });
      return void res.end(`rejected ${splitBy(key, ['\u0000', '\u200b', '\u001b[0m', '\u0085', '\u2066'])}`);
    case 'unseen': {
      // A streamed answer with the key split by characters a terminal does not show (NUL, a zero-width
      // space, U+202E, a C1 control), across two deltas that part right after one of them.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const shown = splitBy(key, ['\u0000', '\u200b', '\u202e', '\u0085']);
      const cut = shown.indexOf('\u202e') + 1;
      const chunk = (delta: object, finish: string | null) => `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      return void res.end(`${chunk({ role: 'assistant', content: `your key is ${shown.slice(0, cut)}` }, null)}${chunk({ content: `${shown.slice(cut)} done` }, null)}${chunk({}, 'stop')}data: [DONE]\n\n`);
    }
    default:
      res.writeHead(404);
      res.end();
  }
}

const server = createServer((req, res) => {
  const mode = (req.url ?? '').split('/')[1];
  req.resume();
  req.on('end', () => respond(mode, presentedKey(req), res));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
const port = (server.address() as AddressInfo).port;

const MODES = ['html', 'sseline', 'redirect', 'straddle300', 'straddle120', 'forms', 'answer'];
const dir = mkdtempSync(join(tmpdir(), 'llmf-echo-'));
const config = join(dir, 'providers.yaml');
writeFileSync(
  config,
  `providers:
${MODES.map((m) => `  ${m}: { api: openai, base_url: "http://127.0.0.1:${port}/${m}/v1", model: m, api_key_env: ECHO_KEY }`).join('\n')}
  azure: { api: openai, base_url: "http://127.0.0.1:${port}/forms/v1", model: m, headers: { api-key: "\${AZURE_KEY}" } }
  azurehtml: { api: openai, base_url: "http://127.0.0.1:${port}/html/v1", model: m, headers: { api-key: "\${AZURE_KEY}" } }
  split: { api: openai, base_url: "http://127.0.0.1:${port}/split/v1", model: m, api_key_env: ECHO_KEY }
  encodings: { api: openai, base_url: "http://127.0.0.1:${port}/encodings/v1", model: m, api_key_env: ECHO_KEY }
  spaced: { api: openai, base_url: "http://127.0.0.1:${port}/forms/v1", model: m, api_key_env: SPACED_KEY }
chains:
  everything: [${[...MODES.filter((m) => m !== 'answer'), 'azure', 'azurehtml', 'answer'].join(', ')}]
`,
);
const summary = join(dir, 'summary.md');
writeFileSync(summary, '');
// Set with stray whitespace around it (a .env line, a copy-paste): it goes out trimmed, and is echoed so.
const SPACED = 'gsk_SPACEDKEY9x8y7z6w5v4u3t2s1r0q';
const env = { ECHO_KEY: KEY, AZURE_KEY: HEADER_KEY, SPACED_KEY: `\t${SPACED} `, XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache'), GITHUB_STEP_SUMMARY: summary };
const ALL = [...MODES, 'azure', 'azurehtml', 'encodings', 'spaced', 'split'];

/** Pieces of each key in every form a server could echo it in; none may appear anywhere. */
function fragments(key: string): string[] {
  const out = [key.slice(0, 7), key.slice(7, 16), key.slice(-10), encodeURIComponent(key).slice(0, 9), key.replace(/\//g, '\\/').slice(0, 8), `****${key.slice(-4)}`];
  for (const prefix of ['user:', 'u:']) out.push(b64(prefix + key).slice(8, 24));
  return out;
}

describe('a server that echoes the key back in any form', () => {
  it('gets it into no output and no file of ask, bench or health, and no terminal escapes either', async () => {
    const files = { out: join(dir, 'bench.json'), raw: join(dir, 'raw.jsonl'), junit: join(dir, 'health.xml'), health: join(dir, 'health.json') };
    const runs: string[][] = [
      // The chain ends with the provider that answers, so every other one is tried and reported first.
      ['ask', '--chain', 'everything', '--retries', '0', '--no-cache', '--json', 'hi'],
      ['ask', '--chain', 'everything', '--retries', '0', '--no-cache', 'hi'],
      ['bench', ...ALL, '-n', '1', '--out', files.out, '--raw', files.raw, '--raw-include-text'],
      ['bench', ...ALL, '-n', '1', '--format', 'json'],
      ['bench', ...ALL, '-n', '1', '--format', 'markdown'],
      ['health', ...ALL, '--format', 'junit', '--out', files.junit],
      ['health', ...ALL, '--out', files.health],
      ['health', ...ALL, '--format', 'json'],
      ['health', ...ALL, '--shallow'],
      // The split key: shown, printed as JSON, and written to the answer cache (kept on, to be scanned).
      ['ask', '--provider', 'split', 'hi'],
      ['ask', '--provider', 'split', '--json', 'again'],
    ];
    const outputs: string[] = [];
    for (const args of runs) {
      const r = await run(['--config', config, ...args], { env, timeoutMs: 30_000 });
      outputs.push(`${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
    }
    const written: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (p !== config) written.push(`${p}\n${readFileSync(p, 'utf8')}`);
      }
    };
    walk(dir);
    const all = [...outputs, ...written];
    // The servers really did answer with their echo (the runs reached them), and redaction really happened.
    const joined = all.join('\n');
    expect(joined).toContain('upstream rejected [REDACTED]');
    expect(joined).toMatch(/redirect to https:\/\/elsewhere\.example\/v1\?key=\[REDACTED\]&auth=/);
    expect(joined).toContain('your key is [REDACTED]');
    expect(joined).toMatch(/x{50}\[REDAC/);
    expect(joined).toContain('split key: [REDACTED] end');
    expect(written.some((f) => f.includes('/cache/') && f.includes('split key: [REDACTED] end'))).toBe(true);
    expect(readFileSync(summary, 'utf8').length).toBeGreaterThan(0);
    for (const text of all) {
      const echoed = [Buffer.from(KEY).toString('hex').slice(10, 30), KEY.toUpperCase().slice(7, 20), [...KEY].reverse().join('').slice(5, 20), '%54%4F%50', SPACED.slice(0, 14), SPACED.slice(-10)];
      for (const f of [...fragments(KEY), ...fragments(HEADER_KEY), ...echoed, 'TOPSECRET', 'HDRSECRET']) expect(text, `"${f}" in ${text.slice(0, 300)}`).not.toContain(f);
      expect(text).not.toContain('\u001b');
      expect(text).not.toContain('\u0007');
    }
  }, 180_000);
});

describe('a proxy HTML page that echoes the key', () => {
  const pages: Record<string, string> = {
    htmlh1: 'HTML page "upstream rejected [REDACTED]"',
    htmlsplit: 'HTML page "rejected [REDACTED]"',
    htmlentity: 'HTML page "rejected [REDACTED]"',
    htmlpct: 'HTML page "rejected [REDACTED] [REDACTED]"',
    htmlserver: 'HTML page (server: gateway/[REDACTED])',
    htmlcontrols: 'HTML page "rejected [REDACTED]"',
  };
  const pageConfig = join(dir, 'pages.yaml');
  writeFileSync(pageConfig, `providers:\n${[...Object.keys(pages), 'textcontrols'].map((m) => `  ${m}: { api: openai, base_url: "http://127.0.0.1:${port}/${m}/v1", model: m, api_key_env: ECHO_KEY }`).join('\n')}\n  hdr${'htmlsplit'}: { api: openai, base_url: "http://127.0.0.1:${port}/htmlsplit/v1", model: m, headers: { api-key: "\${AZURE_KEY}" } }\n`);

  it('names the page with the key redacted: in a heading, split by tags or controls, as character references, %-encoded, in the Server header', async () => {
    const names = [...Object.keys(pages), 'hdrhtmlsplit', 'textcontrols'];
    const runs = await Promise.all(names.map((m) => run(['--config', pageConfig, 'ask', '--provider', m, '--retries', '0', '--no-cache', 'hi'], { env, timeoutMs: 30_000 })));
    for (const [i, m] of names.entries()) {
      const r = runs[i];
      expect(r.code).toBe(1);
      const first = r.stderr.split('\n')[0];
      if (m === 'textcontrols') expect(first).toContain('textcontrols: HTTP 500: rejected [REDACTED] · attempts');
      else {
        expect(first).toContain(`${m}: HTTP 50${m === 'htmlserver' ? 4 : 2}`);
        expect(first).toContain(`${pages[m] ?? pages.htmlsplit}, not an API answer`);
      }
      for (const f of [...fragments(KEY), ...fragments(HEADER_KEY), 'TOPSECRET', 'HDRSECRET', 'TOPSECR', 'q1w2e3r4', 'm1n2b3v4']) expect(`${r.stdout}${r.stderr}`, `"${f}" from ${m}`).not.toContain(f);
    }
  }, 60_000);
});

describe('a key split by characters the shown text loses', () => {
  it('is redacted in what the library hands back, not only in what the CLI prints', async () => {
    // The CLI redacts once more as it prints; a library caller (and serve) gets the error message as made.
    const router = await createRouter({
      config: { providers: Object.fromEntries(['htmlcontrols', 'textcontrols'].map((m) => [m, { api: 'openai', base_url: `http://127.0.0.1:${port}/${m}/v1`, model: 'm', api_key_env: 'ECHO_KEY' }])) },
      env: { ECHO_KEY: KEY },
    });
    try {
      const messages = [];
      for (const model of ['htmlcontrols', 'textcontrols']) {
        const result = await router.chat({ model, messages: [{ role: 'user', content: 'hi' }], cache: false, retries: 0 });
        messages.push(result.error?.message ?? '', ...result.attempts.map((a) => JSON.stringify(a)));
      }
      expect(messages[0]).toContain('HTML page "rejected [REDACTED]"');
      expect(messages.join('\n')).toContain('textcontrols: HTTP 500: rejected [REDACTED]');
      for (const text of messages) for (const f of [...fragments(KEY), 'TOPSECRET']) expect(text, `"${f}" in ${text}`).not.toContain(f);
    } finally {
      await router.close();
    }
  });
});

describe('a parse error that quotes what the server sent', () => {
  it('names a header whose name is the key, redacted: the parser quotes a bad header\'s name, never its value', async () => {
    // Header names are tokens, and a key like this one is all token characters: the only server text a
    // parse error quotes. A raw net server writes the bytes (Node's http server would refuse them).
    const key = 'sk-proj-Ab12Cd34Ef56Gh78Ij90';
    const raw = createNetServer((socket: Socket) => {
      socket.on('error', () => {});
      let head = '';
      socket.on('data', (d) => {
        head += d.toString('latin1');
        if (head.includes('\r\n\r\n')) socket.end(`HTTP/1.1 200 OK\r\n${key}: a\u0001b\r\nContent-Length: 2\r\n\r\nok`);
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    try {
      const rawConfig = join(dir, 'raw.yaml');
      writeFileSync(rawConfig, `providers:\n  raw: { api: openai, base_url: "http://127.0.0.1:${(raw.address() as AddressInfo).port}/v1", model: m, api_key_env: RAW_KEY }\n`);
      const r = await run(['--config', rawConfig, 'ask', '--retries', '0', '--no-cache', '--debug', 'hi'], { env: { ...env, RAW_KEY: key } });
      expect(r.code).toBe(1);
      expect(r.stderr.split('\n')[0]).toContain('malformed HTTP response: invalid character in the value of header [REDACTED]');
      expect(`${r.stdout}${r.stderr}`).not.toContain('Ab12Cd34');
    } finally {
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
  });
});

describe('a streamed answer with the key split by characters a terminal does not show', () => {
  it('is redacted on a terminal (where they vanish and the key would show whole) and to a pipe', async () => {
    const unseenConfig = join(dir, 'unseen.yaml');
    writeFileSync(unseenConfig, `providers:\n  unseen: { api: openai, base_url: "http://127.0.0.1:${port}/unseen/v1", model: m, api_key_env: ECHO_KEY }\n`);
    const args = ['--config', unseenConfig, 'ask', '--no-cache', 'hi'];
    const tty = await onTerminal({ args, env: { ...env, HOME: dir } as Record<string, string> });
    const piped = await run(args, { env });
    expect(tty.exit).toBe(0);
    expect(tty.output).toContain('your key is [REDACTED] done');
    expect(piped.stdout).toBe('your key is [REDACTED] done\n');
    for (const text of [tty.output, piped.stdout, piped.stderr]) for (const f of [...fragments(KEY), 'TOPSECRET', 'OPSECRET']) expect(text, `"${f}" in ${JSON.stringify(text)}`).not.toContain(f);
  }, 30_000);
});

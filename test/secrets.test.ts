import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { resolveProvider } from '../src/config/load.js';
import type { ProviderConfig } from '../src/config/types.js';
import { createAdapter } from '../src/providers/index.js';
import { ProviderError } from '../src/providers/errors.js';
import { isLoopbackHost } from '../src/providers/transport.js';
import { redact, registerSecret, serverText, StreamRedactor } from '../src/util/redact.js';
import { adapterFor, ask, collect, emulator, errorOf } from './helpers.js';

const base = { api: 'openai' as const, model: 'm', headers: {}, params: {}, timeouts: {} };

describe('API keys', () => {
  it('are never sent over plain HTTP to a non-loopback host', () => {
    expect(() => createAdapter({ ...base, name: 'remote', baseUrl: 'http://api.example.com/v1', apiKey: 'sk-abc12345678' })).toThrow(UsageError);
    expect(() => createAdapter({ ...base, name: 'remote', baseUrl: 'http://api.example.com/v1', apiKey: 'sk-abc12345678' })).toThrow(
      /provider remote: refusing to send its API key over plain HTTP to api\.example\.com; use an https:\/\/ base_url/,
    );
  });

  it('may go over plain HTTP to loopback, and a keyless provider may use any URL', async () => {
    for (const url of ['http://127.0.0.1:9/v1', 'http://localhost:9/v1', 'http://[::1]:9/v1']) {
      await createAdapter({ ...base, name: 'local', baseUrl: url, apiKey: 'sk-abc12345678' }).close();
    }
    await createAdapter({ ...base, name: 'nokey', baseUrl: 'http://api.example.com/v1' }).close();
  });

  it('are redacted from errors even when the server echoes them back', async () => {
    const server = await emulator({ echo: { dialect: 'deepseek', api_key: 'the-right-key', echo_key: true } });
    const secret = 'sk-wrong-0123456789SECRET';
    const error = errorOf(await collect(adapterFor(server, 'echo', { apiKey: secret }), ask()));
    expect(error.errorClass).toBe('auth');
    expect(error.message).not.toContain('0123456789SECRET');
    expect(JSON.stringify(error)).not.toContain('0123456789SECRET');
    expect(error.message).toContain('[REDACTED]');
  });

  it('are accepted when right (Bearer for OpenAI dialects, x-api-key for Anthropic)', async () => {
    const server = await emulator({ oa: { dialect: 'openai', api_key: 'k-openai-123' }, an: { dialect: 'anthropic', api_key: 'k-anthropic-456' } });
    for (const [name, key] of [['oa', 'k-openai-123'], ['an', 'k-anthropic-456']]) {
      const events = await collect(adapterFor(server, name, { apiKey: key }), ask());
      expect(events[events.length - 1].type).toBe('finish');
    }
  });
});

describe('base URLs', () => {
  it('keep a query string after the endpoint path (e.g. ?api-version=)', async () => {
    const { emulator: start } = await import('./helpers.js');
    const server = await start({ q: { dialect: 'openai' } });
    const adapter = createAdapter({ ...base, name: 'q', baseUrl: `${server.baseUrl('q')}?api-version=2026-01-01` });
    const events = await collect(adapter, ask());
    expect(events[events.length - 1].type).toBe('finish');
    await adapter.close();
  });
});

describe('loopback, decided on the parsed address', () => {
  it.each([
    ['http://127.0.0.1:9/v1', true],
    ['http://127.45.6.7:9/v1', true],
    ['http://[::1]:9/v1', true],
    ['http://[0:0:0:0:0:0:0:1]:9/v1', true],
    ['http://localhost:9/v1', true],
    ['http://0.0.0.0:9/v1', false],
    ['http://[::ffff:127.0.0.1]:9/v1', false],
    ['http://[::]:9/v1', false],
    ['http://127.0.0.1.nip.io:9/v1', false],
    ['http://localhost.:9/v1', false],
    ['http://evil.localhost:9/v1', false],
    ['http://128.0.0.1:9/v1', false],
  ])('%s → %s', (url, loopback) => {
    expect(isLoopbackHost(new URL(url).hostname)).toBe(loopback);
  });
});

describe('secret headers (any value expanded from ${VAR}, or a credential header name)', () => {
  const provider = (baseUrl: string, headers: Record<string, string>): ProviderConfig => ({
    name: 'az',
    api: 'openai',
    baseUrl,
    model: 'm',
    headers,
    params: {},
    timeouts: { connect: 1000, firstToken: 1000, idle: 1000, total: 1000 },
    required: false,
    thresholds: [],
    where: 'providers.yaml:3:3',
  });
  const env = { AZURE_KEY: 'az-0123456789abcdefSECRET', REMOTE: 'http://0.0.0.0:8080/v1' };

  it('are never sent over plain HTTP to a host that is not loopback, env-expanded base URLs included', () => {
    for (const url of ['http://0.0.0.0:8080/v1', 'http://[::ffff:127.0.0.1]:8080/v1', '${REMOTE}', 'http://api.example.com/v1']) {
      const settings = resolveProvider(provider(url, { 'api-key': '${AZURE_KEY}' }), env);
      expect(() => createAdapter(settings), url).toThrow(/^provider az: refusing to send its secrets \(values expanded from \$\{VAR\} in headers or in the base_url query\) over plain HTTP to .+; use an https:\/\/ base_url/);
    }
    const literal = resolveProvider(provider('http://api.example.com/v1', { authorization: 'Bearer literal-token-123' }), env);
    expect(() => createAdapter(literal)).toThrow(/refusing to send its secrets/);
  });

  it('may go to loopback, and plain headers may go anywhere', async () => {
    await createAdapter(resolveProvider(provider('http://127.0.0.1:9/v1', { 'api-key': '${AZURE_KEY}' }), env)).close();
    await createAdapter(resolveProvider(provider('http://api.example.com/v1', { 'x-title': 'my app' }), env)).close();
  });

  it('a credential in the base_url query (?key=${VAR}) is one too: refused over plain HTTP, redacted; other query variables are not', async () => {
    const keyed = { ...env, QKEY: 'qk-9876543210fedcbaQUERY', API_VERSION: '2024-10-21' };
    expect(() => createAdapter(resolveProvider(provider('http://api.example.com/v1?key=${QKEY}', {}), keyed))).toThrow(/^provider az: refusing to send its secrets .* over plain HTTP to api\.example\.com/);
    const adapter = createAdapter(resolveProvider(provider('http://127.0.0.1:9/v1?api-version=${API_VERSION}&access_token=${QKEY}', {}), keyed));
    expect(redact('url ?access_token=qk-9876543210fedcbaQUERY')).toBe('url ?access_token=[REDACTED]');
    expect(redact('version 2024-10-21')).toBe('version 2024-10-21');
    await adapter.close();
    await createAdapter(resolveProvider(provider('http://api.example.com/v1?api-version=${API_VERSION}', {}), keyed)).close();
  });

  it('are redacted once the provider is set up', async () => {
    const adapter = createAdapter(resolveProvider(provider('http://127.0.0.1:9/v1', { 'x-custom': 'Basic ${AZURE_KEY}' }), env));
    expect(redact('server said: az-0123456789abcdefSECRET')).toBe('server said: [REDACTED]');
    expect(redact('header was Basic az-0123456789abcdefSECRET.')).not.toContain('0123456789abcdef');
    await adapter.close();
  });
});

describe('redaction of echoed forms, before any cut', () => {
  const key = 'Qw9/+zzKEYFORMS=0123456789abcdef';
  registerSecret(key);
  it.each([
    ['as sent', key],
    ['URL-encoded', encodeURIComponent(key)],
    ['URL-encoded, lower-case hex', encodeURIComponent(key).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())],
    ['JSON-escaped with \\/', key.replace(/\//g, '\\/')],
    ['base64 of user:key', Buffer.from(`user:${key}`).toString('base64')],
    ['base64 of ab:key', Buffer.from(`ab:${key}`).toString('base64')],
    ['base64 of k:key', Buffer.from(`k:${key}`).toString('base64')],
  ])('%s', (_, form) => {
    const out = redact(`before ${form} after`);
    expect(out).toContain('[REDACTED]');
    expect(out).not.toContain('zzKEYFORMS');
    expect(out).not.toContain('6789abcdef');
    expect(out).not.toContain(Buffer.from(key.slice(3, 15)).toString('base64').slice(2, 12));
  });

  it('removes a partially masked echo but leaves ordinary text alone', () => {
    expect(redact(`Incorrect API key provided: Qw9****${key.slice(-4)}.`)).toBe('Incorrect API key provided: [REDACTED].');
    expect(redact(`key Qw9…${key.slice(-6)} rejected`)).toBe('key [REDACTED] rejected');
    expect(redact('wait... then **** done')).toBe('wait... then **** done');
  });

  it.each([
    ['hex', Buffer.from(key).toString('hex')],
    ['HEX', Buffer.from(key).toString('hex').toUpperCase()],
    ['every byte %-encoded', [...Buffer.from(key)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')],
    ['upper case', key.toUpperCase()],
    ['reversed', [...key].reverse().join('')],
    ['its first 16 characters', key.slice(0, 16)],
    ['less its first and last 3', key.slice(3, -3)],
  ])('removes an echo %s', (_, form) => {
    expect(redact(`got ${form}.`)).toBe('got [REDACTED].');
  });

  it('removes a mask that shows the start of the key, and leaves words and short runs of it alone', () => {
    const masked = 'gsk_MASKHEAD1234567890abcdef';
    registerSecret(masked);
    expect(redact(`key ${masked.slice(0, 10)}…ef rejected`)).toBe('key [REDACTED] rejected');
    // Fragments are taken only from runs that mix letters and digits, 12 characters or more.
    expect(redact('zzKEYFORMS and 0123456789a are ordinary')).toBe('zzKEYFORMS and 0123456789a are ordinary');
  });

  it('short or wordy values keep ordinary text: no case, reversed or hex forms for them; long runs are scanned in one pass', () => {
    registerSecret('liveX');
    registerSecret('2024-Q3');
    expect(redact('evil Xevil LIVEX 2024-q3 323032342d5133')).toBe('evil Xevil LIVEX 2024-q3 323032342d5133');
    // A 200,000-character run with masks in it (the old pattern backtracked over such runs for seconds).
    const run = 'ab'.repeat(50_000) + '...' + 'cd'.repeat(50_000);
    expect(redact(run)).toBe(run);
  });

  it('registers a value with stray whitespace trimmed too (it goes out trimmed, and is echoed so)', () => {
    const spaced = 'gsk_TRIMMEDKEY1a2b3c4d5e6f';
    registerSecret(`\t${spaced} `);
    expect(redact(`Incorrect API key provided: ${spaced}.`)).toBe('Incorrect API key provided: [REDACTED].');
  });

  it('a key split across streamed pieces is held back until whole, then removed; ordinary text flows a word behind', () => {
    const r = new StreamRedactor();
    const half = Math.floor(key.length / 2);
    const shown = [r.push('your key is '), r.push(key.slice(0, half)), r.push(key.slice(half)), r.push(' and more'), r.end()];
    expect(shown.join('')).toBe('your key is [REDACTED] and more');
    expect(shown[1]).toBe(''); // half a key is never released
    for (const piece of shown) expect(piece).not.toContain(key.slice(0, 8));
    // Text without secrets is released up to its last space at once.
    const plain = new StreamRedactor();
    expect(plain.push('hello wor')).toBe('hello ');
    expect(plain.push('ld')).toBe('');
    expect(plain.end()).toBe('world');
    // A secret with a space in it (a passphrase, "Token abc…"), split at the space, is held from its start.
    registerSecret('correct horse battery 9staple');
    const spaced = new StreamRedactor();
    expect([spaced.push('pw is correct horse '), spaced.push('battery 9staple'), spaced.push('.'), spaced.end()].join('')).toBe('pw is [REDACTED].');
    // A mask split at its … is held with the token around it; a mask showing only the start is caught too.
    const masked = new StreamRedactor();
    expect([masked.push(`your key ${key.slice(0, 3)}…`), masked.push(key.slice(-4)), masked.push(' ok'), masked.end()].join('')).toBe('your key [REDACTED] ok');
    registerSecret('gsk_MASKHEAD1234567890abcdef');
    expect(redact('key gsk_MASKH… (masked)')).toBe('key [REDACTED] (masked)');
    // Text in a script without spaces is not held: no key is made of its characters.
    const chinese = new StreamRedactor();
    expect(chinese.push('数据库的一致性')).toBe('数据库的一致性');
    expect(chinese.push('和可用性 ok')).toBe('和可用性 ');
  });

  it('redacts before cutting, so a key straddling the cut leaves no half behind', () => {
    const text = `${'x'.repeat(290)}${key} and more`;
    const shown = serverText(text, 300);
    expect(shown).not.toContain(key.slice(0, 10));
    expect(shown.startsWith(`${'x'.repeat(290)}[REDAC`)).toBe(true);
  });

  it('redacts a key split by characters it strips (NUL, zero-width space, an escape sequence, U+202E, C1): they join it', () => {
    // Pieces of 8 (shorter than a fragment redact() knows) that the stripping joins into the whole key.
    const pieces = key.match(/.{1,8}/g)!;
    for (const sep of ['\u0000', '\u200b', '\u001b[0m', '\u202e', '\u0085', '\u2066']) {
      const shown = serverText(`rejected ${pieces.join(sep)}`, 300);
      expect(shown, JSON.stringify(sep)).toBe('rejected [REDACTED]');
    }
  });

  it('a streamed answer: a key split by characters a terminal does not show is removed; text with such characters and no key is kept as it came', () => {
    const pieces = key.match(/.{1,8}/g)!;
    const stream = new StreamRedactor();
    const shown = stream.push(`key ${pieces.slice(0, 2).join('\u0000')}\u200b`) + stream.push(`${pieces.slice(2).join('\u202e')} end`) + stream.end();
    expect(shown).toBe('key [REDACTED] end');
    // Hebrew with a right-to-left mark and a zero-width space: no secret, so nothing is taken out.
    const hebrew = new StreamRedactor();
    expect(hebrew.push('שלום\u200f עולם\u200b ') + hebrew.end()).toBe('שלום\u200f עולם\u200b ');
  });

  it('strips terminal escapes and control characters from server text', () => {
    expect(serverText('\u001b[2J\u001b[31mred\u001b[0m \u001b]0;title\u0007ok\u0000\u0008\r\nnext\u009b1m')).toBe('red ok next');
    const e = new ProviderError({ errorClass: 'server', message: 'p: HTTP 500: \u001b[1;31mboom\u001b[0m', headers: { location: '\u001b]8;;x\u0007y' } });
    expect(e.message).toBe('p: HTTP 500: boom');
    expect(e.headers.location).toBe('y');
  });
});

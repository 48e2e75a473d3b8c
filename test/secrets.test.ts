import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { createAdapter } from '../src/providers/index.js';
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

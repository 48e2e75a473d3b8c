/*
 * The whole gateway: `llm-fallback serve` as a child process with its real dialect handlers, metrics and
 * state stores, driven by the official openai and @anthropic-ai/sdk clients through a chain whose first
 * provider is down.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnServe, type ServeProcess } from '../src/perf/gateway.js';
import { spawnEmulator } from './cli-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'llmf-gw-'));
const emu = await spawnEmulator({
  seed: 2,
  providers: {
    fast: { dialect: 'openai', model: 'fast-1', output_tokens: { dist: 'constant', value: 5 } },
    claude: { dialect: 'anthropic', model: 'claude-x', output_tokens: { dist: 'constant', value: 5 } },
    dead: { dialect: 'openai', model: 'dead-1', script: [{ kind: 'overloaded' }] },
  },
});
const served: ServeProcess[] = [];
afterAll(async () => {
  for (const s of served) await s.close();
  await emu.close();
});

function config(name: string, extra = ''): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `defaults: { breaker_failures: 1, breaker_cooldown: 1h }
providers:
  fast: { api: openai, base_url: "${emu.baseUrl('fast')}", model: fast-1 }
  claude: { api: anthropic, base_url: "${emu.baseUrl('claude')}", model: claude-x }
  dead: { api: openai, base_url: "${emu.baseUrl('dead')}", model: dead-1 }
chains:
  default: [dead, fast]
  anthropic-first: [dead, claude]
  solo: [dead]
${extra}`,
  );
  return file;
}

async function serve(args: string[]): Promise<ServeProcess> {
  const s = await spawnServe(args);
  served.push(s);
  return s;
}

describe('serve with the official SDKs', () => {
  it('answers through a chain whose first provider is down, streaming and not, in both dialects', async () => {
    const s = await serve(['--config', config('sdk.yaml'), 'serve']);
    const openai = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const { data, response } = await openai.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(data.choices[0].message.content?.trim().split(/\s+/)).toHaveLength(5);
    expect(response.headers.get('x-llm-fallback-provider')).toBe('fast');

    const stream = await openai.chat.completions.create({ model: 'default', stream: true, messages: [{ role: 'user', content: 'hi again' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text.trim().split(/\s+/)).toHaveLength(5);

    const anthropic = new Anthropic({ baseURL: s.url, apiKey: 'unused', maxRetries: 0 });
    const msg = await anthropic.messages.create({ model: 'anthropic-first', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    expect(msg.content[0].type === 'text' && msg.content[0].text.trim().split(/\s+/)).toHaveLength(5);

  });
});

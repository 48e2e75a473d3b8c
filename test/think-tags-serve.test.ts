/*
 * MiniMax's inline thinking through the whole gateway: the emulator's minimax dialect writes its thinking into
 * the content between <think> tags, as MiniMax-M2.7 does without reasoning_split (emulator-wire.test.ts holds
 * the emulator to the recording minimax/gomodel-prod-m27-stream.sse). `serve` must pass on the answer only,
 * read by the official openai and @anthropic-ai/sdk clients.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnServe, type ServeProcess } from '../src/perf/gateway.js';
import { spawnEmulator } from './cli-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'llmf-think-serve-'));
const emu = await spawnEmulator({
  seed: 3,
  providers: {
    mm: { dialect: 'minimax', model: 'MiniMax-M2.7', output_tokens: { dist: 'constant', value: 6 }, reasoning_tokens: 12 },
  },
});
const served: ServeProcess[] = [];
afterAll(async () => {
  for (const s of served) await s.close();
  await emu.close();
});

function config(thinkTags = ''): string {
  const file = join(dir, `providers${thinkTags ? '-off' : ''}.yaml`);
  writeFileSync(file, `providers:\n  mm: { api: openai, base_url: "${emu.baseUrl('mm')}", model: MiniMax-M2.7${thinkTags} }\nchains:\n  default: [mm]\n`);
  return file;
}

describe('serve passes on the answer without the thinking the model wrote inline', () => {
  it('OpenAI endpoint, streamed and not; Anthropic endpoint: no <think> and no thinking text; think_tags: off shows it', async () => {
    const s = await spawnServe(['--config', config(), 'serve']);
    served.push(s);
    const openai = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const whole = await openai.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'hi' }] });
    const answer = whole.choices[0].message.content ?? '';
    expect(answer).not.toContain('think>');
    expect(answer.trim().split(/\s+/)).toHaveLength(6);

    const stream = await openai.chat.completions.create({ model: 'default', stream: true, messages: [{ role: 'user', content: 'hi again' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).not.toContain('think>');
    expect(text.trim().split(/\s+/)).toHaveLength(6);

    const anthropic = new Anthropic({ baseURL: s.url, apiKey: 'unused', maxRetries: 0 });
    const msg = await anthropic.messages.create({ model: 'default', max_tokens: 256, messages: [{ role: 'user', content: 'hi' }] });
    const said = msg.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    expect(said).not.toContain('think>');
    expect(said.trim().split(/\s+/)).toHaveLength(6);

    // The same server with think_tags: off: the tags and the 12 words of thinking come through (the test sees them).
    const off = await spawnServe(['--config', config(', think_tags: off'), 'serve']);
    served.push(off);
    const raw = await new OpenAI({ baseURL: `${off.url}/v1`, apiKey: 'unused', maxRetries: 0 }).chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'hi' }] });
    const rawText = raw.choices[0].message.content ?? '';
    expect(rawText).toContain('<think>');
    expect(rawText.replace(/<\/?think>/g, ' ').trim().split(/\s+/)).toHaveLength(18);
  });
});

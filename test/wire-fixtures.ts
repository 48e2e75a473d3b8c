import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createAdapter } from '../src/providers/index.js';
import type { ThinkTags } from '../src/providers/think-tags.js';
import type { ProviderAdapter, Usage } from '../src/providers/types.js';

/** Recorded wire data (test/fixtures/wire/index.json): what each file is, where it came from, what it shows. */
export interface WireFixture {
  file: string;
  provider: string;
  api: 'openai' | 'anthropic';
  /** answer: a whole non-streamed (stream:false) response body. */
  kind: 'stream' | 'error' | 'answer';
  framing: 'sse' | 'json-lines' | 'data-lines' | 'body';
  status?: number;
  /** The Content-Type the body was recorded with (answers). */
  contentType?: string;
  handwritten: boolean;
  source: Record<string, unknown>;
  how: string;
  shows: string;
  /** Provider settings the recording needs, as providers.yaml would set them (think_tags: open for a chat template that opens <think> itself). */
  settings?: { thinkTags?: ThinkTags };
  expect: {
    finish?: string;
    /** The provider's own finish/stop reason word. */
    rawFinish?: string;
    usage?: Usage | null;
    /** The served model and response id the body names. */
    model?: string;
    responseId?: string;
    /** Tool calls in the answer's message (tool_calls[] or tool_use blocks). */
    toolCalls?: number;
    providerCode?: string;
    content?: string;
    reasoning?: string;
    errorClass?: string;
    retryable?: boolean;
    retryAfterMs?: number;
    contentBefore?: string;
    messageContains?: string;
  };
}

const DIR = fileURLToPath(new URL('./fixtures/wire/', import.meta.url));

export const FIXTURES: WireFixture[] = (JSON.parse(readFileSync(DIR + 'index.json', 'utf8')) as { fixtures: WireFixture[] }).fixtures;

export function rawBytes(f: WireFixture): Buffer {
  return readFileSync(DIR + f.file);
}

/**
 * The response body as the provider sent it. sse and body files are the bytes themselves; Vercel's
 * json-lines recordings keep only each event's JSON, so they are framed here the way the provider frames
 * them (Anthropic names every event after its type); data-lines files get their blank lines back.
 */
export function wireBody(f: WireFixture): Buffer {
  const raw = rawBytes(f);
  if (f.framing === 'sse' || f.framing === 'body') return raw;
  const lines = raw.toString('utf8').split('\n').filter((l) => l.trim() !== '');
  if (f.framing === 'data-lines') return Buffer.from(lines.map((l) => `${l}\n\n`).join(''));
  return Buffer.from(lines.map((l) => (f.api === 'anthropic' ? `event: ${(JSON.parse(l) as { type: string }).type}\ndata: ${l}\n\n` : `data: ${l}\n\n`)).join(''));
}

/** The JSON objects of every `data:` line of an SSE body ([DONE] and comments left out). */
export function dataObjects(body: Buffer | string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of body.toString().split(/\r?\n/)) {
    const m = /^data: ?(.*)$/.exec(line);
    if (m && m[1].trim().startsWith('{')) out.push(JSON.parse(m[1]) as Record<string, unknown>);
  }
  return out;
}

/**
 * Cut points meant to hurt a parser: inside the first `data:`, right after the first byte of the first
 * few multibyte characters, between a CR and its LF, and at thirds of the body.
 */
export function awkwardCuts(buf: Buffer): number[] {
  const cuts = new Set<number>([3, Math.floor(buf.length / 3), Math.floor(buf.length / 2), Math.floor((2 * buf.length) / 3), buf.length - 2]);
  let multibyte = 0;
  for (let i = 0; i < buf.length && multibyte < 3; i++) {
    if (buf[i] >= 0xc0) {
      cuts.add(i + 1);
      multibyte++;
    }
  }
  const cr = buf.indexOf(0x0d);
  if (cr >= 0) cuts.add(cr + 1);
  return [...cuts].filter((c) => c > 0 && c < buf.length).sort((a, b) => a - b);
}

export interface Reply {
  status: number;
  contentType: string;
  body: Buffer;
  /** Destroy the socket after this many body bytes instead of ending the response. */
  cutAfter?: number;
}

/**
 * A loopback server on 127.0.0.1 port 0 that answers POST /<name>/... with the reply registered under
 * <name>, written in several TCP writes (Nagle off, a pause between writes) at awkward offsets.
 */
export async function replayServer(
  replies: Record<string, Reply>,
  /** Told each request's body, under the reply name it asked for. */
  onRequest?: (name: string, body: string) => void,
): Promise<{ url: (name: string) => string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const name = decodeURIComponent((req.url ?? '').split('/')[1] ?? '');
      onRequest?.(name, Buffer.concat(chunks).toString('utf8'));
      const reply = replies[name];
      if (!reply) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no such fixture"}}');
        return;
      }
      req.socket.setNoDelay(true);
      res.writeHead(reply.status, { 'content-type': reply.contentType });
      const body = reply.cutAfter === undefined ? reply.body : reply.body.subarray(0, reply.cutAfter);
      let from = 0;
      for (const cut of [...awkwardCuts(body), body.length]) {
        if (cut <= from) continue;
        res.write(body.subarray(from, cut));
        from = cut;
        await new Promise((r) => setTimeout(r, 1));
      }
      if (reply.cutAfter !== undefined) req.socket.destroy();
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (name) => `http://127.0.0.1:${port}/${encodeURIComponent(name)}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * What a recording says was answered, decoded independently of src/providers: the concatenated answer
 * text and reasoning text of every delta (string content, Magistral typed parts, reasoning_content or
 * reasoning or reasoning_details, Anthropic text/thinking deltas).
 */
export function recordedText(f: WireFixture): { content: string; reasoning: string } {
  return decodedText(f, wireBody(f));
}

/** recordedText of any part of a recorded body (e.g. the events up to the first answer text). */
export function decodedText(f: Pick<WireFixture, 'api' | 'settings'>, body: Buffer | string): { content: string; reasoning: string } {
  const api = f.api;
  let content = '';
  let reasoning = '';
  for (const o of dataObjects(body)) {
    if (api === 'anthropic') {
      const d = o.delta as Record<string, unknown> | undefined;
      if (o.type === 'content_block_delta' && d?.type === 'text_delta') content += d.text as string;
      if (o.type === 'content_block_delta' && d?.type === 'thinking_delta') reasoning += d.thinking as string;
      continue;
    }
    const choice = (Array.isArray(o.choices) ? o.choices[0] : undefined) as Record<string, unknown> | undefined;
    const d = choice?.delta as Record<string, unknown> | undefined;
    if (!d) continue;
    if (typeof d.content === 'string') content += d.content;
    if (Array.isArray(d.content)) {
      for (const p of d.content as Record<string, unknown>[]) {
        if (p.type === 'text') content += p.text as string;
        if (p.type === 'thinking') for (const t of p.thinking as { text: string }[]) reasoning += t.text;
      }
    }
    if (typeof d.reasoning_content === 'string') reasoning += d.reasoning_content;
    else if (typeof d.reasoning === 'string') reasoning += d.reasoning;
    else if (Array.isArray(d.reasoning_details)) for (const r of d.reasoning_details as { text: string }[]) reasoning += r.text;
  }
  if (api === 'anthropic') return { content, reasoning };
  const tagged = taggedThink(content, f.settings?.thinkTags);
  return { content: tagged.content, reasoning: reasoning || tagged.reasoning };
}

/** The answer text read the way the recording's think_tags setting says (leading unless set). */
function taggedThink(text: string, mode: ThinkTags = 'leading'): { content: string; reasoning: string } {
  if (mode === 'off') return { reasoning: '', content: text };
  return mode === 'open' ? openThink(text) : leadingThink(text);
}

/**
 * The reasoning a model wrote at the start of its answer text between <think> and </think> (MiniMax without
 * reasoning_split, DeepSeek-R1 and Qwen3 without a reasoning parser), read from the whole text at once with one
 * regular expression: the check on src/providers/think-tags.ts, which reads the pieces as they stream. A block
 * never closed (a budget spent thinking, a tool call after it) is reasoning to the end; the blank space between
 * the block and the answer is neither, and blank space before the block stays the answer's.
 */
export function leadingThink(text: string): { content: string; reasoning: string } {
  const m = /^(\s*)<think>([\s\S]*?)(?:<\/think>\s*|$)/.exec(text);
  return m ? { reasoning: m[2], content: m[1] + text.slice(m[0].length) } : { reasoning: '', content: text };
}

/**
 * leadingThink's counterpart for a chat template that opened <think> in the prompt (think_tags: open; recorded:
 * Qwen3-235B-A22B-Thinking-2507 on Cerebras and Together): everything before the first </think> is reasoning,
 * an opening tag at the start included or not; no </think> at all is reasoning to the end.
 */
export function openThink(text: string): { content: string; reasoning: string } {
  const m = /^\s*(?:<think>)?([\s\S]*?)(?:<\/think>\s*|$)/.exec(text)!;
  return { reasoning: m[1], content: text.slice(m[0].length) };
}

/**
 * What a recorded non-streamed answer says, read independently of src/providers: the answer text (string
 * content, or Anthropic's text blocks joined) and the reasoning text (reasoning_content, else reasoning, or
 * Anthropic's thinking blocks), and its tool calls.
 */
export function recordedAnswer(f: WireFixture): { content: string; reasoning: string; toolCalls: number } {
  const o = JSON.parse(rawBytes(f).toString('utf8')) as Record<string, unknown>;
  if (f.api === 'anthropic') {
    const blocks = o.content as Record<string, unknown>[];
    const join = (type: string, field: string) => blocks.filter((b) => b.type === type).map((b) => b[field] as string).join('');
    return { content: join('text', 'text'), reasoning: join('thinking', 'thinking'), toolCalls: blocks.filter((b) => b.type === 'tool_use').length };
  }
  const message = (o.choices as { message: Record<string, unknown> }[])[0].message;
  const reasoning = typeof message.reasoning_content === 'string' ? message.reasoning_content : typeof message.reasoning === 'string' ? message.reasoning : '';
  const tagged = taggedThink(typeof message.content === 'string' ? message.content : '', f.settings?.thinkTags);
  return { content: tagged.content, reasoning: reasoning || tagged.reasoning, toolCalls: Array.isArray(message.tool_calls) ? message.tool_calls.length : 0 };
}

/** The adapter the commands would build (createAdapter) for a recording served at `baseUrl`. */
export function recordingAdapter(f: WireFixture, baseUrl: string): ProviderAdapter {
  return createAdapter({
    name: f.provider,
    api: f.api,
    baseUrl,
    model: 'recorded',
    apiKey: 'sk-test-replay-0000',
    headers: {},
    params: {},
    timeouts: { connectMs: 2000, firstTokenMs: 10_000, idleMs: 10_000, totalMs: 20_000 },
    thinkTags: f.settings?.thinkTags,
  });
}

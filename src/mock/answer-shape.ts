/**
 * What a request asks of the answer's text, applied to the emulator's words as the services apply it:
 * a JSON format (OpenAI dialects' `response_format`: `json_object` gives a JSON object, `json_schema` a
 * value of its schema; Anthropic's structured outputs, `output_config.format` `json_schema`: a value of
 * its schema as the text) and stop sequences (OpenAI `stop`, Anthropic `stop_sequences`: the text ends
 * before the first one, with finish_reason "stop" / stop_reason "stop_sequence").
 */
import type { Dialect } from './profile.js';
import { sampleOf, type Schema } from './tools.js';

/** The answer's text for a JSON response format, or undefined when none is asked (or the dialect has none). */
export function jsonAnswer(body: Record<string, unknown>, dialect: Dialect, words: string): string | undefined {
  if (dialect === 'anthropic') {
    // `output_config.format` as @anthropic-ai/sdk's messages.parse() and the Vercel AI SDK send it.
    const format = (body.output_config as { format?: { type?: string; schema?: Schema } } | undefined)?.format;
    return format?.type === 'json_schema' ? JSON.stringify(sampleOf(format.schema, format.schema, 0)) : undefined;
  }
  const format = body.response_format as { type?: string; json_schema?: { schema?: Schema } } | undefined;
  if (format?.type === 'json_object') return JSON.stringify({ answer: words.trim() });
  if (format?.type === 'json_schema') return JSON.stringify(sampleOf(format.json_schema?.schema, format.json_schema?.schema, 0));
  return undefined;
}

/** Splits a text into `pieces` streamed tokens (the last ones may be empty strings only when the text is shorter). */
export function splitInto(text: string, pieces: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / Math.max(1, pieces)));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length ? out : [''];
}

/** The request's stop sequences (OpenAI: a string or up to 4; Anthropic: a list). */
function stopsOf(body: Record<string, unknown>, dialect: Dialect): string[] {
  const raw = dialect === 'anthropic' ? body.stop_sequences : body.stop;
  const list = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : [];
  return list.filter((s): s is string => typeof s === 'string' && s.length > 0);
}

/**
 * The tokens cut before the first stop sequence in their text, and the sequence met; undefined when
 * none occurs. A token the sequence begins inside keeps the part before it.
 */
export function cutAtStop(body: Record<string, unknown>, dialect: Dialect, tokens: string[]): { tokens: string[]; sequence: string } | undefined {
  const stops = stopsOf(body, dialect);
  if (!stops.length) return undefined;
  const text = tokens.join('');
  let at = -1;
  let sequence = '';
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (at < 0 || i < at)) [at, sequence] = [i, s];
  }
  if (at < 0) return undefined;
  const kept: string[] = [];
  let pos = 0;
  for (const t of tokens) {
    if (pos + t.length <= at) kept.push(t);
    else {
      if (at > pos) kept.push(t.slice(0, at - pos));
      break;
    }
    pos += t.length;
  }
  return { tokens: kept.length ? kept : [''], sequence };
}

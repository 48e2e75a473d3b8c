/**
 * Reading request bodies, shared by the dialects: each rejected field gets one 400 that names it, says
 * what is wrong and how to send it instead. What the gateway cannot pass on faithfully (images, audio,
 * tools) is refused, never silently dropped.
 */
import type { Sampling } from '../providers/types.js';
import type { ErrorReply } from './errors.js';

export class BodyError {
  constructor(readonly reply: ErrorReply) {}
}

export function bad(param: string, message: string): never {
  throw new BodyError({ status: 400, code: 'invalid_request', param, message: `${param}: ${message}` });
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v));

/** An optional positive integer (a max-tokens limit). */
export function positiveInt(o: Record<string, unknown>, key: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  // A safe integer: past 2^53 a count is no longer exact (and the router refuses it).
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) bad(key, `must be a positive integer (got ${show(v)})`);
  return v;
}

/** An optional number within [min, max] (a temperature). */
export function numberIn(o: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) bad(key, `must be a number from ${min} to ${max} (got ${show(v)})`);
  return v;
}

/** An optional whole number of at least `min` (a seed, a top_k). */
export function wholeNumber(o: Record<string, unknown>, key: string, min = Number.MIN_SAFE_INTEGER): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) bad(key, `must be a whole number${min > Number.MIN_SAFE_INTEGER ? ` of at least ${min}` : ''} (got ${show(v)})`);
  return v;
}

/** The sampling fields present, or undefined when none is (so a request without them hashes and travels as before). */
export function samplingOf(s: Sampling): Sampling | undefined {
  const set = Object.entries(s).filter(([, v]) => v !== undefined);
  return set.length ? (Object.fromEntries(set) as Sampling) : undefined;
}

export function optionalBool(o: Record<string, unknown>, key: string): boolean {
  const v = o[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') bad(key, `must be true or false (got ${show(v)})`);
  return v;
}

export function requiredString(o: Record<string, unknown>, key: string, hint: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') bad(key, v === undefined ? `required; ${hint}` : `must be a non-empty string (got ${show(v)}); ${hint}`);
  return v;
}

/**
 * Text content: a string, or a list of text parts joined by newlines (separate parts stay separate
 * words). `partType` is the dialect's name of a text part; any other part is refused by its type.
 */
export function textContent(v: unknown, where: string, partType: 'text', refuse: (type: string) => string): string {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) bad(where, `must be a string or a list of ${partType} parts (got ${show(v)})`);
  const texts: string[] = [];
  for (let i = 0; i < v.length; i++) {
    const p: unknown = v[i];
    if (!isObject(p)) bad(`${where}[${i}]`, `must be a part like {"type":"text","text":"..."} (got ${show(p)})`);
    if (p.type !== partType) bad(`${where}[${i}].type`, refuse(String(p.type)));
    if (typeof p.text !== 'string') bad(`${where}[${i}].text`, `must be a string (got ${show(p.text)})`);
    texts.push(p.text);
  }
  return texts.join('\n');
}

/** A field the gateway cannot honour, refused when it asks for something. */
export function refuseIf(cond: boolean, key: string, message: string): void {
  if (cond) bad(key, message);
}

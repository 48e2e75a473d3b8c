import { isMap, isScalar, isSeq, type LineCounter, type Node, type ParsedNode } from 'yaml';
import { parseThreshold } from '../bench/thresholds.js';
import { checkDuration } from '../util/duration.js';
import { didYouMean } from '../util/suggest.js';
import { VALUE_BAD_RE } from '../providers/h1/request.js';
import { HEADER_NAME, HEADER_VALUE_BAD, NAME, NAME_BAD, type Schema } from './schema.js';

export interface Problem {
  /** 1-based line and column. */
  line: number;
  col: number;
  message: string;
}

/** Keys people write for ours, too far from them for an edit-distance hint. */
const COMMON_MISTAKES: Record<string, string> = { api_key: 'api_key_env', apikey: 'api_key_env', 'api-key': 'api_key_env', key: 'api_key_env', baseurl: 'base_url', 'base-url': 'base_url', url: 'base_url', endpoint: 'base_url' };
const MISTAKE_NOTES: Record<string, string> = { api_key_env: ' It takes the name of the environment variable that holds the key (e.g. DEEPSEEK_API_KEY), never the key itself' };

/**
 * Checks a YAML node tree against a schema, recording one problem per mistake with its position.
 * Walking the AST (not the parsed JS) is what lets every message point at a line and column.
 */
export class Validator {
  readonly problems: Problem[] = [];

  constructor(private readonly lines: LineCounter) {}

  at(node: Node | null | undefined, message: string, fallbackOffset = 0): void {
    const offset = node?.range?.[0] ?? fallbackOffset;
    const pos = this.lines.linePos(offset);
    this.problems.push({ line: pos.line, col: pos.col, message });
  }

  check(node: ParsedNode | null | undefined, s: Schema, path: string, parentOffset = 0): void {
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) {
      this.at(node, `${path}: is empty; expected ${describe(s)}`, parentOffset);
      return;
    }
    switch (s.t) {
      case 'any':
        return;
      case 'string': {
        if (!isScalar(node) || typeof node.value !== 'string') {
          // A header value or a variable's name written as a bare number may be a key (all digits): say what
          // kind of value stands there, never the value, which YAML has also already rounded to a float.
          if ((s.format === 'header-value' || s.format === 'env') && isScalar(node) && typeof node.value === 'number') {
            return this.at(node, `${path}: expected ${describe(s)}, got a number; put the value in quotes so it is read as text, digit for digit`);
          }
          return this.at(node, `${path}: expected ${describe(s)}, got ${kindOf(node)}${quoteHint(node)}`);
        }
        const v = node.value;
        if (s.enum && !s.enum.includes(v)) return this.at(node, `${path}: "${v}" is not one of ${s.enum.join(', ')}${didYouMean(v, s.enum)}`);
        if (s.format === 'url' && !/^\$\{/.test(v)) {
          let ok = false;
          try {
            // ${VAR} inside the URL (a port, a host) is checked with a stand-in; the value itself is checked again once expanded.
            const u = new URL(v.replace(/\$\{[^}]*\}/g, '1'));
            ok = u.protocol === 'http:' || u.protocol === 'https:';
          } catch {
            ok = false;
          }
          if (!ok) this.at(node, `${path}: "${v}" is not a valid http(s) URL; write it like https://api.example.com/v1`);
        }
        const envProblem = s.format === 'env' ? envNameProblem(v, 'DEEPSEEK_API_KEY') : undefined;
        if (envProblem) this.at(node, `${path}: ${envProblem}`);
        if (s.format === 'threshold') {
          try {
            parseThreshold(v, path);
          } catch (e) {
            this.at(node, (e as Error).message);
          }
        }
        if (s.format === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(v)) this.at(node, `${path}: "${v}" is not a date; write YYYY-MM-DD`);
        else if (s.format === 'date' && !isCalendarDate(v)) this.at(node, `${path}: "${v}" is not a day of the calendar; check the month and day`);
        if (s.format === 'currency' && !/^[A-Za-z]{3}$/.test(v)) this.at(node, `${path}: "${v}" is not a currency code; give the 3-letter ISO 4217 code (e.g. EUR, GBP, JPY)`);
        if (s.format === 'header-value' && VALUE_BAD_RE.test(v)) {
          this.at(node, `${path}: the value holds ${HEADER_VALUE_BAD}, which no HTTP header may carry; write it on one line, in Latin-1`);
        }
        return;
      }
      case 'number':
      case 'integer': {
        if (!isScalar(node) || typeof node.value !== 'number') return this.at(node, `${path}: expected ${describe(s)}, got ${kindOf(node)}`);
        const v = node.value;
        if (!Number.isFinite(v)) return this.at(node, `${path}: expected a finite ${s.t === 'integer' ? 'whole number' : 'number'}, got ${node.source ?? v}`);
        if (s.t === 'integer' && !Number.isSafeInteger(v)) return this.at(node, `${path}: expected a whole number, got ${v}`);
        if (s.t === 'number' && s.positive && v <= 0) return this.at(node, `${path}: must be greater than 0, got ${v}`);
        if (s.min !== undefined && v < s.min) return this.at(node, `${path}: must be at least ${s.min}, got ${v}`);
        if (s.max !== undefined && v > s.max) return this.at(node, `${path}: must be at most ${s.max}, got ${v}`);
        return;
      }
      case 'boolean':
        if (!isScalar(node) || typeof node.value !== 'boolean') this.at(node, `${path}: expected true or false, got ${kindOf(node)}`);
        return;
      case 'duration': {
        const text = isScalar(node) && (typeof node.value === 'number' || typeof node.value === 'string') ? String(node.value) : undefined;
        if (text === undefined) return this.at(node, `${path}: expected a duration like "10s", got ${kindOf(node)}`);
        const d = checkDuration(text, s.maxMs);
        if ('problem' in d) return this.at(node, `${path}: ${d.problem}`);
        return;
      }
      case 'object': {
        if (!isMap(node)) return this.at(node, `${path || 'the file'}: expected a mapping (key: value lines), got ${kindOf(node)}`);
        const seen = new Set<string>();
        for (const pair of node.items) {
          const keyNode = pair.key as ParsedNode | null;
          const key = isScalar(keyNode) ? String(keyNode.value) : '';
          seen.add(key);
          const field = s.fields[key];
          if (!field) {
            const meant = COMMON_MISTAKES[key.toLowerCase()];
            const hint = meant && s.fields[meant] ? `; did you mean "${meant}"?${MISTAKE_NOTES[meant] ?? ''}` : didYouMean(key, Object.keys(s.fields));
            this.at(keyNode, `${path ? `${path}.` : ''}${key}: unknown key${hint || `; allowed keys: ${Object.keys(s.fields).join(', ')}`}`);
            continue;
          }
          this.check(pair.value as ParsedNode | null, field.s, path ? `${path}.${key}` : key, keyNode?.range?.[0] ?? 0);
        }
        for (const [key, field] of Object.entries(s.fields)) {
          // Point at the entry's own name (the parent key) when there is one: that is where the key belongs.
          if (field.required && !seen.has(key)) this.at(parentOffset ? null : node, `${path || 'top level'}: missing required key "${key}" (${describe(field.s)})`, parentOffset);
        }
        return;
      }
      case 'map': {
        if (!isMap(node)) return this.at(node, `${path}: expected a mapping of names, got ${kindOf(node)}`);
        for (const pair of node.items) {
          const keyNode = pair.key as ParsedNode | null;
          const key = isScalar(keyNode) ? String(keyNode.value) : '?';
          if (s.keys === 'header-name' && !HEADER_NAME.test(key)) {
            this.at(keyNode, `${path}: "${key}" is not a header name (letters, digits and !#$%&'*+-.^_\`|~ only; no spaces or colons)`);
            continue;
          }
          if (s.keys === 'name' && !NAME.test(key)) {
            // The name is quoted with those characters written as escapes: shown raw, they would hide or reorder the message.
            const codes = [...new Set(key.match(NAME_BAD))].map((c) => `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
            const shown = key.replace(NAME_BAD, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
            this.at(keyNode, `${path}: the name "${shown}" holds ${codes.join(', ')} (a control, invisible or direction-changing character); names are typed on command lines and shown in tables: remove it`);
            continue;
          }
          this.check(pair.value as ParsedNode | null, s.values, `${path}.${key}`, keyNode?.range?.[0] ?? 0);
        }
        return;
      }
      case 'list': {
        if (!isSeq(node)) return this.at(node, `${path}: expected a list, got ${kindOf(node)}`);
        if (s.minItems && node.items.length < s.minItems) return this.at(node, `${path}: needs at least ${s.minItems} item(s)`);
        node.items.forEach((item, i) => this.check(item as ParsedNode, s.items, `${path}[${i}]`, node.range?.[0] ?? 0));
        return;
      }
      case 'either': {
        const match =
          s.options.find((o) => (o.t === 'list' && isSeq(node)) || (o.t === 'object' && isMap(node)) || (o.t === 'string' && o.enum && isScalar(node) && o.enum.includes(String(node.value)))) ??
          s.options.find((o) => o.t === 'duration' && isScalar(node));
        if (!match) return this.at(node, `${path}: expected ${s.options.map(describe).join(' or ')}, got ${kindOf(node)}`);
        // A word that is neither a duration nor one of the allowed words: name both, not only the duration.
        const words = s.options.flatMap((o) => (o.t === 'string' && o.enum ? [...o.enum] : []));
        const word = match.t === 'duration' && isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
        const asDuration = word === undefined || match.t !== 'duration' ? undefined : checkDuration(word, match.maxMs);
        if (words.length && asDuration && 'problem' in asDuration && /not a duration/.test(asDuration.problem)) {
          return this.at(node, `${path}: "${word}" is neither a duration (like "800ms", "10s") nor ${words.join(' or ')}`);
        }
        return this.check(node, match, path, parentOffset);
      }
    }
  }
}

/** YYYY-MM-DD naming a day that exists (Date.parse takes 2026-02-30 as March 2nd). */
/**
 * What is wrong with a value given as an environment variable's name (api_key_env, --api-key-env), or
 * undefined. The value is never quoted back: what stands where a name belongs is often the key itself, in a
 * format no redaction pattern knows, and the message is printed, logged and pasted into issues.
 */
export function envNameProblem(v: string, example: string): string | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) return `not an environment variable name (letters, digits and _, not starting with a digit); give the variable's name (e.g. ${example}), never the key itself`;
  if (looksLikeKey(v)) return `looks like a key, not an environment variable's name; put the key in a variable (export ${example}=...) and give its name here`;
  return undefined;
}

/**
 * A value that passes as a variable's name but reads as random characters: 20 or more, letters and digits,
 * switching between lower case, upper case and digits at least every fourth character. Switches across an
 * underscore and from a capital into its word do not count, so names people give variables are words
 * (`DEEPSEEK_API_KEY`, `Deepseek_Api_Key_2024`, `OpenAiKeyProduction2`: none or one switch); a random key
 * of letters and digits switches at about every other character.
 */
export function looksLikeKey(v: string): boolean {
  if (v.length < 20 || !/[A-Za-z]/.test(v) || !/[0-9]/.test(v)) return false;
  const kind = (c: string) => (c >= 'a' && c <= 'z' ? 'lower' : c >= 'A' && c <= 'Z' ? 'upper' : 'digit');
  let switches = 0;
  for (const word of v.split('_')) {
    for (let i = 1; i < word.length; i++) {
      const from = kind(word[i - 1]);
      const to = kind(word[i]);
      if (from !== to && !(from === 'upper' && to === 'lower')) switches++;
    }
  }
  return switches * 4 >= v.length;
}

function isCalendarDate(v: string): boolean {
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
}

function describe(s: Schema): string {
  switch (s.t) {
    case 'string':
      return s.enum ? `one of ${s.enum.join(', ')}` : s.format === 'url' ? 'a URL' : s.format === 'date' ? 'a date (YYYY-MM-DD)' : 'a string';
    case 'number':
      return 'a number';
    case 'integer':
      return 'a whole number';
    case 'boolean':
      return 'true or false';
    case 'duration':
      return 'a duration like "10s"';
    case 'object':
      return 'a mapping';
    case 'map':
      return 'a mapping of names';
    case 'list':
      return 'a list';
    case 'either':
      return s.options.map(describe).join(' or ');
    case 'any':
      return 'any value';
  }
}

function kindOf(node: ParsedNode): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'string') return `the string "${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`;
    if (typeof v === 'number') return `the number ${v}`;
    if (typeof v === 'boolean') return `${v}`;
    return 'nothing';
  }
  return 'something else';
}

function quoteHint(node: ParsedNode): string {
  return isScalar(node) && (typeof node.value === 'number' || typeof node.value === 'boolean') ? `; quote it if you meant the text "${String(node.value)}"` : '';
}

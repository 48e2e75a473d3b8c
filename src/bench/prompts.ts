import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../errors.js';
import type { ChatMessage } from '../providers/types.js';
import { readInputOrExplain } from '../util/read-input.js';
import { yamlErrorAt } from '../util/yaml-error.js';

/** The most one prompts file may hold: thousands of long prompts, far from what would exhaust memory. */
export const PROMPTS_FILE_BYTES = 64 * 1024 * 1024;

export const DEFAULT_PROMPTS = fileURLToPath(new URL('../../prompts/', import.meta.url));

const ROLES = new Set(['system', 'user', 'assistant']);

/**
 * Loads prompts from a file or a folder: .txt (one prompt, or several separated by a line "---"),
 * .yaml/.yml (a list of strings, {system, user} or {messages}), .jsonl (one such object or string per line).
 */
export function loadPrompts(path: string): ChatMessage[][] {
  let stat;
  try {
    stat = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`--prompts: cannot read "${path}" (${code === 'ENOENT' || code === 'ENOTDIR' ? 'no such file or folder' : code ?? 'error'})`);
  }
  const files = stat.isDirectory()
    ? readdirSync(path)
        .filter((f) => ['.txt', '.yaml', '.yml', '.jsonl', '.md'].includes(extname(f)))
        .sort()
        .map((f) => join(path, f))
    : [path];
  const prompts = files.flatMap(loadFile);
  if (prompts.length === 0) throw new UsageError(`--prompts: "${path}" holds no prompts`);
  return prompts;
}

function loadFile(file: string): ChatMessage[][] {
  const text = readInputOrExplain(file, PROMPTS_FILE_BYTES, '--prompts').toString('utf8');
  if (text.includes('\uFFFD')) throw new UsageError(`--prompts: ${file} is not valid UTF-8 text`);
  const ext = extname(file);
  if (ext === '.yaml' || ext === '.yml') {
    let data: unknown;
    try {
      data = parseYaml(text);
    } catch (e) {
      throw new UsageError(`--prompts: ${yamlErrorAt(file, e)}`);
    }
    if (!Array.isArray(data)) throw new UsageError(`--prompts: ${file} must hold a YAML list of prompts`);
    return data.map((item, i) => toMessages(item, `--prompts: ${file}: item ${i + 1}`));
  }
  if (ext === '.jsonl') {
    return text
      .split('\n')
      .map((line, i) => [line.trim(), i + 1] as const)
      .filter(([line]) => line.length > 0)
      .map(([line, n]) => {
        let data: unknown;
        try {
          data = JSON.parse(line);
        } catch {
          throw new UsageError(`--prompts: ${file}:${n}: not valid JSON`);
        }
        return toMessages(data, `--prompts: ${file}:${n}`);
      });
  }
  return text
    .split(/^---\s*$/m)
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => [{ role: 'user' as const, content: t }]);
}

export function toMessages(item: unknown, where: string): ChatMessage[] {
  if (typeof item === 'string') {
    if (!item.trim()) throw new UsageError(`${where}: the prompt is empty`);
    return [{ role: 'user', content: item }];
  }
  if (item && typeof item === 'object') {
    const o = item as Record<string, unknown>;
    if (Array.isArray(o.messages)) {
      const msgs = o.messages.map((m, i) => {
        const mm = m as Record<string, unknown>;
        if (!mm || typeof mm.content !== 'string' || !ROLES.has(String(mm.role))) {
          throw new UsageError(`${where}: messages[${i}] needs a role (system, user, assistant) and a string content`);
        }
        return { role: mm.role as ChatMessage['role'], content: mm.content };
      });
      if (msgs.length === 0) throw new UsageError(`${where}: messages is empty`);
      return msgs;
    }
    if (typeof o.user === 'string' || typeof o.prompt === 'string') {
      const out: ChatMessage[] = [];
      if (typeof o.system === 'string') out.push({ role: 'system', content: o.system });
      out.push({ role: 'user', content: (o.user ?? o.prompt) as string });
      return out;
    }
  }
  throw new UsageError(`${where}: expected a string, {system, user} or {messages: [...]}`);
}

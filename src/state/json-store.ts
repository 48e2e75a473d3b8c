import { join } from 'node:path';
import { readText, stateDir } from './files.js';

export type Warn = (msg: string) => void;

export function stateFile(env: NodeJS.ProcessEnv, name: string): string {
  return join(stateDir(env), name);
}

/**
 * Reads a JSON object of records (breakers.json, latency.json). Whatever cannot be used — an unreadable
 * file, a symbolic link, not JSON, not an object, a record of the wrong shape — is reported through `warn`
 * and left out: state is a hint, never a reason to fail a call.
 */
export async function readRecords<T>(file: string, what: string, valid: (v: unknown) => T | undefined, warn: Warn): Promise<Record<string, T>> {
  let text: string | undefined;
  try {
    text = await readText(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    warn(`${what} ${file} is ${code === 'ELOOP' ? 'a symbolic link' : `unreadable (${code ?? 'error'})`}; ignoring it`);
    return {};
  }
  if (text === undefined) return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    warn(`${what} ${file} is not valid JSON; ignoring it (it will be rewritten)`);
    return {};
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    warn(`${what} ${file} is not a JSON object; ignoring it (it will be rewritten)`);
    return {};
  }
  const out: Record<string, T> = {};
  const bad: string[] = [];
  for (const [k, v] of Object.entries(data)) {
    const r = valid(v);
    if (r === undefined) bad.push(k);
    else out[k] = r;
  }
  if (bad.length) warn(`${what} ${file}: ignoring ${bad.length} record${bad.length === 1 ? '' : 's'} of the wrong shape (${bad.slice(0, 3).join(', ')}${bad.length > 3 ? ', …' : ''})`);
  return out;
}

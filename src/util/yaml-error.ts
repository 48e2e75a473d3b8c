/**
 * A YAML parse error as `file:line:col: message`, the form config errors take, instead of the parser's
 * "… at line 2, column 1:" followed by an excerpt.
 */
export function yamlErrorAt(file: string, e: unknown): string {
  const err = e as Error & { linePos?: { line: number; col: number }[] };
  const first = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?\s*$/, '');
  const pos = err.linePos?.[0];
  return pos ? `${file}:${pos.line}:${pos.col}: ${first}` : `${file}: ${first}`;
}

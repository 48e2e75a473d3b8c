/**
 * Removes API keys from text shown to users or written to files. Known key values are replaced
 * exactly (servers echo them back in error messages); anything shaped like a common key format
 * is masked too, in case a server echoes a key we did not send.
 */
const KEY_SHAPES = [
  /\b(sk-(?:ant-|or-v1-|proj-)?)[A-Za-z0-9_\-]{8,}/g,
  /\b(cr_)[A-Za-z0-9_\-]{8,}/g,
  /\b(AIza)[A-Za-z0-9_\-]{20,}/g,
  /(Bearer\s+)[A-Za-z0-9._\-]{8,}/gi,
];

const knownSecrets = new Set<string>();

/** Registers a secret value so that every later redact() call removes it. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) knownSecrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join('[REDACTED]');
  }
  for (const shape of KEY_SHAPES) out = out.replace(shape, '$1[REDACTED]');
  return out;
}

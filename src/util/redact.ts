/**
 * Removes secrets from text shown to users or written to files. Every secret the tool sends (API keys
 * and every env-expanded header value) is registered; redact() then removes it in each form a server
 * may echo it back in: as sent, URL-encoded, JSON-escaped, base64 (as inside `Basic user:key`) and
 * partially masked (`sk-…wxyz`, `sk-****wxyz`). Anything shaped like a common key format is masked
 * too, in case a server echoes a key we did not send.
 */
const KEY_SHAPES = [
  /\b(sk-(?:ant-|or-v1-|proj-)?)[A-Za-z0-9_\-]{8,}/g,
  /\b(cr_)[A-Za-z0-9_\-]{8,}/g,
  /\b(AIza)[A-Za-z0-9_\-]{20,}/g,
  /(Bearer\s+)[A-Za-z0-9._\-~+/=]{8,}/gi,
  /(Basic\s+)[A-Za-z0-9+/=]{8,}/gi,
];

export const REDACTED = '[REDACTED]';

/** Shortest secret we register: shorter values would redact ordinary words. */
const MIN_SECRET = 4;
/** Shortest base64 fragment we look for (12 characters carry 9 bytes of the secret). */
const MIN_BASE64_CORE = 12;
/** A masked echo must show at least this many characters of the secret's end to be recognised. */
const MIN_MASKED_TAIL = 3;

const knownSecrets = new Set<string>();
/** Every form of every secret, longest first so a longer form is replaced before a shorter one inside it. */
let forms: string[] = [];

/** Registers a secret value so that every later redact() call removes it in each echoed form. */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < MIN_SECRET || knownSecrets.has(value)) return;
  knownSecrets.add(value);
  const all = new Set(forms);
  for (const f of formsOf(value)) if (f.length >= MIN_SECRET) all.add(f);
  forms = [...all].sort((a, b) => b.length - a.length);
}

function formsOf(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  // JSON-escaped both ways: JSON.stringify's, and with "/" escaped as "\/" as PHP and some gateways do.
  const out = [value, encodeURIComponent(value), encodeURIComponent(value).replace(/%20/g, '+'), encodeURI(value), json, json.replace(/\//g, '\\/')];
  out.push(...out.map((f) => f.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())));
  // base64 of "<anything>value<anything>": for each of the three alignments, the characters that encode
  // only bytes of the value are the same whatever surrounds it.
  const bytes = Buffer.from(value, 'utf8');
  for (const skip of [0, 1, 2]) {
    const core = bytes.subarray(skip, skip + Math.floor((bytes.length - skip) / 3) * 3);
    const b64 = core.toString('base64');
    if (b64.length >= MIN_BASE64_CORE) out.push(b64, core.toString('base64url'));
  }
  return out;
}

/** A token with a run of mask characters in it, e.g. `sk-proj-****abcd`, `sk-…abcd`, `abcd...wxyz`. */
const MASKED = /[A-Za-z0-9_\-]*(?:[*•]{3,}|…|\.{3,})[A-Za-z0-9_\-]+/g;

function maskedEchoOfSecret(token: string): boolean {
  const tail = /[A-Za-z0-9_\-]+$/.exec(token)?.[0] ?? '';
  if (tail.length < MIN_MASKED_TAIL) return false;
  for (const s of knownSecrets) if (s.endsWith(tail) && s.length > tail.length * 2) return true;
  return false;
}

export function redact(text: string): string {
  let out = text;
  for (const f of forms) if (out.includes(f)) out = out.split(f).join(REDACTED);
  if (knownSecrets.size) out = out.replace(MASKED, (m) => (maskedEchoOfSecret(m) ? REDACTED : m));
  for (const shape of KEY_SHAPES) out = out.replace(shape, `$1${REDACTED}`);
  return out;
}

/** True when some registered secret occurs in the text (cheap check for hot paths). */
export function containsSecret(text: string): boolean {
  for (const f of forms) if (text.includes(f)) return true;
  return false;
}

// ESC-introduced sequences (CSI, OSC up to BEL or ST, and two-character escapes), then any other C0/C1
// control except tab and newline. A server's text must not move the cursor, recolour or retitle a terminal.
const ESCAPES = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[PX^_][^\u001b]*(?:\u001b\\)?|[@-Z\\-_])|\u009b[0-?]*[ -/]*[@-~]/g;
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Removes terminal escape sequences and control characters (tab and newline stay). */
export function stripControls(text: string): string {
  return text.replace(ESCAPES, '').replace(CONTROLS, '');
}

/**
 * What a server said, made safe to show: secrets removed first (so a cut can never leave half a key),
 * then control characters, whitespace runs folded to one space, and finally cut to `max` characters.
 */
export function serverText(text: string, max = Infinity): string {
  const clean = stripControls(redact(text)).replace(/\s+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

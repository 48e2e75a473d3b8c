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
/** What each key shape starts with: text without any of them is not scanned for shapes (most answer pieces). */
const SHAPE_MARKS = /sk-|cr_|AIza|bearer|basic/i;

/** Shortest secret we register: shorter values would redact ordinary words. */
const MIN_SECRET = 4;
/** Shortest base64 fragment we look for (12 characters carry 9 bytes of the secret). */
const MIN_BASE64_CORE = 12;
/** A masked echo must show at least this many characters of the secret's end to be recognised. */
const MIN_MASKED_TAIL = 3;

const knownSecrets = new Set<string>();
/** Every form of every secret, longest first so a longer form is replaced before a shorter one inside it. */
let forms: string[] = [];
/** The forms with a character outside printable ASCII (a space, say): the only ones a streamed text's end can begin before its last word. */
let unusualForms: string[] = [];
/** Every MIN_FRAGMENT-character run of a secret that mixes letters and digits, to the secret and where the run starts in it. */
const seeds = new Map<string, { secret: string; at: number }>();

/** Registers a secret value so that every later redact() call removes it in each echoed form. */
export function registerSecret(value: string | undefined): void {
  // A value with stray whitespace (a copy-paste, a .env line) goes out trimmed: HTTP drops the spaces
  // around a header value, and servers echo what they received (an echo with the spaces holds it too).
  const v = value?.trim();
  if (!v || v.length < MIN_SECRET || knownSecrets.has(v)) return;
  knownSecrets.add(v);
  const all = new Set(forms);
  for (const f of formsOf(v)) if (f.length >= MIN_SECRET) all.add(f);
  forms = [...all].sort((a, b) => b.length - a.length);
  unusualForms = forms.filter((f) => /[^\x21-\x7e]/.test(f));
  if (v.length >= MIN_FRAGMENT + 2) {
    for (let i = 0; i + MIN_FRAGMENT <= v.length; i++) {
      const seed = v.slice(i, i + MIN_FRAGMENT);
      if (MIXED.test(seed) && !seeds.has(seed)) seeds.set(seed, { secret: v, at: i });
    }
  }
}

function formsOf(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const bytes = Buffer.from(value, 'utf8');
  // JSON-escaped both ways: JSON.stringify's, and with "/" escaped as "\/" as PHP and some gateways do.
  const out = [value, encodeURIComponent(value), encodeURIComponent(value).replace(/%20/g, '+'), encodeURI(value), json, json.replace(/\//g, '\\/')];
  if (value.length >= MIN_FRAGMENT && MIXED.test(value)) {
    // Only for a value that looks like a key (long, letters and digits): the same forms of a short or
    // wordy header value ("live", "Production", "2024") would take ordinary words and numbers out of answers.
    // Every byte %-encoded, as some clients and logs write a value; and the value in hex.
    out.push([...bytes].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''), bytes.toString('hex'), bytes.toString('hex').toUpperCase());
    // Case changed or reversed: a server that shouts an error, or a naive "mask" that reverses.
    out.push(value.toUpperCase(), value.toLowerCase(), [...value].reverse().join(''));
  }
  out.push(...out.map((f) => f.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())));
  // base64 of "<anything>value<anything>": for each of the three alignments, the characters that encode
  // only bytes of the value are the same whatever surrounds it.
  for (const skip of [0, 1, 2]) {
    const core = bytes.subarray(skip, skip + Math.floor((bytes.length - skip) / 3) * 3);
    const b64 = core.toString('base64');
    if (b64.length >= MIN_BASE64_CORE) out.push(b64, core.toString('base64url'));
  }
  return out;
}

/** A run of mask characters, e.g. in `sk-proj-****abcd`, `sk-…abcd`, `abcd...wxyz`, `gsk_AB12cd…`. */
const MASK_MARK = /[*•]{3,}|…|\.{3,}/g;
const QUICK_MASK = /[*•]{3}|…|\.{3}/;
/** Characters of the token around a mask: a key's. */
const tokenChar = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45;

/** A masked echo shows the secret's end (3 characters or more) or, of a long secret, its start (6 or more) around the mask. */
const MIN_MASKED_HEAD = 6;

function maskedEchoOfSecret(head: string, tail: string): boolean {
  for (const s of knownSecrets) {
    if (tail.length >= MIN_MASKED_TAIL && s.endsWith(tail) && s.length > tail.length * 2) return true;
    if (head.length >= MIN_MASKED_HEAD && s.length >= 16 && s.startsWith(head) && s.length > head.length + 2) return true;
  }
  return false;
}

/**
 * Replaces masked echoes of a registered secret: each mask with the token characters either side of it.
 * A scan out from each mask, never a regular expression over the runs (which backtracked: 20 s on a
 * 160,000-character run of letters).
 */
function withoutMasks(text: string): string {
  if (!QUICK_MASK.test(text)) return text;
  let out = '';
  let last = 0;
  MASK_MARK.lastIndex = 0;
  for (let m = MASK_MARK.exec(text); m; m = MASK_MARK.exec(text)) {
    let start = m.index;
    while (start > last && tokenChar(text.charCodeAt(start - 1))) start--;
    let end = m.index + m[0].length;
    while (end < text.length && tokenChar(text.charCodeAt(end))) end++;
    if (maskedEchoOfSecret(text.slice(start, m.index), text.slice(m.index + m[0].length, end))) {
      out += text.slice(last, start) + REDACTED;
      last = end;
      MASK_MARK.lastIndex = end;
    }
  }
  return out + text.slice(last);
}

/**
 * A run this long taken from a secret is the secret's, wherever it appears (a prefix a server shows, the
 * key less a few characters): long enough, and mixing letters and digits, not to be an ordinary word.
 */
const MIN_FRAGMENT = 12;
const MIXED = /(?=.*[A-Za-z])(?=.*[0-9])/;

/** Replaces every run of text that is a fragment of a registered secret (MIN_FRAGMENT characters or more). */
function withoutFragments(text: string): string {
  if (seeds.size === 0 || text.length < MIN_FRAGMENT) return text;
  let out = text;
  for (let i = 0; i + MIN_FRAGMENT <= out.length; i++) {
    const hit = seeds.get(out.slice(i, i + MIN_FRAGMENT));
    if (!hit) continue;
    // Grow the match both ways as far as text and secret agree.
    const { secret, at } = hit;
    let start = i;
    let end = i + MIN_FRAGMENT;
    for (let j = at - 1; start > 0 && j >= 0 && out[start - 1] === secret[j]; j--) start--;
    for (let j = at + MIN_FRAGMENT; end < out.length && j < secret.length && out[end] === secret[j]; j++) end++;
    out = out.slice(0, start) + REDACTED + out.slice(end);
    i = start + REDACTED.length - 1;
  }
  return out;
}

export function redact(text: string): string {
  let out = text;
  for (const f of forms) if (out.includes(f)) out = out.split(f).join(REDACTED);
  if (knownSecrets.size) {
    out = withoutFragments(out);
    out = withoutMasks(out);
  }
  if (SHAPE_MARKS.test(out)) for (const shape of KEY_SHAPES) out = out.replace(shape, `$1${REDACTED}`);
  return out;
}

/** Longest run of trailing key characters a stream holds back (a key and its encodings fit in it). */
const MAX_HELD_RUN = 1024;

/**
 * Redacts a text that arrives in pieces (a streamed answer), so that a secret split across two pieces is
 * removed too: each piece's trailing run of key characters (printable ASCII but the space: a word, not
 * a Chinese sentence), and any end that could begin a registered form, is held back until the next piece
 * shows how it goes on; the text before it is released, redacted, at once.
 */
export class StreamRedactor {
  private held = '';

  /** The text that can be shown now, redacted ('' while everything is held). */
  push(piece: string): string {
    const text = this.held + piece;
    const keep = heldTail(text);
    this.held = text.slice(text.length - keep);
    const out = text.slice(0, text.length - keep);
    return out && redactAsShown(out);
  }

  /** The end of a complete text: the rest, redacted. */
  end(): string {
    const rest = this.held;
    this.held = '';
    return rest && redactAsShown(rest);
  }
}

/**
 * An answer's text, redacted as a terminal shows it too: a key split by characters forTerminal() removes
 * or a terminal does not draw (NUL, C1, a bidi override, a zero-width space) is pieces too short for
 * redact() to know, yet shows whole. When the text without them holds a secret, that text is given,
 * redacted; otherwise the text as it came (to a pipe it is written so).
 */
export function redactAsShown(text: string): string {
  const out = redact(text);
  if (!UNSEEN.test(out)) return out;
  const seen = out.replace(UNSEEN_ALL, '');
  const redacted = redact(seen);
  return redacted === seen ? out : redacted;
}

/** Printable ASCII but the space (what keys and their encodings are made of), the mask characters … and •, and UNSEEN characters (a key split by them is one run). */
const keyChar = (c: number) => (c > 0x20 && c < 0x7f) || c === 0x2026 || c === 0x2022 || UNSEEN.test(String.fromCharCode(c));
/** A credential's scheme word before it: held with the credential, so the key shapes see them together. */
const SCHEME_BEFORE = /(?:Bearer|Basic)\s+$/i;

function heldTail(text: string): number {
  // The trailing run a key could be in: text in other scripts (Chinese has no spaces) flows on unheld.
  let run = 0;
  while (run < text.length && run < MAX_HELD_RUN && keyChar(text.charCodeAt(text.length - 1 - run))) run++;
  let cut = text.length - run;
  if (run === MAX_HELD_RUN) {
    // A run too long to hold whole is cut where no form of a secret begins before the cut and goes on after it.
    for (const f of forms) {
      for (let k = Math.min(f.length - 1, cut); k > 0; k--) {
        if (text.startsWith(f.slice(0, k), cut - k)) {
          cut -= k;
          break;
        }
      }
    }
  }
  const scheme = SCHEME_BEFORE.exec(text.slice(Math.max(0, cut - 16), cut));
  if (scheme) cut -= scheme[0].length;
  // A form holding a space or another character no key is made of ("Bearer x", a passphrase) can begin
  // before the run: held from its start when the text ends inside it, whole or not.
  for (const f of unusualForms) {
    for (let start = Math.max(0, cut - f.length + 1); start < cut; start++) {
      if (text.charCodeAt(start) !== f.charCodeAt(0)) continue;
      const rest = text.slice(start);
      if (f.startsWith(rest) || (rest.startsWith(f) && start + f.length > cut)) {
        cut = start;
        break;
      }
    }
  }
  return text.length - cut;
}


// ESC-introduced sequences (CSI, OSC up to BEL or ST, and two-character escapes), then any other C0/C1
// control except tab and newline. A server's text must not move the cursor, recolour or retitle a terminal.
const ESCAPES = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[PX^_][^\u001b]*(?:\u001b\\)?|[@-Z\\-_])|\u009b[0-?]*[ -/]*[@-~]/g;
/** C0 controls but tab and newline, DEL, C1 controls. */
const CONTROL_CHARS = String.raw`\u0000-\u0008\u000b-\u001f\u007f-\u009f`;
/** The bidi embeddings, overrides and isolates: they reorder what a terminal shows. */
const BIDI_CONTROL_CHARS = String.raw`\u202a-\u202e\u2066-\u2069`;
const CONTROLS = new RegExp(`[${CONTROL_CHARS}]`, 'g');

/**
 * Characters that change the order text is shown in, or take no room at all: the bidi embeddings,
 * overrides and isolates (U+202A–U+202E, U+2066–U+2069) and marks (U+200E, U+200F, U+061C), the zero-width
 * space, word joiner and invisible operators (U+200B, U+2060–U+2064), the BOM (U+FEFF), the Mongolian vowel
 * separator (U+180E), deprecated format controls (U+206A–U+206F) and interlinear annotation (U+FFF9–U+FFFB).
 * A right-to-left override in an error message makes a terminal show text its bytes do not say. The
 * joiners U+200C and U+200D stay: they shape Persian, Indic scripts and emoji sequences, and hide nothing.
 */
export const INVISIBLE_CHARS = String.raw`\u061c\u180e\u200b\u200e\u200f\u2060-\u2064\u206a-\u206f\ufeff\ufff9-\ufffb` + BIDI_CONTROL_CHARS;
const INVISIBLE = new RegExp(`[${INVISIBLE_CHARS}]`, 'g');

/** Removes terminal escape sequences, control characters (tab and newline stay) and INVISIBLE_CHARS. */
export function stripControls(text: string): string {
  return text.replace(ESCAPES, '').replace(CONTROLS, '').replace(INVISIBLE, '');
}

/**
 * What a model's answer may not put on a terminal, character by character: ESC and the other C0 controls
 * but tab and newline (CR too: "safe\rrm -rf ~" shows only its second half), DEL, the C1 controls (U+009B
 * opens a sequence as ESC [ does), and the bidi embeddings, overrides and isolates. Without its ESC an escape
 * sequence is inert printable text ("[31m", "]52;c;…"), so a sequence split across two streamed pieces is
 * made harmless piece by piece, with no state. Marks and zero-width characters stay: answers in right-to-left
 * scripts use them.
 */
const TERMINAL_UNSAFE = new RegExp(`[${CONTROL_CHARS}${BIDI_CONTROL_CHARS}]`, 'g');
/** What a terminal does not show of an answer: what forTerminal() removes and INVISIBLE_CHARS (tab and newline are seen: they part words). */
const UNSEEN_CHARS = `${CONTROL_CHARS}${INVISIBLE_CHARS}`;
const UNSEEN = new RegExp(`[${UNSEEN_CHARS}]`);
const UNSEEN_ALL = new RegExp(`[${UNSEEN_CHARS}]`, 'g');

/**
 * An answer's text made safe for a terminal: a prompt-injected answer cannot recolour, retitle, move the
 * cursor, write the clipboard (OSC 52) or reorder what is shown. To a pipe or a file it is written as it came.
 */
export function forTerminal(text: string): string {
  return text.replace(TERMINAL_UNSAFE, '');
}

/**
 * What a server said, made safe to show: secrets removed first (so a cut can never leave half a key),
 * then control characters, whitespace runs folded to one space, and finally cut to `max` characters.
 * Secrets are removed again once the controls are gone: a key split by NULs, zero-width spaces or escape
 * sequences ("Zk9/+abT\u200bOPSECRET…") is pieces too short to know until the stripping joins them.
 */
export function serverText(text: string, max = Infinity): string {
  const clean = redact(stripControls(redact(text))).replace(/\s+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

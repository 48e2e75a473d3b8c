import { redact, serverText } from '../util/redact.js';

/**
 * An HTML page where an API answer was expected: almost always a reverse proxy, load balancer or CDN in
 * front of the provider answering for it (nginx's "502 Bad Gateway" and "504 Gateway Time-out" pages,
 * Cloudflare's 52x pages). Its markup says nothing to the person reading an error line, so the page is
 * named by its title (else its first heading) and the Server header, in one line.
 */

/** The most of a title or heading kept. */
const MAX_TITLE = 100;
/**
 * How far into the page the title or heading is looked for (they open an error page: nginx's is 157 bytes
 * in all). The patterns cost the square of what they search on a page of unclosed tags, and an error body
 * may be 256 KiB: over all of it a hostile one held the client 22 s; over this much, milliseconds.
 */
const SEARCHED = 4096;

/** True when `text` is an HTML document: by its content type, or by how it opens when the type is missing or wrong. */
export function isHtmlPage(text: string, contentType: string | undefined): boolean {
  if (contentType !== undefined && /^\s*(text\/html|application\/xhtml\+xml)\b/i.test(contentType)) return true;
  return /^\s*(<!doctype html|<html[\s>])/i.test(text);
}

/** `HTML page "502 Bad Gateway" (server: nginx/1.22.1)…`: what the page is, never its markup. */
export function describeHtmlPage(text: string, server: string | undefined): string {
  const head = text.slice(0, SEARCHED);
  const heading = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(head)?.[1] ?? /<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(head)?.[1];
  const title = heading === undefined ? '' : headingText(heading);
  const from = server ? ` (server: ${serverText(server, 60)})` : '';
  return `HTML page${title ? ` "${title}"` : ''}${from}, not an API answer: a proxy or load balancer in front of the provider answered`;
}

/**
 * A title's or heading's text, made safe to show. Its tags part words ("502<br>Bad Gateway"), so each is
 * read as a space; but a key split by markup ("sk-ab<b></b>cd…") would then show as pieces too short for
 * redact() to know, so the text is also read with the tags taken out, and shown so when that holds a secret.
 */
function headingText(heading: string): string {
  const joined = decodeEntities(heading.replace(/<[^>]*>/g, ''));
  if (redact(joined) !== joined) return serverText(joined, MAX_TITLE);
  return serverText(decodeEntities(heading.replace(/<[^>]*>/g, ' ')), MAX_TITLE);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] !== '#') return ENTITIES[name.toLowerCase()] ?? whole;
    const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : Number(name.slice(1));
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

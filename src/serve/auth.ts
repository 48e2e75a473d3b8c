/**
 * Client authentication to the gateway: one key, sent as `Authorization: Bearer <key>` (OpenAI SDKs) or
 * `x-api-key: <key>` (Anthropic SDKs). Provider keys never leave the gateway; this key never enters a log.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { registerSecret } from '../util/redact.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

export class ClientAuth {
  private readonly expected: Buffer;

  constructor(key: string) {
    registerSecret(key);
    // Hashes have one length whatever was sent, so the comparison takes the same time for every guess.
    this.expected = digest(key);
  }

  /** True when either header carries the key. */
  check(headers: IncomingHttpHeaders): boolean {
    const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '')?.[1]?.trim();
    const apiKey = headers['x-api-key'];
    const given = [bearer, Array.isArray(apiKey) ? apiKey[0] : apiKey];
    let ok = false;
    for (const g of given) if (g !== undefined && timingSafeEqual(digest(g), this.expected)) ok = true;
    return ok;
  }
}

/** Loopback addresses: the only ones a gateway without a client key may bind. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/** Ids unique per process (a random stem) and cheap per request (a counter): response ids and request ids. */
import { randomBytes } from 'node:crypto';

const ID_STEM = randomBytes(6).toString('hex');
let idCount = 0;

export const nextId = (prefix: string): string => `${prefix}${ID_STEM}${(++idCount).toString(36)}`;

/**
 * The header a dialect's SDK reads its request id from: `x-request-id` (openai's `_request_id`,
 * `error.request_id`), `request-id` (@anthropic-ai/sdk's `_request_id`, and the error body's `request_id`).
 */
export const requestIdHeader = (dialect: 'openai' | 'anthropic'): string => (dialect === 'anthropic' ? 'request-id' : 'x-request-id');

/**
 * The endpoint handlers of each dialect. (Stand-in until openai.ts and anthropic.ts land: 501.)
 */
import type { EndpointHandler } from './context.js';
import { sendError } from './errors.js';

const missing =
  (dialect: 'openai' | 'anthropic'): EndpointHandler =>
  async (_body, _req, res) =>
    sendError(res, dialect, { status: 501, message: 'this endpoint is not built yet' });

export const dialectHandlers: { chatCompletions: EndpointHandler; messages: EndpointHandler } = { chatCompletions: missing('openai'), messages: missing('anthropic') };

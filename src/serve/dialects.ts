/** The endpoint handler of each dialect, as the server routes to them. */
import { messages } from './anthropic.js';
import type { EndpointHandler } from './context.js';
import { chatCompletions } from './openai.js';

export const dialectHandlers: { chatCompletions: EndpointHandler; messages: EndpointHandler } = { chatCompletions, messages };

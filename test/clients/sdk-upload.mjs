// A client in its own process, for a test that needs the kernel between client and server as in real
// use (in one process, one event loop takes turns at both ends of the socket and hides resets).
// Usage: node sdk-upload.mjs <gateway url> <megabytes>; prints one JSON line per SDK: what the call
// ended with and how many times the SDK sent the request.
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const [url, megabytes] = [process.argv[2], Number(process.argv[3])];
const content = 'x '.repeat(megabytes * 512 * 1024);
let sends = 0;
const counted = (u, init) => {
  sends++;
  return fetch(u, init);
};
const outcome = (e) => ({ sdk: '', error: e.constructor.name, status: e.status ?? null, type: e.error?.error?.type ?? null, sends });
const oa = await new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k', fetch: counted, maxRetries: 2 }).chat.completions.create({ model: 'default', messages: [{ role: 'user', content }] }).catch((e) => e);
console.log(JSON.stringify({ ...outcome(oa), sdk: 'openai' }));
sends = 0;
const an = await new Anthropic({ baseURL: url, apiKey: 'k', fetch: counted, maxRetries: 2 }).messages.create({ model: 'default', max_tokens: 8, messages: [{ role: 'user', content }] }).catch((e) => e);
console.log(JSON.stringify({ ...outcome(an), sdk: 'anthropic' }));

import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, ProxyAgent as UndiciProxyAgent } from 'undici';

/*
 * undici's entry point loads everything it offers (fetch, caches, mocks, websockets): about 90 ms of
 * every command's start-up on the 2-core machines here. The OTLP exporter uses only Agent and
 * Dispatcher#request, which load in about 25 ms. This does what undici's index.js does for them
 * (Object.assign of the API onto the Dispatcher prototype). undici is pinned to an exact version in
 * package.json. (The adapters have their own HTTP/1.1 client, src/providers/h1.)
 */
const require = createRequire(import.meta.url);
const Dispatcher = require('undici/lib/dispatcher/dispatcher.js') as { prototype: object };
Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js') as object);

export const Agent = require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
export type Agent = UndiciAgent;

/** undici's ProxyAgent, loaded only when the OTLP endpoint goes through a proxy (about 1 ms more once Agent is loaded). */
export function loadProxyAgent(): typeof UndiciProxyAgent {
  return require('undici/lib/dispatcher/proxy-agent.js') as typeof UndiciProxyAgent;
}

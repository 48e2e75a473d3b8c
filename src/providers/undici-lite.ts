import { createRequire } from 'node:module';
import type { Agent as UndiciAgent } from 'undici';

/*
 * undici's entry point loads everything it offers (fetch, caches, mocks, websockets): about 90 ms of
 * every command's start-up on the 2-core machines here. We use only Agent and Dispatcher#request, which
 * load in about 25 ms. This does what undici's index.js does for them (Object.assign of the API onto
 * the Dispatcher prototype). undici is pinned to an exact version in package.json, and every adapter test
 * goes through this module.
 */
const require = createRequire(import.meta.url);
const Dispatcher = require('undici/lib/dispatcher/dispatcher.js') as { prototype: object };
Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js') as object);

export const Agent = require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
export type Agent = UndiciAgent;
/** undici's own TCP/TLS connector (session cache, keep-alive, connect timeout), wrapped by ConnectionPool. */
export const buildConnector = require('undici/lib/core/connect.js') as (opts: { timeout?: number }) => unknown;

import { BlockList, isIP } from 'node:net';
import { UsageError } from '../errors.js';
import { registerSecret } from '../util/redact.js';
import { isLoopbackHost } from './transport.js';

/**
 * Which outbound proxy a provider's requests go through, from the variables curl reads (curl's
 * "Proxy environment variables" and CURLOPT_NOPROXY; Go's net/http/httpproxy reads them the same way):
 *
 * - https targets: https_proxy, HTTPS_PROXY, then all_proxy, ALL_PROXY; http targets: http_proxy,
 *   HTTP_PROXY (skipped when REQUEST_METHOD is set: under CGI a request's `Proxy:` header arrives as
 *   HTTP_PROXY, the reason curl never reads the upper-case name), then all_proxy, ALL_PROXY. The first
 *   one set to a non-empty value wins, so the lower-case name wins when both are set.
 * - no_proxy, else NO_PROXY: names separated by commas (or spaces); `*` sends everything direct; a name
 *   matches itself and every name under it, with or without a leading `.` or `*.`; an IP address or a
 *   CIDR block (IPv6 without brackets, or bracketed) matches the addresses of an IP base_url; `:port`
 *   limits an entry to that port.
 * - Loopback targets (127.0.0.0/8, ::1, localhost) always go direct, whatever the variables say.
 *
 * Only http:// proxies (TLS to the target goes through a CONNECT tunnel); a proxy URL without a port
 * means port 1080, as in curl. The proxy's password is registered as a secret and never shown: a proxy
 * is shown as scheme, host and port only.
 */

/** A proxy a connection goes through. */
export interface ProxyRoute {
  /** Where the client connects (an IPv6 address without brackets). */
  readonly hostname: string;
  readonly port: number;
  /** The proxy as messages show it: `http://host:port`, never its credentials. */
  readonly display: string;
  /** The variable it was read from, for messages ("check the user and password in HTTPS_PROXY"). */
  readonly variable: string;
  /** `Basic …` when the proxy URL carries a user or a password. */
  readonly authorization: string | undefined;
}

/** Why a target goes direct, or the proxy it goes through. */
export type RouteChoice = { proxy: ProxyRoute } | { direct: 'loopback' | 'no proxy variable' | 'NO_PROXY' };

const HINT = 'expected http://[user:password@]host[:port]';
/** curl's default proxy port. */
const DEFAULT_PROXY_PORT = 1080;

function firstSet(env: NodeJS.ProcessEnv, names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return undefined;
}

/** Parses one proxy variable; a malformed value is a UsageError naming the variable, never quoting the value (it may hold a password). */
export function parseProxy(variable: string, value: string): ProxyRoute {
  const bad = (why: string) => new UsageError(`${variable}: ${why}; ${HINT}`);
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw bad('not a proxy URL');
  }
  let user: string;
  let password: string;
  try {
    user = decodeURIComponent(u.username);
    password = decodeURIComponent(u.password);
  } catch {
    throw bad('the user or password holds a malformed %-escape');
  }
  // Registered before anything else can fail, so no later message can carry it.
  registerSecret(password);
  registerSecret(u.password);
  if (u.protocol === 'https:') {
    throw new UsageError(`${variable}: a proxy reached over TLS (https://) is not supported; give the proxy's http:// address (requests to https providers still go through it in an encrypted CONNECT tunnel)`);
  }
  if (u.protocol !== 'http:') throw bad(`the ${u.protocol.slice(0, -1)}:// proxy scheme is not supported`);
  if (!u.hostname) throw bad('no proxy host');
  const port = u.port ? Number(u.port) : DEFAULT_PROXY_PORT;
  const hostname = u.hostname.replace(/^\[|\]$/g, '');
  let authorization: string | undefined;
  if (u.username || u.password) {
    // The credentials as sent, and as a proxy that echoes our request would show them: a password too short
    // to register alone (under 4 characters) is still caught beside its user, and its base64 with it.
    const token = Buffer.from(`${user}:${password}`).toString('base64');
    registerSecret(`${user}:${password}`);
    registerSecret(token);
    authorization = `Basic ${token}`;
  }
  return { hostname, port, display: `http://${u.hostname}:${port}`, variable, authorization };
}

interface NoProxyEntry {
  /** A name (suffix-matched) or, for addresses, a block list. */
  name?: string;
  block?: BlockList;
  /** 0: any port. */
  port: number;
}

/**
 * Parses NO_PROXY. An entry that cannot mean anything (a bad CIDR prefix, a port out of range, a URL) is left
 * out, as curl leaves it out (it never matches there): NO_PROXY is often set for a whole machine, and one odd
 * entry must not stop the tool. `config check` names each one (noProxyWarnings).
 */
export function parseNoProxy(variable: string, value: string): { all: boolean; entries: NoProxyEntry[]; ignored: string[] } {
  const entries: NoProxyEntry[] = [];
  const ignored: string[] = [];
  let all = false;
  for (const raw of value.split(/[,\s]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') {
      all = true;
      continue;
    }
    const bad = (why: string) => ignored.push(`${variable}: entry ${JSON.stringify(entry.slice(0, 80))} ${why} and is ignored, as curl ignores it; give names (example.com, .example.com), addresses (10.1.2.3, ::1) or CIDR blocks (10.0.0.0/8), optionally with :port, separated by commas`);
    let host = entry;
    let port = 0;
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    const hostPort = /^([^:]+):(\d+)$/.exec(entry);
    if (bracketed) {
      host = bracketed[1];
      port = bracketed[2] ? Number(bracketed[2]) : 0;
    } else if (hostPort) {
      host = hostPort[1];
      port = Number(hostPort[2]);
    }
    if (port > 65535) {
      bad('has a port out of range');
      continue;
    }
    const cidr = /^(.+)\/(\d+)$/.exec(host);
    if (cidr) {
      const family = isIP(cidr[1]);
      const bits = Number(cidr[2]);
      if (family === 0 || bits > (family === 4 ? 32 : 128)) {
        bad('is not a CIDR block');
        continue;
      }
      const block = new BlockList();
      block.addSubnet(cidr[1], bits, family === 4 ? 'ipv4' : 'ipv6');
      entries.push({ block, port });
      continue;
    }
    const family = isIP(host);
    if (family) {
      const block = new BlockList();
      block.addAddress(host, family === 4 ? 'ipv4' : 'ipv6');
      entries.push({ block, port });
      continue;
    }
    const name = host.replace(/^\*?\./, '').replace(/\.$/, '');
    if (!name || /[/\s]/.test(name)) {
      bad('is not a host name');
      continue;
    }
    entries.push({ name, port });
  }
  return { all, entries, ignored };
}

/** One warning per NO_PROXY entry that is ignored (parseNoProxy), for `config check`. */
export function noProxyWarnings(env: NodeJS.ProcessEnv = process.env): string[] {
  const noProxy = firstSet(env, ['no_proxy', 'NO_PROXY']);
  return noProxy ? parseNoProxy(noProxy.name, noProxy.value).ignored : [];
}

/** True when NO_PROXY's entries send `hostname:port` direct. */
function bypassed(list: { all: boolean; entries: NoProxyEntry[] }, hostname: string, port: number): boolean {
  if (list.all) return true;
  const host = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  const family = isIP(host);
  for (const e of list.entries) {
    if (e.port && e.port !== port) continue;
    if (e.block) {
      if (family && e.block.check(host, family === 4 ? 'ipv4' : 'ipv6')) return true;
    } else if (e.name && !family && (host === e.name || host.endsWith(`.${e.name}`))) {
      // Names match names only, as in curl: "0.1" is not a suffix of the address 10.0.0.1.
      return true;
    }
  }
  return false;
}

/**
 * The route for requests to `target` under `env`: a proxy, or direct and why. Only the variables this
 * target needs are read, so a malformed HTTPS_PROXY fails (UsageError naming it) only for a provider that
 * would use it, never for the loopback emulator.
 */
export function chooseRoute(target: URL, env: NodeJS.ProcessEnv = process.env): RouteChoice {
  if (isLoopbackHost(target.hostname)) return { direct: 'loopback' };
  const https = target.protocol === 'https:';
  const names = https
    ? ['https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY']
    : ['http_proxy', ...(env.REQUEST_METHOD ? [] : ['HTTP_PROXY']), 'all_proxy', 'ALL_PROXY'];
  const found = firstSet(env, names);
  if (!found) return { direct: 'no proxy variable' };
  const proxy = parseProxy(found.name, found.value);
  const noProxy = firstSet(env, ['no_proxy', 'NO_PROXY']);
  if (noProxy) {
    const port = Number(target.port || (https ? 443 : 80));
    if (bypassed(parseNoProxy(noProxy.name, noProxy.value), target.hostname, port)) return { direct: 'NO_PROXY' };
  }
  return { proxy };
}

/** The proxy for `target`, or undefined when it goes direct. */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv = process.env): ProxyRoute | undefined {
  const r = chooseRoute(target, env);
  return 'proxy' in r ? r.proxy : undefined;
}

/** What to do about a proxy's 401/407, for messages: check the credentials, or give them. */
export function proxyAuthHint(proxy: ProxyRoute): string {
  return proxy.authorization ? `check the user and password in ${proxy.variable}` : `the proxy wants a user and password: give them in ${proxy.variable} as http://user:password@host:port`;
}

/** The route in words for `providers` and `config check`: `direct`, `direct (NO_PROXY)`, `http://proxy:3128 (HTTPS_PROXY)`. */
export function describeRoute(r: RouteChoice): string {
  if ('proxy' in r) return `${r.proxy.display} (${r.proxy.variable})`;
  return r.direct === 'NO_PROXY' ? 'direct (NO_PROXY)' : r.direct === 'loopback' ? 'direct (loopback)' : 'direct';
}

import { loadConfig, requireSomeProviders, SHIPPED_CONFIG } from '../config/load.js';
import type { Config } from '../config/types.js';
import { envNameProblem } from '../config/validate.js';
import { EXIT, SERVE_DEFAULTS } from '../defaults.js';
import { UsageError } from '../errors.js';
import { createRouter, type Router } from '../router.js';
import { isLoopback } from '../serve/auth.js';
import { dialectHandlers } from '../serve/dialects.js';
import type { Exposure } from '../serve/routes.js';
import { Gateway } from '../serve/server.js';
import { openGatewayTelemetry, type GatewayTelemetry } from '../serve/telemetry.js';
import { openServeStores, type ServeStores } from '../serve/state.js';
import { serverText } from '../util/redact.js';
import { StopSignals } from '../util/signals.js';
import { intFlag, listenFailure } from './options.js';

export interface ServeOptions {
  port?: string;
  host?: string;
  apiKeyEnv?: string;
  state?: string;
  demo?: boolean;
  otlpEndpoint?: string;
}

/** Operational notes (never a key or a prompt) go to stderr; stdout carries only the listening lines. */
const note = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/**
 * `llm-fallback serve`: flags over providers.yaml `serve:` over SERVE_DEFAULTS. Runs until SIGTERM or
 * Ctrl-C (graceful: in-flight requests get the shutdown grace), reloads the config on SIGHUP.
 */
export async function serveCommand(opts: ServeOptions, ctx: { config?: string }): Promise<number> {
  const env = process.env;
  const cfg = loadConfig(opts.demo ? SHIPPED_CONFIG : ctx.config, env);
  const s = cfg.serve;
  requireSomeProviders(cfg);
  const port = intFlag('--port', opts.port, 0, 65535) ?? s.port ?? SERVE_DEFAULTS.port;
  const host = opts.host ?? s.host ?? SERVE_DEFAULTS.host;
  // A host or state from the config is reported as its key there (file:line:col), not as a flag nobody gave.
  const hostName = opts.host === undefined && s.host !== undefined ? `${s.where?.host ?? cfg.file}: serve.host` : '--host';
  const stateSource = opts.state === undefined && s.state !== undefined ? `${s.where?.state ?? cfg.file}: serve.state` : '--state';
  const clientKey = clientKeyFrom(opts.apiKeyEnv ? { var: opts.apiKeyEnv, where: '--api-key-env' } : s.apiKeyEnv ? { var: s.apiKeyEnv, where: `serve.api_key_env in ${cfg.file}` } : undefined, env);
  if (!clientKey && !isLoopback(host)) {
    throw new UsageError(`${hostName} ${host}: refusing to listen beyond loopback without a client key; set --api-key-env VAR (or serve.api_key_env) and export VAR, or bind 127.0.0.1`);
  }
  // Handlers first: a signal that arrives once the listening line is out must find them installed (without
  // a handler the kernel's default action kills the process at once, whatever the code is doing).
  let signals: StopSignals | undefined;
  const stopped = new Promise<'SIGINT' | 'SIGTERM'>((resolve) => {
    signals = new StopSignals((sig) => resolve(sig));
  });
  let reload: (() => void) | undefined;
  const onHup = () => (reload ? reload() : note('serve: SIGHUP while starting: ignored'));
  process.on('SIGHUP', onHup);
  let stores: ServeStores | undefined;
  let telemetry: GatewayTelemetry | undefined;
  let gateway: Gateway | undefined;
  let router: Router | undefined;
  try {
    stores = await openServeStores({ url: opts.state ?? s.state ?? SERVE_DEFAULTS.state, source: stateSource, config: cfg, env, warn: note });
    telemetry = await openGatewayTelemetry(opts.otlpEndpoint ?? s.otlpEndpoint, note);
    router = await openRouter(opts.demo ? undefined : cfg, stores, opts.demo);
    gateway = new Gateway({
      router,
      handlers: dialectHandlers,
      clientKey,
      limits: { maxBodyBytes: s.maxBodyBytes, maxConcurrentPerClient: s.maxConcurrentPerClient },
      metrics: telemetry.metrics,
      traces: telemetry.traces,
    });
    if (gateway.exposure.served.length === 0) {
      throw new UsageError(`serve: no chain or provider of ${cfg.file} has its API key set (${gateway.exposure.unserved.map((u) => u.reason).join('; ')}); try --demo (no keys needed)`);
    }
    let addr;
    try {
      addr = await gateway.listen(port, host);
    } catch (e) {
      throw listenFailure(e, port, host, hostName) ?? e;
    }
    const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    process.stdout.write(`listening http://${shownHost}:${addr.port}\n${exposureLines(gateway.exposure).join('\n')}\n`);
    note(`serve: ${opts.demo ? 'demo (the shipped chains on the built-in emulator)' : cfg.file}; state ${stores.describe}; client key ${clientKey ? 'required' : 'not required (loopback only)'}${telemetry.traces ? '; OTLP traces on' : ''}. SIGHUP reloads the config, SIGTERM stops.`);
  } catch (e) {
    signals?.dispose();
    process.off('SIGHUP', onHup);
    if (router && !gateway) await router.close();
    await gateway?.shutdown(0);
    await telemetry?.close();
    await stores?.close();
    throw e;
  }

  const g = gateway;
  reload = reloader(g, ctx.config, stores, opts.demo === true);
  const sig = await stopped;
  reload = () => note('serve: SIGHUP while stopping: ignored');
  const grace = s.shutdownGraceMs ?? SERVE_DEFAULTS.shutdownGraceMs;
  note(`serve: ${sig}: stopping; ${g.inFlightCount} request(s) in flight get up to ${grace / 1000} s`);
  const r = await g.shutdown(grace);
  await telemetry.close();
  await stores.close();
  note(`serve: stopped (${r.finished} finished${r.aborted ? `, ${r.aborted} aborted after the grace period` : ''})`);
  signals?.finish();
  // Whatever still holds the event loop (a provider connection closing slowly) must not keep a stopped server alive.
  setTimeout(() => process.exit(process.exitCode ?? 0), 5_000).unref();
  return sig === 'SIGINT' ? EXIT.interrupted : EXIT.terminated;
}

function clientKeyFrom(src: { var: string; where: string } | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (!src) return undefined;
  const problem = envNameProblem(src.var, 'LLMF_CLIENT_KEY');
  if (problem) throw new UsageError(`${src.where}: ${problem}`);
  const key = env[src.var];
  if (!key) throw new UsageError(`${src.where}: ${src.var} is not set; export ${src.var}=<a long random key> (clients send it as "Authorization: Bearer <key>" or "x-api-key: <key>")`);
  if (key.length < 16) throw new UsageError(`${src.where}: ${src.var} holds a key of ${key.length} characters; use at least 16 (e.g. openssl rand -hex 24)`);
  return key;
}

/** A router over a parsed config (or the demo), its left-out-provider notes kept for the listening lines. */
function openRouter(cfg: Config | undefined, stores: ServeStores, demo?: boolean): Promise<Router> {
  return createRouter({ config: cfg, demo, env: process.env, stores, warn: () => {}, who: 'serve' });
}

/** SIGHUP: a new router from the re-read config; a bad config keeps the old one and says why in one line. */
function reloader(g: Gateway, configPath: string | undefined, stores: ServeStores, demo: boolean): () => void {
  let running: Promise<void> = Promise.resolve();
  const once = async () => {
    if (demo) return note('serve: SIGHUP: --demo serves the shipped chains; nothing to reload');
    let next: Router | undefined;
    try {
      const cfg = loadConfig(configPath, process.env);
      next = await openRouter(cfg, stores);
      const before = g.exposure.served.map((r) => r.name);
      await g.swap(next);
      const after = g.exposure;
      if (after.served.length === 0) note(`serve: SIGHUP: warning: ${cfg.file} serves no chain or provider (no key set); every request will fail`);
      const added = after.served.map((r) => r.name).filter((n) => !before.includes(n));
      const removed = before.filter((n) => !after.served.some((r) => r.name === n));
      note(`serve: SIGHUP: reloaded ${cfg.file}: ${after.served.length} route(s)${added.length ? `, added ${added.join(', ')}` : ''}${removed.length ? `, removed ${removed.join(', ')}` : ''}; requests in flight finish on the old config`);
      process.stdout.write(`${exposureLines(after).join('\n')}\n`);
    } catch (e) {
      if (next && g.router !== next) await next.close();
      note(`serve: SIGHUP: kept the running config: ${serverText((e as Error).message, 500)}`);
    }
  };
  return () => {
    running = running.then(once);
  };
}

/** One line per route served (its providers in order, those left out for lack of a key) and per route not served. */
export function exposureLines(x: Exposure): string[] {
  const width = Math.max(...x.served.map((r) => r.name.length), 8);
  const lines = x.served.map((r) => {
    const what = r.kind === 'chain' ? r.providers.map((p) => p.name).join(' → ') : r.providers[0].model;
    const left = r.leftOut.length ? `   (left out: ${r.leftOut.map((l) => `${l.name}, ${l.reason}`).join('; ')})` : '';
    return `  ${r.kind.padEnd(8)} ${r.name.padEnd(width)}  ${what}${left}`;
  });
  for (const u of x.unserved) lines.push(`  ${u.kind.padEnd(8)} ${u.name.padEnd(width)}  not served: ${u.reason}`);
  return lines;
}


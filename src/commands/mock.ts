import { UsageError } from '../errors.js';
import { loadProfile } from '../mock/profile.js';
import { startMock } from '../mock/server.js';

export async function mockCommand(opts: { port: string; host: string; profile: string }): Promise<void> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: "${opts.port}" is not a port number (0-65535)`);
  const profile = loadProfile(opts.profile);
  let server;
  try {
    server = await startMock({ profile, port, host: opts.host });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UsageError(`--port: ${port} is already in use; pick another or use --port 0`);
    if (code === 'EADDRNOTAVAIL') throw new UsageError(`--host: cannot bind ${opts.host} on this machine`);
    throw e;
  }
  const out = process.stdout;
  out.write(`llm-fallback mock listening on ${server.url}\n`);
  for (const [name, spec] of Object.entries(profile.providers)) {
    const path = spec.dialect === 'anthropic' ? 'messages' : 'chat/completions';
    out.write(`  ${name.padEnd(12)} ${spec.dialect.padEnd(10)} ${server.baseUrl(name)}/${path}  (model ${spec.model})\n`);
  }
  out.write('Admin: GET /_mock/stats, GET /_mock/providers/{name}/injected, POST /_mock/reset (counters, scripts and faults back to the profile), PUT /_mock/providers/{name}/script|faults. Ctrl-C to stop.\n');
  await new Promise<void>((resolve) => {
    const stop = () => {
      server.close().then(resolve, resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  // Ctrl-C is how a server is stopped: a clean exit, not an interrupted run.
}

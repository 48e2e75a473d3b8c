// npm run perf, gateway section: the two floors the gateway's added latency is measured against, each
// run as its own process in front of the emulator:
// - `tcp`: a byte relay (two sockets piped together, no HTTP parsing): what any extra process hop on
//   loopback costs this machine, whatever it is written in;
// - `http`: the least a Node HTTP gateway does: a node:http server that reads the JSON body, asks the
//   emulator for a stream with undici (Node's standard HTTP client; the adapters have their own,
//   src/providers/h1), and either collects the content of the SSE frames into one chat.completion or,
//   when the client asked for a stream, passes the emulator's SSE bytes on as they come. No chain,
//   clocks, breaker, cache, metrics or log.
// `node dist/perf/relay.js tcp|http UPSTREAM_BASE_URL` prints `listening http://127.0.0.1:PORT`.
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

function tcpRelay(upstream: URL): void {
  const server = createTcpServer((client) => {
    client.setNoDelay(true);
    const up = connect(Number(upstream.port), upstream.hostname);
    up.setNoDelay(true);
    client.pipe(up).pipe(client);
    client.on('error', () => up.destroy());
    up.on('error', () => client.destroy());
  });
  server.listen(0, '127.0.0.1', () => console.log(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}`));
}

function httpProxy(upstream: URL): void {
  const agent = new Agent({ connections: 256 });
  const target = `${upstream.href.replace(/\/+$/, '')}/chat/completions`;
  const server = createHttpServer(async (req, res) => {
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      const up = await request(target, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) });
      if (body.stream === true) {
        res.writeHead(up.statusCode, { 'content-type': 'text/event-stream' });
        for await (const c of up.body) res.write(c);
        return void res.end();
      }
      let text = '';
      for await (const c of up.body) text += c;
      let content = '';
      for (const line of text.split('\n')) {
        if (!line.startsWith('data: {')) continue;
        const chunk = JSON.parse(line.slice(6)) as { choices?: { delta?: { content?: string } }[] };
        content += chunk.choices?.[0]?.delta?.content ?? '';
      }
      const out = JSON.stringify({ id: 'chatcmpl-floor', object: 'chat.completion', model: body.model, choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] });
      res.writeHead(up.statusCode, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    } catch (e) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(e));
    }
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => console.log(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}`));
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const [kind, base] = process.argv.slice(2);
  if ((kind !== 'tcp' && kind !== 'http') || !base) {
    console.error('usage: node dist/perf/relay.js tcp|http UPSTREAM_BASE_URL');
    process.exit(2);
  }
  // A clean exit on a signal, so `node --cpu-prof` can write its profile.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(0));
  (kind === 'tcp' ? tcpRelay : httpProxy)(new URL(base));
}

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, spawnEmulator, type SpawnedEmulator } from './cli-helpers.js';

/**
 * TLS failures as a user meets them: `ask` and `health` against an https provider on loopback whose
 * certificates openssl made here. openssl is the judge of what each condition is: every certificate is
 * run through `openssl verify` first, and the test holds the CLI's message to that verdict. The servers
 * are Node's https (with openssl's files) and, for a TLS 1.1-only server, `openssl s_server` itself.
 */

const dir = mkdtempSync(join(tmpdir(), 'llmf-tls-'));
const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
/** openssl verify's verdict on a certificate: its last line ("OK", or the error it found). */
function opensslVerify(...args: string[]): string {
  const r = spawnSync('openssl', ['verify', ...args], { cwd: dir, encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.trim();
}
const file = (name: string) => join(dir, name);

const REPLY = JSON.stringify({ id: 'x', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'through TLS' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } });
function answer(req: IncomingMessage, res: ServerResponse) {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(REPLY));
}

const servers: Server[] = [];
const children: ChildProcess[] = [];
async function listen<S extends Server>(s: S): Promise<number> {
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}
/** An https server with openssl's key and certificate(s) (`cert` may hold a chain). */
const httpsServer = (keyFile: string, ...certFiles: string[]) =>
  listen(createHttpsServer({ key: readFileSync(file(keyFile)), cert: certFiles.map((f) => readFileSync(file(f), 'utf8')).join('') }, answer));

/** A certificate for `subject` with the extensions in file `ext`, signed by `caName`. */
const signed = (name: string, subject: string, caName: string, ext: string) => {
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
  ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.pem`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', ext);
};

beforeAll(() => {
  // A root CA, a server certificate it signed (localhost, 127.0.0.1), one for another name, an intermediate
  // and a certificate it signed, a self-signed one, and an expired one.
  const ca = ['-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=llmf test root CA', ...ca);
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'self.key', '-out', 'self.pem', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  writeFileSync(file('local.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  writeFileSync(file('other.ext'), 'subjectAltName=DNS:example.test\n');
  writeFileSync(file('int.ext'), 'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n');
  signed('leaf', '/CN=localhost', 'ca', 'local.ext');
  signed('other', '/CN=example.test', 'ca', 'other.ext');
  signed('int', '/CN=llmf test intermediate', 'ca', 'int.ext');
  signed('ileaf', '/CN=localhost', 'int', 'local.ext');
  // Expired and not yet valid: `openssl ca` takes a start and end date (openssl 3.0's x509 has no -not_before).
  mkdirSync(file('ca-db/new'), { recursive: true });
  writeFileSync(file('ca-db/index.txt'), '');
  writeFileSync(file('ca-db/serial'), '01\n');
  writeFileSync(file('ca.cnf'), '[ca]\ndefault_ca = test\n[test]\ndatabase = ca-db/index.txt\nnew_certs_dir = ca-db/new\nserial = ca-db/serial\ndefault_md = sha256\nunique_subject = no\npolicy = any\ncopy_extensions = copy\n[any]\ncommonName = supplied\n');
  const dated = (name: string, start: string, end: string) => {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
    ssl('ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', `${name}.csr`, '-out', `${name}.pem`, '-startdate', start, '-enddate', end, '-notext');
  };
  dated('old', '20200101000000Z', '20200102000000Z');
  dated('future', '20991231000000Z', '21000101000000Z');
  writeFileSync(file('int+ca.pem'), readFileSync(file('int.pem'), 'utf8') + readFileSync(file('ca.pem'), 'utf8'));
});

afterAll(() => {
  for (const s of servers) s.close();
  for (const c of children) c.kill();
});

let runs = 0;
/** `ask` and `health --format json` against one provider `acme` at `baseUrl`, each with state of its own. */
async function askAndHealth(baseUrl: string, env: NodeJS.ProcessEnv = {}, extra = '', askArgs = ['--retries', '0']) {
  const d = join(dir, `run${++runs}`);
  mkdirSync(d);
  const config = join(d, 'providers.yaml');
  writeFileSync(config, `providers:\n  acme: { api: openai, base_url: "${baseUrl}", model: m${extra} }\n`);
  const state = { XDG_STATE_HOME: join(d, 'state'), XDG_CACHE_HOME: join(d, 'cache'), NODE_EXTRA_CA_CERTS: '', ...env };
  const [ask, health] = await Promise.all([
    run(['--config', config, 'ask', '--no-cache', ...askArgs, 'hi'], { env: state }),
    run(['--config', config, 'health', 'acme', '--format', 'json'], { env: { ...state, XDG_STATE_HOME: join(d, 'state-health') } }),
  ]);
  return { ask, health, report: JSON.parse(health?.stdout ?? '{"providers":[]}') as { ok: boolean; providers: { healthy: boolean; error_class: string; error_message: string }[]; failures: string[] } };
}

/** Both commands fail with exit 1, the one message, on one line, without a stack trace; health says the provider is down for it. */
async function expectFailure(baseUrl: string, message: string | RegExp, env: NodeJS.ProcessEnv = {}, extra = '') {
  const { ask, health, report } = await askAndHealth(baseUrl, env, extra);
  expect(ask.code).toBe(1);
  expect(health.code).toBe(1);
  for (const stderr of [ask.stderr, health.stderr]) expect(stderr).not.toMatch(/^\s+at /m);
  const first = ask.stderr.split('\n')[0];
  const said = first.replace(/^llm-fallback: no answer: /, '').replace(/ · attempts: .*$/, '');
  expect(said).toMatch(message);
  const p = report.providers[0];
  expect(p.healthy).toBe(false);
  expect(p.error_message).toBe(said);
  expect(report.ok).toBe(false);
  return said;
}

describe('TLS failures through ask and health, judged by openssl', () => {
  it('a self-signed certificate: says so; listed in NODE_EXTRA_CA_CERTS it works', async () => {
    expect(opensslVerify('-CAfile', 'ca.pem', 'self.pem')).toContain('self-signed certificate');
    expect(opensslVerify('-CAfile', 'self.pem', 'self.pem')).toBe('self.pem: OK');
    const port = await httpsServer('self.key', 'self.pem');
    await expectFailure(`https://localhost:${port}/v1`, "acme: TLS failure: the server's certificate is self-signed, so not trusted (DEPTH_ZERO_SELF_SIGNED_CERT); if it is yours, add it to NODE_EXTRA_CA_CERTS");
    const trusted = await askAndHealth(`https://localhost:${port}/v1`, { NODE_EXTRA_CA_CERTS: file('self.pem') });
    expect(trusted.ask.stdout).toContain('through TLS');
    expect([trusted.ask.code, trusted.health.code]).toEqual([0, 0]);
  });

  it('a certificate from a CA nobody trusts: not trusted; with the CA in NODE_EXTRA_CA_CERTS it works', async () => {
    expect(opensslVerify('leaf.pem')).toContain('unable to get local issuer certificate');
    expect(opensslVerify('-CAfile', 'ca.pem', 'leaf.pem')).toBe('leaf.pem: OK');
    const port = await httpsServer('leaf.key', 'leaf.pem');
    await expectFailure(`https://localhost:${port}/v1`, /^acme: TLS failure: the server's certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): .* a private CA .* can be added with NODE_EXTRA_CA_CERTS$/);
    const trusted = await askAndHealth(`https://localhost:${port}/v1`, { NODE_EXTRA_CA_CERTS: file('ca.pem') });
    expect(trusted.ask.stdout).toContain('through TLS');
    expect(trusted.ask.code).toBe(0);
    expect(trusted.health.code).toBe(0);
    expect(trusted.report.providers[0].healthy).toBe(true);
  });

  it('an expired certificate, and one not valid yet: each says which, and that the clock judges it', async () => {
    expect(opensslVerify('-CAfile', 'ca.pem', 'old.pem')).toContain('certificate has expired');
    expect(opensslVerify('-CAfile', 'ca.pem', 'future.pem')).toContain('certificate is not yet valid');
    const env = { NODE_EXTRA_CA_CERTS: file('ca.pem') };
    const old = await httpsServer('old.key', 'old.pem');
    await expectFailure(`https://localhost:${old}/v1`, "acme: TLS failure: the server's certificate has expired (CERT_HAS_EXPIRED); the server must renew it, unless this machine's clock is wrong", env);
    const future = await httpsServer('future.key', 'future.pem');
    await expectFailure(`https://localhost:${future}/v1`, "acme: TLS failure: the server's certificate is not valid yet (CERT_NOT_YET_VALID); check this machine's clock", env);
  });

  it('a certificate for another name: says which name it is for, and which the base_url asked', async () => {
    expect(opensslVerify('-CAfile', 'ca.pem', '-verify_ip', '127.0.0.1', 'other.pem')).toContain('IP address mismatch');
    expect(opensslVerify('-CAfile', 'ca.pem', '-verify_hostname', 'localhost', 'other.pem')).toContain('hostname mismatch');
    const port = await httpsServer('other.key', 'other.pem');
    const env = { NODE_EXTRA_CA_CERTS: file('ca.pem') };
    await expectFailure(`https://127.0.0.1:${port}/v1`, "acme: TLS failure: the server's certificate is for example.test, not 127.0.0.1 (ERR_TLS_CERT_ALTNAME_INVALID); use a base_url with a name the certificate is for, or a certificate for 127.0.0.1", env);
    await expectFailure(`https://localhost:${port}/v1`, "acme: TLS failure: the server's certificate is for example.test, not localhost (ERR_TLS_CERT_ALTNAME_INVALID); use a base_url with a name the certificate is for, or a certificate for localhost", env);
  });

  it("a certificate whose names hold the API key, an env-expanded header's value, escapes or U+202E: names them redacted and inert", async () => {
    // A hostile server chooses its certificate's names: the key it was sent (or any secret it guesses),
    // terminal escapes and bidi overrides. openssl signs them as given (DNS names are IA5 strings; the CN a UTF8String).
    const key = 'sk-certKEY0123456789abcdef';
    const tenant = 'tenant7f3a9c2e1b5d';
    writeFileSync(file('keysan.ext'), `subjectAltName=DNS:${key}.example,DNS:${tenant}.example,DNS:c.example,DNS:d.example,DNS:e.example\n`);
    signed('keysan', '/CN=keysan', 'ca', 'keysan.ext');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-utf8', '-keyout', 'keycn.key', '-out', 'keycn.csr', '-subj', `/CN=${key} \u001b[31m\u202eevil`);
    ssl('x509', '-req', '-in', 'keycn.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'keycn.pem', '-days', '1');
    for (const name of ['keysan.pem', 'keycn.pem']) expect(opensslVerify('-CAfile', 'ca.pem', '-verify_hostname', 'localhost', name)).toContain('hostname mismatch');
    expect(execFileSync('openssl', ['x509', '-in', file('keysan.pem'), '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' })).toContain(`DNS:${key}.example`);
    const env = { NODE_EXTRA_CA_CERTS: file('ca.pem'), CERT_KEY: key, TENANT: tenant };
    const extra = ', api_key_env: CERT_KEY, headers: { x-tenant: "${TENANT}" }';
    const san = await httpsServer('keysan.key', 'keysan.pem');
    await expectFailure(`https://localhost:${san}/v1`, "acme: TLS failure: the server's certificate is for [REDACTED].example, [REDACTED].example, c.example and 2 more, not localhost (ERR_TLS_CERT_ALTNAME_INVALID); use a base_url with a name the certificate is for, or a certificate for localhost", env, extra);
    // No subjectAltName: Node checks the CN, and the message names it; every character outside printable ASCII is a "?".
    const cn = await httpsServer('keycn.key', 'keycn.pem');
    await expectFailure(`https://localhost:${cn}/v1`, "acme: TLS failure: the server's certificate is for [REDACTED]??[31m?evil, not localhost (ERR_TLS_CERT_ALTNAME_INVALID); use a base_url with a name the certificate is for, or a certificate for localhost", env, extra);
    for (const port of [san, cn]) {
      const { ask, health } = await askAndHealth(`https://localhost:${port}/v1`, env, extra);
      for (const out of [ask.stdout, ask.stderr, health.stdout, health.stderr]) {
        for (const secret of [key.slice(3), 'certKEY', tenant, tenant.slice(6)]) expect(out).not.toContain(secret);
        expect(out).not.toMatch(/[\u001b\u202e]/);
      }
    }
  });

  it('a server that leaves its intermediate out: says a server must send it; sending it, or trusting it, works', async () => {
    expect(opensslVerify('-CAfile', 'ca.pem', 'ileaf.pem')).toContain('unable to get local issuer certificate');
    expect(opensslVerify('-CAfile', 'ca.pem', '-untrusted', 'int.pem', 'ileaf.pem')).toBe('ileaf.pem: OK');
    const env = { NODE_EXTRA_CA_CERTS: file('ca.pem') };
    const leafOnly = await httpsServer('ileaf.key', 'ileaf.pem');
    await expectFailure(
      `https://localhost:${leafOnly}/v1`,
      "acme: TLS failure: the server's certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE): its issuer is neither a trusted CA nor sent by the server; a server must send its intermediate certificates, and a private CA (or a missing intermediate) can be added with NODE_EXTRA_CA_CERTS",
      env,
    );
    // Either fix the message names works.
    const intermediateTrusted = await askAndHealth(`https://localhost:${leafOnly}/v1`, { NODE_EXTRA_CA_CERTS: file('int+ca.pem') });
    expect([intermediateTrusted.ask.code, intermediateTrusted.health.code]).toEqual([0, 0]);
    const wholeChain = await httpsServer('ileaf.key', 'ileaf.pem', 'int.pem');
    const sent = await askAndHealth(`https://localhost:${wholeChain}/v1`, env);
    expect(sent.ask.stdout).toContain('through TLS');
    expect([sent.ask.code, sent.health.code]).toEqual([0, 0]);
  });

  it('plain HTTP on an https base_url, and TLS on an http one: each says to change the scheme', async () => {
    const plain = await listen(createHttpServer(answer));
    await expectFailure(`https://127.0.0.1:${plain}/v1`, /^acme: TLS failure: the server did not answer in TLS \(ERR_SSL_WRONG_VERSION_NUMBER\); check the port, and a local server that speaks plain HTTP takes an http:\/\/ base_url$/);
    // A TLS server sent plain HTTP closes without a word: Node's https server, and openssl s_server, which
    // logs why ("http request").
    const tls = await httpsServer('leaf.key', 'leaf.pem');
    await expectFailure(`http://127.0.0.1:${tls}/v1`, 'acme: connection closed by the server; if this port speaks TLS, its base_url takes https://');
    const { port, log } = await opensslServer([]);
    await expectFailure(`http://127.0.0.1:${port}/v1`, 'acme: connection closed by the server; if this port speaks TLS, its base_url takes https://');
    expect(log()).toContain('http request');
  });

  it('a server that takes the connection and never answers the handshake: the connect clock, not a hang', async () => {
    const silent = await listen(createNetServer(() => {}));
    const t0 = Date.now();
    await expectFailure(`https://127.0.0.1:${silent}/v1`, 'acme: connect timeout after 800ms', {}, ', timeouts: { connect: 800ms }');
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('a TLS 1.1-only server (openssl s_server): says its TLS is too old', async () => {
    // openssl 3 needs security level 0 for TLS 1.1; its own client confirms the server speaks it.
    const { port } = await opensslServer(['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
    const client = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0'], { input: '', encoding: 'utf8', timeout: 5000 });
    expect(client.stdout).toMatch(/Protocol\s*: TLSv1\.1/);
    await expectFailure(`https://localhost:${port}/v1`, "acme: TLS failure: the server's TLS is too old (ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION): it offers no version Node accepts (TLS 1.2 and 1.3); the server must be upgraded", { NODE_EXTRA_CA_CERTS: file('ca.pem') });
  }, 30_000);
}, 60_000);

describe('a TLS failure that comes back the same every time falls over at once; a reset handshake is retried', () => {
  /** The provider that answers after the bad one: a plain HTTP server on loopback. */
  let good = 0;
  let emulator: SpawnedEmulator | undefined;
  beforeAll(async () => {
    good = await listen(createHttpServer(answer));
  });
  afterAll(async () => {
    await emulator?.close();
  });

  /**
   * `ask --json` through a chain [bad, good] that retries the same provider first (`retry_same_first`,
   * so a retryable failure would be asked again at once, up to --retries 2), `health bad`, and the breaker
   * record ask left. `withHealth: false` leaves health out, for a server that counts its connections.
   */
  async function askChain(badUrl: string, env: NodeJS.ProcessEnv = {}, withHealth = true) {
    const d = join(dir, `chain${++runs}`);
    mkdirSync(d);
    const config = join(d, 'providers.yaml');
    writeFileSync(
      config,
      `providers:\n  bad: { api: openai, base_url: "${badUrl}", model: m }\n  good: { api: openai, base_url: "http://127.0.0.1:${good}/v1", model: m }\nchains:\n  default: { providers: [bad, good], retry_same_first: true }\n`,
    );
    const state = { XDG_STATE_HOME: join(d, 'state'), XDG_CACHE_HOME: join(d, 'cache'), NODE_EXTRA_CA_CERTS: '', NODE_OPTIONS: '', ...env };
    const [ask, health] = await Promise.all([
      run(['--config', config, 'ask', '--no-cache', '--json', '--retries', '2', 'hi'], { env: state }),
      withHealth ? run(['--config', config, 'health', 'bad', '--format', 'json'], { env: { ...state, XDG_STATE_HOME: join(d, 'state-health') } }) : undefined,
    ]);
    const breakers = await run(['--config', config, 'breaker', 'show'], { env: state });
    type Attempt = { provider: string; decision: string; error_message: string | null };
    return { ask, health, breakers: breakers.stdout, result: JSON.parse(ask.stdout) as { content: string; attempts: Attempt[] }, report: JSON.parse(health?.stdout ?? '{"providers":[]}') as { providers: { healthy: boolean; error_message: string }[] } };
  }

  /** One attempt on bad, its message the one line, then good's answer; health says the same; the breaker counted it. */
  async function expectFallover(badUrl: string, message: string | RegExp, env: NodeJS.ProcessEnv = {}) {
    const { ask, health, breakers, result, report } = await askChain(badUrl, env);
    expect(ask.code).toBe(0);
    if (!health) throw new Error('health did not run');
    expect(result.attempts.map((a) => [a.provider, a.decision])).toEqual([
      ['bad', 'fallover'],
      ['good', 'success'],
    ]);
    expect(result.content).toBe('through TLS');
    const said = result.attempts[0].error_message!;
    expect(said).toMatch(message);
    expect(said).not.toContain('\n');
    expect(said).not.toMatch(/SSL routines|\.c:\d+/);
    expect(health.code).toBe(1);
    expect(health.stderr).not.toMatch(/^\s+at /m);
    expect(report.providers[0].healthy).toBe(false);
    expect(report.providers[0].error_message).toBe(said);
    expect(breakers).toMatch(/^\s+bad\s+closed \(1 failed\)/m);
    return said;
  }

  it('certificate failures (self-signed, untrusted CA, expired, another name): one attempt, then the next provider', async () => {
    const self = await httpsServer('self.key', 'self.pem');
    const said = await expectFallover(`https://localhost:${self}/v1`, "bad: TLS failure: the server's certificate is self-signed, so not trusted (DEPTH_ZERO_SELF_SIGNED_CERT); if it is yours, add it to NODE_EXTRA_CA_CERTS");
    // Alone (the last live option, where a fast failure is retried), it is not asked again either.
    const alone = await askAndHealth(`https://localhost:${self}/v1`, {}, '', ['--json', '--retries', '2']);
    const attempts = (JSON.parse(alone.ask.stdout) as { attempts: { decision: string; error_message: string }[] }).attempts;
    expect(attempts.map((a) => [a.decision, a.error_message])).toEqual([['stop', said.replace(/^bad:/, 'acme:')]]);
    const leaf = await httpsServer('leaf.key', 'leaf.pem');
    await expectFallover(`https://localhost:${leaf}/v1`, /^bad: TLS failure: the server's certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
    const env = { NODE_EXTRA_CA_CERTS: file('ca.pem') };
    const old = await httpsServer('old.key', 'old.pem');
    await expectFallover(`https://localhost:${old}/v1`, /^bad: TLS failure: the server's certificate has expired \(CERT_HAS_EXPIRED\)/, env);
    const other = await httpsServer('other.key', 'other.pem');
    await expectFallover(`https://127.0.0.1:${other}/v1`, /^bad: TLS failure: the server's certificate is for example\.test, not 127\.0\.0\.1 \(ERR_TLS_CERT_ALTNAME_INVALID\)/, env);
  });

  it('an https base_url on the emulator, which speaks plain HTTP: says so once, then the next provider', async () => {
    emulator = await spawnEmulator('default');
    const plainUrl = emulator.baseUrl('deepseek');
    expect(plainUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    await expectFallover(plainUrl.replace(/^http:/, 'https:'), 'bad: TLS failure: the server did not answer in TLS (ERR_SSL_WRONG_VERSION_NUMBER); check the port, and a local server that speaks plain HTTP takes an http:// base_url');
  });

  it('TLS versions (openssl s_server): too old, chosen too old, and none shared under --tls-max-v1.2, each in words and not retried', async () => {
    const env = { NODE_EXTRA_CA_CERTS: file('ca.pem') };
    const tls11 = await opensslServer(['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
    await expectFallover(`https://localhost:${tls11.port}/v1`, "bad: TLS failure: the server's TLS is too old (ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION): it offers no version Node accepts (TLS 1.2 and 1.3); the server must be upgraded", env);
    // Without TLS 1.3's version list in the hello, openssl answers with TLS 1.1 itself, and Node refuses it.
    await expectFallover(
      `https://localhost:${tls11.port}/v1`,
      "bad: TLS failure: the server's TLS is too old (ERR_SSL_UNSUPPORTED_PROTOCOL): it chose a version older than Node accepts (TLS 1.2); the server must be upgraded",
      { ...env, NODE_OPTIONS: '--tls-max-v1.2' },
    );
    // A TLS 1.3-only server is not too old: the option that held Node to 1.2 is what to change.
    const tls13 = await opensslServer(['-tls1_3']);
    await expectFallover(
      `https://localhost:${tls13.port}/v1`,
      "bad: TLS failure: the server and this Node share no TLS version (ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION): Node offers only TLS 1.2, as --tls-max-v1.2 (NODE_OPTIONS or node's command line) limits it; remove that option, or the server must offer TLS 1.2",
      { ...env, NODE_OPTIONS: '--tls-max-v1.2' },
    );
  }, 30_000);

  it('no cipher suite in common, and a server that wants a client certificate: each in words, not retried', async () => {
    const env = { NODE_EXTRA_CA_CERTS: file('ca.pem') };
    // Node's default cipher list leaves CAMELLIA out.
    const camellia = await opensslServer(['-tls1_2', '-cipher', 'CAMELLIA128-SHA']);
    await expectFallover(`https://localhost:${camellia.port}/v1`, /^bad: TLS failure: the server refused the TLS handshake \(ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE\): it shares no cipher suite with Node, or it requires a client certificate/, env);
    const mtls = await opensslServer(['-tls1_3', '-Verify', '1']);
    await expectFallover(`https://localhost:${mtls.port}/v1`, 'bad: TLS failure: the server requires a client certificate (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED), which llm-fallback does not send; the server must accept clients without one', env);
  }, 30_000);

  it('a handshake reset once is retried on the same provider, which then answers', async () => {
    // Node's own https server behind a listener that resets the first connection before any TLS byte.
    const tls = createHttpsServer({ key: readFileSync(file('leaf.key')), cert: readFileSync(file('leaf.pem')) }, answer);
    let connections = 0;
    const flaky = await listen(
      createNetServer((socket) => {
        if (++connections === 1) socket.resetAndDestroy();
        else tls.emit('connection', socket);
      }),
    );
    const { ask, result } = await askChain(`https://localhost:${flaky}/v1`, { NODE_EXTRA_CA_CERTS: file('ca.pem') }, false);
    expect(ask.code).toBe(0);
    expect(result.attempts.map((a) => [a.provider, a.decision])).toEqual([
      ['bad', 'retry'],
      ['bad', 'success'],
    ]);
    // The reset reaches the client before or after it writes its ClientHello (ECONNRESET or EPIPE: a race
    // under load); both are a connection the server dropped, retried alike.
    expect(result.attempts[0].error_message).toMatch(/^bad: connection (reset|closed by the server)/);
    expect(result.content).toBe('through TLS');
    expect(connections).toBe(2);
  });
}, 90_000);

/** `openssl s_server -www` with the trusted localhost certificate on a free loopback port, and what it logged. */
async function opensslServer(args: string[]): Promise<{ port: number; log: () => string }> {
  const child = spawn('openssl', ['s_server', '-accept', '127.0.0.1:0', '-key', 'leaf.key', '-cert', 'leaf.pem', '-www', ...args], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`openssl s_server did not start: ${out}`)), 5000);
    const check = () => {
      const m = /ACCEPT 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
  });
  return { port, log: () => out };
}

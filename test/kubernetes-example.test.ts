/*
 * examples/kubernetes/ is a deployment someone will apply: its providers.yaml must load, its serve
 * arguments must be real flags, every key variable it names must come from the Secret, and the pod's
 * termination grace must outlast the gateway's own shutdown grace.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli.js';
import { parseConfig } from '../src/config/load.js';

const docs = (file: string) => parseAllDocuments(readFileSync(new URL(`../examples/kubernetes/${file}`, import.meta.url), 'utf8')).map((d) => d.toJS());
const gateway = docs('gateway.yaml');
const secret = docs('secret.example.yaml')[0];
const redis = docs('redis.yaml');
const byKind = (all: any[], kind: string) => all.find((d) => d.kind === kind);

describe('examples/kubernetes', () => {
  const configText = byKind(gateway, 'ConfigMap').data['providers.yaml'];
  const cfg = parseConfig(configText, 'examples/kubernetes/gateway.yaml');
  const pod = byKind(gateway, 'Deployment').spec.template.spec;
  const container = pod.containers[0];

  it('its providers.yaml loads, requires a client key and names the Redis Service as shared state', () => {
    expect(cfg.chains.get('default')?.providers).toEqual(['deepseek', 'kimi']);
    expect(cfg.serve.apiKeyEnv).toBe('GATEWAY_CLIENT_KEY');
    const redisService = byKind(redis, 'Service');
    expect(cfg.serve.state).toBe(`redis://${redisService.metadata.name}:${redisService.spec.ports[0].port}`);
  });

  it('every key variable comes from the Secret the pod loads', () => {
    expect(container.envFrom[0].secretRef.name).toBe(secret.metadata.name);
    const vars = [cfg.serve.apiKeyEnv, ...[...cfg.providers.values()].map((p) => p.apiKeyEnv)];
    for (const v of vars) expect(Object.keys(secret.stringData), v).toContain(v);
  });

  it('the container args are the CLI\'s real flags, mounting the ConfigMap where --config points', async () => {
    const program = buildProgram();
    let seen: Record<string, unknown> | undefined;
    const serve = program.commands.find((c) => c.name() === 'serve')!;
    serve.exitOverride().action((opts) => {
      seen = opts;
    });
    await program.parseAsync(['node', 'llm-fallback', ...container.args]);
    expect(seen).toMatchObject({ host: '0.0.0.0', port: '8080' });
    expect(program.opts().config).toBe(`${container.volumeMounts[0].mountPath}/providers.yaml`);
    expect(container.ports[0].containerPort).toBe(8080);
  });

  it('the pod outlives the graceful stop: termination grace > preStop pause + serve.shutdown_grace', () => {
    const preStop = Number(container.lifecycle.preStop.exec.command[1]);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(preStop * 1000 + cfg.serve.shutdownGraceMs!);
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
  });
});

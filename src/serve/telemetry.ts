/**
 * The gateway's telemetry: Prometheus metrics (metrics.ts) always, OTLP traces (otlp.ts) when an
 * endpoint is configured. (Stand-in until those modules land: no metrics, no traces.)
 */
import { UsageError } from '../errors.js';
import type { GatewayMetricsSink, GatewayTraceSink } from './server.js';

export interface GatewayTelemetry {
  metrics?: GatewayMetricsSink;
  traces?: GatewayTraceSink;
  close(): Promise<void>;
}

export async function openGatewayTelemetry(otlpEndpoint: string | undefined, _warn: (m: string) => void): Promise<GatewayTelemetry> {
  if (otlpEndpoint) throw new UsageError('--otlp-endpoint: traces are not available in this build');
  return { close: async () => {} };
}

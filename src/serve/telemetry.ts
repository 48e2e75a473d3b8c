/**
 * The gateway's telemetry: Prometheus metrics (metrics.ts) always, OTLP traces (otlp.ts) when an
 * endpoint is configured, the exporter's counts shown on /metrics.
 */
import { GatewayMetrics } from './metrics.js';
import { OtlpTraceExporter } from './otlp.js';
import type { GatewayMetricsSink, GatewayTraceSink } from './server.js';

export interface GatewayTelemetry {
  metrics: GatewayMetricsSink;
  traces?: GatewayTraceSink;
  /** Sends the spans still queued. */
  close(): Promise<void>;
}

export async function openGatewayTelemetry(otlpEndpoint: string | undefined, warn: (m: string) => void): Promise<GatewayTelemetry> {
  const metrics = new GatewayMetrics();
  const traces = otlpEndpoint ? new OtlpTraceExporter({ endpoint: otlpEndpoint, warn }) : undefined;
  if (traces) metrics.setSpanExportSource(() => traces.stats);
  return { metrics, traces, close: async () => traces?.shutdown() };
}

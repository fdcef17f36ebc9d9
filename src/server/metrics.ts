import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { StreamClients } from './streams/clients.ts';

/** What the API counts about itself, on the monitor's registry (served at `/metrics`). */
export interface ApiMetrics {
  /** One answered request: its method, route pattern (never the raw path: ids would grow labels without end) and status. */
  observe(method: string, route: string, status: number, seconds: number): void;
}

const NAMES = [
  'orchestrator_api_requests_total',
  'orchestrator_api_request_duration_seconds',
  'orchestrator_api_stream_clients',
  'orchestrator_api_stream_buffered_bytes_max',
] as const;

/**
 * Registers the API's metrics on `registry`: requests by route and status, their durations,
 * the open streams and the most bytes one holds unsent. A server registered later on the same
 * registry (tests start several on one orchestrator) replaces the earlier one's.
 */
export function apiMetrics(registry: Registry, clients: StreamClients): ApiMetrics {
  for (const name of NAMES) registry.removeSingleMetric(name);
  const registers = [registry];
  const requests = new Counter({
    name: 'orchestrator_api_requests_total',
    help: 'HTTP API requests answered, by method, route and status.',
    labelNames: ['method', 'route', 'status'],
    registers,
  });
  const durations = new Histogram({
    name: 'orchestrator_api_request_duration_seconds',
    help: 'Time to answer an HTTP API request (streams: until they end), by method and route.',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30],
    registers,
  });
  new Gauge({
    name: 'orchestrator_api_stream_clients',
    help: 'Open live streams (SSE responses and WebSockets).',
    registers,
    collect() {
      this.set(clients.size);
    },
  });
  new Gauge({
    name: 'orchestrator_api_stream_buffered_bytes_max',
    help: 'The most bytes one live stream holds unsent now (bounded: a slow client is read back from the log).',
    registers,
    collect() {
      this.set(clients.maxBufferedBytes());
    },
  });
  return {
    observe(method, route, status, seconds) {
      requests.inc({ method, route, status: String(status) });
      durations.observe({ method, route }, seconds);
    },
  };
}

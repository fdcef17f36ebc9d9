import { z } from 'zod';
import { route } from './route.ts';

/** Liveness, readiness, metrics and the document itself. */

export const health = route({
  method: 'GET',
  path: '/healthz',
  operationId: 'health',
  summary: 'Liveness: the process answers',
  tag: 'operations',
  scope: 'public',
  response: z.object({ status: z.literal('ok') }),
});

export const ready = route({
  method: 'GET',
  path: '/readyz',
  operationId: 'ready',
  summary: 'Readiness: the store answers and its migrations are done (503 otherwise)',
  tag: 'operations',
  scope: 'public',
  response: z.object({
    status: z.literal('ready'),
    store: z.string().describe('sqlite or postgres'),
    migrations: z.literal('done'),
    sessionsRunningHere: z.number().int(),
  }),
});

export const metrics = route({
  method: 'GET',
  path: '/metrics',
  operationId: 'metrics',
  summary: 'Prometheus metrics of this process (the monitor registry and the API)',
  tag: 'operations',
  scope: 'read',
  response: z.string(),
  produces: 'text/plain; version=0.0.4',
});

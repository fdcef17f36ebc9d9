import type { AnyEvent } from './envelope.ts';

/**
 * How much an event asks for attention, lowest first. Live monitoring clients filter on it
 * (`minSeverity: 'warning'` sees retries, failures and alerts, not the chatter of progress).
 */
export const SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;

/** One severity level. */
export type Severity = (typeof SEVERITIES)[number];

const RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, error: 2, critical: 3 };

/** The rank of a severity (info 0 ... critical 3), for comparisons. */
export function severityRank(severity: Severity): number {
  return RANK[severity];
}

/**
 * The severity of an event, derived from its type and payload (events carry no severity
 * field, except alerts, whose own severity is used for both their raise and their clear).
 * Failures that will be retried are warnings; failures for good are errors; a budget that
 * stops spending is critical.
 */
export function eventSeverity(event: AnyEvent): Severity {
  switch (event.type) {
    case 'system.alert':
      return event.data.severity;
    case 'budget.exhausted':
      return 'critical';
    case 'agent.failed':
      return event.data.willRetry ? 'warning' : 'error';
    case 'node.failed':
      return event.data.willRetry ? 'warning' : 'error';
    case 'workflow.completed':
      return event.data.status === 'failed' ? 'error' : event.data.status === 'cancelled' ? 'warning' : 'info';
    case 'system.subscriber_failed':
      return 'error';
    case 'node.compensated':
      return event.data.ok ? 'info' : 'error';
    case 'agent.permission':
    case 'security.decision':
      return event.data.decision === 'deny' ? 'warning' : 'info';
    case 'agent.progress':
      return event.data.kind === 'api_error' || event.data.kind === 'spare_lost' ? 'warning' : 'info';
    case 'agent.retry':
    case 'node.interrupted':
    case 'system.orphans_swept':
    case 'workflow.rolling_back':
      return 'warning';
    default:
      return 'info';
  }
}

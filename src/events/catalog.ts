import { z } from 'zod';

/**
 * The catalog of event types: one zod schema per type, keyed by its dotted name. Adding an
 * event type means adding one entry here; the envelope, the bus and the stores need no change.
 * Payload objects are "loose" so that events written by a newer minor version (with extra
 * fields) still validate when replayed by an older reader.
 */

const errorInfo = z.looseObject({
  code: z.string(),
  message: z.string(),
  retryable: z.boolean().optional(),
});

const usage = z.looseObject({
  inputTokens: z.number().nonnegative(),
  outputTokens: z.number().nonnegative(),
  cacheReadTokens: z.number().nonnegative().optional(),
  cacheCreationTokens: z.number().nonnegative().optional(),
});

export const EVENT_DATA_SCHEMAS = {
  'session.created': z.looseObject({
    name: z.string().optional(),
    workspace: z.string().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  }),
  'session.resumed': z.looseObject({
    fromSeq: z.number().int().nonnegative(),
    reason: z.string().optional(),
  }),
  'workflow.started': z.looseObject({
    workflowId: z.string(),
    name: z.string(),
    inputs: z.record(z.string(), z.unknown()).optional(),
    definition: z.unknown().optional(),
  }),
  'workflow.modified': z.looseObject({
    workflowId: z.string(),
    by: z.string(),
    changes: z.array(z.looseObject({ op: z.string() })),
  }),
  'workflow.completed': z.looseObject({
    workflowId: z.string(),
    status: z.enum(['completed', 'failed', 'cancelled']),
    error: errorInfo.optional(),
  }),
  'agent.spawned': z.looseObject({
    agentId: z.string(),
    agentType: z.string(),
    nodeId: z.string().optional(),
    task: z.string().optional(),
    model: z.string().optional(),
  }),
  'agent.progress': z.looseObject({
    agentId: z.string(),
    kind: z.string(),
    text: z.string().optional(),
  }),
  'agent.completed': z.looseObject({
    agentId: z.string(),
    output: z.unknown().optional(),
    usage: usage.optional(),
    costUsd: z.number().nonnegative().optional(),
  }),
  'agent.failed': z.looseObject({
    agentId: z.string(),
    error: errorInfo,
  }),
  'user.input': z.looseObject({
    requestId: z.string().optional(),
    value: z.unknown(),
  }),
  'system.alert': z.looseObject({
    rule: z.string(),
    severity: z.enum(['info', 'warning', 'critical']),
    message: z.string(),
    value: z.number().optional(),
    threshold: z.number().optional(),
    state: z.enum(['raised', 'cleared']).optional(),
  }),
  /** Reported by the bus when a subscriber throws or exceeds its handler timeout. */
  'system.subscriber_failed': z.looseObject({
    subscriber: z.string(),
    reason: z.enum(['threw', 'timeout']),
    message: z.string(),
    eventId: z.string(),
    eventType: z.string(),
  }),
} as const;

/** Every known event type name. */
export type EventType = keyof typeof EVENT_DATA_SCHEMAS;

/** The payload type of each event type. */
export type EventDataMap = { [K in EventType]: z.infer<(typeof EVENT_DATA_SCHEMAS)[K]> };

/** The list of known event type names, in catalog order. */
export const EVENT_TYPES = Object.keys(EVENT_DATA_SCHEMAS) as EventType[];

/** True when `type` names an event in the catalog. */
export function isEventType(type: string): type is EventType {
  return Object.hasOwn(EVENT_DATA_SCHEMAS, type);
}

import type { NewEvent } from '../events/index.ts';
import { priceUsage } from '../monitor/index.ts';
import type { GatewayRequest, RequestEnd } from './contract.ts';
import type { FaultKind } from './retry.ts';

/** Records events in a session (fire and forget: a lost event is reported, never thrown). */
export type Recorder = (sessionId: string, events: NewEvent[]) => void;

const round = (ms: number) => Math.round(ms * 100) / 100;

/**
 * The `model.request` event of a request that ended: its usage as read from the wire, priced.
 * Built field by field (no spreads of optional parts): it is made once per request.
 */
export function requestEvent(
  request: GatewayRequest,
  end: RequestEnd,
  attempt: number,
  fault: FaultKind | undefined,
  queuedMs?: number,
): NewEvent {
  const usage = end.usage;
  const model = usage?.model ?? request.model;
  const tokens = {
    inputTokens: usage?.inputTokens ?? 0,
    outputTokens: usage?.outputTokens ?? 0,
    cacheReadTokens: usage?.cacheReadTokens ?? 0,
    cacheCreationTokens: usage?.cacheCreationTokens ?? 0,
  };
  const data: Record<string, unknown> = {
    requestId: request.requestId,
    agentId: request.agent.agentId,
  };
  if (request.subagent !== undefined) data.subagentId = request.subagent;
  data.model = model;
  data.status = end.status;
  data.ok = end.ok;
  data.inputTokens = tokens.inputTokens;
  data.outputTokens = tokens.outputTokens;
  data.cacheReadTokens = tokens.cacheReadTokens;
  data.cacheCreationTokens = tokens.cacheCreationTokens;
  data.costUsd = priceUsage(model, tokens).costUsd;
  if (end.firstByteMs !== undefined) data.firstByteMs = round(end.firstByteMs);
  data.durationMs = round(end.durationMs);
  if (queuedMs !== undefined) data.queuedMs = round(queuedMs);
  const priority = request.agent.priority;
  if (priority !== undefined && priority !== 0) data.priority = priority;
  data.attempt = Math.max(1, attempt);
  if (fault !== undefined) data.fault = fault;
  if (end.error) data.error = end.error.toJSON();
  return { type: 'model.request', source: 'gateway', data } as NewEvent;
}

/** The `model.retry` event before retry `attempt` (2 for the first retry). */
export function retryEvent(
  request: GatewayRequest,
  attempt: number,
  maxRetries: number,
  delayMs: number,
  status: number,
  fault: FaultKind,
  reason: string,
): NewEvent {
  return {
    type: 'model.retry',
    source: 'gateway',
    data: {
      requestId: request.requestId,
      agentId: request.agent.agentId,
      ...(request.subagent !== undefined && { subagentId: request.subagent }),
      attempt,
      maxRetries,
      delayMs,
      status,
      fault,
      reason,
    },
  };
}

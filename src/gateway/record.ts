import type { NewEvent } from '../events/index.ts';
import { priceUsage } from '../monitor/index.ts';
import type { GatewayRequest, RequestEnd } from './contract.ts';
import type { FaultKind } from './retry.ts';

/** Records events in a session (fire and forget: a lost event is reported, never thrown). */
export type Recorder = (sessionId: string, events: NewEvent[]) => void;

const round = (ms: number) => Math.round(ms * 100) / 100;

/** The `model.request` event of a request that ended: its usage as read from the wire, priced. */
export function requestEvent(
  request: GatewayRequest,
  end: RequestEnd,
  attempt: number,
  fault: FaultKind | undefined,
  queuedMs?: number,
): NewEvent {
  const usage = end.usage;
  const tokens = {
    inputTokens: usage?.inputTokens ?? 0,
    outputTokens: usage?.outputTokens ?? 0,
    cacheReadTokens: usage?.cacheReadTokens ?? 0,
    cacheCreationTokens: usage?.cacheCreationTokens ?? 0,
  };
  const model = usage?.model ?? request.model;
  return {
    type: 'model.request',
    source: 'gateway',
    data: {
      requestId: request.requestId,
      agentId: request.agent.agentId,
      ...(request.subagent !== undefined && { subagentId: request.subagent }),
      model,
      status: end.status,
      ok: end.ok,
      ...tokens,
      costUsd: priceUsage(model, tokens).costUsd,
      ...(end.firstByteMs !== undefined && { firstByteMs: round(end.firstByteMs) }),
      durationMs: round(end.durationMs),
      ...(queuedMs !== undefined && { queuedMs: round(queuedMs) }),
      attempt: Math.max(1, attempt),
      ...(fault !== undefined && { fault }),
      ...(end.error && { error: end.error.toJSON() }),
    },
  };
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

import { hostname } from 'node:os';
import { OrchestratorError } from '../errors/index.ts';
import { newPrefixedId } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import type { Lease, LeaseStore } from '../store/index.ts';
import { pidAlive } from './leases.ts';

/** What a control request asks of a session's owner. */
export type ControlAction = 'cancel' | 'pause' | 'resume' | 'answer';

/** A request to steer a session, from anywhere. */
export interface ControlRequest {
  readonly action: ControlAction;
  readonly reason?: string;
  /** For `answer`: the open question. */
  readonly requestId?: string;
  /** For `answer`: the answer. */
  readonly value?: unknown;
  /** Who asks (`user`, `cli`, `api:<key id>`). @default `user` */
  readonly by?: string;
}

/** What became of a control request recorded for another process. */
export interface ControlReceipt {
  readonly controlId: string;
  /** The live owner that will act on it within a second, or undefined: it is applied on the next resume. */
  readonly owner?: Pick<Lease, 'host' | 'pid' | 'acquiredAt'> | undefined;
}

/**
 * Records a control request in a session's log for its owner, wherever that runs: the owner
 * sees it within its poll interval and acts on it; with no live owner it waits in the log and
 * the next resume applies it. The request is an event like any other, so it is durable and
 * audited, and nobody but the owner ever changes the workflow's state.
 * @throws OrchestratorError `SESSION_NOT_FOUND`, `INVALID_ARGUMENT` (an answer without its question id)
 */
export async function requestControl(
  log: EventLog,
  leases: LeaseStore,
  sessionId: string,
  request: ControlRequest,
): Promise<ControlReceipt> {
  if ((await log.lastSeq(sessionId)) === 0) {
    throw new OrchestratorError('SESSION_NOT_FOUND', `no session "${sessionId}"`, { details: { sessionId } });
  }
  if (request.action === 'answer' && !request.requestId) {
    throw new OrchestratorError('INVALID_ARGUMENT', 'an answer needs the id of the question it answers', {
      details: { field: 'requestId' },
    });
  }
  const controlId = newPrefixedId('ctl');
  await log.append(sessionId, [
    {
      type: 'control.requested',
      source: 'control',
      data: {
        controlId,
        action: request.action,
        by: request.by ?? 'user',
        ...(request.reason !== undefined && { reason: request.reason }),
        ...(request.requestId !== undefined && { requestId: request.requestId }),
        ...(request.action === 'answer' && { value: request.value }),
      },
    },
  ]);
  const lease = await leases.getLease(sessionId);
  const live = lease !== undefined && leaseIsLive(lease);
  return {
    controlId,
    ...(live && { owner: { host: lease.host, pid: lease.pid, acquiredAt: lease.acquiredAt } }),
  };
}

/** A lease some process still holds: not lapsed, and (on this host) its process is alive. */
export function leaseIsLive(lease: Lease): boolean {
  if (Date.parse(lease.expiresAt) <= Date.now()) return false;
  return lease.host !== hostname() || pidAlive(lease.pid);
}

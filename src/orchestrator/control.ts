import { OrchestratorError } from '../errors/index.ts';
import { type AnyEvent, newPrefixedId } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import { parseRule } from '../security/index.ts';
import { type Lease, type LeaseStore, leaseIsLive } from '../store/index.ts';

/** What a control request asks of a session's owner. */
export type ControlAction = 'cancel' | 'pause' | 'resume' | 'answer' | 'grant' | 'revoke';

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
  /** For `grant` and `revoke`: the agent type of the session the rule is for. */
  readonly agentType?: string;
  /** For `grant` and `revoke`: the rule, in Claude Code's syntax (`Bash(git push *)`). */
  readonly rule?: string;
}

/**
 * Checks what a control request needs besides its action: an answer its question id, a grant
 * or revocation its agent type and a well-formed rule.
 * @throws OrchestratorError `INVALID_ARGUMENT`
 */
export function checkControlRequest(request: ControlRequest): void {
  if (request.action === 'answer' && !request.requestId) {
    throw new OrchestratorError('INVALID_ARGUMENT', 'an answer needs the id of the question it answers', {
      details: { field: 'requestId' },
    });
  }
  if (request.action === 'grant' || request.action === 'revoke') {
    if (!request.agentType) {
      throw new OrchestratorError('INVALID_ARGUMENT', `a ${request.action} needs the agent type it is for`, {
        details: { field: 'agentType' },
      });
    }
    const parsed = parseRule(request.rule ?? '');
    if ('problem' in parsed) {
      throw new OrchestratorError('INVALID_ARGUMENT', `cannot ${request.action}: ${parsed.problem}`, {
        details: { field: 'rule', rule: request.rule },
      });
    }
  }
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
 * @throws OrchestratorError `SESSION_NOT_FOUND`, `INVALID_ARGUMENT` (see {@link checkControlRequest})
 */
export async function requestControl(
  log: EventLog,
  leases: LeaseStore,
  sessionId: string,
  request: ControlRequest,
): Promise<ControlReceipt> {
  const { controlId } = await recordControl(log, sessionId, request);
  const lease = await leases.getLease(sessionId);
  const live = lease !== undefined && leaseIsLive(lease);
  return {
    controlId,
    ...(live && { owner: { host: lease.host, pid: lease.pid, acquiredAt: lease.acquiredAt } }),
  };
}

/**
 * Appends a control request to a session's log and returns the committed event, for an owner
 * in this very process to apply at once (its watcher skips the appends of its own process).
 * @throws OrchestratorError `SESSION_NOT_FOUND`, `INVALID_ARGUMENT` (see {@link checkControlRequest})
 */
export async function recordControl(
  log: EventLog,
  sessionId: string,
  request: ControlRequest,
): Promise<{ controlId: string; event: AnyEvent }> {
  if ((await log.lastSeq(sessionId)) === 0) {
    throw new OrchestratorError('SESSION_NOT_FOUND', `no session "${sessionId}"`, { details: { sessionId } });
  }
  checkControlRequest(request);
  const controlId = newPrefixedId('ctl');
  const [event] = await log.append(sessionId, [
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
        ...(request.agentType !== undefined && { agentType: request.agentType }),
        ...(request.rule !== undefined && { rule: request.rule }),
      },
    },
  ]);
  return { controlId, event: event as AnyEvent };
}

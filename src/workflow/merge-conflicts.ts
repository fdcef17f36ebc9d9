import { OrchestratorError } from '../errors/index.ts';
import { normalizeApproval } from './approval.ts';
import type { NodeRunContext } from './plan.ts';

/** The part of a workspace that the end of an isolated node's attempt uses. */
export interface FinishableWorkspace {
  finish(ok: boolean, options?: { onConflict?: 'pause' | 'fail' }): Promise<void>;
}

/**
 * Merges an isolated node's work into the session workspace, following the node's
 * `onConflict` policy, and returns the error that fails the node, if any.
 *
 * With `fail`, a conflict fails the node with `MERGE_CONFLICT` (the workspace keeps the
 * node's branch and worktree). With `pause`, the session asks a human an approval question
 * naming the files, the worktree and the branch; approved, the merge is tried again with what
 * the human did (in the worktree or in the workspace), and a new conflict asks again; rejected,
 * or approved with nothing of the conflict resolved (as an unattended run's automatic approval
 * is), the node fails with `MERGE_CONFLICT`. The question is an ordinary durable one of the
 * attempt (tagged with the node's agent): a stop while it is open withdraws it and keeps the
 * worktree, whose merge the node's next attempt takes up (`NodeState.earlierResult`).
 * @throws OrchestratorError `NODE_INTERRUPTED` when the node is stopped while the question is open
 */
export async function finishIsolated(
  context: NodeRunContext,
  workspace: FinishableWorkspace,
  agentId: string,
): Promise<OrchestratorError | undefined> {
  const policy = context.node.onConflict;
  let approved = false;
  for (;;) {
    try {
      await workspace.finish(true, { onConflict: policy });
      return undefined;
    } catch (error) {
      const failure = asWorkspaceError(error);
      if (failure.code !== 'MERGE_CONFLICT' || policy === 'fail') return failure;
      if (approved && failure.details.unchanged === true) {
        return withReason(failure, 'approved, but nothing of the conflict was resolved');
      }
      const answer = normalizeApproval(
        await context.requestInput('approval', conflictQuestion(context.node.id, failure), { agentId }),
      );
      if (!answer.approved) return withReason(failure, `not approved${answer.comment ? `: ${answer.comment}` : ''}`);
      approved = true;
    }
  }
}

/** Any failure of a workspace operation, as the project's error. */
export function asWorkspaceError(error: unknown): OrchestratorError {
  return error instanceof OrchestratorError ? error : new OrchestratorError('WORKSPACE_FAILED', String(error));
}

/** The question a merge conflict asks: what conflicts, where the work is, what to do. */
export function conflictQuestion(nodeId: string, conflict: OrchestratorError): string {
  const details = conflict.details;
  const files = Array.isArray(details.files) ? details.files.join(', ') : '(unknown files)';
  return [
    `The changes of node "${nodeId}" conflict with the session workspace in: ${files}.`,
    `Its work is kept on branch ${String(details.branch)} of the session's history repository ${String(details.repository)}, and in its worktree ${String(details.worktree)}, where the merge with the workspace waits with conflict markers (HEAD: the node's side).`,
    `Resolve it there (edit or \`git add\` the files), or make the workspace's files what they should be; then approve to merge again. Reject to fail the node (its branch and worktree stay).`,
  ].join('\n');
}

function withReason(conflict: OrchestratorError, reason: string): OrchestratorError {
  return new OrchestratorError('MERGE_CONFLICT', `${conflict.message} (${reason})`, {
    details: conflict.details,
    cause: conflict,
  });
}

import { describe, expect, it } from 'vitest';
import { OrchestratorError } from '../../../src/errors/index.ts';
import type { NodeRunContext } from '../../../src/workflow/index.ts';
// Internal on purpose: the policy loop is tested apart from git and agents.
import { finishIsolated } from '../../../src/workflow/merge-conflicts.ts';

const conflict = (unchanged: boolean) =>
  new OrchestratorError('MERGE_CONFLICT', 'changes of b-1 conflict with the session workspace in: shared.txt', {
    details: {
      files: ['shared.txt'],
      branch: 'orchestrator/s/b-1',
      worktree: '/wt/b-1',
      repository: '/h.git',
      unchanged,
    },
  });

/** A workspace whose merges end as listed (an error, or success), and a context answering as listed. */
function setup(policy: 'pause' | 'fail', merges: Array<OrchestratorError | undefined>, answers: unknown[]) {
  const finishes: Array<{ ok: boolean; onConflict: string | undefined }> = [];
  const questions: Array<{ kind: string; prompt: string; agentId: string | undefined }> = [];
  const workspace = {
    finish: async (ok: boolean, options?: { onConflict?: 'pause' | 'fail' }) => {
      finishes.push({ ok, onConflict: options?.onConflict });
      const error = merges.shift();
      if (error) throw error;
    },
  };
  const context = {
    node: { id: 'b', onConflict: policy },
    requestInput: async (kind: string, prompt: string, options?: { agentId?: string }) => {
      questions.push({ kind, prompt, agentId: options?.agentId });
      return answers.shift();
    },
  } as unknown as NodeRunContext;
  return { run: () => finishIsolated(context, workspace, 'agt_b'), finishes, questions };
}

describe('finishing an isolated node by its onConflict policy', () => {
  it('fail: the conflict fails the node at once, asking nobody', async () => {
    const { run, finishes, questions } = setup('fail', [conflict(false)], []);
    expect((await run())?.code).toBe('MERGE_CONFLICT');
    expect(finishes).toEqual([{ ok: true, onConflict: 'fail' }]);
    expect(questions).toEqual([]);
  });

  it('pause: asks an approval naming the files and places, merges again once approved, and asks again on a new conflict', async () => {
    const { run, finishes, questions } = setup(
      'pause',
      [conflict(false), conflict(false), undefined],
      [{ approved: true }, 'yes'],
    );
    expect(await run()).toBeUndefined();
    expect(finishes).toHaveLength(3);
    expect(questions).toHaveLength(2);
    expect(questions[0]).toMatchObject({ kind: 'approval', agentId: 'agt_b' });
    for (const text of ['"b"', 'in: shared.txt', 'orchestrator/s/b-1', '/wt/b-1', '/h.git']) {
      expect(questions[0]?.prompt).toContain(text);
    }
  });

  it('pause: a rejection, or an approval that resolved nothing, fails the node with MERGE_CONFLICT', async () => {
    const rejected = setup('pause', [conflict(false)], [{ approved: false, comment: 'later' }]);
    const failure = await rejected.run();
    expect(failure?.code).toBe('MERGE_CONFLICT');
    expect(failure?.message).toContain('not approved: later');
    expect(failure?.details.worktree).toBe('/wt/b-1');

    // An unattended run approves everything: the loop ends at the first unchanged conflict.
    const idle = setup('pause', [conflict(false), conflict(true)], [{ approved: true }]);
    expect((await idle.run())?.message).toContain('approved, but nothing of the conflict was resolved');
    expect(idle.questions).toHaveLength(1);

    // An unchanged conflict found before any answer (a resumed attempt) is asked about.
    const resumed = setup('pause', [conflict(true), undefined], [{ approved: true }]);
    expect(await resumed.run()).toBeUndefined();
    expect(resumed.questions).toHaveLength(1);
  });

  it('any other failure of the merge fails the node as it is', async () => {
    const broken = new OrchestratorError('WORKSPACE_FAILED', 'git broke');
    const { run, questions } = setup('pause', [broken], []);
    expect(await run()).toBe(broken);
    expect(questions).toEqual([]);
  });
});

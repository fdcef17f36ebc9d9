import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIRST_MS_PER_CHUNK } from '../../src/sessions/cut-budget.ts';
import { AutoVersions, CutBudget, SessionVersions } from '../../src/sessions/index.ts';
import type { OrchestratorStore } from '../../src/store/index.ts';
import { emptySessionState } from '../../src/workflow/index.ts';
import { type EngineKit, startEngineKit } from '../support/engine-kit.ts';

// The follower's cuts through the real log and store, against a budget given to it (the
// launcher shares one among all runs): a version put off by the budget is still taken at the
// follower's stop, and what that last, whole cut took is charged to the budget.

let kit: EngineKit;
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(() => kit.cleanup());

describe('a follower on a shared budget', () => {
  it('puts off the whole cut of a large state, takes it at stop, and charges the budget with it', async () => {
    const sessionId = kit.session();
    const versions = new SessionVersions(kit.log, kit.store as OrchestratorStore);
    const budget = new CutBudget(performance.now());
    const follower = AutoVersions.start({ log: kit.log, versions, state: emptySessionState(sessionId), budget });
    const definition = { name: 'big', nodes: Array.from({ length: 5000 }, (_, i) => ({ id: `n${i}`, task: 't' })) };
    await kit.log.append(sessionId, [
      { type: 'workflow.started', data: { workflowId: 'wf_1', name: 'big', definition } },
      { type: 'node.completed', data: { workflowId: 'wf_1', nodeId: 'n0', output: 1 } },
    ]);
    // Due after the node, but a whole cut of 5,000 nodes is not paid for yet: none is taken.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(follower.taken).toBe(0);
    expect(await versions.list(sessionId)).toEqual([]);
    const before = budget.available(performance.now());

    await follower.stop({ final: true, untilSeq: await kit.log.lastSeq(sessionId) });
    expect(follower.taken).toBe(1);
    const [version] = await versions.list(sessionId);
    expect(version?.seq).toBe(2);
    // Charged: the budget is short of what it was by the cut, and it learned a cost per chunk
    // from it (a cut of 5,000 chunks), no longer its first guess.
    expect(budget.available(performance.now())).toBeLessThan(before);
    expect(budget.estimate(1000)).not.toBe(1000 * FIRST_MS_PER_CHUNK);
  });
});

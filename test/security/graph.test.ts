import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../src/events/index.ts';
import { inputDigest } from '../../src/security/index.ts';
import type { PlanFunctions } from '../../src/workflow/index.ts';
import {
  deferred,
  type EngineKit,
  type EngineRun,
  startEngineKit,
  statuses,
  testWorkflow,
  until,
} from '../support/engine-kit.ts';
import { caseReport, errorOf } from './report.ts';

// Agents changing their workflow's graph (`WorkflowRun.addNodes`/`skipNodes` with `by` =
// `agent:<id>`, the path of the orchestrator's add_nodes/skip_nodes tools): human and approval
// nodes are protected, every agent is held to its type's graph policy, every refusal is a
// MODIFICATION_REJECTED error and a `security.decision` event, and the approval is still asked.

let kit: EngineKit;
const report = caseReport('graph');
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(async () => {
  report.print();
  await kit.cleanup();
});

const agents = {
  lead: { canModifyWorkflow: true },
  coder: {},
  limited: {
    canModifyWorkflow: true,
    graph: { addNodes: { agents: ['fn'], maxPerCall: 2, maxPerRun: 3 }, skipNodes: false },
  },
};

/** a (held) -> build -> approve (approval) -> deploy (none_failed); a -> ask (human); a -> docs. */
const flow = testWorkflow({
  agents,
  onFailure: 'continue',
  nodes: [
    { id: 'a' },
    { id: 'build', dependsOn: ['a'] },
    { id: 'approve', kind: 'approval', prompt: 'Ship it?', dependsOn: ['build'] },
    { id: 'deploy', dependsOn: ['approve'], trigger: 'none_failed' },
    { id: 'ask', kind: 'human', prompt: 'Anything to add?', dependsOn: ['a'] },
    { id: 'docs', dependsOn: ['a'] },
  ],
});

const run = (ids: string[]): PlanFunctions => Object.fromEntries(ids.map((id) => [id, () => id.toUpperCase()]));
const NODES = ['a', 'build', 'deploy', 'docs', 'x', 'y', 'fix'];

/** A run whose first node is held until `release`, so everything else is pending. */
async function held(): Promise<EngineRun & { release(): void; done: Promise<unknown> }> {
  const gate = deferred();
  const started = await kit.start(flow, { functions: { ...run(NODES), a: () => gate.promise.then(() => 'A') } });
  const done = started.run.run();
  await until(() => started.wf.nodes.a?.status === 'running');
  return { ...started, release: () => gate.resolve(), done };
}

const decisions = (events: AnyEvent[]) =>
  events.filter((e) => e.type === 'security.decision').map((e) => e.data as Record<string, unknown>);

/** Answers every open question (approvals approved) until the run ends. */
async function answerAll(started: EngineRun, done: Promise<unknown>): Promise<void> {
  let ended = false;
  void done.finally(() => {
    ended = true;
  });
  while (!ended) {
    for (const request of Object.values(started.wf.inputRequests)) {
      const value = request.kind === 'approval' ? { approved: true } : 'nothing';
      await started.run.answer(request.requestId, value, 'alice').catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('protected human and approval nodes', () => {
  const refusals: Array<[string, string[], string, RegExp]> = [
    ['the approval itself', ['approve'], 'protected', /approval node: only a person may decide it/],
    ['the human node', ['ask'], 'protected', /human node/],
    ['the node before the approval (its skip would skip it)', ['build'], 'protected', /would skip approval node/],
    ['an approval among allowed nodes', ['docs', 'approve'], 'protected', /approval node/],
  ];
  it.each(refusals)('an agent cannot skip %s', async (name, ids, rule, message) => {
    const started = await held();
    const error = await errorOf(() => started.run.skipNodes(ids, 'not needed', 'agent:agt_1', { agentType: 'lead' }));
    expect(error).toMatchObject({ code: 'MODIFICATION_REJECTED', message: expect.stringMatching(message) });
    expect(started.wf.nodes.approve?.status).toBe('pending');
    started.release();
    await answerAll(started, started.done);
    const final = await started.done;
    const events = await kit.events(started.sessionId);
    // The approval was asked and answered by a person: it was never skipped.
    expect(events.some((e) => e.type === 'input.requested' && e.data.nodeId === 'approve')).toBe(true);
    expect(statuses(final as never)).toMatchObject({ approve: 'completed', deploy: 'completed', ask: 'completed' });
    expect(events.some((e) => e.type === 'workflow.modified')).toBe(false);
    expect(decisions(events)).toEqual([
      {
        workflowId: started.workflowId,
        agentId: 'agt_1',
        tool: 'mcp__orchestrator__skip_nodes',
        decision: 'deny',
        by: 'policy',
        rule,
        reason: expect.stringMatching(message),
        inputDigest: inputDigest({ ids, reason: 'not needed' }),
      },
    ]);
    report.note(`skip ${name}`, 'refused', error.message);
  });

  it('an agent may skip an agent node whose skip reaches no protected node, and it is audited', async () => {
    const started = await held();
    await started.run.skipNodes(['docs'], 'covered', 'agent:agt_1', { agentType: 'lead' });
    expect(started.wf.nodes.docs?.status).toBe('skipped');
    started.release();
    await answerAll(started, started.done);
    const events = await kit.events(started.sessionId);
    expect(decisions(events)).toMatchObject([{ decision: 'allow', rule: 'graph.skipNodes' }]);
    expect(events.find((e) => e.type === 'workflow.modified')?.data).toMatchObject({ agentType: 'lead' });
    report.note('skip an agent node off the approval path', 'allowed (audited)');
  });

  it('inserting a node before the approval keeps its dependencies, and skipping that node is refused', async () => {
    const started = await held();
    const fix = { id: 'fix', agent: 'fn', task: 'fix it', dependsOn: ['a'], requiredBy: ['approve'] };
    await started.run.addNodes([fix], 'agent:agt_1', { agentType: 'lead' });
    expect(started.run.plan.node('approve')?.dependsOn).toEqual(['build', 'fix']);
    const error = await errorOf(() => started.run.skipNodes(['fix'], 'x', 'agent:agt_1', { agentType: 'lead' }));
    expect(error.message).toMatch(/skipping 'fix' would skip approval node 'approve'/);
    report.note('insert before the approval, then skip the inserted node', 'refused', error.message);
    started.release();
    await answerAll(started, started.done);
    expect(statuses((await started.done) as never)).toMatchObject({ fix: 'completed', approve: 'completed' });
  });

  it('an operator may still skip what it wants (trusted)', async () => {
    const started = await held();
    await started.run.skipNodes(['approve'], 'decided elsewhere', 'user');
    expect(started.wf.nodes.approve?.status).toBe('skipped');
    started.release();
    await answerAll(started, started.done);
    expect(decisions(await kit.events(started.sessionId))).toEqual([]);
  });
});

describe('graph policies per agent type', () => {
  const node = (id: string, extra: Record<string, unknown> = {}) => ({ id, agent: 'fn', task: `do ${id}`, ...extra });
  const cases: Array<[string, string, () => unknown[], string, RegExp]> = [
    ['a type that may not change the workflow', 'coder', () => [node('x')], 'canModifyWorkflow', /may not change/],
    [
      'an approval node (kinds: agent)',
      'lead',
      () => [{ id: 'x', kind: 'approval', prompt: 'ok?' }],
      'graph.addNodes.kinds',
      /not approval/,
    ],
    [
      'a node in its own worktree (an operator field)',
      'lead',
      () => [node('x', { workspace: 'isolated' })],
      'graph.addNodes.fields',
      /may not set workspace/,
    ],
    [
      'a compensation (an operator field)',
      'lead',
      () => [node('x', { compensation: { task: 'undo', agent: 'coder' } })],
      'graph.addNodes.fields',
      /compensation/,
    ],
    [
      'a node for an agent type not allowed',
      'limited',
      () => [node('x', { agent: 'lead' })],
      'graph.addNodes.agents',
      /not 'lead'/,
    ],
    [
      'more nodes in a call than allowed',
      'limited',
      () => [node('x'), node('y'), node('z')],
      'graph.addNodes.maxPerCall',
      /3 nodes in one call/,
    ],
    [
      'thousands of nodes in one call',
      'lead',
      () => Array.from({ length: 5000 }, (_, i) => node(`n${i}`)),
      'graph.addNodes.maxPerCall',
      /5000 nodes in one call/,
    ],
    [
      'a node that names an unknown dependency',
      'lead',
      () => [node('x', { dependsOn: ['../../etc'] })],
      'definition',
      /the change is invalid/,
    ],
    ['a node whose id is a path', 'lead', () => [node('../../x')], 'definition', /the change is invalid/],
  ];
  it.each(cases)('refuses %s', async (name, agentType, nodes, rule, message) => {
    const started = await held();
    const error = await errorOf(() => started.run.addNodes(nodes(), 'agent:agt_2', { agentType }));
    expect(error).toMatchObject({ code: 'MODIFICATION_REJECTED', message: expect.stringMatching(message) });
    expect(started.run.plan.node('x')).toBeUndefined();
    started.release();
    await answerAll(started, started.done);
    const events = await kit.events(started.sessionId);
    expect(decisions(events)).toMatchObject([{ decision: 'deny', rule, agentId: 'agt_2' }]);
    expect(events.some((e) => e.type === 'workflow.modified')).toBe(false);
    report.note(`add ${name}`, 'refused', error.message);
  });

  it('counts what a type added over the run (maxPerRun), also after a restart', async () => {
    const started = await held();
    await started.run.addNodes([node('x')], 'agent:agt_3', { agentType: 'limited' });
    await started.run.addNodes([node('y')], 'agent:agt_4', { agentType: 'limited' });
    const error = await errorOf(() =>
      started.run.addNodes([node('p'), node('q')], 'agent:agt_3', { agentType: 'limited' }),
    );
    expect(error.message).toMatch(/added 2 node\(s\) in this run; 2 more would pass their limit of 3/);
    expect(started.wf.addedBy).toEqual({ limited: 2 });
    report.note('add past maxPerRun', 'refused', error.message);
    started.release();
    await answerAll(started, started.done);
    // The count is in the log: a replay (a resumed run) sees it.
    const replayed = await kit.replay(started.sessionId);
    expect(replayed.workflows[started.workflowId]?.addedBy).toEqual({ limited: 2 });
  });
});

describe('growth of the graph', () => {
  it('an agent adding thousands of nodes one by one is refused at the workflow limit, fast', async () => {
    const growth = testWorkflow({
      agents: { lead: { canModifyWorkflow: true, graph: { addNodes: { maxPerCall: 1000, maxPerRun: 10_000 } } } },
      limits: { maxNodes: 10_000, maxAddedNodes: 100 },
      nodes: [{ id: 'a' }],
    });
    const gate = deferred();
    const started = await kit.start(growth, { functions: { a: () => gate.promise } });
    const done = started.run.run();
    await until(() => started.wf.nodes.a?.status === 'running');
    const t0 = performance.now();
    let refused: { message: string } | undefined;
    let added = 0;
    for (let i = 0; i < 2000 && !refused; i++) {
      try {
        await started.run.addNodes([{ id: `n${i}`, agent: 'fn', task: 'more', dependsOn: ['a'] }], 'agent:agt_5', {
          agentType: 'lead',
        });
        added++;
      } catch (error) {
        refused = error as { message: string };
      }
    }
    const ms = performance.now() - t0;
    expect(added).toBe(100);
    expect(refused?.message).toMatch(
      /100 node\(s\) were added in this run; 1 more would pass .* \(limits\.maxAddedNodes\)/,
    );
    expect(ms).toBeLessThan(5000);
    report.note(
      `add 1 node at a time until refused (${added} added in ${Math.round(ms)} ms)`,
      'refused',
      refused?.message,
    );
    started.run.cancel('enough');
    gate.resolve();
    await done;
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorError } from '../../../src/errors/index.ts';
import type { NodeExecutor, WorkflowState } from '../../../src/workflow/index.ts';
import { type EngineKit, startEngineKit, testWorkflow, trace, until } from '../../support/engine-kit.ts';

let kit: EngineKit;
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(() => kit.cleanup());

interface Compensation {
  nodeId: string;
  task: string;
  agent: string | undefined;
  workflowStatus: string | undefined;
}

/** An agent executor that records the compensation tasks it is given instead of running a model. */
function recordingAgent(seen: Compensation[], wf: () => WorkflowState | undefined, failFor?: string): NodeExecutor {
  return {
    external: true,
    async run(context) {
      seen.push({
        nodeId: context.node.id,
        task: context.task,
        agent: context.node.agent,
        workflowStatus: wf()?.status,
      });
      if (context.node.id === failFor)
        return { ok: false, error: new OrchestratorError('AGENT_FAILED', 'undo failed') };
      return { ok: true, output: 'undone' };
    },
  };
}

const workflow = testWorkflow({
  rollback: true,
  agents: { undoer: {} },
  nodes: [
    { id: 'first', compensation: 'undo {{ nodes.first.output }}' },
    { id: 'slow', dependsOn: ['first'], compensation: { task: 'revert {{ nodes.slow.output }}', agent: 'undoer' } },
    { id: 'quick', dependsOn: ['first'], compensation: 'drop {{ nodes.quick.output }}' },
    { id: 'plain', dependsOn: ['first'] },
    { id: 'breaks', dependsOn: ['slow', 'quick', 'plain'] },
  ],
});

function functions(wf: () => WorkflowState | undefined) {
  return {
    first: () => 'F',
    // Completes after quick, so completion order differs from file order.
    slow: async () => {
      await until(() => wf()?.nodes.quick?.status === 'completed');
      return 'S';
    },
    quick: () => 'Q',
    plain: () => 'P',
    breaks: () => {
      throw new OrchestratorError('AGENT_FAILED', 'broken');
    },
  };
}

describe('rollback', () => {
  it('runs compensations newest completion first while rolling_back, then fails with rolledBack', async () => {
    const seen: Compensation[] = [];
    let wf: WorkflowState | undefined;
    const started = await kit.start(workflow, {
      functions: functions(() => wf),
      executors: { agent: recordingAgent(seen, () => wf) },
    });
    wf = started.wf;
    const final = await started.run.run();
    expect(final.status).toBe('failed');
    expect(seen).toEqual([
      { nodeId: 'slow', task: 'revert S', agent: 'undoer', workflowStatus: 'rolling_back' },
      { nodeId: 'quick', task: 'drop Q', agent: 'fn', workflowStatus: 'rolling_back' },
      { nodeId: 'first', task: 'undo F', agent: 'fn', workflowStatus: 'rolling_back' },
    ]);
    expect(final.nodes.slow?.compensated).toBe(true);
    expect(final.nodes.plain?.compensated).toBeUndefined();
    const events = await kit.events(started.sessionId);
    // Each compensation is recorded as intent and outcome, so a resume knows what is done.
    expect(trace(events).slice(-8)).toEqual([
      'workflow.rolling_back',
      'node.compensating:slow',
      'node.compensated:slow',
      'node.compensating:quick',
      'node.compensated:quick',
      'node.compensating:first',
      'node.compensated:first',
      'workflow.completed',
    ]);
    expect(events.at(-1)?.data).toMatchObject({ status: 'failed', rolledBack: true, error: { code: 'AGENT_FAILED' } });
  });

  it('records a failed compensation and still runs the others', async () => {
    const seen: Compensation[] = [];
    let wf: WorkflowState | undefined;
    const started = await kit.start(workflow, {
      functions: functions(() => wf),
      executors: { agent: recordingAgent(seen, () => wf, 'quick') },
    });
    wf = started.wf;
    const final = await started.run.run();
    expect(seen.map((c) => c.nodeId)).toEqual(['slow', 'quick', 'first']);
    expect(final.nodes.quick?.compensated).toBe(false);
    expect(final.nodes.first?.compensated).toBe(true);
    const quick = (await kit.events(started.sessionId)).find(
      (e) => e.type === 'node.compensated' && e.data.nodeId === 'quick',
    );
    expect(quick?.data).toMatchObject({ ok: false, error: { code: 'AGENT_FAILED', message: 'undo failed' } });
  });

  it('does not roll back a run that succeeds', async () => {
    const seen: Compensation[] = [];
    const ok = testWorkflow({ rollback: true, nodes: [{ id: 'a', compensation: 'undo' }] });
    const { run, sessionId } = await kit.start(ok, {
      functions: { a: () => 'A' },
      executors: { agent: recordingAgent(seen, () => undefined) },
    });
    expect((await run.run()).status).toBe('completed');
    expect(seen).toEqual([]);
    expect(trace(await kit.events(sessionId))).not.toContain('workflow.rolling_back');
  });

  it('after a restart, compensates in completion order even when completions share a timestamp', async () => {
    // Listed before the node it depends on, so file order is the reverse of completion order.
    const flow = testWorkflow({
      rollback: true,
      nodes: [
        { id: 'late', dependsOn: ['early'], compensation: 'undo late' },
        { id: 'early', compensation: 'undo early' },
        { id: 'breaks', dependsOn: ['late'] },
      ],
    });
    const sessionId = kit.session();
    const ts = new Date().toISOString();
    const workflowId = 'wf_tie';
    const node = (type: 'node.started' | 'node.completed', nodeId: string) =>
      ({
        type,
        ts,
        data: { workflowId, nodeId, attempt: 1, ...(type === 'node.completed' && { output: nodeId }) },
      }) as const;
    await kit.log.append(sessionId, [
      { type: 'session.created', data: {} },
      { type: 'workflow.started', data: { workflowId, name: flow.name, definition: flow.definition } },
      node('node.started', 'early'),
      node('node.completed', 'early'),
      node('node.started', 'late'),
      node('node.completed', 'late'),
    ]);
    const seen: Compensation[] = [];
    const resumed = await kit.resume(sessionId, {
      functions: {
        breaks: () => {
          throw new OrchestratorError('AGENT_FAILED', 'broken');
        },
      },
      executors: { agent: recordingAgent(seen, () => undefined) },
    });
    expect((await resumed.run.run()).status).toBe('failed');
    expect(seen.map((c) => c.task)).toEqual(['undo late', 'undo early']);
  });
});

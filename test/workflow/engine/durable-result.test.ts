import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorError } from '../../../src/errors/index.ts';
import type { NodeExecutor, NodeOutcome, NodeRunContext } from '../../../src/workflow/index.ts';
import {
  type EngineKit,
  indexOfEvent,
  startEngineKit,
  testWorkflow,
  trace,
  untilAborted,
} from '../../support/engine-kit.ts';

let kit: EngineKit;
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(() => kit.cleanup());

// `work` is an agent node; `after` reads its output.
const workflow = testWorkflow({ nodes: [{ id: 'work' }, { id: 'after', dependsOn: ['work'] }] });
const functions = { after: ({ nodes }: { nodes: NodeRunContext['nodes'] }) => `after ${String(nodes.work?.output)}` };

type Recover = NonNullable<NodeExecutor['recover']>;

/** An agent executor counting its calls; `run` returns `output` (or waits for its stop when `block`). */
function agents(options: { block?: boolean; output?: unknown; recover?: Recover } = {}) {
  const calls = { run: 0, recover: [] as Array<{ nodeId: string; attempt: number; result: unknown }> };
  const executor: NodeExecutor = {
    external: true,
    async run(context) {
      calls.run++;
      if (options.block) await untilAborted(context.signal);
      return { ok: true, output: options.output ?? 'paid again' };
    },
    ...(options.recover && {
      recover: (context: NodeRunContext, result: Parameters<Recover>[1]): Promise<NodeOutcome> => {
        calls.recover.push({ nodeId: context.node.id, attempt: context.attempt, result });
        return (options.recover as Recover)(context, result);
      },
    }),
  };
  return { executor, calls };
}

/**
 * A process that dies while `work` runs, after its agent's result became durable: the agent's
 * events reach the log (the agent runtime writes them itself), the node's completion does not.
 */
async function crashAfterAgentResult(output: unknown): Promise<{ sessionId: string; workflowId: string }> {
  const process = kit.process({ killAfter: (event) => event.type === 'node.started' });
  const first = agents({ block: true });
  const { run, sessionId, workflowId } = await kit.start(workflow, {
    functions,
    executors: { agent: first.executor },
    log: process.log,
  });
  void run.run();
  await process.dead;
  await kit.log.append(sessionId, [
    { type: 'agent.spawned', data: { agentId: 'agt_done', agentType: 'fn', nodeId: 'work', workflowId } },
    { type: 'agent.completed', data: { agentId: 'agt_done', output } },
  ]);
  return { sessionId, workflowId };
}

describe('a durable agent result survives the crash', () => {
  it('completes the node with the recorded output, without calling the executor again', async () => {
    const { sessionId } = await crashAfterAgentResult({ answer: 42 });
    const second = agents();
    const resumed = await kit.resume(sessionId, { functions, executors: { agent: second.executor } });
    expect(resumed.wf.nodes.work).toMatchObject({
      status: 'running',
      agentResult: { agentId: 'agt_done', output: { answer: 42 } },
    });
    const final = await resumed.run.run();
    expect(final.status).toBe('completed');
    expect(second.calls.run).toBe(0);
    expect(final.nodes.work).toMatchObject({ status: 'completed', output: { answer: 42 }, attempts: 1 });
    expect(final.nodes.work?.interruptions).toBe(0);
    expect(final.nodes.after?.output).toBe('after [object Object]');
    const events = await kit.events(sessionId);
    expect(trace(events, ['node.started', 'node.interrupted', 'node.completed'])).toEqual([
      'node.started:work',
      'node.completed:work',
      'node.started:after',
      'node.completed:after',
    ]);
    expect(events[indexOfEvent(events, 'node.completed', 'work')]?.data).toMatchObject({ attempt: 1 });
  });

  it("hands the result to the executor's recover hook once, and completes with what it returns", async () => {
    const { sessionId } = await crashAfterAgentResult('the answer');
    const second = agents({
      recover: async (_context, result) => ({ ok: true, output: `merged: ${String(result.output)}` }),
    });
    const resumed = await kit.resume(sessionId, { functions, executors: { agent: second.executor } });
    const final = await resumed.run.run();
    expect(second.calls.run).toBe(0);
    expect(second.calls.recover).toEqual([
      { nodeId: 'work', attempt: 1, result: { agentId: 'agt_done', output: 'the answer' } },
    ]);
    expect(final.nodes.work).toMatchObject({ status: 'completed', output: 'merged: the answer' });
    expect(final.nodes.after?.output).toBe('after merged: the answer');
  });

  it('runs the work again when recover says the attempt is lost (NODE_INTERRUPTED), without using a retry', async () => {
    const { sessionId } = await crashAfterAgentResult('lost with its worktree');
    const second = agents({
      output: 'done again',
      recover: async (context, result) => ({
        ok: false,
        agentId: result.agentId,
        error: new OrchestratorError('NODE_INTERRUPTED', `the worktree of "${context.node.id}" is gone`),
      }),
    });
    const resumed = await kit.resume(sessionId, { functions, executors: { agent: second.executor } });
    const final = await resumed.run.run();
    expect(second.calls.recover).toHaveLength(1);
    expect(second.calls.run).toBe(1);
    expect(final.status).toBe('completed');
    // The default policy has one attempt: the lost one was the crash's, not the node's.
    expect(final.nodes.work).toMatchObject({
      status: 'completed',
      output: 'done again',
      attempts: 2,
      interruptions: 1,
    });
    const events = await kit.events(sessionId);
    expect(events.find((e) => e.type === 'node.interrupted')?.data).toMatchObject({
      nodeId: 'work',
      attempt: 1,
      reason: 'the worktree of "work" is gone',
    });
  });

  it("does not reuse an earlier attempt's agent result once a new attempt started", async () => {
    // Attempt 1's agent finished but its output was refused (the node failed, to be retried);
    // attempt 2 started, then the process died: attempt 2's work has no result yet.
    const sessionId = kit.session();
    const workflowId = 'wf_stale';
    const retrying = testWorkflow({
      nodes: [
        { id: 'work', retry: { attempts: 2, backoff: { initial: 1, max: 1 } } },
        { id: 'after', dependsOn: ['work'] },
      ],
    });
    const error = { code: 'OUTPUT_INVALID', message: 'not what the schema says', retryable: true };
    await kit.log.append(sessionId, [
      { type: 'session.created', data: {} },
      { type: 'workflow.started', data: { workflowId, name: retrying.name, definition: retrying.definition } },
      { type: 'node.started', data: { workflowId, nodeId: 'work', attempt: 1 } },
      { type: 'agent.spawned', data: { agentId: 'agt_1', agentType: 'fn', nodeId: 'work', workflowId } },
      { type: 'agent.completed', data: { agentId: 'agt_1', output: 'refused' } },
      { type: 'node.failed', data: { workflowId, nodeId: 'work', attempt: 1, error, willRetry: true, retryInMs: 1 } },
      { type: 'node.started', data: { workflowId, nodeId: 'work', attempt: 2 } },
    ]);
    const second = agents({ output: 'fresh' });
    const resumed = await kit.resume(sessionId, { functions, executors: { agent: second.executor } });
    expect(resumed.wf.nodes.work?.agentResult).toBeUndefined();
    const final = await resumed.run.run();
    expect(second.calls.run).toBe(1);
    expect(final.nodes.work).toMatchObject({ status: 'completed', output: 'fresh', attempts: 3, interruptions: 1 });
  });
});

describe('the durable result of an interrupted attempt', () => {
  it('is carried to the attempts after it (for an isolated node to finish its merge), until one fails or completes', async () => {
    const sessionId = 'ses_earlier_result';
    const workflowId = 'wf_earlier';
    const interrupted = (attempt: number) =>
      ({
        type: 'node.interrupted',
        data: { workflowId, nodeId: 'work', attempt, reason: 'interrupted by pause' },
      }) as const;
    const started = (attempt: number) =>
      ({ type: 'node.started', data: { workflowId, nodeId: 'work', attempt } }) as const;
    await kit.log.append(sessionId, [
      { type: 'session.created', data: {} },
      { type: 'workflow.started', data: { workflowId, name: workflow.name, definition: workflow.definition } },
      started(1),
      { type: 'agent.spawned', data: { agentId: 'agt_1', agentType: 'fn', nodeId: 'work', workflowId } },
      { type: 'agent.completed', data: { agentId: 'agt_1', output: 'merged later' } },
      // The merge-conflict question, withdrawn by a pause.
      {
        type: 'input.requested',
        data: {
          workflowId,
          requestId: 'req_1',
          nodeId: 'work',
          kind: 'approval',
          prompt: '?',
          attempt: 1,
          agentId: 'agt_1',
        },
      },
      {
        type: 'input.closed',
        data: { workflowId, requestId: 'req_1', nodeId: 'work', reason: 'the node was interrupted' },
      },
      interrupted(1),
      started(2),
    ]);
    const earlier = { agentId: 'agt_1', output: 'merged later', attempt: 1 };
    expect((await kit.replay(sessionId)).workflows[workflowId]?.nodes.work?.earlierResult).toEqual(earlier);
    await kit.log.append(sessionId, [interrupted(2), started(3)]);
    expect((await kit.replay(sessionId)).workflows[workflowId]?.nodes.work?.earlierResult).toEqual(earlier);
    const error = { code: 'MERGE_CONFLICT', message: 'rejected', retryable: false };
    await kit.log.append(sessionId, [
      { type: 'node.failed', data: { workflowId, nodeId: 'work', attempt: 3, error, willRetry: true, retryInMs: 1 } },
      started(4),
    ]);
    expect((await kit.replay(sessionId)).workflows[workflowId]?.nodes.work?.earlierResult).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { OrchestratorError } from '../../../src/errors/index.ts';
import {
  answerForAttempt,
  compensationOrder,
  decideControl,
  decideFailure,
  decideOutcome,
  decideReady,
  decideRecovered,
  decideRecovery,
  finalStatus,
  firstFailure,
  interruptedTooOften,
  MAX_INTERRUPTIONS,
  openRequestsOf,
  type StopReason,
} from '../../../src/workflow/decide.ts';
import {
  type NodeContext,
  type NodeOutcome,
  type NodeState,
  type PendingControl,
  type PlanNode,
  planFromCompiled,
  retryDelayMs,
  type WorkflowState,
} from '../../../src/workflow/index.ts';
import { testWorkflow } from '../../support/engine-kit.ts';

// Plain data only: the decisions read no clock, no log, no executor.

const plan = planFromCompiled(
  testWorkflow({
    nodes: [
      { id: 'a', compensation: 'undo a' },
      { id: 'b', dependsOn: ['a'], compensation: 'undo b' },
      { id: 'c', dependsOn: ['a'], condition: "nodes.a.output == 'go'", compensation: 'undo c' },
      { id: 'd', dependsOn: ['a'], trigger: 'all_done' },
      { id: 'e', dependsOn: ['a'], condition: 'nodes.a.output > 3' },
      { id: 'ask', kind: 'human', prompt: 'why?' },
      { id: 'ok', kind: 'approval', prompt: 'ship?', retry: { attempts: 2, on: ['APPROVAL_REJECTED'] } },
      {
        id: 'r',
        timeout: 50,
        retry: { attempts: 3, backoff: { initial: 100, max: 1000, factor: 3 }, on: ['transient'] },
      },
    ],
  }),
);
const planNode = (id: string) => plan.node(id) as PlanNode;

function nodeState(id: string, fields: Partial<NodeState> = {}): NodeState {
  return { id, status: 'pending', attempts: 0, interruptions: 0, ...fields };
}

function workflow(nodes: NodeState[], fields: Partial<WorkflowState> = {}): WorkflowState {
  return {
    workflowId: 'wf_1',
    name: 'test',
    status: 'running',
    definition: {},
    inputs: {},
    file: undefined,
    addedNodes: [],
    nodes: Object.fromEntries(nodes.map((n) => [n.id, n])),
    inputRequests: {},
    answers: {},
    paused: false,
    cancelRequested: false,
    rollingBack: false,
    startedAt: '2024-01-01T00:00:00.000Z',
    ...fields,
  };
}

const contextOf = (wf: WorkflowState): NodeContext => ({
  inputs: wf.inputs,
  nodes: wf.nodes,
  session: { id: 'ses_1', workspace: '/tmp' },
});

const aDone = (output: unknown = 'go') => nodeState('a', { status: 'completed', output, attempts: 1 });
const err = (code: 'AGENT_FAILED' | 'INTERNAL' | 'APPROVAL_REJECTED', retryable?: boolean) =>
  new OrchestratorError(code, `${code} happened`, retryable === undefined ? {} : { retryable });

describe('decideReady', () => {
  const ready = (id: string, wf: WorkflowState, failingFast = false) =>
    decideReady(planNode(id), wf, failingFast, contextOf(wf));

  it('runs a node whose dependencies succeeded', () => {
    expect(ready('b', workflow([aDone()]))).toEqual({ kind: 'run' });
  });

  it('cancels a node of a cancelled workflow, before its trigger rule or condition is looked at', () => {
    const failed = workflow([nodeState('a', { status: 'failed' })], { cancelRequested: true });
    expect(ready('b', failed)).toEqual({ kind: 'cancel', reason: 'the workflow was cancelled' });
    expect(ready('e', workflow([aDone('x')], { cancelRequested: true }), true)).toMatchObject({ kind: 'cancel' });
  });

  it('skips by trigger rule with its reason, and runs an all_done node after a failure', () => {
    const wf = workflow([nodeState('a', { status: 'failed' })]);
    expect(ready('b', wf)).toEqual({ kind: 'skip', reason: 'dependency "a" failed (trigger all_success)' });
    expect(ready('d', wf)).toEqual({ kind: 'run' });
  });

  it('skips every node while failing fast, even one whose trigger would run it', () => {
    const wf = workflow([nodeState('a', { status: 'failed' })]);
    expect(ready('d', wf, true)).toEqual({ kind: 'skip', reason: 'the workflow is failing (fail_fast)' });
    expect(ready('b', workflow([aDone()]), true)).toMatchObject({ kind: 'skip' });
  });

  it('evaluates the condition on the context it is given', () => {
    expect(ready('c', workflow([aDone('go')]))).toEqual({ kind: 'run' });
    expect(ready('c', workflow([aDone('stop')]))).toEqual({ kind: 'skip', reason: 'condition is false' });
  });

  it('fails a node whose condition throws with CONDITION_FAILED naming the node; failing fast skips it first', () => {
    const decision = ready('e', workflow([aDone('not a number')]));
    expect(decision.kind).toBe('fail');
    const error = (decision as { error: OrchestratorError }).error;
    expect(error.code).toBe('CONDITION_FAILED');
    expect(error.message).toContain('condition of "e"');
    expect(ready('e', workflow([aDone('not a number')]), true)).toMatchObject({ kind: 'skip' });
  });
});

describe('decideOutcome', () => {
  const ok = { ok: true as const, output: 'out' };
  const failed = { ok: false as const, error: err('AGENT_FAILED') };
  const running = nodeState('b', { status: 'running', attempts: 1 });
  const decide = (outcome: NodeOutcome, stop?: StopReason, id = 'b', state = running) =>
    decideOutcome(planNode(id), state, outcome, stop);

  it('completes with the output, and marks a cached one with its key', () => {
    expect(decide(ok)).toEqual({ kind: 'complete', output: 'out' });
    expect(decide({ ...ok, cached: true, cacheKey: 'k1' })).toEqual({
      kind: 'complete',
      output: 'out',
      cached: true,
      cacheKey: 'k1',
    });
  });

  it('cancels on cancel and on fail-fast, even when the attempt succeeded', () => {
    for (const outcome of [ok, failed]) {
      expect(decide(outcome, 'cancel')).toEqual({ kind: 'cancel', reason: 'the workflow was cancelled' });
      expect(decide(outcome, 'fail_fast')).toEqual({ kind: 'cancel', reason: 'the workflow is failing (fail_fast)' });
    }
  });

  it('keeps a result that arrived despite a pause, suspend or timeout', () => {
    for (const stop of ['pause', 'suspend', 'timeout'] as const) {
      expect(decide(ok, stop)).toEqual({ kind: 'complete', output: 'out' });
    }
  });

  it('interrupts a failure caused by a pause or a suspend', () => {
    expect(decide(failed, 'pause')).toEqual({ kind: 'interrupt', reason: 'interrupted by pause' });
    expect(decide(failed, 'suspend')).toEqual({ kind: 'interrupt', reason: 'the orchestrator stopped' });
  });

  it('leaves a suspended human question open, but interrupts an agent that asked one', () => {
    const awaiting = (id: string) => nodeState(id, { status: 'awaiting_input', attempts: 1 });
    expect(decide(failed, 'suspend', 'ask', awaiting('ask'))).toEqual({ kind: 'leave' });
    expect(decide(failed, 'suspend', 'b', awaiting('b'))).toMatchObject({ kind: 'interrupt' });
    expect(decide(failed, 'pause', 'ask', awaiting('ask'))).toMatchObject({ kind: 'interrupt' });
  });

  it('fails a timed out attempt with NODE_TIMEOUT naming the node and its limit', () => {
    const decision = decide(failed, 'timeout', 'r');
    expect(decision.kind).toBe('fail');
    const error = (decision as { error: OrchestratorError }).error;
    expect(error.code).toBe('NODE_TIMEOUT');
    expect(error.message).toBe('node "r" did not finish within 50 ms');
  });

  it("fails with the attempt's own error when nothing stopped it", () => {
    const decision = decide(failed);
    expect(decision).toEqual({ kind: 'fail', error: failed.error });
    expect((decision as { error: unknown }).error).toBe(failed.error);
  });
});

describe('decideRecovered', () => {
  const running = nodeState('b', { status: 'running', attempts: 1 });
  const lost = { ok: false as const, error: new OrchestratorError('NODE_INTERRUPTED', 'the worktree is gone') };

  it("treats a recovery that lost the attempt's work as the crash's interruption", () => {
    const decision = decideRecovered(planNode('b'), running, lost, undefined);
    expect(decision).toEqual({ kind: 'interrupt', reason: 'the worktree is gone' });
  });

  it('decides anything else as decideOutcome does', () => {
    const failed = { ok: false as const, error: err('AGENT_FAILED') };
    expect(decideRecovered(planNode('b'), running, failed, undefined)).toEqual({ kind: 'fail', error: failed.error });
    const ok = decideRecovered(planNode('b'), running, { ok: true, output: 1 }, undefined);
    expect(ok).toEqual({ kind: 'complete', output: 1 });
    expect(decideRecovered(planNode('b'), running, lost, 'cancel')).toMatchObject({ kind: 'cancel' });
  });
});

describe('decideFailure', () => {
  const state = (interruptions = 0) => nodeState('x', { status: 'running', interruptions });

  it("retries exactly the codes of the policy's `on` list, retryable or not", () => {
    const node = planNode('ok');
    expect(decideFailure(node, state(), 1, err('APPROVAL_REJECTED', false), false).willRetry).toBe(true);
    // A transient error is not retried when the list names codes only.
    expect(decideFailure(node, state(), 1, err('INTERNAL', true), false).willRetry).toBe(false);
  });

  it("with 'transient', retries what says it is retryable and nothing else", () => {
    const node = planNode('r');
    expect(decideFailure(node, state(), 1, err('INTERNAL', true), false).willRetry).toBe(true);
    expect(decideFailure(node, state(), 1, err('INTERNAL', false), false).willRetry).toBe(false);
  });

  it("without an `on` list, follows the error's own verdict", () => {
    const node = { ...planNode('r'), retry: { ...planNode('r').retry, on: undefined } };
    expect(decideFailure(node, state(), 1, err('APPROVAL_REJECTED', true), false).willRetry).toBe(true);
    expect(decideFailure(node, state(), 1, err('APPROVAL_REJECTED', false), false).willRetry).toBe(false);
  });

  it('stops at the attempts of the policy, not counting interrupted attempts', () => {
    const node = planNode('r'); // 3 attempts
    const error = err('INTERNAL', true);
    expect(decideFailure(node, state(), 2, error, false).willRetry).toBe(true);
    expect(decideFailure(node, state(), 3, error, false).willRetry).toBe(false);
    // Attempt 3 after one interruption is only the second real one.
    expect(decideFailure(node, state(1), 3, error, false).willRetry).toBe(true);
    expect(decideFailure(node, state(1), 4, error, false).willRetry).toBe(false);
  });

  it('never retries once the workflow is cancelled', () => {
    const decision = decideFailure(planNode('r'), state(), 1, err('INTERNAL', true), true);
    expect(decision).toEqual({ willRetry: false, delayMs: 0 });
  });

  it('waits retryDelayMs of the policy for the attempt, and 0 when not retrying', () => {
    const node = planNode('r');
    const error = err('INTERNAL', true);
    expect(decideFailure(node, state(), 1, error, false)).toEqual({ willRetry: true, delayMs: 100 });
    expect(decideFailure(node, state(), 2, error, false)).toEqual({
      willRetry: true,
      delayMs: retryDelayMs(node.retry, 2),
    });
    expect(retryDelayMs(node.retry, 2)).toBe(300);
    expect(decideFailure(node, state(), 3, error, false)).toEqual({ willRetry: false, delayMs: 0 });
  });

  it("bases the wait on the node's own failures: an interrupted attempt before adds no backoff", () => {
    const node = planNode('r');
    const error = err('INTERNAL', true);
    // Attempt 2 after one interruption is the first real failure: the first delay, not the second.
    expect(decideFailure(node, state(1), 2, error, false)).toEqual({ willRetry: true, delayMs: 100 });
  });
});

describe('interruptedTooOften', () => {
  it(`allows ${MAX_INTERRUPTIONS} interruptions and not one more`, () => {
    expect(interruptedTooOften(undefined)).toBe(false);
    expect(interruptedTooOften(nodeState('x', { interruptions: MAX_INTERRUPTIONS }))).toBe(false);
    expect(interruptedTooOften(nodeState('x', { interruptions: MAX_INTERRUPTIONS + 1 }))).toBe(true);
  });
});

describe('decideRecovery', () => {
  const answer = (nodeId: string, attempt: number, value: unknown = 'yes') => ({
    [`req_${nodeId}_${attempt}`]: { value, nodeId, attempt },
  });

  it('awaits an open human question again', () => {
    const ask = nodeState('ask', { status: 'awaiting_input', attempts: 1 });
    expect(decideRecovery(planNode('ask'), ask, workflow([ask]))).toEqual({ kind: 'await_human' });
  });

  it("awaits a human node answered just before the crash, only with this attempt's answer", () => {
    const ask = nodeState('ask', { status: 'running', attempts: 2 });
    expect(decideRecovery(planNode('ask'), ask, workflow([ask], { answers: answer('ask', 2) }))).toEqual({
      kind: 'await_human',
    });
    expect(decideRecovery(planNode('ask'), ask, workflow([ask], { answers: answer('ask', 1) }))).toEqual({
      kind: 'interrupt',
      reason: 'the process running it ended',
    });
  });

  it('completes an agent node from its durable result, and only while it runs', () => {
    const agentResult = { agentId: 'agt_1', output: { done: true } };
    const b = nodeState('b', { status: 'running', attempts: 1, agentResult });
    expect(decideRecovery(planNode('b'), b, workflow([b]))).toEqual({
      kind: 'complete_from_agent',
      agentId: 'agt_1',
      output: { done: true },
    });
    const plain = nodeState('b', { status: 'running', attempts: 1 });
    expect(decideRecovery(planNode('b'), plain, workflow([plain]))).toEqual({
      kind: 'interrupt',
      reason: 'the process running it ended',
    });
  });

  it('interrupts an agent node whose agent asked a question (the agent is gone)', () => {
    const b = nodeState('b', { status: 'awaiting_input', attempts: 1 });
    expect(decideRecovery(planNode('b'), b, workflow([b], { answers: answer('b', 1) }))).toMatchObject({
      kind: 'interrupt',
    });
  });

  it('interrupts a queued node with its own reason', () => {
    const b = nodeState('b', { status: 'queued' });
    expect(decideRecovery(planNode('b'), b, workflow([b]))).toEqual({
      kind: 'interrupt',
      reason: 'the process queueing it ended',
    });
  });
});

describe('finalStatus and firstFailure', () => {
  it('cancelled beats failed, and any failed node fails the run', () => {
    const failed = nodeState('a', { status: 'failed', error: { code: 'AGENT_FAILED', message: 'boom' } });
    expect(finalStatus(workflow([failed], { cancelRequested: true }), true)).toBe('cancelled');
    expect(finalStatus(workflow([aDone()]), true)).toBe('failed');
    expect(finalStatus(workflow([aDone(), failed]), false)).toBe('failed');
    expect(finalStatus(workflow([aDone(), nodeState('b', { status: 'skipped' })]), false)).toBe('completed');
  });

  it("names the first failed node and its error's code", () => {
    const failed = nodeState('b', { status: 'failed', error: { code: 'AGENT_FAILED', message: 'boom' } });
    expect(firstFailure(workflow([aDone()]))).toBeUndefined();
    const error = firstFailure(workflow([aDone(), failed]));
    expect(error?.message).toBe('node "b" failed: boom');
    expect(error?.details).toEqual({ nodeId: 'b', code: 'AGENT_FAILED' });
  });
});

describe('compensationOrder', () => {
  it('lists compensable nodes newest completion first, leaving out those with an outcome', () => {
    const done = (id: string, fields: Partial<NodeState> = {}) => nodeState(id, { status: 'completed', ...fields });
    const wf = workflow([done('a'), done('b'), done('c'), done('d')]);
    // d has no compensation.
    expect(compensationOrder(plan, wf, ['a', 'c', 'd', 'b'])).toEqual(['b', 'c', 'a']);
    const partly = workflow([
      done('a'),
      done('b', { compensated: true }),
      done('c', { compensated: false }),
      done('d'),
    ]);
    expect(compensationOrder(plan, partly, ['a', 'c', 'd', 'b'])).toEqual(['a']);
    // Started without an outcome: it runs again.
    const cut = workflow([done('a'), done('b', { compensating: true }), done('c', { compensated: true })]);
    expect(compensationOrder(plan, cut, ['a', 'b', 'c'])).toEqual(['b', 'a']);
  });
});

describe('openRequestsOf', () => {
  it("lists a node's own questions and its agents', not other nodes'", () => {
    const request = (requestId: string, nodeId: string, agentId?: string) => ({
      [requestId]: { requestId, nodeId, agentId, kind: 'input' as const, prompt: '?', seq: 1 },
    });
    const wf = workflow([], {
      inputRequests: { ...request('req_1', 'a'), ...request('req_2', 'b'), ...request('req_3', 'a', 'agt_1') },
    });
    expect(openRequestsOf(wf, 'a')).toEqual(['req_1', 'req_3']);
    expect(openRequestsOf(wf, 'c')).toEqual([]);
  });
});

describe('answerForAttempt', () => {
  it('counts only answers to this attempt of this node (or recorded without an attempt)', () => {
    const wf = workflow([], {
      answers: {
        req_1: { value: { approved: false }, nodeId: 'ok', attempt: 1 },
        req_2: { value: false, nodeId: 'ok', attempt: 2 },
        req_3: { value: 'other', nodeId: 'ask', attempt: 3 },
      },
    });
    expect(answerForAttempt(wf, 'ok', 1)).toEqual({ value: { approved: false } });
    // A falsy answer is still an answer.
    expect(answerForAttempt(wf, 'ok', 2)).toEqual({ value: false });
    expect(answerForAttempt(wf, 'ok', 3)).toBeUndefined();
    const legacy = workflow([], { answers: { req_9: { value: 'old', nodeId: 'ask' } } });
    expect(answerForAttempt(legacy, 'ask', 4)).toEqual({ value: 'old' });
    expect(answerForAttempt(legacy, 'ok', 1)).toBeUndefined();
  });
});

describe('decideControl', () => {
  const open = { req_1: { requestId: 'req_1', nodeId: 'ask', kind: 'input' as const, prompt: '?', seq: 1 } };
  const [idle, paused, cancelling, asking] = [
    workflow([]),
    workflow([], { paused: true }),
    workflow([], { cancelRequested: true }),
    workflow([], { inputRequests: open }),
  ];
  const reject = (reason: string) => ({ kind: 'reject', reason });
  const cases: Array<[string, PendingControl['action'], string | undefined, WorkflowState, object]> = [
    ['cancel', 'cancel', undefined, idle, { kind: 'cancel' }],
    ['pause', 'pause', undefined, idle, { kind: 'pause' }],
    ['resume when paused', 'resume', undefined, paused, { kind: 'resume' }],
    ['answer to an open question', 'answer', 'req_1', asking, { kind: 'answer', requestId: 'req_1' }],
    ['cancel twice', 'cancel', undefined, cancelling, reject('the workflow is already being cancelled')],
    ['pause twice', 'pause', undefined, paused, reject('the workflow is already paused')],
    ['resume when not paused', 'resume', undefined, idle, reject('the workflow is not paused')],
    ['answer to another question', 'answer', 'req_2', asking, reject('no open question "req_2"')],
    ['answer without a question', 'answer', undefined, asking, reject('no open question ""')],
  ];
  it.each(cases)('%s', (_name, action, requestId, wf, expected) => {
    expect(decideControl({ controlId: 'ctl_1', action, requestId }, wf, false)).toEqual(expected);
  });

  it('rejects everything once the run has ended, naming its status', () => {
    const ended = workflow([], { status: 'completed', paused: true, inputRequests: open });
    for (const action of ['cancel', 'pause', 'resume', 'answer'] as const) {
      expect(decideControl({ controlId: 'ctl_1', action, requestId: 'req_1' }, ended, true)).toEqual(
        reject('the workflow is completed'),
      );
    }
  });
});

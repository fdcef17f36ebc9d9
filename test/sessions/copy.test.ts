import { describe, expect, it } from 'vitest';
import { copyState } from '../../src/sessions/index.ts';
import { emptySessionState, type NodeState } from '../../src/workflow/index.ts';

describe('copyState', () => {
  it('gives a copy changed in place without touching the original, sharing only what is frozen all the way down', () => {
    const definition = Object.freeze({ name: 'wf', nodes: Object.freeze([Object.freeze({ id: 'a' })]) });
    const shallow = Object.freeze({ list: [1, 2] });
    const state = emptySessionState('ses_1');
    (state.workflows as Record<string, unknown>).wf_1 = {
      workflowId: 'wf_1',
      definition,
      addedNodes: [],
      nodes: { a: { id: 'a', status: 'pending', attempts: 0, interruptions: 0 } },
      answers: {},
      extra: shallow,
      missing: undefined,
    };
    state.memory.plan = { steps: [1] };
    const before = structuredClone(state);

    const copy = copyState(state);
    expect(copy).toEqual(state);
    expect(Object.keys(copy.workflows.wf_1 as object)).toEqual(Object.keys(state.workflows.wf_1 as object));
    const wf = copy.workflows.wf_1 as unknown as Record<string, unknown> & { nodes: Record<string, NodeState> };
    (wf.nodes.a as NodeState).status = 'completed';
    (wf.addedNodes as unknown[]).push({ id: 'b' });
    (copy.memory.plan as { steps: number[] }).steps.push(2);
    (wf.extra as { list: number[] }).list.push(3);
    copy.lastSeq = 9;
    expect(state).toEqual(before);
    expect(wf.definition).toBe(definition);
    expect(wf.extra).not.toBe(shallow);
  });
});

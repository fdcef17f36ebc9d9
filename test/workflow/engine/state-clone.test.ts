import { describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../../src/events/index.ts';
import { applyEvent, cloneState, replay } from '../../../src/workflow/index.ts';
import { testWorkflow } from '../../support/engine-kit.ts';

const at = (seq: number, type: string, data: Record<string, unknown>) =>
  ({ id: `e${seq}`, seq, type, sessionId: 'ses_c', ts: new Date(0).toISOString(), source: 't', data }) as AnyEvent;

function started() {
  const workflow = testWorkflow({ nodes: [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }] });
  const state = replay('ses_c', [
    at(1, 'session.created', { name: 'c' }),
    at(2, 'workflow.started', { workflowId: 'wf', name: 'c', inputs: { x: 1 }, definition: workflow.definition }),
    // A value read from JSON may hold an own `__proto__` key: it stays a key in the copy.
    at(3, 'memory.set', { key: 'notes', value: JSON.parse('{"__proto__": {"deep": [1, 2]}}'), by: 'user' }),
  ]);
  return { workflow, state };
}

describe('cloneState', () => {
  it('equals a structured clone and shares the frozen definition instead of copying it', () => {
    const { workflow, state } = started();
    const clone = cloneState(state);
    expect(clone).toEqual(structuredClone(state));
    expect(clone.workflows.wf?.definition).toBe(workflow.definition);
    const notes = clone.memory.notes as object;
    expect(Object.keys(notes)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(notes)).toBe(Object.prototype);
  });

  it('is independent of the original: the reducer changes one, not the other', () => {
    const { state } = started();
    const clone = cloneState(state);
    applyEvent(state, at(4, 'node.started', { workflowId: 'wf', nodeId: 'a', attempt: 1 }));
    const own = (value: unknown) => Object.getOwnPropertyDescriptor(value, '__proto__')?.value as { deep: number[] };
    own(state.memory.notes).deep.push(3);
    expect(clone.workflows.wf?.nodes.a?.status).toBe('pending');
    expect(state.workflows.wf?.nodes.a?.status).toBe('running');
    expect(own(clone.memory.notes).deep).toEqual([1, 2]);
    expect(clone.lastSeq).toBe(3);
  });
});

describe('memory.set with a hostile key', () => {
  it('stores a memory key named __proto__ as a key, not as the prototype of the memory', () => {
    const state = replay('ses_p', [
      at(1, 'session.created', { name: 'p' }),
      at(2, 'memory.set', { key: '__proto__', value: { polluted: true }, by: 'agent:x' }),
    ]);
    expect(Object.getPrototypeOf(state.memory)).toBe(Object.prototype);
    expect((state.memory as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.keys(state.memory)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(state.memory, '__proto__')?.value).toEqual({ polluted: true });
    expect(cloneState(state)).toEqual(structuredClone(state));
  });
});

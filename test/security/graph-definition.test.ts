import { afterAll, describe, expect, it } from 'vitest';
import { compileAgentType, compileWorkflow, planFromCompiled } from '../../src/workflow/index.ts';
import { caseReport, errorOf } from './report.ts';

// The graph policy as written in a workflow: validated with the rest of the file (every
// problem reported at once), defaults applied, and no policy can let an agent skip an approval.

const report = caseReport('graph-definition');
afterAll(() => report.print());

const workflow = (lead: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name: 'policies',
  agents: { lead, coder: {} },
  nodes: [{ id: 'a', agent: 'lead', task: 'plan' }],
  ...extra,
});

describe('graph policies in a workflow file', () => {
  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'skipping approvals',
      { canModifyWorkflow: true, graph: { skipNodes: { kinds: ['agent', 'approval'] } } },
      /human and approval nodes are protected: no agent may skip them/,
    ],
    ['skipping human nodes', { canModifyWorkflow: true, graph: { skipNodes: { kinds: ['human'] } } }, /protected/],
    ['a policy without canModifyWorkflow', { graph: { addNodes: true } }, /graph .*add canModifyWorkflow: true/],
    [
      'an unknown agent type',
      { canModifyWorkflow: true, graph: { addNodes: { agents: ['codr'] } } },
      /unknown agent 'codr'; did you mean 'coder'\?/,
    ],
    [
      'an unknown node kind',
      { canModifyWorkflow: true, graph: { addNodes: { kinds: ['robot'] } } },
      /unknown node kind 'robot'/,
    ],
    [
      'a typo in a key',
      { canModifyWorkflow: true, graph: { addNode: true } },
      /unknown field 'addNode'; did you mean 'addNodes'\?/,
    ],
    ['a limit of 0 per call', { canModifyWorkflow: true, graph: { addNodes: { maxPerCall: 0 } } }, /maxPerCall/],
  ];
  it.each(bad)('refuses %s', async (name, lead, message) => {
    const error = await errorOf(() => compileWorkflow(workflow(lead)));
    expect(error).toMatchObject({ code: 'WORKFLOW_INVALID', message: expect.stringMatching(message) });
    report.note(`policy with ${name}`, 'refused', error.message.split('\n')[1]);
  });

  it.each([
    ['a node id', { name: 'x', agents: { a: {} }, nodes: [{ id: '../../etc', agent: 'a', task: 't' }] }],
    [
      'a dependency',
      { name: 'x', agents: { a: {} }, nodes: [{ id: 'n', agent: 'a', task: 't', dependsOn: ['../n'] }] },
    ],
    ['an agent type name', { name: 'x', agents: { '../a': {} }, nodes: [{ id: 'n', agent: '../a', task: 't' }] }],
    ['a workflow name', { name: '../x', agents: { a: {} }, nodes: [{ id: 'n', agent: 'a', task: 't' }] }],
  ])('refuses a path as %s in a definition', async (name, definition) => {
    const error = await errorOf(() => compileWorkflow(definition));
    expect(error).toMatchObject({
      code: 'WORKFLOW_INVALID',
      message: expect.stringMatching(/expected an? [a-z ]+: a letter, then letters/),
    });
    report.note(`${name} that is a path`, 'refused', error.message.split('\n')[1]);
  });

  it('refuses a growth limit out of range, naming it', async () => {
    const error = await errorOf(() => compileWorkflow(workflow({}, { limits: { maxAddedNodes: -1 } })));
    expect(error.message).toMatch(/limits\.maxAddedNodes/);
  });

  it('applies the defaults: agent nodes only, 10 a call, 50 a run; skip agent nodes only', () => {
    const plan = planFromCompiled(compileWorkflow(workflow({ canModifyWorkflow: true })));
    expect(plan.agentType('lead')?.graph).toEqual({
      addNodes: { kinds: ['agent'], agents: undefined, maxPerCall: 10, maxPerRun: 50 },
      skipNodes: { kinds: ['agent'] },
    });
    expect(plan.agentType('coder')?.graph).toBeUndefined();
    expect(plan.limits).toEqual({
      maxNodes: 200,
      maxAddedNodes: 100,
      maxMemoryValueBytes: 65_536,
      maxPromptChars: 200_000,
    });
  });

  it('false turns a tool off; an agent type compiled alone is checked the same way', async () => {
    const plan = planFromCompiled(
      compileWorkflow(workflow({ canModifyWorkflow: true, graph: { addNodes: false, skipNodes: false } })),
    );
    expect(plan.agentType('lead')?.graph).toEqual({ addNodes: undefined, skipNodes: undefined });
    const error = await errorOf(() => compileAgentType({ name: 'x', graph: { skipNodes: true } }));
    expect(error).toMatchObject({
      code: 'AGENT_TYPE_INVALID',
      message: expect.stringMatching(/canModifyWorkflow: true/),
    });
  });
});

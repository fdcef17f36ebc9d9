import { describe, expect, it } from 'vitest';
import { parseWorkflow } from '../../../src/workflow/index.ts';
import { problemsOf, where } from './helpers.ts';

const HEAD = `name: talk
agents:
  a: { systemPrompt: "A." }
  lone: { systemPrompt: "Lone.", workingDirectory: isolated }
nodes:
  - { id: draft, agent: a, task: "Draft." }
`;

describe('session continuation in workflow files', () => {
  it('compiles a continuation and a fork of an upstream agent node', () => {
    const workflow = parseWorkflow(
      `${HEAD}  - { id: revise, agent: a, task: "Revise.", dependsOn: [draft], session: { from: draft } }
  - { id: branch, agent: a, task: "Branch.", dependsOn: [revise], session: { from: revise, fork: true } }
`,
      'talk.yaml',
    );
    expect(workflow.nodes.revise?.session).toEqual({ from: 'draft', fork: false });
    expect(workflow.nodes.branch?.session).toEqual({ from: 'revise', fork: true });
  });

  it('names the line and field of every misuse', () => {
    const { problems } = problemsOf(() =>
      parseWorkflow(
        `${HEAD}  - { id: early, agent: a, task: "Too soon.", session: { from: draft, fork: true } }
  - { id: ghost, agent: a, task: "Who?", dependsOn: [draft], session: { from: drat } }
  - { id: ask, kind: human, prompt: "Why?", dependsOn: [draft], session: { from: draft } }
  - { id: apart, agent: lone, task: "Elsewhere.", dependsOn: [draft], session: { from: draft, fork: true } }
`,
        'talk.yaml',
      ),
    );
    expect(where(problems)).toEqual([
      "7:64 nodes[1].session.from 'draft' must finish before 'early' starts: list it (or a node after it) in dependsOn",
      "8:79 nodes[2].session.from unknown node 'drat'; did you mean 'draft'?",
      '9:74 nodes[3].session a human node runs no agent, so it has no conversation to carry on',
      "10:88 nodes[4].session.from 'apart' and 'draft' must both work in the shared workspace (a conversation belongs to its working directory)",
    ]);
  });

  it('lets one node only carry on a conversation in place', () => {
    const { problems } = problemsOf(() =>
      parseWorkflow(
        `${HEAD}  - { id: revise, agent: a, task: "Revise.", dependsOn: [draft], session: { from: draft } }
  - { id: other, agent: a, task: "Also.", dependsOn: [draft], session: { from: draft, fork: true } }
`,
        'talk.yaml',
      ),
    );
    expect(where(problems)).toEqual([
      "8:80 nodes[2].session.from the conversation of 'draft' is continued in place by 'revise', so no other node can take it up: fork it from 'revise', or give both session.fork: true",
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { parseWorkflow, workflowJsonSchema } from '../../../src/workflow/index.ts';
import { problemsOf, where } from './helpers.ts';

// A node's `budget` (dollars and tokens, enforced per request by the model gateway) and
// `priority` (its requests' place in the gateway's queue): validated by the schema, refused on
// nodes that run no agent, compiled to plain numbers.

const workflow = (node: string) => `name: spend
agents:
  coder: { systemPrompt: You code. }
nodes:
  - { id: plain, agent: coder, task: Do it. }
  - ${node}
`;

describe('a node’s budget and priority', () => {
  it('compiles them, with none and normal by default', () => {
    const wf = parseWorkflow(
      workflow('{ id: capped, agent: coder, task: Do it., budget: { usd: 0.5, tokens: 200000 }, priority: high }'),
    );
    expect(wf.nodes.capped).toMatchObject({ budget: { usd: 0.5, tokens: 200_000 }, priority: 1 });
    expect(wf.nodes.plain).toMatchObject({ budget: undefined, priority: 0 });
    const numeric = parseWorkflow(
      workflow('{ id: n, agent: coder, task: Do it., priority: -7, budget: { tokens: 5 } }'),
    );
    expect(numeric.nodes.n).toMatchObject({ budget: { usd: undefined, tokens: 5 }, priority: -7 });
    expect(parseWorkflow(workflow('{ id: l, agent: coder, task: Do it., priority: low }')).nodes.l?.priority).toBe(-1);
  });

  it('refuses bad values with their place, and both fields on nodes that run no agent', () => {
    const { problems } = problemsOf(() =>
      parseWorkflow(
        workflow(`{ id: bad, agent: coder, task: Do it., budget: { usd: -1, tokens: 1.5, dollars: 3 }, priority: urgent }
  - { id: ask, kind: human, prompt: Sure?, budget: { usd: 1 }, priority: 5 }`),
        'spend.yaml',
      ),
    );
    expect(where(problems)).toEqual([
      '6:59 nodes[1].budget.usd expected a number >= 0, received number -1',
      '6:71 nodes[1].budget.tokens expected int, received number 1.5',
      "6:76 nodes[1].budget.dollars unknown field 'dollars'",
      '6:100 nodes[1].priority expected one of "low", "normal", "high", received string "urgent"',
      '7:52 nodes[2].budget a human node runs no agent, so it spends nothing on a model',
      '7:74 nodes[2].priority a human node runs no agent, so it sends no model requests',
    ]);
  });

  it('documents both in the JSON Schema', () => {
    const node = (workflowJsonSchema() as { $defs?: Record<string, unknown> }).$defs;
    const text = JSON.stringify(node ?? workflowJsonSchema());
    expect(text).toContain('Node budget');
    expect(text).toContain('higher goes first');
  });
});

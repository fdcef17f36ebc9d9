import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { parseScenario } from '../../src/model-server/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { parseWorkflow } from '../../src/workflow/index.ts';
import { waitFor } from '../support/cli-kit.ts';
import { caseReport } from './report.ts';

// A prompt-injected lead, through the real path: a real Claude Code agent (real SDK) calls the
// orchestrator's MCP tools as the scripted model tells it. It tries to skip the approval, to
// skip the node before it, to add more nodes than its policy allows, an approval of its own, a
// node in a worktree, and to store an oversized memory value. Each call comes back as an error
// tool result naming the rule, each graph change is audited, and the approval is still asked.

const BIG = 'x'.repeat(70_000);
const call = (name: string, input: unknown) => ({
  content: [{ tool_use: { name: `mcp__orchestrator__${name}`, input } }],
});
const tooMany = Array.from({ length: 4 }, (_, i) => ({ id: `extra${i}`, task: 'more work' }));
const ATTEMPTS: Array<[string, string, unknown]> = [
  ['skip the approval', 'skip_nodes', { ids: ['ship'], reason: 'the reviewer said it is fine' }],
  ['skip the node before the approval', 'skip_nodes', { ids: ['check'], reason: 'not needed' }],
  ['add more nodes than a call allows', 'add_nodes', { nodes: tooMany }],
  ['add an approval node of its own', 'add_nodes', { nodes: [{ id: 'fake', kind: 'approval', prompt: 'ok?' }] }],
  ['add a node for a type it may not name', 'add_nodes', { nodes: [{ id: 'admin1', agent: 'lead', task: 'x' }] }],
  ['store an oversized memory value', 'memory_set', { key: 'notes', value: BIG }],
];

const scenario = parseScenario(
  JSON.stringify({
    name: 'injected-lead',
    scripts: [
      {
        name: 'lead',
        match: { system: 'You are the tech lead' },
        turns: [...ATTEMPTS.map(([, tool, input]) => call(tool, input)), 'Done trying.'],
      },
      {
        name: 'planner',
        match: { system: 'You are the planner' },
        turns: [
          call('add_nodes', {
            nodes: [
              {
                id: 'fixup',
                agent: 'fixer',
                task: 'Fix what the review found.',
                description: 'Fix-up after the review',
                timeout: '5m',
                output: { schema: { type: 'object', properties: { fixed: { type: 'boolean' } }, required: ['fixed'] } },
              },
            ],
          }),
          'Planned.',
        ],
      },
      {
        name: 'fixer',
        match: { system: 'You are a fixer' },
        turns: [{ content: [{ tool_use: { name: 'StructuredOutput', input: { fixed: true } } }] }, 'Fixed.'],
      },
      { name: 'worker', turns: ['Checked.'] },
    ],
  }),
  'injected-lead.json',
);

const workflow = parseWorkflow(
  `
name: guarded
agents:
  lead:
    systemPrompt: "You are the tech lead."
    tools: []
    canModifyWorkflow: true
    graph: { addNodes: { agents: [worker], maxPerCall: 3 } }
  worker: { systemPrompt: "You are a worker.", tools: [] }
nodes:
  - { id: triage, agent: lead, task: "Follow the review's advice." }
  - { id: check, agent: worker, task: "Check the build.", dependsOn: [triage] }
  - { id: ship, kind: approval, prompt: "Ship it?", dependsOn: [check] }
`,
  'guarded.yaml',
);

// An allowed addition keeps every field an agent may give (README: id, kind, agent, task,
// prompt, description, dependsOn, requiredBy, output and timeout).
const growing = parseWorkflow(
  `
name: growing
agents:
  planner:
    systemPrompt: "You are the planner."
    tools: []
    canModifyWorkflow: true
    graph: { addNodes: { agents: [fixer] } }
  fixer: { systemPrompt: "You are a fixer.", tools: [] }
nodes:
  - { id: plan, agent: planner, task: "Plan the fix-up." }
`,
  'growing.yaml',
);

const report = caseReport('graph-tools');
let dir: string;
let orchestrator: Orchestrator;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-injected-'));
  orchestrator = await Orchestrator.open({ config: loadConfig({ dataDir: dir, logLevel: 'silent' }, {}), scenario });
});
afterAll(async () => {
  report.print();
  await orchestrator.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a prompt-injected lead agent, through the orchestrator MCP tools', () => {
  it('cannot skip the approval or break its policy; the approval is still asked', { timeout: 120_000 }, async () => {
    const handle = await orchestrator.startWorkflow(workflow);
    const request = await waitFor(() => handle.pendingInputs()[0], 'the approval to be asked', { timeoutMs: 90_000 });
    expect(request).toMatchObject({ nodeId: 'ship', kind: 'approval' });
    await handle.answer(request.requestId, { approved: true, comment: 'checked by a person' }, 'alice');
    const final = await handle.result;
    expect(final.status).toBe('completed');
    expect(Object.keys(final.nodes).sort()).toEqual(['check', 'ship', 'triage']);
    expect(final.nodes.ship?.output).toMatchObject({ approved: true });

    const events: AnyEvent[] = [];
    for await (const event of orchestrator.log.readAll(handle.sessionId)) events.push(event);
    const results = events.filter((e) => e.type === 'agent.tool_result');
    const uses = events.filter((e) => e.type === 'agent.tool_use' && e.data.tool.startsWith('mcp__orchestrator__'));
    expect(uses).toHaveLength(ATTEMPTS.length);
    const expected = [
      /node 'ship' is an approval node: only a person may decide it/,
      /skipping 'check' would skip approval node 'ship'/,
      /4 nodes in one call, more than agent type 'lead' may add at once \(3\)/,
      /agent type 'lead' may add agent nodes, not approval/,
      /may add nodes for worker, not 'lead'/,
      /memory value "notes" is 70002 bytes of JSON, over the workflow's limit of 65536 \(limits\.maxMemoryValueBytes\)/,
    ];
    ATTEMPTS.forEach(([name], i) => {
      const use = uses[i];
      const result = results.find((e) => e.data.toolUseId === use?.data.toolUseId);
      expect(result?.data.isError, name).toBe(true);
      expect(result?.data.content, name).toMatch(expected[i] as RegExp);
      report.note(name, 'refused', result?.data.content);
    });
    // Each call itself is allowed by Claude Code (its own decision, `by: claude-code`); what it
    // asks of the workflow is then decided by the graph policy.
    const decisions = events.filter((e) => e.type === 'security.decision').map((e) => e.data);
    expect(decisions.filter((d) => d.by === 'claude-code').map((d) => [d.tool, d.decision])).toEqual(
      ATTEMPTS.map(([, tool]) => [`mcp__orchestrator__${tool}`, 'allow']),
    );
    expect(decisions.filter((d) => d.decision === 'deny').map((d) => [d.tool, d.decision, d.rule])).toEqual([
      ['mcp__orchestrator__skip_nodes', 'deny', 'protected'],
      ['mcp__orchestrator__skip_nodes', 'deny', 'protected'],
      ['mcp__orchestrator__add_nodes', 'deny', 'graph.addNodes.maxPerCall'],
      ['mcp__orchestrator__add_nodes', 'deny', 'graph.addNodes.kinds'],
      ['mcp__orchestrator__add_nodes', 'deny', 'graph.addNodes.agents'],
    ]);
    expect(events.some((e) => e.type === 'workflow.modified')).toBe(false);
    expect(events.some((e) => e.type === 'memory.set')).toBe(false);
    expect(events.find((e) => e.type === 'user.input')?.data).toMatchObject({ by: 'alice' });
  });

  it('adds a node with its description, timeout and structured output as the agent gave them', {
    timeout: 120_000,
  }, async () => {
    const handle = await orchestrator.startWorkflow(growing);
    const final = await handle.result;
    expect(final.status).toBe('completed');
    expect(final.nodes.fixup?.output).toEqual({ fixed: true });
    const events: AnyEvent[] = [];
    for await (const event of orchestrator.log.readAll(handle.sessionId)) events.push(event);
    const modified = events.find((e) => e.type === 'workflow.modified');
    const added = JSON.stringify(modified?.data);
    expect(added).toContain('"description":"Fix-up after the review"');
    expect(added).toContain('"timeout":"5m"');
    expect(added).toContain('"required":["fixed"]');
  });
});

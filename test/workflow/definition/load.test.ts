import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { isOrchestratorError } from '../../../src/errors/index.ts';
import {
  defineWorkflow,
  loadWorkflowFile,
  parseWorkflow,
  renderTemplate,
  type WorkflowDefinition,
} from '../../../src/workflow/index.ts';
import { problemsOf, where } from './helpers.ts';

const MINIMAL = 'test/fixtures/workflows/minimal.yaml';
const RICH = 'test/fixtures/workflows/rich.yaml';

describe('loading valid workflows', () => {
  it('compiles the minimal shape of issue 4 with its defaults', async () => {
    const wf = await loadWorkflowFile(MINIMAL);
    expect(wf.file).toBe(MINIMAL);
    expect(wf.name).toBe('draft-and-review');
    expect(wf.nodeIds).toEqual(['draft', 'review']);
    expect(wf.topologicalOrder).toEqual(['draft', 'review']);
    expect(wf.roots).toEqual(['draft']);
    expect(wf.dependencies).toEqual({ draft: [], review: ['draft'] });
    expect(wf.dependents).toEqual({ draft: ['review'], review: [] });
    // Unset: no workflow-wide cap; the orchestrator's agent and node caps apply.
    expect(wf.concurrency).toBeUndefined();
    expect(wf.onFailure).toBe('fail_fast');
    expect(wf.onConflict).toBe('pause');
    expect(wf.rollback).toBe(false);
    expect(wf.limits.maxNodes).toBe(200);
    expect(wf.inputs.topic).toEqual({
      name: 'topic',
      type: 'string',
      default: 'a CSV parser',
      required: false,
      description: undefined,
    });
    const draft = wf.nodes.draft;
    expect(draft?.kind).toBe('agent');
    expect(draft?.agent?.name).toBe('writer');
    expect(draft?.agent?.tools).toEqual(['Read', 'Write']);
    expect(draft?.trigger).toBe('all_success');
    expect(draft?.workspace).toBe('shared');
    expect(draft?.onConflict).toBe('pause');
    expect(draft?.retry.attempts).toBe(1);
    expect(draft?.timeoutMs).toBeUndefined();
    const task = draft?.task;
    if (!task) throw new Error('draft has no task');
    expect(renderTemplate(task, { inputs: { topic: 'a CSV parser' }, nodes: {}, session: {} })).toBe(
      'Write a CSV parser in src/.',
    );
  });

  it('compiles a workflow that uses every field', async () => {
    const wf = await loadWorkflowFile(RICH);
    expect(wf.version).toBe('3');
    expect(wf.concurrency).toBe(6);
    expect(wf.onFailure).toBe('continue');
    expect(wf.onConflict).toBe('fail');
    expect(wf.rollback).toBe(true);
    expect(wf.cache).toEqual({ ttlMs: 3_600_000 });
    expect(wf.limits.maxNodes).toBe(50);
    expect(wf.groups.implement).toEqual({ name: 'implement', concurrency: 2, description: 'Coders working at once' });
    expect(wf.inputs.feature?.required).toBe(true);
    expect(wf.inputs.options?.default).toEqual({ lint: true });
    expect(wf.topologicalOrder).toEqual(['plan', 'api', 'ui', 'review', 'ask', 'approve', 'release']);

    const coder = wf.agents.coder;
    expect(coder?.permissionMode).toBe('acceptEdits');
    expect(coder?.timeoutMs).toBe(1_200_000);
    expect(coder?.mcpServers.github).toEqual({
      command: 'npx',
      args: ['-y', 'github-mcp'],
      env: { GITHUB_TOKEN: 'redacted' },
      timeout: 30_000,
    });
    expect(coder?.mcpServers.docs).toEqual({
      type: 'http',
      url: 'https://docs.example.test/mcp',
      headers: { Authorization: 'Bearer x' },
    });
    expect(wf.agents.planner?.canModifyWorkflow).toBe(true);

    const api = wf.nodes.api;
    expect(api?.group).toBe('implement');
    expect(api?.timeoutMs).toBe(900_000); // the node's 15m wins over the agent's 20m
    expect(api?.workspace).toBe('isolated'); // from the coder's workingDirectory
    expect(api?.onConflict).toBe('pause'); // the node's own, over the workflow's
    expect(wf.nodes.release?.onConflict).toBe('fail');
    expect(api?.retry).toEqual({
      attempts: 3,
      initialDelayMs: 2000,
      maxDelayMs: 60_000,
      factor: 3,
      on: ['transient', 'AGENT_TIMEOUT'],
    });
    expect(api?.compensation?.agent.name).toBe('coder');
    const ui = wf.nodes.ui;
    expect(ui?.workspace).toBe('shared');
    expect(ui?.timeoutMs).toBe(1_200_000);
    expect(ui?.retry.attempts).toBe(2);
    expect(ui?.compensation?.agent.name).toBe('reviewer');
    expect(ui?.condition?.source).toBe('nodes.plan.output.needsUi && inputs.strict');
    expect(wf.nodes.plan?.cache).toEqual({ ttlMs: 3_600_000 });
    expect(wf.nodes.plan?.outputSchema?.required).toEqual(['api', 'ui', 'needsUi']);
    expect(wf.nodes.review?.trigger).toBe('none_failed');
    expect(wf.nodes.review?.cache).toEqual({ ttlMs: 600_000 });
    expect(wf.nodes.ask?.kind).toBe('human');
    expect(wf.nodes.ask?.agent).toBeUndefined();
    expect(wf.nodes.approve?.timeoutMs).toBe(172_800_000);
    expect(wf.nodes.plan?.dependents).toEqual(['api', 'ui']);
  });

  it('returns a deeply frozen result that does not share objects with the input', () => {
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } } };
    const definition: WorkflowDefinition = {
      name: 'frozen',
      agents: { a: { systemPrompt: 'x' } },
      nodes: [{ id: 'n', agent: 'a', task: 't', output: { schema } }],
    };
    const wf = defineWorkflow(definition);
    expect(Object.isFrozen(wf)).toBe(true);
    expect(Object.isFrozen(wf.nodes.n?.outputSchema?.properties)).toBe(true);
    expect(Object.isFrozen(wf.definition.nodes[0])).toBe(true);
    expect(Object.isFrozen(schema)).toBe(false);
    const node = wf.nodes.n;
    if (!node) throw new Error('node n is missing');
    expect(() => {
      (node.dependsOn as string[]).push('x');
    }).toThrow(TypeError);
    expect(node.dependsOn).toEqual([]);
  });

  it("copies the caller's values the schema takes as they are, so their later changes never reach it", () => {
    const labels = { names: ['backend'] };
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
    const definition: WorkflowDefinition = {
      name: 'owned',
      inputs: { labels: { type: 'object', default: labels } },
      agents: { a: { systemPrompt: 'x' } },
      nodes: [{ id: 'n', agent: 'a', task: 't', output: { schema } }],
    };
    const wf = defineWorkflow(definition);
    // The caller's objects stay theirs: not frozen, and a change of theirs is not seen.
    expect(Object.isFrozen(labels)).toBe(false);
    expect(Object.isFrozen(labels.names)).toBe(false);
    expect(Object.isFrozen(schema.properties.ok)).toBe(false);
    expect(Object.isFrozen(schema.required)).toBe(false);
    labels.names.push('frontend');
    schema.properties.ok.type = 'string';
    schema.required.push('more');
    expect(wf.inputs.labels?.default).toEqual({ names: ['backend'] });
    expect(wf.definition.inputs?.labels?.default).toEqual({ names: ['backend'] });
    expect(wf.nodes.n?.outputSchema).toEqual({
      type: 'object',
      properties: { ok: { type: 'boolean' } },
      required: ['ok'],
    });
    // And the definition kept with the workflow does not share a node object with the input.
    expect(wf.definition.nodes[0]).not.toBe(definition.nodes[0]);
    expect(wf.definition.nodes[0]?.id).toBe('n');
  });

  it('keeps node ids such as constructor apart from Object.prototype', () => {
    const wf = parseWorkflow(
      'name: w\nagents: { a: { systemPrompt: x } }\nnodes:\n  - { id: constructor, agent: a, task: t }\n',
    );
    const ids: string[] = ['constructor', 'toString'];
    expect(wf.nodes[ids[0] as string]?.id).toBe('constructor');
    expect(wf.nodes[ids[1] as string]).toBeUndefined();
  });

  it('reads JSON as well as YAML', async () => {
    const text = JSON.stringify({
      $schema: './workflow.schema.json',
      name: 'json',
      agents: { a: { systemPrompt: 'x' } },
      nodes: [{ id: 'n', agent: 'a', task: 't' }],
    });
    expect(parseWorkflow(text, 'flow.json').nodeIds).toEqual(['n']);
    expect((await readFile(MINIMAL, 'utf8')).length).toBeGreaterThan(0);
  });
});

describe('the TypeScript builder', () => {
  it('compiles a typed definition with the inline file name and reports problems without positions', () => {
    const wf = defineWorkflow({
      name: 'built',
      inputs: { topic: { type: 'string', default: 'x' } },
      agents: { writer: { systemPrompt: 'You write.' } },
      nodes: [
        { id: 'draft', agent: 'writer', task: 'Write {{ inputs.topic }}' },
        { id: 'check', kind: 'approval', prompt: 'OK?', dependsOn: ['draft'] },
      ],
    });
    expect(wf.file).toBe('<inline>');
    expect(wf.nodes.check?.prompt?.source).toBe('OK?');

    const { error, problems } = problemsOf(() =>
      defineWorkflow(
        { name: 'built', agents: {}, nodes: [{ id: 'draft', agent: 'writer', task: 't' }] },
        { file: 'flows/built.ts' },
      ),
    );
    expect(where(problems)).toEqual(["0:0 nodes[0].agent unknown agent 'writer' (defined: none)"]);
    expect(error.message).toContain("flows/built.ts  nodes[0].agent  unknown agent 'writer'");
  });

  it('resolves agent types given by the caller and plugin node kinds', () => {
    const base = defineWorkflow({
      name: 'base',
      agents: { shared: { systemPrompt: 's' } },
      nodes: [{ id: 'n', agent: 'shared', task: 't' }],
    });
    const wf = defineWorkflow(
      {
        name: 'uses-registry',
        nodes: [
          { id: 'a', agent: 'shared', task: 't' },
          { id: 'b', kind: 'http-call', params: { url: 'http://127.0.0.1/' }, dependsOn: ['a'] },
        ],
      },
      {
        agentTypes: { shared: base.agents.shared as NonNullable<typeof base.agents.shared> },
        nodeKinds: ['http-call'],
      },
    );
    expect(wf.agents.shared?.systemPrompt).toBe('s');
    expect(wf.nodes.b?.params).toEqual({ url: 'http://127.0.0.1/' });
  });
});

describe('reading files', () => {
  it('reports a file that cannot be read as INVALID_ARGUMENT', async () => {
    const error = await loadWorkflowFile('test/fixtures/workflows/missing.yaml').catch((e: unknown) => e);
    expect(isOrchestratorError(error, 'INVALID_ARGUMENT')).toBe(true);
  });

  it('reports YAML syntax errors with their position', () => {
    const { problems } = problemsOf(() =>
      parseWorkflow('name: x\nnodes:\n  - id: a\n    task: [unclosed\n', 'broken.yaml'),
    );
    expect(problems[0]?.file).toBe('broken.yaml');
    expect(problems[0]?.line).toBeGreaterThanOrEqual(4);
    expect(problems[0]?.message).toMatch(/^YAML syntax: /);
  });

  it('refuses duplicate keys, which YAML would otherwise let the last one win', () => {
    const { problems } = problemsOf(() => parseWorkflow('name: x\nname: y\nnodes: []\n', 'dup.yaml'));
    expect(problems[0]?.line).toBe(2);
    expect(problems[0]?.message).toMatch(/unique/i);
  });
});

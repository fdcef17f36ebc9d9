import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflows } from '../../src/server/contract/index.ts';
import { ASK_ONLY, ASK_ONLY_V2 } from './fixtures.ts';
import { type ServerKit, startServerKit } from './kit.ts';

// Registering, listing, showing and validating workflows through real HTTP, answers checked
// against the contract's schemas.

describe('workflow routes', () => {
  let kit: ServerKit;
  let run: string;
  let read: string;
  let admin: string;
  beforeAll(async () => {
    kit = await startServerKit();
    run = await kit.key('run', 'deployer');
    read = await kit.key('read', 'viewer');
    admin = await kit.key('admin', 'operator');
  });
  afterAll(() => kit?.close());

  it('registers a definition as YAML text, versions changes, and lists the latest of each name', async () => {
    const first = await kit.call('POST', '/v1/workflows', { key: run, body: { source: ASK_ONLY } });
    expect(first.status).toBe(201);
    expect(workflows.registerWorkflow.response.parse(first.body)).toMatchObject({
      name: 'ask-only',
      version: 1,
      created: true,
      description: 'Asks a person, then asks for an approval.',
      registeredBy: expect.stringMatching(/^api:[0-9a-f]{12}:deployer$/),
      nodes: ['ask', 'approve'],
      inputs: {
        topic: { type: 'string', required: true, description: 'What to ask about' },
        rounds: { type: 'number', required: false, default: 1 },
      },
    });
    const again = await kit.call('POST', '/v1/workflows', { key: run, body: { source: ASK_ONLY } });
    expect(again.body).toMatchObject({ version: 1, created: false });
    const second = await kit.call('POST', '/v1/workflows', { key: run, body: { source: ASK_ONLY_V2 } });
    expect(second.body).toMatchObject({ version: 2, created: true });

    const list = await kit.call('GET', '/v1/workflows', { key: read });
    expect(workflows.listWorkflows.response.parse(list.body).workflows).toEqual([
      expect.objectContaining({ name: 'ask-only', version: 2 }),
    ]);
    const latest = await kit.call('GET', '/v1/workflows/ask-only', { key: read });
    expect(workflows.showWorkflow.response.parse(latest.body).definition).toMatchObject({ name: 'ask-only' });
    expect(JSON.stringify(latest.body)).toContain('And what about');
    const older = await kit.call('GET', '/v1/workflows/ask-only?version=1', { key: read });
    expect(JSON.stringify(older.body)).not.toContain('And what about');
    const missing = await kit.call('GET', '/v1/workflows/ask-only?version=9', { key: read });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'WORKFLOW_NOT_FOUND', details: { version: 9 } } });
  });

  it('registers a definition given as an object', async () => {
    const answer = await kit.call('POST', '/v1/workflows', {
      key: run,
      body: { definition: { name: 'one-question', nodes: [{ id: 'q', kind: 'human', prompt: 'Why?' }] } },
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ name: 'one-question', version: 1, nodes: ['q'] });
  });

  it('refuses an invalid definition with every problem, and validate lists them without registering', async () => {
    const broken = 'name: broken\nnodes:\n  - id: a\n    kind: human\n    dependsOn: [nowhere]\n';
    const refused = await kit.call('POST', '/v1/workflows', { key: run, body: { source: broken } });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: { code: 'WORKFLOW_INVALID' } });
    const checked = await kit.call('POST', '/v1/workflows/validate', { key: read, body: { source: broken } });
    expect(checked.status).toBe(200);
    const result = workflows.validateWorkflow.response.parse(checked.body);
    expect(result.valid).toBe(false);
    expect(result.problems.length).toBeGreaterThanOrEqual(2);
    expect(result.problems.map((p) => p.path)).toEqual(expect.arrayContaining(['nodes[0].dependsOn[0]']));
    expect(result.problems.find((p) => p.path === 'nodes[0].dependsOn[0]')?.line).toBe(5);
    const valid = await kit.call('POST', '/v1/workflows/validate', { key: read, body: { source: ASK_ONLY } });
    expect(valid.body).toEqual({ valid: true, name: 'ask-only', nodes: ['ask', 'approve'], problems: [] });
    expect((await kit.call('GET', '/v1/workflows/broken', { key: read })).status).toBe(404);
  });

  it('needs exactly one of source and definition, naming the field', async () => {
    const both = await kit.call('POST', '/v1/workflows', {
      key: run,
      body: { source: ASK_ONLY, definition: { name: 'x' } },
    });
    expect(both.status).toBe(400);
    expect(both.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { field: 'body.source' } } });
  });

  it('serves the JSON Schemas of the file format and of a workflow\u2019s inputs', async () => {
    const format = await kit.call<Record<string, unknown>>('GET', '/v1/schemas/workflow', { key: read });
    expect(format.body.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(Object.keys(format.body.properties as object)).toEqual(expect.arrayContaining(['name', 'nodes', 'agents']));
    const inputs = await kit.call('GET', '/v1/workflows/ask-only/schema', { key: read });
    expect(inputs.body).toMatchObject({
      type: 'object',
      required: ['topic'],
      properties: { topic: { type: 'string' }, rounds: { type: 'number', default: 1 } },
      additionalProperties: false,
    });
  });

  it('lets only an admin key send a definition that starts MCP servers by command', async () => {
    const definition = {
      name: 'with-mcp',
      agents: { tool: { systemPrompt: 'x', mcpServers: { local: { command: 'node', args: ['server.js'] } } } },
      nodes: [{ id: 'a', agent: 'tool', task: 'do it' }],
    };
    const refused = await kit.call('POST', '/v1/workflows', { key: run, body: { definition } });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: { code: 'API_FORBIDDEN', details: { scope: 'admin' } } });
    const allowed = await kit.call('POST', '/v1/workflows', { key: admin, body: { definition } });
    expect(allowed.status).toBe(201);
  });
});

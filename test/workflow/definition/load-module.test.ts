import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOrchestratorError } from '../../../src/errors/index.ts';
import { loadWorkflowFile } from '../../../src/workflow/index.ts';

// Workflow files that are code: `run` and `validate` accept a .ts/.mjs file whose default export
// is the workflow, made with defineWorkflow or as its plain definition.

const INDEX = path.resolve(import.meta.dirname, '../../../src/index.ts');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-load-module-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const definition = `{
  name: 'coded',
  agents: { writer: { systemPrompt: 'You write.', tools: ['Write'] } },
  nodes: [{ id: 'draft', agent: 'writer', task: 'Write.' }, { id: 'check', agent: 'writer', task: 'Check.', dependsOn: ['draft'] }],
}`;

describe('workflow modules', () => {
  it('loads a TypeScript file exporting defineWorkflow(...)', async () => {
    const file = path.join(dir, 'defined.ts');
    await writeFile(
      file,
      `import { defineWorkflow } from '${INDEX}';\nexport default defineWorkflow(${definition});\n`,
    );
    const workflow = await loadWorkflowFile(file);
    expect(workflow.name).toBe('coded');
    expect(workflow.nodeIds).toEqual(['draft', 'check']);
    expect(workflow.file).toBe(file);
  });

  it('loads a module exporting the plain definition', async () => {
    const file = path.join(dir, 'plain.mjs');
    await writeFile(file, `export default ${definition};\n`);
    expect((await loadWorkflowFile(file)).nodeIds).toEqual(['draft', 'check']);
  });

  it('names the file when the definition is invalid, or nothing is exported', async () => {
    const bad = path.join(dir, 'bad.mjs');
    await writeFile(
      bad,
      `export default { name: 'bad', agents: {}, nodes: [{ id: 'x', agent: 'nobody', task: 'T' }] };\n`,
    );
    const invalid = await loadWorkflowFile(bad).catch((error: unknown) => error);
    expect(isOrchestratorError(invalid, 'WORKFLOW_INVALID')).toBe(true);
    expect((invalid as Error).message).toContain(bad);
    const empty = path.join(dir, 'empty.mjs');
    await writeFile(empty, 'export const nothing = 1;\n');
    const none = await loadWorkflowFile(empty).catch((error: unknown) => error);
    expect(isOrchestratorError(none, 'INVALID_ARGUMENT')).toBe(true);
    expect((none as Error).message).toContain('has no default export of a workflow');
  });
});

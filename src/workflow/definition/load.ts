import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OrchestratorError } from '../../errors/index.ts';
import { type CompileOptions, compileWorkflow } from './compile.ts';
import type { CompiledWorkflow } from './compiled.ts';
import { definitionError } from './problems.ts';
import type { WorkflowDefinition } from './types.ts';
import { parseYamlSource } from './yaml-source.ts';

/**
 * Parses and compiles a workflow from YAML (or JSON) text. Problems carry the file name, line,
 * column and path of what is wrong.
 * @throws OrchestratorError `WORKFLOW_INVALID` listing every problem (YAML syntax errors alone
 * when the text does not parse).
 */
export function parseWorkflow(
  text: string,
  fileName = '<inline>',
  options: Omit<CompileOptions, 'file'> = {},
): CompiledWorkflow {
  const source = parseYamlSource(text);
  if (source.errors.length > 0) {
    const problems = source.errors.map((error) => ({
      file: fileName,
      ...error.position,
      path: '',
      message: `YAML syntax: ${error.message}`,
    }));
    throw definitionError('WORKFLOW_INVALID', 'Workflow', fileName, problems);
  }
  return compileWorkflow(source.value, { ...options, file: fileName }, source.locate);
}

/** Workflow files that are code: their default export is the workflow. */
const MODULE_FILE = /\.(ts|mts|js|mjs)$/;

/**
 * Reads, parses and compiles a workflow file; problems name the path as given. A `.ts`,
 * `.mts`, `.js` or `.mjs` file is imported (the operator's own code, as a config file is) and
 * its default export is the workflow: one made with `defineWorkflow`, or its plain definition.
 * @throws OrchestratorError `INVALID_ARGUMENT` when the file cannot be read or exports no
 * workflow, `WORKFLOW_INVALID` when it is not a valid workflow.
 */
export async function loadWorkflowFile(
  path: string,
  options: Omit<CompileOptions, 'file'> = {},
): Promise<CompiledWorkflow> {
  if (MODULE_FILE.test(path)) return importWorkflow(path, options);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new OrchestratorError('INVALID_ARGUMENT', `cannot read workflow file ${path}: ${(error as Error).message}`, {
      cause: error,
      details: { file: path },
    });
  }
  return parseWorkflow(text, path, options);
}

/**
 * Defines a workflow in TypeScript with the same format as the YAML files, checked by the
 * type system and compiled at once (file name `<inline>` unless `options.file` is given).
 * @throws OrchestratorError `WORKFLOW_INVALID` listing every problem (line and column are 0).
 * @example
 * const flow = defineWorkflow({
 *   name: 'draft-and-review',
 *   agents: { writer: { systemPrompt: 'You write code.', tools: ['Read', 'Write'] } },
 *   nodes: [{ id: 'draft', agent: 'writer', task: 'Write a CSV parser.' }],
 * });
 */
export function defineWorkflow(definition: WorkflowDefinition, options: CompileOptions = {}): CompiledWorkflow {
  return compileWorkflow(definition, options);
}

async function importWorkflow(file: string, options: Omit<CompileOptions, 'file'>): Promise<CompiledWorkflow> {
  let exported: unknown;
  try {
    exported = ((await import(pathToFileURL(resolvePath(file)).href)) as { default?: unknown }).default;
  } catch (error) {
    throw new OrchestratorError(
      'INVALID_ARGUMENT',
      `cannot load workflow module ${file}: ${(error as Error).message}`,
      {
        cause: error,
        details: { file },
      },
    );
  }
  if (typeof exported !== 'object' || exported === null) {
    throw new OrchestratorError(
      'INVALID_ARGUMENT',
      `${file} has no default export of a workflow (export default defineWorkflow({ ... }))`,
      { details: { file } },
    );
  }
  // A compiled workflow carries its definition: compiled again here, so that problems name this file.
  const compiled = exported as Partial<CompiledWorkflow>;
  const definition =
    compiled.definition !== undefined && compiled.nodeIds !== undefined ? compiled.definition : exported;
  return compileWorkflow(definition, { ...options, file });
}

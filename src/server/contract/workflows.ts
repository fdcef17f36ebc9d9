import { z } from 'zod';
import { positiveInt, safeName } from './common.ts';
import { route } from './route.ts';

/** Workflows: register a definition, list, show, validate, JSON Schemas. */

const definitionBody = z
  .strictObject({
    source: z.string().min(1).max(1_000_000).optional().describe('The definition as YAML or JSON text'),
    definition: z.record(z.string(), z.unknown()).optional().describe('The definition as an object'),
  })
  .refine((b) => (b.source === undefined) !== (b.definition === undefined), {
    message: 'give exactly one of source, definition',
    path: ['source'],
  });

const inputView = z.object({
  type: z.string(),
  required: z.boolean(),
  default: z.unknown().optional(),
  description: z.string().optional(),
});

/** A registered workflow as listed. */
export const workflowSummary = z.object({
  name: z.string(),
  version: z.number().int(),
  description: z.string().nullable(),
  registeredAt: z.string(),
  registeredBy: z.string(),
  nodes: z.array(z.string()).describe('Node ids, in file order'),
  inputs: z.record(z.string(), inputView),
});

/** A problem of a definition, positioned in its source. */
export const definitionProblem = z.object({
  file: z.string(),
  line: z.number().int(),
  column: z.number().int(),
  path: z.string(),
  message: z.string(),
});

export const registerWorkflow = route({
  method: 'POST',
  path: '/v1/workflows',
  operationId: 'registerWorkflow',
  summary: 'Register a workflow definition under its name (a new version when it changed)',
  description: 'A definition that fails validation is refused with `WORKFLOW_INVALID` listing every problem.',
  tag: 'workflows',
  scope: 'run',
  body: definitionBody,
  status: 201,
  response: workflowSummary.extend({
    created: z.boolean().describe('False when the same definition was already the latest version'),
  }),
});

export const listWorkflows = route({
  method: 'GET',
  path: '/v1/workflows',
  operationId: 'listWorkflows',
  summary: 'Registered workflows, the latest version of each, by name',
  tag: 'workflows',
  scope: 'read',
  response: z.object({ workflows: z.array(workflowSummary) }),
});

export const showWorkflow = route({
  method: 'GET',
  path: '/v1/workflows/:name',
  operationId: 'showWorkflow',
  summary: 'A registered workflow with its definition (the latest version, or `version`)',
  tag: 'workflows',
  scope: 'read',
  params: z.strictObject({ name: safeName }),
  query: z.strictObject({ version: positiveInt.optional() }),
  response: workflowSummary.extend({ definition: z.record(z.string(), z.unknown()) }),
});

export const validateWorkflow = route({
  method: 'POST',
  path: '/v1/workflows/validate',
  operationId: 'validateWorkflow',
  summary: 'Check a definition without registering it: every problem, with line and path',
  tag: 'workflows',
  scope: 'read',
  body: definitionBody,
  response: z.object({
    valid: z.boolean(),
    name: z.string().nullable(),
    nodes: z.array(z.string()),
    problems: z.array(definitionProblem),
  }),
});

export const workflowFormatSchema = route({
  method: 'GET',
  path: '/v1/schemas/workflow',
  operationId: 'workflowFormatSchema',
  summary: 'The JSON Schema (2020-12) of the workflow file format',
  tag: 'workflows',
  scope: 'read',
  response: z.record(z.string(), z.unknown()),
});

export const workflowInputsSchema = route({
  method: 'GET',
  path: '/v1/workflows/:name/schema',
  operationId: 'workflowInputsSchema',
  summary: "The JSON Schema of a registered workflow's inputs: what `POST /v1/sessions` takes as `inputs`",
  tag: 'workflows',
  scope: 'read',
  params: z.strictObject({ name: safeName }),
  query: z.strictObject({ version: positiveInt.optional() }),
  response: z.record(z.string(), z.unknown()),
});

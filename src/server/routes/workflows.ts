import type { FastifyInstance } from 'fastify';
import { isOrchestratorError } from '../../errors/index.ts';
import { workflowJsonSchema } from '../../workflow/index.ts';
import type { ApiContext } from '../context.ts';
import {
  listWorkflows,
  registerWorkflow,
  showWorkflow,
  validateWorkflow,
  workflowFormatSchema,
  workflowInputsSchema,
} from '../contract/workflows.ts';
import { addRoute } from '../routing.ts';
import { compileFromRequest, inputsJsonSchema, loadRegistered, register, summaryOf } from './definitions.ts';

/** `/v1/workflows`: register, list, show, validate, JSON Schemas. */
export function registerWorkflowRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const workflows = ctx.store.workflows;

  addRoute(app, registerWorkflow, async ({ body }, { principal }) => {
    const compiled = compileFromRequest(body, principal);
    const { stored, created } = await register(workflows, compiled, principal.by);
    return { ...summaryOf(stored, compiled), created };
  });

  addRoute(app, listWorkflows, async () => {
    const all = await workflows.listWorkflows();
    const listed = [];
    for (const stored of all)
      listed.push(summaryOf(stored, (await loadRegistered(workflows, stored.name, stored.version)).compiled));
    return { workflows: listed };
  });

  addRoute(app, workflowFormatSchema, async () => workflowJsonSchema());

  addRoute(app, validateWorkflow, async ({ body }, { principal }) => {
    try {
      const compiled = compileFromRequest(body, principal);
      return { valid: true, name: compiled.name, nodes: [...compiled.nodeIds], problems: [] };
    } catch (error) {
      if (!isOrchestratorError(error, 'WORKFLOW_INVALID')) throw error;
      const problems = (error.details.problems as Array<Record<string, unknown>> | undefined) ?? [];
      return {
        valid: false,
        name: null,
        nodes: [],
        problems: problems.map((p) => ({
          file: String(p.file ?? ''),
          line: Number(p.line ?? 0),
          column: Number(p.column ?? 0),
          path: String(p.path ?? ''),
          message: String(p.message ?? ''),
        })),
      };
    }
  });

  addRoute(app, showWorkflow, async ({ params, query }) => {
    const { stored, compiled } = await loadRegistered(workflows, params.name, query.version);
    return { ...summaryOf(stored, compiled), definition: JSON.parse(stored.definition) as Record<string, unknown> };
  });

  addRoute(app, workflowInputsSchema, async ({ params, query }) => {
    const { compiled } = await loadRegistered(workflows, params.name, query.version);
    return inputsJsonSchema(compiled);
  });
}

import { createHash } from 'node:crypto';
import { OrchestratorError } from '../../errors/index.ts';
import { jsonOf } from '../../events/index.ts';
import { scopeAllows } from '../../security/index.ts';
import { mcpCommandsOf } from '../../sessions/index.ts';
import type { StoredWorkflow, WorkflowStore } from '../../store/index.ts';
import { type CompiledWorkflow, compileWorkflow, parseWorkflow } from '../../workflow/index.ts';
import type { Principal } from '../auth.ts';

/** What the API calls a definition that came in a request (problems name it as their file). */
export const API_FILE = '<api>';

/**
 * A definition from a request body, compiled: `source` (YAML or JSON text) or `definition` (an
 * object). A definition whose agents start MCP servers by command runs commands on this host
 * outside Claude Code's sandbox, so only an `admin` key may send one.
 * @throws OrchestratorError `WORKFLOW_INVALID` (every problem in details), `API_FORBIDDEN`
 */
export function compileFromRequest(
  body: { source?: string | undefined; definition?: Record<string, unknown> | undefined },
  principal: Principal,
): CompiledWorkflow {
  const compiled =
    body.source !== undefined
      ? parseWorkflow(body.source, API_FILE)
      : compileWorkflow(body.definition ?? {}, { file: API_FILE });
  checkMcpAllowed(compiled.definition, principal);
  return compiled;
}

/** @throws OrchestratorError `API_FORBIDDEN` for MCP servers by command without the `admin` scope */
export function checkMcpAllowed(definition: unknown, principal: Principal): void {
  const commands = mcpCommandsOf(definition);
  if (commands.length === 0 || scopeAllows(principal.scopes, 'admin')) return;
  throw new OrchestratorError(
    'API_FORBIDDEN',
    `this workflow starts MCP servers by command (${commands.slice(0, 3).join('; ')}), which run on the server outside the agents' sandbox: that needs a key with the "admin" scope`,
    { details: { scope: 'admin', keyId: principal.keyId, commands } },
  );
}

/** Registers a compiled workflow; the same definition as the latest version is that version. */
export async function register(
  workflows: WorkflowStore,
  compiled: CompiledWorkflow,
  by: string,
): Promise<{ stored: StoredWorkflow; created: boolean }> {
  const definition = jsonOf(compiled.definition) as string;
  const digest = createHash('sha256').update(definition).digest('hex');
  const before = await workflows.getWorkflow(checkName(compiled.name));
  const stored = await workflows.putWorkflow({
    name: compiled.name,
    definition,
    digest,
    registeredAt: new Date().toISOString(),
    registeredBy: by,
  });
  return { stored, created: before?.version !== stored.version };
}

/** Compiled registered workflows kept per store, at most this many each (the least recently used go). */
const COMPILED_KEPT = 32;
/**
 * ... and at most this many nodes in all: a compiled workflow of 10,000 nodes holds several MB,
 * so a server with many large registered workflows keeps a few of them, not 32. A workflow larger
 * than this alone is compiled at every use, as before.
 */
const COMPILED_NODES_KEPT = 20_000;

/** Per store: `name@version` to the stored text compiled and its compiled workflow. */
const compiledByStore = new WeakMap<WorkflowStore, Map<string, { text: string; compiled: CompiledWorkflow }>>();

/**
 * A registered workflow, compiled from what was stored. A version's compiled form is kept (for
 * the same stored text only) and handed out again: listing the workflows and starting a run
 * compiled every definition anew, about 100 ms for one of 10,000 nodes, and a run of the same
 * compiled workflow finds its definition's chunk already made (see the sessions area).
 * The compiled form is deeply frozen, so sharing it between runs shares nothing mutable.
 * @throws OrchestratorError `WORKFLOW_NOT_FOUND`
 */
export async function loadRegistered(
  workflows: WorkflowStore,
  name: string,
  version?: number,
): Promise<{ stored: StoredWorkflow; compiled: CompiledWorkflow }> {
  const stored = await workflows.getWorkflow(name, version);
  if (stored === undefined) {
    throw new OrchestratorError(
      'WORKFLOW_NOT_FOUND',
      version === undefined ? `no registered workflow "${name}"` : `workflow "${name}" has no version ${version}`,
      { details: { name, ...(version !== undefined && { version }) } },
    );
  }
  let kept = compiledByStore.get(workflows);
  if (kept === undefined) {
    kept = new Map();
    compiledByStore.set(workflows, kept);
  }
  const key = `${stored.name}@${stored.version}`;
  const hit = kept.get(key);
  kept.delete(key);
  if (hit !== undefined && hit.text === stored.definition) {
    kept.set(key, hit);
    return { stored, compiled: hit.compiled };
  }
  const compiled = compileWorkflow(JSON.parse(stored.definition) as unknown, { file: key });
  if (compiled.nodeIds.length > COMPILED_NODES_KEPT) return { stored, compiled };
  kept.set(key, { text: stored.definition, compiled });
  let nodes = 0;
  for (const entry of kept.values()) nodes += entry.compiled.nodeIds.length;
  // Map order is use order (a hit is moved to the end): the first entries were used least recently.
  for (const [oldest, entry] of kept) {
    if (kept.size <= COMPILED_KEPT && nodes <= COMPILED_NODES_KEPT) break;
    kept.delete(oldest);
    nodes -= entry.compiled.nodeIds.length;
  }
  return { stored, compiled };
}

/** What listings show of a workflow. */
export function summaryOf(stored: StoredWorkflow, compiled: CompiledWorkflow) {
  return {
    name: stored.name,
    version: stored.version,
    description: compiled.description ?? null,
    registeredAt: stored.registeredAt,
    registeredBy: stored.registeredBy,
    nodes: [...compiled.nodeIds],
    inputs: Object.fromEntries(
      Object.values(compiled.inputs).map((input) => [
        input.name,
        {
          type: input.type,
          required: input.required,
          ...(input.default !== undefined && { default: input.default }),
          ...(input.description !== undefined && { description: input.description }),
        },
      ]),
    ),
  };
}

/** The JSON Schema of a workflow's inputs (what a start request takes as `inputs`). */
export function inputsJsonSchema(compiled: CompiledWorkflow): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const input of Object.values(compiled.inputs)) {
    properties[input.name] = {
      type: input.type,
      ...(input.description !== undefined && { description: input.description }),
      ...(input.default !== undefined && { default: input.default }),
    };
    if (input.required) required.push(input.name);
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: `inputs of ${compiled.name}`,
    type: 'object',
    properties,
    required,
    additionalProperties: false,
  };
}

function checkName(name: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name) && !name.includes('..')) return name;
  throw new OrchestratorError(
    'INVALID_ARGUMENT',
    `workflow name "${name.slice(0, 80)}" cannot be registered: a registered name is a letter or digit, then letters, digits, '.', '_' or '-' (rename it in the definition)`,
    { details: { field: 'body.name', name: name.slice(0, 200) } },
  );
}

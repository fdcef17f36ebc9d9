import { z } from 'zod';
import { agentTypeSchema } from './agent-type.ts';
import { alertsSchema, budgetSchema } from './alerts.ts';
import { durationSchema } from './duration.ts';
import { inputNameSchema, nameSchema } from './names.ts';
import { retryPolicySchema } from './retry.ts';
import type { WorkflowDefinition } from './types.ts';

/** Defaults of the workflow format, in one place (the schema's `default` metadata reads them). */
export const WORKFLOW_DEFAULTS = Object.freeze({
  onFailure: 'fail_fast',
  rollback: false,
  maxNodes: 200,
  maxAddedNodes: 100,
  maxMemoryValueBytes: 64 * 1024,
  maxPromptChars: 200_000,
  kind: 'agent',
  trigger: 'all_success',
  workspace: 'shared',
  onConflict: 'pause',
} as const);

const conflictPolicySchema = z.enum(['pause', 'fail']);

/** Named priorities of a node's model requests, and the numbers they stand for. */
export const NODE_PRIORITIES = Object.freeze({ low: -1, normal: 0, high: 1 } as const);

const nodeBudgetSchema = z
  .strictObject({
    usd: z.number().nonnegative().optional().meta({ description: 'US dollars the node may spend, over its attempts.' }),
    tokens: z.number().int().nonnegative().optional().meta({
      description: 'Tokens the node may use, over its attempts: input (cache reads and writes included) plus output.',
    }),
  })
  .meta({
    title: 'Node budget',
    description:
      "Hard limits of one node's model spend, enforced per request by the model gateway: a request that does not fit fails the node with BUDGET_EXHAUSTED.",
  });

const prioritySchema = z.union([z.enum(['low', 'normal', 'high']), z.number().int().min(-100).max(100)]).meta({
  description:
    "Place of the node's model requests in the gateway's queue when rate limits make requests wait: 'high', 'normal', 'low' (1, 0, -1) or a number from -100 to 100; higher goes first.",
  default: 'normal',
});

/** Node kinds every orchestrator knows; plugins add more. */
export const BUILT_IN_NODE_KINDS = Object.freeze(['agent', 'human', 'approval'] as const);

const cacheSchema = z
  .strictObject({ ttl: durationSchema.meta({ description: 'How long a cached output stays valid.' }) })
  .meta({ title: 'Cache', description: 'Reuse an output produced with the same task and inputs within ttl.' });

const inputSchema = z
  .strictObject({
    type: z.enum(['string', 'number', 'boolean', 'object', 'array']).meta({ description: "The value's type." }),
    default: z.unknown().optional().meta({ description: 'The value used when a run gives none.' }),
    required: z
      .boolean()
      .optional()
      .meta({ description: 'Must a run give a value (default: true unless a default is given).' }),
    description: z.string().optional().meta({ description: 'What the input means.' }),
  })
  .meta({ title: 'Input' });

/** The schema of one node (`nodes[i]`); run-time additions are checked with it too. */
export const nodeSchema = z
  .strictObject({
    id: nameSchema('node id').meta({ description: 'Unique id of the node.' }),
    kind: z
      .string()
      .min(1)
      .optional()
      .meta({
        description: "What the node does: 'agent', 'human', 'approval', or a kind added by a plugin.",
        default: WORKFLOW_DEFAULTS.kind,
        examples: [...BUILT_IN_NODE_KINDS],
      }),
    description: z.string().optional().meta({ description: 'What the step is for.' }),
    agent: nameSchema('agent name').optional().meta({ description: 'Agent type that runs the task (agent nodes).' }),
    task: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Task template: {{ inputs.NAME }}, {{ nodes.ID.output }}, {{ session.workspace }}.' }),
    prompt: z.string().min(1).optional().meta({ description: 'Question or thing to approve (human, approval nodes).' }),
    dependsOn: z
      .array(nameSchema('node id'))
      .optional()
      .meta({ description: 'Ids of nodes that must finish first.', default: [] }),
    group: nameSchema('group name').optional().meta({ description: 'Parallel group this node belongs to.' }),
    condition: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'CEL expression over inputs and upstream nodes; false skips the node.' }),
    trigger: z.enum(['all_success', 'all_done', 'none_failed']).optional().meta({
      description: "How dependencies' outcomes decide whether the node runs.",
      default: WORKFLOW_DEFAULTS.trigger,
    }),
    retry: retryPolicySchema.optional(),
    timeout: durationSchema.optional().meta({ description: 'Longest time one attempt may take.' }),
    output: z
      .strictObject({
        schema: z
          .record(z.string(), z.unknown())
          .meta({ description: 'JSON Schema of the output (root type: object).' }),
      })
      .optional()
      .meta({ description: 'Structured output required from the agent.' }),
    cache: z
      .union([z.boolean(), cacheSchema])
      .optional()
      .meta({ description: "Reuse a recent output; true uses the workflow's cache.ttl.", default: false }),
    compensation: z
      .union([
        z.string().min(1),
        z.strictObject({
          task: z.string().min(1).meta({ description: 'Compensation task template.' }),
          agent: nameSchema('agent name').optional().meta({ description: "Agent that runs it (default: the node's)." }),
        }),
      ])
      .optional()
      .meta({ description: 'Task run on rollback to undo this node.' }),
    workspace: z
      .enum(['shared', 'isolated'])
      .optional()
      .meta({ description: "'shared': the session workspace; 'isolated': its own git worktree." }),
    onConflict: conflictPolicySchema.optional().meta({
      description:
        "Isolated nodes: what a merge conflict with the workspace does. 'pause' asks a human to resolve it (the node's worktree and branch are kept), 'fail' fails the node with MERGE_CONFLICT (they are kept too). Default: the workflow's onConflict.",
    }),
    session: z
      .strictObject({
        from: nameSchema('node id').meta({
          description: 'An upstream agent node whose agent conversation (SDK session) this node carries on.',
        }),
        fork: z.boolean().optional().meta({
          description: 'Branch a new conversation from it (its history, a new session id) instead of continuing it.',
          default: false,
        }),
      })
      .optional()
      .meta({ description: "Carry on (or fork) the conversation of an upstream agent node's agent." }),
    params: z.record(z.string(), z.unknown()).optional().meta({ description: 'Settings of a plugin node kind.' }),
    budget: nodeBudgetSchema.optional(),
    priority: prioritySchema.optional(),
  })
  .meta({ title: 'Node', description: 'One step of the workflow.' });

/** The zod schema of a {@link WorkflowDefinition}; the loader and the JSON Schema both come from it. */
export const workflowSchema = z
  .strictObject({
    $schema: z
      .string()
      .optional()
      .meta({ description: 'JSON Schema of this file, for editors; ignored by the loader.' }),
    name: nameSchema('workflow name').meta({ description: 'Name of the workflow.' }),
    description: z.string().optional().meta({ description: 'What the workflow does.' }),
    version: z
      .union([z.string().min(1), z.number()])
      .optional()
      .meta({ description: 'Version of this definition.' }),
    inputs: z.record(inputNameSchema(), inputSchema).optional().meta({ description: 'Inputs by name.', default: {} }),
    agents: z
      .record(nameSchema('agent name'), agentTypeSchema)
      .optional()
      .meta({ description: 'Agent types by name.' }),
    groups: z
      .record(
        nameSchema('group name'),
        z
          .strictObject({
            concurrency: z.number().int().min(1).meta({ description: 'Most nodes of the group running at once.' }),
            description: z.string().optional(),
          })
          .meta({ title: 'Group' }),
      )
      .optional()
      .meta({ description: 'Parallel groups by name.' }),
    concurrency: z.number().int().min(1).max(1000).optional().meta({
      description:
        "Most nodes running at once, agents and others together. Unset: agent nodes are held to the orchestrator's agent cap (ORCHESTRATOR_MAX_AGENTS, 4) and the other nodes to its node cap (ORCHESTRATOR_MAX_NODES, 64).",
    }),
    onFailure: z
      .enum(['fail_fast', 'continue'])
      .optional()
      .meta({ description: 'What a failed node does to the run.', default: WORKFLOW_DEFAULTS.onFailure }),
    onConflict: conflictPolicySchema.optional().meta({
      description: "What a merge conflict of an isolated node does, for nodes that do not say: 'pause' or 'fail'.",
      default: WORKFLOW_DEFAULTS.onConflict,
    }),
    rollback: z
      .boolean()
      .optional()
      .meta({ description: 'Run compensation tasks when the run fails.', default: WORKFLOW_DEFAULTS.rollback }),
    cache: cacheSchema.optional().meta({ description: 'Default cache for nodes with cache: true.' }),
    limits: z
      .strictObject({
        maxNodes: z
          .number()
          .int()
          .min(1)
          .max(10_000)
          .optional()
          .meta({ description: 'Most nodes, counting nodes added at run time.', default: WORKFLOW_DEFAULTS.maxNodes }),
        maxAddedNodes: z.number().int().min(0).max(10_000).optional().meta({
          description: 'Most nodes added at run time over a run, by agents and operators together.',
          default: WORKFLOW_DEFAULTS.maxAddedNodes,
        }),
        maxMemoryValueBytes: z
          .number()
          .int()
          .min(1)
          .max(16 * 1024 * 1024)
          .optional()
          .meta({
            description: 'Largest value (bytes of its JSON) an agent may store with memory_set.',
            default: WORKFLOW_DEFAULTS.maxMemoryValueBytes,
          }),
        maxPromptChars: z.number().int().min(1000).max(10_000_000).optional().meta({
          description:
            "Longest prompt an agent node gets: its task plus its dependencies' results, which share what is left.",
          default: WORKFLOW_DEFAULTS.maxPromptChars,
        }),
      })
      .optional()
      .meta({ description: 'Limits of a run: graph growth, memory values, prompt size.' }),
    alerts: alertsSchema.optional(),
    budget: budgetSchema.optional(),
    nodes: z.array(nodeSchema).min(1).meta({ description: 'The nodes of the graph.' }),
  })
  .meta({
    title: 'Orchestrator workflow',
    description: 'A workflow of the AI Orchestrator: agents, inputs and a graph of nodes.',
  });

/** The workflow as it leaves the schema, before cross-field checks and conversion. */
export type ParsedWorkflow = z.output<typeof workflowSchema>;

// tsc fails here if the documented interfaces and the schema drift apart.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesTypes: Same<z.input<typeof workflowSchema>, WorkflowDefinition> = true;
void schemaMatchesTypes;

import { z } from 'zod';
import { nameSchema } from './names.ts';
import { didYouMean, type RawProblem } from './problems.ts';

/**
 * What an agent type may change in its running workflow through the orchestrator's
 * `add_nodes` and `skip_nodes` tools. Only for types with `canModifyWorkflow: true`; without
 * a `graph` entry such a type gets the defaults below. Whatever a policy says, no agent ever
 * skips a `human` or `approval` node, nor a node whose skip would skip one (see the engine's
 * graph decisions), and every run-time addition counts against the workflow's `limits`.
 *
 * @example
 * agents:
 *   lead:
 *     canModifyWorkflow: true
 *     graph:
 *       addNodes: { kinds: [agent], agents: [coder], maxPerCall: 3, maxPerRun: 10 }
 *       skipNodes: false
 */
export interface GraphPolicyDefinition {
  /** May the agent add nodes: `false` = no `add_nodes` tool, `true` = with the defaults of {@link AddNodesPolicyDefinition}. @default true */
  addNodes?: boolean | AddNodesPolicyDefinition;
  /** May the agent skip nodes that have not started: `false` = no `skip_nodes` tool, `true` = agent nodes only. @default true */
  skipNodes?: boolean | SkipNodesPolicyDefinition;
}

/** Which nodes, and how many, an agent may add. */
export interface AddNodesPolicyDefinition {
  /** Node kinds it may add. @default ['agent'] */
  kinds?: string[];
  /** Agent types the nodes it adds may name (as `agent` or a compensation's agent). @default every agent type of the workflow */
  agents?: string[];
  /** Most nodes in one call. @default 10 */
  maxPerCall?: number;
  /** Most nodes the agents of this type add over one run, all calls together. @default 50 */
  maxPerRun?: number;
}

/** Which nodes an agent may skip. */
export interface SkipNodesPolicyDefinition {
  /** Node kinds it may skip; `human` and `approval` are never allowed. @default ['agent'] */
  kinds?: string[];
}

/** The defaults of a graph policy, in one place. */
export const GRAPH_POLICY_DEFAULTS = Object.freeze({
  addKinds: Object.freeze(['agent']),
  skipKinds: Object.freeze(['agent']),
  maxPerCall: 10,
  maxPerRun: 50,
} as const);

/** Node kinds no agent may skip: a person must see them. */
export const PROTECTED_NODE_KINDS: ReadonlySet<string> = new Set(['human', 'approval']);

/** A compiled graph policy: `undefined` parts are forbidden. */
export interface GraphPolicy {
  readonly addNodes:
    | {
        readonly kinds: readonly string[];
        /** `undefined`: any agent type of the workflow. */
        readonly agents: readonly string[] | undefined;
        readonly maxPerCall: number;
        readonly maxPerRun: number;
      }
    | undefined;
  readonly skipNodes: { readonly kinds: readonly string[] } | undefined;
}

const kindList = z.array(z.string().min(1)).min(1);

/** The schema of a {@link GraphPolicyDefinition}. */
export const graphPolicySchema = z
  .strictObject({
    addNodes: z
      .union([
        z.boolean(),
        z.strictObject({
          kinds: kindList.optional().meta({ description: 'Node kinds it may add.', default: ['agent'] }),
          agents: z
            .array(nameSchema('agent name'))
            .optional()
            .meta({ description: 'Agent types the nodes it adds may name (default: every agent type).' }),
          maxPerCall: z
            .number()
            .int()
            .min(1)
            .max(1000)
            .optional()
            .meta({ description: 'Most nodes in one call.', default: GRAPH_POLICY_DEFAULTS.maxPerCall }),
          maxPerRun: z.number().int().min(1).max(10_000).optional().meta({
            description: 'Most nodes agents of this type add over a run.',
            default: GRAPH_POLICY_DEFAULTS.maxPerRun,
          }),
        }),
      ])
      .optional()
      .meta({ description: 'May the agent add nodes (true: agent nodes, 10 a call, 50 a run).', default: true }),
    skipNodes: z
      .union([
        z.boolean(),
        z.strictObject({
          kinds: kindList
            .refine((kinds) => !kinds.some((kind) => PROTECTED_NODE_KINDS.has(kind)), {
              error: 'human and approval nodes are protected: no agent may skip them',
            })
            .optional()
            .meta({ description: 'Node kinds it may skip (never human or approval).', default: ['agent'] }),
        }),
      ])
      .optional()
      .meta({ description: 'May the agent skip nodes that have not started (true: agent nodes).', default: true }),
  })
  .meta({
    title: 'Graph policy',
    description: 'What an agent with canModifyWorkflow may change in its running workflow.',
  });

/** Compiles a policy that passed {@link graphPolicySchema}; `undefined` gives the defaults. */
export function compileGraphPolicy(definition: z.output<typeof graphPolicySchema> | undefined): GraphPolicy {
  const add = definition?.addNodes ?? true;
  const skip = definition?.skipNodes ?? true;
  const addObject = typeof add === 'object' ? add : {};
  const skipObject = typeof skip === 'object' ? skip : {};
  return Object.freeze({
    addNodes:
      add === false
        ? undefined
        : Object.freeze({
            kinds: Object.freeze([...(addObject.kinds ?? GRAPH_POLICY_DEFAULTS.addKinds)]),
            agents: addObject.agents ? Object.freeze([...addObject.agents]) : undefined,
            maxPerCall: addObject.maxPerCall ?? GRAPH_POLICY_DEFAULTS.maxPerCall,
            maxPerRun: addObject.maxPerRun ?? GRAPH_POLICY_DEFAULTS.maxPerRun,
          }),
    skipNodes:
      skip === false
        ? undefined
        : Object.freeze({ kinds: Object.freeze([...(skipObject.kinds ?? GRAPH_POLICY_DEFAULTS.skipKinds)]) }),
  });
}

/**
 * Cross-field checks of the agent types' graph policies in a workflow: a policy needs
 * `canModifyWorkflow: true`, and the kinds and agent types it names must exist.
 */
export function checkGraphPolicies(
  agents: Readonly<Record<string, unknown>>,
  agentNames: ReadonlySet<string>,
  nodeKinds: readonly string[],
): RawProblem[] {
  const problems: RawProblem[] = [];
  for (const [key, raw] of Object.entries(agents)) {
    const type = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    const graph = type.graph;
    if (typeof graph !== 'object' || graph === null) continue;
    if (type.canModifyWorkflow !== true) {
      problems.push({
        path: ['agents', key, 'graph'],
        message: 'a graph policy applies only to agents that may change the workflow: add canModifyWorkflow: true',
      });
    }
    const add = (graph as Record<string, unknown>).addNodes;
    if (typeof add !== 'object' || add === null) continue;
    const { kinds, agents: allowed } = add as { kinds?: unknown; agents?: unknown };
    if (Array.isArray(kinds)) {
      kinds.forEach((kind, i) => {
        if (typeof kind === 'string' && !nodeKinds.includes(kind)) {
          problems.push({
            path: ['agents', key, 'graph', 'addNodes', 'kinds', i],
            message: `unknown node kind '${kind}' (known: ${nodeKinds.join(', ')})${didYouMean(kind, nodeKinds)}`,
          });
        }
      });
    }
    if (Array.isArray(allowed)) {
      allowed.forEach((name, i) => {
        if (typeof name === 'string' && !agentNames.has(name)) {
          problems.push({
            path: ['agents', key, 'graph', 'addNodes', 'agents', i],
            message: `unknown agent '${name}'${didYouMean(name, agentNames)}`,
          });
        }
      });
    }
  }
  return problems;
}

import { createRequire } from 'node:module';
import type { McpSdkServerConfigWithInstance } from '@anthropic-ai/claude-agent-sdk';
import { z } from 'zod';
import type { ToolApproval, TypeRules } from '../security/index.ts';

/** The name under which the orchestrator's tools reach agents: `mcp__orchestrator__<tool>`. */
export const ORCHESTRATOR_MCP_SERVER = 'orchestrator';

/** Rule that lets every agent call the orchestrator's own tools. */
export const ORCHESTRATOR_TOOLS_RULE = `mcp__${ORCHESTRATOR_MCP_SERVER}__*`;

/** A node an agent asks to add to the running workflow. */
export interface NodeRequest {
  id: string;
  /** `agent` (the default), or another kind its graph policy allows (`human`, `approval`...). */
  kind?: string | undefined;
  /** The task of an agent node. */
  task?: string | undefined;
  /** The question of a human or approval node. */
  prompt?: string | undefined;
  agent?: string | undefined;
  description?: string | undefined;
  dependsOn?: string[] | undefined;
  /** Pending nodes that must now also wait for this one (insert it before them). */
  requiredBy?: string[] | undefined;
  /** Longest time one attempt may take ("10m", or ms); checked by the workflow's own rules. */
  timeout?: string | number | undefined;
  /** Structured output required of the new node's agent. */
  output?: { schema: Record<string, unknown> } | undefined;
}

/**
 * What the orchestrator offers an agent as tools, implemented by the session and workflow
 * layers. Optional members are left out of the agent's tool list when absent.
 */
export interface AgentToolHost {
  memoryGet(key: string): Promise<unknown>;
  memorySet(key: string, value: unknown): Promise<void>;
  memoryList(): Promise<string[]>;
  /** Asks a human; resolves with the answer once given (the workflow awaits input meanwhile). */
  askHuman?(question: string): Promise<string>;
  /** Present only for agent types allowed to modify the workflow. */
  addNodes?(nodes: NodeRequest[]): Promise<string>;
  skipNodes?(ids: string[], reason: string): Promise<string>;
  /**
   * Asks a human whether one tool call may run (an `ask` rule, or Claude Code asking): resolves
   * true when approved, false when refused; rejects with `INPUT_TIMEOUT` when unanswered within
   * `approval.timeoutMs` (the question is then closed). Not an agent tool: the security gate
   * calls it. Absent: asks are denied.
   */
  approveTool?(approval: ToolApproval): Promise<boolean>;
  /** The session's run-time grants and revocations for the agent's type, as they stand now. */
  permissionRules?(): TypeRules;
}

const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
const failure = (value: string) => ({ content: [{ type: 'text' as const, text: value }], isError: true });

/**
 * Builds a fresh in-process MCP server with the orchestrator's tools for ONE query (an
 * instance serves one Claude Code process only). Tools are sent with their full schema
 * (`alwaysLoad`) so the model sees them without a ToolSearch round trip.
 */
export function createOrchestratorMcpServer(host: AgentToolHost): McpSdkServerConfigWithInstance {
  // Synchronous, as the options built around it are: the SDK is an ES module without top-level
  // await, so `require` returns the instance `import()` gives (loaded once, when first used).
  const { createSdkMcpServer, tool } = createRequire(import.meta.url)(
    '@anthropic-ai/claude-agent-sdk',
  ) as typeof import('@anthropic-ai/claude-agent-sdk');
  const load = { alwaysLoad: true };
  const tools: NonNullable<Parameters<typeof createSdkMcpServer>[0]['tools']> = [
    tool(
      'memory_get',
      "Read a value from the session's shared memory, which all agents of the session share.",
      { key: z.string().min(1).describe('the key') },
      async ({ key }) => {
        const value = await host.memoryGet(key);
        return text(value === undefined ? `no value for "${key}"` : JSON.stringify(value));
      },
      load,
    ),
    tool(
      'memory_set',
      "Store a JSON value in the session's shared memory for other agents to read.",
      { key: z.string().min(1).max(200), value: z.unknown().describe('any JSON value') },
      async ({ key, value }) => {
        try {
          await host.memorySet(key, value);
          return text(`stored "${key}"`);
        } catch (error) {
          return failure(error instanceof Error ? error.message : String(error));
        }
      },
      load,
    ),
    tool(
      'memory_list',
      "List the keys in the session's shared memory.",
      {},
      async () => text(JSON.stringify(await host.memoryList())),
      load,
    ),
  ];
  const { askHuman, addNodes, skipNodes } = host;
  if (askHuman) {
    tools.push(
      tool(
        'ask_human',
        'Ask the human operator a question and wait for the answer. Use only when you cannot proceed otherwise.',
        { question: z.string().min(1).max(4000) },
        async ({ question }) => text(await askHuman.call(host, question)),
        load,
      ),
    );
  }
  if (addNodes) {
    tools.push(
      tool(
        'add_nodes',
        'Add nodes (tasks for agents) to the running workflow. Each new node runs once its dependencies complete. ' +
          'What you may add (kinds, agent types, how many) is limited by your policy; a refusal says which rule.',
        {
          nodes: z
            .array(
              z.object({
                id: z.string().regex(/^[a-z][a-z0-9_-]*$/),
                kind: z.string().optional().describe("'agent' (default); other kinds only if your policy allows them"),
                task: z.string().min(1).optional().describe('the task of an agent node'),
                prompt: z.string().min(1).optional().describe('the question of a human or approval node'),
                agent: z.string().optional(),
                description: z.string().optional().describe('what the step is for'),
                dependsOn: z.array(z.string()).optional(),
                requiredBy: z
                  .array(z.string())
                  .optional()
                  .describe('ids of pending nodes that must wait for this new node'),
                timeout: z
                  .union([z.string(), z.number()])
                  .optional()
                  .describe('longest time one attempt may take, e.g. "10m"'),
                output: z
                  .object({ schema: z.record(z.string(), z.unknown()) })
                  .optional()
                  .describe('structured output required of the agent: { schema: <JSON Schema, root type object> }'),
              }),
            )
            .min(1),
        },
        async ({ nodes }) => {
          try {
            return text(await addNodes.call(host, nodes));
          } catch (error) {
            return failure(error instanceof Error ? error.message : String(error));
          }
        },
        load,
      ),
    );
  }
  if (skipNodes) {
    tools.push(
      tool(
        'skip_nodes',
        'Skip nodes of the running workflow that have not started yet. Human and approval nodes (and nodes whose skip would skip one) cannot be skipped.',
        { ids: z.array(z.string()).min(1), reason: z.string().min(1) },
        async ({ ids, reason }) => {
          try {
            return text(await skipNodes.call(host, ids, reason));
          } catch (error) {
            return failure(error instanceof Error ? error.message : String(error));
          }
        },
        load,
      ),
    );
  }
  return createSdkMcpServer({ name: ORCHESTRATOR_MCP_SERVER, version: '1.0.0', tools });
}

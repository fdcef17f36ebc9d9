import type {
  McpHttpServerConfig,
  McpSSEServerConfig,
  McpStdioServerConfig,
  PermissionMode,
} from '@anthropic-ai/claude-agent-sdk';
import { z } from 'zod';
import type { AgentSpec } from '../../agents/index.ts';
import { checkAgentEnvName } from '../../security/index.ts';
import {
  type AgentSecurity,
  type ConfineDefinition,
  checkSecurity,
  confineSchema,
  type PermissionsDefinition,
  permissionsSchema,
  ruleSchema,
  type SandboxDefinition,
  sandboxSchema,
  toAgentSecurity,
} from './agent-security.ts';
import { type DurationInput, durationSchema, durationToMs } from './duration.ts';
import { compileGraphPolicy, type GraphPolicy, type GraphPolicyDefinition, graphPolicySchema } from './graph-policy.ts';
import { nameSchema } from './names.ts';
import { type DefinitionProblem, definitionError, formatPath, issuesToProblems, type RawProblem } from './problems.ts';
import { compileRetryPolicy, type RetryPolicy, type RetryPolicyDefinition, retryPolicySchema } from './retry.ts';

/** The SDK's permission modes, in the SDK's spelling. */
export const PERMISSION_MODES = [
  'default',
  'acceptEdits',
  'bypassPermissions',
  'plan',
  'dontAsk',
  'auto',
] as const satisfies readonly PermissionMode[];

// Fails to compile when the SDK adds a permission mode that is not listed above.
const allModesListed: Exclude<PermissionMode, (typeof PERMISSION_MODES)[number]> extends never ? true : false = true;
void allModesListed;

/** Where an agent works: `session` = the session's shared workspace, `isolated` = its own git worktree. */
export type WorkingDirectoryPolicy = 'session' | 'isolated';

/** An external MCP server launched as a child process (the SDK's stdio config). */
export interface McpStdioServerDefinition {
  /** @default 'stdio' */
  type?: 'stdio';
  /** Executable to start. */
  command: string;
  /** Its arguments. */
  args?: string[];
  /** Extra environment variables for it. */
  env?: Record<string, string>;
  /** Per-call timeout of its tools. @default the SDK's */
  timeout?: DurationInput;
  /** Always send its tools' full schemas instead of deferring them behind tool search. @default false */
  alwaysLoad?: boolean;
}

/** An external MCP server reached over HTTP (`http`) or server-sent events (`sse`). */
export interface McpRemoteServerDefinition {
  /** The transport. */
  type: 'http' | 'sse';
  /** The server's URL (http or https). */
  url: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Per-call timeout of its tools. @default the SDK's */
  timeout?: DurationInput;
  /** Always send its tools' full schemas instead of deferring them behind tool search. @default false */
  alwaysLoad?: boolean;
}

/** An external MCP server an agent may use; in-process servers are the orchestrator's own business. */
export type McpServerDefinition = McpStdioServerDefinition | McpRemoteServerDefinition;

/** A compiled MCP server config, ready for the SDK's `mcpServers` option. */
export type McpServerSpec = Readonly<McpStdioServerConfig | McpSSEServerConfig | McpHttpServerConfig>;

/**
 * A kind of agent (loose input, as written in YAML or TypeScript): its role, model, tools,
 * security and limits. Unknown keys are rejected. Tool entries and rules use Claude Code's
 * permission syntax: `Read`, `mcp__github__*`, `Bash(git *)`, `Edit(src/**)`. See
 * docs/security.md for what Claude Code enforces and what the orchestrator adds.
 */
export interface AgentTypeDefinition {
  /** Name of the type; inside a workflow's `agents` map the key names it. */
  name?: string;
  /** What this agent is for, shown in listings and to planners. */
  description?: string;
  /** The system prompt. @default none: Claude Code's own prompt alone */
  systemPrompt?: string;
  /** `append` adds `systemPrompt` after Claude Code's own prompt; `replace` uses it alone. @default 'append' */
  systemPromptMode?: 'append' | 'replace';
  /** Model name or alias. @default the SDK's default model */
  model?: string;
  /**
   * The tools that exist for the agent, each also an allow rule: `Read`, `Bash(git *)` (Bash
   * exists; commands Claude Code reads as `git …` are allowed), `Edit(src/**)` (Edit, Write and
   * NotebookEdit exist; edits under src/ are allowed), `Read(docs/**)` (Read, Glob, Grep),
   * `mcp__github__*`. A built-in tool not listed does not exist; `[]`: none (the
   * orchestrator's own tools and structured output remain).
   * @default every built-in tool, and no allow list: what Claude Code asks about is allowed
   */
  tools?: string[];
  /** Denied tools and rules; bare names are removed outright. They win over `tools`. @default [] */
  disallowedTools?: string[];
  /** Allow, deny and ask rules, judged by Claude Code. @default {} */
  permissions?: PermissionsDefinition;
  /** Claude Code's Bash sandbox; `false` opts out. @default enabled, no network */
  sandbox?: false | SandboxDefinition;
  /** Confinement beyond writes (always confined to the workspace). @default { reads: false } */
  confine?: ConfineDefinition;
  /** The SDK permission mode. @default 'default' */
  permissionMode?: PermissionMode;
  /** Most model turns in one run. @default the SDK's (unlimited) */
  maxTurns?: number;
  /** Most US dollars one run may spend. @default no limit */
  maxBudgetUsd?: number;
  /** External MCP servers by name. @default {} */
  mcpServers?: Record<string, McpServerDefinition>;
  /** Where the agent works. @default 'session' */
  workingDirectory?: WorkingDirectoryPolicy;
  /** Longest time one run may take. @default no limit (a node's `timeout` applies) */
  timeout?: DurationInput;
  /** Retry policy of a run. @default one attempt */
  retry?: RetryPolicyDefinition;
  /** May this agent add or skip workflow nodes through the orchestrator's tools. @default false */
  canModifyWorkflow?: boolean;
  /**
   * Variables of the agent's environment, with literal values: `{ NODE_ENV: test }`. Agents
   * get an allow-list (PATH, locale, TERM, TZ, a HOME and TMPDIR of their own under the data
   * directory), never the host's environment; this adds to it. Values are recorded with the
   * workflow, so names that look like secrets (KEY, TOKEN, SECRET, PASSWORD...) are refused
   * here: use `passEnv`. Names the orchestrator sets (HOME, TMPDIR, `ANTHROPIC_*`, `CLAUDE_*`)
   * are refused. @default {}
   */
  env?: Record<string, string>;
  /**
   * Names of variables copied from the orchestrator's environment into the agent's:
   * `[GITHUB_TOKEN]`. Unset ones are left out. Values of names that look like secrets are
   * redacted from everything written; list others in `ORCHESTRATOR_SECRETS`. @default []
   */
  passEnv?: string[];
  /** What it may change when `canModifyWorkflow` is true (see {@link GraphPolicyDefinition}). @default agent nodes only, 10 a call, 50 a run */
  graph?: GraphPolicyDefinition;
}

/** A validated agent type: defaults applied, durations in milliseconds, deeply frozen. */
export interface AgentType {
  readonly name: string;
  readonly description: string | undefined;
  readonly systemPrompt: string | undefined;
  readonly systemPromptMode: 'append' | 'replace';
  readonly model: string | undefined;
  /** The tools that exist (each also an allow rule); `undefined`: every built-in tool. */
  readonly tools: readonly string[] | undefined;
  readonly disallowedTools: readonly string[];
  readonly permissions: AgentSecurity['permissions'];
  readonly sandbox: AgentSecurity['sandbox'];
  readonly confine: AgentSecurity['confine'];
  readonly permissionMode: PermissionMode;
  readonly maxTurns: number | undefined;
  readonly maxBudgetUsd: number | undefined;
  readonly mcpServers: Readonly<Record<string, McpServerSpec>>;
  readonly workingDirectory: WorkingDirectoryPolicy;
  readonly timeoutMs: number | undefined;
  /** The type's retry policy; `undefined` when it states none (the runtime's default applies). */
  readonly retry: RetryPolicy | undefined;
  readonly canModifyWorkflow: boolean;
  /** What it may change in its workflow; `undefined` unless `canModifyWorkflow`. */
  readonly graph: GraphPolicy | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly passEnv: readonly string[];
}

// The agent runtime takes an `AgentSpec`; a compiled agent type must be one.
const specCompatible: AgentType extends AgentSpec ? true : false = true;
void specCompatible;

const stringMap = z.record(z.string(), z.string());

/** A variable name an agent type may declare (see `checkAgentEnvName`). */
const envName = (kind: 'literal' | 'passed') =>
  z.string().superRefine((value, ctx) => {
    const problem = checkAgentEnvName(value, kind);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
  });
const httpUrl = z.string().regex(/^https?:\/\/\S+$/, {
  error: (issue) => `expected an http:// or https:// URL, received ${JSON.stringify(issue.input)}`,
});

const mcpServerSchema = z.union([
  z.strictObject({
    type: z.literal('stdio').optional(),
    command: z.string().min(1),
    args: z.array(z.string()).optional(),
    env: stringMap.optional(),
    timeout: durationSchema.optional(),
    alwaysLoad: z.boolean().optional(),
  }),
  z.strictObject({
    type: z.enum(['http', 'sse']),
    url: httpUrl,
    headers: stringMap.optional(),
    timeout: durationSchema.optional(),
    alwaysLoad: z.boolean().optional(),
  }),
]);

/** The schema of an {@link AgentTypeDefinition}: strict, so that typos such as `systemPromt` fail. */
export const agentTypeSchema = z
  .strictObject({
    name: nameSchema('agent name')
      .optional()
      .meta({ description: 'Name of the type; in a workflow the key names it.' }),
    description: z.string().optional().meta({ description: 'What this agent is for.' }),
    systemPrompt: z.string().min(1).optional().meta({ description: 'The system prompt.' }),
    systemPromptMode: z
      .enum(['append', 'replace'])
      .optional()
      .meta({ description: "'append' after Claude Code's own prompt, or 'replace' it.", default: 'append' }),
    model: z.string().min(1).optional().meta({ description: 'Model name or alias.' }),
    tools: z.array(ruleSchema).optional().meta({
      description: 'The tools that exist, each also an allow rule: Read, Bash(git *), Edit(src/**), mcp__github__*.',
    }),
    disallowedTools: z.array(ruleSchema).optional().meta({ description: 'Denied tools; they win over tools.' }),
    permissions: permissionsSchema.optional(),
    sandbox: sandboxSchema.optional(),
    confine: confineSchema.optional(),
    permissionMode: z
      .enum(PERMISSION_MODES)
      .optional()
      .meta({ description: 'The SDK permission mode.', default: 'default' }),
    maxTurns: z.number().int().min(1).optional().meta({ description: 'Most model turns in one run.' }),
    maxBudgetUsd: z.number().positive().optional().meta({ description: 'Most US dollars one run may spend.' }),
    mcpServers: z
      .record(nameSchema('server name'), mcpServerSchema)
      .optional()
      .meta({ description: 'External MCP servers (stdio, http, sse) by name.' }),
    workingDirectory: z
      .enum(['session', 'isolated'])
      .optional()
      .meta({ description: "'session': the session workspace; 'isolated': its own git worktree.", default: 'session' }),
    timeout: durationSchema.optional().meta({ description: 'Longest time one run may take.' }),
    retry: retryPolicySchema.optional(),
    canModifyWorkflow: z
      .boolean()
      .optional()
      .meta({ description: 'May this agent add or skip workflow nodes.', default: false }),
    env: z
      .record(envName('literal'), z.string())
      .optional()
      .meta({ description: "Variables of the agent's environment, literal values (no secrets: use passEnv)." }),
    passEnv: z
      .array(envName('passed'))
      .optional()
      .meta({ description: "Names of variables copied from the orchestrator's environment (their values redacted)." }),
    graph: graphPolicySchema.optional(),
  })
  .superRefine(checkSecurity)
  .meta({ title: 'Agent type', description: 'A kind of agent: role, model, tools and limits.' });

/** Options of {@link compileAgentType}. */
export interface CompileAgentTypeOptions {
  /** The name to use when the definition has none (such as its key in a map). */
  name?: string;
  /** File name shown in problems. @default '<inline>' */
  file?: string;
}

/**
 * Validates an agent type definition and returns the compiled, frozen {@link AgentType}.
 * @throws OrchestratorError `AGENT_TYPE_INVALID` listing every problem (unknown keys with a
 * suggestion, wrong types with what was expected and received, a missing or mismatched name).
 */
export function compileAgentType(definition: unknown, options: CompileAgentTypeOptions = {}): AgentType {
  const file = options.file ?? '<inline>';
  const parsed = agentTypeSchema.safeParse(definition, { reportInput: true });
  const problems: RawProblem[] = parsed.success ? [] : issuesToProblems(parsed.error.issues, agentTypeSchema);
  const name = parsed.data?.name ?? options.name;
  if (parsed.success && name === undefined) {
    problems.push({ path: ['name'], message: 'required field is missing (expected string)' });
  }
  if (parsed.data?.graph !== undefined && parsed.data.canModifyWorkflow !== true) {
    problems.push({
      path: ['graph'],
      message: 'a graph policy applies only to agents that may change the workflow: add canModifyWorkflow: true',
    });
  }
  if (parsed.data?.name !== undefined && options.name !== undefined && parsed.data.name !== options.name) {
    problems.push({ path: ['name'], message: `the name '${parsed.data.name}' differs from '${options.name}'` });
  }
  if (problems.length > 0 || !parsed.success || name === undefined) {
    const located: DefinitionProblem[] = problems.map((p) => ({
      file,
      line: 0,
      column: 0,
      path: formatPath(p.path),
      message: p.message,
    }));
    throw definitionError('AGENT_TYPE_INVALID', 'Agent type', file, located);
  }
  return toAgentType(parsed.data, name);
}

/**
 * Builds the compiled agent type from a value that already passed {@link agentTypeSchema}
 * (the workflow compiler validates whole files first, then calls this).
 */
export function toAgentType(definition: z.output<typeof agentTypeSchema>, name: string): AgentType {
  const mcpServers: Record<string, McpServerSpec> = Object.create(null);
  for (const [key, server] of Object.entries(definition.mcpServers ?? {})) {
    const { timeout, ...rest } = server;
    mcpServers[key] = Object.freeze(timeout === undefined ? { ...rest } : { ...rest, timeout: durationToMs(timeout) });
  }
  return Object.freeze({
    name,
    description: definition.description,
    systemPrompt: definition.systemPrompt,
    systemPromptMode: definition.systemPromptMode ?? 'append',
    model: definition.model,
    tools: definition.tools === undefined ? undefined : Object.freeze([...definition.tools]),
    disallowedTools: Object.freeze([...(definition.disallowedTools ?? [])]),
    ...toAgentSecurity(definition),
    permissionMode: definition.permissionMode ?? 'default',
    maxTurns: definition.maxTurns,
    maxBudgetUsd: definition.maxBudgetUsd,
    mcpServers: Object.freeze(mcpServers),
    workingDirectory: definition.workingDirectory ?? 'session',
    timeoutMs: definition.timeout === undefined ? undefined : durationToMs(definition.timeout),
    retry: definition.retry === undefined ? undefined : compileRetryPolicy(definition.retry),
    canModifyWorkflow: definition.canModifyWorkflow ?? false,
    env: Object.freeze({ ...definition.env }),
    passEnv: Object.freeze([...new Set(definition.passEnv ?? [])]),
    graph: definition.canModifyWorkflow === true ? compileGraphPolicy(definition.graph) : undefined,
  });
}

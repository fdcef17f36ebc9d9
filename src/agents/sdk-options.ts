import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { HookCallbackMatcher, Options, SessionStore } from '@anthropic-ai/claude-agent-sdk';
import type { NewEvent } from '../events/index.ts';
import {
  compileSecurityPolicy,
  type DataDirPaths,
  dataDirPathsOf,
  type GateAgent,
  NO_RULES,
  type Redactor,
  type SecurityPolicy,
  sdkSecurityOptions,
  ToolGate,
  transcriptsFolderOf,
} from '../security/index.ts';
import { projectKeyOf } from '../workspace/index.ts';
import type { ProcessRegistry, TrackedProcess } from './processes.ts';
import type { AgentSpec } from './spec.ts';
import { type AgentToolHost, createOrchestratorMcpServer, ORCHESTRATOR_MCP_SERVER } from './tools.ts';

/** The tool through which Claude Code delivers output for an `outputFormat` schema. */
export const STRUCTURED_OUTPUT_TOOL = 'StructuredOutput';

/** The agent a Claude Code process currently works for: what its callbacks report to. */
export interface BoundAgent {
  readonly agentId: string;
  /** The agent's working directory: file tools are confined to it. */
  readonly workspace: string;
  readonly toolHost: AgentToolHost | undefined;
  /** Records events in order (the runtime appends them to the session log). */
  record(events: NewEvent[]): void;
}

/**
 * The late binding between a process's SDK callbacks (security gate, orchestrator tools) and
 * the agent they serve. A cold query binds before it starts; a pre-warmed spare is started
 * unbound and bound when an agent claims it. An unbound process gets every tool denied.
 */
export class AgentBinding {
  current: BoundAgent | undefined;
  /** The process's security gate (it also reads the process's messages, for the audit). */
  gate: ToolGate | undefined;
}

/** Which optional orchestrator tools a tool host offers: they change the tool list. */
export interface ToolHostShape {
  readonly askHuman: boolean;
  readonly addNodes: boolean;
  readonly skipNodes: boolean;
}

/** The shape of a tool host, or undefined when there is none. */
export function toolHostShape(host: AgentToolHost | undefined): ToolHostShape | undefined {
  if (!host) return undefined;
  return {
    askHuman: host.askHuman !== undefined,
    addNodes: host.addNodes !== undefined,
    skipNodes: host.skipNodes !== undefined,
  };
}

/** Everything that fixes a Claude Code process's configuration (all of it except the cwd). */
export interface ProcessConfig {
  readonly spec: AgentSpec;
  readonly env: Record<string, string>;
  readonly outputSchema: Record<string, unknown> | undefined;
  readonly sessionStore: SessionStore | undefined;
  readonly hostShape: ToolHostShape | undefined;
  /** Known secret values, redacted from tool outputs before the model sees them. @default none */
  readonly redactor?: Redactor | undefined;
  /** Rules revoked for the agent's type in its session when it started (Claude Code denies them). */
  readonly revoked?: readonly string[] | undefined;
  /** The workspace, for agent types that confine reads (their sandbox settings name it). */
  readonly workspace?: string | undefined;
}

/** What the SDK options need besides the configuration. */
export interface ProcessWiring {
  readonly binding: AgentBinding;
  readonly abortController: AbortController;
  readonly processes: ProcessRegistry;
  /** The data directory's paths the policy names, when the caller read them already (its audit). */
  readonly paths?: DataDirPaths | undefined;
  readonly onSpawn: (process: TrackedProcess) => void;
}

const SDK_PACKAGE = '@anthropic-ai/claude-agent-sdk';
let nativeBinary: string | null | undefined;

/**
 * The Claude Code binary the SDK would pick (its platform package, musl or glibc first as the
 * C library says), found once per process. Without `pathToClaudeCodeExecutable` the SDK
 * looks it up on every `query()`, and its C library probe, `process.report.getReport()`, took
 * ~25 ms of the orchestrator's CPU per agent here, on the agent's critical path. Undefined
 * when not found: the SDK then looks itself (and says what is missing).
 */
export function claudeCodeBinary(): string | undefined {
  if (nativeBinary === undefined) nativeBinary = findNativeBinary() ?? null;
  return nativeBinary ?? undefined;
}

function findNativeBinary(): string | undefined {
  const { platform, arch } = process;
  const exe = platform === 'win32' ? '.exe' : '';
  let packages: string[];
  if (platform === 'linux') {
    const report = process.report?.getReport?.() as { header?: { glibcVersionRuntime?: string } } | undefined;
    const musl = report !== undefined && report.header?.glibcVersionRuntime === undefined;
    const glibc = `${SDK_PACKAGE}-linux-${arch}`;
    packages = musl ? [`${glibc}-musl`, glibc] : [glibc, `${glibc}-musl`];
  } else if (platform === 'android') packages = [`${SDK_PACKAGE}-linux-${arch}-android`];
  else packages = [`${SDK_PACKAGE}-${platform}-${arch}`];
  try {
    // Resolved from the SDK's own folder, as it does: its optional dependencies sit beside it.
    const fromSdk = createRequire(import.meta.resolve(SDK_PACKAGE));
    for (const name of packages) {
      try {
        const candidate = fromSdk.resolve(`${name}/claude${exe}`);
        if (existsSync(candidate)) return candidate;
      } catch {
        // Not installed for this platform: the next candidate.
      }
    }
  } catch {
    // The SDK cannot be located from here: leave the lookup to it.
  }
  return undefined;
}

/** The compiled security policy of a spec. */
export function policyOf(spec: AgentSpec): SecurityPolicy {
  return compileSecurityPolicy(spec);
}

/** The bound agent as the security gate sees it: its host's grants and approvals. */
function gateAgent(bound: BoundAgent): GateAgent {
  const host = bound.toolHost;
  return {
    agentId: bound.agentId,
    workspace: bound.workspace,
    record: (events) => bound.record(events),
    rules: () => host?.permissionRules?.() ?? NO_RULES,
    ...(host?.approveTool && { approveTool: (approval) => host.approveTool?.(approval) ?? Promise.resolve(false) }),
  };
}

/**
 * The SDK options of a process with this configuration: the agent type's security policy on
 * Claude Code's own machinery (tools, rules, confinement, sandbox) with the orchestrator's gate
 * in its permission flow, the orchestrator's tools, its tracked spawn. Without `cwd` (a
 * pre-warmed spare's cwd is given at claim).
 */
export function buildSdkOptions(config: ProcessConfig, wiring: ProcessWiring): Options {
  const { spec } = config;
  const { binding } = wiring;
  const policy = policyOf(spec);
  // Every call, the agent's own and its subagents' (Agent tool), passes the gate's hook: it
  // cannot be escaped by delegating to a subagent, whose calls carry `agent_id`.
  const paths = wiring.paths ?? dataDirPathsOf(wiring.processes.dataDir);
  const { sessionFolders } = paths;
  // The process's own TMPDIR, known once it is spawned (a spare's, before its agent).
  let scratchDir: string | undefined;
  const onSpawn = (tracked: TrackedProcess) => {
    scratchDir = tracked.scratchDir;
    wiring.onSpawn(tracked);
  };
  const gate = new ToolGate(policy, () => (binding.current ? gateAgent(binding.current) : undefined), {
    sessionFolders,
    // Claude Code keeps the agent's transcripts, and a tool output too large for the
    // conversation, which it tells the model to read, under its working directory's key.
    ownFolders: (workspace) => [
      ...(wiring.processes.dataDir === undefined
        ? []
        : [path.join(transcriptsFolderOf(wiring.processes.dataDir), projectKeyOf(path.resolve(workspace)))]),
      ...(scratchDir === undefined ? [] : [scratchDir]),
    ],
  });
  binding.gate = gate;
  const mcpServers: NonNullable<Options['mcpServers']> = { ...spec.mcpServers };
  if (config.hostShape) {
    // One in-process MCP server instance serves one process only: a fresh one per process.
    mcpServers[ORCHESTRATOR_MCP_SERVER] = createOrchestratorMcpServer(forwardingHost(binding, config.hostShape));
  }
  const options: Options = {
    env: config.env,
    abortController: wiring.abortController,
    permissionMode: spec.permissionMode ?? 'default',
    ...sdkSecurityOptions(policy, {
      // The orchestrator's own tools serve every agent (a deny rule still wins).
      alwaysAllow: [`mcp__${ORCHESTRATOR_MCP_SERVER}`],
      revoked: config.revoked ?? [],
      workspace: config.workspace,
      // The user's credentials (HOME of the orchestrator's process) and the orchestrator's data.
      privateReads: paths.privateReads,
      // Sessions' workspaces, worktrees, transcripts and scratch folders; its own working
      // directory and TMPDIR stay readable.
      sessionFolders,
      // The npm shim Claude Code runs unsandboxed: never the agent's to write, in any workspace.
      protectedWrites: paths.protectedWrites,
    }),
    hooks: withRedaction(gate.hooks(), config.redactor),
    // Claude Code's own "needs approval" path: answered by the agent type, a grant or a human.
    canUseTool: gate.canUseTool,
    mcpServers,
    // The user's own Claude Code settings, hooks and CLAUDE.md files must not change how an
    // orchestrated agent behaves: only what the agent type says applies.
    settingSources: [],
    spawnClaudeCodeProcess: wiring.processes.spawner(onSpawn),
    ...(claudeCodeBinary() !== undefined && { pathToClaudeCodeExecutable: claudeCodeBinary() }),
    stderr: () => undefined,
    // Stream events carry each response's final token counts (message_delta) and its first
    // token; the usage tracker turns them into one `agent.usage` event per response.
    includePartialMessages: true,
  };
  if (spec.systemPrompt !== undefined) {
    options.systemPrompt =
      spec.systemPromptMode === 'replace'
        ? spec.systemPrompt
        : { type: 'preset', preset: 'claude_code', append: spec.systemPrompt };
  }
  if (spec.model !== undefined) options.model = spec.model;
  if (spec.maxTurns !== undefined) options.maxTurns = spec.maxTurns;
  if (spec.maxBudgetUsd !== undefined) options.maxBudgetUsd = spec.maxBudgetUsd;
  if (spec.subagents !== undefined) options.agents = { ...spec.subagents };
  if (config.outputSchema) options.outputFormat = { type: 'json_schema', schema: config.outputSchema };
  if (config.sessionStore) options.sessionStore = config.sessionStore;
  return options;
}

/** The gate's hooks, with the redaction of tool outputs run before its own PostToolUse hooks. */
function withRedaction(
  hooks: ReturnType<ToolGate['hooks']>,
  redactor: Redactor | undefined,
): ReturnType<ToolGate['hooks']> {
  if (!redactor?.active) return hooks;
  return { ...hooks, PostToolUse: [redactionHook(redactor), ...hooks.PostToolUse] };
}

/**
 * Replaces known secret values in a tool's output before the model sees it (and before Claude
 * Code writes it to its transcript). A layer in depth: the log, the store and the local
 * transcripts are redacted anyway. Claude Code offers no rewrite of a failed tool's output
 * (`PostToolUseFailure`), so those reach the model as they are.
 */
function redactionHook(redactor: Redactor): HookCallbackMatcher {
  return {
    hooks: [
      async (hookInput) => {
        if (hookInput.hook_event_name !== 'PostToolUse') return {};
        const output = redactor.redact(hookInput.tool_response);
        // Only a real change is returned: an identity rewrite could undo another hook's.
        if (output === hookInput.tool_response) return {};
        return { hookSpecificOutput: { hookEventName: 'PostToolUse', updatedToolOutput: output } };
      },
    ],
  };
}

/**
 * A stable key of a process configuration: two agents with the same key can use the same
 * kind of pre-warmed process. The agent type's name, timeout and retry policy do not reach
 * the SDK and are left out; the environment and session store are the runtime's own.
 */
export function configKey(
  config: Pick<ProcessConfig, 'spec' | 'outputSchema' | 'hostShape' | 'revoked' | 'workspace'>,
): string {
  const { name: _name, timeoutMs: _timeout, retry: _retry, ...sdkRelevant } = config.spec;
  return JSON.stringify({
    spec: sdkRelevant,
    outputSchema: config.outputSchema,
    hostShape: config.hostShape,
    revoked: config.revoked ?? [],
    workspace: config.workspace,
  });
}

/** A tool host that forwards to the bound agent's host (the process may outlive one agent's binding). */
function forwardingHost(binding: AgentBinding, shape: ToolHostShape): AgentToolHost {
  const host = (): AgentToolHost => {
    const bound = binding.current?.toolHost;
    if (!bound) throw new Error('no agent is bound to this process');
    return bound;
  };
  return {
    memoryGet: (key) => host().memoryGet(key),
    memorySet: (key, value) => host().memorySet(key, value),
    memoryList: () => host().memoryList(),
    ...(shape.askHuman && { askHuman: (question: string) => call(host().askHuman, host(), question) }),
    ...(shape.addNodes && { addNodes: (nodes) => call(host().addNodes, host(), nodes) }),
    ...(shape.skipNodes && { skipNodes: (ids, reason) => call(host().skipNodes, host(), ids, reason) }),
  } as AgentToolHost;
}

function call<A extends unknown[], R>(
  method: ((...args: A) => Promise<R>) | undefined,
  self: AgentToolHost,
  ...args: A
): Promise<R> {
  if (!method) return Promise.reject(new Error('the tool host does not offer this tool'));
  return method.apply(self, args);
}

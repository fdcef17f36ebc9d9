import type { AgentDefinition, McpServerConfig, PermissionMode } from '@anthropic-ai/claude-agent-sdk';
import type { SecuritySpec } from '../security/index.ts';

/**
 * What the runtime needs of an agent type. The compiled agent type of the workflow layer
 * satisfies it; library users may build one directly. Its security part (`tools`,
 * `disallowedTools`, `permissions`, `sandbox`, `confine`) is described by `SecuritySpec`.
 */
export interface AgentSpec extends SecuritySpec {
  /** The agent type's name, recorded on every event. */
  readonly name: string;
  /** Appended to Claude Code's own system prompt (or replacing it, see `systemPromptMode`). */
  readonly systemPrompt?: string | undefined;
  /** @default `append`: keep Claude Code's prompt (tools, conventions) and add ours after it. */
  readonly systemPromptMode?: 'append' | 'replace' | undefined;
  /** Model name or alias; the SDK's default when absent. */
  readonly model?: string | undefined;
  /** @default `default` (what no rule allows goes through Claude Code's prompt, which the orchestrator answers) */
  readonly permissionMode?: PermissionMode | undefined;
  readonly maxTurns?: number | undefined;
  readonly maxBudgetUsd?: number | undefined;
  /** External MCP servers (stdio, SSE, HTTP) the agent may use. */
  readonly mcpServers?: Readonly<Record<string, McpServerConfig>> | undefined;
  /** Wall-clock limit of one attempt. @default 600000 (10 min) */
  readonly timeoutMs?: number | undefined;
  readonly retry?: RetrySpec | undefined;
  /**
   * Subagents the agent may start with Claude Code's `Agent` tool, by name (the SDK's `agents`
   * option). Their tool calls pass the same policy as the agent's own: a subagent cannot use a
   * tool that does not exist for its parent, nor escape its rules and sandbox. @default none (only Claude Code's built-in subagents)
   */
  readonly subagents?: Readonly<Record<string, AgentDefinition>> | undefined;
  /**
   * Variables set for the agent's process, on top of the runtime's allow-listed environment.
   * Names the orchestrator sets itself (HOME, TMPDIR, `ANTHROPIC_*`, `CLAUDE_*`) are ignored.
   * @default none
   */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /**
   * Names of variables copied from the orchestrator's environment into the agent's (unset ones
   * are left out); the way to give an agent a token, whose value is then redacted. @default none
   */
  readonly passEnv?: readonly string[] | undefined;
}

/** Retry policy of an agent: how many attempts and how long to wait between them. */
export interface RetrySpec {
  /** Total attempts including the first. @default 3 */
  readonly attempts?: number | undefined;
  /** @default 1000 */
  readonly initialDelayMs?: number | undefined;
  /** @default 30000 */
  readonly maxDelayMs?: number | undefined;
  /** @default 2 */
  readonly factor?: number | undefined;
}

/** Delay before attempt `n + 1` after `n` failed ones: exponential, capped, full jitter. */
export function backoffDelay(retry: RetrySpec | undefined, failedAttempts: number, random = Math.random): number {
  const initial = retry?.initialDelayMs ?? 1000;
  const ceiling = retry?.maxDelayMs ?? 30_000;
  const factor = retry?.factor ?? 2;
  const exponential = Math.min(ceiling, initial * factor ** Math.max(0, failedAttempts - 1));
  // Full jitter between half and all of the exponential delay: spreads retries of agents
  // that failed together (one 429 burst) without ever retrying immediately.
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

// What an AgentRuntime is given and what it gives back: its options, tasks and results.
import type { SessionStore } from '@anthropic-ai/claude-agent-sdk';
import type { AnyEvent } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import type { Redactor } from '../security/index.ts';
import type { AttemptFailure, AttemptSuccess } from './attempt.ts';
import type { ToolHostShape } from './sdk-options.ts';
import type { ProcessSlot } from './slots.ts';
import type { AgentSpec } from './spec.ts';
import type { NodeBudget, RunningAgent, SpendGate } from './spend.ts';
import type { AgentToolHost } from './tools.ts';
import type { SpareCredentials } from './warm-pool.ts';

/** Options of an `AgentRuntime`. */
export interface AgentRuntimeOptions {
  /** The session log that receives every agent event. */
  readonly log: EventLog;
  /**
   * The environment of every Claude Code process (it replaces, not extends, process.env),
   * before what an agent's type adds (`spec.env`, `spec.passEnv`). Build it with the
   * security area's `buildAgentEnv`: an allow-list, never the host's whole environment.
   */
  readonly env: Record<string, string>;
  /** Where `spec.passEnv` names are read. @default process.env */
  readonly hostEnv?: Readonly<Record<string, string | undefined>>;
  /**
   * Known secret values, kept out of what agents produce: tool outputs before the model sees
   * them, Claude Code's local transcripts once an attempt's process has exited, the agent's
   * answer. (The log and the session store redact with their own.) @default none
   */
  readonly redactor?: Redactor;
  /** Agent processes alive at once; further spawns wait in FIFO order. @default 4 */
  readonly maxConcurrent?: number;
  /** Mirrors SDK transcripts into the project's store so resume works anywhere. */
  readonly sessionStore?: SessionStore;
  /** @default 600000 */
  readonly defaultTimeoutMs?: number;
  /**
   * Pre-started Claude Code processes kept per agent configuration (SDK `prewarm()`), and per
   * configuration and shared folder (SDK `startup()`, see {@link AgentTask.sharedCwd}), so
   * that a spawn skips the cold start. Spares are processes beyond `maxConcurrent` (~230 MB
   * each); the first agent of a configuration starts cold and fills its pool, or call
   * `AgentRuntime.prewarm` ahead. @default 0 (no pool)
   */
  readonly warmPool?: number;
  /**
   * The graph-aware warm start: spares started on request (`AgentRuntime.warmStart`)
   * for the agents a workflow will need next, and for nothing else. `maxSpares` bounds the
   * spares parked or starting at once (each ~230 MB beyond `maxConcurrent`);
   * `minFreeMemoryBytes` is the memory each new spare must leave available. @default off
   */
  readonly warmStart?: { readonly maxSpares: number; readonly minFreeMemoryBytes?: number } | undefined;
  /**
   * Asked before every attempt starts a process (and when an agent is spawned): refuses it
   * when a budget is spent, or caps the SDK's `maxBudgetUsd` at what remains. @default none
   */
  readonly spendGate?: SpendGate;
  /**
   * Every this many milliseconds, the resident memory of each live agent process is recorded
   * (`agent.resources`, one event per session). Each attempt also records one sample when its
   * result arrives. 0 turns the periodic samples off. @default 5000
   */
  readonly resourceSampleMs?: number;
  /**
   * The oldest a start-up spare of a shared folder in a git work tree may be when an agent takes
   * it: it shows the agent the folder's git status as it was when it started (outside git,
   * spares do not age). @default 30000
   */
  readonly warmSpareMaxAgeMs?: number;
  /**
   * The orchestrator's data directory. Agent processes carry it in their environment and are
   * attributed to their agents under it, so that `sweepOrphans({ dataDir })` can end, after a
   * crash, the processes this runtime left behind. @default the folder holding
   * `env.CLAUDE_CONFIG_DIR` when that folder is named `claude` (the orchestrator's layout,
   * `<dataDir>/claude`), else none (the processes cannot be swept by data directory)
   */
  readonly dataDir?: string;
  /**
   * Model credentials of one agent, asked when it starts and released when it has ended: the
   * model gateway's per-agent token and URL, which replace `ANTHROPIC_API_KEY` and
   * `ANTHROPIC_BASE_URL` of `env` for that agent's processes. Spares of a warm pool are
   * started before their agent exists: they need `spareCredentials` too, else with
   * credentials there is no warm pool.
   * @default none (every agent gets `env` as it is)
   */
  readonly credentials?: (agent: RunningAgent) => AgentCredentials;
  /**
   * Model credentials of one warm pool spare, asked when it starts (Claude Code reads them at
   * start-up only; a claim cannot change its environment): the gateway's spare token, which
   * stands for no one until the agent that takes the spare binds it. The runtime releases them
   * when the spare is discarded or dies, or when the agent that took it has ended.
   * @default none
   */
  readonly spareCredentials?: () => SpareCredentials;
}

/** What {@link AgentRuntimeOptions.credentials} gives an agent. */
export interface AgentCredentials {
  readonly apiKey: string;
  readonly baseUrl: string;
  /** Called once, when the agent has ended (all of its attempts). */
  release(): void;
}

/** One agent a workflow will need soon, for `AgentRuntime.warmStart`. */
export interface WarmStartWant {
  readonly sessionId: string;
  readonly workflowId?: string | undefined;
  readonly nodeId?: string | undefined;
  /** The agent type as its task will carry it (name, timeout and retry do not matter). */
  readonly spec: AgentSpec;
  readonly outputSchema?: Record<string, unknown> | undefined;
  /** Which optional orchestrator tools its tool host will offer (none: no tool host). */
  readonly tools?: ToolHostShape | undefined;
  /** Rules revoked for its type in its session now. */
  readonly revoked?: readonly string[] | undefined;
  /** Its folder, when known (needed for types that confine reads, whose settings name it). */
  readonly cwd?: string | undefined;
}

/** One agent to run. */
export interface AgentTask {
  readonly sessionId: string;
  readonly spec: AgentSpec;
  /** The full prompt (task, context, handed-over outputs). */
  readonly prompt: string;
  /** The working directory (the session workspace or the node's worktree). */
  readonly cwd: string;
  /**
   * Other agents work in `cwd` too (the session workspace, not a one-off worktree): the warm
   * pool keeps start-up spares for this agent's configuration in it. @default false
   */
  readonly sharedCwd?: boolean;
  readonly nodeId?: string;
  /** The workflow run the agent works for, for budgets and figures. */
  readonly workflowId?: string;
  /**
   * Hard limits of the node's model spend over its attempts (its definition's `budget`):
   * handed to the model credentials, so the gateway reserves against them per request.
   * @default none
   */
  readonly nodeBudget?: NodeBudget;
  /** Its model requests' place in the gateway's queue under rate limits: higher goes first. @default 0 */
  readonly priority?: number;
  /** JSON Schema the final answer must match (structured output). */
  readonly outputSchema?: Record<string, unknown>;
  /** Continue (fork: false) or branch from (fork: true) an earlier agent's SDK session. */
  readonly resume?: { sdkSessionId: string; fork: boolean };
  readonly toolHost?: AgentToolHost;
  readonly correlationId?: string;
  /** Fixed agent id (e.g. when re-running a recorded node); a new one by default. */
  readonly agentId?: string;
  /** Called with each committed event of this agent, in order. */
  readonly onEvent?: (event: AnyEvent) => void;
  /**
   * A process slot the caller already holds (see `AgentRuntime.slots`), used by the first
   * attempt instead of waiting for one; released when that attempt ends.
   */
  readonly slot?: ProcessSlot;
}

/** The outcome of an agent, after all of its attempts. */
export type AgentResult = (AttemptSuccess | AttemptFailure) & { readonly agentId: string; readonly attempts: number };

/** A running agent. */
export interface AgentHandle {
  readonly agentId: string;
  /** Settles when the agent has completed or failed for good, its process reaped. Never rejects. */
  readonly result: Promise<AgentResult>;
  /** Stops the agent now (interrupt, then abort); the result is `AGENT_INTERRUPTED`. */
  interrupt(reason?: string): void;
}

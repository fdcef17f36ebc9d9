import { realpathSync } from 'node:fs';
import path from 'node:path';
import type {
  CanUseTool,
  HookCallbackMatcher,
  PermissionResult,
  SDKMessage,
  SyncHookJSONOutput,
} from '@anthropic-ai/claude-agent-sdk';
import { OrchestratorError } from '../errors/index.ts';
import type { NewEvent } from '../events/index.ts';
import { inputDigest, summarizeInput, type Verdict } from './audit.ts';
import { type DecisionContext, decideBeforeClaudeCode, decidePrompt } from './decide.ts';
import type { TypeRules } from './grants.ts';
import type { SecurityPolicy } from './policy.ts';
import { readTargets, realTargets } from './read-targets.ts';

/** A question to a human about one tool call (`ask`). */
export interface ToolApproval {
  readonly tool: string;
  /** The command, path or URL (shortened). */
  readonly inputSummary: string;
  /** The rule that asked, or why Claude Code asked. */
  readonly rule: string;
  /** Unanswered after this long, the call is denied (the host closes the question). */
  readonly timeoutMs: number;
  /** Aborted when the call no longer waits (the agent was stopped). */
  readonly signal: AbortSignal;
}

/** The agent a gate currently decides for. */
export interface GateAgent {
  readonly agentId: string;
  readonly workspace: string;
  /** Records events in order (the runtime appends them to the session log). */
  record(events: NewEvent[]): void;
  /** The session's grants and revocations for the agent's type, as they stand now. */
  rules(): TypeRules;
  /** Asks a human; resolves true (approved) or false; rejects on timeout. Absent: asks are denied. */
  approveTool?: ((approval: ToolApproval) => Promise<boolean>) | undefined;
}

/** Extra time the gate gives a host past the ask timeout before it stops waiting itself. */
const BACKSTOP_MS = 2000;

/**
 * The orchestrator's part in Claude Code's permission flow for one Claude Code process: a
 * PreToolUse hook that may deny (revoked rules) or ask (the type's ask rules) but never
 * allows, Claude Code's own permission prompt (`canUseTool`), answered from the agent type,
 * the session's grants or a human, and the audit: one `security.decision` event per decision,
 * whoever made it (Claude Code's own refusals are read from its messages, its approvals from
 * the PostToolUse hooks of calls that ran).
 *
 * The agent is looked up at each call (a pre-warmed process is bound to its agent late); an
 * unbound process gets every call denied.
 */
export class ToolGate {
  readonly #policy: SecurityPolicy;
  readonly #agent: () => GateAgent | undefined;
  /** Final decisions recorded, by tool use id (one per call). */
  readonly #decided = new Map<string, 'allow' | 'deny'>();
  /** Calls our hook sent to Claude Code's prompt with `ask`. */
  readonly #asked = new Map<string, Verdict>();
  readonly #subagents = new Map<string, string>();
  /** Tools and inputs of the calls the model made, by tool use id (Claude Code's refusals lack them). */
  readonly #calls = new Map<string, { readonly tool: string; readonly input: unknown }>();
  readonly #realpaths = new Map<string, string>();
  /** Folders of sessions' files, as given and real (see `sessionFoldersOf`). */
  readonly #sessionFolders: readonly string[];
  readonly #ownFolders: (workspace: string) => readonly string[];
  readonly #ownSpellings = new Map<string, readonly string[]>();

  /**
   * @param options.sessionFolders folders of sessions' files, where an agent whose reads are
   *   open reads only inside its own workspace and `ownFolders(workspace)`
   */
  constructor(
    policy: SecurityPolicy,
    agent: () => GateAgent | undefined,
    options: { sessionFolders?: readonly string[]; ownFolders?: (workspace: string) => readonly string[] } = {},
  ) {
    this.#policy = policy;
    this.#agent = agent;
    this.#ownFolders = options.ownFolders ?? (() => []);
    this.#sessionFolders = spellings(options.sessionFolders ?? []);
  }

  /** The SDK hooks of the gate: PreToolUse decides, PostToolUse(Failure) audits what ran. */
  hooks(): Record<'PreToolUse' | 'PostToolUse' | 'PostToolUseFailure', HookCallbackMatcher[]> {
    return {
      PreToolUse: [
        {
          hooks: [
            async (input) =>
              input.hook_event_name === 'PreToolUse'
                ? this.preToolUse(
                    input.tool_name,
                    input.tool_input,
                    input.tool_use_id,
                    input.agent_id,
                    await this.#reads(input.tool_name, input.tool_input),
                  )
                : {},
          ],
        },
      ],
      PostToolUse: [{ hooks: [async (input) => this.#ran(input)] }],
      PostToolUseFailure: [{ hooks: [async (input) => this.#ran(input)] }],
    };
  }

  /**
   * Our verdict before Claude Code's checks: deny, ask, or none (never allow). `reads`: the
   * paths a file tool call reads, as written and real (see {@link #reads}).
   */
  preToolUse(
    tool: string,
    input: unknown,
    toolUseId: string,
    subagentId?: string,
    reads: readonly string[] = [],
  ): SyncHookJSONOutput {
    if (subagentId) this.#subagents.set(toolUseId, subagentId);
    const agent = this.#agent();
    if (!agent) return hookOutput({ decision: 'deny', by: 'policy', reason: 'no agent is bound to this process' });
    const verdict = decideBeforeClaudeCode(this.#context(agent), tool, input, reads);
    if (!verdict) return {};
    this.#record(agent, tool, input, toolUseId, verdict);
    if (verdict.decision === 'ask') this.#asked.set(toolUseId, verdict);
    return hookOutput(verdict);
  }

  /** Claude Code's permission prompt, answered. */
  readonly canUseTool: CanUseTool = async (tool, input, options): Promise<PermissionResult> => {
    const toolUseId = options.toolUseID;
    if (options.agentID) this.#subagents.set(toolUseId, options.agentID);
    const agent = this.#agent();
    if (!agent) return { behavior: 'deny', message: 'no agent is bound to this process' };
    const hookAsked = this.#asked.get(toolUseId);
    let verdict = decidePrompt(this.#context(agent), tool, input, {
      blockedPath: options.blockedPath,
      decisionReason: options.decisionReason,
      matchedAskRule: options.matchedAskRule,
      hookAsked,
    });
    if (verdict.decision === 'ask') {
      if (!hookAsked) this.#record(agent, tool, input, toolUseId, verdict);
      verdict = await this.#askHuman(agent, tool, input, verdict, options.signal);
    }
    this.#record(agent, tool, input, toolUseId, verdict);
    return verdict.decision === 'allow'
      ? { behavior: 'allow', updatedInput: input }
      : { behavior: 'deny', message: verdict.reason };
  };

  /**
   * Reads Claude Code's own refusals from its messages: `permission_denied`, the result's list,
   * and the error result of a call to a tool that does not exist for the agent (Claude Code
   * refuses those before any permission check, and says so only in the tool's result).
   */
  observe(message: SDKMessage): void {
    const agent = this.#agent();
    if (!agent) return;
    if (message.type === 'assistant') {
      for (const block of message.message.content) {
        if (block.type === 'tool_use') this.#calls.set(block.id, { tool: block.name, input: block.input });
      }
    } else if (message.type === 'user' && Array.isArray(message.message.content)) {
      for (const block of message.message.content) {
        if (block.type !== 'tool_result' || block.is_error !== true) continue;
        const text = resultText(block.content);
        const call = this.#calls.get(block.tool_use_id);
        if (call && NO_SUCH_TOOL.test(text)) {
          this.#claudeCodeDenied(agent, call.tool, call.input, block.tool_use_id, stripToolUseError(text));
        }
      }
    } else if (message.type === 'system' && message.subtype === 'permission_denied') {
      if (message.agent_id) this.#subagents.set(message.tool_use_id, message.agent_id);
      this.#claudeCodeDenied(agent, message.tool_name, undefined, message.tool_use_id, message.message);
    } else if (message.type === 'result') {
      for (const denial of message.permission_denials ?? []) {
        this.#claudeCodeDenied(agent, denial.tool_name, denial.tool_input, denial.tool_use_id, 'denied by Claude Code');
      }
    }
  }

  #claudeCodeDenied(agent: GateAgent, tool: string, input: unknown, toolUseId: string, reason: string): void {
    if (this.#decided.has(toolUseId)) return;
    this.#record(agent, tool, input, toolUseId, { decision: 'deny', by: 'claude-code', reason });
  }

  /** A call ran: Claude Code allowed it, unless we already recorded who did. */
  #ran(input: { hook_event_name: string; tool_name?: string; tool_input?: unknown; tool_use_id?: string }) {
    const { tool_name: tool, tool_use_id: toolUseId } = input;
    const agent = this.#agent();
    if (!agent || !tool || !toolUseId || this.#decided.has(toolUseId)) return {};
    const sandboxed = tool === 'Bash' && this.#policy.sandbox.autoAllowBash;
    this.#record(
      agent,
      tool,
      input.tool_input,
      toolUseId,
      sandboxed
        ? { decision: 'allow', by: 'sandbox', reason: "a command confined by Claude Code's sandbox" }
        : { decision: 'allow', by: 'claude-code', reason: "allowed by Claude Code's rules or permission mode" },
    );
    return {};
  }

  async #askHuman(
    agent: GateAgent,
    tool: string,
    input: unknown,
    asked: Verdict,
    signal: AbortSignal,
  ): Promise<Verdict> {
    const approveTool = agent.approveTool;
    if (!approveTool) return { decision: 'deny', by: 'policy', rule: asked.rule, reason: 'no human can be asked' };
    const timeoutMs = this.#policy.askTimeoutMs;
    const unanswered: Verdict = {
      decision: 'deny',
      by: 'policy',
      rule: asked.rule,
      reason: `no answer within ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}`,
    };
    let timer: NodeJS.Timeout | undefined;
    const backstop = new Promise<Verdict>((resolve) => {
      timer = setTimeout(() => resolve(unanswered), timeoutMs + BACKSTOP_MS);
    });
    const answer = approveTool({
      tool,
      inputSummary: summarizeInput(tool, input),
      rule: asked.rule ?? asked.reason,
      timeoutMs,
      signal,
    }).then(
      (approved): Verdict =>
        approved
          ? { decision: 'allow', by: 'human', rule: asked.rule, reason: 'approved by a human' }
          : { decision: 'deny', by: 'human', rule: asked.rule, reason: 'refused by a human' },
      (error: unknown): Verdict =>
        error instanceof OrchestratorError && error.code === 'INPUT_TIMEOUT'
          ? unanswered
          : { decision: 'deny', by: 'policy', rule: asked.rule, reason: `the question failed: ${String(error)}` },
    );
    try {
      return await Promise.race([answer, backstop]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** What a file tool call reads, as written and with links resolved; none without session folders. */
  async #reads(tool: string, input: unknown): Promise<string[]> {
    const agent = this.#agent();
    if (agent === undefined || this.#sessionFolders.length === 0 || this.#policy.confineReads) return [];
    const written = readTargets(tool, input, agent.workspace);
    return written.length === 0 ? [] : [...written, ...(await realTargets(written))];
  }

  #context(agent: GateAgent): DecisionContext {
    let real = this.#realpaths.get(agent.workspace);
    if (real === undefined) {
      try {
        real = realpathSync(agent.workspace);
      } catch {
        real = agent.workspace;
      }
      this.#realpaths.set(agent.workspace, real);
    }
    return {
      policy: this.#policy,
      workspace: agent.workspace,
      workspaceReal: real,
      rules: agent.rules(),
      sessionFolders: this.#sessionFolders,
      ownFolders: this.#ownFoldersOf(agent.workspace, real),
    };
  }

  /** The agent's own folders (keyed by its folder as given and as Claude Code sees it: real), in every spelling. */
  #ownFoldersOf(workspace: string, real: string): readonly string[] {
    let own = this.#ownSpellings.get(workspace);
    if (own === undefined) {
      own = spellings([...this.#ownFolders(workspace), ...this.#ownFolders(real)]);
      this.#ownSpellings.set(workspace, own);
    }
    return own;
  }

  #record(agent: GateAgent, tool: string, input: unknown, toolUseId: string, verdict: Verdict): void {
    if (verdict.decision !== 'ask') this.#decided.set(toolUseId, verdict.decision);
    const subagentId = this.#subagents.get(toolUseId);
    agent.record([
      {
        type: 'security.decision',
        data: {
          agentId: agent.agentId,
          ...(subagentId && { subagentId }),
          tool,
          toolUseId,
          decision: verdict.decision,
          by: verdict.by,
          ...(verdict.rule !== undefined && { rule: verdict.rule }),
          reason: verdict.reason,
          inputDigest: inputDigest(input ?? this.#calls.get(toolUseId)?.input ?? null),
        },
      },
    ]);
  }
}

/** How Claude Code (2.1.331) answers a call of a tool that does not exist for the session. */
const NO_SUCH_TOOL = /No such tool available: /;

function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: { type?: string; text?: string }) => (part.type === 'text' ? (part.text ?? '') : ''))
    .join('\n');
}

function stripToolUseError(text: string): string {
  return text.replace(/^<tool_use_error>(?:Error: )?|<\/tool_use_error>$/g, '').trim();
}

function hookOutput(verdict: Verdict): SyncHookJSONOutput {
  return {
    hookSpecificOutput: {
      hookEventName: 'PreToolUse',
      permissionDecision: verdict.decision,
      permissionDecisionReason: verdict.reason,
    },
  };
}

/**
 * Each folder as given, as its real path, and as its parent's real path with its name (a folder
 * made later, worktrees, is found that way), once each.
 */
function spellings(folders: readonly string[]): string[] {
  return [
    ...new Set(folders.flatMap((f) => [f, realOrSelf(f), path.join(realOrSelf(path.dirname(f)), path.basename(f))])),
  ];
}

/** The real path of a folder, or the folder as given when it does not exist (yet). */
function realOrSelf(folder: string): string {
  try {
    return realpathSync(folder);
  } catch {
    return folder;
  }
}

import path from 'node:path';

/**
 * Tool permission policy of an agent type. Rules are Claude Code's permission syntax:
 * `Read` (a tool), `mcp__github__*` (a glob on the tool name), `Bash(git *)` (a tool whose
 * main argument matches a glob: the command for Bash, the path for file tools, the URL for
 * WebFetch). `*` in a glob matches any characters, spaces and slashes included.
 */
export interface ToolPolicy {
  /** Rules that allow a call. `undefined` allows every tool that no deny rule matches. */
  readonly allow: readonly string[] | undefined;
  /** Rules that deny a call; they win over allow rules. */
  readonly deny: readonly string[];
  /** File tools may only touch paths inside this folder (the agent's workspace). */
  readonly workspace: string;
  /** Tools always allowed: the orchestrator's own MCP tools. */
  readonly alwaysAllow: readonly string[];
}

/** The outcome of {@link decideToolUse}. */
export interface ToolDecision {
  readonly decision: 'allow' | 'deny';
  readonly reason: string;
}

interface CompiledRule {
  readonly source: string;
  readonly tool: RegExp;
  readonly argument: RegExp | undefined;
}

const FILE_TOOLS: Record<string, string> = {
  Read: 'file_path',
  Write: 'file_path',
  Edit: 'file_path',
  MultiEdit: 'file_path',
  NotebookEdit: 'notebook_path',
};

const RULE = /^([A-Za-z0-9_*?.-]+)(?:\((.*)\))?$/s;

/** Parses one rule; throws a plain Error with the rule's text when it is malformed. */
export function parseToolRule(rule: string): CompiledRule {
  const match = RULE.exec(rule.trim());
  if (!match?.[1]) throw new Error(`malformed tool rule "${rule}": expected Tool or Tool(pattern)`);
  return { source: rule, tool: globToRegExp(match[1]), argument: match[2] === undefined ? undefined : globToRegExp(match[2]) };
}

/** A glob where `*` is any run of characters and `?` one character, anchored. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

/** The argument a rule's parenthesized pattern is matched against, for known tools. */
export function primaryArgument(tool: string, input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const record = input as Record<string, unknown>;
  const key = FILE_TOOLS[tool] ?? (tool === 'Bash' ? 'command' : tool === 'WebFetch' ? 'url' : undefined);
  if (key) return typeof record[key] === 'string' ? (record[key] as string) : undefined;
  for (const candidate of ['path', 'pattern', 'command', 'url']) {
    if (typeof record[candidate] === 'string') return record[candidate] as string;
  }
  return undefined;
}

/**
 * Decides one tool call under a policy. Pure: the same policy, tool and input always give the
 * same decision, so the same function serves `canUseTool`, the PreToolUse hook (which also
 * sees subagents' calls) and tests.
 */
export function decideToolUse(policy: ToolPolicy, tool: string, input: unknown): ToolDecision {
  const argument = primaryArgument(tool, input);
  const matches = (rule: string) => {
    const compiled = parseToolRule(rule);
    if (!compiled.tool.test(tool)) return false;
    return compiled.argument === undefined || (argument !== undefined && compiled.argument.test(argument));
  };
  const denied = policy.deny.find(matches);
  if (denied) return { decision: 'deny', reason: `denied by rule "${denied}"` };
  const fileKey = FILE_TOOLS[tool];
  if (fileKey && argument !== undefined && !isInside(policy.workspace, argument)) {
    return { decision: 'deny', reason: `path "${argument}" is outside the workspace` };
  }
  if (policy.alwaysAllow.some(matches)) return { decision: 'allow', reason: 'orchestrator tool' };
  if (policy.allow === undefined) return { decision: 'allow', reason: 'no allow list: every tool not denied' };
  const allowed = policy.allow.find(matches);
  if (allowed) return { decision: 'allow', reason: `allowed by rule "${allowed}"` };
  return { decision: 'deny', reason: `"${tool}" is not in the agent type's allowed tools` };
}

function isInside(root: string, candidate: string): boolean {
  const resolved = path.resolve(root, candidate);
  const relative = path.relative(path.resolve(root), resolved);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

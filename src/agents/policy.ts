import path from 'node:path';

/**
 * Tool permission policy of an agent type. Rules are Claude Code's permission syntax:
 * `Read` (a tool), `mcp__github__*` (a glob on the tool name), `Bash(git *)` (a tool whose
 * main argument matches a glob: the command for Bash, the path for file tools, the URL for
 * WebFetch). `*` in a glob matches any characters, spaces and slashes included.
 *
 * A Bash command is split at its control operators (`&&`, `||`, `;`, `|`, `&`, newlines)
 * outside quotes, as Claude Code does: `Bash(git *)` allows `git add . && git commit` but not
 * `git status && rm -rf ~`, and a deny rule matches when it matches any part. A command with
 * command substitution (`$(…)`, backticks, `<(…)`) cannot be split safely: only a bare `Bash`
 * rule allows it, and any `Bash(…)` deny rule denies it. Redirections are not analysed.
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

/** Tools whose optional `path` field names a folder to search: confined like file tools. */
const SEARCH_TOOLS: Record<string, string> = { Glob: 'path', Grep: 'path' };

const RULE = /^([A-Za-z0-9_*?.-]+)(?:\((.*)\))?$/s;

/** Parses one rule; throws a plain Error with the rule's text when it is malformed. */
export function parseToolRule(rule: string): CompiledRule {
  const match = RULE.exec(rule.trim());
  if (!match?.[1]) throw new Error(`malformed tool rule "${rule}": expected Tool or Tool(pattern)`);
  return {
    source: rule,
    tool: globToRegExp(match[1]),
    argument: match[2] === undefined ? undefined : globToRegExp(match[2]),
  };
}

/** A glob where `*` is any run of characters and `?` one character, anchored. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
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
  // What a rule's argument pattern is tested against: each simple command of a Bash command
  // (undefined when it cannot be split), else the one argument.
  let parts: string[] | undefined = [];
  if (argument !== undefined) parts = tool === 'Bash' ? splitShellCommand(argument) : [argument];
  const unsplittable = parts === undefined ? ' (the command uses substitution, which cannot be checked)' : '';

  const denied = policy.deny.find((rule) => {
    const compiled = parseToolRule(rule);
    if (!compiled.tool.test(tool)) return false;
    if (compiled.argument === undefined) return true;
    if (argument === undefined) return false;
    const pattern = compiled.argument;
    return parts === undefined || pattern.test(argument) || parts.some((part) => pattern.test(part));
  });
  if (denied) return { decision: 'deny', reason: `denied by rule "${denied}"${unsplittable}` };

  const confined = confinedPath(tool, input);
  if (confined !== undefined && !isInside(policy.workspace, confined)) {
    return { decision: 'deny', reason: `path "${confined}" is outside the workspace` };
  }
  if (policy.alwaysAllow.some((rule) => allowsAll(rule, tool, parts)))
    return { decision: 'allow', reason: 'orchestrator tool' };
  if (policy.allow === undefined) return { decision: 'allow', reason: 'no allow list: every tool not denied' };
  const allowed = policy.allow.find((rule) => allowsAll(rule, tool, parts));
  if (allowed) return { decision: 'allow', reason: `allowed by rule "${allowed}"` };
  // Each simple command of a compound one may be allowed by a different rule.
  if (parts !== undefined && parts.length > 1) {
    const rules = parts.map((part) => policy.allow?.find((rule) => allowsAll(rule, tool, [part])));
    if (rules.every((rule) => rule !== undefined)) {
      return {
        decision: 'allow',
        reason: `allowed by rules ${[...new Set(rules)].map((rule) => `"${rule}"`).join(', ')}`,
      };
    }
  }
  return { decision: 'deny', reason: `"${tool}" is not in the agent type's allowed tools${unsplittable}` };
}

/** Does an allow rule cover the call: a bare tool rule, or a pattern that every part matches. */
function allowsAll(rule: string, tool: string, parts: readonly string[] | undefined): boolean {
  const compiled = parseToolRule(rule);
  if (!compiled.tool.test(tool)) return false;
  if (compiled.argument === undefined) return true;
  if (parts === undefined || parts.length === 0) return false;
  const pattern = compiled.argument;
  return parts.every((part) => pattern.test(part));
}

/**
 * Splits a shell command into its simple commands at control operators outside quotes.
 * Returns undefined when the command substitutes commands (`$(…)`, backticks, `<(…)`, `>(…)`)
 * and so cannot be checked part by part.
 */
export function splitShellCommand(command: string): string[] | undefined {
  const parts: string[] = [];
  let current = '';
  let quote: '"' | "'" | undefined;
  const push = () => {
    const trimmed = current.trim();
    if (trimmed) parts.push(trimmed);
    current = '';
  };
  for (let i = 0; i < command.length; i++) {
    const char = command[i] as string;
    const next = command[i + 1];
    if (quote === "'") {
      if (char === "'") quote = undefined;
      current += char;
      continue;
    }
    if (char === '\\') {
      current += char + (next ?? '');
      i++;
      continue;
    }
    if (char === '`' || (char === '$' && next === '(') || ((char === '<' || char === '>') && next === '(' && !quote)) {
      return undefined;
    }
    if (quote === '"') {
      if (char === '"') quote = undefined;
      current += char;
      continue;
    }
    if (char === '"' || char === "'") {
      quote = char;
      current += char;
      continue;
    }
    if (char === ';' || char === '\n' || char === '|' || char === '&') {
      // `>&2`, `2>&1` and `&>` are redirections, not operators.
      if (char === '&' && (command[i - 1] === '>' || next === '>')) {
        current += char;
        continue;
      }
      push();
      if ((char === '&' && next === '&') || (char === '|' && (next === '|' || next === '&'))) i++;
      continue;
    }
    current += char;
  }
  push();
  return parts;
}

/** The path a file or search tool call touches, which must stay inside the workspace. */
function confinedPath(tool: string, input: unknown): string | undefined {
  const key = FILE_TOOLS[tool] ?? SEARCH_TOOLS[tool];
  if (!key || typeof input !== 'object' || input === null) return undefined;
  const value = (input as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : undefined;
}

function isInside(root: string, candidate: string): boolean {
  // Claude Code expands `~` to the home folder, which path.resolve would not.
  if (candidate === '~' || candidate.startsWith('~/')) return false;
  const resolved = path.resolve(root, candidate);
  const relative = path.relative(path.resolve(root), resolved);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

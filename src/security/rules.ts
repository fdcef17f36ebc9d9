/**
 * Permission rules in Claude Code's syntax: `Read` (a tool), `mcp__github__*` (an MCP server's
 * tools), `Bash(git *)` (a Bash command), `Edit(src/**)` / `Read(docs/**)` (paths),
 * `WebFetch(domain:example.com)`.
 *
 * Claude Code parses and enforces these rules itself (they reach it as settings of the
 * session). This module only checks their syntax up front, so that a typo fails at definition
 * time rather than being skipped by Claude Code at run time, and offers a conservative matcher
 * that the orchestrator uses where Claude Code cannot help: to answer Claude Code's own
 * permission prompt with a run-time grant, to route a call to a human, and to deny calls of a
 * rule revoked while the agent runs. It never allows what Claude Code refused.
 */

/** Claude Code's built-in tools (2.1.331), the names rules and `tools` may use besides `mcp__…`. */
export const BUILT_IN_TOOLS: readonly string[] = [
  'Agent',
  'AskUserQuestion',
  'Bash',
  'BashOutput',
  'CronCreate',
  'CronDelete',
  'CronList',
  'Edit',
  'EnterPlanMode',
  'EnterWorktree',
  'ExitPlanMode',
  'ExitWorktree',
  'Glob',
  'Grep',
  'KillShell',
  'LS',
  'ListAgents',
  'LSP',
  'Monitor',
  'MultiEdit',
  'NotebookEdit',
  'NotebookRead',
  'Read',
  'ReportFindings',
  'ScheduleWakeup',
  'SendMessage',
  'Skill',
  'StructuredOutput',
  'Task',
  'TaskCreate',
  'TaskGet',
  'TaskList',
  'TaskOutput',
  'TaskStop',
  'TaskUpdate',
  'TodoWrite',
  'ToolSearch',
  'WebFetch',
  'WebSearch',
  'Workflow',
  'Write',
];

/**
 * Tools whose path patterns Claude Code ignores: it judges them by `Edit(…)` rules ("Edit
 * rules apply to every tool that edits files"). `Write(src/**)` would silently do nothing.
 */
const EDIT_FAMILY = ['Edit', 'Write', 'MultiEdit', 'NotebookEdit'];
/** Read rules apply to every tool that reads files. */
const READ_FAMILY = ['Read', 'Glob', 'Grep', 'NotebookRead', 'LS'];

/** A rule split into its tool and its content (the part in parentheses). */
export interface ParsedRule {
  readonly source: string;
  readonly tool: string;
  readonly content: string | undefined;
}

const TOOL_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const MCP_NAME = /^mcp__[A-Za-z0-9_-]+(?:__[A-Za-z0-9_*.-]*)?$/;

/**
 * Parses a rule, or returns what is wrong with it (the checks Claude Code makes, plus ours:
 * unknown built-in tools and path patterns on tools whose patterns Claude Code ignores).
 */
export function parseRule(rule: string): ParsedRule | { readonly problem: string } {
  if (typeof rule !== 'string' || rule.length === 0) return { problem: 'a rule cannot be empty' };
  if (rule.trim() !== rule) return { problem: `rule "${rule}" has white space at an end` };
  const open = rule.indexOf('(');
  const tool = open === -1 ? rule : rule.slice(0, open);
  let content: string | undefined;
  if (open !== -1) {
    if (!rule.endsWith(')')) {
      return { problem: `malformed rule "${rule}": expected Tool or Tool(content), ending at the closing ")"` };
    }
    content = rule.slice(open + 1, -1);
    if (content.length === 0) return { problem: `rule "${rule}" has empty parentheses: write "${tool}" alone` };
  }
  if (tool.startsWith('mcp__')) {
    if (!MCP_NAME.test(tool)) return { problem: `rule "${rule}": malformed MCP tool name "${tool}"` };
    return { source: rule, tool, content };
  }
  if (!TOOL_NAME.test(tool)) return { problem: `malformed rule "${rule}": "${tool}" is not a tool name` };
  if (!BUILT_IN_TOOLS.includes(tool)) {
    const near = BUILT_IN_TOOLS.find((known) => known.toLowerCase() === tool.toLowerCase());
    return {
      problem: `rule "${rule}": unknown tool "${tool}"${near ? ` (did you mean "${near}"?)` : ''}; built-in tools are ${BUILT_IN_TOOLS.join(', ')}, others are named mcp__<server>__<tool>`,
    };
  }
  if (content !== undefined) {
    if (tool !== 'Edit' && EDIT_FAMILY.includes(tool)) {
      return {
        problem: `rule "${rule}": Claude Code ignores path patterns on ${tool}; write "Edit(${content})", which covers every tool that edits files`,
      };
    }
    if (tool === 'WebFetch' && !content.startsWith('domain:')) {
      return { problem: `rule "${rule}": WebFetch rules name a domain, as in "WebFetch(domain:example.com)"` };
    }
    if (tool === 'Bash' && content.endsWith(':*') && content.slice(0, -2).trim() === '') {
      return { problem: `rule "${rule}": the prefix before ":*" is empty` };
    }
  }
  return { source: rule, tool, content };
}

/** Parses a rule. @throws Error naming the rule when it is malformed. */
export function parsePermissionRule(rule: string): ParsedRule {
  const parsed = parseRule(rule);
  if ('problem' in parsed) throw new Error(parsed.problem);
  return parsed;
}

/** The tools a rule can match by name (a file rule covers its family; an MCP glob its server). */
export function ruleCoversTool(rule: ParsedRule, tool: string): boolean {
  if (rule.tool === tool) return true;
  if (rule.tool.startsWith('mcp__')) {
    // `mcp__server` names every tool of the server, as `mcp__server__*` does.
    if (!rule.tool.includes('__', 5)) return tool.startsWith(`${rule.tool}__`);
    return globToRegExp(rule.tool).test(tool);
  }
  // `Task` is the older name of `Agent`.
  if (rule.content === undefined) return [rule.tool, tool].sort().join() === 'Agent,Task';
  if (rule.tool === 'Edit') return EDIT_FAMILY.includes(tool);
  if (rule.tool === 'Read') return READ_FAMILY.includes(tool);
  return false;
}

/** A glob where `*` is any run of characters (slashes too) and `?` one character, anchored. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${globBody(glob)}$`, 's');
}

function globBody(glob: string): string {
  return glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
}

/** A path glob: `**` crosses folders, `*` and `?` stay within one. Anchored. */
export function pathGlobToRegExp(glob: string): RegExp {
  let body = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (glob.slice(i) === '/**') {
      body += '(?:/.*)?';
      break;
    }
    if (char === '*' && glob[i + 1] === '*') {
      // `dir/**` also names `dir` itself; `**/x` also names `x` at the top.
      body += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (char === '*') body += '[^/]*';
    else if (char === '?') body += '[^/]';
    else body += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${body}$`, 's');
}

const FILE_PATH_FIELDS: Record<string, string> = {
  Read: 'file_path',
  Write: 'file_path',
  Edit: 'file_path',
  MultiEdit: 'file_path',
  NotebookEdit: 'notebook_path',
  NotebookRead: 'notebook_path',
  Glob: 'path',
  Grep: 'path',
  LS: 'path',
};

/** The argument a rule's content is matched against: the command, the path, the URL. */
export function primaryArgument(tool: string, input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const record = input as Record<string, unknown>;
  const key = FILE_PATH_FIELDS[tool] ?? (tool === 'Bash' ? 'command' : tool === 'WebFetch' ? 'url' : undefined);
  if (key) return typeof record[key] === 'string' ? (record[key] as string) : undefined;
  for (const candidate of ['path', 'pattern', 'command', 'url']) {
    if (typeof record[candidate] === 'string') return record[candidate] as string;
  }
  return undefined;
}

/**
 * How a match treats a compound Bash command (`a && b`): `every` part must match (a grant: it
 * must cover all that will run), or `some` part (a revocation or an ask rule: one part is
 * enough to stop or ask). A command that cannot be split (command substitution) never
 * matches under `every` and always matches a Bash rule under `some`.
 */
export type MatchMode = 'every' | 'some';

/** Does a rule match one tool call? `cwd` resolves relative paths in path rules. */
export function ruleMatches(rule: string, tool: string, input: unknown, cwd: string, mode: MatchMode): boolean {
  const parsed = parseRule(rule);
  if ('problem' in parsed || !ruleCoversTool(parsed, tool)) return false;
  if (parsed.content === undefined) return true;
  const argument = primaryArgument(tool, input);
  if (argument === undefined) return false;
  if (parsed.tool === 'Bash') return bashMatches(parsed.content, argument, mode);
  if (parsed.tool === 'WebFetch') return domainMatches(parsed.content.slice('domain:'.length), argument);
  if (parsed.tool === 'Edit' || parsed.tool === 'Read') return pathMatches(parsed.content, argument, cwd);
  return globToRegExp(parsed.content).test(argument);
}

function bashMatches(content: string, command: string, mode: MatchMode): boolean {
  // Claude Code's legacy prefix form: `npm run:*` is `npm run` followed by anything or nothing.
  // And `git push *`, as in Claude Code, also names `git push` alone.
  let pattern: RegExp;
  if (content.endsWith(':*')) pattern = new RegExp(`^${escapeRegExp(content.slice(0, -2))}(?:\\s.*)?$`, 's');
  else if (content.endsWith(' *')) pattern = new RegExp(`^${globBody(content.slice(0, -2))}(?:\\s.*)?$`, 's');
  else pattern = globToRegExp(content);
  const parts = splitShellCommand(command);
  if (parts === undefined) return mode === 'some';
  if (parts.length === 0) return false;
  return mode === 'every' ? parts.every((part) => pattern.test(part)) : parts.some((part) => pattern.test(part));
}

function domainMatches(domain: string, url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  if (domain.startsWith('*.')) return host.endsWith(domain.slice(1));
  return host === domain;
}

function pathMatches(pattern: string, filePath: string, cwd: string): boolean {
  const home = process.env.HOME ?? '';
  const absolute = (p: string): string => {
    if (p.startsWith('//')) return p.slice(1);
    if (p.startsWith('~/')) return `${home}/${p.slice(2)}`;
    if (p.startsWith('/')) return `${cwd}${p}`;
    return `${cwd}/${p.replace(/^\.\//, '')}`;
  };
  const target = filePath.startsWith('/') ? filePath : absolute(filePath);
  const glob =
    pattern.startsWith('/') || pattern.startsWith('~/') || pattern.startsWith('./') ? absolute(pattern) : pattern;
  if (glob.startsWith('/')) return pathGlobToRegExp(normalize(glob)).test(normalize(target));
  // A relative pattern without a leading `./` matches at any depth below the working directory.
  const relative = normalize(target).startsWith(`${normalize(cwd)}/`)
    ? normalize(target).slice(normalize(cwd).length + 1)
    : undefined;
  if (relative === undefined) return false;
  const regex = pathGlobToRegExp(glob);
  const segments = relative.split('/');
  return segments.some((_, i) => regex.test(segments.slice(i).join('/')));
}

function normalize(p: string): string {
  const out: string[] = [];
  for (const segment of p.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return `/${out.join('/')}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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

import { describe, expect, it } from 'vitest';
import { type AgentTypeDefinition, agentTypeSchema, compileAgentType } from '../../src/workflow/index.ts';
import { problemsOf } from '../workflow/definition/helpers.ts';

function problems(definition: unknown, options: { name?: string } = {}): string[] {
  return problemsOf(() => compileAgentType(definition, options), 'AGENT_TYPE_INVALID').problems.map(
    (p) => `${p.path} ${p.message}`,
  );
}

describe('agent types', () => {
  it('compiles a full definition with durations in milliseconds', () => {
    const definition: AgentTypeDefinition = {
      name: 'coder',
      description: 'Writes code',
      systemPrompt: 'You write small modules.',
      systemPromptMode: 'replace',
      model: 'claude-sonnet-4-5',
      tools: ['Read', 'Bash(git *)', 'mcp__github__*'],
      disallowedTools: ['Bash(rm *)'],
      permissions: { allow: ['Bash(npm test)'], ask: ['Bash(git push *)'], deny: ['Read(.env)'], askTimeout: '2m' },
      sandbox: { network: { allowedDomains: ['registry.npmjs.org', '*.github.com'] } },
      confine: { reads: true },
      permissionMode: 'acceptEdits',
      maxTurns: 30,
      maxBudgetUsd: 2,
      mcpServers: {
        github: { command: 'npx', args: ['github-mcp'], timeout: '45s' },
        remote: { type: 'sse', url: 'https://mcp.example.test/sse', alwaysLoad: true },
      },
      workingDirectory: 'isolated',
      timeout: '10m',
      retry: { attempts: 3, on: ['AGENT_OVERLOADED'] },
      canModifyWorkflow: true,
      env: { NODE_ENV: 'test' },
      passEnv: ['GITHUB_TOKEN', 'GITHUB_TOKEN'],
    };
    const type = compileAgentType(definition);
    expect(type).toEqual({
      name: 'coder',
      description: 'Writes code',
      systemPrompt: 'You write small modules.',
      systemPromptMode: 'replace',
      model: 'claude-sonnet-4-5',
      tools: ['Read', 'Bash(git *)', 'mcp__github__*'],
      disallowedTools: ['Bash(rm *)'],
      permissions: {
        allow: ['Bash(npm test)'],
        ask: ['Bash(git push *)'],
        deny: ['Read(.env)'],
        askTimeoutMs: 120_000,
      },
      sandbox: { enabled: true, allowedDomains: ['registry.npmjs.org', '*.github.com'] },
      confine: { reads: true },
      permissionMode: 'acceptEdits',
      maxTurns: 30,
      maxBudgetUsd: 2,
      mcpServers: {
        github: { command: 'npx', args: ['github-mcp'], timeout: 45_000 },
        remote: { type: 'sse', url: 'https://mcp.example.test/sse', alwaysLoad: true },
      },
      workingDirectory: 'isolated',
      timeoutMs: 600_000,
      retry: { attempts: 3, initialDelayMs: 1000, maxDelayMs: 30_000, factor: 2, on: ['AGENT_OVERLOADED'] },
      canModifyWorkflow: true,
      env: { NODE_ENV: 'test' },
      passEnv: ['GITHUB_TOKEN'],
      // The default graph policy of an agent that may change its workflow.
      graph: {
        addNodes: { kinds: ['agent'], agents: undefined, maxPerCall: 10, maxPerRun: 50 },
        skipNodes: { kinds: ['agent'] },
      },
    });
    expect(Object.isFrozen(type.tools)).toBe(true);
    expect(Object.isFrozen(type.mcpServers.github)).toBe(true);
  });

  it('applies defaults and takes its name from the options', () => {
    const type = compileAgentType({}, { name: 'plain' });
    expect(type).toMatchObject({
      name: 'plain',
      tools: undefined,
      disallowedTools: [],
      permissions: { allow: [], deny: [], ask: [], askTimeoutMs: 300_000 },
      sandbox: { enabled: true, allowedDomains: [] },
      confine: { reads: false },
      permissionMode: 'default',
      systemPromptMode: 'append',
      workingDirectory: 'session',
      canModifyWorkflow: false,
      retry: undefined,
      timeoutMs: undefined,
      env: {},
      passEnv: [],
    });
  });

  it('rejects typos of keys with a suggestion', () => {
    expect(problems({ name: 'x', systemPromt: 'hi', disalowedTools: [], maxTurn: 3 })).toEqual([
      "systemPromt unknown field 'systemPromt'; did you mean 'systemPrompt'?",
      "disalowedTools unknown field 'disalowedTools'; did you mean 'disallowedTools'?",
      "maxTurn unknown field 'maxTurn'; did you mean 'maxTurns'?",
    ]);
  });

  it('says what was expected and what arrived', () => {
    expect(
      problems({
        name: 'Bad Name',
        tools: 'Read',
        permissionMode: 'bypass',
        maxTurns: 0,
        maxBudgetUsd: -1,
        workingDirectory: 'tmp',
        timeout: '5 min',
        canModifyWorkflow: 'yes',
      }),
    ).toEqual([
      `name expected an agent name: a letter, then letters, digits, '_' or '-' (at most 64), received "Bad Name"`,
      'tools expected array, received string "Read"',
      `permissionMode expected one of "default", "acceptEdits", "bypassPermissions", "plan", "dontAsk", "auto", received string "bypass"; did you mean 'bypassPermissions'?`,
      'maxTurns expected a number >= 1, received number 0',
      'maxBudgetUsd expected a number > 0, received number -1',
      `workingDirectory expected one of "session", "isolated", received string "tmp"`,
      "timeout expected a duration such as '500ms', '30s', '10m' or '1h30m' (units ms, s, m, h, d), received '5 min'",
      'canModifyWorkflow expected boolean, received string "yes"',
    ]);
  });

  it('checks MCP server configs and refuses in-process ones', () => {
    expect(
      problems({
        name: 'm',
        mcpServers: {
          a: { command: 'x', argz: [] },
          b: { type: 'http' },
          c: { type: 'sdk', name: 'inproc' },
          d: { type: 'sse', url: 'ftp://x' },
        },
      }),
    ).toEqual([
      "mcpServers.a.argz unknown field 'argz'; did you mean 'args'?",
      'mcpServers.b.url required field is missing (expected string)',
      'mcpServers.c.type expected one of "stdio", "http", "sse", received string "sdk"',
      'mcpServers.d.url expected an http:// or https:// URL, received "ftp://x"',
    ]);
  });

  it('needs a name, and refuses a name that differs from the one given', () => {
    expect(problems({})).toEqual(['name required field is missing (expected string)']);
    expect(problems({ name: 'a' }, { name: 'b' })).toEqual(["name the name 'a' differs from 'b'"]);
  });

  it('rejects malformed permission rules', () => {
    expect(problems({ name: 'p', tools: ['Bash(git *', 'Read'], disallowedTools: ['Bad Tool'] })).toEqual([
      'tools[0] malformed rule "Bash(git *": expected Tool or Tool(content), ending at the closing ")"',
      'disallowedTools[0] malformed rule "Bad Tool": "Bad Tool" is not a tool name',
    ]);
  });

  it('checks permissions, sandbox and confinement: rules as Claude Code reads them, what exists', () => {
    expect(
      problems({
        name: 'p',
        tools: ['Read', 'Bash(git *)'],
        permissions: {
          allow: ['Write(src/**)', 'WebFetch(example.com)', 'Edit(src/**)', 'Bash(npm test)'],
          ask: ['Bash()'],
          deny: ['Bsh(rm *)'],
          askTimeout: 'soon',
          alow: [],
        },
        sandbox: { network: { allowedDomains: ['https://example.com'] }, enable: true },
        confine: { reads: 'yes' },
      }),
    ).toEqual([
      `permissions.allow[0] rule "Write(src/**)": Claude Code ignores path patterns on Write; write "Edit(src/**)", which covers every tool that edits files`,
      'permissions.allow[1] rule "WebFetch(example.com)": WebFetch rules name a domain, as in "WebFetch(domain:example.com)"',
      'permissions.deny[0] rule "Bsh(rm *)": unknown tool "Bsh"; built-in tools are Agent, AskUserQuestion, Bash, BashOutput, CronCreate, CronDelete, CronList, Edit, EnterPlanMode, EnterWorktree, ExitPlanMode, ExitWorktree, Glob, Grep, KillShell, LS, ListAgents, LSP, Monitor, MultiEdit, NotebookEdit, NotebookRead, Read, ReportFindings, ScheduleWakeup, SendMessage, Skill, StructuredOutput, Task, TaskCreate, TaskGet, TaskList, TaskOutput, TaskStop, TaskUpdate, TodoWrite, ToolSearch, WebFetch, WebSearch, Workflow, Write, others are named mcp__<server>__<tool>',
      'permissions.ask[0] rule "Bash()" has empty parentheses: write "Bash" alone',
      "permissions.askTimeout expected a duration such as '500ms', '30s', '10m' or '1h30m' (units ms, s, m, h, d), received 'soon'",
      "permissions.alow unknown field 'alow'; did you mean 'allow'?",
      'sandbox.network.allowedDomains[0] expected a domain such as example.com or *.example.com, received "https://example.com"',
      "sandbox.enable unknown field 'enable'; did you mean 'enabled'?",
      'confine.reads expected boolean, received string "yes"',
    ]);
  });

  it('refuses allow and ask rules for tools the type does not have', () => {
    expect(
      problems({ name: 'p', tools: ['Read'], permissions: { allow: ['Bash(npm test)'], ask: ['Read(x)', 'Write'] } }),
    ).toEqual([
      'permissions.allow[0] rule "Bash(npm test)" names Bash, which does not exist for this agent type: add it to tools',
      'permissions.ask[1] rule "Write" names Write, which does not exist for this agent type: add it to tools',
    ]);
    // Edit(pattern) brings the tools that edit files, Read(pattern) those that read.
    expect(
      compileAgentType({ name: 'p', tools: ['Edit(src/**)'], permissions: { ask: ['Write'] } }).permissions.ask,
    ).toEqual(['Write']);
  });

  it('opts out of the sandbox only explicitly', () => {
    expect(compileAgentType({ name: 'a', sandbox: false }).sandbox).toEqual({ enabled: false, allowedDomains: [] });
    expect(compileAgentType({ name: 'a', sandbox: { enabled: false } }).sandbox.enabled).toBe(false);
    expect(compileAgentType({ name: 'a', sandbox: {} }).sandbox.enabled).toBe(true);
  });

  it('exposes the schema for embedding (strict)', () => {
    expect(agentTypeSchema.safeParse({ systemPrompt: 'x', unknown: 1 }).success).toBe(false);
  });
});

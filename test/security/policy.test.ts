import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { describe, expect, it } from 'vitest';
import type { NewEvent } from '../../src/events/index.ts';
import {
  compileSecurityPolicy,
  type DecisionContext,
  decideBeforeClaudeCode,
  decidePrompt,
  inputDigest,
  NO_RULES,
  ORCHESTRATOR_PRIVATE_PATHS,
  orchestratorPrivatePaths,
  protectedWritesOf,
  type SecuritySpec,
  sdkSecurityOptions,
  ToolGate,
  USER_CREDENTIAL_PATHS,
  userCredentialPaths,
} from '../../src/security/index.ts';

const sdk = (spec: SecuritySpec, revoked: string[] = []) =>
  sdkSecurityOptions(compileSecurityPolicy(spec), { alwaysAllow: ['mcp__orchestrator'], revoked, workspace: '/ws' });

describe('compileSecurityPolicy and sdkSecurityOptions', () => {
  it('no tools: every built-in exists, no allow list, the sandbox on and auto-allowing Bash', () => {
    const policy = compileSecurityPolicy({});
    expect(policy).toMatchObject({
      builtInTools: undefined,
      allow: undefined,
      sandbox: { active: true, autoAllowBash: true },
    });
    const options = sdk({});
    expect(options.tools).toBeUndefined();
    expect(options.settings).toEqual({
      permissions: {
        allow: ['mcp__orchestrator'],
        deny: [],
        ask: [],
        blockWritesOutsideWorkingDirectories: true,
        blockReadsOutsideWorkingDirectories: false,
      },
    });
    expect(options.sandbox).toEqual({
      enabled: true,
      failIfUnavailable: true,
      allowUnsandboxedCommands: false,
      autoAllowBashIfSandboxed: true,
      network: { allowedDomains: [], strictAllowlist: true },
    });
  });

  it('tools: [] means no built-in tool, hence no sandbox to start', () => {
    const options = sdk({ tools: [] });
    expect(options.tools).toEqual([]);
    expect(options.sandbox).toBeUndefined();
    expect(compileSecurityPolicy({ tools: [] }).sandbox).toMatchObject({ active: false, off: 'no Bash tool' });
  });

  it('maps pattern entries onto the tools they bring and the allow rules they are', () => {
    const policy = compileSecurityPolicy({
      tools: ['Bash(npx tsc *)', 'Edit(src/**)', 'Read(docs/**)', 'mcp__github__*'],
    });
    expect(policy.builtInTools).toEqual(['Bash', 'Edit', 'Glob', 'Grep', 'MultiEdit', 'NotebookEdit', 'Read', 'Write']);
    expect(policy.allow).toEqual(['Bash(npx tsc *)', 'Edit(src/**)', 'Read(docs/**)', 'mcp__github__*']);
    // Bash exists but only some commands are allowed: Claude Code must judge each one.
    expect(policy.sandbox).toMatchObject({ active: true, autoAllowBash: false });
  });

  it('passes deny and ask rules to Claude Code, removes bare disallowed tools, adds revocations', () => {
    const options = sdk(
      {
        disallowedTools: ['WebSearch', 'Bash(rm *)'],
        permissions: { ask: ['Bash(git push *)'], deny: ['Read(.env)'] },
      },
      ['Bash(curl *)'],
    );
    expect(options.disallowedTools).toEqual(['WebSearch']);
    expect(options.settings).toMatchObject({
      permissions: { deny: ['WebSearch', 'Bash(rm *)', 'Read(.env)', 'Bash(curl *)'], ask: ['Bash(git push *)'] },
    });
  });

  it('opts out of the sandbox only when told, lists domains, confines reads', () => {
    expect(compileSecurityPolicy({ sandbox: false }).sandbox).toMatchObject({
      active: false,
      off: 'opted out by the agent type',
    });
    expect(sdk({ sandbox: { enabled: false } }).sandbox).toBeUndefined();
    const options = sdk({ sandbox: { allowedDomains: ['registry.npmjs.org'] }, confine: { reads: true } });
    expect(options.sandbox?.network).toEqual({ allowedDomains: ['registry.npmjs.org'], strictAllowlist: true });
    expect(options.sandbox?.filesystem?.denyRead).toEqual(['/']);
    expect(options.sandbox?.filesystem?.allowRead?.[0]).toBe('/ws');
    expect(options.settings).toMatchObject({ permissions: { blockReadsOutsideWorkingDirectories: true } });
  });

  it("names the orchestrator's own data an agent must not read: the log and the histories", () => {
    expect(orchestratorPrivatePaths('/srv/orch')).toEqual(
      ORCHESTRATOR_PRIVATE_PATHS.map((entry) => `/srv/orch/${entry}`),
    );
    expect(orchestratorPrivatePaths('/srv/orch')).toContain('/srv/orch/events.db');
    expect(orchestratorPrivatePaths(undefined)).toEqual([]);
    expect(orchestratorPrivatePaths('relative/data')).toEqual([]);
    // An agent's own workspace and worktree sit beside them and stay readable.
    const options = sdkSecurityOptions(compileSecurityPolicy({}), {
      alwaysAllow: [],
      revoked: [],
      privateReads: orchestratorPrivatePaths('/srv/orch'),
    });
    const rules = (options.settings as { permissions: { deny: string[] } }).permissions.deny;
    expect(rules).toContain('Read(//srv/orch/events.db)');
    expect(rules).toContain('Read(//srv/orch/history/**)');
    expect(rules.some((rule) => rule.includes('workspaces') || rule.includes('worktrees'))).toBe(false);
  });

  it("denies writing in the agents' bin, with the file tools and the sandbox, whatever the reads", () => {
    const data = '/repo/.orchestrator';
    expect(protectedWritesOf(data)).toEqual(
      expect.arrayContaining(
        ['bin', 'claude', 'home', 'history', 'events.db', 'events.db-wal', 'cache', 'agent-processes'].map(
          (entry) => `${data}/${entry}`,
        ),
      ),
    );
    // Agents work in their own workspace, worktree and TMPDIR there.
    for (const own of ['workspaces', 'worktrees', 'tmp'])
      expect(protectedWritesOf(data)).not.toContain(`${data}/${own}`);
    expect(protectedWritesOf('relative/data')).toEqual([]);
    for (const spec of [{}, { confine: { reads: true } }, { sandbox: false }] as SecuritySpec[]) {
      const options = sdkSecurityOptions(compileSecurityPolicy(spec), {
        alwaysAllow: [],
        revoked: [],
        // A workspace that holds the data directory: the folder is inside it.
        workspace: '/repo',
        protectedWrites: protectedWritesOf('/repo/.orchestrator'),
      });
      const rules = (options.settings as { permissions: { deny: string[] } }).permissions.deny;
      expect(rules).toEqual(
        expect.arrayContaining(['Edit(//repo/.orchestrator/bin)', 'Edit(//repo/.orchestrator/bin/**)']),
      );
      if (spec.sandbox === false) expect(options.sandbox).toBeUndefined();
      else expect(options.sandbox?.filesystem?.denyWrite).toEqual(protectedWritesOf('/repo/.orchestrator'));
    }
  });

  it("denies reading the user's credentials by absolute path where reads are open", () => {
    const home = '/home/me';
    expect(userCredentialPaths(home)).toEqual(USER_CREDENTIAL_PATHS.map((entry) => `${home}/${entry}`));
    expect(userCredentialPaths('/')).toEqual([]);
    expect(userCredentialPaths(undefined)).toEqual([]);
    expect(userCredentialPaths('relative/home')).toEqual([]);
    const privateReads = ['/home/me/.ssh', '/home/me/.netrc'];
    const open = sdkSecurityOptions(compileSecurityPolicy({ permissions: { deny: ['Read(.env)'] } }), {
      alwaysAllow: [],
      revoked: [],
      workspace: '/ws',
      privateReads,
    });
    expect(open.settings).toMatchObject({
      permissions: {
        deny: [
          'Read(.env)',
          'Read(//home/me/.ssh)',
          'Read(//home/me/.ssh/**)',
          'Read(//home/me/.netrc)',
          'Read(//home/me/.netrc/**)',
        ],
      },
    });
    // Every rule is one Claude Code reads (an absolute path starts with //).
    expect(() =>
      compileSecurityPolicy({
        permissions: { deny: (open.settings as { permissions: { deny: string[] } }).permissions.deny },
      }),
    ).not.toThrow();
    // Confined reads cover them already; a workspace inside one is the agent's to read.
    const confined = sdkSecurityOptions(compileSecurityPolicy({ confine: { reads: true } }), {
      alwaysAllow: [],
      revoked: [],
      workspace: '/ws',
      privateReads,
    });
    expect(confined.settings).toMatchObject({ permissions: { deny: [] } });
    const inside = sdkSecurityOptions(compileSecurityPolicy({}), {
      alwaysAllow: [],
      revoked: [],
      workspace: '/home/me/.ssh/work',
      privateReads,
    });
    expect(inside.settings).toMatchObject({
      permissions: { deny: ['Read(//home/me/.netrc)', 'Read(//home/me/.netrc/**)'] },
    });
  });

  it('refuses a malformed rule in a spec built in code', () => {
    expect(() => compileSecurityPolicy({ tools: ['Bash(git *'] })).toThrow(/malformed rule/);
  });
});

function context(spec: SecuritySpec, rules = NO_RULES): DecisionContext {
  return { policy: compileSecurityPolicy(spec), workspace: '/ws', workspaceReal: '/real/ws', rules };
}
const bash = (command: string) => ({ command });

describe('decideBeforeClaudeCode (our hook): deny or ask, never allow', () => {
  it('says nothing about an ordinary call', () => {
    expect(decideBeforeClaudeCode(context({ tools: ['Bash'] }), 'Bash', bash('ls'))).toBeUndefined();
  });

  it('denies a revoked rule and asks for an ask rule', () => {
    const rules = { granted: [], revoked: ['Bash(curl *)'] };
    expect(decideBeforeClaudeCode(context({}, rules), 'Bash', bash('ls; curl x'))).toEqual({
      decision: 'deny',
      by: 'policy',
      rule: 'Bash(curl *)',
      reason: 'rule "Bash(curl *)" was revoked',
    });
    const asking = context({ permissions: { ask: ['Bash(git push *)'] } });
    expect(decideBeforeClaudeCode(asking, 'Bash', bash('git push origin main'))).toMatchObject({ decision: 'ask' });
  });
});

describe("decidePrompt (Claude Code's permission prompt)", () => {
  it('denies a path outside the workspace whatever else says yes', () => {
    const verdict = decidePrompt(context({}), 'Write', { file_path: '/etc/x' }, { blockedPath: '/etc/x' });
    expect(verdict).toMatchObject({ decision: 'deny', reason: 'path "/etc/x" is outside the workspace' });
    expect(decidePrompt(context({}), 'Bash', bash('x'), { blockedPath: '/real/ws/a' }).decision).toBe('allow');
  });

  it('answers with a grant before anything else but revocations and confinement', () => {
    const rules = { granted: ['Bash(curl *)'], revoked: [] };
    expect(decidePrompt(context({ tools: ['Read'] }, rules), 'Bash', bash('curl x'), {})).toMatchObject({
      decision: 'allow',
      by: 'grant',
      rule: 'Bash(curl *)',
    });
    // A grant covers every part of a compound command, or nothing.
    expect(decidePrompt(context({ tools: ['Read'] }, rules), 'Bash', bash('curl x; rm y'), {}).decision).toBe('deny');
  });

  it('asks a human for ask rules: ours, Claude Code matched, or the hook asked', () => {
    const spec = { tools: ['Bash'], permissions: { ask: ['Bash(git push *)'] } };
    expect(decidePrompt(context(spec), 'Bash', bash('git push'), {})).toMatchObject({
      decision: 'ask',
      rule: 'Bash(git push *)',
    });
    expect(
      decidePrompt(context({ tools: ['Bash'] }), 'Bash', bash('x'), {
        matchedAskRule: { toolName: 'Bash', ruleContent: 'x' },
      }),
    ).toMatchObject({ decision: 'ask', by: 'claude-code', rule: 'Bash(x)' });
  });

  it('with no allow list allows, but asks where an ask rule names the tool', () => {
    expect(decidePrompt(context({}), 'Write', { file_path: 'a' }, {})).toMatchObject({
      decision: 'allow',
      by: 'policy',
    });
    const spec = { permissions: { ask: ['Bash(git push *)'] } };
    expect(decidePrompt(context(spec), 'Bash', bash('env git push'), {}).decision).toBe('ask');
  });

  it('denies when Claude Code says a deny rule covers a command inside the script, whatever allows the tool', () => {
    const facts = { decisionReason: 'A permission rule denies a command in this shell -c script' };
    const command = bash(`bash -c 'rm -rf x'; echo "$?"`);
    for (const spec of [{}, { tools: ['Bash'], disallowedTools: ['Bash(rm *)'] }]) {
      expect(decidePrompt(context(spec), 'Bash', command, facts)).toMatchObject({
        decision: 'deny',
        by: 'policy',
        reason: expect.stringContaining('a deny rule covers a command in it'),
      });
    }
    // A grant cannot lift it either.
    const rules = { granted: ['Bash(bash *)'], revoked: [] };
    expect(decidePrompt(context({}, rules), 'Bash', bash(`bash -c 'rm -rf x'`), facts).decision).toBe('deny');
  });

  it('with an allow list allows a bare tool rule and denies the rest', () => {
    expect(
      decidePrompt(context({ tools: ['Bash'] }), 'Bash', bash('echo $X'), { decisionReason: 'variable' }),
    ).toMatchObject({
      decision: 'allow',
      rule: 'Bash',
    });
    const verdict = decidePrompt(context({ tools: ['Bash(npx tsc *)'] }), 'Bash', bash('npx tsc > /x'), {});
    expect(verdict).toMatchObject({ decision: 'deny', by: 'policy' });
  });
});

describe('ToolGate audit of what Claude Code refuses on its own', () => {
  it('records a deny for each call of a tool that does not exist, once', () => {
    const recorded: NewEvent[] = [];
    const gate = new ToolGate(compileSecurityPolicy({ tools: ['Read'] }), () => ({
      agentId: 'agt_1',
      workspace: '/ws',
      record: (events) => recorded.push(...events),
      rules: () => NO_RULES,
    }));
    const call = (id: string) =>
      ({
        type: 'assistant',
        message: { content: [{ type: 'tool_use', id, name: 'WebFetch', input: { url: 'http://x' } }] },
      }) as unknown as SDKMessage;
    const result = (id: string, text: string, isError = true) =>
      ({
        type: 'user',
        message: { content: [{ type: 'tool_result', tool_use_id: id, is_error: isError, content: text }] },
      }) as unknown as SDKMessage;
    const missing = '<tool_use_error>Error: No such tool available: WebFetch. WebFetch is disabled.</tool_use_error>';
    for (const id of ['toolu_1', 'toolu_2']) {
      gate.observe(call(id));
      gate.observe(result(id, missing));
      gate.observe(result(id, missing));
    }
    gate.observe(call('toolu_3'));
    gate.observe(result('toolu_3', 'some other failure'));
    expect(recorded.map((e) => e.data)).toEqual(
      ['toolu_1', 'toolu_2'].map((toolUseId) =>
        expect.objectContaining({
          toolUseId,
          tool: 'WebFetch',
          decision: 'deny',
          by: 'claude-code',
          reason: 'No such tool available: WebFetch. WebFetch is disabled.',
          inputDigest: inputDigest({ url: 'http://x' }),
        }),
      ),
    );
  });
});

describe('inputDigest', () => {
  it('is 16 hex characters of a canonical form: key order does not matter', () => {
    expect(inputDigest({ a: 1, b: [1, { d: 2, c: 3 }] })).toMatch(/^[0-9a-f]{16}$/);
    expect(inputDigest({ b: [1, { c: 3, d: 2 }], a: 1 })).toBe(inputDigest({ a: 1, b: [1, { d: 2, c: 3 }] }));
    expect(inputDigest({ a: 1 })).not.toBe(inputDigest({ a: 2 }));
  });
});

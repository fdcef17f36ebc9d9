import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime, AgentSpec, AgentToolHost } from '../../src/agents/index.ts';
import { OrchestratorError } from '../../src/errors/index.ts';
import type { ToolApproval, TypeRules } from '../../src/security/index.ts';
import { type AgentKit, dataOf, startAgentKit, testSpec } from '../support/agent-kit.ts';

// Asks, grants, revocations and a sandbox that cannot start, on the real SDK and Claude Code.

const bash = (command: string, delay = 0) => ({
  content: [{ tool_use: { name: 'Bash', input: { command, description: 'run it' } } }],
  ...(delay > 0 && { delay_ms: delay }),
});
const scenario = {
  name: 'approvals',
  scripts: [
    { name: 'ask', match: { user: '^Push it$' }, turns: [bash('touch pushed.txt'), 'Done: {{last_tool_result}}'] },
    {
      name: 'grants',
      match: { user: '^Grant and revoke$' },
      turns: [
        bash('touch before.txt'),
        // Time for the test to change the rules between two calls.
        bash('touch granted.txt', 600),
        bash('touch revoked.txt', 600),
        'Done: {{last_tool_result}}',
      ],
    },
    { name: 'later', match: { user: '^Touch later$' }, turns: [bash('touch later.txt'), 'Done.'] },
    {
      name: 'beyond',
      match: { user: '^Beyond the grants$' },
      turns: [
        bash('rm -f victim.txt'),
        { content: [{ tool_use: { name: 'WebFetch', input: { url: 'http://127.0.0.1:9/x', prompt: 'read' } } }] },
        bash('touch granted.txt'),
        'Done: {{last_tool_result}}',
      ],
    },
    { name: 'shell', match: { user: '^Use the shell$' }, turns: [bash('echo unsandboxed > free.txt'), 'Done.'] },
  ],
};

let kit: AgentKit;
let runtime: AgentRuntime;

beforeAll(async () => {
  kit = await startAgentKit({ scenario: JSON.stringify(scenario) });
  runtime = kit.runtime({ maxConcurrent: 2 });
});

afterAll(async () => {
  await kit?.cleanup();
});

function host(overrides: Partial<AgentToolHost>): AgentToolHost {
  return {
    memoryGet: async () => undefined,
    memorySet: async () => undefined,
    memoryList: async () => [],
    ...overrides,
  };
}

async function run(
  prompt: string,
  spec: Partial<AgentSpec>,
  toolHost?: AgentToolHost,
  prepare?: (cwd: string) => Promise<void>,
) {
  const sessionId = kit.session();
  const cwd = await kit.workspace(`${prompt}-${sessionId}`);
  await prepare?.(cwd);
  const result = await runtime.spawn({ sessionId, spec: testSpec(spec), prompt, cwd, toolHost }).result;
  const events = await kit.events(sessionId);
  return { result, cwd, events, decisions: dataOf(events, 'security.decision') };
}

describe('ask rules wait for a human', () => {
  const asker = { tools: ['Bash'], permissions: { ask: ['Bash(touch *)'], askTimeoutMs: 800 } };

  it('runs the call once a human approves it', async () => {
    const asked: ToolApproval[] = [];
    const { cwd, decisions } = await run(
      'Push it',
      asker,
      host({
        approveTool: async (approval) => {
          asked.push(approval);
          return true;
        },
      }),
    );
    expect(existsSync(join(cwd, 'pushed.txt'))).toBe(true);
    expect(asked).toEqual([
      expect.objectContaining({
        tool: 'Bash',
        inputSummary: 'touch pushed.txt',
        rule: 'Bash(touch *)',
        timeoutMs: 800,
      }),
    ]);
    expect(decisions.map((d) => [d.decision, d.by, d.rule])).toEqual([
      ['ask', 'policy', 'Bash(touch *)'],
      ['allow', 'human', 'Bash(touch *)'],
    ]);
  });

  it('refuses the call when the human says no', async () => {
    const { cwd, decisions, result } = await run('Push it', asker, host({ approveTool: async () => false }));
    expect(existsSync(join(cwd, 'pushed.txt'))).toBe(false);
    expect(decisions.map((d) => [d.decision, d.by])).toEqual([
      ['ask', 'policy'],
      ['deny', 'human'],
    ]);
    expect(result.ok && result.text).toContain('refused by a human');
  });

  it('denies the call when nobody answers in time', async () => {
    const { cwd, decisions } = await run(
      'Push it',
      asker,
      host({
        approveTool: ({ timeoutMs }) =>
          new Promise((_, reject) =>
            setTimeout(() => reject(new OrchestratorError('INPUT_TIMEOUT', 'no answer')), timeoutMs),
          ),
      }),
    );
    expect(existsSync(join(cwd, 'pushed.txt'))).toBe(false);
    expect(decisions.at(-1)).toMatchObject({ decision: 'deny', by: 'policy', reason: 'no answer within 800 ms' });
  });

  it('denies when the agent has nobody to ask', async () => {
    const { cwd, decisions } = await run('Push it', asker);
    expect(existsSync(join(cwd, 'pushed.txt'))).toBe(false);
    expect(decisions.at(-1)).toMatchObject({ decision: 'deny', reason: 'no human can be asked' });
  });
});

describe('grants and revocations at run time', () => {
  it('a grant answers Claude Code with allow; a revocation makes the hook deny; a later agent gets it as a deny rule', async () => {
    let rules: TypeRules = { granted: [], revoked: [] };
    const sessionId = kit.session();
    const cwd = await kit.workspace('grants');
    const toolHost = host({ permissionRules: () => rules });
    const result = await runtime.spawn({
      sessionId,
      spec: testSpec({ tools: ['Bash(echo *)'] }),
      prompt: 'Grant and revoke',
      cwd,
      toolHost,
      onEvent: (event) => {
        if (event.type !== 'security.decision') return;
        // Each decision changes the rules before the next call comes.
        if (event.data.decision === 'deny' && rules.granted.length === 0 && rules.revoked.length === 0) {
          rules = { granted: ['Bash(touch *)'], revoked: [] };
        } else if (event.data.by === 'grant') {
          rules = { granted: [], revoked: ['Bash(touch *)'] };
        }
      },
    }).result;
    expect(result.ok).toBe(true);
    expect(existsSync(join(cwd, 'before.txt'))).toBe(false);
    expect(existsSync(join(cwd, 'granted.txt'))).toBe(true);
    expect(existsSync(join(cwd, 'revoked.txt'))).toBe(false);
    const decisions = dataOf(await kit.events(sessionId), 'security.decision');
    expect(decisions.map((d) => [d.decision, d.by, d.rule])).toEqual([
      ['deny', 'policy', undefined],
      ['allow', 'grant', 'Bash(touch *)'],
      ['deny', 'policy', 'Bash(touch *)'],
    ]);

    // An agent of the type started after the revocation: Claude Code holds the rule as a deny.
    const later = await run('Touch later', { tools: ['Bash'] }, toolHost);
    expect(existsSync(join(later.cwd, 'later.txt'))).toBe(false);
    expect(dataOf(later.events, 'security.policy')).toEqual([expect.objectContaining({ revoked: ['Bash(touch *)'] })]);
    expect(later.decisions).toEqual([expect.objectContaining({ decision: 'deny' })]);
  });

  it('a grant cannot lift a deny rule nor bring a tool the type does not have', async () => {
    const rules: TypeRules = { granted: ['Bash(rm *)', 'WebFetch', 'Bash(touch *)'], revoked: [] };
    const toolHost = host({ permissionRules: () => rules });
    const spec = { tools: ['Bash(echo *)'], disallowedTools: ['Bash(rm *)'] };
    const { result, cwd, decisions, events } = await run('Beyond the grants', spec, toolHost, async (dir) => {
      await writeFile(join(dir, 'victim.txt'), 'keep\n');
    });
    expect(result.ok).toBe(true);
    // Claude Code's deny rule held: our prompt (where grants apply) was never reached.
    expect(existsSync(join(cwd, 'victim.txt'))).toBe(true);
    expect(existsSync(join(cwd, 'granted.txt'))).toBe(true);
    expect(decisions.map((d) => [d.tool, d.decision, d.by])).toEqual([
      ['Bash', 'deny', 'claude-code'],
      ['WebFetch', 'deny', 'claude-code'],
      ['Bash', 'allow', 'grant'],
    ]);
    const webFetch = dataOf(events, 'agent.tool_result').find((r) => String(r.content).includes('No such tool'));
    expect(webFetch).toBeDefined();
  });
});

describe('a sandbox that cannot start', () => {
  let emptyPath: string;
  beforeAll(async () => {
    emptyPath = await mkdtemp(join(tmpdir(), 'orch-nobwrap-'));
  });
  afterAll(async () => {
    await rm(emptyPath, { recursive: true, force: true });
  });

  it('does not start the agent: a typed SANDBOX_UNAVAILABLE, not retried, nothing run', async () => {
    const sessionId = kit.session();
    const cwd = await kit.workspace('no-sandbox');
    // No bubblewrap on this PATH: Claude Code refuses to start with the sandbox required.
    const noBwrap = kit.runtime({ env: { ...kit.sdk.env, PATH: emptyPath } });
    const result = await noBwrap.spawn({
      sessionId,
      spec: testSpec({ tools: ['Bash'], retry: { attempts: 3, initialDelayMs: 5 } }),
      prompt: 'Use the shell',
      cwd,
    }).result;
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatchObject({ code: 'SANDBOX_UNAVAILABLE', retryable: false });
    expect(result.error.message).toMatch(/bubblewrap/);
    expect(result.attempts).toBe(1);
    expect(existsSync(join(cwd, 'free.txt'))).toBe(false);
    expect(kit.server.requests.filter((r) => r.script === 'shell')).toEqual([]);
  });

  it('names socat when bubblewrap is there but socat is not (the set-up installs both)', async () => {
    const onlyBwrap = await mkdtemp(join(tmpdir(), 'orch-nosocat-'));
    try {
      await symlink(
        execFileSync('sh', ['-c', 'command -v bwrap'], { encoding: 'utf8' }).trim(),
        join(onlyBwrap, 'bwrap'),
      );
      const cwd = await kit.workspace('no-socat');
      const noSocat = kit.runtime({ env: { ...kit.sdk.env, PATH: onlyBwrap } });
      const result = await noSocat.spawn({
        sessionId: kit.session(),
        spec: testSpec({ tools: ['Bash'] }),
        prompt: 'Use the shell',
        cwd,
      }).result;
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error).toMatchObject({ code: 'SANDBOX_UNAVAILABLE', retryable: false });
      expect(result.error.message).toMatch(/socat/);
      expect(result.error.message).not.toMatch(/bubblewrap \(bwrap\) not installed/);
      expect(result.error.details).toMatchObject({ hint: expect.stringMatching(/apt-get install bubblewrap socat/) });
      expect(existsSync(join(cwd, 'free.txt'))).toBe(false);
    } finally {
      await rm(onlyBwrap, { recursive: true, force: true });
    }
  });

  it('starts an agent whose type opted out, and records that its Bash runs unsandboxed', async () => {
    const sessionId = kit.session();
    const cwd = await kit.workspace('opted-out');
    const result = await runtime.spawn({
      sessionId,
      spec: testSpec({ tools: ['Bash'], sandbox: false }),
      prompt: 'Use the shell',
      cwd,
    }).result;
    expect(result.ok).toBe(true);
    expect(existsSync(join(cwd, 'free.txt'))).toBe(true);
    expect(dataOf(await kit.events(sessionId), 'security.policy')).toEqual([
      expect.objectContaining({ sandbox: 'off', sandboxOff: 'opted out by the agent type' }),
    ]);
  });
});

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { compileScenario } from '../../src/model-server/index.ts';
import { Orchestrator, type WorkflowHandle } from '../../src/orchestrator/index.ts';
import { parseWorkflow } from '../../src/workflow/index.ts';
import { describeResult, runCli } from '../support/cli-kit.ts';

// The security of a whole session: an ask rule becomes a durable approval question of the
// session (answered, refused, or closed when nobody answers), and grants and revocations sent
// by another process (the CLI) reach the owner's running agents and its later ones.

const workflow = parseWorkflow(
  `
name: guarded
agents:
  pusher:
    systemPrompt: You are the pusher.
    tools: [Bash]
    permissions: { ask: ["Bash(touch *)"], askTimeout: 2s }
  builder:
    systemPrompt: You are the builder.
    tools: ["Bash(echo *)"]
nodes:
  - { id: yes, agent: pusher, task: "Touch yes.txt" }
  - { id: no, agent: pusher, task: "Touch no.txt", dependsOn: [yes] }
  - { id: late, agent: pusher, task: "Touch late.txt", dependsOn: [no] }
  - { id: build, agent: builder, task: "Build it", dependsOn: [late] }
  - { id: after, agent: builder, task: "Build after", dependsOn: [build] }
`,
  'guarded.yaml',
);

const bash = (command: string) => ({
  content: [{ tool_use: { name: 'Bash', input: { command, description: 'run' } } }],
});
const ask = (question: string) => ({
  content: [{ tool_use: { name: 'mcp__orchestrator__ask_human', input: { question } } }],
});
const touch = (file: string) => ({
  name: file,
  match: { user: `^Touch ${file.replace('.', '\\.')}` },
  turns: [bash(`touch ${file}`), 'Done: {{last_tool_result}}'],
});
const scenario = compileScenario({
  name: 'guarded',
  scripts: [
    touch('yes.txt'),
    touch('no.txt'),
    touch('late.txt'),
    {
      name: 'build',
      match: { user: '^Build it' },
      turns: [
        bash('touch a1.txt'),
        ask('grant now'),
        bash('touch a2.txt'),
        ask('revoke now'),
        bash('touch a3.txt'),
        'Built: {{last_tool_result}}',
      ],
    },
    { name: 'after', match: { user: '^Build after' }, turns: [bash('touch b1.txt'), 'Done.'] },
  ],
});

describe('security of a session run by the orchestrator', () => {
  let dir: string;
  let orchestrator: Orchestrator;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'orch-guarded-'));
    orchestrator = await Orchestrator.open({
      config: loadConfig({ dataDir: dir, logLevel: 'silent', controlPollMs: 100 }, {}),
      scenario,
    });
  });
  afterAll(async () => {
    await orchestrator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('asks, and takes grants and revocations from another process', { timeout: 120_000 }, async () => {
    const handle = await orchestrator.startWorkflow(workflow);
    const cli: string[] = [];
    const steer = steerFromEvents(handle, async (event) => {
      if (event.type !== 'input.requested') return;
      const { requestId, prompt, kind } = event.data;
      const answer = (value: unknown) =>
        orchestrator.control(handle.sessionId, { action: 'answer', requestId, value, by: 'test' });
      if (kind === 'approval' && prompt.includes('yes.txt')) await answer('yes');
      else if (kind === 'approval' && prompt.includes('no.txt')) await answer('no');
      else if (kind === 'input') {
        // Another process (the CLI) grants or revokes; the owner applies it, then we go on.
        const verb = prompt === 'grant now' ? 'grant' : 'revoke';
        const result = await runCli(['sessions', verb, handle.sessionId, 'builder', 'Bash(touch *)'], { dataDir: dir });
        cli.push(`${result.code} ${result.stdout.trim()}`);
        expect(result.code, describeResult(result)).toBe(0);
        await until(handle, `security.${verb === 'grant' ? 'granted' : 'revoked'}`);
        await answer('ok');
      }
    });
    const final = await handle.result;
    await steer.stop();
    expect(final.status).toBe('completed');

    const ws = handle.workspace;
    const on = (file: string) => existsSync(path.join(ws, file));
    expect([on('yes.txt'), on('no.txt'), on('late.txt')]).toEqual([true, false, false]);
    expect([on('a1.txt'), on('a2.txt'), on('a3.txt'), on('b1.txt')]).toEqual([false, true, false, false]);
    expect(cli).toEqual([
      expect.stringMatching(/^0 grant of Bash\(touch \*\) for builder requested .*applies it within a second$/),
      expect.stringMatching(/^0 revoke of Bash\(touch \*\) for builder requested/),
    ]);

    const events: AnyEvent[] = [];
    for await (const event of orchestrator.log.readAll(handle.sessionId)) events.push(event);
    const of = (type: string) => events.filter((e) => e.type === type).map((e) => e.data as Record<string, unknown>);
    const agentOf = (nodeId: string) => of('agent.spawned').find((d) => d.nodeId === nodeId)?.agentId;
    const decisions = (nodeId: string) =>
      of('security.decision')
        .filter((d) => d.agentId === agentOf(nodeId) && d.tool === 'Bash')
        .map((d) => `${d.decision} by ${d.by}`);

    // An ask is a durable approval question of the session, answered through the control API.
    const approvals = of('input.requested').filter((d) => d.kind === 'approval');
    expect(approvals.map((d) => d.nodeId)).toEqual(['yes', 'no', 'late']);
    expect(approvals[0]?.prompt).toMatch(/asks to run Bash: touch yes\.txt \[Bash\(touch \*\)\]/);
    expect(decisions('yes')).toEqual(['ask by policy', 'allow by human']);
    expect(decisions('no')).toEqual(['ask by policy', 'deny by human']);
    // Unanswered: the question is closed and the call denied.
    expect(of('input.closed')).toEqual([
      expect.objectContaining({ requestId: approvals[2]?.requestId, reason: 'no answer within 2 s' }),
    ]);
    expect(decisions('late')).toEqual(['ask by policy', 'deny by policy']);

    // Every control request is recorded with who asked, answers given in this process too.
    const requested = of('control.requested');
    expect(requested.filter((d) => d.action === 'answer').map((d) => d.by)).toEqual(['test', 'test', 'test', 'test']);
    // Grants and revocations: recorded with the control request that asked for them.
    expect(requested.filter((d) => d.action !== 'answer').map((d) => [d.action, d.agentType, d.rule, d.by])).toEqual([
      ['grant', 'builder', 'Bash(touch *)', 'cli'],
      ['revoke', 'builder', 'Bash(touch *)', 'cli'],
    ]);
    expect(of('security.granted')).toEqual([
      expect.objectContaining({ agentType: 'builder', controlId: expect.any(String) }),
    ]);
    expect(of('security.revoked')).toEqual([
      expect.objectContaining({ agentType: 'builder', controlId: expect.any(String) }),
    ]);
    expect(decisions('build')).toEqual(['deny by policy', 'allow by grant', 'deny by policy']);
    // The later agent of the type started with the revocation among Claude Code's deny rules.
    expect(of('security.policy').find((d) => d.agentId === agentOf('after'))).toMatchObject({
      revoked: ['Bash(touch *)'],
    });
    expect(decisions('after')).toEqual(['deny by policy']);
  });
});

/** Reacts to each event of a run as it is committed, in order, until stopped. */
function steerFromEvents(handle: WorkflowHandle, react: (event: AnyEvent) => Promise<void>) {
  const stream = handle.events();
  const done = (async () => {
    for await (const item of stream) {
      if (item.kind === 'event') await react(item.event as AnyEvent);
    }
  })();
  return {
    async stop() {
      stream.close();
      await done.catch(() => undefined);
    },
  };
}

/** Resolves once the run's state has taken an event of this type. */
async function until(handle: WorkflowHandle, type: string): Promise<void> {
  for await (const item of handle.events()) {
    if (item.kind === 'event' && item.event.type === type) return;
  }
}

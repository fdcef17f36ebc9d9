import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOrchestratorError } from '../../../src/errors/index.ts';
import type { AnyEvent } from '../../../src/events/index.ts';
import { rulesOf } from '../../../src/security/index.ts';
import type { NodeExecutor, PendingControl, PlanFunctions } from '../../../src/workflow/index.ts';
import {
  applyAll,
  type EngineKit,
  type EngineRun,
  startEngineKit,
  testWorkflow,
  untilAborted,
} from '../../support/engine-kit.ts';

// The engine's side of the security area: grants and revocations as control requests, and
// tool approvals as questions that close themselves when nobody answers in time.

let kit: EngineKit;
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(() => kit.cleanup());

let controls = 0;
async function control(r: EngineRun, data: Omit<PendingControl, 'controlId'>): Promise<string> {
  const controlId = `ctl_sec_${++controls}`;
  const [event] = await kit.log.append(r.sessionId, [
    { type: 'control.requested', source: 'control', data: { ...data, controlId } },
  ]);
  applyAll(r.state, [event as AnyEvent]);
  r.run.applyControl(r.state.controls?.[controlId] as PendingControl);
  return controlId;
}

const blocking: PlanFunctions = { a: ({ signal }) => untilAborted(signal) };

describe('grant and revoke controls', () => {
  it('are recorded as security.granted / security.revoked with their controlId, and folded per agent type', async () => {
    const r = await kit.start(testWorkflow({ nodes: [{ id: 'a' }] }), { functions: blocking });
    const done = r.run.run();
    const granted = await control(r, { action: 'grant', agentType: 'dev', rule: 'Bash(npm *)', by: 'cli' });
    const revoked = await control(r, { action: 'revoke', agentType: 'dev', rule: 'Bash(git push *)', by: 'cli' });
    const events = await kit.waitForEvents(r.sessionId, (all) => all.some((e) => e.type === 'security.revoked'));
    expect(events.filter((e) => e.type.startsWith('security.')).map((e) => [e.type, e.data])).toEqual([
      [
        'security.granted',
        expect.objectContaining({ agentType: 'dev', rule: 'Bash(npm *)', by: 'cli', controlId: granted }),
      ],
      ['security.revoked', expect.objectContaining({ agentType: 'dev', rule: 'Bash(git push *)', controlId: revoked })],
    ]);
    expect(rulesOf(r.state.security, 'dev')).toEqual({ granted: ['Bash(npm *)'], revoked: ['Bash(git push *)'] });
    // A revocation withdraws a grant of the same rule; every reader of the log agrees.
    await control(r, { action: 'revoke', agentType: 'dev', rule: 'Bash(npm *)' });
    await kit.waitForEvents(r.sessionId, (all) => all.filter((e) => e.type === 'security.revoked').length === 2);
    expect(rulesOf((await kit.replay(r.sessionId)).security, 'dev')).toEqual({
      granted: [],
      revoked: ['Bash(git push *)', 'Bash(npm *)'],
    });
    expect(r.state.controls).toEqual({});
    r.run.cancel();
    await done;
  });

  it('a grant without its agent type or rule is rejected', async () => {
    const r = await kit.start(testWorkflow({ nodes: [{ id: 'a' }] }), { functions: blocking });
    const done = r.run.run();
    const id = await control(r, { action: 'grant', rule: 'Bash' });
    const events = await kit.waitForEvents(r.sessionId, (all) => all.some((e) => e.type === 'control.rejected'));
    expect(events.find((e) => e.type === 'control.rejected')?.data).toEqual({
      controlId: id,
      reason: 'a grant needs an agent type and a rule',
      workflowId: r.workflowId,
    });
    r.run.cancel();
    await done;
  });
});

describe('questions with a timeout', () => {
  it('an unanswered question is closed and the asker told INPUT_TIMEOUT; the node carries on', async () => {
    let outcome: unknown;
    const asking: NodeExecutor = {
      external: true,
      async run(context) {
        try {
          await context.requestInput('approval', 'Run Bash: touch x?', { agentId: 'agt_t', timeoutMs: 50 });
        } catch (error) {
          outcome = error;
        }
        return { ok: true, output: 'went on' };
      },
    };
    const { run, sessionId } = await kit.start(testWorkflow({ nodes: [{ id: 'agent' }] }), {
      executors: { agent: asking },
    });
    const final = await run.run();
    expect(final.status).toBe('completed');
    expect(isOrchestratorError(outcome, 'INPUT_TIMEOUT')).toBe(true);
    const events = await kit.events(sessionId);
    const requested = events.find((e) => e.type === 'input.requested')?.data as { requestId: string };
    expect(events.find((e) => e.type === 'input.closed')?.data).toMatchObject({
      requestId: requested.requestId,
      nodeId: 'agent',
      reason: 'no answer within 50 ms',
    });
    expect(final.inputRequests).toEqual({});
  });

  it("an agent's successive questions are its own, not merged into its first open one", async () => {
    const asked: string[] = [];
    const asking: NodeExecutor = {
      external: true,
      async run(context) {
        const first = context.requestInput('approval', 'Run A?', { agentId: 'agt_m' });
        const second = context.requestInput('approval', 'Run B?', { agentId: 'agt_m' });
        asked.push(String(await first), String(await second));
        return { ok: true, output: asked };
      },
    };
    const { run, sessionId } = await kit.start(testWorkflow({ nodes: [{ id: 'agent' }] }), {
      executors: { agent: asking },
    });
    const done = run.run();
    const events = await kit.waitForEvents(
      sessionId,
      (all) => all.filter((e) => e.type === 'input.requested').length === 2,
    );
    const [a, b] = events.filter((e) => e.type === 'input.requested').map((e) => e.data as { requestId: string });
    await run.answer(b?.requestId as string, 'no');
    await run.answer(a?.requestId as string, 'yes');
    expect((await done).status).toBe('completed');
    expect(asked).toEqual(['yes', 'no']);
  });
});

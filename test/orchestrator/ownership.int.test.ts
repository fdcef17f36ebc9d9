import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { OrchestratorError } from '../../src/errors/index.ts';
import { parseScenario } from '../../src/model-server/index.ts';
import { Orchestrator, type WorkflowHandle } from '../../src/orchestrator/index.ts';
import { parseWorkflow } from '../../src/workflow/index.ts';
import { waitFor } from '../support/cli-kit.ts';

// One owner per session, through the programmatic API: while one orchestrator runs a session,
// another on the same store (another owner, as a second `run --session` or `sessions resume`
// would be) is refused at once with SESSION_BUSY naming the owner, whether it starts the
// session id again or resumes it, and writes nothing. Once the owner is done, starting the id
// again is SESSION_EXISTS: the session is there, nobody runs it. Two starts of one new id at
// once create it once: one runs, the other is refused.

const scenario = parseScenario(
  `
name: owned
scripts:
  - name: slow
    match: { system: "You are slow" }
    turns:
      - content: [{ text: "Done." }]
        delay_ms: 1500
`,
  'owned.yaml',
);

const workflow = parseWorkflow(
  `
name: owned
agents:
  slow: { systemPrompt: "You are slow.", tools: [] }
nodes:
  - { id: work, agent: slow, task: "Take your time." }
`,
  'owned.yaml',
);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-ownership-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => error as OrchestratorError,
  );

describe('a session another orchestrator runs', () => {
  it('is refused with SESSION_BUSY naming the owner, to a start of its id and to a resume; SESSION_EXISTS once it is done', {
    timeout: 60_000,
  }, async () => {
    const config = loadConfig({ dataDir: dir, logLevel: 'silent' }, {});
    const owner = await Orchestrator.open({ config, scenario });
    const other = await Orchestrator.open({ config, scenario });
    const sessionId = 'ses_owned';
    try {
      const handle = await owner.startWorkflow(workflow, { sessionId });
      await waitFor(async () => (handle.state.nodes.work?.status === 'running' ? true : undefined), 'work running', {
        timeoutMs: 30_000,
      });
      const seqBefore = await owner.log.lastSeq(sessionId);

      for (const attempt of [other.startWorkflow(workflow, { sessionId }), other.resumeSession(sessionId)]) {
        const refused = await failureOf(attempt);
        expect(refused.code).toBe('SESSION_BUSY');
        expect(refused.message).toContain(`owned by process ${process.pid} on ${hostname()}`);
        expect(refused.details).toMatchObject({ sessionId, pid: process.pid, host: hostname() });
        expect((refused.details as { ownerId?: string }).ownerId).toBe(owner.leases.owner.ownerId);
      }
      expect(await owner.log.lastSeq(sessionId)).toBe(seqBefore);
      expect(other.leases.lease(sessionId)).toBeUndefined();

      const final = await handle.result;
      expect(final.status).toBe('completed');
      await owner.leases.release(sessionId);
      const exists = await failureOf(other.startWorkflow(workflow, { sessionId }));
      expect(exists.code).toBe('SESSION_EXISTS');
      const events = [];
      for await (const event of owner.log.readAll(sessionId)) events.push(event);
      expect(events.filter((e) => e.type === 'node.completed')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'session.resumed' || e.type === 'session.taken_over')).toEqual([]);
    } finally {
      await other.close();
      await owner.close();
    }
  });

  it('is created once when two orchestrators start the same new session id at once', { timeout: 60_000 }, async () => {
    const config = loadConfig({ dataDir: dir, logLevel: 'silent' }, {});
    const [first, second] = await Promise.all([
      Orchestrator.open({ config, scenario }),
      Orchestrator.open({ config, scenario }),
    ]);
    const sessionId = 'ses_created_once';
    try {
      const outcomes = await Promise.allSettled([
        first.startWorkflow(workflow, { sessionId }),
        second.startWorkflow(workflow, { sessionId }),
      ]);
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(['SESSION_BUSY', 'SESSION_EXISTS']).toContain((lost[0] as PromiseRejectedResult).reason.code);
      const final = await (won[0] as PromiseFulfilledResult<WorkflowHandle>).value.result;
      expect(final.status).toBe('completed');
      const events = [];
      for await (const event of first.log.readAll(sessionId)) events.push(event);
      expect(events.filter((e) => e.type === 'session.created')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'workflow.started')).toHaveLength(1);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    } finally {
      await first.close();
      await second.close();
    }
  });
});

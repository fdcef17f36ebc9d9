import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../src/events/index.ts';
import { EventLog } from '../../src/log/index.ts';
import { PostgresEventStore } from '../../src/store/index.ts';
import {
  approvalExecutor,
  functionExecutor,
  humanExecutor,
  type NodeExecutor,
  planFromCompiled,
  replay,
  WorkflowRun,
} from '../../src/workflow/index.ts';
import { sequenceProblems } from '../cli/log-checks.ts';
import { testWorkflow } from '../support/engine-kit.ts';
import { startCommitDropProxy } from '../support/pg-proxy.ts';
import { postgresClient, postgresProblem, TEST_DATABASE_URL } from '../support/postgres.ts';

// Idempotent appends, seen from a run: on PostgreSQL a COMMIT whose reply is lost (the
// connection dropped right after the COMMIT was sent) leaves the batch committed while the
// store cannot know it. The store recognises its own events by id on the retry
// (test/store/postgres.int.test.ts); here a workflow run, its appends fenced by a lease as an
// owner's are, loses several such replies and goes on: it completes, every event is stored once
// and contiguous, and a subscriber of the log sees each event exactly once, in order.

const unreachable = await postgresProblem();
const schema = `orch_lost_${randomBytes(5).toString('hex')}`;

afterAll(async () => {
  if (unreachable) return;
  const client = postgresClient();
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

describe.skipIf(unreachable !== undefined && process.env.CI !== 'true')(
  `a run whose COMMIT replies are lost${unreachable ? ` — skipped: PostgreSQL not reachable at ${TEST_DATABASE_URL} (${unreachable})` : ''}`,
  () => {
    it('goes on: completes, stores every event once, and publishes each once', { timeout: 60_000 }, async () => {
      if (unreachable) throw new Error(`PostgreSQL not reachable at ${TEST_DATABASE_URL}: ${unreachable}`);
      const proxy = await startCommitDropProxy();
      const store = await PostgresEventStore.open({ url: proxy.url, schema });
      const log = new EventLog(store);
      const sessionId = 'ses_lost_commit';
      try {
        const { lease } = await store.acquireLease(
          sessionId,
          { ownerId: 'owner-1', host: 'here', pid: process.pid },
          { ttlMs: 60_000 },
        );
        log.fence(sessionId, lease.token);
        const published: AnyEvent[] = [];
        log.subscribe({ sessionId }, (event) => {
          published.push(event);
        });

        // A chain of six nodes; each arms the proxy, so the commit of what it leads to (its
        // own completion, the next start) loses its reply. Nothing else writes meanwhile.
        const ids = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
        const workflow = testWorkflow({
          nodes: ids.map((id, index) => ({ id, ...(index > 0 && { dependsOn: [ids[index - 1] as string] }) })),
        });
        const functions = Object.fromEntries(
          ids.map((id) => [
            id,
            async () => {
              // Armed until a commit takes it (the node's own start is on its way to the store).
              const before = proxy.drops;
              proxy.dropAfterNextCommit();
              for (let waited = 0; proxy.drops === before && waited < 500; waited += 10) {
                await new Promise((resolve) => setTimeout(resolve, 10));
              }
              return id;
            },
          ]),
        );
        const workflowId = 'wf_lost';
        const created = await log.append(sessionId, [
          { type: 'session.created', data: { name: workflow.name, workspace: '/tmp' } },
          {
            type: 'workflow.started',
            data: { workflowId, name: workflow.name, inputs: {}, definition: workflow.definition },
          },
        ]);
        const state = replay(sessionId, created);
        const run = new WorkflowRun({
          log,
          sessionId,
          workflowId,
          plan: planFromCompiled(workflow, { functions }),
          executors: new Map<string, NodeExecutor>([
            ['human', humanExecutor],
            ['approval', approvalExecutor],
            ['function', functionExecutor],
          ]),
          state,
          workspace: '/tmp',
        });
        const final = await run.run();
        expect(final.status).toBe('completed');
        for (const id of ids) expect(final.nodes[id]).toMatchObject({ status: 'completed', output: id, attempts: 1 });
        // The replies really were lost, several times.
        expect(proxy.drops).toBeGreaterThanOrEqual(3);

        const stored = (await store.read(sessionId)) as AnyEvent[];
        expect(sequenceProblems(stored)).toEqual([]);
        expect(stored.filter((e) => e.type === 'node.completed')).toHaveLength(ids.length);
        expect(stored.filter((e) => e.type === 'workflow.completed')).toHaveLength(1);
        // Published once each, in the order stored: no event lost, none twice.
        expect(published.map((e) => e.id)).toEqual(stored.map((e) => e.id));
        // The run's view and the log agree.
        expect(replay(sessionId, stored).workflows[workflowId]?.status).toBe('completed');
      } finally {
        await log.close();
        await proxy.close();
      }
    });
  },
);

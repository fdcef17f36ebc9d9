import { randomBytes } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { parseScenario } from '../../src/model-server/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { parseWorkflow } from '../../src/workflow/index.ts';
import { describeResult, runCli, tempDir, waitFor } from '../support/cli-kit.ts';
import { postgresClient, postgresProblem, TEST_DATABASE_URL } from '../support/postgres.ts';

// The promise of `sessions export` / `import`: a session moves to another machine and carries
// on there. An agent node is interrupted half-way through its conversation on a SQLite store;
// the session is exported with the CLI, its whole data directory is deleted, and it is
// imported with the CLI into PostgreSQL on another data directory. There the real orchestrator
// resumes it: the node's agent carries on its own conversation (the scripted model sees a
// request for turn 1 of the same Claude Code session, so the earlier messages came along), in
// a workspace holding the file the agent wrote before the move, and the workflow completes.

const scenario = parseScenario(
  `
name: moving
scripts:
  - name: slow
    match: { system: "You are slow" }
    turns:
      - content: [{ tool_use: { name: Write, input: { file_path: step1.txt, content: "one\\n" } } }]
      - content: [{ text: "Step two done." }]
        delay_ms: 2500
`,
  'moving.yaml',
);

const workflow = parseWorkflow(
  `
name: moving
agents:
  slow: { systemPrompt: "You are slow.", tools: [Write] }
nodes:
  - { id: work, agent: slow, task: "Do the two steps." }
`,
  'moving.yaml',
);

const unreachable = await postgresProblem();

describe.skipIf(unreachable !== undefined && process.env.CI !== 'true')(
  `a session moved from SQLite to PostgreSQL on another data directory${unreachable ? ` — skipped: PostgreSQL not reachable at ${TEST_DATABASE_URL} (${unreachable})` : ''}`,
  () => {
    let tmp: Awaited<ReturnType<typeof tempDir>>;
    const schema = `orch_moving_${randomBytes(5).toString('hex')}`;
    const postgres = {
      DATABASE_URL: TEST_DATABASE_URL,
      ORCHESTRATOR_STORE: 'postgres',
      ORCHESTRATOR_PG_SCHEMA: schema,
    };

    beforeAll(async () => {
      if (unreachable) throw new Error(`PostgreSQL not reachable at ${TEST_DATABASE_URL}: ${unreachable}`);
      tmp = await tempDir('transfer');
    });
    afterAll(async () => {
      const client = postgresClient();
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
      await tmp?.cleanup();
    });

    const eventsOf = async (orchestrator: Orchestrator, sessionId: string) => {
      const all: AnyEvent[] = [];
      for await (const event of orchestrator.log.readAll(sessionId)) all.push(event);
      return all;
    };
    const initOf = (all: AnyEvent[], agentId: string) =>
      all.find((e) => e.type === 'agent.progress' && e.data.agentId === agentId && e.data.kind === 'init');

    it('resumes there, and the interrupted agent carries on its own conversation', async () => {
      const here = path.join(tmp.dir, 'here');
      const there = path.join(tmp.dir, 'there');
      const file = path.join(tmp.dir, 'moving.session.jsonl');
      const sessionId = 'ses_moving';

      // Here: SQLite. The agent writes step1.txt, then is stopped while its second turn runs.
      const source = await Orchestrator.open({
        config: loadConfig({ dataDir: here, logLevel: 'silent' }, {}),
        scenario,
      });
      let conversation: string | undefined;
      try {
        const handle = await source.startWorkflow(workflow, { sessionId });
        const requests = () => (source.model.scripted?.requests ?? []).filter((r) => r.script === 'slow');
        await waitFor(async () => (requests().some((r) => r.turn === 1) ? true : undefined), 'the second turn', {
          timeoutMs: 30_000,
          intervalMs: 20,
        });
        await handle.suspend();
        expect((await handle.result).nodes.work?.status).toBe('retry_wait');
        conversation = requests()[0]?.conversation;
        expect(await readFile(path.join(handle.workspace, 'step1.txt'), 'utf8')).toBe('one\n');
      } finally {
        await source.close();
      }

      const exported = await runCli(['sessions', 'export', sessionId, '-o', file], { dataDir: here });
      expect(exported.code, describeResult(exported)).toBe(0);
      expect(exported.stdout).toMatch(/exported \d+ events of ses_moving/);
      // No version was taken (a suspend takes none): the files travel in the workspace history.
      expect(exported.stdout).toMatch(/0 versions .*, 1 transcripts, workspace history \d/);
      console.info(`exported session: ${(await stat(file)).size} bytes\n${exported.stdout}`);
      // Nothing of "here" stays: not its store, its workspace, its history nor Claude Code's files.
      await rm(here, { recursive: true, force: true });
      expect(await stat(here).catch(() => 'gone')).toBe('gone');

      // There: PostgreSQL, another data directory.
      const imported = await runCli(['sessions', 'import', file], { dataDir: there, env: postgres });
      expect(imported.code, describeResult(imported)).toBe(0);
      const workspace = path.join(there, 'workspaces', sessionId);
      expect(imported.stdout).toContain(`imported ${exportedEvents(exported.stdout)} events as session ${sessionId}`);
      expect(imported.stdout).toContain(`workspace: ${workspace} (the files as they were at the export)`);
      const again = await runCli(['sessions', 'import', file], { dataDir: there, env: postgres });
      expect(again.code).toBe(2);
      expect(again.stderr).toContain('error [SESSION_EXISTS]');

      const target = await Orchestrator.open({
        config: loadConfig(
          {
            dataDir: there,
            logLevel: 'silent',
            store: 'postgres',
            databaseUrl: TEST_DATABASE_URL,
            postgresSchema: schema,
          },
          {},
        ),
        scenario,
      });
      try {
        const resumed = await target.resumeSession(sessionId);
        expect(resumed.workspace).toBe(workspace);
        const final = await resumed.result;
        expect(final.status).toBe('completed');
        expect(final.nodes.work?.output).toBe('Step two done.');
        // The conversation came along: the model was asked for turn 1 (not 0) of the same Claude Code session.
        const requests = (target.model.scripted?.requests ?? []).filter((r) => r.script === 'slow');
        expect(requests.map((r) => [r.turn, r.conversation])).toEqual([[1, conversation]]);
        const all = await eventsOf(target, sessionId);
        const spawned = all.filter((e) => e.type === 'agent.spawned');
        expect(spawned).toHaveLength(2);
        const sdkSessions = spawned.map((e) => {
          const init = initOf(all, e.data.agentId);
          return init?.type === 'agent.progress' ? init.data.sdkSessionId : undefined;
        });
        expect(sdkSessions[1]).toBe(sdkSessions[0]);
        expect(all.filter((e) => e.type === 'agent.failed').map((e) => e.data.error.message)).toEqual([
          'node stopped: suspend',
        ]);
        expect(all.find((e) => e.type === 'session.imported')?.data).toMatchObject({
          fromStore: 'sqlite',
          originalWorkspace: path.join(here, 'workspaces', sessionId),
          workspace,
          filesRestored: true,
        });
        expect(await readFile(path.join(workspace, 'step1.txt'), 'utf8')).toBe('one\n');
      } finally {
        await target.close();
      }
    }, 120_000);
  },
);

/** The event count an export printed. */
function exportedEvents(stdout: string): number {
  return Number(/exported (\d+) events/.exec(stdout)?.[1]);
}

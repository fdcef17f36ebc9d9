import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeResult, openLogReader, REPO_ROOT, runCli, startScript, tempDir, waitFor } from '../support/cli-kit.ts';
import { recoveryProblems } from './log-checks.ts';

// A question to a human outlives the process that asked it. The CLI answers human nodes at
// once when standard input is not a terminal, so the process to kill is a small program on the
// programmatic API (test/fixtures/cli/start-until-asked.ts) that starts the workflow and then
// waits, its question open. After the SIGKILL, `sessions resume --answer ask=blue` answers the
// same question, and the answer reaches the next agent's task.

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'cli');
const WORKFLOW = path.join(FIXTURES, 'ask-colour.yaml');
const SCENARIO = path.join(FIXTURES, 'ask-colour.scenario.yaml');

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir('human');
});
afterAll(async () => {
  await tmp?.cleanup();
});

describe('a question to a human across a SIGKILL', () => {
  it('is awaited again by `sessions resume`, not asked twice, and its answer reaches the next task', {
    timeout: 120_000,
  }, async () => {
    const dataDir = path.join(tmp.dir, 'data');
    const sessionId = 'ses_cli_human';
    const asker = startScript(path.join(FIXTURES, 'start-until-asked.ts'), [dataDir, WORKFLOW, SCENARIO, sessionId]);
    const asked = await waitFor(
      () => {
        if (asker.child.exitCode !== null)
          throw new Error(`the asking process ended:\n${asker.stdout()}${asker.stderr()}`);
        return /^asked (\S+) (\S+)$/m.exec(asker.stdout()) ?? undefined;
      },
      'the workflow to ask its question',
      { timeoutMs: 90_000 },
    );
    const [, requestId, nodeId] = asked;
    expect(nodeId).toBe('ask');
    asker.child.kill('SIGKILL');
    expect((await asker.exited).signal).toBe('SIGKILL');

    const reader = await openLogReader(dataDir);
    try {
      const killSeq = await reader.lastSeq(sessionId);
      const resumed = await runCli(['sessions', 'resume', sessionId, '--answer', 'ask=blue'], { dataDir });
      expect(resumed.code, describeResult(resumed)).toBe(0);
      expect(resumed.stdout).toContain('(answered by --answer ask=…)');

      const events = await reader.events(sessionId);
      expect(recoveryProblems(events, killSeq), `killed at seq ${killSeq}`).toEqual([]);
      const requests = events.filter((e) => e.type === 'input.requested' && e.data.nodeId === 'ask');
      expect(requests.map((e) => e.type === 'input.requested' && e.data.requestId)).toEqual([requestId]);
      expect(requests[0]?.seq).toBeLessThanOrEqual(killSeq);
      const answers = events.filter((e) => e.type === 'user.input');
      expect(answers.map((e) => e.data)).toEqual([expect.objectContaining({ requestId, value: 'blue' })]);
      // The human node was not started again: its one attempt was waiting, and carried on.
      expect(events.filter((e) => e.type === 'node.started' && e.data.nodeId === 'ask')).toHaveLength(1);
      expect(events.find((e) => e.type === 'node.completed' && e.data.nodeId === 'ask')?.data).toMatchObject({
        output: 'blue',
      });

      const painter = events.filter((e) => e.type === 'agent.spawned' && e.data.nodeId === 'paint');
      expect(painter).toHaveLength(1);
      expect(painter[0]?.type === 'agent.spawned' && painter[0].data.task).toContain('Paint the wall blue');
      // The scripted painter writes the file only for a task that names blue.
      expect(await readFile(path.join(dataDir, 'workspaces', sessionId, 'colour.txt'), 'utf8')).toBe('blue\n');
    } finally {
      await reader.close();
    }
  });
});

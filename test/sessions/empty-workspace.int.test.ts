import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { FALLBACK_SCENARIO, Orchestrator } from '../../src/orchestrator/index.ts';
import { defineWorkflow } from '../../src/workflow/index.ts';
import { tempDir } from '../support/cli-kit.ts';

// A run that never puts a file in its workspace (function nodes) starts no git process for its
// versions: they name no commit, which reads as an empty folder in diffs and forks.

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir('empty-workspace');
});
afterAll(async () => {
  await tmp?.cleanup();
});

describe('versions of a session whose workspace is empty', () => {
  it('record no commit and no history; a later file diffs as added, and a fork gets an empty folder', async () => {
    const dataDir = path.join(tmp.dir, 'orchestrator');
    const orchestrator = await Orchestrator.open({
      config: loadConfig({ dataDir, logLevel: 'silent' }, {}),
      scenario: FALLBACK_SCENARIO,
    });
    try {
      const workflow = defineWorkflow({
        name: 'no-files',
        agents: { noop: { systemPrompt: 'unused' } },
        nodes: [
          { id: 'a', agent: 'noop', task: 'noop' },
          { id: 'b', agent: 'noop', task: 'noop', dependsOn: ['a'] },
        ],
      });
      const handle = await orchestrator.startWorkflow(workflow, { functions: { a: () => 1, b: () => 2 } });
      expect((await handle.result).status).toBe('completed');
      const { sessionId } = handle;
      const before = await orchestrator.takeVersion(sessionId, 'before');
      expect(before.workspaceCommit).toBeNull();
      expect(await orchestrator.sessions.history.exists(sessionId)).toBe(false);

      const { workspace } = await orchestrator.sessions.state(sessionId);
      await writeFile(path.join(workspace as string, 'notes.txt'), 'one\n');
      const after = await orchestrator.takeVersion(sessionId, 'after');
      expect(after.workspaceCommit).toMatch(/^[0-9a-f]{40}$/);

      const files = await orchestrator.sessions.diffFiles(sessionId, before.version, after.version);
      expect(files?.files.map((f) => [f.path, f.status, f.added])).toEqual([['notes.txt', 'added', 1]]);
      const backwards = await orchestrator.sessions.diffFiles(sessionId, after.version, before.version);
      expect(backwards?.files.map((f) => [f.path, f.status])).toEqual([['notes.txt', 'deleted']]);
      const diff = await orchestrator.sessions.diff(sessionId, before.version);
      expect(diff.summary.files).toEqual(['notes.txt']);

      const fork = await orchestrator.forkSession(sessionId, { version: before.version });
      expect(await readdir(fork.workspace)).toEqual([]);
    } finally {
      await orchestrator.close();
    }
  });
});

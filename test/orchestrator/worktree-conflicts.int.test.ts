import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { parseScenario } from '../../src/model-server/index.ts';
import { Orchestrator, type WorkflowHandle } from '../../src/orchestrator/index.ts';
import { type InputRequest, parseWorkflow } from '../../src/workflow/index.ts';
// Internal on purpose: the test reads repositories with git itself.
import { git } from '../../src/workspace/git.ts';
import { waitFor } from '../support/cli-kit.ts';

// Isolated nodes with real Claude Code agents through the real SDK (scripted model server): a
// user's repository as the workspace is never written, and a merge conflict keeps the node's
// work, failing the node or asking a human, by the workflow's `onConflict`.

const scenario = parseScenario(
  `
name: worktree-conflicts
scripts:
  - name: first
    match: { user: "version A" }
    turns:
      - content: [{ tool_use: { name: Write, input: { file_path: shared.txt, content: "line one, by a\\n" } } }]
      - "A wrote shared.txt."
  - name: second
    match: { user: "version B" }
    turns:
      - content:
          - tool_use: { name: Write, input: { file_path: shared.txt, content: "line one, by b\\n" } }
          - tool_use: { name: Write, input: { file_path: more.txt, content: "more by b\\n" } }
      # Later than the first node, so that the first one merges first and this one conflicts.
      - content: [{ text: "B wrote shared.txt and more.txt." }]
        delay_ms: 2500
  - name: adder
    match: { user: "Add a.txt" }
    turns:
      - content: [{ tool_use: { name: Write, input: { file_path: a.txt, content: "from a\\n" } } }]
      - "Added a.txt."
  - name: editor
    match: { user: "Edit notes.md" }
    turns:
      - content: [{ tool_use: { name: Read, input: { file_path: notes.md } } }]
      - content: [{ tool_use: { name: Edit, input: { file_path: notes.md, old_string: "three", new_string: "three, edited by b" } } }]
      - "Edited notes.md."
`,
  'worktree-conflicts.yaml',
);

const conflicting = (policy: string) =>
  parseWorkflow(
    `
name: conflicting
${policy}
agents:
  writer: { systemPrompt: "You write files.", tools: [Read, Write, Edit], workingDirectory: isolated }
nodes:
  - { id: a, agent: writer, task: "Write version A of shared.txt." }
  - { id: b, agent: writer, task: "Write version B of shared.txt." }
`,
    'conflicting.yaml',
  );

const apart = parseWorkflow(
  `
name: apart
agents:
  writer: { systemPrompt: "You write files.", tools: [Read, Write, Edit], workingDirectory: isolated }
nodes:
  - { id: a, agent: writer, task: "Add a.txt with a greeting." }
  - { id: b, agent: writer, task: "Edit notes.md: mark line three." }
`,
  'apart.yaml',
);

let dir: string;
let dataDir: string;
let orchestrator: Orchestrator;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-worktree-conflicts-'));
  dataDir = path.join(dir, 'data');
  orchestrator = await Orchestrator.open({
    config: loadConfig({ dataDir, logLevel: 'silent' }, {}),
    scenario,
  });
});
afterAll(async () => {
  await orchestrator?.close();
  await rm(dir, { recursive: true, force: true });
});

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

async function eventsOf(sessionId: string): Promise<AnyEvent[]> {
  const all: AnyEvent[] = [];
  for await (const event of orchestrator.log.readAll(sessionId)) all.push(event);
  return all;
}

/** The question of the run's node `b`, once asked (for an attempt after `afterAttempt`). */
function question(handle: WorkflowHandle, afterAttempt = 0): Promise<InputRequest> {
  return waitFor(
    () => handle.pendingInputs().find((r) => r.nodeId === 'b' && (r.attempt ?? 0) > afterAttempt),
    'the merge-conflict question',
    { timeoutMs: 90_000, intervalMs: 50 },
  );
}

/** Where node `b`'s first attempt works and keeps its work. */
function placesOf(sessionId: string) {
  const repository = path.join(dataDir, 'history', `${sessionId}.git`);
  return {
    worktree: path.join(dataDir, 'worktrees', sessionId, 'b-1'),
    branch: `orchestrator/${sessionId}/b-1`,
    repository,
    show: (what: string) => git(dir, [`--git-dir=${repository}`, 'show', what], { allowFailure: true }),
  };
}

async function digestTree(folder: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(folder, file)] = createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
  }
  return out;
}

describe('isolated nodes on a user’s repository', () => {
  it('leave its index, HEAD, branches, stashes and uncommitted work as they were; their changes land in the working tree', {
    timeout: 120_000,
  }, async () => {
    const workspace = path.join(dir, 'user-repo');
    await mkdir(workspace);
    const user = (args: string[]) => git(workspace, args);
    await user(['init', '-q', '-b', 'trunk']);
    await writeFile(path.join(workspace, 'notes.md'), 'one\ntwo\nthree\n');
    await writeFile(path.join(workspace, 'staged.txt'), 'committed\n');
    await user(['add', '-A']);
    await user(['commit', '-q', '-m', 'first']);
    await user(['branch', 'topic']);
    await writeFile(path.join(workspace, 'stashed.txt'), 'stashed\n');
    await user(['add', 'stashed.txt']);
    await user(['stash', '-q']);
    await writeFile(path.join(workspace, 'staged.txt'), 'staged change\n');
    await user(['add', 'staged.txt']);
    await writeFile(path.join(workspace, 'notes.md'), 'one, edited by the user\ntwo\nthree\n');
    await writeFile(path.join(workspace, 'untracked.txt'), 'untracked\n');
    const facts = async () => ({
      status: (await user(['status', '--porcelain'])).stdout,
      head: (await user(['rev-parse', 'HEAD'])).stdout,
      refs: (await user(['for-each-ref', '--format=%(refname) %(objectname)'])).stdout,
      staged: (await user(['diff', '--cached'])).stdout,
      stashes: (await user(['stash', 'list'])).stdout,
      worktrees: (await user(['worktree', 'list', '--porcelain'])).stdout,
    });
    const before = await facts();
    const dotGit = await digestTree(path.join(workspace, '.git'));

    const handle = await orchestrator.startWorkflow(apart, { workspace });
    const final = await handle.result;
    expect(final.status, JSON.stringify(final.nodes)).toBe('completed');

    // Not one byte of the user's repository changed.
    expect(await digestTree(path.join(workspace, '.git'))).toEqual(dotGit);
    const after = await facts();
    expect(after).toEqual({ ...before, status: after.status });
    expect(after.status.split('\n').sort()).toEqual([...before.status.split('\n'), '?? a.txt'].sort());
    expect(await readFile(path.join(workspace, 'a.txt'), 'utf8')).toBe('from a\n');
    expect(await readFile(path.join(workspace, 'notes.md'), 'utf8')).toBe(
      'one, edited by the user\ntwo\nthree, edited by b\n',
    );
    expect(await readFile(path.join(workspace, 'staged.txt'), 'utf8')).toBe('staged change\n');
    expect(await readFile(path.join(workspace, 'untracked.txt'), 'utf8')).toBe('untracked\n');
  });
});

describe('a merge conflict keeps the node’s work', () => {
  it('with onConflict: fail, fails the node with MERGE_CONFLICT naming the files; its branch and worktree stay', {
    timeout: 120_000,
  }, async () => {
    const handle = await orchestrator.startWorkflow(conflicting('onConflict: fail'));
    const final = await handle.result;
    expect(final.status).toBe('failed');
    expect(final.nodes.a?.status).toBe('completed');
    const places = placesOf(handle.sessionId);
    expect(final.nodes.b).toMatchObject({
      status: 'failed',
      error: {
        code: 'MERGE_CONFLICT',
        details: { files: ['shared.txt'], branch: places.branch, worktree: places.worktree },
      },
    });
    expect(final.nodes.b?.error?.message).toContain('shared.txt');
    expect(await readFile(path.join(handle.workspace, 'shared.txt'), 'utf8')).toBe('line one, by a\n');
    expect(await exists(path.join(handle.workspace, 'more.txt'))).toBe(false);
    // The work: in the worktree as the agent left it, and on the branch.
    expect(await readFile(path.join(places.worktree, 'shared.txt'), 'utf8')).toBe('line one, by b\n');
    expect(await readFile(path.join(places.worktree, 'more.txt'), 'utf8')).toBe('more by b\n');
    expect((await places.show(`${places.branch}:shared.txt`)).stdout).toBe('line one, by b');
    expect((await places.show(`${places.branch}:more.txt`)).stdout).toBe('more by b');

    // Retention takes the kept work along with the session: worktree, branch, history repository.
    const pruned = await orchestrator.sessions.prune({ olderThan: 1, status: ['failed'] });
    expect(pruned.plan.deletions.map((d) => d.sessionId)).toEqual([handle.sessionId]);
    expect(pruned.failed).toEqual([]);
    expect(await exists(path.dirname(places.worktree))).toBe(false);
    expect(await exists(places.repository)).toBe(false);
  });

  it('with onConflict: pause (the default), asks a human naming the files and the worktree; resolved there and approved, the node completes', {
    timeout: 120_000,
  }, async () => {
    const handle = await orchestrator.startWorkflow(conflicting(''));
    const asked = await question(handle);
    const places = placesOf(handle.sessionId);
    expect(asked.kind).toBe('approval');
    expect(asked.prompt).toContain('in: shared.txt');
    expect(asked.prompt).toContain(places.worktree);
    expect(asked.prompt).toContain(places.branch);
    expect(await readFile(path.join(places.worktree, 'shared.txt'), 'utf8')).toMatch(
      /^<<<<<<< HEAD\nline one, by b\n=======\nline one, by a\n>>>>>>> /,
    );
    await writeFile(path.join(places.worktree, 'shared.txt'), 'line one, by a and b\n');
    await handle.answer(asked.requestId, { approved: true, comment: 'resolved in the worktree' });
    const final = await handle.result;
    expect(final.status).toBe('completed');
    expect(final.nodes.b?.output).toBe('B wrote shared.txt and more.txt.');
    expect(await readFile(path.join(handle.workspace, 'shared.txt'), 'utf8')).toBe('line one, by a and b\n');
    expect(await readFile(path.join(handle.workspace, 'more.txt'), 'utf8')).toBe('more by b\n');
    expect(await exists(places.worktree)).toBe(false);
  });

  it('cancelled during the question, withdraws it and keeps the worktree and the branch', {
    timeout: 120_000,
  }, async () => {
    const handle = await orchestrator.startWorkflow(conflicting(''));
    const asked = await question(handle);
    handle.cancel('stop here');
    const final = await handle.result;
    expect(final.status).toBe('cancelled');
    expect(final.nodes.b?.status).toBe('cancelled');
    const events = await eventsOf(handle.sessionId);
    expect(events.find((e) => e.type === 'input.closed')?.data).toMatchObject({ requestId: asked.requestId });
    const places = placesOf(handle.sessionId);
    expect(await readFile(path.join(places.worktree, 'more.txt'), 'utf8')).toBe('more by b\n');
    expect((await places.show(`${places.branch}:shared.txt`)).stdout).toBe('line one, by b');
  });

  for (const stop of ['pause', 'suspend'] as const) {
    it(`${stop === 'pause' ? 'paused' : 'suspended'} during the question, asks again on resume from the kept worktree, with no new agent run`, {
      timeout: 120_000,
    }, async () => {
      const first = await orchestrator.startWorkflow(conflicting(''));
      const asked = await question(first);
      let handle = first;
      if (stop === 'pause') {
        first.pause({ interruptRunning: true });
        await waitFor(() => first.state.nodes.b?.status === 'retry_wait', 'node b interrupted');
        first.resume();
      } else {
        await first.suspend();
        await first.result;
        handle = await orchestrator.resumeSession(first.sessionId);
      }
      const again = await question(handle, asked.attempt);
      const places = placesOf(handle.sessionId);
      expect(again.requestId).not.toBe(asked.requestId);
      expect(again.prompt).toContain(places.worktree);
      // This time the human settles it in the workspace.
      await writeFile(path.join(handle.workspace, 'shared.txt'), 'line one, settled in the workspace\n');
      await handle.answer(again.requestId, { approved: true });
      const final = await handle.result;
      expect(final.status).toBe('completed');
      expect(final.nodes.b?.output).toBe('B wrote shared.txt and more.txt.');
      expect(await readFile(path.join(handle.workspace, 'shared.txt'), 'utf8')).toBe(
        'line one, settled in the workspace\n',
      );
      expect(await readFile(path.join(handle.workspace, 'more.txt'), 'utf8')).toBe('more by b\n');
      const events = await eventsOf(handle.sessionId);
      expect(events.filter((e) => e.type === 'agent.spawned')).toHaveLength(2);
      expect(events.find((e) => e.type === 'input.closed')?.data).toMatchObject({ requestId: asked.requestId });
    });
  }
});

import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PruneResult } from '../../src/sessions/index.ts';
import { type OrchestratorStore, openEventStore } from '../../src/store/index.ts';
import { describeResult, REPO_ROOT, runCli, startScript, tempDir, waitFor } from '../support/cli-kit.ts';

// `sessions prune` end to end on real runs (real agents on the scripted model): sessions of
// every kind are made, then pruned by status, by age and by versions kept, and each time the
// test checks in the store and on disk that what was pruned is gone and the rest is intact.
// Ages are relative: sessions made before a pause are "old", the ones after it "new", and each
// prune's --older-than falls midway between the two groups (seconds apart, so CLI start-up
// time cannot move a session across it).

const HELLO = path.join(REPO_ROOT, 'examples', 'hello', 'workflow.yaml');
const SCENARIO = path.join(REPO_ROOT, 'examples', 'hello', 'scenario.yaml');
const ASKER = path.join(REPO_ROOT, 'test', 'fixtures', 'cli', 'start-until-asked.ts');

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

const OLD = ['ses_p_old', 'ses_p_failed', 'ses_p_user', 'ses_p_waiting'];
const NEW = ['ses_p_new', 'ses_p_fork'];

let tmp: Awaited<ReturnType<typeof tempDir>>;
let dataDir: string;
let userWorkspace: string;
let store: OrchestratorStore;

const cli = (args: string[]) => runCli(args, { dataDir });

/** Prunes with `flags` plus an --older-than between the old and the new sessions; returns the JSON result. */
async function prune(flags: string[], { split = true }: { split?: boolean } = {}): Promise<PruneResult> {
  const args = ['sessions', 'prune', ...flags, '--json'];
  if (split) {
    const sessions = await store.listSessions({ limit: 100 });
    const updated = (ids: string[]) =>
      sessions.filter((s) => ids.includes(s.sessionId)).map((s) => Date.parse(s.updatedAt));
    const newestOld = Math.max(...updated(OLD));
    const oldestNew = Math.min(...updated(NEW));
    args.push('--older-than', `${Math.round(Date.now() - (newestOld + oldestNew) / 2)}ms`);
  }
  const result = await cli(args);
  expect(result.code, describeResult(result)).toBe(0);
  return JSON.parse(result.stdout) as PruneResult;
}

/** Everything prune could touch of a session, as it stands. */
async function footprint(sessionId: string) {
  const state = await readState(sessionId);
  return {
    events: await store.lastSeq(sessionId),
    versions: (await store.listVersions(sessionId)).map((v) => v.version),
    workspace: await exists(path.join(dataDir, 'workspaces', sessionId)),
    history: await exists(path.join(dataDir, 'history', `${sessionId}.git`)),
    sdk: state.sdk,
  };
}

/** The SDK sessions of a session's agents, from its log (agent.completed events). */
async function readState(sessionId: string): Promise<{ sdk: string[] }> {
  const sdk = new Set<string>();
  for (let from = 1; ; from += 1000) {
    const page = await store.read(sessionId, { fromSeq: from, limit: 1000 });
    for (const event of page) {
      const data = event.data as { sdkSessionId?: string };
      if (event.type === 'agent.completed' && data.sdkSessionId) sdk.add(data.sdkSessionId);
    }
    if (page.length < 1000) return { sdk: [...sdk].sort() };
  }
}

/** Claude Code's project folder (the SDK's project key) holding an SDK session's local transcript. */
async function projectOf(sdkSessionId: string): Promise<string | undefined> {
  const projects = path.join(dataDir, 'claude', 'projects');
  for (const project of await readdir(projects)) {
    if (await exists(path.join(projects, project, `${sdkSessionId}.jsonl`))) return project;
  }
  return undefined;
}

beforeAll(async () => {
  tmp = await tempDir('prune');
  dataDir = path.join(tmp.dir, 'data');
  userWorkspace = path.join(tmp.dir, 'my-project');
  const gate = path.join(tmp.dir, 'gate.yaml');
  await writeFile(gate, 'name: gate\nnodes:\n  - { id: gate, kind: approval, prompt: "Ship it?" }\n');
  const ask = path.join(tmp.dir, 'ask.yaml');
  await writeFile(ask, 'name: ask\nnodes:\n  - { id: ask, kind: human, prompt: "Which colour?" }\n');

  const ok = async (args: string[], code = 0) => {
    const result = await cli(args);
    expect(result.code, describeResult(result)).toBe(code);
  };
  await ok(['run', HELLO, '--session', 'ses_p_old']);
  await ok(['run', gate, '--session', 'ses_p_failed', '--answer', 'gate=no'], 1);
  await ok(['run', HELLO, '--session', 'ses_p_user', '--workspace', userWorkspace]);
  // A session left awaiting an answer: its process is killed while the question is open.
  const asker = startScript(ASKER, [dataDir, ask, SCENARIO, 'ses_p_waiting']);
  await waitFor(() => /^asked /m.test(asker.stdout()) || undefined, 'the question to be asked', { timeoutMs: 60_000 });
  asker.child.kill('SIGKILL');
  await asker.exited;

  await sleep(3000);
  await ok(['run', HELLO, '--session', 'ses_p_new']);
  // A fork of the old session shares its agents' SDK sessions (and so their transcripts).
  await ok(['sessions', 'fork', 'ses_p_old', '--as', 'ses_p_fork']);
  store = await openEventStore({ kind: 'sqlite', path: path.join(dataDir, 'events.db') });
}, 180_000);

afterAll(async () => {
  await store?.close();
  await tmp?.cleanup();
});

describe('orchestrator sessions prune', () => {
  it('refuses flags that are wrong or would prune nothing, with exit code 2', async () => {
    const nothing = await cli(['sessions', 'prune']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(
      /error \[INVALID_ARGUMENT\]: prune: nothing to prune: give --older-than .* or --keep-versions/,
    );
    const bad = await cli(['sessions', 'prune', '--older-than', '30 days', '--status', 'done', '--keep-versions', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--older-than: expected a duration such as '500ms'");
    expect(bad.stderr).toContain('--status: expected one or more of completed, failed, cancelled');
    expect(bad.stderr).toContain('--keep-versions: expected a whole number of 1 or more, received "x"');
    const statusOnly = await cli(['sessions', 'prune', '--status', 'failed', '--keep-versions', '2']);
    expect(statusOnly.code).toBe(2);
    expect(statusOnly.stderr).toContain('--status chooses which sessions --older-than deletes');
  });

  it('plans without changing anything in a dry run', async () => {
    const all = [...OLD, ...NEW];
    const before = await Promise.all(all.map(footprint));
    const result = await prune(['--dry-run']);
    expect(result.dryRun).toBe(true);
    expect(result.plan.deletions.map((d) => d.sessionId).sort()).toEqual(['ses_p_failed', 'ses_p_old', 'ses_p_user']);
    const kept = Object.fromEntries(result.plan.kept.map((k) => [k.sessionId, k.why]));
    expect(kept).toEqual({ ses_p_waiting: 'status', ses_p_new: 'recent', ses_p_fork: 'recent' });
    expect(result.totals).toMatchObject({ sessions: 3, blobs: null });
    expect(result.totals.events).toBe(before.slice(0, 3).reduce((sum, f) => sum + f.events, 0));
    expect(await Promise.all(all.map(footprint))).toEqual(before);

    const readable = await cli(['sessions', 'prune', '--older-than', '1ms', '--dry-run']);
    expect(readable.stdout).toMatch(
      /^dry run: nothing was changed\nwould delete \d+ sessions \(\d+ events, \d+ versions/,
    );
    expect(readable.stdout).toMatch(/ses_p_user: workspace .*my-project is not under .*: left as it is/);
    expect(await Promise.all(all.map(footprint))).toEqual(before);
  });

  it('deletes only the statuses asked for', async () => {
    const failed = await footprint('ses_p_failed');
    expect(failed.events).toBeGreaterThan(0);
    const result = await prune(['--status', 'failed']);
    expect(result.plan.deletions.map((d) => d.sessionId)).toEqual(['ses_p_failed']);
    expect(result.totals).toMatchObject({ sessions: 1, events: failed.events, versions: failed.versions.length });
    expect(await footprint('ses_p_failed')).toEqual({
      events: 0,
      versions: [],
      workspace: false,
      history: false,
      sdk: [],
    });
    for (const id of ['ses_p_old', 'ses_p_user', 'ses_p_waiting']) expect(await store.lastSeq(id)).toBeGreaterThan(0);
  });

  it('deletes finished sessions older than the age with everything that was theirs, and keeps what is shared', async () => {
    const old = await footprint('ses_p_old');
    const user = await footprint('ses_p_user');
    const fork = await footprint('ses_p_fork');
    expect(old.sdk.length).toBeGreaterThan(0);
    expect(user.sdk.length).toBeGreaterThan(0);
    expect(fork.sdk).toEqual(old.sdk);
    const oldProject = (await projectOf(old.sdk[0] as string)) as string;
    const userProject = (await projectOf(user.sdk[0] as string)) as string;
    expect(oldProject && userProject).toBeTruthy();

    const result = await prune([]);
    expect(result.plan.deletions.map((d) => d.sessionId).sort()).toEqual(['ses_p_old', 'ses_p_user']);
    expect(result.failed).toEqual([]);
    expect(result.totals.blobs).toBeGreaterThan(0);

    // The old session: log, versions, history and its workspace under the data directory are gone.
    expect(await footprint('ses_p_old')).toEqual({
      events: 0,
      versions: [],
      workspace: false,
      history: false,
      sdk: [],
    });
    // Its agents' transcripts stay: the fork resumes those conversations.
    const forkTranscripts = (await store.listTranscriptSessions(oldProject)).map((t) => t.sessionId).sort();
    expect(forkTranscripts).toEqual(old.sdk);
    for (const id of old.sdk) expect(await projectOf(id)).toBe(oldProject);
    expect(result.plan.deletions.find((d) => d.sessionId === 'ses_p_old')?.notes).toEqual([
      `${old.sdk.length} agent transcript(s) kept: a remaining session (a fork) uses them`,
    ]);

    // The session in a folder of the user's: all of it is gone but the folder and its files.
    expect(await footprint('ses_p_user')).toMatchObject({ events: 0, versions: [], history: false });
    expect(await readFile(path.join(userWorkspace, 'hello.txt'), 'utf8')).not.toBe('');
    expect(await store.listTranscriptSessions(userProject)).toEqual([]);
    for (const id of user.sdk) {
      expect(await store.loadTranscript({ projectKey: userProject, sessionId: id })).toBeNull();
      expect(await projectOf(id)).toBeUndefined();
    }

    // What stays is intact: the fork (its files restored from the old history), the new
    // session, and the unfinished one.
    expect(await footprint('ses_p_fork')).toEqual(fork);
    expect(await exists(path.join(dataDir, 'workspaces', 'ses_p_fork', 'hello.txt'))).toBe(true);
    expect((await footprint('ses_p_new')).events).toBeGreaterThan(0);
    expect((await footprint('ses_p_waiting')).events).toBeGreaterThan(0);
    const listed = await cli(['sessions', 'list', '--json']);
    const rows = listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { sessionId: string; origin?: string });
    expect(rows.map((row) => row.sessionId)).not.toContain('ses_p_old');
    // The fork still names where it came from, though that session is gone.
    expect(rows.find((row) => row.sessionId === 'ses_p_fork')?.origin).toBe('ses_p_old');
  });

  it('deletes an unfinished session only when its status is named', async () => {
    const result = await prune(['--status', 'awaiting_input,running']);
    expect(result.plan.deletions.map((d) => d.sessionId)).toEqual(['ses_p_waiting']);
    expect(await footprint('ses_p_waiting')).toMatchObject({ events: 0, versions: [], workspace: false });
  });

  it('keeps the newest versions of each remaining session, labelled ones unless told, and what stays still loads', async () => {
    for (const args of [['--label', 'milestone'], []]) {
      const taken = await cli(['sessions', 'version', 'ses_p_new', ...args]);
      expect(taken.code, describeResult(taken)).toBe(0);
    }
    const versions = (await store.listVersions('ses_p_new')).map((v) => v.version);
    const [labelled, newest] = versions.slice(-2) as [number, number];
    expect(versions.length).toBeGreaterThan(3);

    const trimmed = await prune(['--keep-versions', '1'], { split: false });
    expect(trimmed.totals.sessions).toBe(0);
    expect((await store.listVersions('ses_p_new')).map((v) => v.version)).toEqual([labelled, newest]);
    expect(trimmed.plan.trims.find((t) => t.sessionId === 'ses_p_new')).toEqual({
      sessionId: 'ses_p_new',
      versions: versions.slice(0, -2),
      labelledKept: [labelled],
    });
    expect((await store.listVersions('ses_p_fork')).length).toBeLessThanOrEqual(1);

    await prune(['--keep-versions', '1', '--include-labelled'], { split: false });
    expect((await store.listVersions('ses_p_new')).map((v) => v.version)).toEqual([newest]);
    // Compaction kept every blob the remaining versions need: they load and diff.
    const diff = await cli(['sessions', 'diff', 'ses_p_new', String(newest)]);
    expect(diff.code, describeResult(diff)).toBe(0);
    const again = await prune(['--keep-versions', '1'], { split: false });
    expect(again.totals).toMatchObject({ trimmedVersions: 0, blobs: 0 });
  });
});

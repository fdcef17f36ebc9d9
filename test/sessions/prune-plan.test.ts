import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  compilePruneOptions,
  formatAge,
  type PruneOptions,
  type PruneSession,
  planPrune,
  sessionStatus,
} from '../../src/sessions/index.ts';
import { emptySessionState, type SessionState, type WorkflowStatus } from '../../src/workflow/index.ts';

// The retention plan is a pure function over summaries, states and version lists: these tests
// pin down which sessions go, which stay and why, without a store or a folder.

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-28T12:00:00.000Z');
const DATA = '/srv/orchestrator';
const ws = (id: string) => path.join(DATA, 'workspaces', id);

interface Shape {
  /** Days since the last event. */
  age: number;
  /** Statuses of its workflow runs, oldest first. */
  runs?: WorkflowStatus[];
  workspace?: string | null;
  sdk?: string[];
  versions?: Array<string | null>;
  events?: number;
}

function stateOf(id: string, shape: Shape): SessionState {
  const state = emptySessionState(id);
  state.lastSeq = shape.events ?? 10;
  if (shape.workspace !== null) state.workspace = shape.workspace ?? ws(id);
  for (const [i, status] of (shape.runs ?? ['completed']).entries()) {
    (state.workflows as Record<string, unknown>)[`wf_${i}`] = { workflowId: `wf_${i}`, name: 'w', status, nodes: {} };
  }
  for (const [i, sdkSessionId] of (shape.sdk ?? []).entries()) {
    state.agents[`agt_${i}`] = {
      agentId: `agt_${i}`,
      agentType: 'writer',
      nodeId: `n${i}`,
      state: 'completed',
      sdkSessionId,
      costUsd: 0,
      inputTokens: 0,
      outputTokens: 0,
    };
  }
  return state;
}

function session(id: string, shape: Shape): PruneSession {
  const updatedAt = new Date(NOW - shape.age * DAY).toISOString();
  return {
    summary: { sessionId: id, lastSeq: shape.events ?? 10, createdAt: updatedAt, updatedAt },
    state: stateOf(id, shape),
    versions: (shape.versions ?? []).map((label, i) => ({ version: i + 1, label })),
  };
}

const plan = (sessions: PruneSession[], options: PruneOptions) =>
  planPrune(sessions, compilePruneOptions(options), { now: NOW, dataDir: DATA });
const ids = (list: ReadonlyArray<{ sessionId: string }>) => list.map((s) => s.sessionId);

describe('prune options', () => {
  it('applies the defaults: finished sessions only, labelled versions kept, not a dry run', () => {
    expect(compilePruneOptions({ olderThan: '30d' })).toEqual({
      olderThanMs: 30 * DAY,
      statuses: ['completed', 'failed', 'cancelled'],
      keepVersions: undefined,
      includeLabelled: false,
      dryRun: false,
    });
    expect(compilePruneOptions({ keepVersions: 3, olderThan: 90_000 })).toMatchObject({
      olderThanMs: 90_000,
      keepVersions: 3,
    });
    expect(compilePruneOptions({ olderThan: '1d', status: ['running', 'running', 'empty'] }).statuses).toEqual([
      'running',
      'empty',
    ]);
  });

  it('refuses a prune that would do nothing, naming what to give', () => {
    expect(() => compilePruneOptions({})).toThrow(/nothing to prune: give olderThan .* or keepVersions/);
    expect(() => compilePruneOptions({ includeLabelled: true, dryRun: true })).toThrow(/nothing to prune/);
  });

  it('reports every problem at once, with the names the caller uses', () => {
    const names = { olderThan: '--older-than', status: '--status', keepVersions: '--keep-versions' };
    let error: unknown;
    try {
      compilePruneOptions({ olderThan: '30 days', status: ['done', 'failed'], keepVersions: 0 }, names);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    const { problems } = (error as { details: { problems: string[] } }).details;
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^--older-than: expected a duration .* received '30 days'/);
    expect(problems[1]).toMatch(/^--status: expected one or more of completed, .*empty, received "done"/);
    expect(problems[2]).toBe('--keep-versions: expected a whole number of 1 or more, received 0 (number)');
  });

  it('refuses a status without an age, ages beyond a century, and unknown options', () => {
    expect(() => compilePruneOptions({ status: ['failed'], keepVersions: 2 })).toThrow(
      /status chooses which sessions olderThan deletes: give olderThan too/,
    );
    expect(() => compilePruneOptions({ olderThan: '36600d' })).toThrow(/olderThan: expected at most/);
    expect(() => compilePruneOptions({ olderThan: '0d' })).toThrow(/above zero/);
    expect(() => compilePruneOptions({ keepVersions: 2.5 })).toThrow(/keepVersions/);
    expect(() => compilePruneOptions({ keepVersions: 2, force: true } as PruneOptions)).toThrow(
      /force: unknown option/,
    );
  });
});

describe('session status', () => {
  it('is empty without a run, the latest run otherwise, and an unfinished run wins', () => {
    expect(sessionStatus(emptySessionState('s'))).toBe('empty');
    expect(sessionStatus(stateOf('s', { age: 0, runs: ['failed', 'completed'] }))).toBe('completed');
    expect(sessionStatus(stateOf('s', { age: 0, runs: ['paused', 'completed'] }))).toBe('paused');
    expect(sessionStatus(stateOf('s', { age: 0, runs: ['completed', 'awaiting_input'] }))).toBe('awaiting_input');
  });
});

describe('prune plan', () => {
  it('deletes finished sessions older than the age, and says why each other one stays', () => {
    const result = plan(
      [
        session('old_done', { age: 40 }),
        session('old_failed', { age: 31, runs: ['failed'] }),
        session('new_done', { age: 29 }),
        session('old_running', { age: 60, runs: ['running'] }),
        session('old_paused', { age: 60, runs: ['completed', 'paused'] }),
        session('old_empty', { age: 60, runs: [] }),
      ],
      { olderThan: '30d' },
    );
    expect(ids(result.deletions)).toEqual(['old_done', 'old_failed']);
    expect(result.deletions[0]).toMatchObject({
      status: 'completed',
      events: 10,
      reason: 'completed, last event 40d ago (older than 30d)',
    });
    expect(result.kept).toEqual([
      { sessionId: 'new_done', status: 'completed', why: 'recent', reason: 'last event 29d ago, within 30d' },
      {
        sessionId: 'old_running',
        status: 'running',
        why: 'status',
        reason: 'running: only completed, failed, cancelled sessions are deleted',
      },
      {
        sessionId: 'old_paused',
        status: 'paused',
        why: 'status',
        reason: 'paused: only completed, failed, cancelled sessions are deleted',
      },
      {
        sessionId: 'old_empty',
        status: 'empty',
        why: 'status',
        reason: 'empty: only completed, failed, cancelled sessions are deleted',
      },
    ]);
    expect(result.trims).toEqual([]);
  });

  it('deletes exactly the statuses asked for, running ones only by name', () => {
    const sessions = [
      session('done', { age: 10 }),
      session('failed', { age: 10, runs: ['failed'] }),
      session('running', { age: 10, runs: ['running'] }),
    ];
    expect(ids(plan(sessions, { olderThan: '1d', status: ['failed'] }).deletions)).toEqual(['failed']);
    expect(ids(plan(sessions, { olderThan: '1d', status: ['running', 'completed'] }).deletions)).toEqual([
      'done',
      'running',
    ]);
  });

  it('never touches a session it cannot read', () => {
    const unreadable: PruneSession = {
      ...session('broken', { age: 90, versions: [null, null, null] }),
      state: { unreadable: 'row 3 is damaged' },
    };
    const result = plan([unreadable], { olderThan: '1d', keepVersions: 1 });
    expect(result.deletions).toEqual([]);
    expect(result.trims).toEqual([]);
    expect(result.kept).toEqual([
      {
        sessionId: 'broken',
        status: 'unreadable',
        why: 'unreadable',
        reason: 'unreadable, left as it is: row 3 is damaged',
      },
    ]);
  });

  it('takes along versions, transcripts and the data directory workspace, leaving a user folder alone', () => {
    const result = plan(
      [
        session('mine', { age: 5, versions: [null, 'release'], sdk: ['sdk-1', 'sdk-2'] }),
        session('user', { age: 5, workspace: '/home/me/project' }),
        session('unrecorded', { age: 5, workspace: null }),
      ],
      { olderThan: '1d' },
    );
    const [mine, user, unrecorded] = result.deletions;
    expect(mine).toMatchObject({
      versions: [1, 2],
      transcripts: ['sdk-1', 'sdk-2'],
      workspace: ws('mine'),
      removeWorkspace: true,
      files: true,
      notes: [],
    });
    expect(user).toMatchObject({ workspace: '/home/me/project', removeWorkspace: false, files: true });
    expect(user?.notes).toEqual([`workspace /home/me/project is not under ${DATA}/workspaces: left as it is`]);
    // No recorded workspace: the folder the orchestrator would have made for it.
    expect(unrecorded).toMatchObject({ workspace: ws('unrecorded'), removeWorkspace: true });
  });

  it('keeps what a remaining session still uses: a fork shares its origin agents and may share a folder', () => {
    const result = plan(
      [
        session('origin', { age: 50, sdk: ['sdk-a', 'sdk-b'] }),
        session('fork', { age: 1, sdk: ['sdk-a', 'sdk-c'] }),
        session('squatter', { age: 50, workspace: ws('fork') }),
      ],
      { olderThan: '30d' },
    );
    expect(ids(result.deletions)).toEqual(['origin', 'squatter']);
    expect(result.deletions[0]?.transcripts).toEqual(['sdk-b']);
    expect(result.deletions[0]?.notes).toEqual(['1 agent transcript(s) kept: a remaining session (a fork) uses them']);
    expect(result.deletions[1]).toMatchObject({ workspace: ws('fork'), removeWorkspace: false });
  });

  it('never makes a path of a session id that is no plain folder name', () => {
    const result = plan([session('../etc', { age: 5, workspace: null }), session('a/b', { age: 5 })], {
      olderThan: '1d',
    });
    for (const deletion of result.deletions) expect(deletion).toMatchObject({ files: false, removeWorkspace: false });
  });

  it('keeps the newest versions of every remaining session, and labelled ones unless told', () => {
    const sessions = [
      session('gone', { age: 50, versions: [null, null, null, null] }),
      session('busy', { age: 1, versions: [null, 'milestone', null, null, null, 'latest'] }),
      session('few', { age: 1, versions: [null, null] }),
      session('running', { age: 50, runs: ['running'], versions: [null, null, null] }),
    ];
    const result = plan(sessions, { olderThan: '30d', keepVersions: 2 });
    expect(ids(result.deletions)).toEqual(['gone']);
    expect(result.trims).toEqual([
      { sessionId: 'busy', versions: [1, 3, 4], labelledKept: [2] },
      { sessionId: 'running', versions: [1], labelledKept: [] },
    ]);
    const all = plan(sessions, { keepVersions: 2, includeLabelled: true });
    expect(all.deletions).toEqual([]);
    expect(all.trims).toEqual([
      { sessionId: 'gone', versions: [1, 2], labelledKept: [] },
      { sessionId: 'busy', versions: [1, 2, 3, 4], labelledKept: [] },
      { sessionId: 'running', versions: [1], labelledKept: [] },
    ]);
    expect(all.kept.map((k) => k.why)).toEqual(['no-age', 'no-age', 'no-age', 'no-age']);
  });
});

describe('formatAge', () => {
  it('shows the largest whole unit', () => {
    expect([45 * DAY + 5, 3 * 3_600_000, 20 * 60_000 + 59_000, 12_000, 300, -5].map(formatAge)).toEqual([
      '45d',
      '3h',
      '20m',
      '12s',
      '300ms',
      '0ms',
    ]);
  });
});

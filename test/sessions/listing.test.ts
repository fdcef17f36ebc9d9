import { describe, expect, it } from 'vitest';
import { type ListingFacts, listingOf } from '../../src/sessions/index.ts';
import type { Lease } from '../../src/store/index.ts';
import { emptySessionState, type SessionState, type WorkflowStatus } from '../../src/workflow/index.ts';

// A session's line in `sessions list` is a pure function of its summary, its state, its cost
// and whether a live process holds its lease: these tests pin the statuses down.

const SUMMARY = {
  sessionId: 'ses_1',
  lastSeq: 42,
  createdAt: '2026-11-28T10:00:00.000Z',
  updatedAt: '2026-11-28T11:00:00.000Z',
};

const LEASE: Lease = {
  sessionId: 'ses_1',
  token: 3,
  ownerId: 'own_1',
  host: 'build-1',
  pid: 4242,
  acquiredAt: '2026-11-28T10:59:00.000Z',
  expiresAt: '2026-11-28T11:00:10.000Z',
};

function stateWith(...runs: Array<[string, WorkflowStatus]>): SessionState {
  const state = emptySessionState('ses_1');
  for (const [i, [name, status]] of runs.entries()) {
    (state.workflows as Record<string, unknown>)[`wf_${i}`] = { workflowId: `wf_${i}`, name, status, nodes: {} };
  }
  return state;
}

const facts = (state: SessionState, liveLease?: Lease): ListingFacts => ({
  summary: SUMMARY,
  state,
  costUsd: 0.1234,
  simulated: true,
  liveLease,
});

describe('listingOf', () => {
  it('shows a run its live owner is running as running, with the owner', () => {
    const listing = listingOf(facts(stateWith(['feature-team', 'running']), LEASE));
    expect(listing).toEqual({
      sessionId: 'ses_1',
      status: 'running',
      resumable: false,
      workflow: 'feature-team',
      costUsd: 0.1234,
      simulated: true,
      events: 42,
      createdAt: SUMMARY.createdAt,
      updatedAt: SUMMARY.updatedAt,
      owner: { host: 'build-1', pid: 4242 },
    });
  });

  it.each<WorkflowStatus>(['running', 'awaiting_input', 'rolling_back'])(
    'shows a %s run without a live owner as interrupted and resumable',
    (status) => {
      const listing = listingOf(facts(stateWith(['hello', status])));
      expect(listing).toMatchObject({ status: 'interrupted', resumable: true, owner: null, workflow: 'hello' });
    },
  );

  it('keeps a paused run paused, resumable when nobody holds it and not while its owner does', () => {
    expect(listingOf(facts(stateWith(['hello', 'paused'])))).toMatchObject({ status: 'paused', resumable: true });
    expect(listingOf(facts(stateWith(['hello', 'paused']), LEASE))).toMatchObject({
      status: 'paused',
      resumable: false,
    });
  });

  it.each<WorkflowStatus>(['completed', 'failed', 'cancelled'])(
    'shows a %s run as it ended, never resumable',
    (status) => {
      expect(listingOf(facts(stateWith(['hello', status])))).toMatchObject({ status, resumable: false });
    },
  );

  it('takes the status and the name of the latest unfinished run, else the latest run', () => {
    const open = listingOf(facts(stateWith(['first', 'completed'], ['second', 'running'], ['third', 'failed'])));
    expect(open).toMatchObject({ status: 'interrupted', workflow: 'second' });
    const ended = listingOf(facts(stateWith(['first', 'failed'], ['second', 'completed'])));
    expect(ended).toMatchObject({ status: 'completed', workflow: 'second' });
  });

  it('shows a session without a workflow as empty, with no workflow name', () => {
    expect(listingOf(facts(stateWith()))).toMatchObject({ status: 'empty', resumable: false, workflow: null });
  });
});

import { describe, expect, it } from 'vitest';
import type { SessionListRow } from '../../web/src/api/types.ts';
import { durationOf, matchesSearch, mergeRows } from '../../web/src/model/rows.ts';

// The sessions list's live updates (web/src/model/rows.ts).

function row(n: number, extra: Partial<SessionListRow> = {}): SessionListRow {
  const at = new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
  return {
    sessionId: `s${n}`,
    lastSeq: n,
    createdAt: at,
    updatedAt: at,
    workflow: 'w',
    status: 'running',
    costUsd: 0,
    openQuestions: 0,
    ...extra,
  };
}

const ALL = { status: '', workflow: '', firstPage: true };

describe('mergeRows', () => {
  const page = [row(30), row(20), row(10)];

  it('updates rows of the page in place', () => {
    const next = mergeRows(page, [row(20, { status: 'completed', costUsd: 1.5 })], ALL);
    expect(next.map((r) => `${r.sessionId}:${r.status}`)).toEqual(['s30:running', 's20:completed', 's10:running']);
  });

  it('puts a new session at the top of the first page when it matches the filters', () => {
    expect(mergeRows(page, [row(40)], ALL).map((r) => r.sessionId)).toEqual(['s40', 's30', 's20', 's10']);
    expect(mergeRows(page, [row(40)], { ...ALL, firstPage: false }).map((r) => r.sessionId)).toEqual([
      's30',
      's20',
      's10',
    ]);
    expect(mergeRows(page, [row(40, { workflow: 'other' })], { ...ALL, workflow: 'w' })).toHaveLength(3);
    expect(mergeRows(page, [row(40)], { ...ALL, status: 'failed' })).toHaveLength(3);
  });

  it('leaves out rows older than the page (the stream starts with rows of later pages)', () => {
    expect(mergeRows(page, [row(5)], ALL).map((r) => r.sessionId)).toEqual(['s30', 's20', 's10']);
  });
});

describe('durationOf', () => {
  it('uses the server duration when given, else first to last event', () => {
    expect(durationOf(row(1, { durationMs: 1234 }))).toBe(1234);
    expect(durationOf({ ...row(1), updatedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 5)).toISOString() })).toBe(4000);
  });
});

describe('matchesSearch', () => {
  it("follows the server's rule (rowMatches of src/reports) for the live rows", async () => {
    const { rowMatches } = await import('../../src/reports/index.ts');
    const rows = [
      { sessionId: 'ses_Wall-7', workflow: 'paint-flow' },
      { sessionId: 'nightly-3', workflow: undefined },
      { sessionId: 'x', workflow: 'ROOFING' },
    ];
    for (const q of ['', '  ', 'wall', 'WALL-7', 'paint', 'flow', 'roof', 'night', 'nothing', 'ses_']) {
      for (const r of rows) expect(matchesSearch(r, q), `${r.sessionId} ~ "${q}"`).toBe(rowMatches(r, { query: q }));
    }
  });

  it('keeps a live row of a session the search does not match off the first page', () => {
    const page = [row(30), row(20)];
    const next = mergeRows(page, [row(40, { sessionId: 'other-40' })], { ...ALL, q: 's4' });
    expect(next.map((r) => r.sessionId)).toEqual(['s30', 's20']);
    const found = mergeRows(page, [row(41)], { ...ALL, q: 'S41' });
    expect(found.map((r) => r.sessionId)).toEqual(['s41', 's30', 's20']);
  });
});

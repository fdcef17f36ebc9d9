import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestratorError } from '../../src/errors/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { EventLog } from '../../src/log/index.ts';
import { EXPORT_FORMAT_VERSION, SessionManager } from '../../src/sessions/index.ts';
import { type OrchestratorStore, openEventStore } from '../../src/store/index.ts';
import { replay } from '../../src/workflow/index.ts';

// Export and import, and what happens to bad input: nothing is written, and the error names
// the file and line. Also a damaged version: the session is rebuilt from the log instead.
let dir: string;
let store: OrchestratorStore;
let log: EventLog;
let sessions: SessionManager;

async function eventsOf(sessionId: string): Promise<AnyEvent[]> {
  const all: AnyEvent[] = [];
  for await (const event of log.readAll(sessionId)) all.push(event);
  return all;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-transfer-'));
  store = await openEventStore({ kind: 'sqlite', path: path.join(dir, 'events.db') });
  log = new EventLog(store);
  sessions = new SessionManager({ log, versionStore: store, dataDir: dir });
  await log.append('ses_source', [
    { type: 'session.created', data: { name: 'source' } },
    { type: 'memory.set', data: { key: 'plan', value: { steps: 3 }, by: 'test' } },
    { type: 'memory.set', data: { key: 'owner', value: 'ada', by: 'test' } },
  ]);
});
afterAll(async () => {
  await log.close();
  await rm(dir, { recursive: true, force: true });
});

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: OrchestratorError) => error,
  );

describe('export and import', () => {
  it('round-trips a session; under another id the events get new ids and keep their origin', async () => {
    const file = path.join(dir, 'source.jsonl');
    expect(await sessions.export('ses_source', file)).toBe(3);
    const original = await eventsOf('ses_source');
    const copy = await sessions.import(file, { as: 'ses_copy' });
    expect(copy).toEqual({ sessionId: 'ses_copy', events: 3 });
    const copied = await eventsOf('ses_copy');
    expect(copied.map((e) => [e.seq, e.type, e.data, e.ts])).toEqual(
      original.map((e) => [e.seq, e.type, e.data, e.ts]),
    );
    expect(copied.map((e) => e.causationId)).toEqual(original.map((e) => e.id));
    const originalIds = new Set(original.map((e) => e.id));
    expect(copied.filter((e) => originalIds.has(e.id))).toEqual([]);
    expect(replay('ses_copy', copied).memory).toEqual({ plan: { steps: 3 }, owner: 'ada' });
  });

  it('refuses a bad file before writing anything, naming the file and line', async () => {
    const good = (await readFile(path.join(dir, 'source.jsonl'), 'utf8')).trimEnd().split('\n');
    const header = JSON.parse(good[0] as string) as Record<string, unknown>;
    const cases: Array<[string, string[], RegExp]> = [
      [
        'newer',
        [JSON.stringify({ ...header, formatVersion: EXPORT_FORMAT_VERSION + 1 }), ...good.slice(1)],
        /:1: export format 2 is newer than this orchestrator reads \(1\)/,
      ],
      ['truncated', good.slice(0, 3), /:3: the header announces 3 events, the file has 2/],
      [
        'garbled',
        [good[0] as string, good[1] as string, '{"type": "memory.se'],
        /:3: not JSON \(the file is truncated or not an export\)/,
      ],
      ['gap', [good[0] as string, good[1] as string, good[3] as string], /:3: expected seq 2, found 3/],
      [
        'unknown',
        [good[0] as string, (good[1] as string).replace('session.created', 'session.exploded')],
        /:2: unknown event type "session.exploded"/,
      ],
      ['empty', [], /:0: the file is empty/],
    ];
    for (const [name, lines, message] of cases) {
      const file = path.join(dir, `${name}.jsonl`);
      await writeFile(file, lines.join('\n'));
      const error = await failure(sessions.import(file, { as: `ses_${name}` }));
      expect(error.code, name).toBe('IMPORT_INVALID');
      expect(error.message, name).toContain(file);
      expect(error.message, name).toMatch(message);
      expect(await log.lastSeq(`ses_${name}`), name).toBe(0);
    }
  });

  it('never overwrites a session that exists', async () => {
    const error = await failure(sessions.import(path.join(dir, 'source.jsonl')));
    expect(error.code).toBe('SESSION_EXISTS');
    expect(await log.lastSeq('ses_source')).toBe(3);
  });
});

describe('a damaged version', () => {
  it('is reported and skipped: the state comes from an older version or the log, and stays exact', async () => {
    await sessions.takeVersion('ses_source', 'first');
    await log.append('ses_source', [{ type: 'memory.set', data: { key: 'late', value: 1, by: 'test' } }]);
    const second = await sessions.takeVersion('ses_source', 'second');
    // Damage the second version's manifest in the database file, as a disk or a bad copy would.
    const db = new DatabaseSync(path.join(dir, 'events.db'));
    db.prepare("UPDATE versions SET manifest = X'7B6E6F7420' WHERE session_id = ? AND version = ?").run(
      'ses_source',
      second.version,
    );
    db.close();
    const reported: OrchestratorError[] = [];
    const state = await sessions.state('ses_source', (error) => reported.push(error));
    expect(reported.map((e) => e.code)).toEqual(['SNAPSHOT_CORRUPT']);
    expect(reported[0]?.message).toContain(`version ${second.version} of session ses_source is unreadable`);
    expect(state).toEqual(replay('ses_source', await eventsOf('ses_source')));
    const load = await failure(sessions.versions.load('ses_source', second.version));
    expect(load.code).toBe('SNAPSHOT_CORRUPT');
  });

  it('answers an unknown version or session with its own code', async () => {
    expect((await failure(sessions.versions.load('ses_source', 99))).code).toBe('VERSION_NOT_FOUND');
    expect((await failure(sessions.state('ses_nobody'))).code).toBe('SESSION_NOT_FOUND');
    expect((await failure(sessions.fork('ses_source', { version: 42 }))).code).toBe('VERSION_NOT_FOUND');
  });
});

import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestratorError } from '../../src/errors/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { EventLog } from '../../src/log/index.ts';
import { EXPORT_FORMAT_VERSION, SessionManager } from '../../src/sessions/index.ts';
import { type OrchestratorStore, openEventStore, type VersionStore } from '../../src/store/index.ts';
import { replay } from '../../src/workflow/index.ts';

// Export and import without a workspace (no git): the log and the versions round-trip between
// two stores and data directories; bad files are refused before anything is written, naming
// the file, line and field; a write that fails half-way is undone. A damaged version is
// rebuilt from the log. Transcripts and workspace history: transfer.int.test.ts.

interface Side {
  readonly dir: string;
  readonly store: OrchestratorStore;
  readonly log: EventLog;
  readonly sessions: SessionManager;
}

async function openSide(dir: string, versionStore?: (store: OrchestratorStore) => VersionStore): Promise<Side> {
  const store = await openEventStore({ kind: 'sqlite', path: path.join(dir, 'events.db') });
  const log = new EventLog(store);
  const sessions = new SessionManager({
    log,
    versionStore: versionStore ? versionStore(store) : store,
    transcriptStore: store,
    dataDir: dir,
  });
  return { dir, store, log, sessions };
}

let root: string;
let a: Side;
let b: Side;
let good: string;
let goodLines: string[];

async function eventsOf(side: Side, sessionId: string): Promise<AnyEvent[]> {
  const all: AnyEvent[] = [];
  for await (const event of side.log.readAll(sessionId)) all.push(event);
  return all;
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: OrchestratorError) => error,
  );

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'orch-transfer-'));
  a = await openSide(path.join(root, 'a'));
  b = await openSide(path.join(root, 'b'));
  await a.log.append('ses_source', [
    { type: 'session.created', data: { name: 'source' } },
    { type: 'memory.set', data: { key: 'plan', value: { steps: 3 }, by: 'test' } },
  ]);
  await a.sessions.takeVersion('ses_source', 'first');
  await a.log.append('ses_source', [{ type: 'memory.set', data: { key: 'owner', value: 'ada', by: 'test' } }]);
  await a.sessions.takeVersion('ses_source');
  good = path.join(root, 'source.jsonl');
  const exported = await a.sessions.export('ses_source', good);
  expect(exported).toMatchObject({ events: 5, versions: 2, transcripts: 0, historyBytes: 0, skippedVersions: [] });
  goodLines = (await readFile(good, 'utf8')).trimEnd().split('\n');
});
afterAll(async () => {
  await a.log.close();
  await b.log.close();
  await rm(root, { recursive: true, force: true });
});

describe('export and import (format 3)', () => {
  it('carries the log and every version into another store and data directory', async () => {
    const result = await b.sessions.import(good);
    expect(result).toMatchObject({
      sessionId: 'ses_source',
      formatVersion: 3,
      events: 5,
      versions: 2,
      renumberedVersions: [],
      workspace: path.join(b.dir, 'workspaces', 'ses_source'),
      filesRestored: false,
    });
    const original = await eventsOf(a, 'ses_source');
    const copied = await eventsOf(b, 'ses_source');
    expect(copied.slice(0, 5)).toEqual(original);
    expect(copied[5]).toMatchObject({
      seq: 6,
      type: 'session.imported',
      data: { fromSessionId: 'ses_source', fromStore: 'sqlite', formatVersion: 3, versions: 2, transcripts: 0 },
    });
    // Versions: same numbers, positions and checksums, and each loads (verified) to the replay of its seq.
    const [from, to] = [await a.sessions.versions.list('ses_source'), await b.sessions.versions.list('ses_source')];
    expect(to.map(({ version, seq, label, checksum }) => ({ version, seq, label, checksum }))).toEqual(
      from.map(({ version, seq, label, checksum }) => ({ version, seq, label, checksum })),
    );
    for (const record of to) {
      const { state } = await b.sessions.versions.load('ses_source', record.version);
      expect(state).toEqual(replay('ses_source', copied.slice(0, record.seq)));
    }
    const state = await b.sessions.state('ses_source');
    expect(state.workspace).toBe(path.join(b.dir, 'workspaces', 'ses_source'));
    expect(state.memory).toEqual({ plan: { steps: 3 }, owner: 'ada' });
  });

  it('under another id: new event ids that keep their origin, and versions of the new id', async () => {
    const result = await a.sessions.import(good, { as: 'ses_copy' });
    expect(result).toMatchObject({ sessionId: 'ses_copy', events: 5, versions: 2 });
    const original = await eventsOf(a, 'ses_source');
    const copied = await eventsOf(a, 'ses_copy');
    expect(copied.slice(0, 5).map((e) => [e.seq, e.type, e.data, e.ts])).toEqual(
      original.map((e) => [e.seq, e.type, e.data, e.ts]),
    );
    expect(copied.slice(0, 5).map((e) => e.causationId)).toEqual(original.map((e) => e.id));
    const ids = new Set(original.map((e) => e.id));
    expect(copied.filter((e) => ids.has(e.id))).toEqual([]);
    for (const record of await a.sessions.versions.list('ses_copy')) {
      const { state } = await a.sessions.versions.load('ses_copy', record.version);
      expect(state).toEqual(replay('ses_copy', copied.slice(0, record.seq)));
    }
    expect((await a.sessions.state('ses_copy')).sessionId).toBe('ses_copy');
  });

  it('still reads format 1 files (the log only)', async () => {
    const header = {
      format: 'ai-orchestrator/session',
      formatVersion: 1,
      sessionId: 'ses_v1',
      events: 2,
      exportedAt: 'x',
    };
    const events = (await eventsOf(a, 'ses_source'))
      .slice(0, 2)
      .map((e) => JSON.stringify({ ...e, id: `${e.id}_v1`, sessionId: 'ses_v1' }));
    const file = path.join(root, 'v1.jsonl');
    await writeFile(file, [JSON.stringify(header), ...events].join('\n'));
    expect(await b.sessions.import(file)).toMatchObject({ sessionId: 'ses_v1', formatVersion: 1, events: 2 });
    const copied = await eventsOf(b, 'ses_v1');
    expect(copied.map((e) => e.type)).toEqual(['session.created', 'memory.set', 'session.imported']);
    // Where it came from: the file and its digest.
    expect(copied[2]?.data).toMatchObject({ fromSessionId: 'ses_v1', formatVersion: 1, file });
  });
});

describe('bad files are refused before anything is written', () => {
  const header = () =>
    JSON.parse(goodLines[0] as string) as Record<string, unknown> & { counts: Record<string, number> };
  const line = (n: number) => goodLines[n - 1] as string;
  const at = (type: string) => goodLines.findIndex((l) => l.startsWith(`{"t":"${type}"`)) + 1;
  const withLine = (n: number, text: string) => goodLines.map((l, i) => (i === n - 1 ? text : l));

  it('names the file, the line and the field', async () => {
    const blob = JSON.parse(line(at('blob'))) as { hash: string; bytes: string };
    const version = JSON.parse(line(at('version'))) as { version: Record<string, unknown> };
    const cases: Array<[string, string[], RegExp]> = [
      [
        'newer',
        withLine(1, JSON.stringify({ ...header(), formatVersion: EXPORT_FORMAT_VERSION + 1 })),
        /:1: formatVersion: export format 4 is newer than this orchestrator reads \(3\)/,
      ],
      ['truncated', goodLines.slice(0, -1), new RegExp(`:${goodLines.length - 1}: the file ends before its end line`)],
      [
        'cut',
        [...goodLines.slice(0, 3), line(4).slice(0, 20)],
        /:4: not JSON \(the file is truncated or not an export\)/,
      ],
      [
        'count',
        withLine(1, JSON.stringify({ ...header(), counts: { ...header().counts, events: 6 } })),
        /:1: header\.counts\.events: the header announces 6 events, the file has 5/,
      ],
      ['gap', goodLines.filter((_, i) => i !== 2), /:3: event\.seq: expected seq 2, found 3/],
      [
        'unknown',
        withLine(2, line(2).replace('session.created', 'session.exploded')),
        /:2: event\.type: unknown event type "session\.exploded"/,
      ],
      [
        'payload',
        withLine(3, line(3).replace('"key":"plan"', '"key":7')),
        /:3: event: invalid "memory\.set" event: data\.key/,
      ],
      [
        'hash',
        withLine(
          at('blob'),
          JSON.stringify({ ...blob, hash: blob.hash.replace(/^./, (c) => (c === '0' ? '1' : '0')) }),
        ),
        new RegExp(`:${at('blob')}: bytes: blob .* does not match its hash`),
      ],
      [
        'checksum',
        withLine(at('version'), JSON.stringify({ ...version, version: { ...version.version, checksum: 'nope' } })),
        new RegExp(`:${at('version')}: version\\.checksum: a SHA-256 digest`),
      ],
      [
        'missing-blob',
        withLine(
          1,
          JSON.stringify({ ...header(), counts: { ...header().counts, blobs: (header().counts.blobs ?? 0) - 1 } }),
        ).filter((_, i) => i !== at('blob') - 1),
        new RegExp(`:${at('version')}: version: version 1 of session ses_source is unreadable: .* is missing`),
      ],
      [
        'after-end',
        [...goodLines, '{"t":"end"}'],
        new RegExp(`:${goodLines.length + 1}: nothing may follow the end line`),
      ],
      ['order', [...goodLines.slice(0, -1), line(2), '{"t":"end"}'], /: t: a event line after a later section/],
      ['empty', [], /:0: the file is empty/],
      [
        'escape',
        withLine(1, JSON.stringify({ ...header(), sessionId: '../../etc' })),
        /:1: header\.sessionId: a session id must be a safe name: .* received "\.\.\/\.\.\/etc"/,
      ],
    ];
    for (const [name, lines, message] of cases) {
      const file = path.join(root, `${name}.jsonl`);
      await writeFile(file, lines.join('\n'));
      const error = await failure(b.sessions.import(file, { as: `ses_${name}` }));
      expect(error.code, `${name}: ${error.message}`).toBe('IMPORT_INVALID');
      expect(error.message, name).toContain(file);
      expect(error.message, name).toMatch(message);
      expect(await b.log.lastSeq(`ses_${name}`), name).toBe(0);
      expect(await b.sessions.versions.list(`ses_${name}`), name).toEqual([]);
    }
  });

  it('refuses an id that would name a folder elsewhere', async () => {
    const error = await failure(b.sessions.import(good, { as: '../elsewhere' }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(/^as must be a safe name: .* received "\.\.\/elsewhere"/);
  });

  it('never overwrites a session that exists', async () => {
    const error = await failure(a.sessions.import(good));
    expect(error.code).toBe('SESSION_EXISTS');
    expect(await a.log.lastSeq('ses_source')).toBe(5);
  });
});

describe('a write that fails half-way', () => {
  it('is undone: no events, versions, blobs or folders remain, and the import can be done again', async () => {
    const dir = path.join(root, 'c');
    let puts = 0;
    const c = await openSide(dir, (store) => ({
      putBlobs: (blobs) => store.putBlobs(blobs),
      getBlobs: (hashes) => store.getBlobs(hashes),
      putVersion: async (version) => {
        if (++puts === 2) throw new Error('the disk is full');
        return store.putVersion(version);
      },
      listVersions: (id) => store.listVersions(id),
      getVersion: (id, n) => store.getVersion(id, n),
      deleteVersions: (id, n) => store.deleteVersions(id, n),
      deleteUnreferencedBlobs: () => store.deleteUnreferencedBlobs(),
    }));
    try {
      const error = await failure(c.sessions.import(good));
      expect(error.message).toBe('the disk is full');
      expect(await c.log.lastSeq('ses_source')).toBe(0);
      expect(await c.store.listVersions('ses_source')).toEqual([]);
      const hashes = (JSON.parse(goodLines[0] as string) as { counts: { blobs: number } }).counts.blobs;
      const blobLines = goodLines.filter((l) => l.startsWith('{"t":"blob"')).map((l) => JSON.parse(l).hash as string);
      expect(blobLines).toHaveLength(hashes);
      expect((await c.store.getBlobs(blobLines)).size).toBe(0);
      expect(await readdir(path.join(dir, 'workspaces')).catch(() => [])).toEqual([]);
      expect(await readdir(path.join(dir, 'history')).catch(() => [])).toEqual([]);

      // Again, now that the store works: the store never reuses version 1 of this id, so the
      // versions get other numbers, which the import reports and records.
      const again = await c.sessions.import(good);
      expect(again.renumberedVersions).toEqual([
        { from: 1, to: 2 },
        { from: 2, to: 3 },
      ]);
      const last = (await eventsOf(c, 'ses_source')).at(-1);
      expect(last).toMatchObject({ type: 'session.imported', data: { renumberedVersions: again.renumberedVersions } });
      expect((await c.sessions.versions.load('ses_source', 3)).state.memory).toEqual({
        plan: { steps: 3 },
        owner: 'ada',
      });
    } finally {
      await c.log.close();
    }
  });
});

describe('a damaged version', () => {
  it('is reported and skipped: the state comes from an older version or the log, and stays exact', async () => {
    // A session of its own: the other tests compare with the source's log as exported.
    const id = 'ses_damaged';
    await a.sessions.import(good, { as: id });
    await a.log.append(id, [{ type: 'memory.set', data: { key: 'late', value: 1, by: 'test' } }]);
    const damaged = await a.sessions.takeVersion(id, 'damaged');
    // Damage the version's manifest in the database file, as a disk or a bad copy would.
    const db = new DatabaseSync(path.join(a.dir, 'events.db'));
    db.prepare("UPDATE versions SET manifest = X'7B6E6F7420' WHERE session_id = ? AND version = ?").run(
      id,
      damaged.version,
    );
    db.close();
    const reported: OrchestratorError[] = [];
    const state = await a.sessions.state(id, (error) => reported.push(error));
    expect(reported.map((e) => e.code)).toEqual(['SNAPSHOT_CORRUPT']);
    expect(reported[0]?.message).toContain(`version ${damaged.version} of session ${id} is unreadable`);
    expect(state).toEqual(replay(id, await eventsOf(a, id)));
    expect((await failure(a.sessions.versions.load(id, damaged.version))).code).toBe('SNAPSHOT_CORRUPT');
    // An export leaves it out and says so; the log carries what it held.
    const file = path.join(root, 'damaged.jsonl');
    expect(await a.sessions.export(id, file)).toMatchObject({ skippedVersions: [damaged.version] });
  });

  it('answers an unknown version or session with its own code', async () => {
    expect((await failure(a.sessions.versions.load('ses_source', 99))).code).toBe('VERSION_NOT_FOUND');
    expect((await failure(a.sessions.state('ses_nobody'))).code).toBe('SESSION_NOT_FOUND');
    expect((await failure(a.sessions.export('ses_nobody', path.join(root, 'x.jsonl')))).code).toBe('SESSION_NOT_FOUND');
    expect((await failure(a.sessions.fork('ses_source', { version: 42 }))).code).toBe('VERSION_NOT_FOUND');
  });
});

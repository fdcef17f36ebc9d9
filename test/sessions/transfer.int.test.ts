import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OrchestratorError } from '../../src/errors/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { EventLog } from '../../src/log/index.ts';
import { SessionManager } from '../../src/sessions/index.ts';
import {
  type OrchestratorStore,
  openEventStore,
  type TranscriptEntry,
  type TranscriptStore,
} from '../../src/store/index.ts';
import { projectKeyOf } from '../../src/workspace/index.ts';
import { postgresClient, postgresProblem, TEST_DATABASE_URL } from '../support/postgres.ts';

// A session with everything an export carries: versions whose workspace files are in the
// session's git history, and transcripts of its agents (main, a subagent's, and one kept in a
// node's worktree). It goes from SQLite on one data directory to PostgreSQL on another: the
// files of the newest version land in the new workspace, the history comes along (diff sees
// the files), and the transcripts are keyed by the new folders. A write that fails half-way
// (here: the third transcript) leaves nothing in PostgreSQL nor in the data directory.

const SESSION = 'ses_transfer_int';
const SDK = '4b1f7c2e-0d5a-4c3e-9a61-2f0e8d7c6b5a';
const SDK_ISO = '9c8d7e6f-1a2b-4c3d-8e9f-0a1b2c3d4e5f';

interface Side {
  readonly dir: string;
  readonly store: OrchestratorStore;
  readonly log: EventLog;
  readonly sessions: SessionManager;
}

function side(dir: string, store: OrchestratorStore, transcripts: TranscriptStore = store): Side {
  const log = new EventLog(store);
  return {
    dir,
    store,
    log,
    sessions: new SessionManager({ log, versionStore: store, transcriptStore: transcripts, dataDir: dir }),
  };
}

const entry = (uuid: string, cwd: string, text: string): TranscriptEntry => ({
  type: 'user',
  uuid,
  cwd,
  message: { role: 'user', content: text },
});

async function eventsOf(s: Side, id: string): Promise<AnyEvent[]> {
  const all: AnyEvent[] = [];
  for await (const event of s.log.readAll(id)) all.push(event);
  return all;
}

const unreachable = await postgresProblem();

describe.skipIf(unreachable !== undefined && process.env.CI !== 'true')(
  `export from SQLite, import into PostgreSQL on another data directory${unreachable ? ` — skipped: PostgreSQL not reachable at ${TEST_DATABASE_URL} (${unreachable})` : ''}`,
  () => {
    let root: string;
    let a: Side;
    let b: Side;
    let workspaceA: string;
    let file: string;
    const schema = `orch_transfer_${randomBytes(5).toString('hex')}`;

    beforeAll(async () => {
      if (unreachable) throw new Error(`PostgreSQL not reachable at ${TEST_DATABASE_URL}: ${unreachable}`);
      root = await mkdtemp(path.join(tmpdir(), 'orch-transfer-int-'));
      const dirA = path.join(root, 'a');
      a = side(dirA, await openEventStore({ kind: 'sqlite', path: path.join(dirA, 'events.db') }));
      b = side(path.join(root, 'b'), await openEventStore({ kind: 'postgres', url: TEST_DATABASE_URL, schema }));
      workspaceA = path.join(dirA, 'workspaces', SESSION);
      await mkdir(path.join(workspaceA, 'src'), { recursive: true });
      await writeFile(path.join(workspaceA, 'PLAN.md'), '# Plan\n');
      const definition = { name: 'flow', nodes: [{ id: 'draft' }, { id: 'iso' }] };
      await a.log.append(SESSION, [
        { type: 'session.created', data: { name: 'flow', workspace: workspaceA } },
        { type: 'workflow.started', data: { workflowId: 'wf_1', name: 'flow', definition, workspace: workspaceA } },
        { type: 'node.started', data: { workflowId: 'wf_1', nodeId: 'draft', attempt: 1, agentId: 'agt_1' } },
        { type: 'agent.spawned', data: { agentId: 'agt_1', agentType: 'writer', nodeId: 'draft' } },
        { type: 'agent.progress', data: { agentId: 'agt_1', kind: 'init', sdkSessionId: SDK } },
      ]);
      await a.sessions.takeVersion(SESSION, 'planned');
      await writeFile(path.join(workspaceA, 'src', 'csv.ts'), 'export const parseCsv = () => [];\n');
      await a.log.append(SESSION, [
        { type: 'node.started', data: { workflowId: 'wf_1', nodeId: 'iso', attempt: 1, agentId: 'agt_2' } },
        { type: 'agent.spawned', data: { agentId: 'agt_2', agentType: 'writer', nodeId: 'iso' } },
        { type: 'agent.progress', data: { agentId: 'agt_2', kind: 'init', sdkSessionId: SDK_ISO } },
      ]);
      await a.sessions.takeVersion(SESSION);
      // Transcripts, as the SDK's session store writes them: keyed by the agent's folder.
      const real = await realpath(workspaceA);
      const worktree = path.join(await realpath(dirA), 'worktrees', SESSION, 'iso-1');
      await a.store.appendTranscript({ projectKey: projectKeyOf(real), sessionId: SDK }, [
        entry('u1', real, 'Draft the plan.'),
        {
          type: 'assistant',
          uuid: 'u2',
          cwd: path.join(real, 'src'),
          message: { role: 'assistant', content: 'Done.' },
        },
      ]);
      await a.store.appendTranscript(
        { projectKey: projectKeyOf(real), sessionId: SDK, subpath: 'subagents/agent-a1' },
        [entry('s1', real, 'Look around.')],
      );
      await a.store.appendTranscript({ projectKey: projectKeyOf(worktree), sessionId: SDK_ISO }, [
        entry('w1', worktree, 'Work alone.'),
      ]);
      // Another agent's conversation in the same folder, of no agent of this session: not exported.
      await a.store.appendTranscript({ projectKey: projectKeyOf(real), sessionId: 'someone-else' }, [
        entry('x1', real, 'Not mine.'),
      ]);
      file = path.join(root, 'session.jsonl');
    });

    afterAll(async () => {
      await a?.log.close();
      await b?.log.close();
      const client = postgresClient();
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
      if (root) await rm(root, { recursive: true, force: true });
    });

    it('exports the log, versions, transcripts and history into one file', async () => {
      const result = await a.sessions.export(SESSION, file);
      expect(result).toMatchObject({ events: 10, versions: 2, transcripts: 3, skippedVersions: [] });
      expect(result.historyBytes).toBeGreaterThan(0);
      const header = JSON.parse((await readFile(file, 'utf8')).split('\n')[0] as string);
      expect(header).toMatchObject({
        formatVersion: 3,
        sessionId: SESSION,
        source: { store: 'sqlite' },
        workspace: { path: workspaceA, inDataDir: true },
      });
    });

    it('undoes a write that fails half-way: nothing remains in PostgreSQL or the data directory', async () => {
      let appends = 0;
      const failing: TranscriptStore = {
        appendTranscript: async (key, entries) => {
          if (++appends === 3) throw new Error('the connection dropped');
          return b.store.appendTranscript(key, entries);
        },
        loadTranscript: (key) => b.store.loadTranscript(key),
        listTranscriptSessions: (key) => b.store.listTranscriptSessions(key),
        deleteTranscript: (key) => b.store.deleteTranscript(key),
        deleteTranscriptSessions: (ids) => b.store.deleteTranscriptSessions(ids),
        listTranscriptSubkeys: (key) => b.store.listTranscriptSubkeys(key),
      };
      const broken = side(b.dir, b.store, failing);
      const error = await broken.sessions.import(file).then(
        () => undefined,
        (e: OrchestratorError) => e,
      );
      expect(error?.message).toBe('the connection dropped');
      expect(appends).toBe(3);
      expect(await b.log.lastSeq(SESSION)).toBe(0);
      expect(await b.store.listVersions(SESSION)).toEqual([]);
      const key = projectKeyOf(path.join(b.dir, 'workspaces', SESSION));
      expect(await b.store.listTranscriptSessions(key)).toEqual([]);
      expect(
        await b.store.loadTranscript({ projectKey: key, sessionId: SDK, subpath: 'subagents/agent-a1' }),
      ).toBeNull();
      expect(await readdir(path.join(b.dir, 'workspaces'))).toEqual([]);
      expect(await readdir(path.join(b.dir, 'history'))).toEqual([]);
    });

    it('imports it all on the other side: files, history, transcripts under the new folders', async () => {
      // Watched, not replaced: the store writes as it always does.
      const putVersion = vi.spyOn(b.store, 'putVersion');
      const result = await b.sessions.import(file);
      // Pages were stored with the blobs they name, so each version names only its root page, as
      // a version taken here does (it used to name every page and chunk).
      expect(putVersion.mock.calls.map(([v]) => v.blobHashes)).toEqual(
        putVersion.mock.calls.map(([v]) => [v.checksum]),
      );
      putVersion.mockRestore();
      const workspaceB = path.join(b.dir, 'workspaces', SESSION);
      expect(result).toMatchObject({
        events: 10,
        versions: 2,
        transcripts: 3,
        workspace: workspaceB,
        filesRestored: true,
      });
      // The files of the newest version, and the history behind them.
      expect(await readFile(path.join(workspaceB, 'src', 'csv.ts'), 'utf8')).toContain('parseCsv');
      expect(await readFile(path.join(workspaceB, 'PLAN.md'), 'utf8')).toBe('# Plan\n');
      const diff = await b.sessions.diff(SESSION, 1, 2);
      expect(diff.summary.files).toEqual(['src/csv.ts']);
      // Through those links, a compaction keeps every page and chunk the versions need.
      await b.store.deleteUnreferencedBlobs();
      expect((await b.sessions.diff(SESSION, 1, 2)).summary.files).toEqual(['src/csv.ts']);
      // The log, with its origin recorded last; resume will use the new workspace.
      const events = await eventsOf(b, SESSION);
      expect(events.slice(0, 10)).toEqual(await eventsOf(a, SESSION));
      expect(events[10]).toMatchObject({
        type: 'session.imported',
        data: { fromStore: 'sqlite', originalWorkspace: workspaceA, workspace: workspaceB, filesRestored: true },
      });
      expect((await b.sessions.state(SESSION)).workspace).toBe(workspaceB);
      // Transcripts: same SDK sessions, keyed by the new folders, their cwd moved along.
      const real = await realpath(workspaceB);
      const main = await b.store.loadTranscript({ projectKey: projectKeyOf(real), sessionId: SDK });
      expect(main?.map((e) => [e.uuid, e.cwd])).toEqual([
        ['u1', real],
        ['u2', path.join(real, 'src')],
      ]);
      expect(await b.store.listTranscriptSubkeys({ projectKey: projectKeyOf(real), sessionId: SDK })).toEqual([
        'subagents/agent-a1',
      ]);
      const worktree = path.join(await realpath(b.dir), 'worktrees', SESSION, 'iso-1');
      const iso = await b.store.loadTranscript({ projectKey: projectKeyOf(worktree), sessionId: SDK_ISO });
      expect(iso?.map((e) => e.cwd)).toEqual([worktree]);
      expect(await b.store.listTranscriptSessions(projectKeyOf(real))).toEqual([
        { sessionId: SDK, mtime: expect.any(Number) },
      ]);
      // The source is untouched.
      expect(await readFile(path.join(workspaceA, 'src', 'csv.ts'), 'utf8')).toContain('parseCsv');
    });

    it('into another store sharing the data directory, uses the files and history that are there', async () => {
      const c = side(a.dir, await openEventStore({ kind: 'sqlite', path: path.join(a.dir, 'other.db') }));
      try {
        await writeFile(path.join(workspaceA, 'NOTES.md'), 'written after the export\n');
        const result = await c.sessions.import(file);
        expect(result).toMatchObject({ workspace: workspaceA, filesRestored: false, versions: 2 });
        expect(await readFile(path.join(workspaceA, 'NOTES.md'), 'utf8')).toBe('written after the export\n');
        expect((await c.sessions.diff(SESSION, 1, 2)).summary.files).toEqual(['src/csv.ts']);
      } finally {
        await c.log.close();
      }
    });
  },
);

import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeResult,
  FEATURE_TEAM,
  type LogReader,
  openLogReader,
  parseJsonLines,
  runCli,
  tempDir,
} from '../support/cli-kit.ts';
import { postgresClient, postgresProblem, TEST_DATABASE_URL } from '../support/postgres.ts';

// Versions, diff, fork, resume from a version, export and import, through the CLI on a real run
// of the demo team (real agents, scripted model). Versions are taken as the run goes. What
// carries on from a version starts from the last one before the run-time fix-up node: a
// session half-way, with a node and the approval left, so that each of the three runs from a
// version starts two agents rather than the five or six left after the plan.

interface VersionLine {
  version: number;
  seq: number;
  label: string | null;
  workspaceCommit: string | null;
  newBytes: number;
}

const DATABASE_URL = TEST_DATABASE_URL;

describe('sessions: versions, diff, fork, resume from a version, export and import', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let dataDir: string;
  let reader: LogReader;
  const sessionId = 'ses_cli_versions';
  let versions: VersionLine[] = [];
  /** The last version before the run-time `fixup` node started. */
  let beforeFixup: VersionLine;

  const cli = (args: string[], env?: Record<string, string>) => runCli(args, { dataDir, ...(env && { env }) });

  beforeAll(async () => {
    tmp = await tempDir('orch-cli-sessions-');
    dataDir = path.join(tmp.dir, 'data');
    reader = await openLogReader(dataDir);
    const run = await cli(['run', FEATURE_TEAM, '--session', sessionId, '--yes']);
    expect(run.code, describeResult(run)).toBe(0);
    const listed = await cli(['sessions', 'versions', sessionId, '--json']);
    expect(listed.code, describeResult(listed)).toBe(0);
    versions = parseJsonLines(listed.stdout) as VersionLine[];
    const fixupStart = (await reader.events(sessionId)).find(
      (e) => e.type === 'node.started' && e.data.nodeId === 'fixup',
    );
    const candidates = versions.filter((v) => fixupStart !== undefined && v.seq < fixupStart.seq);
    beforeFixup = candidates.at(-1) as VersionLine;
    expect(beforeFixup, JSON.stringify(versions)).toBeDefined();
  }, 120_000);

  afterAll(async () => {
    await reader?.close();
    await tmp?.cleanup();
  });

  it('took versions as the run went, the last one at its last event, each with the workspace files', async () => {
    // One after each completed node (coalesced when several complete at once), on questions
    // and at the end: the demo has seven nodes and an approval.
    expect(versions.length).toBeGreaterThanOrEqual(4);
    expect(versions.map((v) => v.version)).toEqual(versions.map((_, i) => i + 1));
    const seqs = versions.map((v) => v.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(versions.at(-1)?.seq).toBe(await reader.lastSeq(sessionId));
    expect(versions.every((v) => typeof v.workspaceCommit === 'string')).toBe(true);
    // Later versions share what did not change: each stores far less than the first.
    const first = versions[0] as VersionLine;
    expect(Math.max(...versions.slice(1).map((v) => v.newBytes))).toBeLessThan(first.newBytes * 4);

    const table = await cli(['sessions', 'versions', sessionId]);
    expect(table.stdout).toMatch(/^VERSION\s+SEQ\s+CREATED\s+STORED\s+FILES\s+LABEL/);
  });

  it('diffs two versions: nodes that changed, files written, and an RFC 6902 patch', async () => {
    const last = versions.at(-1) as VersionLine;
    const result = await cli(['sessions', 'diff', sessionId, '1', String(last.version), '--json']);
    expect(result.code, describeResult(result)).toBe(0);
    const diff = JSON.parse(result.stdout) as {
      from: { version: number };
      to: { version: number };
      patch: Array<{ op: string; path: string }>;
      summary: {
        nodes: Array<{ nodeId: string; to: string }>;
        files: string[];
        eventsAdded: number;
        costAddedUsd: number;
      };
    };
    expect(diff.from.version).toBe(1);
    expect(diff.to.version).toBe(last.version);
    expect(diff.summary.nodes).toContainEqual(expect.objectContaining({ nodeId: 'ship', to: 'completed' }));
    expect(diff.summary.files).toEqual(expect.arrayContaining(['src/csv.ts', 'test/csv.test.ts']));
    expect(diff.summary.eventsAdded).toBe(last.seq - (versions[0] as VersionLine).seq);
    expect(diff.summary.costAddedUsd).toBeGreaterThan(0);
    expect(diff.patch.some((op) => op.op === 'replace' && op.path.endsWith('/ship/status'))).toBe(true);

    const readable = await cli(['sessions', 'diff', sessionId, '1']);
    expect(readable.stdout).toContain(`session ${sessionId}: version 1`);
    expect(readable.stdout).toMatch(/ship: pending -> completed/);
    expect(readable.stdout).toMatch(/files: .*src\/csv\.ts/);
  });

  it('takes a labelled version on request and records it in the log', async () => {
    const before = await reader.lastSeq(sessionId);
    const taken = await cli(['sessions', 'version', sessionId, '--label', 'reviewed', '--json']);
    expect(taken.code, describeResult(taken)).toBe(0);
    expect(JSON.parse(taken.stdout)).toMatchObject({ version: versions.length + 1, seq: before, label: 'reviewed' });
    const events = await reader.events(sessionId);
    expect(events.at(-1)).toMatchObject({ type: 'session.versioned', data: { label: 'reviewed', seq: before } });
  });

  it('forks a version with the files of that version, and the fork carries on to the end; the original is untouched', async () => {
    const original = await reader.lastSeq(sessionId);
    const version = String(beforeFixup.version);
    const forked = await cli(['sessions', 'fork', sessionId, '--version', version, '--as', 'ses_cli_fork', '--json']);
    expect(forked.code, describeResult(forked)).toBe(0);
    const fork = JSON.parse(forked.stdout) as { sessionId: string; workspace: string; filesRestored: boolean };
    expect(fork).toMatchObject({ sessionId: 'ses_cli_fork', filesRestored: true });
    // Taken before the fix-up: the coder's file is there, the doc comment the fix-up adds is not
    // yet (the original's workspace has it).
    const docComment = '/** Parses RFC 4180 CSV text into rows of fields. */';
    const code = (dir: string) => readFile(path.join(dir, 'src', 'csv.ts'), 'utf8');
    expect(await code(path.join(dataDir, 'workspaces', sessionId))).toContain(docComment);
    expect(await code(fork.workspace)).toContain('export function parseCsv');
    expect(await code(fork.workspace)).not.toContain(docComment);

    const resumed = await cli(['sessions', 'resume', 'ses_cli_fork', '--yes']);
    expect(resumed.code, describeResult(resumed)).toBe(0);
    expect(await code(fork.workspace)).toContain(docComment);
    const events = await reader.events('ses_cli_fork');
    expect(events.find((e) => e.type === 'session.forked')?.data).toMatchObject({
      fromSessionId: sessionId,
      fromVersion: beforeFixup.version,
    });
    expect(events.at(-1)).toMatchObject({ type: 'workflow.completed', data: { status: 'completed' } });
    // Nodes done before the fork point were not run again. Which nodes those are is read from
    // the original's log: a version due at review's end may be spaced past the fix-up's start,
    // and then the last version before it still has review running (which the fork runs again).
    const originalEvents = await reader.events(sessionId);
    const doneAtFork = originalEvents
      .filter((e) => e.type === 'node.completed' && e.seq <= beforeFixup.seq)
      .map((e) => e.data.nodeId as string);
    expect(doneAtFork).toEqual(expect.arrayContaining(['plan', 'implement', 'tests']));
    for (const nodeId of doneAtFork) {
      const runs = events.filter((e) => e.type === 'node.started' && e.data.nodeId === nodeId);
      expect(runs, nodeId).toHaveLength(1);
    }
    expect(await reader.lastSeq(sessionId)).toBe(original);
  }, 120_000);

  it('resumes from an older version as a new session, leaving history as it was', async () => {
    const original = await reader.lastSeq(sessionId);
    const version = beforeFixup.version;
    const resumed = await cli(['sessions', 'resume', sessionId, '--version', String(version), '--yes']);
    expect(resumed.code, describeResult(resumed)).toBe(0);
    const match = new RegExp(`resuming version ${version} of ses_cli_versions as the new session (\\S+)`).exec(
      resumed.stdout,
    );
    expect(match, resumed.stdout).not.toBeNull();
    const events = await reader.events(match?.[1] as string);
    expect(events.at(-1)).toMatchObject({ type: 'workflow.completed', data: { status: 'completed' } });
    expect(await reader.lastSeq(sessionId)).toBe(original);
  }, 120_000);

  it('refuses an unknown session or version with a clear error and exit code 2', async () => {
    const noVersion = await cli(['sessions', 'diff', sessionId, '99']);
    expect(noVersion.code).toBe(2);
    expect(noVersion.stderr).toMatch(
      /error \[VERSION_NOT_FOUND\]: session ses_cli_versions has no version 99 \(it has versions 1\.\.\d+\)/,
    );
    const noSession = await cli(['sessions', 'fork', 'ses_nope', '--version', '1']);
    expect(noSession.code).toBe(2);
    expect(noSession.stderr).toContain('error [SESSION_NOT_FOUND]');
    const clash = await cli(['sessions', 'fork', sessionId, '--as', 'ses_cli_fork']);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain('error [SESSION_EXISTS]');
  });

  it('exports a session from SQLite and imports it into PostgreSQL, where it resumes', async (context) => {
    const problem = await postgresProblem();
    if (problem !== undefined) {
      if (process.env.CI === 'true') throw new Error(`PostgreSQL not reachable at ${DATABASE_URL}: ${problem}`);
      context.skip(`PostgreSQL not reachable at ${DATABASE_URL}: ${problem}`);
    }
    const schema = `orch_cli_${randomBytes(5).toString('hex')}`;
    const postgres = { DATABASE_URL, ORCHESTRATOR_STORE: 'postgres', ORCHESTRATOR_PG_SCHEMA: schema };
    try {
      // A session stopped half-way: fork the demo before its fix-up, then move it to the other store.
      const version = String(beforeFixup.version);
      const forked = await cli(['sessions', 'fork', sessionId, '--version', version, '--as', 'ses_cli_moving']);
      expect(forked.code, describeResult(forked)).toBe(0);
      const file = path.join(tmp.dir, 'moving.jsonl');
      const exported = await cli(['sessions', 'export', 'ses_cli_moving', '-o', file]);
      expect(exported.code, describeResult(exported)).toBe(0);
      const count = await reader.lastSeq('ses_cli_moving');
      expect(exported.stdout).toContain(`exported ${count} events of ses_cli_moving`);

      const imported = await cli(['sessions', 'import', file], postgres);
      expect(imported.code, describeResult(imported)).toBe(0);
      expect(imported.stdout).toContain(`imported ${count} events as session ses_cli_moving`);
      const again = await cli(['sessions', 'import', file], postgres);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain('error [SESSION_EXISTS]');

      const resumed = await cli(['sessions', 'resume', 'ses_cli_moving', '--yes'], postgres);
      expect(resumed.code, describeResult(resumed)).toBe(0);
      const listed = await cli(['sessions', 'versions', 'ses_cli_moving', '--json'], postgres);
      expect((parseJsonLines(listed.stdout) as VersionLine[]).length).toBeGreaterThan(0);
      // The SQLite copy stayed where it was.
      expect(await reader.lastSeq('ses_cli_moving')).toBe(count);
    } finally {
      const client = postgresClient();
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  }, 120_000);
});

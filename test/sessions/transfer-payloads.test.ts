import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestratorError } from '../../src/errors/index.ts';
import { EventLog, type TruncatedField } from '../../src/log/index.ts';
import { SessionManager } from '../../src/sessions/index.ts';
import { type OrchestratorStore, openEventStore, type VersionStore } from '../../src/store/index.ts';

// The payload blobs of a session (full values of event fields the log shortened) travel with
// its export: the import checks each against its hash, stores them with the rest, and undoes
// them with the rest; the value is readable by its digest on the other side, under any id.

interface Side {
  readonly store: OrchestratorStore;
  readonly log: EventLog;
  readonly sessions: SessionManager;
}

async function openSide(dir: string, versionStore?: (store: OrchestratorStore) => VersionStore): Promise<Side> {
  const store = await openEventStore({ kind: 'sqlite', path: path.join(dir, 'events.db') });
  const log = new EventLog(store, {
    limits: { maxFieldBytes: 64 * 1024, maxEventBytes: 16 * 1024 * 1024 },
    payloads: store.payloads,
  });
  const sessions = new SessionManager({
    log,
    versionStore: versionStore ? versionStore(store) : store,
    transcriptStore: store,
    payloadStore: store.payloads,
    dataDir: dir,
  });
  return { store, log, sessions };
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: OrchestratorError) => error,
  );

const content = `${'c'.repeat(100_000)} the whole result`;
let root: string;
let a: Side;
let file: string;
let lines: string[];
let hash: string;
const sides: Side[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'orch-transfer-payloads-'));
  a = await openSide(path.join(root, 'a'));
  sides.push(a);
  await a.log.append('ses_big', [{ type: 'session.created', data: { name: 'big' } }]);
  const [result] = await a.log.append('ses_big', [
    { type: 'agent.tool_result', data: { agentId: 'agt', toolUseId: 't1', isError: false, content } },
  ]);
  hash = (result?.data as { truncated?: TruncatedField[] } | undefined)?.truncated?.[0]?.sha256 as string;
  await a.sessions.takeVersion('ses_big');
  file = path.join(root, 'big.jsonl');
  const exported = await a.sessions.export('ses_big', file);
  expect(exported).toMatchObject({ events: 3, versions: 1, payloads: 1, skippedPayloads: [] });
  lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
});
afterAll(async () => {
  for (const side of sides) await side.log.close();
  await rm(root, { recursive: true, force: true });
});

describe('payload blobs in an export', () => {
  it('are written after the blobs, counted in the header, with their bytes', () => {
    const header = JSON.parse(lines[0] as string);
    expect(header).toMatchObject({ formatVersion: 3, counts: { payloads: 1 } });
    const payloads = lines.filter((line) => line.startsWith('{"t":"payload"'));
    expect(payloads).toHaveLength(1);
    const record = JSON.parse(payloads[0] as string) as { hash: string; bytes: string };
    expect(record.hash).toBe(hash);
    expect(Buffer.from(record.bytes, 'base64').toString('utf8')).toBe(content);
  });

  it('are readable on the other side after an import, under the same id and another', async () => {
    const b = await openSide(path.join(root, 'b'));
    sides.push(b);
    expect(await b.sessions.import(file)).toMatchObject({ sessionId: 'ses_big', payloads: 1 });
    expect((await b.sessions.payload('ses_big', hash)).text).toBe(content);
    expect(await b.sessions.import(file, { as: 'ses_copy' })).toMatchObject({ sessionId: 'ses_copy', payloads: 1 });
    expect((await b.sessions.payload('ses_copy', hash)).text).toBe(content);
    const imported = (await b.store.read('ses_copy')).at(-1);
    expect(imported?.data).toMatchObject({ payloads: 1 });
  });

  it('are refused when their bytes do not match their hash, before anything is written', async () => {
    const c = await openSide(path.join(root, 'c'));
    sides.push(c);
    const forged = lines.map((line) =>
      line.startsWith('{"t":"payload"')
        ? JSON.stringify({ t: 'payload', hash, bytes: Buffer.from('a planted value').toString('base64') })
        : line,
    );
    const bad = path.join(root, 'forged.jsonl');
    await writeFile(bad, `${forged.join('\n')}\n`);
    const error = await failure(c.sessions.import(bad));
    expect(error.code).toBe('IMPORT_INVALID');
    expect(error.message).toMatch(/the payload's bytes do not match its hash/);
    expect(await c.log.lastSeq('ses_big')).toBe(0);
    expect(await c.store.payloads.listPayloads('ses_big')).toEqual([]);

    const uncounted = lines.map((line, i) =>
      i === 0 ? JSON.stringify({ ...JSON.parse(line), counts: { ...JSON.parse(line).counts, payloads: 0 } }) : line,
    );
    await writeFile(bad, `${uncounted.join('\n')}\n`);
    expect((await failure(c.sessions.import(bad))).message).toMatch(/header announces 0 payloads, the file has 1/);

    const twice = lines.flatMap((line) => (line.startsWith('{"t":"payload"') ? [line, line] : [line]));
    await writeFile(bad, `${twice.join('\n')}\n`);
    expect((await failure(c.sessions.import(bad))).message).toMatch(/appears twice/);
  });

  it('are undone with the rest when the import fails half-way', async () => {
    const d = await openSide(path.join(root, 'd'), (store) => ({
      putBlobs: (blobs) => store.putBlobs(blobs),
      getBlobs: (hashes) => store.getBlobs(hashes),
      putVersion: async () => {
        throw new Error('the disk is full');
      },
      listVersions: (id) => store.listVersions(id),
      getVersion: (id, n) => store.getVersion(id, n),
      deleteVersions: (id, n) => store.deleteVersions(id, n),
      deleteUnreferencedBlobs: () => store.deleteUnreferencedBlobs(),
    }));
    sides.push(d);
    expect((await failure(d.sessions.import(file))).message).toBe('the disk is full');
    expect(await d.log.lastSeq('ses_big')).toBe(0);
    expect(await d.store.payloads.listPayloads('ses_big')).toEqual([]);
    expect(await d.store.payloads.getPayload('ses_big', hash)).toBeUndefined();
    // Unreferenced now, the blob goes with the next compaction.
    expect(await d.store.deleteUnreferencedBlobs()).toBeGreaterThanOrEqual(1);
  });
});

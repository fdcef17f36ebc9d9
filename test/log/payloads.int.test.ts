import { createHash } from 'node:crypto';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../src/events/index.ts';
import { EventLog, type TruncatedField } from '../../src/log/index.ts';
import { Redactor } from '../../src/security/index.ts';
import { SessionManager } from '../../src/sessions/index.ts';
import { type OrchestratorStore, openEventStore } from '../../src/store/index.ts';
import { tempDir } from '../support/cli-kit.ts';

// A field over maxFieldBytes is shortened in its event, and its full (redacted) value is stored
// as a payload blob of the session before the event: read back whole, verified, never through
// another session, kept by compaction while the session exists.

const SECRET = 'sk-test-PLANTED-0123456789abcdef';
const LIMITS = { maxFieldBytes: 64 * 1024, maxEventBytes: 1024 * 1024 };
let tmp: Awaited<ReturnType<typeof tempDir>>;
let store: OrchestratorStore;
let log: EventLog;
let sessions: SessionManager;
let dbPath: string;

beforeAll(async () => {
  tmp = await tempDir('log-payloads');
  dbPath = path.join(tmp.dir, 'events.db');
  store = await openEventStore({ kind: 'sqlite', path: dbPath });
  log = new EventLog(store, {
    redactor: new Redactor([{ name: 'KEY', value: SECRET }]),
    limits: LIMITS,
    payloads: store.payloads,
  });
  sessions = new SessionManager({ log, versionStore: store, payloadStore: store.payloads, dataDir: tmp.dir });
});
afterAll(async () => {
  await log?.close();
  await tmp?.cleanup();
});

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const truncatedOf = (event: AnyEvent | undefined) =>
  (event?.data as { truncated?: TruncatedField[] } | undefined)?.truncated ?? [];
const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (error: { code?: string }) => error.code,
  );

/** A tool result of ~200 KB with the secret planted in the middle. */
function bigResult(tag: string): string {
  return `${tag}:${'a'.repeat(100_000)} token=${SECRET} ${'b'.repeat(100_000)}`;
}

describe('payload blobs through the log', () => {
  it('stores an oversized tool result, redacted, before the event that names it', async () => {
    const content = bigResult('one');
    const [event] = await log.append('pay-a', [
      { type: 'agent.tool_result', data: { agentId: 'agt', toolUseId: 't1', isError: false, content } },
    ]);
    const redacted = content.replace(SECRET, '[REDACTED:KEY]');
    const [entry] = truncatedOf(event);
    expect(entry).toEqual({
      field: 'content',
      bytes: Buffer.byteLength(redacted),
      sha256: sha(redacted),
      stored: true,
    });
    expect(String((event?.data as { content?: string } | undefined)?.content)).toMatch(/the whole value is stored/);
    // The committed event as read from the store names the same blob.
    const [read] = await store.read('pay-a');
    expect(truncatedOf(read as AnyEvent)).toEqual([entry]);

    const payload = await sessions.payload('pay-a', entry?.sha256 as string);
    expect(payload.text).toBe(redacted);
    expect(payload.bytes).toBe(entry?.bytes);
    // Nowhere in the stored bytes is the planted secret.
    const raw = await store.payloads.getPayload('pay-a', entry?.sha256 as string);
    expect(Buffer.from(raw as Uint8Array).includes(SECRET)).toBe(false);
    expect(Buffer.from(raw as Uint8Array).toString('utf8')).toBe(redacted);
  });

  it('stores a tool input as its JSON text, and several shortened fields of one append', async () => {
    const input = { file_path: 'big.txt', content: 'w'.repeat(80_000) };
    const text = 'm'.repeat(70_000);
    const committed = await log.append('pay-b', [
      { type: 'agent.tool_use', data: { agentId: 'agt', toolUseId: 't1', tool: 'Write', input } },
      { type: 'agent.message', data: { agentId: 'agt', text } },
    ]);
    const [use, message] = committed.map((event) => truncatedOf(event)[0]);
    expect([use?.json, message?.json]).toEqual([true, undefined]);
    expect(JSON.parse((await sessions.payload('pay-b', use?.sha256 as string)).text)).toEqual(input);
    expect((await sessions.payload('pay-b', message?.sha256 as string)).text).toBe(text);
    expect(await store.payloads.listPayloads('pay-b')).toEqual([use?.sha256, message?.sha256].sort());
  });

  it('a value over maxEventBytes is not stored: the entry says so and reading it is PAYLOAD_NOT_FOUND', async () => {
    const content = 'z'.repeat(LIMITS.maxEventBytes + 10);
    const [event] = await log.append('pay-c', [
      { type: 'agent.tool_result', data: { agentId: 'agt', toolUseId: 't1', isError: false, content } },
    ]);
    const [entry] = truncatedOf(event);
    expect(entry).toMatchObject({ field: 'content', stored: false, sha256: sha(content) });
    expect(String((event?.data as { content?: string } | undefined)?.content)).toMatch(
      /the whole value is in the agent's transcript/,
    );
    expect(await codeOf(sessions.payload('pay-c', sha(content)))).toBe('PAYLOAD_NOT_FOUND');
    expect(await store.payloads.listPayloads('pay-c')).toEqual([]);
  });

  it('small events store nothing', async () => {
    await log.append('pay-d', [{ type: 'agent.message', data: { agentId: 'agt', text: 'hello' } }]);
    expect(await store.payloads.listPayloads('pay-d')).toEqual([]);
  });

  it("hostile: another session cannot read a session's payload by its hash, nor a malformed one", async () => {
    const [event] = await log.append('pay-victim', [
      { type: 'agent.tool_result', data: { agentId: 'agt', toolUseId: 't1', isError: false, content: bigResult('v') } },
    ]);
    const hash = truncatedOf(event)[0]?.sha256 as string;
    await log.append('pay-thief', [{ type: 'agent.message', data: { agentId: 'agt', text: 'hi' } }]);
    expect(await codeOf(sessions.payload('pay-thief', hash))).toBe('PAYLOAD_NOT_FOUND');
    expect(await codeOf(sessions.payload('pay-nobody', hash))).toBe('SESSION_NOT_FOUND');
    for (const bad of ['../../etc/passwd', hash.toUpperCase(), `${hash}0`, '', 'x'.repeat(64)])
      expect(await codeOf(sessions.payload('pay-victim', bad))).toBe('INVALID_ARGUMENT');
  });

  it('compaction keeps a referenced payload; deleting the session lets it go', async () => {
    const [event] = await log.append('pay-e', [
      { type: 'agent.tool_result', data: { agentId: 'agt', toolUseId: 't1', isError: false, content: bigResult('e') } },
    ]);
    const hash = truncatedOf(event)[0]?.sha256 as string;
    await store.deleteUnreferencedBlobs();
    expect((await sessions.payload('pay-e', hash)).text).toContain('e:aaa');
    await store.deleteSession('pay-e');
    expect(await store.payloads.getPayload('pay-e', hash)).toBeUndefined();
    expect(await store.deleteUnreferencedBlobs()).toBeGreaterThanOrEqual(1);
  });

  it('a blob changed behind the store is refused with PAYLOAD_CORRUPT, not returned', async () => {
    const [event] = await log.append('pay-f', [
      { type: 'agent.tool_result', data: { agentId: 'agt', toolUseId: 't1', isError: false, content: bigResult('f') } },
    ]);
    const hash = truncatedOf(event)[0]?.sha256 as string;
    const db = new DatabaseSync(dbPath);
    try {
      db.exec('PRAGMA busy_timeout = 5000');
      db.prepare('UPDATE payload_blobs SET bytes = ? WHERE hash = ?').run(Buffer.from('tampered'), hash);
    } finally {
      db.close();
    }
    expect(await codeOf(sessions.payload('pay-f', hash))).toBe('PAYLOAD_CORRUPT');
  });

  it('appends of one session keep their call order while an earlier one stores its blob', async () => {
    const big = log.append('pay-g', [
      { type: 'agent.tool_result', data: { agentId: 'agt', toolUseId: 't1', isError: false, content: bigResult('g') } },
    ]);
    const small = log.append('pay-g', [{ type: 'agent.message', data: { agentId: 'agt', text: 'after' } }]);
    const [[first], [second]] = await Promise.all([big, small]);
    expect([first?.seq, second?.seq]).toEqual([1, 2]);
    expect(second?.type).toBe('agent.message');
  });
});

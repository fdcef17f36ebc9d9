import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLog, type TruncatedField } from '../../src/log/index.ts';
import { openEventStore } from '../../src/store/index.ts';
import { describeResult, runCli, tempDir } from '../support/cli-kit.ts';

// `sessions payload ID SHA256` and `events ID --full` print what the log shortened, whole,
// from the session's payload blobs (written here through a log with limits, as a run does).

const SESSION = 'cli-pay';
const content = `${'r'.repeat(90_000)} end of result`;
const input = { file_path: 'big.txt', content: 'w'.repeat(80_000) };
let tmp: Awaited<ReturnType<typeof tempDir>>;
let dataDir: string;
let resultHash: string;
let inputHash: string;

beforeAll(async () => {
  tmp = await tempDir('cli-payload');
  dataDir = path.join(tmp.dir, 'data');
  const store = await openEventStore({ kind: 'sqlite', path: path.join(dataDir, 'events.db') });
  const log = new EventLog(store, {
    limits: { maxFieldBytes: 64 * 1024, maxEventBytes: 16 * 1024 * 1024 },
    payloads: store.payloads,
  });
  const [use, result] = await log.append(SESSION, [
    { type: 'agent.tool_use', data: { agentId: 'agt', toolUseId: 't1', tool: 'Write', input } },
    { type: 'agent.tool_result', data: { agentId: 'agt', toolUseId: 't1', isError: false, content } },
    { type: 'agent.message', data: { agentId: 'agt', text: 'small' } },
  ]);
  const hashOf = (data: unknown) => ((data as { truncated: TruncatedField[] }).truncated[0] as TruncatedField).sha256;
  inputHash = hashOf(use?.data);
  resultHash = hashOf(result?.data);
  await log.append('cli-pay-gone', [{ type: 'agent.message', data: { agentId: 'agt', text: 'g'.repeat(70_000) } }]);
  await log.close();
  // Its reference removed behind the store's back: the event names a payload nobody can read.
  const db = new DatabaseSync(path.join(dataDir, 'events.db'));
  db.prepare('DELETE FROM session_payloads WHERE session_id = ?').run('cli-pay-gone');
  db.close();
});
afterAll(async () => {
  await tmp?.cleanup();
});

describe('reading shortened fields from the command line', () => {
  it('`sessions payload` prints the value exactly, or as JSON', async () => {
    const plain = await runCli(['sessions', 'payload', SESSION, resultHash], { dataDir });
    expect(plain.code, describeResult(plain)).toBe(0);
    expect(plain.stdout).toBe(content);
    const json = await runCli(['sessions', 'payload', SESSION, inputHash, '--json'], { dataDir });
    expect(json.code, describeResult(json)).toBe(0);
    const parsed = JSON.parse(json.stdout) as { sha256: string; text: string; bytes: number };
    expect(parsed.sha256).toBe(inputHash);
    expect(JSON.parse(parsed.text)).toEqual(input);
  });

  it('`sessions payload` refuses an unknown digest, a malformed one and an unknown session with their codes', async () => {
    for (const [args, code] of [
      [[SESSION, '0'.repeat(64)], 'PAYLOAD_NOT_FOUND'],
      [[SESSION, '../../etc/passwd'], 'INVALID_ARGUMENT'],
      [['nobody', resultHash], 'SESSION_NOT_FOUND'],
    ] as const) {
      const answer = await runCli(['sessions', 'payload', ...args], { dataDir });
      expect(answer.code, describeResult(answer)).not.toBe(0);
      expect(answer.stderr).toContain(`[${code}]`);
    }
  });

  it('`events --full --json` puts the fields back whole; without --full the log is as stored', async () => {
    const full = await runCli(['events', SESSION, '--full', '--json'], { dataDir });
    expect(full.code, describeResult(full)).toBe(0);
    const [use, result, message] = full.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(use.data.input).toEqual(input);
    expect(result.data.content).toBe(content);
    expect(result.data.truncated).toEqual([expect.objectContaining({ sha256: resultHash, restored: true })]);
    expect(message.data).toEqual({ agentId: 'agt', text: 'small' });

    const stored = await runCli(['events', SESSION, '--json'], { dataDir });
    const [, storedResult] = stored.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(String(storedResult.data.content).length).toBeLessThan(content.length);
  });

  it('`events --full` as text prints each restored field under its event line', async () => {
    const text = await runCli(['events', SESSION, '--full'], { dataDir });
    expect(text.code, describeResult(text)).toBe(0);
    expect(text.stdout).toContain(
      `content in full (${content.length} bytes, sha256 ${resultHash.slice(0, 12)}):\n${content}\n`,
    );
  });

  it('`events --full` keeps the preview of a field whose payload is not found', async () => {
    const full = await runCli(['events', 'cli-pay-gone', '--full', '--json'], { dataDir });
    expect(full.code, describeResult(full)).toBe(0);
    const event = JSON.parse(full.stdout.trim());
    expect(String(event.data.text)).toMatch(/70000 bytes in all/);
    expect(event.data.truncated).toEqual([expect.not.objectContaining({ restored: true })]);
  });
});

import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatEventLine } from '../../src/cli/format.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { EventLog } from '../../src/log/index.ts';
import { type OrchestratorStore, openEventStore } from '../../src/store/index.ts';
import {
  agentExecutor,
  buildAgentPrompt,
  checkMemoryValue,
  HANDOVER_CHARS,
  type NodeRunContext,
  type PlanNode,
} from '../../src/workflow/index.ts';
import { caseReport, errorOf } from './report.ts';

// Oversized values: a memory value, the prompt built from a fan-in, an event payload. Each is
// refused with LIMIT_EXCEEDED naming its limit, or kept within it with a marker saying so.

const report = caseReport('limits');
let dir: string;
let store: OrchestratorStore;
let log: EventLog;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-limits-'));
  store = await openEventStore({ kind: 'sqlite', path: path.join(dir, 'events.db') });
  log = new EventLog(store, { limits: { maxFieldBytes: 64 * 1024, maxEventBytes: 1024 * 1024 } });
});
afterAll(async () => {
  report.print();
  await log.close();
  await rm(dir, { recursive: true, force: true });
});

describe('memory values', () => {
  it('refuses a value over limits.maxMemoryValueBytes, counting bytes of its JSON', async () => {
    expect(() => checkMemoryValue('k', 'x'.repeat(100), 102)).not.toThrow();
    for (const [name, value] of [
      ['a long string', 'x'.repeat(70_000)],
      ['multi-byte text', 'é'.repeat(40_000)],
      ['a deep object', { list: Array.from({ length: 20_000 }, (_, i) => i) }],
    ] as const) {
      const error = await errorOf(() => checkMemoryValue('notes', value, 65_536));
      expect(error).toMatchObject({
        code: 'LIMIT_EXCEEDED',
        message: expect.stringMatching(/limits\.maxMemoryValueBytes/),
      });
      report.note(`memory_set ${name}`, 'refused', error.message);
    }
  });
});

/** A context for the prompt of `node` whose dependencies produced `outputs`. */
function promptContext(task: string, outputs: Record<string, unknown>) {
  const nodes = Object.fromEntries(
    Object.entries(outputs).map(([id, output]) => [id, { status: 'completed', output }]),
  );
  return { task, node: { id: 'sink', dependsOn: Object.keys(outputs) } as unknown as PlanNode, nodes };
}

describe('the prompt built from dependencies', () => {
  it('a fan-in of 300 large results shares the room and stays under the limit', () => {
    const outputs = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`dep${i}`, 'y'.repeat(50_000)]));
    const prompt = buildAgentPrompt(promptContext('Merge the results.', outputs), ['plan', 'owner'], 200_000);
    expect(prompt.length).toBeLessThanOrEqual(200_000);
    expect(prompt.startsWith('Merge the results.')).toBe(true);
    expect(prompt).toContain('### dep0\n');
    expect(prompt).toContain('### dep299\n');
    expect(prompt).toMatch(/\[truncated: \d+ of 50000 characters\]/);
    expect(prompt).toContain('Keys available through the memory_get tool: plan, owner');
    report.note(`fan-in of 300 x 50,000 characters (${prompt.length} in the prompt)`, 'kept under the limit');
  });

  it('small results come whole, one result never more than the handover cap', () => {
    const prompt = buildAgentPrompt(promptContext('t', { a: 'short', b: 'z'.repeat(20_000) }), [], 200_000);
    expect(prompt).toContain('### a\nshort');
    expect(prompt).toContain(`[truncated: ${HANDOVER_CHARS} of 20000 characters]`);
  });

  it('with a tight limit, results that do not fit are left out with a note, never the task', () => {
    const outputs = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`dep${i}`, { value: 'v'.repeat(1000) }]));
    const prompt = buildAgentPrompt(promptContext('x'.repeat(3000), outputs), [], 5000);
    expect(prompt.length).toBeLessThanOrEqual(5000);
    expect(prompt.startsWith('x'.repeat(3000))).toBe(true);
    expect(prompt).toMatch(/\[\d+ more result\(s\) left out: the prompt limit \(limits\.maxPromptChars\) is reached\]/);
    report.note('fan-in of 100 under a 5,000-character limit', 'kept under the limit', `${prompt.length} characters`);
  });

  it('a task over the limit fails its node with LIMIT_EXCEEDED, before any agent starts', async () => {
    const error = await errorOf(() => buildAgentPrompt(promptContext('t'.repeat(6000), {}), [], 5000));
    expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringMatching(/limits\.maxPromptChars/) });
    const spawned: unknown[] = [];
    const executor = agentExecutor({
      runtime: { slots: undefined, spawn: (task: unknown) => spawned.push(task) } as never,
      sessionId: 's',
      agentSpec: () => ({ name: 'fn' }),
      toolHost: () => ({}) as never,
      memoryKeys: () => [],
      maxPromptChars: () => 5000,
      workspaceFor: () => Promise.reject(new Error('no workspace expected')),
    });
    const context = {
      ...promptContext('t'.repeat(6000), {}),
      node: { id: 'big', agent: 'fn', dependsOn: [], workspace: 'shared' } as unknown as PlanNode,
    } as unknown as NodeRunContext;
    const outcome = await executor.run(context);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED' } });
    expect(spawned).toEqual([]);
    report.note('a 6,000-character task under a 5,000 limit', 'refused', error.message);
  });
});

describe('event payloads', () => {
  const read = async (sessionId: string) => {
    const events: AnyEvent[] = [];
    for await (const event of log.readAll(sessionId)) events.push(event);
    return events;
  };
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');

  it('a huge tool input, tool result and message keep a preview, their size and their digest', async () => {
    const input = { file_path: 'big.txt', content: 'w'.repeat(5_000_000) };
    const content = 'r'.repeat(1_000_000);
    const text = 'm'.repeat(100_000);
    await log.append('big', [
      { type: 'agent.tool_use', data: { agentId: 'agt', toolUseId: 't1', tool: 'Write', input } },
      { type: 'agent.tool_result', data: { agentId: 'agt', toolUseId: 't1', isError: false, content } },
      { type: 'agent.message', data: { agentId: 'agt', text } },
    ]);
    const [use, result, message] = await read('big');
    for (const [event, field, full] of [
      [use, 'input', JSON.stringify(input)],
      [result, 'content', content],
      [message, 'text', text],
    ] as const) {
      const data = event?.data as Record<string, unknown>;
      expect(JSON.stringify(data).length).toBeLessThan(64 * 1024);
      // This log has no payload store: the full value stays in the transcript only.
      const json = field === 'input' ? { json: true } : {};
      expect(data.truncated).toEqual([{ field, bytes: full.length, sha256: sha(full), stored: false, ...json }]);
      expect(String(data[field])).toMatch(
        /\d+ bytes in all; sha256 [0-9a-f]{64}; the whole value is in the agent's transcript/,
      );
      expect(formatEventLine(event as AnyEvent)).toMatch(
        new RegExp(`\\[shortened: ${field} ${full.length} bytes, sha256 [0-9a-f]{12}\\]`),
      );
      report.note(
        `${event?.type} with ${full.length} bytes of ${field}`,
        'shortened',
        `digest ${sha(full).slice(0, 12)}`,
      );
    }
  });

  it('an event the session state is built from is never shortened: over the ceiling it is refused, nothing written', async () => {
    const error = await errorOf(() =>
      log.append('huge', [{ type: 'memory.set', data: { key: 'k', value: 'v'.repeat(2_000_000), by: 'agent:x' } }]),
    );
    expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringMatching(/maxEventBytes/) });
    expect(await log.lastSeq('huge')).toBe(0);
    report.note('memory.set event of 2 MB over a 1 MB ceiling', 'refused', error.message);
  });

  it('the ceiling counts bytes of UTF-8, not characters; an event under it is stored as given', async () => {
    // 600,000 two-byte characters: under 1 MB of characters, over 1 MB of bytes.
    const over = await errorOf(() =>
      log.append('utf8', [{ type: 'memory.set', data: { key: 'k', value: 'é'.repeat(600_000), by: 'agent:x' } }]),
    );
    expect(over).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    const value = 'é🎉'.repeat(100_000);
    const [committed] = await log.append('utf8', [{ type: 'memory.set', data: { key: 'k', value, by: 'agent:x' } }]);
    const [stored] = await read('utf8');
    expect(stored?.data).toEqual({ key: 'k', value, by: 'agent:x' });
    expect(stored?.data).toEqual(committed?.data);
  });

  it('small events are written as they are', async () => {
    await log.append('small', [{ type: 'agent.message', data: { agentId: 'agt', text: 'hello' } }]);
    expect((await read('small'))[0]?.data).toEqual({ agentId: 'agt', text: 'hello' });
  });
});

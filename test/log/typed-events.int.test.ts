import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestratorError } from '../../src/errors/index.ts';
import { isTypedEvent, type NewEvent, prepareEvent, typedEvent, typedRecord } from '../../src/events/index.ts';
import { EventLog } from '../../src/log/index.ts';
import { Redactor } from '../../src/security/index.ts';
import { openEventStore } from '../../src/store/index.ts';
import { tempDir } from '../support/cli-kit.ts';

// Event validation happens once, at the boundary: events the project's own typed code built
// (marked with typedEvent) are not parsed again by the log; anything else, including a typed
// event that crossed a boundary (as JSON from the API or an import, a structured clone from a
// worker), still is.

let tmp: Awaited<ReturnType<typeof tempDir>>;
let log: EventLog;
const SECRET = 'sk-test-0123456789abcdef';

beforeAll(async () => {
  tmp = await tempDir('log-typed');
  const store = await openEventStore({ kind: 'sqlite', path: path.join(tmp.dir, 'events.db') });
  log = new EventLog(store, { redactor: new Redactor([{ name: 'KEY', value: SECRET }]) });
});
afterAll(async () => {
  await log?.close();
  await tmp?.cleanup();
});

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as OrchestratorError,
  );

/** A `node.started` whose attempt the catalog refuses (attempts count from 1). */
const badStart = (): NewEvent =>
  ({ type: 'node.started', data: { workflowId: 'wf_1', nodeId: 'a', attempt: 0 } }) as NewEvent;

describe('validation once at the boundary', () => {
  it('refuses an invalid event given as a plain object, and writes nothing', async () => {
    const error = await refusal(log.append('ses_plain', [badStart()]));
    expect(error?.code).toBe('EVENT_INVALID');
    expect(error?.message).toContain('data.attempt');
    expect(await log.lastSeq('ses_plain')).toBe(0);
  });

  it('does not parse a typed event again: its type checker was its validation', async () => {
    // Cast past the type checker on purpose: only the absence of a parse lets this through.
    const [committed] = await log.append('ses_typed', [typedEvent(badStart())]);
    expect(committed?.data).toMatchObject({ attempt: 0 });
    expect(prepareEvent(typedEvent(badStart())).type).toBe('node.started');
  });

  it('parses every copy of a typed event that crossed a boundary: JSON, a structured clone, its fields', async () => {
    const typed = typedEvent(badStart());
    const copies = [
      JSON.parse(JSON.stringify(typed)) as NewEvent,
      structuredClone(typed),
      { type: typed.type, data: typed.data } as NewEvent,
    ];
    for (const copy of copies) {
      const error = await refusal(log.append('ses_copies', [copy]));
      expect(error?.code).toBe('EVENT_INVALID');
    }
    expect(await log.lastSeq('ses_copies')).toBe(0);
  });

  it('still refuses an unknown type, and still redacts a typed event', async () => {
    const unknown = typedEvent({ type: 'node.exploded', data: {} } as unknown as NewEvent);
    expect((await refusal(log.append('ses_unknown', [unknown])))?.code).toBe('EVENT_INVALID');
    const [committed] = await log.append('ses_secret', [
      typedEvent({
        type: 'node.completed',
        data: { workflowId: 'wf_1', nodeId: 'a', attempt: 1, output: `the key is ${SECRET}` },
      }),
    ]);
    expect(JSON.stringify(committed?.data)).not.toContain(SECRET);
    expect(committed?.data).toMatchObject({ output: 'the key is [REDACTED:KEY]' });
  });

  it('leaves the store to refuse what cannot be stored, typed or not', async () => {
    const unstorable = typedEvent({
      type: 'node.completed',
      data: { workflowId: 'wf_1', nodeId: 'a', attempt: 1, output: 1n },
    } as unknown as NewEvent);
    expect((await refusal(log.append('ses_bigint', [unstorable])))?.code).toBe('EVENT_INVALID');
    expect(await log.lastSeq('ses_bigint')).toBe(0);
  });

  describe("the engine's records (typedRecord)", () => {
    const fields = () => ({
      id: '0190a0b0-0000-7000-8000-000000000001',
      type: 'node.started' as const,
      sessionId: 'ses_rec',
      ts: '2026-12-07T10:00:00.000Z',
      source: 'engine',
      correlationId: 'wf_1',
      data: { workflowId: 'wf_1', nodeId: 'a', attempt: 0 },
    });

    it('marks a record only when asked, and its mark survives no boundary', () => {
      expect(isTypedEvent(typedRecord(fields(), true))).toBe(true);
      expect(isTypedEvent(typedRecord(fields(), false))).toBe(false);
      expect(isTypedEvent(JSON.parse(JSON.stringify(typedRecord(fields(), true))) as NewEvent)).toBe(false);
    });

    it('is its own pending event when typed; anything else is copied and parsed', async () => {
      const typed = typedRecord(fields(), true);
      expect(prepareEvent(typed)).toBe(typed);
      // Not typed: parsed (attempt 0 is refused), so never handed on as it is.
      expect(() => prepareEvent(typedRecord(fields(), false))).toThrow(/data\.attempt/);
      // Typed but without its whole envelope: stamped onto a copy, its id and time made.
      const partial = typedEvent({ type: 'node.started', data: fields().data } as NewEvent);
      const pending = prepareEvent(partial);
      expect(pending).not.toBe(partial);
      expect(pending.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(partial.id).toBeUndefined();
      // The log stores the record's own id, time and source, and redacts its payload on a copy.
      const secret = typedRecord(
        {
          ...fields(),
          id: '0190a0b0-0000-7000-8000-000000000002',
          data: { workflowId: 'wf_1', nodeId: 'a', attempt: 1, note: SECRET } as never,
        },
        true,
      );
      const [committed] = await log.append('ses_rec', [typed, secret]);
      expect(committed).toMatchObject({ id: typed.id, ts: typed.ts, source: 'engine', correlationId: 'wf_1', seq: 1 });
      expect(JSON.stringify(await log.store.read('ses_rec'))).not.toContain(SECRET);
      expect((secret.data as { note: string }).note).toBe(SECRET);
    });
  });
});

import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { dataSchemaOf, EVENT_TYPES, prepareEvent, typedEvent } from '../../src/events/index.ts';

// prepareEvent stamps events with the time as ISO text, the text of one millisecond reused by
// the events stamped within it: it must still be the current time, never a stale one.

const started = () =>
  prepareEvent(typedEvent({ type: 'node.started', data: { workflowId: 'wf_1', nodeId: 'a', attempt: 1 } }));

describe('prepareEvent stamps the time', () => {
  it('as the ISO text of the millisecond it was stamped in, fresh after the clock moves', async () => {
    for (let round = 0; round < 3; round++) {
      const before = Date.now();
      const event = started();
      const after = Date.now();
      expect(event.ts).toBe(new Date(event.ts).toISOString());
      expect(Date.parse(event.ts)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(event.ts)).toBeLessThanOrEqual(after);
      await sleep(3);
    }
  });

  it('keeps a time given with the event', () => {
    const ts = '2020-01-02T03:04:05.678Z';
    expect(prepareEvent({ type: 'session.created', ts, data: {} } as never).ts).toBe(ts);
  });
});

describe('the catalog', () => {
  it('has a schema for every event type, made once when first asked for, that refuses what is not a payload', () => {
    for (const type of EVENT_TYPES) {
      const schema = dataSchemaOf(type);
      expect(dataSchemaOf(type)).toBe(schema);
      expect(schema.safeParse('not an object').success).toBe(false);
    }
  });

  it('parses an event from outside against its type, shared parts included, and names the field at fault', () => {
    const failed = (error: unknown) =>
      prepareEvent({ type: 'agent.failed', data: { agentId: 'agt_1', error } } as never).data as { error: unknown };
    expect(failed({ code: 'X', message: 'm' }).error).toEqual({ code: 'X', message: 'm' });
    expect(() => failed({ code: 'X' })).toThrow(/data\.error\.message/);
    const state = (to: string) =>
      prepareEvent({ type: 'agent.state_changed', data: { agentId: 'agt_1', from: null, to } } as never);
    expect(state('thinking').type).toBe('agent.state_changed');
    expect(() => state('dancing')).toThrow(/data\.to/);
  });
});

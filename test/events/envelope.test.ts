import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { prepareEvent, typedEvent } from '../../src/events/index.ts';

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

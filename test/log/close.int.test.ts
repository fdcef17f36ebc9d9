import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { StreamItem } from '../../src/events/index.ts';
import { EventLog } from '../../src/log/index.ts';
import { FALLBACK_SCENARIO, Orchestrator } from '../../src/orchestrator/index.ts';
import { openEventStore } from '../../src/store/index.ts';
import { parseWorkflow } from '../../src/workflow/index.ts';
import { tempDir } from '../support/cli-kit.ts';

// EventLog.close() (and so Orchestrator.close()) ends every stream and subscription of its bus: a `for await` over
// `log.stream(...)` ends (plainly, no error) instead of waiting forever, whether it was live,
// still catching up from the store, or not yet started.

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir('log-close');
});
afterAll(async () => {
  await tmp?.cleanup();
});

async function openLog(name: string): Promise<EventLog> {
  return new EventLog(await openEventStore({ kind: 'sqlite', path: path.join(tmp.dir, `${name}.db`) }));
}

/** Consumes a stream to its end; resolves with the event sequence numbers seen. */
async function drain(stream: AsyncIterable<StreamItem>): Promise<number[]> {
  const seen: number[] = [];
  for await (const item of stream) if (item.kind === 'event') seen.push(item.event.seq);
  return seen;
}

/** Settles with 'timeout' if the promise has not settled within `ms` (a ref'd timer: a hang fails the test). */
function within<T>(promise: Promise<T>, ms = 5000): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

describe('EventLog.close()', () => {
  it('ends live streams, catch-up streams and subscriptions; later streams are refused', async () => {
    const log = await openLog('streams');
    await log.append('ses_a', [{ type: 'session.created', data: { name: 'a' } }]);
    const live = log.stream({});
    const catchingUp = log.stream({ sessionId: 'ses_a' }, { fromSeq: 1, heartbeatMs: 60_000 });
    const neverRead = log.stream({ sessionId: 'ses_b' });
    let handled = 0;
    log.subscribe({}, () => {
      handled++;
    });
    const liveEnd = drain(live);
    const catchUpEnd = drain(catchingUp);
    await log.append('ses_a', [{ type: 'session.resumed', data: { fromSeq: 1 } }]);
    await log.close();
    expect(await within(liveEnd)).toEqual([2]);
    expect(await within(catchUpEnd)).toEqual([1, 2]);
    expect(await within(drain(neverRead))).toEqual([]);
    expect([live.closed, catchingUp.closed, neverRead.closed]).toEqual([true, true, true]);
    expect(log.bus.stats()).toEqual([]);
    expect(handled).toBe(1);
    expect(() => log.stream({})).toThrow(expect.objectContaining({ code: 'STREAM_CLOSED' }));
    await log.close(); // idempotent
  });

  it('ends a stream whose catch-up read meets the closing store with a plain end, not an error', async () => {
    const log = await openLog('catch-up');
    await log.append('ses_c', [{ type: 'session.created', data: { name: 'c' } }]);
    const stream = log.stream({ sessionId: 'ses_c' }, { fromSeq: 1 });
    const closing = log.close();
    const seen = await within(drain(stream));
    await closing;
    expect(seen === 'timeout' ? seen : 'ended').toBe('ended');
  });
});

describe('Orchestrator.close()', () => {
  it("ends a run's event stream (a workflow waiting for a human, left resumable)", async () => {
    const orchestrator = await Orchestrator.open({
      config: loadConfig({ dataDir: path.join(tmp.dir, 'orchestrator'), logLevel: 'silent' }, {}),
      scenario: FALLBACK_SCENARIO,
    });
    const workflow = parseWorkflow(
      'name: waits\nnodes:\n  - { id: ask, kind: human, prompt: "Which colour?" }\n',
      'waits.yaml',
    );
    const handle = await orchestrator.startWorkflow(workflow);
    const types: string[] = [];
    const consumed = (async () => {
      for await (const item of handle.events()) if (item.kind === 'event') types.push(item.event.type);
    })();
    const deadline = Date.now() + 10_000;
    while (!types.includes('input.requested') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(types).toContain('input.requested');
    await orchestrator.close();
    expect(await within(consumed)).toBeUndefined();
    expect(types).not.toContain('workflow.completed');
  });
});

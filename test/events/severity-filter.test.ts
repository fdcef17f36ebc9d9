import { describe, expect, it } from 'vitest';
import { isOrchestratorError } from '../../src/errors/index.ts';
import { type AnyEvent, EventBus, eventSeverity, type OrchestratorEvent } from '../../src/events/index.ts';
import { type Draft, MemoryLog, makeEvent } from '../support/memory-reader.ts';

// Live monitoring clients filter by agent and by severity on top of session and type: several
// clients of one session at once, each with its own filter and its own bounded queue.

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

const drafts: Draft[] = [
  { type: 'agent.progress', data: { agentId: 'agt_a', kind: 'init' } },
  { type: 'agent.retry', data: { agentId: 'agt_b', by: 'sdk', attempt: 1, delayMs: 10, reason: '429' } },
  {
    type: 'agent.failed',
    data: { agentId: 'agt_a', error: { code: 'AGENT_TIMEOUT', message: 'slow' }, willRetry: false },
  },
  { type: 'system.alert', data: { rule: 'cost', severity: 'critical', message: 'too much', state: 'raised' } },
  { type: 'agent.tool_use', data: { agentId: 'agt_a', toolUseId: 't1', tool: 'Bash', input: {} } },
  { type: 'budget.exhausted', data: { scope: 'session', key: 's1', limitUsd: 1, spentUsd: 1.2, action: 'fail' } },
];

describe('event severity', () => {
  it('ranks failures for good above retries, and budgets and critical alerts highest', () => {
    const log = new MemoryLog();
    const severities = log.append('s1', drafts).map((e) => eventSeverity(e as AnyEvent));
    expect(severities).toEqual(['info', 'warning', 'error', 'critical', 'info', 'critical']);
    const retrying = makeEvent('s1', 1, 'agent.failed', {
      agentId: 'a',
      error: { code: 'AGENT_OVERLOADED', message: '529' },
      willRetry: true,
    });
    expect(eventSeverity(retrying as AnyEvent)).toBe('warning');
  });
});

describe('agent and severity filters', () => {
  it('delivers to several clients of one session, each by its own filter', async () => {
    const bus = new EventBus();
    const log = new MemoryLog();
    const byAgent: string[] = [];
    const atLeastError: string[] = [];
    const agentWarnings: string[] = [];
    const all: string[] = [];
    bus.subscribe({ sessionId: 's1', agentId: 'agt_a' }, (e) => {
      byAgent.push(e.type);
    });
    bus.subscribe({ sessionId: 's1', minSeverity: 'error' }, (e) => {
      atLeastError.push(e.type);
    });
    bus.subscribe({ agentId: 'agt_b', minSeverity: 'warning' }, (e) => {
      agentWarnings.push(e.type);
    });
    bus.subscribe({ sessionId: 's1' }, (e) => {
      all.push(e.type);
    });
    bus.publish(log.append('s1', drafts));
    await flush();
    expect(byAgent).toEqual(['agent.progress', 'agent.failed', 'agent.tool_use']);
    expect(atLeastError).toEqual(['agent.failed', 'system.alert', 'budget.exhausted']);
    expect(agentWarnings).toEqual(['agent.retry']);
    expect(all).toHaveLength(drafts.length);
  });

  it('applies the filter to events a stream catches up from the log, then live', async () => {
    const bus = new EventBus();
    const log = new MemoryLog();
    log.append('s1', drafts);
    const stream = bus.stream({ sessionId: 's1', minSeverity: 'warning' }, { fromSeq: 1, reader: log });
    const got: OrchestratorEvent[] = [];
    const consumer = (async () => {
      for await (const item of stream) {
        if (item.kind !== 'event') continue;
        got.push(item.event);
        if (item.event.type === 'agent.permission') break;
      }
    })();
    await flush();
    bus.publish(
      log.append('s1', [
        { type: 'agent.progress', data: { agentId: 'agt_a', kind: 'text' } },
        { type: 'agent.permission', data: { agentId: 'agt_a', tool: 'Bash', decision: 'deny', reason: 'no' } },
      ]),
    );
    await consumer;
    expect(got.map((e) => e.seq)).toEqual([2, 3, 4, 6, 8]);
  });

  it('keeps a slow client bounded without touching the others (its misses are read back)', async () => {
    const bus = new EventBus();
    const log = new MemoryLog();
    const slow = bus.stream({ sessionId: 's1', agentId: 'agt_a' }, { bufferSize: 2, reader: log });
    const fast: string[] = [];
    bus.subscribe({ sessionId: 's1', agentId: 'agt_a' }, (e) => {
      fast.push(String(e.seq));
    });
    const many: Draft[] = Array.from({ length: 10 }, (_, i) => ({
      type: 'agent.progress',
      data: { agentId: i % 2 === 0 ? 'agt_a' : 'agt_b', kind: 'text' },
    }));
    bus.publish(log.append('s1', many));
    await flush();
    expect(fast).toEqual(['1', '3', '5', '7', '9']);
    const seqs: number[] = [];
    for await (const item of slow) {
      if (item.kind === 'event') seqs.push(item.event.seq);
      if (seqs.length === 5) break;
    }
    expect(seqs).toEqual([1, 3, 5, 7, 9]);
    expect(slow.stats()).toMatchObject({ missed: 3, recovered: 3 });
  });

  it('rejects a bad agent or severity, naming the field', () => {
    const bus = new EventBus();
    const error = (() => {
      try {
        bus.subscribe({ agentId: '', minSeverity: 'loud' as never }, () => undefined);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(isOrchestratorError(error) && error.code).toBe('INVALID_ARGUMENT');
    expect(String((error as Error).message)).toMatch(
      /agentId: expected a non-empty string.*minSeverity: expected one of info, warning, error, critical/,
    );
  });
});
